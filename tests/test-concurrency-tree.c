/*
 * Concurrency with a hierarchy and a queue: threads reserve, acquire,
 * commit, release, queue and consume on projects that share organization
 * caps. Online: no project or organization bucket ever holds more than its
 * limit. At quiescence: every organization's numbers are the sums of its
 * projects', pending counts match the pending claims, and after everything
 * is released every bucket is back to zero.
 *
 * Requests carry a region label by claim name (us, eu or none); each
 * organization caps region=us in a selector bucket, and a churn thread
 * keeps applying and deleting a region=eu grant on them, so that selector
 * buckets are made (counting the claims they find) and removed while
 * claims come and go. Online: region=us is never above its limit. At
 * quiescence: every selector bucket holds exactly what its matching claims
 * hold.
 *
 * A Rate type rides along: each project may take 200 a day (calendar) and
 * 50 a second (rolling, burst 50), each organization 500 a day; the clock
 * moves 1 ms now and then. At the end every day limiter has exactly what
 * the successful takes left it, at both levels, and no project took more
 * than its per-second limit allows over the time that passed.
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
#define RATE "serving.example.com/requests"
#define ORG_US_CAP 15
#define ORG_EU_CAP 12
#define PROJECT_DAY 200
#define ORG_DAY 500
#define PROJECT_PER_S 50
#define DAY_NS (INT64_C(86400) * 1000000000)

static quota_engine *engine;
static char org_names[ORGS][16], project_names[PROJECTS][16];
static quota_ref orgs[ORGS], projects[PROJECTS];
static atomic_int stop;
static long ops_per_thread;
static struct test_clock clk;

struct worker {
	int id;
	uint64_t rng;
	int64_t anonymous[PROJECTS];
	int64_t taken[PROJECTS]; /* successful rate takes */
};

static const quota_label us[] = {{"region", "us"}}, eu[] = {{"region", "eu"}};

/* The region of a claim name's slot: fixed, so that the end can tell. */
static const quota_label *region_of(int slot)
{
	return slot % 3 == 0 ? us : slot % 3 == 1 ? eu : NULL;
}

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
		int op = (int)(next_rand(&w->rng) % 13);
		snprintf(name, sizeof name, "t%d-%d", w->id, slot);
		struct test_claim c;
		test_claim_init(&c, "stress", name, &projects[slot % PROJECTS]);
		test_claim_add(&c, TYPE, 1 + (int64_t)(next_rand(&w->rng) % 8));
		c.r[0].dimensions = region_of(slot);
		c.r[0].dimension_count = region_of(slot) ? 1 : 0;
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
		case 10:
			test_clock_advance_ms(&clk, 1);
			break;
		case 11:
			if (quota_rate_take(engine, &projects[p], RATE, 1, NULL) == QUOTA_OK)
				w->taken[p]++;
			break;
		case 12: {
			/* A set of two claims, decided as one. */
			struct test_claim c2;
			char name2[32];
			int slot2 = (slot + 1) % NAMES;
			snprintf(name2, sizeof name2, "t%d-%d", w->id, slot2);
			test_claim_init(&c2, "stress", name2, &projects[slot2 % PROJECTS]);
			test_claim_add(&c2, TYPE, 1 + (int64_t)(next_rand(&w->rng) % 8));
			c2.r[0].dimensions = region_of(slot2);
			c2.r[0].dimension_count = region_of(slot2) ? 1 : 0;
			quota_claim set[2] = {c.c, c2.c};
			quota_claim_set_acquire(engine, set, 2, NULL);
			break;
		}
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

/* A grant of cap for TYPE to consumer c, on the selector region=value
 * (NULL: none). */
static int grant_region(const char *name, const quota_ref *c, const quota_label *sel, int64_t cap)
{
	quota_grant_bucket b;
	quota_allowance a;
	quota_grant g;
	quota_grant_bucket_init(&b, sizeof b);
	b.amount = cap;
	b.match_labels = sel;
	b.match_label_count = sel ? 1 : 0;
	quota_allowance_init(&a, sizeof a);
	a.resource_type = TYPE;
	a.buckets = &b;
	a.bucket_count = 1;
	quota_grant_init(&g, sizeof g);
	g.name = name;
	g.consumer = *c;
	g.allowances = &a;
	g.allowance_count = 1;
	return quota_grant_apply(engine, &g, NULL);
}

static void *churn(void *arg)
{
	(void)arg;
	char name[32];
	for (int round = 0; !atomic_load(&stop); round++) {
		int o_ = round % ORGS;
		snprintf(name, sizeof name, "eu-%d", o_);
		if (round / ORGS % 2 == 0)
			CHECK_RC(grant_region(name, &orgs[o_], eu, ORG_EU_CAP), QUOTA_OK);
		else
			CHECK_RC(quota_grant_delete(engine, NULL, name), QUOTA_OK);
	}
	return NULL;
}

/* allocated + reserved and limit of the selector bucket region=value of
 * c; limit -2 when it does not exist. */
static struct nums read_selector(const quota_ref *c, const char *sel)
{
	struct nums n = {-2, 0, 0, 0};
	quota_bucket_info *b = NULL;
	if (quota_bucket_get_selector(engine, c, TYPE, sel, &b) == QUOTA_OK) {
		n = (struct nums){b->limit, b->allocated, b->reserved, b->pending};
		quota_free(b);
	}
	return n;
}

static void *checker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		/* region=eu comes and goes: made anew, it may find more than its
		 * limit already held (a grant never revokes); region=us stays. */
		for (int i = 0; i < ORGS; i++) {
			struct nums n = read_selector(&orgs[i], "region=us");
			if (n.limit != ORG_US_CAP || n.allocated + n.reserved > n.limit)
				check_fail_(__FILE__, __LINE__, "%s[region=us]: %lld + %lld, limit %lld",
					    orgs[i].name, (long long)n.allocated,
					    (long long)n.reserved, (long long)n.limit);
		}
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

/* The rate grant of a project (a day and a second) or an organization. */
static int grant_rate(const quota_ref *c, int org)
{
	quota_grant_bucket b[2];
	quota_allowance a;
	quota_grant g;
	char name[40];
	for (int i = 0; i < 2; i++)
		quota_grant_bucket_init(&b[i], sizeof b[i]);
	b[0].amount = org ? ORG_DAY : PROJECT_DAY;
	b[0].period_ms = QUOTA_PERIOD_DAY;
	b[0].window = QUOTA_WINDOW_CALENDAR;
	b[1].amount = PROJECT_PER_S;
	b[1].period_ms = QUOTA_PERIOD_SECOND;
	quota_allowance_init(&a, sizeof a);
	a.resource_type = RATE;
	a.buckets = b;
	a.bucket_count = org ? 1 : 2;
	quota_grant_init(&g, sizeof g);
	snprintf(name, sizeof name, "rate-%s", c->name);
	g.name = name;
	g.consumer = *c;
	g.allowances = &a;
	g.allowance_count = 1;
	return quota_grant_apply(engine, &g, NULL);
}

/* What the limit with period_ms of (c, RATE) has left. */
static int64_t rate_left(const quota_ref *c, int64_t period_ms)
{
	quota_bucket_info *b = NULL;
	int64_t left = -2;
	if (quota_bucket_get(engine, c, RATE, &b) == QUOTA_OK)
		for (uint32_t k = 0; k < b->rate_count; k++)
			if (b->rates[k]->period_ms == period_ms)
				left = b->rates[k]->remaining;
	quota_free(b);
	return left;
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
	o.clock = test_clock_read;
	o.clock_payload = &clk;
	/* The run starts at a midnight (UTC) and lasts well under a day. */
	int64_t start = (TEST_EPOCH_NS / DAY_NS + 1) * DAY_NS;
	atomic_store(&clk.ns, start);
	CHECK_RC(quota_engine_new(&engine, &o), QUOTA_OK);
	static const char *const dims[] = {"region"};
	quota_registration tr;
	quota_registration_init(&tr, sizeof tr);
	tr.resource_type = TYPE;
	tr.consumer_type.kind = "Project";
	tr.allowed_dimensions = dims;
	tr.allowed_dimension_count = 1;
	CHECK_RC(quota_registration_create(engine, &tr), QUOTA_OK);
	quota_registration rr;
	quota_registration_init(&rr, sizeof rr);
	rr.resource_type = RATE;
	rr.consumer_type.kind = "Project";
	rr.resource_class = QUOTA_RESOURCE_RATE;
	CHECK_RC(quota_registration_create(engine, &rr), QUOTA_OK);
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
	for (int i = 0; i < ORGS; i++) {
		char name[32];
		snprintf(name, sizeof name, "us-%d", i);
		CHECK_RC(grant_region(name, &orgs[i], us, ORG_US_CAP), QUOTA_OK);
	}
	for (int i = 0; i < ORGS + PROJECTS; i++)
		CHECK_RC(grant_rate(i < ORGS ? &orgs[i] : &projects[i - ORGS], i < ORGS), QUOTA_OK);

	pthread_t t[THREADS], chk, chn;
	struct worker w[THREADS];
	pthread_create(&chk, NULL, checker, NULL);
	pthread_create(&chn, NULL, churn, NULL);
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
	pthread_join(chn, NULL);

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
	/* Rate limits: exact conservation of the day limits at both levels;
	 * the per-second limit bounds what each project took. */
	int64_t elapsed_s = (atomic_load(&clk.ns) - start) / 1000000000 + 1;
	CHECK(atomic_load(&clk.ns) - start < DAY_NS);
	for (int o_ = 0; o_ < ORGS; o_++) {
		int64_t org_taken = 0;
		for (int p = o_; p < PROJECTS; p += ORGS) {
			int64_t taken = 0;
			for (int i = 0; i < THREADS; i++)
				taken += w[i].taken[p];
			CHECK_EQ_INT(rate_left(&projects[p], QUOTA_PERIOD_DAY), PROJECT_DAY - taken);
			CHECK(taken <= PROJECT_PER_S + PROJECT_PER_S * elapsed_s);
			org_taken += taken;
		}
		CHECK_EQ_INT(rate_left(&orgs[o_], QUOTA_PERIOD_DAY), ORG_DAY - org_taken);
		CHECK_EQ_INT(org_taken, ORG_DAY); /* the organization limit bound */
	}

	/* Selector buckets hold exactly what their matching claims hold. */
	int64_t held[ORGS][2] = {{0}}, waiting[ORGS][2] = {{0}};
	quota_claim_iter *ci_it = NULL;
	const quota_claim_info *info;
	CHECK_RC(quota_claim_iter_new(engine, NULL, 0, &ci_it), QUOTA_OK);
	while (ci_it && quota_claim_iter_next(ci_it, &info) == QUOTA_OK) {
		int thread, slot;
		if (info->state == QUOTA_CLAIM_RELEASED ||
		    sscanf(info->name, "t%d-%d", &thread, &slot) != 2 || !region_of(slot))
			continue;
		int o_ = (slot % PROJECTS) % ORGS, k = region_of(slot) == us ? 0 : 1;
		if (info->state == QUOTA_CLAIM_PENDING)
			waiting[o_][k]++;
		else
			held[o_][k] += info->allocations[0]->amount;
	}
	quota_claim_iter_free(ci_it);
	for (int o_ = 0; o_ < ORGS; o_++) {
		static const char *const sels[] = {"region=us", "region=eu"};
		for (int k = 0; k < 2; k++) {
			struct nums n = read_selector(&orgs[o_], sels[k]);
			if (n.limit == -2) {
				/* Only region=eu may be gone (its grant comes and goes;
				 * a bucket goes once empty, and claims may hold eu
				 * amounts after that without a bucket to count them). */
				CHECK_EQ_INT(k, 1);
				continue;
			}
			CHECK_EQ_INT(n.allocated + n.reserved, held[o_][k]);
			CHECK_EQ_INT(n.pending, waiting[o_][k]);
		}
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
