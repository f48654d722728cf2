/*
 * The stripe lock: one word, taken with a compare-and-swap, released with
 * a decrement, that spins briefly before sleeping on a futex (Drepper,
 * "Futexes Are Tricky", mutex 3). Critical sections under a stripe are a
 * few hundred instructions, so a waiter usually gets the lock while it
 * spins; one that does not sleeps, so threads may outnumber cores. Each
 * take and release is inline: the uncontended path is one atomic
 * instruction each way and no type checks (a glibc mutex call spends about
 * 30 instructions on them). Under ThreadSanitizer the operations are
 * annotated as a mutex's.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_LOCK_H
#define QUOTA_LIB_LOCK_H

#include <stdatomic.h>

#if defined(__SANITIZE_THREAD__)
#define QUOTA__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define QUOTA__TSAN 1
#endif
#endif
#ifdef QUOTA__TSAN
#include <sanitizer/tsan_interface.h>
#else
#define __tsan_mutex_create(a, f) ((void)0)
#define __tsan_mutex_destroy(a, f) ((void)0)
#define __tsan_mutex_pre_lock(a, f) ((void)0)
#define __tsan_mutex_post_lock(a, f, r) ((void)0)
#define __tsan_mutex_pre_unlock(a, f) ((void)0)
#define __tsan_mutex_post_unlock(a, f) ((void)0)
#endif

/* 0 free, 1 held, 2 held and a waiter may sleep. */
typedef struct quota__lock {
	atomic_int v;
} quota__lock;

/* The contended halves (lock.c). */
void quota__lock_wait(quota__lock *l);
void quota__lock_wake(quota__lock *l);

static inline void quota__lock_init(quota__lock *l)
{
	atomic_init(&l->v, 0);
	__tsan_mutex_create(l, 0);
}

static inline void quota__lock_destroy(quota__lock *l)
{
	__tsan_mutex_destroy(l, 0);
}

static inline void quota__lock_take(quota__lock *l)
{
	int unheld = 0;
	__tsan_mutex_pre_lock(l, 0);
	if (!atomic_compare_exchange_strong_explicit(&l->v, &unheld, 1, memory_order_acquire,
						     memory_order_relaxed))
		quota__lock_wait(l);
	__tsan_mutex_post_lock(l, 0, 0);
}

/* Take l only if it is free, and say whether it was taken. It never
 * waits, so it may be used against the stripe order (see
 * quota__claim_lock). */
static inline int quota__lock_try(quota__lock *l)
{
	int unheld = 0;
	__tsan_mutex_pre_lock(l, __tsan_mutex_try_lock);
	int taken = atomic_compare_exchange_strong_explicit(&l->v, &unheld, 1, memory_order_acquire,
							    memory_order_relaxed);
	__tsan_mutex_post_lock(l,
			       taken ? __tsan_mutex_try_lock
				     : __tsan_mutex_try_lock | __tsan_mutex_try_lock_failed,
			       0);
	return taken;
}

static inline void quota__lock_release(quota__lock *l)
{
	__tsan_mutex_pre_unlock(l, 0);
	if (atomic_fetch_sub_explicit(&l->v, 1, memory_order_release) != 1)
		quota__lock_wake(l);
	__tsan_mutex_post_unlock(l, 0);
}

#endif
