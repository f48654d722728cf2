/*
 * A linearizability checker for small histories of bucket operations.
 *
 * A history is a list of operations, each with the logical time it was
 * invoked and the time it returned (any totally ordered clock: a global
 * atomic counter read before the call and after it) and its result. The
 * history is linearizable when some total order of the operations respects
 * real time (an operation that returned before another was invoked comes
 * first) and replays on the sequential model of one bucket giving exactly
 * the recorded results.
 *
 * The search is Wing & Gong's, with Lowe's memoization as in porcupine:
 * walk the call/return entries in time order, linearize a pending call when
 * the model accepts its result, backtrack at a return whose call could not
 * be linearized, and never revisit a (set of linearized operations, model
 * state) pair. Operations on different buckets commute, so a history is
 * split by bucket and each part is checked on its own.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_TESTS_LINCHECK_H
#define QUOTA_TESTS_LINCHECK_H

#include <stdint.h>

/* Operations of the sequential model. */
enum lin_kind {
	LIN_ACQUIRE = 1, /* claim, amount: OK (granted) or EXCEEDED */
	LIN_RESERVE,     /* claim, amount: OK (reserved) or EXCEEDED */
	LIN_COMMIT,      /* claim, amount = settled amount or -1 for all */
	LIN_RELEASE,     /* claim */
	LIN_CONSUME,     /* amount: OK or EXCEEDED */
	LIN_GIVE_BACK,   /* amount: OK, or INVALID when more than consumed */
	LIN_CHECK,       /* amount: OK or EXCEEDED, changes nothing */
	LIN_READ         /* result: allocated (out_allocated), reserved (out_reserved) */
};

/* Results as the model sees them (the library's codes mapped onto these). */
enum lin_result {
	LIN_OK = 0,
	LIN_EXCEEDED,
	LIN_WRONG_STATE, /* commit of a released claim */
	LIN_NOT_FOUND,   /* commit or release of a claim never reserved */
	LIN_INVALID      /* give-back of more than consumed */
};

struct lin_op {
	int64_t call, ret; /* invocation and response times; call < ret */
	int bucket;        /* which bucket: the history is split on it */
	int kind;          /* enum lin_kind */
	int claim;         /* claim number (>= 0) for claim operations, else -1 */
	int64_t amount;
	int result; /* enum lin_result */
	int64_t out_allocated, out_reserved;
};

enum lin_verdict {
	LIN_LINEARIZABLE = 0,
	LIN_VIOLATION = 1, /* no order explains the results */
	LIN_GAVE_UP = 2    /* the search passed its step budget: unknown */
};

/* What a check found, over all buckets. */
struct lin_report {
	int verdict;
	int bad_bucket; /* the first bucket that is not linearizable, or -1 */
	uint64_t steps; /* search steps taken over all parts */
	uint64_t memo_hits;
	int parts;        /* buckets checked */
	int longest_part; /* most operations in one part */
};

/*
 * Check a history against buckets of the given limits (limits[b] for
 * bucket b, all >= 0; claims numbered below claim_count, each touching one
 * bucket). step_budget bounds the search of each part (0: 10 million).
 * Returns report->verdict.
 */
int lin_check(const struct lin_op *ops, int count, const int64_t *limits, int bucket_count,
	      int claim_count, uint64_t step_budget, struct lin_report *report);

/* A one-line description of an operation, for reports. */
void lin_op_format(const struct lin_op *op, char *buf, int cap);

#endif /* QUOTA_TESTS_LINCHECK_H */
