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

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

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

/* Data written by different threads is kept this far apart. */
#define QUOTA__CACHE_LINE 64

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

/*
 * The readers-writer lock of data that nearly every call reads and few
 * change (the engine's config). A reader counts itself in the slot of its
 * thread, one of QUOTA__RW_SLOTS counters that each have a cache line to
 * themselves, so that readers on different threads write different lines:
 * with one count of readers, as in a pthread rwlock, every read-lock and
 * unlock moved that line between cores. A writer, one at a time, raises
 * a flag and waits until every slot is empty; a reader that finds the
 * flag raised takes itself back out and waits for the writer to finish.
 * Writers therefore go first, and a stream of readers cannot starve one.
 * A thread must not read-lock it twice: a writer arriving between the two
 * would wait for the first while the second waits for it.
 * Under ThreadSanitizer the operations are annotated as a rwlock's.
 */
#define QUOTA__RW_SLOTS 16

/* Each count ends its 64-byte cell, so no two counts share a line
 * wherever the array lies (it is aligned to 8 bytes at least), and
 * nothing before the array shares the first count's line. */
typedef struct quota__rw_slot {
	char pad[QUOTA__CACHE_LINE - sizeof(atomic_uint)];
	atomic_uint readers;
} quota__rw_slot;

typedef struct quota__rwlock {
	quota__rw_slot slot[QUOTA__RW_SLOTS];
	char after[QUOTA__CACHE_LINE]; /* keeps the fields below off the last count's line */
	atomic_uint writer; /* 0 none, 1 a writer holds or wants it, 2 and a reader sleeps */
	pthread_mutex_t writers;
} quota__rwlock;

void quota__rw_init(quota__rwlock *l);
void quota__rw_destroy(quota__rwlock *l);
/* The slow halves (lock.c). */
void quota__rw_read_wait(quota__rwlock *l, atomic_uint *mine);
void quota__rw_wake_writer(atomic_uint *mine);
void quota__rw_write(quota__rwlock *l);
void quota__rw_write_done(quota__rwlock *l);

/* The calling thread's count: threads lie megabytes apart, each at its
 * own thread pointer, so its page number, mixed, picks a slot. */
static inline atomic_uint *quota__rw_mine(quota__rwlock *l)
{
#if defined(__has_builtin) && __has_builtin(__builtin_thread_pointer)
	uintptr_t t = (uintptr_t)__builtin_thread_pointer();
#else
	uintptr_t t = (uintptr_t)pthread_self();
#endif
	_Static_assert(QUOTA__RW_SLOTS == 16, "the slot is the top 4 bits");
	return &l->slot[((t >> 12) * UINT64_C(0x9E3779B97F4A7C15)) >> 60].readers;
}

static inline void quota__rw_read(quota__rwlock *l)
{
	atomic_uint *mine = quota__rw_mine(l);
	__tsan_mutex_pre_lock(l, __tsan_mutex_read_lock);
	/* Count, then look for a writer; a writer raises its flag, then looks
	 * at the counts. Both sequentially consistent: one sees the other. */
	atomic_fetch_add_explicit(mine, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&l->writer, memory_order_seq_cst))
		quota__rw_read_wait(l, mine);
	__tsan_mutex_post_lock(l, __tsan_mutex_read_lock, 0);
}

static inline void quota__rw_read_done(quota__rwlock *l)
{
	atomic_uint *mine = quota__rw_mine(l);
	__tsan_mutex_pre_unlock(l, __tsan_mutex_read_lock);
	if (atomic_fetch_sub_explicit(mine, 1, memory_order_seq_cst) == 1 &&
	    atomic_load_explicit(&l->writer, memory_order_seq_cst))
		quota__rw_wake_writer(mine);
	__tsan_mutex_post_unlock(l, __tsan_mutex_read_lock);
}

#endif
