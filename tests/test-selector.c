/*
 * Dimensions and selector buckets: labels on requests, grant buckets with
 * matchLabels / matchExpressions, one bucket per distinct selector, the
 * most specific bucket named, selector buckets created after the claims
 * they count, hierarchy, queues, rates, and bad input.
 * SPDX-License-Identifier: MIT
 */
#include "check.h"

#define GPUS "compute.example.com/gpus"
#define TOKENS "serving.example.com/tokens"

static const quota_ref web = {NULL, "Project", "acme", "web"};
static const quota_ref api = {NULL, "Project", "acme", "api"};
static const quota_ref acme = {NULL, "Organization", NULL, "acme"};
static const char *const dims[] = {"region", "tier", "gpu"};

static quota_engine *setup(struct test_clock *clk)
{
	quota_engine *e = test_engine(clk, 60000);
	CHECK(e != NULL);
	quota_registration r;
	quota_registration_init(&r, sizeof r);
	r.resource_type = GPUS;
	r.consumer_type.kind = "Project";
	r.allowed_dimensions = dims;
	r.allowed_dimension_count = 3;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	r.resource_type = TOKENS;
	r.resource_class = QUOTA_RESOURCE_RATE;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	return e;
}

/* A grant of n buckets for one type. */
static int grant(quota_engine *e, const char *name, const quota_ref *c, const char *type,
		 const quota_grant_bucket *b, uint32_t n)
{
	quota_allowance a;
	quota_grant g;
	quota_allowance_init(&a, sizeof a);
	a.resource_type = type;
	a.buckets = b;
	a.bucket_count = n;
	quota_grant_init(&g, sizeof g);
	g.ns = "acme";
	g.name = name;
	g.consumer = *c;
	g.allowances = &a;
	g.allowance_count = 1;
	return quota_grant_apply(e, &g, NULL);
}

static quota_grant_bucket bucket(int64_t amount, const quota_label *ml, uint32_t nml,
				 const quota_selector_requirement *mx, uint32_t nmx)
{
	quota_grant_bucket b;
	quota_grant_bucket_init(&b, sizeof b);
	b.amount = amount;
	b.match_labels = ml;
	b.match_label_count = nml;
	b.match_expressions = mx;
	b.match_expression_count = nmx;
	return b;
}

/* A claim of one request of type with labels. */
static int claim(quota_engine *e, const char *name, const quota_ref *c, const char *type,
		 int64_t amount, const quota_label *l, uint32_t n, uint32_t flags, quota_answer *a)
{
	struct test_claim t;
	test_claim_init(&t, "acme", name, c);
	test_claim_add(&t, type, amount);
	t.r[0].dimensions = l;
	t.r[0].dimension_count = n;
	t.c.flags = flags;
	return quota_claim_acquire(e, &t.c, a);
}

/* allocated of a selector bucket, or -1 when it does not exist. */
static int64_t sel_allocated(quota_engine *e, const quota_ref *c, const char *type,
			     const char *sel)
{
	quota_bucket_info *b = NULL;
	int64_t v = -1;
	if (quota_bucket_get_selector(e, c, type, sel, &b) == QUOTA_OK)
		v = b->allocated + b->reserved;
	quota_free(b);
	return v;
}

static void test_selector_buckets(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	static const quota_label us[] = {{"region", "us"}};
	static const quota_label gold_us[] = {{"tier", "gold"}, {"region", "us"}};
	static const char *const just_us[] = {"us"};
	static const quota_selector_requirement in_us[] = {{"region", QUOTA_SELECTOR_IN, 1, just_us}};
	quota_grant_bucket b[4] = {
		bucket(10, NULL, 0, NULL, 0),
		bucket(4, us, 1, NULL, 0),
		bucket(2, NULL, 0, in_us, 1), /* the same selector, written otherwise */
		bucket(3, gold_us, 2, NULL, 0),
	};
	CHECK_RC(grant(e, "gpus", &web, GPUS, b, 4), QUOTA_OK);

	/* Three buckets, each selector bucket right after its base, the
	 * most specific first. */
	const char *expect[] = {"", "region=us,tier=gold", "region=us"};
	int64_t limits[] = {10, 3, 6};
	quota_bucket_iter *it = NULL;
	const quota_bucket_info *bi;
	int n = 0;
	CHECK_RC(quota_bucket_iter_new(e, &web, GPUS, &it), QUOTA_OK);
	while (quota_bucket_iter_next(it, &bi) == QUOTA_OK && n < 3) {
		CHECK_STR_EQ(bi->selector, expect[n]);
		CHECK_EQ_INT(bi->limit, limits[n]);
		n++;
	}
	quota_bucket_iter_free(it);
	CHECK_EQ_INT(n, 3);

	quota_answer a;
	quota_answer_init(&a, sizeof a);
	static const quota_label gold_us_req[] = {{"region", "us"}, {"tier", "gold"}, {"gpu", "a100"}};
	CHECK_RC(claim(e, "c1", &web, GPUS, 3, gold_us_req, 3, 0, &a), QUOTA_OK);
	CHECK_EQ_INT(sel_allocated(e, &web, GPUS, "region=us,tier=gold"), 3);
	CHECK_EQ_INT(sel_allocated(e, &web, GPUS, "region=us"), 3);
	CHECK_EQ_INT(sel_allocated(e, &web, GPUS, ""), 3);
	quota_claim_info *ci = NULL;
	CHECK_RC(quota_claim_get(e, "acme", "c1", &ci), QUOTA_OK);
	CHECK_STR_EQ(ci->allocations[0]->bucket,
		     "Project/acme/web:" GPUS "[region=us,tier=gold]");
	quota_free(ci);

	/* Silver in us: only region=us and the base bind. */
	static const quota_label silver_us[] = {{"region", "us"}, {"tier", "silver"}};
	CHECK_RC(claim(e, "c2", &web, GPUS, 3, silver_us, 2, 0, &a), QUOTA_OK);
	CHECK_RC(claim(e, "c3", &web, GPUS, 1, us, 1, 0, &a), QUOTA_ERR_EXCEEDED);
	CHECK_STR_EQ(a.bucket, "Project/acme/web:" GPUS "[region=us]");
	CHECK_EQ_INT(a.limit, 6);
	CHECK_EQ_INT(a.available, 0);
	CHECK_ERR_MENTIONS("[region=us]");
	/* Elsewhere only the base binds: 4 left. */
	static const quota_label eu[] = {{"region", "eu"}};
	CHECK_RC(claim(e, "c4", &web, GPUS, 5, eu, 1, 0, &a), QUOTA_ERR_EXCEEDED);
	CHECK_STR_EQ(a.bucket, "Project/acme/web:" GPUS);
	CHECK_RC(claim(e, "c4", &web, GPUS, 4, eu, 1, 0, &a), QUOTA_OK);
	CHECK_RC(quota_claim_get(e, "acme", "c4", &ci), QUOTA_OK);
	CHECK_STR_EQ(ci->allocations[0]->bucket, "Project/acme/web:" GPUS);
	quota_free(ci);
	CHECK_BUCKET(e, &web, GPUS, 10, 10, 0, 0);

	/* Releasing gives back at every bucket it was charged at. */
	CHECK_RC(quota_claim_release(e, "acme", "c1"), QUOTA_OK);
	CHECK_EQ_INT(sel_allocated(e, &web, GPUS, "region=us,tier=gold"), 0);
	CHECK_EQ_INT(sel_allocated(e, &web, GPUS, "region=us"), 3);
	CHECK_BUCKET(e, &web, GPUS, 10, 7, 0, 3);

	/* The dimensions are part of the spec. */
	CHECK_RC(claim(e, "c2", &web, GPUS, 3, us, 1, 0, &a), QUOTA_ERR_CONFLICT);
	static const quota_label silver_us_swapped[] = {{"tier", "silver"}, {"region", "us"}};
	CHECK_RC(claim(e, "c2", &web, GPUS, 3, silver_us_swapped, 2, 0, &a), QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_EXISTED);
	quota_engine_free(e);
}

/* NotIn and DoesNotExist match requests without the key, anonymous use
 * included; canonical forms sort and dedupe values. */
static void test_operators(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	static const char *const vals[] = {"us", "eu", "us"};
	static const quota_selector_requirement no_gpu[] = {
		{"gpu", QUOTA_SELECTOR_DOES_NOT_EXIST, 0, NULL}};
	static const quota_selector_requirement not_us[] = {
		{"region", QUOTA_SELECTOR_NOT_IN, 3, vals}};
	static const quota_selector_requirement any_tier[] = {{"tier", QUOTA_SELECTOR_EXISTS, 0, NULL},
							      {"region", QUOTA_SELECTOR_IN, 3, vals}};
	quota_grant_bucket b[4] = {
		bucket(100, NULL, 0, NULL, 0),
		bucket(2, NULL, 0, no_gpu, 1),
		bucket(5, NULL, 0, not_us, 1),
		bucket(7, NULL, 0, any_tier, 2),
	};
	CHECK_RC(grant(e, "gpus", &web, GPUS, b, 4), QUOTA_OK);
	CHECK(sel_allocated(e, &web, GPUS, "!gpu") == 0);
	CHECK(sel_allocated(e, &web, GPUS, "region notin (eu,us)") == 0);
	CHECK(sel_allocated(e, &web, GPUS, "region in (eu,us),tier") == 0);

	quota_answer a;
	quota_answer_init(&a, sizeof a);
	/* No labels: !gpu and notin match. */
	CHECK_RC(quota_consume(e, &web, GPUS, 2, &a), QUOTA_OK);
	CHECK_RC(quota_consume(e, &web, GPUS, 1, &a), QUOTA_ERR_EXCEEDED);
	CHECK_STR_EQ(a.bucket, "Project/acme/web:" GPUS "[!gpu]");
	CHECK_EQ_INT(sel_allocated(e, &web, GPUS, "region notin (eu,us)"), 2);
	static const quota_label a100_asia[] = {{"gpu", "a100"}, {"region", "asia"}};
	CHECK_RC(claim(e, "c1", &web, GPUS, 3, a100_asia, 2, 0, &a), QUOTA_OK);
	CHECK_RC(claim(e, "c2", &web, GPUS, 1, a100_asia, 2, 0, &a), QUOTA_ERR_EXCEEDED);
	CHECK_STR_EQ(a.bucket, "Project/acme/web:" GPUS "[region notin (eu,us)]");
	static const quota_label eu_gold[] = {{"gpu", "h100"}, {"region", "eu"}, {"tier", "gold"}};
	CHECK_RC(claim(e, "c3", &web, GPUS, 7, eu_gold, 3, 0, &a), QUOTA_OK);
	CHECK_EQ_INT(sel_allocated(e, &web, GPUS, "region in (eu,us),tier"), 7);
	CHECK_RC(quota_give_back(e, &web, GPUS, 2), QUOTA_OK);
	CHECK_EQ_INT(sel_allocated(e, &web, GPUS, "!gpu"), 0);
	CHECK_EQ_INT(sel_allocated(e, &web, GPUS, "region notin (eu,us)"), 3);
	CHECK_BUCKET(e, &web, GPUS, 100, 10, 0, 90);
	quota_engine_free(e);
}

/* A selector bucket made after the claims it matches counts them at
 * once, and goes when no grant names it and nothing holds it. */
static void test_late_selector(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	static const quota_label us[] = {{"region", "us"}};
	static const quota_label eu[] = {{"region", "eu"}};
	quota_grant_bucket base = bucket(20, NULL, 0, NULL, 0);
	CHECK_RC(grant(e, "base", &web, GPUS, &base, 1), QUOTA_OK);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(claim(e, "u1", &web, GPUS, 3, us, 1, 0, &a), QUOTA_OK);
	struct test_claim t;
	test_claim_init(&t, "acme", "u2", &web);
	test_claim_add(&t, GPUS, 2);
	t.r[0].dimensions = us;
	t.r[0].dimension_count = 1;
	CHECK_RC(quota_claim_reserve(e, &t.c, &a), QUOTA_OK);
	CHECK_RC(claim(e, "e1", &web, GPUS, 4, eu, 1, 0, &a), QUOTA_OK);

	quota_grant_bucket sel = bucket(6, us, 1, NULL, 0);
	CHECK_RC(grant(e, "us", &web, GPUS, &sel, 1), QUOTA_OK);
	quota_bucket_info *bi = NULL;
	CHECK_RC(quota_bucket_get_selector(e, &web, GPUS, "region=us", &bi), QUOTA_OK);
	CHECK_EQ_INT(bi->allocated, 3);
	CHECK_EQ_INT(bi->reserved, 2);
	CHECK_EQ_INT(bi->claim_count, 1);
	CHECK_EQ_INT(bi->reserved_count, 1);
	CHECK_EQ_INT(bi->available, 1);
	quota_free(bi);
	quota_claim_info *ci = NULL;
	CHECK_RC(quota_claim_get(e, "acme", "u1", &ci), QUOTA_OK);
	CHECK_STR_EQ(ci->allocations[0]->bucket, "Project/acme/web:" GPUS "[region=us]");
	quota_free(ci);
	CHECK_RC(claim(e, "u3", &web, GPUS, 2, us, 1, 0, &a), QUOTA_ERR_EXCEEDED);

	/* The grant goes while claims hold the bucket: it stays, unlimited. */
	CHECK_RC(quota_grant_delete(e, "acme", "us"), QUOTA_OK);
	CHECK_RC(quota_bucket_get_selector(e, &web, GPUS, "region=us", &bi), QUOTA_OK);
	CHECK_EQ_INT(bi->limit, QUOTA_UNLIMITED);
	quota_free(bi);
	CHECK_RC(claim(e, "u3", &web, GPUS, 2, us, 1, 0, &a), QUOTA_OK);
	/* Once empty, the next grant change takes it away. */
	CHECK_RC(quota_claim_release(e, "acme", "u1"), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "acme", "u2"), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "acme", "u3"), QUOTA_OK);
	CHECK_RC(grant(e, "us", &web, GPUS, &sel, 1), QUOTA_OK);
	CHECK_RC(quota_grant_delete(e, "acme", "us"), QUOTA_OK);
	CHECK_RC(quota_bucket_get_selector(e, &web, GPUS, "region=us", &bi), QUOTA_ERR_NOT_FOUND);
	CHECK_BUCKET(e, &web, GPUS, 20, 4, 0, 16);
	quota_engine_free(e);
}

/* An organization's selector bucket caps the sum over its projects. */
static void test_hierarchy_and_queue(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	CHECK_RC(quota_consumer_set_parent(e, &web, &acme), QUOTA_OK);
	CHECK_RC(quota_consumer_set_parent(e, &api, &acme), QUOTA_OK);
	static const quota_label us[] = {{"region", "us"}};
	quota_grant_bucket own = bucket(10, NULL, 0, NULL, 0);
	quota_grant_bucket org_us = bucket(5, us, 1, NULL, 0);
	CHECK_RC(grant(e, "web", &web, GPUS, &own, 1), QUOTA_OK);
	CHECK_RC(grant(e, "api", &api, GPUS, &own, 1), QUOTA_OK);
	CHECK_RC(grant(e, "org", &acme, GPUS, &org_us, 1), QUOTA_OK);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(claim(e, "w1", &web, GPUS, 3, us, 1, 0, &a), QUOTA_OK);
	CHECK_RC(claim(e, "a1", &api, GPUS, 3, us, 1, 0, &a), QUOTA_ERR_EXCEEDED);
	CHECK_STR_EQ(a.bucket, "Organization//acme:" GPUS "[region=us]");
	/* Queued behind the selector bucket, admitted when it frees up. */
	CHECK_RC(claim(e, "a1", &api, GPUS, 3, us, 1, QUOTA_CLAIM_QUEUE, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_PENDING);
	CHECK_RC(quota_bucket_get_selector(e, &acme, GPUS, "region=us", NULL), QUOTA_ERR_INVALID);
	quota_bucket_info *bi = NULL;
	CHECK_RC(quota_bucket_get_selector(e, &acme, GPUS, "region=us", &bi), QUOTA_OK);
	CHECK_EQ_INT(bi->pending, 1);
	quota_free(bi);
	/* A request the selector does not limit is decided on what is free. */
	CHECK_RC(claim(e, "a2", &api, GPUS, 5, NULL, 0, 0, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_GRANTED);
	CHECK_RC(quota_claim_release(e, "acme", "w1"), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "acme", "a1"), QUOTA_CLAIM_GRANTED);
	CHECK_EQ_INT(sel_allocated(e, &acme, GPUS, "region=us"), 3);
	quota_engine_free(e);
}

/* Rate limits per selector: tokens in one region. */
static void test_rate_selector(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	static const quota_label eu[] = {{"region", "eu"}};
	quota_grant_bucket b[2] = {bucket(100, NULL, 0, NULL, 0), bucket(10, eu, 1, NULL, 0)};
	b[0].period_ms = b[1].period_ms = QUOTA_PERIOD_SECOND;
	CHECK_RC(grant(e, "tokens", &web, TOKENS, b, 2), QUOTA_OK);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(claim(e, "t1", &web, TOKENS, 10, eu, 1, 0, &a), QUOTA_OK);
	CHECK_RC(claim(e, "t2", &web, TOKENS, 1, eu, 1, 0, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK_STR_EQ(a.bucket, "Project/acme/web:" TOKENS "[region=eu]");
	CHECK_EQ_INT(a.retry_after_ms, 100);
	CHECK_RC(claim(e, "t3", &web, TOKENS, 50, NULL, 0, 0, &a), QUOTA_OK);
	quota_engine_free(e);
}

static void test_bad_input(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	quota_grant_bucket base = bucket(10, NULL, 0, NULL, 0);
	CHECK_RC(grant(e, "base", &web, GPUS, &base, 1), QUOTA_OK);
	char before[8192], after[8192];
	size_t blen = 0, alen = 0;
	test_snapshot_buckets_claims(e, before, sizeof before, &blen);
	quota_answer a;
	quota_answer_init(&a, sizeof a);

	static const quota_label zone[] = {{"zone", "a"}};
	CHECK_RC(claim(e, "x", &web, GPUS, 1, zone, 1, 0, &a), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("claim.requests[0].dimensions[0].key");
	CHECK_ERR_MENTIONS("zone");
	char long_value[80];
	memset(long_value, 'v', 64);
	long_value[64] = '\0';
	quota_label too_long[] = {{"region", long_value}};
	CHECK_RC(claim(e, "x", &web, GPUS, 1, too_long, 1, 0, &a), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("dimensions[0].value");
	static const quota_label bad_key[] = {{"-region", "us"}};
	CHECK_RC(claim(e, "x", &web, GPUS, 1, bad_key, 1, 0, &a), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("dimensions[0].key");
	static const quota_label twice[] = {{"region", "us"}, {"region", "eu"}};
	CHECK_RC(claim(e, "x", &web, GPUS, 1, twice, 2, 0, &a), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("dimensions[1].key");
	CHECK_RC(claim(e, "x", &web, GPUS, 1, NULL, 1, 0, &a), QUOTA_ERR_INVALID);

	static const char *const vals[] = {"us"};
	quota_selector_requirement x = {"region", 9, 1, vals};
	quota_grant_bucket b = bucket(1, NULL, 0, &x, 1);
	CHECK_RC(grant(e, "bad", &web, GPUS, &b, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("matchExpressions[0].operator");
	x.op = QUOTA_SELECTOR_IN;
	x.value_count = 0;
	CHECK_RC(grant(e, "bad", &web, GPUS, &b, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("matchExpressions[0].values");
	x.op = QUOTA_SELECTOR_NOT_IN;
	CHECK_RC(grant(e, "bad", &web, GPUS, &b, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("values");
	x.op = QUOTA_SELECTOR_EXISTS;
	x.value_count = 1;
	CHECK_RC(grant(e, "bad", &web, GPUS, &b, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("take no values");
	x.key = "zone";
	x.value_count = 0;
	CHECK_RC(grant(e, "bad", &web, GPUS, &b, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("not an allowed dimension");
	quota_label l17[17];
	for (int i = 0; i < 17; i++)
		l17[i] = (quota_label){"region", "us"};
	b = bucket(1, l17, 17, NULL, 0);
	CHECK_RC(grant(e, "bad", &web, GPUS, &b, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("selector");
	b = bucket(1, NULL, 2, NULL, 0);
	CHECK_RC(grant(e, "bad", &web, GPUS, &b, 1), QUOTA_ERR_INVALID);
	test_snapshot_buckets_claims(e, after, sizeof after, &alen);
	CHECK_STR_EQ(after, before);
	quota_grant *g = NULL;
	CHECK_RC(quota_grant_get(e, "acme", "bad", &g), QUOTA_ERR_NOT_FOUND);

	/* More than 16 selector buckets beside one base. */
	char values[17][8];
	quota_label one[17][1];
	quota_grant_bucket many[16];
	for (int i = 0; i < 17; i++) {
		snprintf(values[i], sizeof values[i], "r%d", i);
		one[i][0] = (quota_label){"region", values[i]};
	}
	for (int i = 0; i < 16; i++)
		many[i] = bucket(1, one[i], 1, NULL, 0);
	CHECK_RC(grant(e, "many", &web, GPUS, many, 16), QUOTA_OK);
	quota_grant_bucket extra = bucket(1, one[16], 1, NULL, 0);
	CHECK_RC(grant(e, "extra", &web, GPUS, &extra, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("more than 16 selector buckets");
	CHECK_RC(quota_grant_delete(e, "acme", "many"), QUOTA_OK);

	/* Settlements carry no dimensions. */
	CHECK_RC(claim(e, "ok", &web, GPUS, 1, NULL, 0, 0, &a), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "acme", "ok"), QUOTA_OK);
	quota_request rq;
	quota_request_init(&rq, sizeof rq);
	rq.resource_type = GPUS;
	rq.dimensions = zone;
	rq.dimension_count = 1;
	CHECK_RC(quota_claim_resize(e, "acme", "ok", &rq, 1, NULL), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("only a claim's requests carry dimensions");

	quota_bucket_iter *it = NULL;
	const quota_bucket_info *bi;
	int n = 0;
	CHECK_RC(quota_bucket_iter_new(e, &web, GPUS, &it), QUOTA_OK);
	while (quota_bucket_iter_next(it, &bi) == QUOTA_OK)
		n++;
	quota_bucket_iter_free(it);
	CHECK_EQ_INT(n, 1); /* the sixteen went with their grant */
	CHECK_BUCKET(e, &web, GPUS, 10, 0, 0, 10);
	quota_engine_free(e);
}

int main(void)
{
	RUN(test_selector_buckets);
	RUN(test_operators);
	RUN(test_late_selector);
	RUN(test_hierarchy_and_queue);
	RUN(test_rate_selector);
	RUN(test_bad_input);
	return check_exit();
}
