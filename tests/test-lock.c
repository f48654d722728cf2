/*
 * The stripe lock (lib/lock.h) under more threads than cores: every
 * increment of a plain counter under it survives, whether the waiter got
 * the lock while spinning or slept on the futex, and sections that hold
 * the lock across a sleep make the waiters sleep.
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <time.h>

#include "../lib/lock.h"
#include "check.h"

#define THREADS 6
#define ROUNDS 100000

static quota__lock lock;
static long counter;

static void *worker(void *arg)
{
	long slow = (long)(intptr_t)arg;
	for (int i = 0; i < ROUNDS; i++) {
		quota__lock_take(&lock);
		long seen = counter;
		if (slow && i % 1000 == 0) {
			/* Hold it long enough that the others stop spinning. */
			struct timespec ts = {0, 200000};
			nanosleep(&ts, NULL);
		}
		counter = seen + 1;
		quota__lock_release(&lock);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	quota__lock_init(&lock);
	for (long i = 0; i < THREADS; i++)
		CHECK_EQ_INT(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)(i == 0)), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ_INT(counter, (long)THREADS * ROUNDS);
	CHECK_EQ_INT(atomic_load(&lock.v), 0);
	quota__lock_destroy(&lock);
	return check_exit();
}
