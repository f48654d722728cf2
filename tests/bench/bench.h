/*
 * The libquota benchmark: a small harness (harness.c) and the scenarios
 * (raw.c, cases.c, admit.c, memory.c). See doc/performance.md.
 *
 * A scenario sets its state up, then hands the harness one bench_case per
 * (variant, thread count): a run function that performs `ops` operations
 * on behalf of thread `tid`. The harness repeats it, times it and prints
 * one JSON line per case; it never judges a timing.
 *
 * Adding a scenario: write `int scenario_x(void)` that builds its state,
 * calls bench_measure() for each case and checks the state afterwards
 * (returning -1 on a surprise), then list it in the scenario table of
 * harness.c. A scenario whose library feature is not built in calls
 * bench_pending() instead (admit.c without JSON).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_BENCH_H
#define QUOTA_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <quota/quota.h>

/* Command line, as parsed by harness.c. */
typedef struct bench_opts {
	int quick;          /* tiny counts, sanity checks only */
	int callgrind;      /* one instrumented pass per single-thread case */
	int reps;           /* timed repetitions per case (>= 5 for real runs) */
	int pin;            /* pin worker threads to CPUs */
	double scale;       /* multiplies every default operation count */
	uint32_t consumers; /* key space of the keyed scenarios */
	uint64_t objects;   /* buckets and claims of the memory scenario */
	int max_threads;    /* 1 or 2 */
	uint32_t stripes;   /* engine stripes instead of the default (0) */
} bench_opts;

extern bench_opts bench_o;

/* Perform ops operations as thread tid (0-based); 0, or -1 after
 * bench_fail(). Must be callable again for the next repetition. */
typedef int (*bench_run_fn)(void *arg, int tid, uint64_t ops);

typedef struct bench_case {
	const char *scenario; /* "keyed" */
	const char *variant;  /* "uniform" */
	const char *unit;     /* what one operation is: "consume+give_back" */
	int threads;
	uint32_t stripes; /* engine lock stripes, 0 when not applicable */
	uint64_t ops;     /* per thread and repetition, full-size run */
	bench_run_fn run;
	void *arg;
} bench_case;

/* Whether the --only filter selects this scenario. */
int bench_wanted(const char *scenario);
/* Time a case (or, in callgrind mode, count it) and record the result.
 * 0, or -1 when the run function failed. Cases with more threads than
 * --threads allows are skipped (0). */
int bench_measure(const bench_case *c);
/* Record a case that cannot run yet. */
void bench_pending(const char *scenario, const char *variant, int threads, const char *reason);
/* Record a memory result: objects made, resident and heap bytes they
 * added, and the bytes of names they store (which the goal excludes). */
void bench_memory(const char *variant, uint64_t objects, int64_t rss_bytes, int64_t heap_bytes,
		  double name_bytes_per_object, double ns_per_object);
/* Report a failure (to stderr) and return -1. Thread-safe. */
__attribute__((format(printf, 1, 2))) int bench_fail(const char *fmt, ...);
/* Report a failed libquota call, with quota_last_error(), and return -1. */
int bench_fail_rc(const char *what, int rc);
/* Progress note on stderr. */
__attribute__((format(printf, 1, 2))) void bench_note(const char *fmt, ...);

/* Helpers shared by the scenarios (harness.c). */
uint64_t bench_rand(uint64_t *state);       /* splitmix64 */
void *bench_xcalloc(size_t n, size_t each); /* aborts on no memory */
char *bench_xstrdup(const char *s);
/* An engine with the given stripes (0: default) and the benchmark's types
 * registered for kind Organization with a default limit of 2^50. */
quota_engine *bench_engine(uint32_t stripes);
/* The same with the types registered for another consumer kind. */
quota_engine *bench_engine_for(uint32_t stripes, const char *kind);
/* The same, with these options (a journal, say). */
quota_engine *bench_engine_with(const quota_engine_options *o, const char *kind);
/* Resource types registered by bench_engine(). */
#define BENCH_TYPE_CPU "compute.example.com/vcpus"
#define BENCH_TYPE_MEM "compute.example.com/memory"
#define BENCH_TYPE_DISK "storage.example.com/disk"
#define BENCH_KIND "Organization"
#define BENCH_DEFAULT_LIMIT (INT64_C(1) << 50)
/* Check that a bucket is back to zero usage; 0 or -1. */
int bench_bucket_idle(quota_engine *e, const quota_ref *consumer, const char *type);

/* The scenarios, in the order they run. */
int scenario_raw(void);
int scenario_handle(void);
int scenario_keyed(void);
int scenario_claim(void);
int scenario_rate(void);
int scenario_admit(void);
int scenario_contention(void);
int scenario_memory(void);
int scenario_journal(void);

/* Read by the keyed and contention scenarios: an index sequence over n
 * keys, uniform or Zipf(s), of length a power of two (mask = length - 1). */
uint32_t *bench_sequence(uint32_t n, double zipf_s, uint64_t seed, size_t length);

#endif
