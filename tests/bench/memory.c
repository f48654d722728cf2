/*
 * Scenario memory: what one bucket and one claim cost, at 1,000,000 of
 * each (--objects), in one engine.
 *
 * Two measures:
 *   RSS   growth of the process's resident set (/proc/self/statm) while
 *         the objects are made, after malloc_trim() gave free pages back:
 *         everything the objects really cost, table slots, allocator
 *         headers and fragmentation included.
 *   heap  bytes the library holds through its allocator hook, each
 *         allocation counted as malloc_usable_size() plus one 8-byte chunk
 *         header (glibc's layout).
 * "Names excluded" subtracts the bytes of the strings the object stores
 * (a bucket's key kind\0ns\0name\0type\0; a claim's ns, name, consumer and
 * resource strings and request types, each with its NUL), which grow with
 * the caller's names rather than with the library's design.
 *
 * Buckets are made by a first consume (one unit each, kept); claims by
 * acquire with one request, all charged to one consumer's bucket.
 *
 * SPDX-License-Identifier: MIT
 */
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static _Atomic int64_t heap_bytes;

static void *count_malloc(size_t n, void *payload)
{
	(void)payload;
	void *p = malloc(n);
	if (p)
		atomic_fetch_add_explicit(&heap_bytes,
					  (int64_t)(malloc_usable_size(p) + sizeof(size_t)),
					  memory_order_relaxed);
	return p;
}

static void count_free(void *p, void *payload)
{
	(void)payload;
	atomic_fetch_sub_explicit(&heap_bytes, (int64_t)(malloc_usable_size(p) + sizeof(size_t)),
				  memory_order_relaxed);
	free(p);
}

static int64_t rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	fclose(f);
	return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct mark {
	int64_t rss, heap, t;
} mark;

static mark take_mark(void)
{
	malloc_trim(0);
	return (mark){rss_bytes(), atomic_load(&heap_bytes), mono_ns()};
}

static void report(const char *variant, uint64_t n, mark a, mark b, double name_bytes)
{
	bench_memory(variant, n, b.rss - a.rss, b.heap - a.heap, name_bytes,
		     (double)(b.t - a.t) / (double)n);
}

static size_t len0(const char *s)
{
	return (s ? strlen(s) : 0) + 1;
}

static int memory_in(quota_engine *e, uint64_t n)
{
	char name[32];
	int rc;

	/* Buckets. */
	double key_bytes = 0;
	mark a = take_mark();
	for (uint64_t i = 0; i < n; i++) {
		snprintf(name, sizeof name, "m-%07llu", (unsigned long long)i);
		quota_ref c = {.kind = BENCH_KIND, .name = name};
		if ((rc = quota_consume(e, &c, BENCH_TYPE_CPU, 1, NULL)))
			return bench_fail_rc("memory: quota_consume", rc);
		key_bytes += (double)(len0(BENCH_KIND) + len0(NULL) + len0(name) +
				      len0(BENCH_TYPE_CPU));
	}
	mark b = take_mark();
	report("bucket", n, a, b, key_bytes / (double)n);

	/* Claims. */
	quota_ref owner = {.kind = BENCH_KIND, .name = "claim-owner"};
	quota_request req;
	quota_request_init(&req, sizeof req);
	req.resource_type = BENCH_TYPE_CPU;
	req.amount = 1;
	quota_claim c;
	quota_claim_init(&c, sizeof c);
	c.ns = "bench";
	c.consumer = owner;
	c.requests = &req;
	c.request_count = 1;
	double str_bytes = 0;
	a = take_mark();
	for (uint64_t i = 0; i < n; i++) {
		snprintf(name, sizeof name, "c-%07llu", (unsigned long long)i);
		c.name = name;
		if ((rc = quota_claim_acquire(e, &c, NULL)))
			return bench_fail_rc("memory: quota_claim_acquire", rc);
		str_bytes += (double)(len0(c.ns) + len0(c.name) + len0(owner.api_group) +
				      len0(owner.kind) + len0(owner.ns) + len0(owner.name) +
				      4 * len0(NULL) + len0(req.resource_type));
	}
	b = take_mark();
	report("claim", n, a, b, str_bytes / (double)n);
	return 0;
}

int scenario_memory(void)
{
	quota_allocator al;
	quota_allocator_init(&al, sizeof al);
	al.malloc_fn = count_malloc;
	al.free_fn = count_free;
	int rc = quota_set_allocator(&al);
	if (rc)
		return bench_fail_rc("quota_set_allocator", rc);
	quota_engine *e = bench_engine(0);
	rc = memory_in(e, bench_o.objects);
	quota_engine_free(e);
	if (!rc && atomic_load(&heap_bytes) != 0)
		rc = bench_fail("memory: %lld bytes still held after quota_engine_free",
				(long long)atomic_load(&heap_bytes));
	int rc2 = quota_set_allocator(NULL);
	if (rc2)
		return bench_fail_rc("quota_set_allocator(NULL)", rc2);
	return rc;
}
