/*
 * Policies under threads: many threads admitting against one engine (with
 * retries, dry runs and two-phase creates) never take more than the
 * limit, while other threads re-apply policies, sync grant policies and
 * read the buckets. Runs in the concurrency suite (and under
 * ThreadSanitizer there).
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>

#include "policy-util.h"

#define THREADS 8
#define LIMIT 300
#define PER_THREAD 1000 /* 8000 objects for 300 places */

static const quota_ref acme = {MILO_GROUP, "Organization", NULL, "acme"};

static quota_engine *engine;
static atomic_int stop;
static atomic_int admitted;   /* objects whose claims are held */
static atomic_int retries;    /* retried admissions of held objects */
static atomic_int retried_ok; /* those that found their claims */
static atomic_int peak_seen;

static quota_doc *resource(const char *org, int thread, int i)
{
	char name[64], uid[64], spec[64];
	snprintf(name, sizeof name, "r-%d-%d", thread, i);
	snprintf(uid, sizeof uid, "uid-%d-%d", thread, i);
	snprintf(spec, sizeof spec, "{\"org\": \"%s\"}", org);
	return trigger_doc(SVC_V1, "MyResource", "default", name, uid, spec);
}

static int admit(quota_doc *t, uint32_t flags, quota_admission_result **r)
{
	quota_admission a;
	quota_admission_init(&a, sizeof a);
	a.trigger = t;
	a.flags = flags;
	a.ttl_ms = flags & QUOTA_ADMIT_RESERVE_ONLY ? 60000 : 0;
	return quota_admit(engine, &a, r);
}

static void *admitter(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		quota_doc *t = resource(i % 5 == 4 ? "globex" : "acme", id, i);
		quota_admission_result *r = NULL;
		uint32_t flags = i % 3 == 1 ? QUOTA_ADMIT_RESERVE_ONLY : 0;
		if (i % 7 == 0) {
			CHECK(admit(t, QUOTA_ADMIT_DRY_RUN, &r) != QUOTA_ERR_NOMEM);
			quota_free(r);
		}
		int rc = admit(t, flags, &r);
		if (rc == QUOTA_OK && r && r->outcome == QUOTA_ADMIT_ALLOWED) {
			const quota_claim *c = r->claims[0];
			if (flags & QUOTA_ADMIT_RESERVE_ONLY) {
				/* two-phase: commit two in three, release the rest */
				if (i % 2)
					CHECK_RC(quota_claim_commit(engine, c->ns, c->name, NULL,
								    0),
						 QUOTA_OK);
				else
					CHECK_RC(quota_claim_release(engine, c->ns, c->name),
						 QUOTA_OK);
			}
			if (!(flags & QUOTA_ADMIT_RESERVE_ONLY) || i % 2) {
				if (strcmp(c->consumer.name, "acme") == 0)
					atomic_fetch_add(&admitted, 1);
				/* a retry finds the claim and takes nothing more */
				quota_admission_result *again = NULL;
				atomic_fetch_add(&retries, 1);
				CHECK_RC(admit(t, 0, &again), QUOTA_OK);
				if (again && (again->answer.flags & QUOTA_ANSWER_EXISTED))
					atomic_fetch_add(&retried_ok, 1);
				quota_free(again);
			}
		} else if (rc != QUOTA_OK) {
			CHECK(rc == QUOTA_ERR_EXCEEDED);
			CHECK(r && r->outcome == QUOTA_ADMIT_DENIED);
		}
		quota_free(r);
		quota_doc_unref(t);
	}
	return NULL;
}

/* Re-applies the claim policy with constraints that always hold, and
 * switches globex between tiers. */
static void *churner(void *arg)
{
	(void)arg;
	static const char *const always[] = {"true", "trigger.kind == 'MyResource'",
					     "has(trigger.metadata.uid)"};
	for (int i = 0; !atomic_load(&stop); i++) {
		struct claim_pol x;
		claim_pol_reference(&x);
		x.t.consumer.name = "{{ trigger.spec.org }}";
		claim_pol_constraint(&x, always[i % 3], NULL);
		CHECK_RC(quota_claim_policy_apply(engine, &x.p, NULL), QUOTA_OK);
		quota_doc *t = trigger_doc(MILO_V1, "Organization", "", "globex", "g",
					   i % 2 ? "{\"tier\": \"pro\"}" : "{\"tier\": \"free\"}");
		CHECK_RC(quota_grant_policies_sync(engine, t, QUOTA_TRIGGER_UPDATED, NULL, NULL),
			 QUOTA_OK);
		quota_doc_unref(t);
	}
	return NULL;
}

/* Reads acme's bucket: never more held than the limit. */
static void *watcher(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		quota_bucket_info *b = NULL;
		CHECK_RC(quota_bucket_get(engine, &acme, RESOURCES, &b), QUOTA_OK);
		if (b) {
			int64_t held = b->allocated + b->reserved;
			if (held > b->limit)
				check_fail_(__FILE__, __LINE__, "held %lld of %lld",
					    (long long)held, (long long)b->limit);
			if (held > atomic_load(&peak_seen))
				atomic_store(&peak_seen, (int)held);
		}
		quota_free(b);
	}
	return NULL;
}

static void test_admissions_never_exceed(void)
{
	engine = test_engine(NULL, 60000);
	quota_registration r;
	quota_registration_init(&r, sizeof r);
	r.resource_type = RESOURCES;
	r.consumer_type.kind = "Organization";
	CHECK_RC(quota_registration_create(engine, &r), QUOTA_OK);
	CHECK_RC(test_grant(engine, "", "acme", &acme, RESOURCES, LIMIT, NULL), QUOTA_OK);
	struct grant_pol g;
	grant_pol_reference(&g);
	g.p.name = "free";
	g.t.name = "{{trigger.metadata.name}}-quota";
	g.b[0].amount = 5;
	grant_pol_constraint(&g, "trigger.spec.tier == 'free'", NULL);
	CHECK_RC(quota_grant_policy_apply(engine, &g.p, NULL), QUOTA_OK);
	g.p.name = "pro";
	g.b[0].amount = 50;
	g.c[0].expression = "trigger.spec.tier == 'pro'";
	CHECK_RC(quota_grant_policy_apply(engine, &g.p, NULL), QUOTA_OK);
	struct claim_pol x;
	claim_pol_reference(&x);
	x.t.consumer.name = "{{ trigger.spec.org }}";
	CHECK_RC(quota_claim_policy_apply(engine, &x.p, NULL), QUOTA_OK);

	pthread_t adm[THREADS], churn, watch;
	pthread_create(&churn, NULL, churner, NULL);
	pthread_create(&watch, NULL, watcher, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&adm[i], NULL, admitter, (void *)(intptr_t)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(adm[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(churn, NULL);
	pthread_join(watch, NULL);

	/* Exactly the limit was taken: every place, and never one more. */
	CHECK_BUCKET(engine, &acme, RESOURCES, LIMIT, LIMIT, 0, 0);
	CHECK_EQ_INT(atomic_load(&admitted), LIMIT);
	CHECK_EQ_INT(atomic_load(&retried_ok), atomic_load(&retries));
	CHECK(atomic_load(&retries) >= LIMIT);
	printf("admitted %d of %d objects for acme, peak held %d, %d retries found their claims\n",
	       atomic_load(&admitted), THREADS * PER_THREAD * 4 / 5, atomic_load(&peak_seen),
	       atomic_load(&retried_ok));
	quota_engine_free(engine);
}

int main(void)
{
	RUN(test_admissions_never_exceed);
	return check_exit();
}
