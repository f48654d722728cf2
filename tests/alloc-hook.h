/*
 * A counting allocator for the allocator hook: it counts blocks, poisons
 * freed memory, can keep freed blocks away from reuse (quarantine), and
 * fails the allocation after fail_after successful ones, which makes every
 * allocation of a call a place to inject a failure.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_TESTS_ALLOC_HOOK_H
#define QUOTA_TESTS_ALLOC_HOOK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <quota/quota.h>

#include "check.h"

struct counting {
	atomic_long mallocs;
	atomic_long frees;
	atomic_long bad_calls;  /* malloc_fn(0) or free_fn(NULL) */
	atomic_long fail_after; /* fail the call after this many; -1: never */
	atomic_long failures;
	int fail_once;  /* 1: only that call fails; 0: it and every one after it */
	int quarantine; /* keep freed blocks (poisoned) until quarantine_release */
	void *held;     /* the quarantined blocks, linked through their headers */
	pthread_mutex_t held_lock;
};

#define POISON_HEADER 16 /* keeps the alignment of malloc on x86-64 and arm64 */

static inline void *counting_malloc(size_t n, void *payload)
{
	struct counting *c = payload;
	if (n == 0)
		atomic_fetch_add(&c->bad_calls, 1);
	long left = atomic_load(&c->fail_after);
	if (left >= 0) {
		if (left == 0) {
			atomic_fetch_add(&c->failures, 1);
			if (c->fail_once)
				atomic_store(&c->fail_after, -1);
			return NULL;
		}
		atomic_store(&c->fail_after, left - 1);
	}
	/* a header remembers the size, so that free can poison the block */
	size_t *base = malloc(POISON_HEADER + (n ? n : 1));
	if (!base)
		return NULL;
	atomic_fetch_add(&c->mallocs, 1);
	base[0] = n;
	return (char *)base + POISON_HEADER;
}

/* Poison freed memory so that a use after free reads garbage, not luck. */
static inline void counting_free(void *p, void *payload)
{
	struct counting *c = payload;
	if (!p) {
		atomic_fetch_add(&c->bad_calls, 1);
		return;
	}
	atomic_fetch_add(&c->frees, 1);
	size_t *base = (size_t *)(void *)((char *)p - POISON_HEADER);
	memset(p, 0xdd, base[0]);
	if (c->quarantine) {
		/* never reused, so a stale pointer keeps reading poison */
		pthread_mutex_lock(&c->held_lock);
		memcpy(&base[1], &c->held, sizeof c->held);
		c->held = base;
		pthread_mutex_unlock(&c->held_lock);
		return;
	}
	free(base);
}

static inline void quarantine_release(struct counting *c)
{
	while (c->held) {
		size_t *base = c->held;
		memcpy(&c->held, &base[1], sizeof c->held);
		free(base);
	}
}

static inline long live(struct counting *c)
{
	return atomic_load(&c->mallocs) - atomic_load(&c->frees);
}

/* Install a fresh counting allocator with no failure planned. */
static inline int counting_install(struct counting *c)
{
	quota_allocator a;
	memset(c, 0, sizeof *c);
	atomic_store(&c->fail_after, -1);
	quota_allocator_init(&a, sizeof a);
	a.malloc_fn = counting_malloc;
	a.free_fn = counting_free;
	a.payload = c;
	return quota_set_allocator(&a);
}

/*
 * Run op(arg) with allocation k failing, for k = 0, 1, ... in two modes:
 * allocation k and every one after it fail, until op succeeds; then only
 * allocation k fails, until a run no longer reaches it. Every run must
 * return QUOTA_OK or QUOTA_ERR_NOMEM (QUOTA_OK only when no allocation
 * failed, or in the second mode) and leave no block behind; op frees what a
 * successful run made.
 */
static inline void fault_sweep_(const char *file, int line, const char *what, struct counting *c,
				int (*op)(void *arg), void *arg)
{
	for (int once = 0; once < 2; once++) {
		int nomem = 0, done = 0;
		c->fail_once = once;
		for (long k = 0; k < 100000 && !done; k++) {
			long live0 = live(c);
			atomic_store(&c->fail_after, k);
			int rc = op(arg);
			long failures = atomic_load(&c->failures);
			atomic_store(&c->fail_after, -1);
			atomic_store(&c->failures, 0);
			if (live(c) != live0)
				check_fail_(file, line,
					    "%s with allocation %ld failing%s: %ld block(s) leaked",
					    what, k, once ? " once" : "", live(c) - live0);
			if (rc != QUOTA_OK && (rc != QUOTA_ERR_NOMEM || failures == 0)) {
				check_fail_(file, line, "%s with allocation %ld failing%s: %s (%s)",
					    what, k, once ? " once" : "", quota_strerror(rc),
					    quota_last_error());
				break;
			}
			nomem += rc == QUOTA_ERR_NOMEM;
			done = once ? failures == 0 : rc == QUOTA_OK;
		}
		if (!done)
			check_fail_(file, line, "%s never succeeded", what);
		else if (nomem == 0 && !once)
			check_fail_(file, line, "%s allocated nothing through the hook", what);
	}
	c->fail_once = 0;
}

#define FAULT_SWEEP(c, op, arg) fault_sweep_(__FILE__, __LINE__, #op "(" #arg ")", (c), (op), (arg))

#endif /* QUOTA_TESTS_ALLOC_HOOK_H */
