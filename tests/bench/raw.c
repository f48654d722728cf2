/*
 * Scenario raw: the physical reference. The same check-and-add that a
 * bucket does (used + amount <= limit, then add; give back: check that it
 * was taken, then subtract), on a plain array of int64 counters at a
 * precomputed index: no lookup, no lock, no call. Nothing can be faster.
 *
 *   plain      ordinary loads and stores (a compiler barrier after each
 *              step keeps every load, compare and store in the loop)
 *   cas        atomic compare-and-swap loops, the least a thread-safe
 *              counter can do; the reference of the "x raw" column
 *   cas-100k   cas on 100,000 counters at the indices of the keyed
 *              scenario's uniform sequence: a perfect, free hash over a
 *              dense array (800 KB, which fits in a core's L2 cache)
 *   cas-shared cas with every thread on the same counter: what one hot
 *              cache line costs when two cores take turns writing it, the
 *              floor under any hot bucket
 *   cas-100k-256B  the same with one counter per 256-byte record, the
 *              size of a bucket (25.6 MB): the cache and TLB misses that a
 *              table of 100,000 buckets cannot avoid, with nothing else
 *
 * At 2 threads, plain and cas use one counter per thread on its own cache
 * line; cas-100k shares the array (collisions are rare and harmless), and
 * cas-shared shares one counter.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "bench.h"

#define RAW_COUNTERS 100000
#define RAW_RECORD 256 /* bytes per record of cas-100k-256B */
#define RAW_SEQ_LEN (1u << 20)
#define RAW_LIMIT BENCH_DEFAULT_LIMIT
#define BARRIER() __asm__ __volatile__("" ::: "memory")

typedef struct raw_state {
	int64_t *plain;           /* RAW_COUNTERS, threads use [tid * 16] */
	_Atomic int64_t *atomic;  /* RAW_COUNTERS */
	_Atomic int64_t *records; /* RAW_COUNTERS records of RAW_RECORD bytes */
	uint32_t *seq;
} raw_state;

static inline int plain_take(int64_t *c, int64_t amount)
{
	int64_t v = *c;
	if (v + amount > RAW_LIMIT)
		return -1;
	*c = v + amount;
	BARRIER();
	return 0;
}

static inline int plain_give(int64_t *c, int64_t amount)
{
	int64_t v = *c;
	if (v < amount)
		return -1;
	*c = v - amount;
	BARRIER();
	return 0;
}

static inline int cas_take(_Atomic int64_t *c, int64_t amount)
{
	int64_t v = atomic_load_explicit(c, memory_order_relaxed);
	do {
		if (v + amount > RAW_LIMIT)
			return -1;
	} while (!atomic_compare_exchange_weak_explicit(c, &v, v + amount, memory_order_acq_rel,
							memory_order_relaxed));
	return 0;
}

static inline int cas_give(_Atomic int64_t *c, int64_t amount)
{
	int64_t v = atomic_load_explicit(c, memory_order_relaxed);
	do {
		if (v < amount)
			return -1;
	} while (!atomic_compare_exchange_weak_explicit(c, &v, v - amount, memory_order_acq_rel,
							memory_order_relaxed));
	return 0;
}

static int run_plain(void *arg, int tid, uint64_t ops)
{
	raw_state *s = arg;
	int64_t *c = &s->plain[tid * 16];
	for (uint64_t i = 0; i < ops; i++)
		if (plain_take(c, 1) || plain_give(c, 1))
			return bench_fail("raw plain: counter out of range");
	return 0;
}

static int run_cas(void *arg, int tid, uint64_t ops)
{
	raw_state *s = arg;
	_Atomic int64_t *c = &s->atomic[tid * 16];
	for (uint64_t i = 0; i < ops; i++)
		if (cas_take(c, 1) || cas_give(c, 1))
			return bench_fail("raw cas: counter out of range");
	return 0;
}

static int run_cas_shared(void *arg, int tid, uint64_t ops)
{
	raw_state *s = arg;
	_Atomic int64_t *c = &s->atomic[RAW_COUNTERS - 16];
	(void)tid;
	for (uint64_t i = 0; i < ops; i++)
		if (cas_take(c, 1) || cas_give(c, 1))
			return bench_fail("raw cas-shared: counter out of range");
	return 0;
}

static int run_cas_100k(void *arg, int tid, uint64_t ops)
{
	raw_state *s = arg;
	size_t at = (size_t)tid * (RAW_SEQ_LEN / 2);
	for (uint64_t i = 0; i < ops; i++) {
		_Atomic int64_t *c = &s->atomic[s->seq[(at + i) & (RAW_SEQ_LEN - 1)]];
		if (cas_take(c, 1) || cas_give(c, 1))
			return bench_fail("raw cas-100k: counter out of range");
	}
	return 0;
}

static int run_cas_records(void *arg, int tid, uint64_t ops)
{
	raw_state *s = arg;
	size_t at = (size_t)tid * (RAW_SEQ_LEN / 2), stride = RAW_RECORD / sizeof *s->records;
	for (uint64_t i = 0; i < ops; i++) {
		_Atomic int64_t *c = &s->records[s->seq[(at + i) & (RAW_SEQ_LEN - 1)] * stride];
		if (cas_take(c, 1) || cas_give(c, 1))
			return bench_fail("raw cas-100k-256B: counter out of range");
	}
	return 0;
}

int scenario_raw(void)
{
	raw_state s;
	int rc = 0;
	/* Cache-line aligned, so that [tid * 16] are distinct lines. */
	if (posix_memalign((void **)&s.plain, 64, RAW_COUNTERS * sizeof *s.plain) ||
	    posix_memalign((void **)&s.atomic, 64, RAW_COUNTERS * sizeof *s.atomic) ||
	    posix_memalign((void **)&s.records, 64, (size_t)RAW_COUNTERS * RAW_RECORD))
		return bench_fail("raw: out of memory");
	for (size_t i = 0; i < RAW_COUNTERS; i++) {
		s.plain[i] = 0;
		atomic_init(&s.atomic[i], 0);
	}
	for (size_t i = 0; i < (size_t)RAW_COUNTERS * RAW_RECORD / sizeof *s.records; i++)
		atomic_init(&s.records[i], 0);
	/* The same seed as keyed/uniform: the same index sequence. */
	uint32_t n = bench_o.consumers < RAW_COUNTERS ? bench_o.consumers : RAW_COUNTERS;
	s.seq = bench_sequence(n, 0, 1, RAW_SEQ_LEN);

	for (int t = 1; t <= 2 && !rc; t++) {
		bench_case c[] = {
			{"raw", "plain", "check-add+give-back", t, 0, 200000000, run_plain, &s},
			{"raw", "cas", "check-add+give-back", t, 0, 30000000, run_cas, &s},
			{"raw", "cas-shared", "check-add+give-back", t, 0, 10000000, run_cas_shared,
			 &s},
			{"raw", "cas-100k", "check-add+give-back", t, 0, 20000000, run_cas_100k,
			 &s},
			{"raw", "cas-100k-256B", "check-add+give-back", t, 0, 5000000,
			 run_cas_records, &s},
		};
		for (size_t i = 0; i < sizeof c / sizeof c[0] && !rc; i++)
			rc = bench_measure(&c[i]);
	}
	for (size_t i = 0; i < RAW_COUNTERS && !rc; i++)
		if (s.plain[i] || atomic_load(&s.atomic[i]) ||
		    atomic_load(&s.records[i * (RAW_RECORD / sizeof *s.records)]))
			rc = bench_fail("raw: counter %zu not back to 0", i);
	free(s.plain);
	free((void *)s.atomic);
	free((void *)s.records);
	free(s.seq);
	return rc;
}
