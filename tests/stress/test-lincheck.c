/*
 * The linearizability checker on hand-written histories: ones that some
 * order explains, which it must accept, and ones that none does, which it
 * must reject; and a history too large for its budget, which it must give
 * up on rather than hang.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>

#include "../check.h"
#include "lincheck.h"

#define OP(c, r, k, cl, amt, res)                                                                  \
	{                                                                                          \
		(c), (r), 0, (k), (cl), (amt), (res), 0, 0                                         \
	}
#define READ(c, r, alloc, res)                                                                     \
	{                                                                                          \
		(c), (r), 0, LIN_READ, -1, 0, LIN_OK, (alloc), (res)                               \
	}

static int verdict_of(const struct lin_op *ops, int n, int64_t limit, uint64_t budget)
{
	struct lin_report rep;
	return lin_check(ops, n, &limit, 1, 16, budget, &rep);
}

static void test_sequential(void)
{
	const struct lin_op h[] = {OP(1, 2, LIN_RESERVE, 0, 2, LIN_OK),
				   OP(3, 4, LIN_ACQUIRE, 1, 2, LIN_EXCEEDED),
				   READ(5, 6, 0, 2),
				   OP(7, 8, LIN_COMMIT, 0, 1, LIN_OK),
				   READ(9, 10, 1, 0),
				   OP(11, 12, LIN_CONSUME, -1, 2, LIN_OK),
				   OP(13, 14, LIN_CHECK, -1, 1, LIN_EXCEEDED),
				   OP(15, 16, LIN_GIVE_BACK, -1, 3, LIN_INVALID),
				   OP(17, 18, LIN_RELEASE, 0, 0, LIN_OK),
				   OP(19, 20, LIN_COMMIT, 0, -1, LIN_WRONG_STATE),
				   OP(21, 22, LIN_GIVE_BACK, -1, 2, LIN_OK),
				   READ(23, 24, 0, 0),
				   OP(25, 26, LIN_RELEASE, 2, 0, LIN_NOT_FOUND)};
	CHECK_EQ_INT(verdict_of(h, (int)(sizeof h / sizeof h[0]), 3, 0), LIN_LINEARIZABLE);
}

/* Two concurrent acquires of 1 on a limit of 1. */
static void test_concurrent_acquires(void)
{
	const struct lin_op one[] = {OP(1, 4, LIN_ACQUIRE, 0, 1, LIN_OK),
				     OP(2, 3, LIN_ACQUIRE, 1, 1, LIN_EXCEEDED)};
	const struct lin_op both[] = {OP(1, 4, LIN_ACQUIRE, 0, 1, LIN_OK),
				      OP(2, 3, LIN_ACQUIRE, 1, 1, LIN_OK)};
	const struct lin_op neither[] = {OP(1, 4, LIN_ACQUIRE, 0, 1, LIN_EXCEEDED),
					 OP(2, 3, LIN_ACQUIRE, 1, 1, LIN_EXCEEDED)};
	CHECK_EQ_INT(verdict_of(one, 2, 1, 0), LIN_LINEARIZABLE);
	CHECK_EQ_INT(verdict_of(both, 2, 1, 0), LIN_VIOLATION);
	CHECK_EQ_INT(verdict_of(neither, 2, 1, 0), LIN_VIOLATION);
}

/* The later acquire may only be the one denied if it came second. */
static void test_real_time_order(void)
{
	/* A returned before B was invoked: B must see A's charge. */
	const struct lin_op ordered[] = {OP(1, 2, LIN_ACQUIRE, 0, 1, LIN_EXCEEDED),
					 OP(3, 4, LIN_ACQUIRE, 1, 1, LIN_OK)};
	CHECK_EQ_INT(verdict_of(ordered, 2, 1, 0), LIN_VIOLATION);
	const struct lin_op released[] = {OP(1, 2, LIN_ACQUIRE, 0, 1, LIN_OK),
					  OP(3, 6, LIN_RELEASE, 0, 0, LIN_OK),
					  OP(4, 5, LIN_ACQUIRE, 1, 1, LIN_OK)};
	CHECK_EQ_INT(verdict_of(released, 3, 1, 0), LIN_LINEARIZABLE);
}

/* Reads: a value some order gives is fine; a stale or impossible one not. */
static void test_reads(void)
{
	const struct lin_op during[] = {OP(1, 4, LIN_CONSUME, -1, 2, LIN_OK), READ(2, 3, 0, 0),
					READ(2, 5, 2, 0)};
	CHECK_EQ_INT(verdict_of(during, 3, 5, 0), LIN_LINEARIZABLE);
	const struct lin_op stale[] = {OP(1, 2, LIN_CONSUME, -1, 2, LIN_OK), READ(3, 4, 0, 0)};
	CHECK_EQ_INT(verdict_of(stale, 2, 5, 0), LIN_VIOLATION);
	const struct lin_op phantom[] = {OP(1, 4, LIN_RESERVE, 0, 1, LIN_OK), READ(2, 3, 1, 0)};
	CHECK_EQ_INT(verdict_of(phantom, 2, 5, 0), LIN_VIOLATION);
	/* Two reads that see the consumption in opposite orders. */
	const struct lin_op flip[] = {OP(1, 10, LIN_CONSUME, -1, 1, LIN_OK), READ(2, 3, 1, 0),
				      READ(4, 5, 0, 0)};
	CHECK_EQ_INT(verdict_of(flip, 3, 5, 0), LIN_VIOLATION);
}

/* Settling more than reserved, committing what was never reserved. */
static void test_claim_states(void)
{
	const struct lin_op more[] = {OP(1, 2, LIN_RESERVE, 0, 2, LIN_OK),
				      OP(3, 4, LIN_COMMIT, 0, 3, LIN_OK)};
	CHECK_EQ_INT(verdict_of(more, 2, 5, 0), LIN_VIOLATION);
	const struct lin_op ghost[] = {OP(1, 2, LIN_COMMIT, 0, -1, LIN_OK)};
	CHECK_EQ_INT(verdict_of(ghost, 1, 5, 0), LIN_VIOLATION);
	/* A commit racing a release: either order is possible. */
	const struct lin_op race[] = {OP(1, 2, LIN_RESERVE, 0, 2, LIN_OK),
				      OP(3, 6, LIN_COMMIT, 0, -1, LIN_WRONG_STATE),
				      OP(4, 5, LIN_RELEASE, 0, 0, LIN_OK)};
	CHECK_EQ_INT(verdict_of(race, 3, 5, 0), LIN_LINEARIZABLE);
}

/* Parts are independent: a violation in bucket 1 is found and named. */
static void test_partitions(void)
{
	struct lin_op h[] = {OP(1, 4, LIN_ACQUIRE, 0, 1, LIN_OK),
			     OP(2, 3, LIN_ACQUIRE, 1, 1, LIN_OK),
			     OP(1, 4, LIN_ACQUIRE, 2, 1, LIN_OK),
			     OP(2, 3, LIN_ACQUIRE, 3, 1, LIN_OK)};
	int64_t limits[2] = {2, 1};
	struct lin_report rep;
	h[2].bucket = h[3].bucket = 1;
	CHECK_EQ_INT(lin_check(h, 4, limits, 2, 4, 0, &rep), LIN_VIOLATION);
	CHECK_EQ_INT(rep.bad_bucket, 1);
	CHECK_EQ_INT(rep.parts, 2);
}

/*
 * Many mutually concurrent operations whose last result is impossible:
 * proving that takes a search through every subset of the others; with a
 * budget of 1000 steps the checker must give up and say so.
 */
static void impossible_last(struct lin_op *h, int n)
{
	for (int i = 0; i < n; i++)
		h[i] = (struct lin_op)OP(1 + i, 100 + i, LIN_CONSUME, -1, 1, LIN_OK);
	h[n - 1].result = LIN_EXCEEDED; /* with a limit of n every one fits */
}

static void test_budget(void)
{
	struct lin_op h[24];
	impossible_last(h, 24);
	CHECK_EQ_INT(verdict_of(h, 24, 24, 1000), LIN_GAVE_UP);
	/* 2^11 orders of the others, each set visited once: within budget. */
	impossible_last(h, 12);
	CHECK_EQ_INT(verdict_of(h, 12, 12, 0), LIN_VIOLATION);
}

int main(void)
{
	RUN(test_sequential);
	RUN(test_concurrent_acquires);
	RUN(test_real_time_order);
	RUN(test_reads);
	RUN(test_claim_states);
	RUN(test_partitions);
	RUN(test_budget);
	return check_exit();
}
