/*
 * Concurrency with a hierarchy and a queue: threads reserve, acquire,
 * commit, release, queue and consume on projects that share organization
 * caps. Online: no project or organization bucket ever holds more than its
 * limit. At quiescence: every organization's numbers are the sums of its
 * projects', pending counts match the pending claims, and after everything
 * is released every bucket is back to zero.
 *
 * QUOTA_STRESS_OPS scales the run (default 400000 operations).
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>

#include "check.h"

#define TYPE "compute.example.com/vcpus"
#define THREADS 4
#define ORGS 2
#define PROJECTS_PER_ORG 3
#define PROJECTS (ORGS * PROJECTS_PER_ORG)
#define ORG_CAP 40
#define PROJECT_CAP 20
#define NAMES 64 /* claim names per thread, reused */

static quota_engine *engine;
static char org_names[ORGS][16], project_names[PROJECTS][16];
static quota_ref orgs[ORGS], projects[PROJECTS];
static atomic_int stop;
static long ops_per_thread;

struct worker {
	int id;
	uint64_t rng;
	int64_t anonymous[PROJECTS];
};

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	char name[32];
	for (long i = 0; i < ops_per_thread; i++) {
		int p = (int)(next_rand(&w->rng) % PROJECTS);
		int slot = (int)(next_rand(&w->rng) % NAMES);
		int op = (int)(next_rand(&w->rng) % 10);
		snprintf(name, sizeof name, "t%d-%d", w->id, slot);
		struct test_claim c;
		test_claim_init(&c, "stress", name, &projects[slot % PROJECTS]);
		test_claim_add(&c, TYPE, 1 + (int64_t)(next_rand(&w->rng) % 8));
		switch (op) {
		case 0:
		case 1:
			quota_claim_reserve(engine, &c.c, NULL);
			break;
		case 2:
			c.c.flags = QUOTA_CLAIM_QUEUE;
			c.c.queue_timeout_ms = (next_rand(&w->rng) % 2) ? 0 : 1;
			quota_claim_reserve(engine, &c.c, NULL);
			break;
		case 3:
			c.c.flags = QUOTA_CLAIM_QUEUE | QUOTA_CLAIM_AUTO_COMMIT;
			quota_claim_reserve(engine, &c.c, NULL);
			break;
		case 4:
			quota_claim_acquire(engine, &c.c, NULL);
			break;
		case 5:
			quota_claim_commit(engine, "stress", name, NULL, 0);
			break;
		case 6:
		case 7:
			quota_claim_release(engine, "stress", name);
			break;
		case 8:
			if (quota_consume(engine, &projects[p], TYPE, 1, NULL) == QUOTA_OK)
				w->anonymous[p]++;
			break;
		default:
			if (w->anonymous[p] > 0 &&
			    quota_give_back(engine, &projects[p], TYPE, 1) == QUOTA_OK)
				w->anonymous[p]--;
			break;
		}
	}
	return NULL;
}

struct nums {
	int64_t limit, allocated, reserved, pending;
};

static struct nums read_bucket(const quota_ref *c)
{
	struct nums n = {0, 0, 0, 0};
	quota_bucket_info *b = NULL;
	if (quota_bucket_get(engine, c, TYPE, &b) == QUOTA_OK) {
		n = (struct nums){b->limit, b->allocated, b->reserved, b->pending};
		quota_free(b);
	}
	return n;
}

static void *checker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		for (int i = 0; i < ORGS + PROJECTS; i++) {
			const quota_ref *c = i < ORGS ? &orgs[i] : &projects[i - ORGS];
			struct nums n = read_bucket(c);
			if (n.allocated + n.reserved > n.limit)
				check_fail_(__FILE__, __LINE__, "%s: %lld + %lld > limit %lld",
					    c->name, (long long)n.allocated, (long long)n.reserved,
					    (long long)n.limit);
		}
	}
	return NULL;
}

int main(void)
{
	const char *env = getenv("QUOTA_STRESS_OPS");
	long total = env ? atol(env) : 400000;
	ops_per_thread = total / THREADS;

	quota_engine_options o;
	quota_engine_options_init(&o, sizeof o);
	o.stripes = 16;
	o.released_retention_ms = 0;
	CHECK_RC(quota_engine_new(&engine, &o), QUOTA_OK);
	CHECK_RC(test_register(engine, TYPE, NULL, "Project", 0), QUOTA_OK);
	for (int i = 0; i < ORGS; i++) {
		snprintf(org_names[i], sizeof org_names[i], "org%d", i);
		orgs[i] = (quota_ref){NULL, "Organization", NULL, org_names[i]};
	}
	for (int i = 0; i < PROJECTS; i++) {
		snprintf(project_names[i], sizeof project_names[i], "p%d", i);
		projects[i] = (quota_ref){NULL, "Project", "stress", project_names[i]};
		CHECK_RC(quota_consumer_set_parent(engine, &projects[i], &orgs[i % ORGS]), QUOTA_OK);
		CHECK_RC(test_grant(engine, "stress", project_names[i], &projects[i], TYPE,
				    PROJECT_CAP, NULL),
			 QUOTA_OK);
	}
	for (int i = 0; i < ORGS; i++)
		CHECK_RC(test_grant(engine, NULL, org_names[i], &orgs[i], TYPE, ORG_CAP, NULL),
			 QUOTA_OK);

	pthread_t t[THREADS], chk;
	struct worker w[THREADS];
	pthread_create(&chk, NULL, checker, NULL);
	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].id = i;
		w[i].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(chk, NULL);

	/* Quiescent: organizations are the sums of their projects. */
	quota_engine_tick(engine, 0, NULL);
	for (int o_ = 0; o_ < ORGS; o_++) {
		struct nums sum = {0, 0, 0, 0};
		for (int p = o_; p < PROJECTS; p += ORGS) {
			struct nums n = read_bucket(&projects[p]);
			sum.allocated += n.allocated;
			sum.reserved += n.reserved;
		}
		struct nums n = read_bucket(&orgs[o_]);
		CHECK_EQ_INT(n.allocated, sum.allocated);
		CHECK_EQ_INT(n.reserved, sum.reserved);
	}
	/* Pending counts match the pending claims. */
	int64_t pending_claims = 0, pending_counted = 0;
	quota_claim_iter *it = NULL;
	const quota_claim_info *ci;
	CHECK_RC(quota_claim_iter_new(engine, NULL, QUOTA_CLAIM_PENDING, &it), QUOTA_OK);
	while (it && quota_claim_iter_next(it, &ci) == QUOTA_OK)
		pending_claims++;
	quota_claim_iter_free(it);
	for (int p = 0; p < PROJECTS; p++)
		pending_counted += read_bucket(&projects[p]).pending;
	CHECK_EQ_INT(pending_counted, pending_claims);

	/* Release everything: every bucket returns to zero. */
	char name[32];
	for (int i = 0; i < THREADS; i++) {
		for (int s = 0; s < NAMES; s++) {
			snprintf(name, sizeof name, "t%d-%d", i, s);
			int rc = quota_claim_release(engine, "stress", name);
			CHECK(rc == QUOTA_OK || rc == QUOTA_ERR_NOT_FOUND);
		}
		for (int p = 0; p < PROJECTS; p++)
			if (w[i].anonymous[p])
				CHECK_RC(quota_give_back(engine, &projects[p], TYPE, w[i].anonymous[p]),
					 QUOTA_OK);
	}
	for (int i = 0; i < ORGS + PROJECTS; i++) {
		struct nums n = read_bucket(i < ORGS ? &orgs[i] : &projects[i - ORGS]);
		CHECK_EQ_INT(n.allocated, 0);
		CHECK_EQ_INT(n.reserved, 0);
		CHECK_EQ_INT(n.pending, 0);
	}
	quota_engine_free(engine);
	return check_exit();
}
