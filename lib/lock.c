/*
 * The contended halves of the stripe lock and of the readers-writer lock
 * (lock.h).
 * SPDX-License-Identifier: MIT
 */
#include "lock.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

/* About as long as glibc's adaptive mutexes spin (100 rounds). */
#define SPINS 100

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Sleep while the 32-bit word at w holds v (or until woken); wake n
 * sleepers of w. Both locks sleep through these. */
static void futex_wait(volatile void *w, unsigned v)
{
	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void futex_wake(volatile void *w, int n)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

void quota__lock_wait(quota__lock *l)
{
	for (int i = 0; i < SPINS; i++) {
		cpu_relax();
		int unheld = 0;
		if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_weak_explicit(&l->v, &unheld, 1, memory_order_acquire,
							  memory_order_relaxed))
			return;
	}
	/* Mark the lock contended; whoever releases it then wakes a sleeper. */
	int c = atomic_exchange_explicit(&l->v, 2, memory_order_acquire);
	while (c != 0) {
		futex_wait(&l->v, 2);
		c = atomic_exchange_explicit(&l->v, 2, memory_order_acquire);
	}
}

void quota__lock_wake(quota__lock *l)
{
	atomic_store_explicit(&l->v, 0, memory_order_release);
	futex_wake(&l->v, 1);
}

void quota__rw_init(quota__rwlock *l)
{
	for (int i = 0; i < QUOTA__RW_SLOTS; i++)
		atomic_init(&l->slot[i].readers, 0);
	atomic_init(&l->writer, 0);
	pthread_mutex_init(&l->writers, NULL);
	__tsan_mutex_create(l, 0);
}

void quota__rw_destroy(quota__rwlock *l)
{
	__tsan_mutex_destroy(l, 0);
	pthread_mutex_destroy(&l->writers);
}

void quota__rw_wake_writer(atomic_uint *mine)
{
	futex_wake(mine, 1);
}

void quota__rw_read_wait(quota__rwlock *l, atomic_uint *mine)
{
	do {
		/* Step back out of the writer's way, and wake it if it waits
		 * for this count. */
		if (atomic_fetch_sub_explicit(mine, 1, memory_order_seq_cst) == 1)
			futex_wake(mine, 1);
		unsigned w;
		for (int i = 0; (w = atomic_load_explicit(&l->writer, memory_order_acquire)) != 0;
		     i++) {
			if (i < SPINS) {
				cpu_relax();
				continue;
			}
			/* 2 tells the writer that someone sleeps on the flag. */
			if (w == 2 || atomic_compare_exchange_weak_explicit(&l->writer, &w, 2,
									    memory_order_relaxed,
									    memory_order_relaxed))
				futex_wait(&l->writer, 2);
		}
		atomic_fetch_add_explicit(mine, 1, memory_order_seq_cst);
	} while (atomic_load_explicit(&l->writer, memory_order_seq_cst));
}

void quota__rw_write(quota__rwlock *l)
{
	__tsan_mutex_pre_lock(l, 0);
	pthread_mutex_lock(&l->writers);
	atomic_store_explicit(&l->writer, 1, memory_order_seq_cst);
	for (int k = 0; k < QUOTA__RW_SLOTS; k++) {
		atomic_uint *n = &l->slot[k].readers;
		unsigned v;
		for (int i = 0; (v = atomic_load_explicit(n, memory_order_seq_cst)) != 0; i++) {
			if (i < SPINS)
				cpu_relax();
			else
				futex_wait(n, v);
		}
	}
	__tsan_mutex_post_lock(l, 0, 0);
}

void quota__rw_write_done(quota__rwlock *l)
{
	__tsan_mutex_pre_unlock(l, 0);
	if (atomic_exchange_explicit(&l->writer, 0, memory_order_seq_cst) == 2)
		futex_wake(&l->writer, INT_MAX);
	pthread_mutex_unlock(&l->writers);
	__tsan_mutex_post_unlock(l, 0);
}
