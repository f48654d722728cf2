/*
 * Expiry races and edges: a decision that meets a concurrent sweep must
 * still see the reservations that sweep expires; "-1 wins" whatever the
 * order of amounts; TTL deadlines near the end of time saturate.
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include "check.h"

#define TYPE "t.example.com/a"

/* The sweeping thread blocks once inside the library's free, holding the
 * sweep in progress, until the deciding thread has had its turn. */
static _Thread_local int block_in_free;
static sem_t in_sweep, decided;

static void *plain_malloc(size_t n, void *p)
{
	(void)p;
	return malloc(n);
}

static void blocking_free(void *q, void *p)
{
	(void)p;
	if (block_in_free) {
		block_in_free = 0;
		sem_post(&in_sweep);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 300 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		sem_timedwait(&decided, &ts);
	}
	free(q);
}

static quota_engine *engine;

static void *ticker(void *arg)
{
	(void)arg;
	block_in_free = 1;
	quota_engine_tick(engine, 0, NULL);
	return NULL;
}

static void race_once(uint64_t key)
{
	struct test_clock clk;
	quota_engine_options o;
	quota_engine_options_init(&o, sizeof o);
	atomic_store(&clk.ns, TEST_EPOCH_NS);
	o.clock = test_clock_read;
	o.clock_payload = &clk;
	o.released_retention_ms = 1;
	o.hash_key[0] = key;
	o.hash_key[1] = ~key;
	o.stripes = 4;
	CHECK_RC(quota_engine_new(&engine, &o), QUOTA_OK);
	CHECK_RC(test_register(engine, TYPE, NULL, "Org", 10), QUOTA_OK);
	quota_ref org = {NULL, "Org", NULL, "o1"};
	struct test_claim c;
	/* a released claim whose purge is due: the sweep frees it */
	test_claim_init(&c, "w", "old", &org);
	test_claim_add(&c, TYPE, 1);
	CHECK_RC(quota_claim_acquire(engine, &c.c, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_release(engine, "w", "old"), QUOTA_OK);
	/* a reservation of 9 whose TTL has passed */
	test_claim_init(&c, "w", "r", &org);
	test_claim_add(&c, TYPE, 9);
	c.c.ttl_ms = 1;
	CHECK_RC(quota_claim_reserve(engine, &c.c, NULL), QUOTA_OK);
	test_clock_advance_ms(&clk, 2);

	pthread_t t;
	pthread_create(&t, NULL, ticker, NULL);
	sem_wait(&in_sweep);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	int rc = quota_consume(engine, &org, TYPE, 2, &a);
	sem_post(&decided);
	pthread_join(t, NULL);
	if (rc != QUOTA_OK)
		fprintf(stderr, "hash key %llu: consume during a sweep: %s\n",
			(unsigned long long)key, quota_strerror(rc));
	CHECK_RC(rc, QUOTA_OK);
	quota_engine_free(engine);
	while (sem_trywait(&decided) == 0)
		;
}

static void test_decision_during_concurrent_sweep(void)
{
	quota_allocator al;
	quota_allocator_init(&al, sizeof al);
	al.malloc_fn = plain_malloc;
	al.free_fn = blocking_free;
	CHECK_RC(quota_set_allocator(&al), QUOTA_OK);
	sem_init(&in_sweep, 0, 0);
	sem_init(&decided, 0, 0);
	/* Several table layouts: the purged claim, the reservation and the
	 * bucket fall in different stripes in different orders. */
	for (uint64_t key = 1; key <= 8; key++)
		race_once(key);
	CHECK_RC(quota_set_allocator(NULL), QUOTA_OK);
}

/* -1 wins whatever the order, but the finite amounts must still fit
 * together (were the -1 deleted, they would be the limit), whatever the
 * order too. */
static void test_unlimited_wins_in_any_order(void)
{
	quota_engine *e = test_engine(NULL, 0);
	quota_ref org = {NULL, "Org", NULL, "o1"};
	CHECK_RC(test_register(e, TYPE, NULL, "Org", 0), QUOTA_OK);
	static const int64_t orders[3][3] = {{INT64_MAX, 1, QUOTA_UNLIMITED},
					     {QUOTA_UNLIMITED, INT64_MAX, 1},
					     {1, QUOTA_UNLIMITED, INT64_MAX}};
	quota_grant_bucket b[3];
	quota_allowance al;
	quota_allowance_init(&al, sizeof al);
	al.resource_type = TYPE;
	al.buckets = b;
	quota_grant g;
	quota_grant_init(&g, sizeof g);
	g.name = "one";
	g.consumer = org;
	g.allowances = &al;
	g.allowance_count = 1;
	for (int k = 0; k < 3; k++) {
		/* within one allowance: the three overflow, any two with the
		 * -1 are unlimited */
		for (int i = 0; i < 3; i++) {
			quota_grant_bucket_init(&b[i], sizeof b[i]);
			b[i].amount = orders[k][i];
		}
		al.bucket_count = 3;
		CHECK_RC(quota_grant_apply(e, &g, NULL), QUOTA_ERR_OVERFLOW);
		CHECK_BUCKET(e, &org, TYPE, 0, 0, 0, 0);
		b[k == 0 ? 1 : k == 1 ? 2 : 0].amount = QUOTA_UNLIMITED;
		CHECK_RC(quota_grant_apply(e, &g, NULL), QUOTA_OK);
		CHECK_BUCKET(e, &org, TYPE, -1, 0, 0, -1);
		CHECK_RC(quota_grant_delete(e, NULL, "one"), QUOTA_OK);
		/* across grants a, b, c applied in this order */
		static const char *const names[3] = {"a", "b", "c"};
		int refused = 0;
		for (int i = 0; i < 3; i++) {
			int rc = test_grant(e, NULL, names[i], &org, TYPE, orders[k][i], NULL);
			if (rc == QUOTA_ERR_OVERFLOW)
				refused++;
			else
				CHECK_RC(rc, QUOTA_OK);
		}
		CHECK_EQ_INT(refused, 1);
		CHECK_BUCKET(e, &org, TYPE, -1, 0, 0, -1);
		/* deleting the -1 always fits: the first finite one is left */
		int64_t left = -1;
		for (int i = 0; i < 3; i++)
			if (orders[k][i] == QUOTA_UNLIMITED)
				CHECK_RC(quota_grant_delete(e, NULL, names[i]), QUOTA_OK);
			else if (left < 0)
				left = orders[k][i];
		CHECK_BUCKET(e, &org, TYPE, left, 0, 0, left);
		for (int i = 0; i < 3; i++)
			quota_grant_delete(e, NULL, names[i]);
		CHECK_BUCKET(e, &org, TYPE, 0, 0, 0, 0);
	}
	quota_engine_free(e);
}

static void test_ttl_deadline_saturates(void)
{
	struct test_clock clk;
	quota_engine *e = test_engine(&clk, 0);
	atomic_store(&clk.ns, INT64_MAX - 1000);
	quota_ref org = {NULL, "Org", NULL, "o1"};
	CHECK_RC(test_register(e, TYPE, NULL, "Org", 10), QUOTA_OK);
	struct test_claim c;
	test_claim_init(&c, "w", "late", &org);
	test_claim_add(&c, TYPE, 1);
	c.c.ttl_ms = 1000;
	CHECK_RC(quota_claim_reserve(e, &c.c, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_commit(e, "w", "late", NULL, 0), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "w", "late"), QUOTA_CLAIM_GRANTED);
	quota_engine_free(e);
}

int main(void)
{
	RUN(test_decision_during_concurrent_sweep);
	RUN(test_unlimited_wins_in_any_order);
	RUN(test_ttl_deadline_saturates);
	return check_exit();
}
