/*
 * Counters, the audit ring and the Prometheus exposition. With an argument
 * "--dump" it prints an exposition with awkward label values instead, for
 * tests/prometheus-parse.py to read with a real parser.
 * SPDX-License-Identifier: MIT
 */
#include "check.h"

#define VCPUS "compute.example.com/vcpus"
#define GPUS "compute.example.com/gpus"
#define TOKENS "serving.example.com/tokens"

static const quota_ref acme = {NULL, "Organization", NULL, "acme"};

static quota_stats stats_of(quota_engine *e)
{
	quota_stats s;
	quota_stats_init(&s, sizeof s);
	CHECK_RC(quota_stats_get(e, &s), QUOTA_OK);
	return s;
}

static int claim(quota_engine *e, const char *name, const char *type, int64_t amount,
		 uint32_t flags, int acquire)
{
	struct test_claim c;
	test_claim_init(&c, "ns", name, &acme);
	test_claim_add(&c, type, amount);
	c.c.flags = flags;
	c.c.ttl_ms = acquire ? 0 : 10;
	return acquire ? quota_claim_acquire(e, &c.c, NULL) : quota_claim_reserve(e, &c.c, NULL);
}

static quota_engine *setup(struct test_clock *clk)
{
	quota_engine *e = test_engine(clk, 0);
	quota_registration r;
	quota_registration_init(&r, sizeof r);
	r.resource_type = GPUS;
	r.consumer_type.kind = "Organization";
	r.enforcement = QUOTA_WARN;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_RC(test_register(e, VCPUS, NULL, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 10, NULL), QUOTA_OK);
	return e;
}

static void test_counters(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	quota_stats s = stats_of(e);
	CHECK_EQ_INT(s.decisions, 0);

	CHECK_RC(claim(e, "a", VCPUS, 6, 0, 1), QUOTA_OK);          /* allowed */
	CHECK_RC(claim(e, "a", VCPUS, 6, 0, 1), QUOTA_OK);          /* a repeat: not counted */
	CHECK_RC(claim(e, "b", VCPUS, 6, 0, 0), QUOTA_ERR_EXCEEDED); /* denied */
	CHECK_RC(quota_consume(e, &acme, VCPUS, 5, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_consume(e, &acme, GPUS, 1, NULL), QUOTA_OK); /* warned */
	CHECK_RC(claim(e, "q", VCPUS, 6, QUOTA_CLAIM_QUEUE, 0), QUOTA_OK); /* queued */
	CHECK_RC(claim(e, "q2", VCPUS, 1, QUOTA_CLAIM_QUEUE, 0), QUOTA_OK); /* queued */
	CHECK_RC(quota_claim_release(e, "ns", "q2"), QUOTA_OK);           /* dequeued */
	CHECK_RC(quota_claim_release(e, "ns", "a"), QUOTA_OK); /* released; q admitted */
	test_clock_advance_ms(&clk, 11);
	CHECK_RC(quota_engine_tick(e, 0, NULL), QUOTA_OK); /* q's TTL: expired */
	struct test_claim c;
	test_claim_init(&c, "ns", "chk", &acme);
	test_claim_add(&c, VCPUS, 1);
	CHECK_RC(quota_claim_check(e, &c.c, NULL), QUOTA_OK); /* a dry run is a decision */

	s = stats_of(e);
	CHECK_EQ_INT(s.allowed, 3);
	CHECK_EQ_INT(s.denied_exceeded, 2);
	CHECK_EQ_INT(s.warnings, 1);
	CHECK_EQ_INT(s.queued, 2);
	CHECK_EQ_INT(s.decisions, 7);
	CHECK_EQ_INT(s.dequeued, 1);
	CHECK_EQ_INT(s.released, 1);
	CHECK_EQ_INT(s.admitted_from_queue, 1);
	CHECK_EQ_INT(s.expired, 1);
	CHECK_EQ_INT(s.denied_rate_limited, 0);

	quota_stats small = {0};
	CHECK_RC(quota_stats_get(e, &small), QUOTA_ERR_INVALID);
	CHECK_RC(quota_stats_get(NULL, &s), QUOTA_ERR_INVALID);
	quota_engine_free(e);
}

/* Allowances on the hot path (a flat bucket by key or through a handle)
 * are counted in the stripe's own slot when the engine has few stripes,
 * and in the shared slots otherwise; both add up the same. */
static void test_hot_path_counts(void)
{
	static const uint32_t stripes[] = {1, 64, 128};
	for (size_t i = 0; i < sizeof stripes / sizeof stripes[0]; i++) {
		quota_engine_options o;
		quota_engine *e = NULL;
		quota_engine_options_init(&o, sizeof o);
		o.stripes = stripes[i];
		CHECK_RC(quota_engine_new(&e, &o), QUOTA_OK);
		CHECK_RC(test_register(e, VCPUS, NULL, "Organization", 3), QUOTA_OK);
		quota_bucket_handle *h = NULL;
		CHECK_RC(quota_bucket_handle_open(e, &acme, VCPUS, &h), QUOTA_OK);
		for (int k = 0; k < 5; k++) {
			CHECK_RC(quota_consume(e, &acme, VCPUS, 1, NULL), QUOTA_OK);
			CHECK_RC(quota_handle_consume(h, 1, NULL), QUOTA_OK);
			CHECK_RC(quota_handle_give_back(h, 1), QUOTA_OK);
			CHECK_RC(quota_give_back(e, &acme, VCPUS, 1), QUOTA_OK);
		}
		CHECK_RC(quota_consume(e, &acme, VCPUS, 4, NULL), QUOTA_ERR_EXCEEDED);
		quota_stats s = stats_of(e);
		CHECK_EQ_INT(s.allowed, 10);
		CHECK_EQ_INT(s.denied_exceeded, 1);
		CHECK_EQ_INT(s.decisions, 11);
		quota_bucket_handle_close(h);
		quota_engine_free(e);
	}
}

static void test_audit_ring(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	quota_denial **d = NULL;
	size_t n = 99;
	CHECK_RC(quota_audit_list(e, &d, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 0);
	quota_free(d);

	CHECK_RC(claim(e, "big", VCPUS, 11, 0, 0), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_consume(e, &acme, VCPUS, 12, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_audit_list(e, &d, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK_EQ_INT(d[0]->seq, 1);
		CHECK_EQ_INT(d[0]->status, QUOTA_ERR_EXCEEDED);
		CHECK_STR_EQ(d[0]->claim, "ns/big");
		CHECK_STR_EQ(d[0]->bucket, "Organization//acme:" VCPUS);
		CHECK_EQ_INT(d[0]->requested, 11);
		CHECK_EQ_INT(d[0]->available, 10);
		CHECK(strstr(d[0]->message, "requested 11, available 10") != NULL);
		CHECK_EQ_INT(d[0]->time_ns, TEST_EPOCH_NS);
		CHECK_STR_EQ(d[1]->claim, "");
		CHECK_EQ_INT(d[1]->requested, 12);
	}
	quota_free(d);

	/* the ring keeps the newest QUOTA_AUDIT_CAPACITY, oldest first */
	for (int i = 0; i < QUOTA_AUDIT_CAPACITY + 5; i++)
		CHECK_RC(quota_consume(e, &acme, VCPUS, 100 + i, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_audit_list(e, &d, &n), QUOTA_OK);
	CHECK_EQ_INT(n, QUOTA_AUDIT_CAPACITY);
	if (n == QUOTA_AUDIT_CAPACITY) {
		CHECK_EQ_INT(d[0]->seq, 8);
		CHECK_EQ_INT(d[n - 1]->seq, QUOTA_AUDIT_CAPACITY + 7);
		CHECK_EQ_INT(d[n - 1]->requested, 100 + QUOTA_AUDIT_CAPACITY + 4);
	}
	quota_free(d);
	CHECK_RC(quota_audit_list(e, NULL, &n), QUOTA_ERR_INVALID);
	quota_engine_free(e);
}

/* An engine whose names need escaping in label values. */
static quota_engine *awkward(void)
{
	/* A clock that stands still: the rate samples must not refill. */
	static struct test_clock clk;
	quota_engine *e = test_engine(&clk, 0);
	quota_ref odd = {NULL, "Organization", "team \"a\"", "back\\slash"};
	CHECK_RC(test_register(e, VCPUS, NULL, "Organization", 5), QUOTA_OK);
	CHECK_RC(test_register(e, GPUS, NULL, "Organization", -1), QUOTA_OK);
	CHECK_RC(quota_consume(e, &odd, VCPUS, 2, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &odd, GPUS, 7, NULL), QUOTA_OK);
	/* A rate type with a selector bucket: 100/s, and 10/min in eu or us. */
	static const char *const dims[] = {"region"};
	static const char *const regions[] = {"us", "eu"};
	static const quota_selector_requirement in[] = {{"region", QUOTA_SELECTOR_IN, 2, regions}};
	quota_registration r;
	quota_registration_init(&r, sizeof r);
	r.resource_type = TOKENS;
	r.consumer_type.kind = "Organization";
	r.resource_class = QUOTA_RESOURCE_RATE;
	r.allowed_dimensions = dims;
	r.allowed_dimension_count = 1;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	quota_grant_bucket b[2];
	quota_grant_bucket_init(&b[0], sizeof b[0]);
	b[0].amount = 100;
	b[0].period_ms = QUOTA_PERIOD_SECOND;
	quota_grant_bucket_init(&b[1], sizeof b[1]);
	b[1].amount = 10;
	b[1].period_ms = QUOTA_PERIOD_MINUTE;
	b[1].window = QUOTA_WINDOW_CALENDAR;
	b[1].match_expressions = in;
	b[1].match_expression_count = 1;
	quota_allowance a;
	quota_allowance_init(&a, sizeof a);
	a.resource_type = TOKENS;
	a.buckets = b;
	a.bucket_count = 2;
	quota_grant g;
	quota_grant_init(&g, sizeof g);
	g.name = "tokens";
	g.consumer = odd;
	g.allowances = &a;
	g.allowance_count = 1;
	CHECK_RC(quota_grant_apply(e, &g, NULL), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &odd, TOKENS, 30, NULL), QUOTA_OK);
	CHECK_RC(quota_usage_observe(e, &odd, VCPUS, 3), QUOTA_OK);
	CHECK_RC(quota_consume(e, &odd, VCPUS, 9, NULL), QUOTA_ERR_EXCEEDED);
	return e;
}

static void test_ratio_edges(void)
{
	/* limit 0 in Warn mode, observed at INT64_MAX, a warned reservation:
	 * the ratio is +Inf, computed without overflow */
	quota_engine *e = test_engine(NULL, 0);
	quota_registration r;
	quota_registration_init(&r, sizeof r);
	r.resource_type = GPUS;
	r.consumer_type.kind = "Organization";
	r.enforcement = QUOTA_WARN;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_RC(quota_usage_observe(e, &acme, GPUS, INT64_MAX), QUOTA_OK);
	CHECK_RC(claim(e, "w", GPUS, 1, 0, 0), QUOTA_ERR_OVERFLOW);
	CHECK_RC(quota_usage_observe(e, &acme, GPUS, INT64_MAX - 1), QUOTA_OK);
	CHECK_RC(claim(e, "w", GPUS, 1, 0, 0), QUOTA_OK);
	char *text = NULL;
	CHECK_RC(quota_metrics_prometheus(e, &text, NULL), QUOTA_OK);
	CHECK(text && strstr(text, "resource_type=\"" GPUS "\"} +Inf\n") != NULL);
	CHECK(text && strstr(text, "quota_decisions_warned_total 1\n") != NULL);
	quota_free(text);
	quota_engine_free(e);
}

static void test_prometheus_text(void)
{
	quota_engine *e = awkward();
	char *text = NULL;
	size_t len = 0;
	CHECK_RC(quota_metrics_prometheus(e, &text, &len), QUOTA_OK);
	CHECK(text != NULL && strlen(text) == len);
	if (text) {
		const char *labels = "{consumer_kind=\"Organization\",consumer_namespace=\"team "
				     "\\\"a\\\"\",consumer_name=\"back\\\\slash\",resource_type=\"";
		char want[512];
		snprintf(want, sizeof want, "quota_bucket_limit%s" VCPUS "\"} 5\n", labels);
		CHECK(strstr(text, want) != NULL);
		snprintf(want, sizeof want, "quota_bucket_available%s" VCPUS "\"} 2\n", labels);
		CHECK(strstr(text, want) != NULL);
		snprintf(want, sizeof want, "quota_bucket_observed%s" VCPUS "\"} 3\n", labels);
		CHECK(strstr(text, want) != NULL);
		snprintf(want, sizeof want, "quota_bucket_utilization_ratio%s" VCPUS "\"} 0.600000\n",
			 labels);
		CHECK(strstr(text, want) != NULL);
		snprintf(want, sizeof want, "quota_bucket_limit%s" GPUS "\"} -1\n", labels);
		CHECK(strstr(text, want) != NULL);
		/* no utilization for an unlimited bucket */
		snprintf(want, sizeof want, "quota_bucket_utilization_ratio%s" GPUS, labels);
		CHECK(strstr(text, want) == NULL);
		CHECK(strstr(text, "quota_decisions_total{result=\"allowed\"} 3\n") != NULL);
		CHECK(strstr(text, "quota_decisions_total{result=\"denied_exceeded\"} 1\n") != NULL);
		CHECK(strstr(text, "# TYPE quota_bucket_limit gauge\n") != NULL);
		snprintf(want, sizeof want,
			 "quota_rate_remaining%s" TOKENS "\",period_ms=\"1000\",window=\"rolling\"} 70\n",
			 labels);
		CHECK(strstr(text, want) != NULL);
		snprintf(want, sizeof want,
			 "quota_rate_limit%s" TOKENS "\",selector=\"region in (eu,us)\",period_ms="
			 "\"60000\",window=\"calendar\"} 10\n",
			 labels);
		CHECK(strstr(text, want) != NULL);
		snprintf(want, sizeof want,
			 "quota_bucket_limit%s" TOKENS "\",selector=\"region in (eu,us)\"} -1\n",
			 labels);
		CHECK(strstr(text, want) != NULL);
	}
	quota_free(text);
	CHECK_RC(quota_metrics_prometheus(e, NULL, NULL), QUOTA_ERR_INVALID);
	quota_engine_free(e);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--dump") == 0) {
		quota_engine *e = awkward();
		char *text = NULL;
		if (quota_metrics_prometheus(e, &text, NULL) != QUOTA_OK)
			return 1;
		fputs(text, stdout);
		quota_free(text);
		quota_engine_free(e);
		return atomic_load(&check_failures_) ? 1 : 0; /* stdout holds only the text */
	}
	RUN(test_counters);
	RUN(test_hot_path_counts);
	RUN(test_audit_ring);
	RUN(test_prometheus_text);
	RUN(test_ratio_edges);
	return check_exit();
}
