/*
 * Claim sets: several claims decided as one on their totals, all or
 * nothing, idempotent per member, across levels, selectors and rates.
 * SPDX-License-Identifier: MIT
 */
#include "check.h"

#define CPUS "compute.example.com/vcpus"
#define MEM "compute.example.com/memory"
#define TOKENS "serving.example.com/tokens"

static const quota_ref web = {NULL, "Project", "acme", "web"};
static const quota_ref api = {NULL, "Project", "acme", "api"};
static const quota_ref acme = {NULL, "Organization", NULL, "acme"};

static quota_engine *setup(struct test_clock *clk)
{
	quota_engine *e = test_engine(clk, 60000);
	CHECK(e != NULL);
	static const char *const dims[] = {"region"};
	quota_registration r;
	quota_registration_init(&r, sizeof r);
	r.resource_type = CPUS;
	r.consumer_type.kind = "Project";
	r.allowed_dimensions = dims;
	r.allowed_dimension_count = 1;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_RC(test_register(e, MEM, NULL, "Project", 0), QUOTA_OK);
	r.resource_type = TOKENS;
	r.resource_class = QUOTA_RESOURCE_RATE;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_RC(test_grant(e, "acme", "web-cpus", &web, CPUS, 5, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, "acme", "web-mem", &web, MEM, 100, NULL), QUOTA_OK);
	return e;
}

/* A set of up to four one- or two-request claims, each built in place. */
struct set {
	struct test_claim t[4];
	quota_claim c[4];
	uint32_t n;
};

static void add(struct set *s, const char *name, const quota_ref *consumer, const char *type,
		int64_t amount)
{
	test_claim_init(&s->t[s->n], "acme", name, consumer);
	test_claim_add(&s->t[s->n], type, amount);
	s->n++;
}

static quota_claim *claims(struct set *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		s->c[i] = s->t[i].c;
	return s->c;
}

static void test_totals_decide(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	struct set s = {.n = 0};
	/* Each fits alone (3 of 5), not both. */
	add(&s, "a", &web, CPUS, 3);
	add(&s, "b", &web, CPUS, 3);
	test_claim_add(&s.t[1], MEM, 10);
	CHECK_RC(quota_claim_set_acquire(e, claims(&s), 2, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.binding_claim, 0);
	CHECK_EQ_INT(a.binding_request, 0);
	CHECK_EQ_INT(a.requested, 6);
	CHECK_EQ_INT(a.available, 5);
	CHECK_STR_EQ(a.bucket, "Project/acme/web:" CPUS);
	CHECK_ERR_MENTIONS("requested 6, available 5");
	CHECK_RC(test_claim_state(e, "acme", "a"), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(test_claim_state(e, "acme", "b"), QUOTA_ERR_NOT_FOUND);
	CHECK_BUCKET(e, &web, MEM, 100, 0, 0, 100); /* b's memory was not taken */
	CHECK_RC(quota_claim_set_check(e, claims(&s), 2, &a), QUOTA_ERR_EXCEEDED);

	/* Smaller: both fit, held together. */
	s.t[1].r[0].amount = 2;
	CHECK_RC(quota_claim_set_check(e, claims(&s), 2, &a), QUOTA_OK);
	CHECK_BUCKET(e, &web, CPUS, 5, 0, 0, 5);
	CHECK_RC(quota_claim_set_reserve(e, claims(&s), 2, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_RESERVED);
	CHECK_BUCKET(e, &web, CPUS, 5, 0, 5, 0);
	CHECK_EQ_INT(test_claim_state(e, "acme", "a"), QUOTA_CLAIM_RESERVED);
	/* Acquiring the same set commits what is reserved, charges nothing more. */
	CHECK_RC(quota_claim_set_acquire(e, claims(&s), 2, &a), QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_EXISTED);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_GRANTED);
	CHECK_BUCKET(e, &web, CPUS, 5, 5, 0, 0);
	CHECK_BUCKET(e, &web, MEM, 100, 10, 0, 90);
	CHECK_RC(quota_claim_set_acquire(e, claims(&s), 2, &a), QUOTA_OK);
	CHECK_BUCKET(e, &web, CPUS, 5, 5, 0, 0);
	quota_engine_free(e);
}

/* A member that exists is taken as it is; the rest is decided. */
static void test_partial_retry(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	struct set s = {.n = 0};
	add(&s, "a", &web, CPUS, 2);
	add(&s, "b", &web, CPUS, 3);
	CHECK_RC(quota_claim_acquire(e, &claims(&s)[0], &a), QUOTA_OK);
	CHECK_RC(quota_claim_set_acquire(e, claims(&s), 2, &a), QUOTA_OK);
	CHECK((a.flags & QUOTA_ANSWER_EXISTED) == 0);
	CHECK_BUCKET(e, &web, CPUS, 5, 5, 0, 0);
	/* Another spec under a member's name: nothing at all happens. */
	struct set t = {.n = 0};
	add(&t, "c", &web, MEM, 5);
	add(&t, "a", &web, CPUS, 1);
	CHECK_RC(quota_claim_set_acquire(e, claims(&t), 2, &a), QUOTA_ERR_CONFLICT);
	CHECK_ERR_MENTIONS("claims[1]");
	CHECK_RC(test_claim_state(e, "acme", "c"), QUOTA_ERR_NOT_FOUND);
	/* A released member's name starts anew. */
	CHECK_RC(quota_claim_release(e, "acme", "a"), QUOTA_OK);
	t.t[1].r[0].amount = 2;
	CHECK_RC(quota_claim_set_acquire(e, claims(&t), 2, &a), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "acme", "a"), QUOTA_CLAIM_GRANTED);
	CHECK_BUCKET(e, &web, CPUS, 5, 5, 0, 0);
	CHECK_BUCKET(e, &web, MEM, 100, 5, 0, 95);
	quota_engine_free(e);
}

/* Totals count at shared levels, selector buckets and rate limits. */
static void test_levels_selectors_rates(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	CHECK_RC(quota_consumer_set_parent(e, &web, &acme), QUOTA_OK);
	CHECK_RC(quota_consumer_set_parent(e, &api, &acme), QUOTA_OK);
	CHECK_RC(test_grant(e, "acme", "api-cpus", &api, CPUS, 5, NULL), QUOTA_OK);
	static const quota_label us[] = {{"region", "us"}};
	quota_grant_bucket b;
	quota_allowance al;
	quota_grant g;
	quota_grant_bucket_init(&b, sizeof b);
	b.amount = 4;
	b.match_labels = us;
	b.match_label_count = 1;
	quota_allowance_init(&al, sizeof al);
	al.resource_type = CPUS;
	al.buckets = &b;
	al.bucket_count = 1;
	quota_grant_init(&g, sizeof g);
	g.name = "org-us";
	g.consumer = acme;
	g.allowances = &al;
	g.allowance_count = 1;
	CHECK_RC(quota_grant_apply(e, &g, NULL), QUOTA_OK);

	quota_answer a;
	quota_answer_init(&a, sizeof a);
	struct set s = {.n = 0};
	add(&s, "w", &web, CPUS, 2);
	add(&s, "x", &api, CPUS, 3);
	for (int i = 0; i < 2; i++) {
		s.t[i].r[0].dimensions = us;
		s.t[i].r[0].dimension_count = 1;
	}
	CHECK_RC(quota_claim_set_acquire(e, claims(&s), 2, &a), QUOTA_ERR_EXCEEDED);
	CHECK_STR_EQ(a.bucket, "Organization//acme:" CPUS "[region=us]");
	CHECK_EQ_INT(a.requested, 5);
	s.t[1].r[0].dimension_count = 0; /* x not in us: fits */
	CHECK_RC(quota_claim_set_acquire(e, claims(&s), 2, &a), QUOTA_OK);

	/* Tokens: 100 per second between two members of 60. */
	quota_grant_bucket tb;
	quota_grant_bucket_init(&tb, sizeof tb);
	tb.amount = 100;
	tb.period_ms = QUOTA_PERIOD_SECOND;
	al.resource_type = TOKENS;
	al.buckets = &tb;
	g.name = "web-tokens";
	g.consumer = web;
	CHECK_RC(quota_grant_apply(e, &g, NULL), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &web, TOKENS, 50, &a), QUOTA_OK);
	struct set t = {.n = 0};
	add(&t, "t1", &web, TOKENS, 30);
	add(&t, "t2", &web, TOKENS, 30);
	CHECK_RC(quota_claim_set_acquire(e, claims(&t), 2, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK_EQ_INT(a.requested, 60);
	CHECK_EQ_INT(a.retry_after_ms, 100); /* 10 more at 10 ms each */
	t.t[1].r[0].amount = 20;
	CHECK_RC(quota_claim_set_acquire(e, claims(&t), 2, &a), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &web, TOKENS, 1, &a), QUOTA_ERR_RATE_LIMITED);
	quota_engine_free(e);
}

static void test_bad_input(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	struct set s = {.n = 0};
	add(&s, "a", &web, CPUS, 1);
	add(&s, "a", &web, CPUS, 1);
	CHECK_RC(quota_claim_set_reserve(e, claims(&s), 2, &a), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("claims[1]");
	s.t[1].c.name = "b";
	s.t[1].r[0].amount = 0;
	CHECK_RC(quota_claim_set_reserve(e, claims(&s), 2, &a), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("claims[1]: claim.requests[0].amount");
	s.t[1].r[0].amount = 1;
	s.t[1].c.flags = QUOTA_CLAIM_QUEUE;
	CHECK_RC(quota_claim_set_reserve(e, claims(&s), 2, &a), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("claims[1].flags");
	s.t[1].c.flags = 0;
	s.t[1].r[0].resource_type = "nope.example.com/x";
	CHECK_RC(quota_claim_set_reserve(e, claims(&s), 2, &a), QUOTA_ERR_UNREGISTERED);
	CHECK_ERR_MENTIONS("claims[1]");
	CHECK_RC(quota_claim_set_reserve(e, claims(&s), 0, &a), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_set_reserve(e, claims(&s), QUOTA_MAX_CLAIM_SET + 1, &a),
		 QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_set_reserve(e, NULL, 1, &a), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_set_reserve(NULL, claims(&s), 1, &a), QUOTA_ERR_INVALID);
	CHECK_BUCKET(e, &web, CPUS, 5, 0, 0, 5);
	CHECK_RC(test_claim_state(e, "acme", "a"), QUOTA_ERR_NOT_FOUND);
	quota_engine_free(e);
}

/* Sixteen members over eight projects of one organization, eleven lock
 * stripes and more: all decided together. */
static void test_large_set(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	quota_ref p[8];
	char names[8][8], cnames[16][8];
	for (int i = 0; i < 8; i++) {
		snprintf(names[i], sizeof names[i], "p%d", i);
		p[i] = (quota_ref){NULL, "Project", "acme", names[i]};
		CHECK_RC(quota_consumer_set_parent(e, &p[i], &acme), QUOTA_OK);
		CHECK_RC(test_grant(e, "acme", names[i], &p[i], CPUS, 10, NULL), QUOTA_OK);
	}
	CHECK_RC(test_grant(e, NULL, "org", &acme, CPUS, 31, NULL), QUOTA_OK);
	struct test_claim t[16];
	quota_claim c[16];
	for (int i = 0; i < 16; i++) {
		snprintf(cnames[i], sizeof cnames[i], "c%d", i);
		test_claim_init(&t[i], "acme", cnames[i], &p[i % 8]);
		test_claim_add(&t[i], CPUS, 2);
		test_claim_add(&t[i], MEM, 1);
	}
	for (int i = 0; i < 16; i++)
		c[i] = t[i].c;
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_set_acquire(e, c, 16, &a), QUOTA_ERR_EXCEEDED); /* 32 > 31 */
	CHECK_STR_EQ(a.bucket, "Organization//acme:" CPUS);
	CHECK_BUCKET(e, &acme, CPUS, 31, 0, 0, 31);
	CHECK_RC(test_grant(e, NULL, "org", &acme, CPUS, 32, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_set_acquire(e, c, 16, &a), QUOTA_ERR_EXCEEDED); /* no memory granted */
	CHECK_STR_EQ(a.bucket, "Project/acme/p0:" MEM);
	char mem[8][16];
	for (int i = 0; i < 8; i++) {
		snprintf(mem[i], sizeof mem[i], "mem-%d", i);
		CHECK_RC(test_grant(e, "acme", mem[i], &p[i], MEM, 2, NULL), QUOTA_OK);
	}
	CHECK_RC(quota_claim_set_acquire(e, c, 16, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_GRANTED);
	CHECK_BUCKET(e, &acme, CPUS, 32, 32, 0, 0);
	CHECK_BUCKET(e, &p[3], MEM, 2, 2, 0, 0);
	quota_engine_free(e);
}

/* A set whose buckets span more stripes than one lock set holds (161):
 * it locks every stripe, and decides the same. */
static void test_lock_everything(void)
{
	quota_engine_options o;
	quota_engine *e = NULL;
	quota_engine_options_init(&o, sizeof o);
	o.stripes = 4096;
	CHECK_RC(quota_engine_new(&e, &o), QUOTA_OK);
	char types[20][40], names[16][8];
	for (int i = 0; i < 20; i++) {
		snprintf(types[i], sizeof types[i], "compute.example.com/t%d", i);
		CHECK_RC(test_register(e, types[i], NULL, "Project", 10), QUOTA_OK);
	}
	quota_ref p[16];
	char pn[16][8];
	struct test_claim t[16];
	quota_claim c[16];
	for (int i = 0; i < 16; i++) {
		snprintf(pn[i], sizeof pn[i], "p%d", i);
		snprintf(names[i], sizeof names[i], "c%d", i);
		p[i] = (quota_ref){NULL, "Project", "acme", pn[i]};
		test_claim_init(&t[i], "acme", names[i], &p[i]);
		for (int k = 0; k < 20; k++)
			test_claim_add(&t[i], types[k], i == 15 && k == 19 ? 11 : 1);
	}
	for (int i = 0; i < 16; i++)
		c[i] = t[i].c;
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	/* 320 buckets: the last member's last request does not fit. */
	CHECK_RC(quota_claim_set_acquire(e, c, 16, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.binding_claim, 15);
	CHECK_EQ_INT(a.binding_request, 19);
	CHECK_RC(test_claim_state(e, "acme", "c0"), QUOTA_ERR_NOT_FOUND);
	CHECK_BUCKET(e, &p[0], types[0], 10, 0, 0, 10);
	t[15].r[19].amount = 10;
	c[15] = t[15].c;
	CHECK_RC(quota_claim_set_acquire(e, c, 16, &a), QUOTA_OK);
	CHECK_BUCKET(e, &p[15], types[19], 10, 10, 0, 0);
	CHECK_BUCKET(e, &p[3], types[7], 10, 1, 0, 9);
	quota_engine_free(e);
}

int main(void)
{
	RUN(test_totals_decide);
	RUN(test_partial_retry);
	RUN(test_levels_selectors_rates);
	RUN(test_bad_input);
	RUN(test_large_set);
	RUN(test_lock_everything);
	return check_exit();
}
