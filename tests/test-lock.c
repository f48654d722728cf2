/*
 * The stripe lock (lib/lock.h) under more threads than cores: every
 * increment of a plain counter under it survives, whether the waiter got
 * the lock while spinning or slept on the futex, and sections that hold
 * the lock across a sleep make the waiters sleep. quota__lock_try takes
 * only a free lock; a claim's release, which tries the stripes below its
 * home stripe that way, falls back to taking them in order when one is
 * busy.
 * The config lock (quota__rwlock): readers hold it together, a writer
 * waits for them and holds it alone, a reader that comes while a writer
 * waits goes after it, and a mix of readers and writers on more threads
 * than cores never lets a reader see a writer's change half done.
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <time.h>

#include "../lib/engine.h"
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

static void test_try(void)
{
	quota__lock l;
	quota__lock_init(&l);
	CHECK(quota__lock_try(&l));
	CHECK_EQ_INT(atomic_load(&l.v), 1);
	CHECK(!quota__lock_try(&l));
	CHECK_EQ_INT(atomic_load(&l.v), 1);
	quota__lock_release(&l);
	CHECK(quota__lock_try(&l));
	quota__lock_release(&l);
	CHECK_EQ_INT(atomic_load(&l.v), 0);
	quota__lock_destroy(&l);
}

/* ---- a release whose bucket's stripe sorts below the claim's ----------- */

#define TYPE "compute.example.com/vcpus"

struct release_job {
	quota_engine *e;
	const char *name;
	atomic_int done;
	int rc;
};

static void *release_worker(void *arg)
{
	struct release_job *j = arg;
	j->rc = quota_claim_release(j->e, "ns", j->name);
	atomic_store(&j->done, 1);
	return NULL;
}

static uint32_t stripe_of_key(quota_engine *e, const char *key, size_t len)
{
	return quota__stripe_of(e, quota__hash(e, key, len));
}

static void test_release_below_busy(void)
{
	quota_engine *e = test_engine(NULL, 0);
	char key[QUOTA__KEY_MAX + 1], name[32], org_name[32];
	quota_ref org = {NULL, "Organization", NULL, org_name};
	/* The key is random: pick a consumer whose bucket is not in the top
	 * stripe, so that some claim's stripe sorts above it. */
	uint32_t low = e->stripe_count - 1;
	for (int i = 0; i < 10000 && low == e->stripe_count - 1; i++) {
		snprintf(org_name, sizeof org_name, "acme%d", i);
		low = stripe_of_key(e, key, quota__bucket_key(key, &org, TYPE));
	}
	CHECK(low < e->stripe_count - 1);
	CHECK_RC(test_register(e, TYPE, NULL, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_grant(e, "", "g", &org, TYPE, 10, NULL), QUOTA_OK);
	/* A claim name whose home stripe is above the bucket's. */
	int found = 0;
	for (int i = 0; i < 10000 && !found; i++) {
		snprintf(name, sizeof name, "c%d", i);
		found = stripe_of_key(e, key, quota__name_key(key, "ns", name)) > low;
	}
	CHECK(found);
	struct test_claim tc;
	test_claim_init(&tc, "ns", name, &org);
	test_claim_add(&tc, TYPE, 4);
	CHECK_RC(quota_claim_acquire(e, &tc.c, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &org, TYPE, 10, 4, 0, 6);

	/* The bucket's stripe is busy: the release must wait for it. */
	struct release_job j = {e, name, 0, -1};
	pthread_t t;
	quota__lock_take(&e->stripes[low].lock);
	CHECK_EQ_INT(pthread_create(&t, NULL, release_worker, &j), 0);
	struct timespec ts = {0, 50000000};
	nanosleep(&ts, NULL);
	CHECK_EQ_INT(atomic_load(&j.done), 0);
	quota__lock_release(&e->stripes[low].lock);
	pthread_join(t, NULL);
	CHECK_RC(j.rc, QUOTA_OK);
	CHECK_BUCKET(e, &org, TYPE, 10, 0, 0, 10);

	/* Free, the same release takes it at once. */
	CHECK_RC(quota_claim_acquire(e, &tc.c, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "ns", name), QUOTA_OK);
	CHECK_BUCKET(e, &org, TYPE, 10, 0, 0, 10);
	for (uint32_t i = 0; i < e->stripe_count; i++)
		CHECK_EQ_INT(atomic_load(&e->stripes[i].lock.v), 0);
	quota_engine_free(e);
}

/* ---- the config lock ---------------------------------------------------- */

static quota__rwlock rw;
static atomic_int step; /* what the threads of a test have done, in order */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* Wait (up to 10 s) until step reaches at least want. */
static int wait_step(int want)
{
	for (int i = 0; i < 10000 && atomic_load(&step) < want; i++)
		sleep_ms(1);
	return atomic_load(&step) >= want;
}

static void *read_then_step(void *arg)
{
	(void)arg;
	quota__rw_read(&rw);
	atomic_fetch_add(&step, 1);
	quota__rw_read_done(&rw);
	return NULL;
}

static void test_rw_readers_share(void)
{
	quota__rw_init(&rw);
	atomic_store(&step, 0);
	quota__rw_read(&rw);
	pthread_t t;
	CHECK_EQ_INT(pthread_create(&t, NULL, read_then_step, NULL), 0);
	/* The other reader gets in while this one holds the lock. */
	CHECK(wait_step(1));
	quota__rw_read_done(&rw);
	pthread_join(t, NULL);
	quota__rw_destroy(&rw);
}

static int order[2], order_n;

static void *write_in_order(void *arg)
{
	long hold_ms = (long)(intptr_t)arg;
	quota__rw_write(&rw);
	order[order_n++] = 'w';
	sleep_ms(hold_ms);
	quota__rw_write_done(&rw);
	return NULL;
}

static void *read_in_order(void *arg)
{
	(void)arg;
	atomic_store(&step, 1);
	quota__rw_read(&rw);
	order[order_n++] = 'r';
	quota__rw_read_done(&rw);
	return NULL;
}

/* A writer waits for the reader that holds the lock, sleeping once it has
 * spun; it gets the lock when that reader lets go. */
static void test_rw_writer_waits_for_readers(void)
{
	quota__rw_init(&rw);
	order_n = 0;
	quota__rw_read(&rw);
	pthread_t w;
	CHECK_EQ_INT(pthread_create(&w, NULL, write_in_order, (void *)(intptr_t)0), 0);
	sleep_ms(50);
	CHECK_EQ_INT(order_n, 0);
	CHECK_EQ_INT(atomic_load(&rw.writer), 1);
	quota__rw_read_done(&rw);
	pthread_join(w, NULL);
	CHECK_EQ_INT(order_n, 1);
	CHECK_EQ_INT(atomic_load(&rw.writer), 0);
	for (int i = 0; i < QUOTA__RW_SLOTS; i++)
		CHECK_EQ_INT(atomic_load(&rw.slot[i].readers), 0);
	quota__rw_destroy(&rw);
}

/* A reader that comes while a writer waits goes after the writer, and
 * sleeps (flag 2) while the writer holds the lock for a while. */
static void test_rw_writer_goes_first(void)
{
	quota__rw_init(&rw);
	order_n = 0;
	atomic_store(&step, 0);
	quota__rw_read(&rw);
	pthread_t w, r;
	CHECK_EQ_INT(pthread_create(&w, NULL, write_in_order, (void *)(intptr_t)100), 0);
	for (int i = 0; i < 10000 && !atomic_load(&rw.writer); i++)
		sleep_ms(1);
	CHECK(atomic_load(&rw.writer) != 0);
	CHECK_EQ_INT(pthread_create(&r, NULL, read_in_order, NULL), 0);
	CHECK(wait_step(1));
	sleep_ms(20);
	/* Neither got in: the writer waits for this reader, the new reader
	 * for the writer. */
	CHECK_EQ_INT(order_n, 0);
	quota__rw_read_done(&rw);
	pthread_join(w, NULL);
	pthread_join(r, NULL);
	CHECK_EQ_INT(order_n, 2);
	CHECK_EQ_INT(order[0], 'w');
	CHECK_EQ_INT(order[1], 'r');
	CHECK_EQ_INT(atomic_load(&rw.writer), 0);
	quota__rw_destroy(&rw);
}

/* Readers and writers on more threads than cores: a writer changes two
 * plain numbers one after the other, a reader checks they are equal. */
#define RW_ROUNDS 20000
static long rw_a, rw_b;
static atomic_long rw_torn, rw_writes;

static void *rw_worker(void *arg)
{
	long id = (long)(intptr_t)arg;
	for (long i = 0; i < RW_ROUNDS; i++) {
		if ((i + id) % 64 == 0) {
			quota__rw_write(&rw);
			rw_a++;
			if (i % 4096 == 0)
				sleep_ms(1); /* long enough that readers sleep */
			rw_b++;
			quota__rw_write_done(&rw);
			atomic_fetch_add(&rw_writes, 1);
		} else {
			quota__rw_read(&rw);
			if (rw_a != rw_b)
				atomic_fetch_add(&rw_torn, 1);
			quota__rw_read_done(&rw);
		}
	}
	return NULL;
}

static void test_rw_mixed(void)
{
	quota__rw_init(&rw);
	pthread_t t[THREADS];
	for (long i = 0; i < THREADS; i++)
		CHECK_EQ_INT(pthread_create(&t[i], NULL, rw_worker, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ_INT(atomic_load(&rw_torn), 0);
	CHECK_EQ_INT(rw_a, atomic_load(&rw_writes));
	CHECK_EQ_INT(rw_b, rw_a);
	CHECK_EQ_INT(atomic_load(&rw.writer), 0);
	for (int i = 0; i < QUOTA__RW_SLOTS; i++)
		CHECK_EQ_INT(atomic_load(&rw.slot[i].readers), 0);
	quota__rw_destroy(&rw);
}

int main(void)
{
	RUN(test_try);
	RUN(test_release_below_busy);
	RUN(test_rw_readers_share);
	RUN(test_rw_writer_waits_for_readers);
	RUN(test_rw_writer_goes_first);
	RUN(test_rw_mixed);
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
