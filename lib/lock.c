/*
 * The contended halves of the stripe lock (lock.h).
 * SPDX-License-Identifier: MIT
 */
#include "lock.h"

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
		syscall(SYS_futex, &l->v, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
		c = atomic_exchange_explicit(&l->v, 2, memory_order_acquire);
	}
}

void quota__lock_wake(quota__lock *l)
{
	atomic_store_explicit(&l->v, 0, memory_order_release);
	syscall(SYS_futex, &l->v, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
