/*
 * Rate limits: rolling (GCRA) and calendar windows, bursts, several periods
 * on one type, violation actions, rate requests inside claims, hierarchy,
 * and bad input. Every test runs on a clock it moves by hand.
 * SPDX-License-Identifier: MIT
 */
#include "check.h"

#define REQUESTS "serving.example.com/requests"
#define TOKENS "serving.example.com/tokens"
#define SLOTS "serving.example.com/concurrent"

static const quota_ref chat = {NULL, "Project", "acme", "chat"};
static const quota_ref embed = {NULL, "Project", "acme", "embed"};
static const quota_ref acme = {NULL, "Organization", NULL, "acme"};

static int register_rate(quota_engine *e, const char *type, const char *kind, int64_t def,
			 int32_t action, int32_t enforcement)
{
	quota_registration r;
	quota_registration_init(&r, sizeof r);
	r.resource_type = type;
	r.consumer_type.kind = kind;
	r.resource_class = QUOTA_RESOURCE_RATE;
	r.default_limit = def;
	r.violation_action = action;
	r.enforcement = enforcement;
	return quota_registration_create(e, &r);
}

/* A limit for grant_rate(): amount per period_ms, burst, window, action. */
struct limit {
	int64_t amount, period_ms, burst;
	int32_t window, action;
};

static int grant_rate(quota_engine *e, const char *name, const quota_ref *consumer,
		      const char *type, const struct limit *l, uint32_t n)
{
	quota_grant_bucket b[8];
	quota_allowance a;
	quota_grant g;
	for (uint32_t i = 0; i < n; i++) {
		quota_grant_bucket_init(&b[i], sizeof b[i]);
		b[i].amount = l[i].amount;
		b[i].period_ms = l[i].period_ms;
		b[i].burst = l[i].burst;
		b[i].window = l[i].window;
		b[i].violation_action = l[i].action;
	}
	quota_allowance_init(&a, sizeof a);
	a.resource_type = type;
	a.buckets = b;
	a.bucket_count = n;
	quota_grant_init(&g, sizeof g);
	g.ns = "acme";
	g.name = name;
	g.consumer = *consumer;
	g.allowances = &a;
	g.allowance_count = 1;
	return quota_grant_apply(e, &g, NULL);
}

static quota_engine *setup(struct test_clock *clk)
{
	quota_engine *e = test_engine(clk, 60000);
	CHECK(e != NULL);
	CHECK_RC(register_rate(e, REQUESTS, "Project", 0, 0, QUOTA_ENFORCE), QUOTA_OK);
	CHECK_RC(register_rate(e, TOKENS, "Project", 0, 0, QUOTA_ENFORCE), QUOTA_OK);
	return e;
}

static quota_stats stats_of(quota_engine *e)
{
	quota_stats s;
	quota_stats_init(&s, sizeof s);
	CHECK_RC(quota_stats_get(e, &s), QUOTA_OK);
	return s;
}

/* What rate limit k of (consumer, type) has left now. */
static int64_t remaining(quota_engine *e, const quota_ref *c, const char *type, uint32_t k)
{
	quota_bucket_info *b = NULL;
	int64_t left = INT64_MIN;
	if (quota_bucket_get(e, c, type, &b) == QUOTA_OK && k < b->rate_count)
		left = b->rates[k]->remaining;
	quota_free(b);
	return left;
}

/* The seed's per-model example: requests 100/s with a burst of 200. */
static void test_burst_and_refill(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	struct limit rps = {100, QUOTA_PERIOD_SECOND, 200, QUOTA_WINDOW_ROLLING, 0};
	CHECK_RC(grant_rate(e, "rps", &chat, REQUESTS, &rps, 1), QUOTA_OK);
	quota_answer a;
	quota_answer_init(&a, sizeof a);

	/* A rested limiter gives its whole burst at once, and no more. */
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 150, &a), QUOTA_OK);
	CHECK_EQ_INT(a.limit, 100);
	CHECK_EQ_INT(a.available, 50);
	CHECK_EQ_INT(a.period_ms, 1000);
	CHECK_EQ_INT(a.reset_after_ms, 1500); /* 150 units at 10 ms each */
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 50, &a), QUOTA_OK);
	CHECK_EQ_INT(a.available, 0);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 1, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK_EQ_INT(a.retry_after_ms, 10);
	CHECK_EQ_INT(a.available, 0);
	CHECK_EQ_INT(a.reset_after_ms, 2000);
	CHECK_STR_EQ(a.bucket, "Project/acme/chat:" REQUESTS);
	CHECK((a.flags & QUOTA_ANSWER_THROTTLED) == 0); /* the default action rejects */
	CHECK_ERR_MENTIONS("retry after 10 ms");

	/* Capacity comes back continuously: one unit per 10 ms. */
	test_clock_advance_ms(&clk, 9);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 1, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK_EQ_INT(a.retry_after_ms, 1);
	test_clock_advance_ms(&clk, 1);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 1, NULL), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 1, NULL), QUOTA_ERR_RATE_LIMITED);
	test_clock_advance_ms(&clk, 500);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 50, NULL), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 1, NULL), QUOTA_ERR_RATE_LIMITED);

	/* A request above the burst can never pass. */
	test_clock_advance_ms(&clk, 10000);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 201, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK_EQ_INT(a.retry_after_ms, -1);
	CHECK_ERR_MENTIONS("more than it ever lets through at once");
	CHECK(strstr(quota_last_error(), "retry after") == NULL);
	CHECK_EQ_INT(remaining(e, &chat, REQUESTS, 0), 200);

	/* Other consumers have limiters of their own. */
	CHECK_RC(quota_rate_take(e, &embed, REQUESTS, 1, NULL), QUOTA_ERR_RATE_LIMITED);
	quota_stats s = stats_of(e);
	CHECK_EQ_INT(s.denied_rate_limited, 6);
	CHECK_EQ_INT(s.throttled, 0);
	quota_engine_free(e);
}

/* The arithmetic is exact: 3 per second with a burst of 3, drained, is
 * whole again exactly one second later (333.33 ms rounded up per unit
 * would not be), and over a long run allows exactly the burst plus 3 per
 * elapsed second. */
static void test_exact_over_time(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	struct limit l = {3, QUOTA_PERIOD_SECOND, 3, QUOTA_WINDOW_ROLLING, 0};
	CHECK_RC(grant_rate(e, "three", &chat, REQUESTS, &l, 1), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 3, NULL), QUOTA_OK);
	test_clock_advance_ms(&clk, 999);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 3, NULL), QUOTA_ERR_RATE_LIMITED);
	test_clock_advance_ms(&clk, 1);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 3, NULL), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 1, NULL), QUOTA_ERR_RATE_LIMITED);
	test_clock_advance_ms(&clk, 10000); /* rested again */
	int64_t allowed = 0;
	for (int64_t ms = 0; ms < 600000; ms++) { /* ten minutes in 1 ms steps */
		if (quota_rate_take(e, &chat, REQUESTS, 1, NULL) == QUOTA_OK)
			allowed++;
		test_clock_advance_ms(&clk, 1);
	}
	/* 3 at once, then one each time 3 * t passes a whole number, up to
	 * t = 599.999 s: 3 + 1799. */
	CHECK_EQ_INT(allowed, 1802);
	quota_engine_free(e);
}

/* Calendar windows are aligned to the period since the Unix epoch (UTC)
 * and come back whole at the boundary. */
static void test_calendar(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	struct limit day = {1000, QUOTA_PERIOD_DAY, 0, QUOTA_WINDOW_CALENDAR, 0};
	CHECK_RC(grant_rate(e, "daily", &chat, TOKENS, &day, 1), QUOTA_OK);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	/* The test epoch is 2023-11-14 22:13:20 UTC: 6400 s before midnight. */
	CHECK_RC(quota_rate_take(e, &chat, TOKENS, 1000, &a), QUOTA_OK);
	CHECK_EQ_INT(a.available, 0);
	CHECK_EQ_INT(a.reset_after_ms, 6400000);
	CHECK_RC(quota_rate_take(e, &chat, TOKENS, 1, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK_EQ_INT(a.retry_after_ms, 6400000);
	test_clock_advance_ms(&clk, 6399999);
	CHECK_RC(quota_rate_take(e, &chat, TOKENS, 1, NULL), QUOTA_ERR_RATE_LIMITED);
	test_clock_advance_ms(&clk, 1); /* midnight */
	CHECK_RC(quota_rate_take(e, &chat, TOKENS, 1000, &a), QUOTA_OK);
	CHECK_EQ_INT(a.reset_after_ms, 86400000);
	CHECK_RC(quota_rate_take(e, &chat, TOKENS, 1001, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK_EQ_INT(a.retry_after_ms, -1);
	quota_engine_free(e);
}

/* Tokens 1000/s (burst 2000), 5000/hour and 8000/day: every one must pass,
 * and a denial by one takes nothing from the others. */
static void test_several_periods(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	struct limit l[3] = {
		{8000, QUOTA_PERIOD_DAY, 0, QUOTA_WINDOW_CALENDAR, 0},
		{1000, QUOTA_PERIOD_SECOND, 2000, QUOTA_WINDOW_ROLLING, 0},
		{5000, QUOTA_PERIOD_HOUR, 0, QUOTA_WINDOW_ROLLING, 0},
	};
	CHECK_RC(grant_rate(e, "tokens", &chat, TOKENS, l, 3), QUOTA_OK);
	quota_bucket_info *b = NULL;
	CHECK_RC(quota_bucket_get(e, &chat, TOKENS, &b), QUOTA_OK);
	CHECK_EQ_INT(b->rate_count, 3); /* sorted by period */
	CHECK_EQ_INT(b->rates[0]->period_ms, QUOTA_PERIOD_SECOND);
	CHECK_EQ_INT(b->rates[0]->burst, 2000);
	CHECK_EQ_INT(b->rates[1]->period_ms, QUOTA_PERIOD_HOUR);
	CHECK_EQ_INT(b->rates[1]->burst, 5000); /* burst 0 means one period's worth */
	CHECK_EQ_INT(b->rates[2]->window, QUOTA_WINDOW_CALENDAR);
	CHECK_EQ_INT(b->limit, QUOTA_UNLIMITED);
	quota_free(b);

	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_rate_take(e, &chat, TOKENS, 2000, &a), QUOTA_OK);
	/* The tightest after the take: the per-second limit, empty. */
	CHECK_EQ_INT(a.period_ms, QUOTA_PERIOD_SECOND);
	CHECK_EQ_INT(a.available, 0);
	test_clock_advance_ms(&clk, 2000);
	CHECK_RC(quota_rate_take(e, &chat, TOKENS, 2000, NULL), QUOTA_OK);
	test_clock_advance_ms(&clk, 2000);
	/* 4000 taken: the hour has 1000 left plus the 5.56 that came back
	 * in 4 s (one unit per 720 ms), the second 2000. */
	CHECK_RC(quota_rate_take(e, &chat, TOKENS, 1500, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK_EQ_INT(a.period_ms, QUOTA_PERIOD_HOUR);
	CHECK_EQ_INT(a.available, 1005);
	/* 500 more units of the hour come back in 500 * 720 ms, less 4 s. */
	CHECK_EQ_INT(a.retry_after_ms, 500 * 720 - 4000);
	CHECK_EQ_INT(remaining(e, &chat, TOKENS, 0), 2000); /* not taken */
	CHECK_EQ_INT(remaining(e, &chat, TOKENS, 2), 4000);
	CHECK_RC(quota_rate_take(e, &chat, TOKENS, 1000, NULL), QUOTA_OK);
	quota_engine_free(e);
}

/* Actions: throttle and queue (for calls that cannot wait) answer with a
 * retry time and count as throttled; warn lets it through. */
static void test_actions(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	struct limit thr = {10, QUOTA_PERIOD_SECOND, 0, QUOTA_WINDOW_ROLLING, QUOTA_ACTION_THROTTLE};
	struct limit warn = {10, QUOTA_PERIOD_SECOND, 0, QUOTA_WINDOW_ROLLING, QUOTA_ACTION_WARN};
	struct limit queue = {10, QUOTA_PERIOD_SECOND, 0, QUOTA_WINDOW_ROLLING, QUOTA_ACTION_QUEUE};
	CHECK_RC(grant_rate(e, "thr", &chat, REQUESTS, &thr, 1), QUOTA_OK);
	CHECK_RC(grant_rate(e, "warn", &embed, REQUESTS, &warn, 1), QUOTA_OK);
	CHECK_RC(grant_rate(e, "queue", &chat, TOKENS, &queue, 1), QUOTA_OK);
	quota_answer a;
	quota_answer_init(&a, sizeof a);

	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 10, NULL), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 2, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK(a.flags & QUOTA_ANSWER_THROTTLED);
	CHECK_EQ_INT(a.retry_after_ms, 200);

	CHECK_RC(quota_rate_take(e, &chat, TOKENS, 10, NULL), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &chat, TOKENS, 1, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK(a.flags & QUOTA_ANSWER_THROTTLED);
	/* Never passing is not throttling: rejected and counted so. */
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 11, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK_EQ_INT(a.retry_after_ms, -1);
	CHECK((a.flags & QUOTA_ANSWER_THROTTLED) == 0);

	CHECK_RC(quota_rate_take(e, &embed, REQUESTS, 10, NULL), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &embed, REQUESTS, 5, &a), QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_WARNED);
	CHECK_EQ_INT(a.limit, 10);
	/* A warned limiter saturates: no debt beyond empty to pay back. */
	test_clock_advance_ms(&clk, 1000);
	CHECK_EQ_INT(remaining(e, &embed, REQUESTS, 0), 10);

	quota_stats s = stats_of(e);
	CHECK_EQ_INT(s.throttled, 2);
	CHECK_EQ_INT(s.denied_rate_limited, 1);
	CHECK_EQ_INT(s.warnings, 1);

	/* The registration's action applies where grant buckets name none;
	 * enforcement Warn turns every action into a warning. */
	quota_registration *r = NULL;
	CHECK_RC(quota_registration_get(e, REQUESTS, &r), QUOTA_OK);
	r->violation_action = QUOTA_ACTION_WARN;
	CHECK_RC(quota_registration_update(e, r), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 10, &a), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 1, &a), QUOTA_ERR_RATE_LIMITED); /* grant says throttle */
	r->violation_action = QUOTA_ACTION_REJECT;
	r->enforcement = QUOTA_WARN;
	CHECK_RC(quota_registration_update(e, r), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 1, &a), QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_WARNED);
	quota_free(r);
	quota_engine_free(e);
}

/* Stock and rate requests in one claim: all or nothing, and a retried
 * claim never takes twice. */
static void test_claims(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	CHECK_RC(test_register(e, SLOTS, NULL, "Project", 0), QUOTA_OK);
	CHECK_RC(test_grant(e, "acme", "slots", &chat, SLOTS, 4, NULL), QUOTA_OK);
	struct limit rps = {5, QUOTA_PERIOD_SECOND, 0, QUOTA_WINDOW_ROLLING, 0};
	struct limit tps = {100, QUOTA_PERIOD_SECOND, 0, QUOTA_WINDOW_ROLLING, 0};
	CHECK_RC(grant_rate(e, "rps", &chat, REQUESTS, &rps, 1), QUOTA_OK);
	CHECK_RC(grant_rate(e, "tps", &chat, TOKENS, &tps, 1), QUOTA_OK);

	struct test_claim t;
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	test_claim_init(&t, "acme", "req-1", &chat);
	test_claim_add(&t, SLOTS, 1);
	test_claim_add(&t, REQUESTS, 1);
	test_claim_add(&t, TOKENS, 60);
	CHECK_RC(quota_claim_acquire(e, &t.c, &a), QUOTA_OK);
	CHECK_RC(quota_claim_acquire(e, &t.c, &a), QUOTA_OK); /* retried: no second take */
	CHECK(a.flags & QUOTA_ANSWER_EXISTED);
	CHECK_EQ_INT(remaining(e, &chat, TOKENS, 0), 40);
	CHECK_EQ_INT(remaining(e, &chat, REQUESTS, 0), 4);

	/* Tokens do not fit: the slot and the request stay untouched. */
	test_claim_init(&t, "acme", "req-2", &chat);
	test_claim_add(&t, SLOTS, 1);
	test_claim_add(&t, REQUESTS, 1);
	test_claim_add(&t, TOKENS, 60);
	CHECK_RC(quota_claim_acquire(e, &t.c, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK_EQ_INT(a.binding_request, 2);
	CHECK_EQ_INT(a.retry_after_ms, 200);
	CHECK_BUCKET(e, &chat, SLOTS, 4, 1, 0, 3);
	CHECK_EQ_INT(remaining(e, &chat, REQUESTS, 0), 4);
	CHECK_RC(test_claim_state(e, "acme", "req-2"), QUOTA_ERR_NOT_FOUND);

	/* The slots do not fit: no token is taken. */
	test_claim_init(&t, "acme", "req-3", &chat);
	test_claim_add(&t, TOKENS, 10);
	test_claim_add(&t, SLOTS, 4);
	CHECK_RC(quota_claim_acquire(e, &t.c, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(remaining(e, &chat, TOKENS, 0), 40);

	/* Released claims give the slot back but not what the rates let by. */
	CHECK_RC(quota_claim_release(e, "acme", "req-1"), QUOTA_OK);
	CHECK_BUCKET(e, &chat, SLOTS, 4, 0, 0, 4);
	CHECK_EQ_INT(remaining(e, &chat, TOKENS, 0), 40);
	quota_engine_free(e);
}

/* With the queue action a claim that a rate holds back waits, and is
 * admitted once the rate lets it by (at the next call or tick). */
static void test_queue_action(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	struct limit l = {10, QUOTA_PERIOD_SECOND, 0, QUOTA_WINDOW_ROLLING, QUOTA_ACTION_QUEUE};
	CHECK_RC(grant_rate(e, "tps", &chat, TOKENS, &l, 1), QUOTA_OK);
	struct test_claim t;
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	test_claim_init(&t, "acme", "first", &chat);
	test_claim_add(&t, TOKENS, 8);
	CHECK_RC(quota_claim_acquire(e, &t.c, &a), QUOTA_OK);
	test_claim_init(&t, "acme", "second", &chat);
	test_claim_add(&t, TOKENS, 8);
	CHECK_RC(quota_claim_acquire(e, &t.c, &a), QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_QUEUED);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_PENDING);
	/* A request above the burst is denied, not queued forever. */
	test_claim_init(&t, "acme", "huge", &chat);
	test_claim_add(&t, TOKENS, 11);
	CHECK_RC(quota_claim_acquire(e, &t.c, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK_EQ_INT(a.retry_after_ms, -1);

	test_clock_advance_ms(&clk, 500);
	CHECK_RC(quota_engine_tick(e, 0, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "acme", "second"), QUOTA_CLAIM_PENDING);
	test_clock_advance_ms(&clk, 100); /* 2 left + 6 back = 8 */
	CHECK_RC(quota_engine_tick(e, 0, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "acme", "second"), QUOTA_CLAIM_GRANTED);
	CHECK_EQ_INT(remaining(e, &chat, TOKENS, 0), 0);
	quota_stats s = stats_of(e);
	CHECK_EQ_INT(s.queued, 1);
	CHECK_EQ_INT(s.admitted_from_queue, 1);
	quota_engine_free(e);
}

/* A limit at a level above caps the sum over the consumers below it. */
static void test_hierarchy(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	CHECK_RC(quota_consumer_set_parent(e, &chat, &acme), QUOTA_OK);
	CHECK_RC(quota_consumer_set_parent(e, &embed, &acme), QUOTA_OK);
	struct limit own = {100, QUOTA_PERIOD_SECOND, 0, QUOTA_WINDOW_ROLLING, 0};
	struct limit org = {30, QUOTA_PERIOD_SECOND, 0, QUOTA_WINDOW_ROLLING, 0};
	CHECK_RC(grant_rate(e, "chat", &chat, REQUESTS, &own, 1), QUOTA_OK);
	CHECK_RC(grant_rate(e, "embed", &embed, REQUESTS, &own, 1), QUOTA_OK);
	CHECK_RC(grant_rate(e, "org", &acme, REQUESTS, &org, 1), QUOTA_OK);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 20, NULL), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &embed, REQUESTS, 20, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK_STR_EQ(a.bucket, "Organization//acme:" REQUESTS);
	CHECK_EQ_INT(remaining(e, &embed, REQUESTS, 0), 100); /* all or nothing */
	CHECK_RC(quota_rate_take(e, &embed, REQUESTS, 10, NULL), QUOTA_OK);
	CHECK_EQ_INT(remaining(e, &acme, REQUESTS, 0), 0);
	quota_engine_free(e);
}

/* Grant changes keep what was taken in the current period; unlimited and
 * default limits. */
static void test_grant_changes_and_defaults(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	/* Default 0: nothing without a grant, and never. */
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 1, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK_EQ_INT(a.retry_after_ms, -1);
	CHECK_ERR_MENTIONS("no rate granted");

	struct limit l = {100, QUOTA_PERIOD_SECOND, 200, QUOTA_WINDOW_ROLLING, 0};
	CHECK_RC(grant_rate(e, "rps", &chat, REQUESTS, &l, 1), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 150, NULL), QUOTA_OK);
	l.amount = 200;
	l.burst = 400;
	CHECK_RC(grant_rate(e, "rps", &chat, REQUESTS, &l, 1), QUOTA_OK);
	CHECK_EQ_INT(remaining(e, &chat, REQUESTS, 0), 250);
	/* A second grant for the same period adds up. */
	CHECK_RC(grant_rate(e, "more", &chat, REQUESTS, &l, 1), QUOTA_OK);
	CHECK_EQ_INT(remaining(e, &chat, REQUESTS, 0), 650);
	CHECK_RC(quota_grant_delete(e, "acme", "more"), QUOTA_OK);
	CHECK_EQ_INT(remaining(e, &chat, REQUESTS, 0), 250);
	/* -1 per period is no limit for that period. */
	l.amount = QUOTA_UNLIMITED;
	CHECK_RC(grant_rate(e, "more", &chat, REQUESTS, &l, 1), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, INT64_MAX / 2, &a), QUOTA_OK);
	CHECK_RC(quota_grant_delete(e, "acme", "more"), QUOTA_OK);
	CHECK_RC(quota_grant_delete(e, "acme", "rps"), QUOTA_OK);
	/* Default -1: no limit without a grant. */
	quota_registration *r = NULL;
	CHECK_RC(quota_registration_get(e, REQUESTS, &r), QUOTA_OK);
	r->default_limit = QUOTA_UNLIMITED;
	CHECK_RC(quota_registration_update(e, r), QUOTA_OK);
	quota_free(r);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 1000000, NULL), QUOTA_OK);
	quota_engine_free(e);
}

/* Actions on stock types: queue makes a claim wait without the flag, warn
 * lets it through; grant buckets override the registration. */
static void test_stock_actions(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	quota_registration r;
	quota_registration_init(&r, sizeof r);
	r.resource_type = SLOTS;
	r.consumer_type.kind = "Project";
	r.violation_action = QUOTA_ACTION_QUEUE;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_RC(test_grant(e, "acme", "slots", &chat, SLOTS, 2, NULL), QUOTA_OK);
	struct test_claim t;
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	test_claim_init(&t, "acme", "one", &chat);
	test_claim_add(&t, SLOTS, 2);
	CHECK_RC(quota_claim_acquire(e, &t.c, &a), QUOTA_OK);
	test_claim_init(&t, "acme", "two", &chat);
	test_claim_add(&t, SLOTS, 1);
	CHECK_RC(quota_claim_reserve(e, &t.c, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_PENDING);
	CHECK_RC(quota_claim_check(e, &t.c, &a), QUOTA_ERR_EXCEEDED); /* a dry run never queues */
	/* Anonymous use cannot wait: denied. */
	CHECK_RC(quota_consume(e, &chat, SLOTS, 1, &a), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_claim_release(e, "acme", "one"), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "acme", "two"), QUOTA_CLAIM_RESERVED);

	/* A grant bucket naming WARN overrides the registration's QUEUE. */
	quota_grant_bucket gb;
	quota_allowance al;
	quota_grant g;
	quota_grant_bucket_init(&gb, sizeof gb);
	gb.amount = 1;
	gb.violation_action = QUOTA_ACTION_WARN;
	quota_allowance_init(&al, sizeof al);
	al.resource_type = SLOTS;
	al.buckets = &gb;
	al.bucket_count = 1;
	quota_grant_init(&g, sizeof g);
	g.ns = "acme";
	g.name = "slots";
	g.consumer = chat;
	g.allowances = &al;
	g.allowance_count = 1;
	CHECK_RC(quota_grant_apply(e, &g, NULL), QUOTA_OK);
	test_claim_init(&t, "acme", "three", &chat);
	test_claim_add(&t, SLOTS, 5);
	CHECK_RC(quota_claim_acquire(e, &t.c, &a), QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_WARNED);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_GRANTED);
	CHECK_BUCKET(e, &chat, SLOTS, 1, 5, 1, 0);
	quota_engine_free(e);
}

/* The seed's per-model examples, each a Model consumer with a requests
 * and a tokens type; hours and days are calendar windows. */
static void model(quota_engine *e, const char *name, const struct limit *req, uint32_t nreq,
		  const struct limit *tok, uint32_t ntok)
{
	quota_ref m = {NULL, "Model", NULL, name};
	char g[64];
	snprintf(g, sizeof g, "%s-requests", name);
	CHECK_RC(grant_rate(e, g, &m, "ai.example.com/requests", req, nreq), QUOTA_OK);
	snprintf(g, sizeof g, "%s-tokens", name);
	if (ntok)
		CHECK_RC(grant_rate(e, g, &m, "ai.example.com/tokens", tok, ntok), QUOTA_OK);
}

static void test_seed_models(void)
{
	struct test_clock clk;
	quota_engine *e = test_engine(&clk, 60000);
	CHECK_RC(register_rate(e, "ai.example.com/requests", "Model", 0, 0, QUOTA_ENFORCE), QUOTA_OK);
	CHECK_RC(register_rate(e, "ai.example.com/tokens", "Model", 0, 0, QUOTA_ENFORCE), QUOTA_OK);
	/* Start on the hour: 2800 s after the test epoch (22:13:20 UTC). */
	test_clock_advance_ms(&clk, 2800000);
	enum { R = QUOTA_WINDOW_ROLLING, C = QUOTA_WINDOW_CALENDAR };
	enum { REJ = QUOTA_ACTION_REJECT, THR = QUOTA_ACTION_THROTTLE, WRN = QUOTA_ACTION_WARN,
	       QUE = QUOTA_ACTION_QUEUE };
	const int64_t S = QUOTA_PERIOD_SECOND, H = QUOTA_PERIOD_HOUR, D = QUOTA_PERIOD_DAY;
	struct limit small_r = {50, S, 0, R, THR}, small_t = {500, S, 0, R, THR};
	model(e, "llama-3.2-1b", &small_r, 1, &small_t, 1);
	struct limit prod_r = {100, S, 500, R, QUE};
	struct limit prod_t[3] = {{2000, S, 50000, R, QUE}, {5000000, H, 0, C, QUE},
				  {50000000, D, 0, C, QUE}};
	model(e, "production-llama-70b", &prod_r, 1, prod_t, 3);
	struct limit dev_r = {10, S, 0, R, REJ};
	struct limit dev_t[3] = {{100, S, 0, R, REJ}, {100000, H, 0, C, REJ}, {1000000, D, 0, C, REJ}};
	model(e, "dev-qwen-0.5b", &dev_r, 1, dev_t, 3);
	struct limit exp_r = {5, S, 0, R, WRN};
	model(e, "experimental-model", &exp_r, 1, NULL, 0);

	quota_answer a;
	quota_answer_init(&a, sizeof a);
	quota_ref small = {NULL, "Model", NULL, "llama-3.2-1b"};
	for (int i = 0; i < 50; i++)
		CHECK_RC(quota_rate_take(e, &small, "ai.example.com/requests", 1, NULL), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &small, "ai.example.com/requests", 1, &a), QUOTA_ERR_RATE_LIMITED);
	CHECK(a.flags & QUOTA_ANSWER_THROTTLED);
	CHECK_EQ_INT(a.retry_after_ms, 20); /* one request per 20 ms */

	quota_ref exp = {NULL, "Model", NULL, "experimental-model"};
	for (int i = 0; i < 5; i++)
		CHECK_RC(quota_rate_take(e, &exp, "ai.example.com/requests", 1, NULL), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &exp, "ai.example.com/requests", 1, &a), QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_WARNED);

	/* dev: 100 tokens a second, every second from the top of the hour:
	 * the hour's 100,000 run out after 1000 s, until the next hour. */
	quota_ref dev = {NULL, "Model", NULL, "dev-qwen-0.5b"};
	int seconds = 0;
	while (quota_rate_take(e, &dev, "ai.example.com/tokens", 100, &a) == QUOTA_OK &&
	       seconds < 5000) {
		seconds++;
		test_clock_advance_ms(&clk, 1000);
	}
	CHECK_EQ_INT(seconds, 1000);
	CHECK_EQ_INT(a.period_ms, H);
	CHECK_EQ_INT(a.retry_after_ms, 2600 * 1000);
	CHECK((a.flags & QUOTA_ANSWER_THROTTLED) == 0);

	/* production: 500 requests of 100 tokens at once (both bursts), the
	 * next one waits in the queue and goes when a request (10 ms) and 100
	 * tokens (50 ms) are back. */
	quota_ref prod = {NULL, "Model", NULL, "production-llama-70b"};
	struct test_claim t;
	char name[32];
	for (int i = 0; i <= 500; i++) {
		snprintf(name, sizeof name, "req-%d", i);
		test_claim_init(&t, NULL, name, &prod);
		test_claim_add(&t, "ai.example.com/requests", 1);
		test_claim_add(&t, "ai.example.com/tokens", 100);
		CHECK_RC(quota_claim_acquire(e, &t.c, &a), QUOTA_OK);
		CHECK_EQ_INT(a.state, i < 500 ? QUOTA_CLAIM_GRANTED : QUOTA_CLAIM_PENDING);
	}
	CHECK_EQ_INT(a.binding_request, 0);
	test_clock_advance_ms(&clk, 49);
	CHECK_RC(quota_engine_tick(e, 0, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, NULL, "req-500"), QUOTA_CLAIM_PENDING);
	test_clock_advance_ms(&clk, 1);
	CHECK_RC(quota_engine_tick(e, 0, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, NULL, "req-500"), QUOTA_CLAIM_GRANTED);
	quota_stats st = stats_of(e);
	CHECK_EQ_INT(st.throttled, 1);
	CHECK_EQ_INT(st.denied_rate_limited, 1);
	CHECK_EQ_INT(st.warnings, 1);
	CHECK_EQ_INT(st.queued, 1);
	quota_engine_free(e);
}

static void test_bad_input(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	CHECK_RC(test_register(e, SLOTS, NULL, "Project", 0), QUOTA_OK);
	struct limit ok = {10, QUOTA_PERIOD_SECOND, 0, QUOTA_WINDOW_ROLLING, 0};
	CHECK_RC(grant_rate(e, "rps", &chat, REQUESTS, &ok, 1), QUOTA_OK);
	char before[8192], after[8192];
	size_t blen = 0, alen = 0;
	test_snapshot_buckets_claims(e, before, sizeof before, &blen);

	struct limit l = ok;
	l.period_ms = 0;
	CHECK_RC(grant_rate(e, "rps", &chat, REQUESTS, &l, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("buckets[0].period_ms");
	l.period_ms = QUOTA_PERIOD_MAX + 1;
	CHECK_RC(grant_rate(e, "rps", &chat, REQUESTS, &l, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("period_ms");
	l = ok;
	l.burst = -1;
	CHECK_RC(grant_rate(e, "rps", &chat, REQUESTS, &l, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("burst");
	l = ok;
	l.window = QUOTA_WINDOW_CALENDAR;
	l.burst = 20;
	CHECK_RC(grant_rate(e, "rps", &chat, REQUESTS, &l, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("burst");
	l = ok;
	l.window = 7;
	CHECK_RC(grant_rate(e, "rps", &chat, REQUESTS, &l, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("window");
	l = ok;
	l.action = 9;
	CHECK_RC(grant_rate(e, "rps", &chat, REQUESTS, &l, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("violation_action");
	/* Rate fields on a stock type. */
	CHECK_RC(grant_rate(e, "rps", &chat, SLOTS, &ok, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("period_ms");
	l = ok;
	l.period_ms = 0;
	l.action = QUOTA_ACTION_THROTTLE;
	CHECK_RC(grant_rate(e, "rps", &chat, SLOTS, &l, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("violation_action");
	/* Sums that overflow. */
	struct limit two[2] = {ok, ok};
	two[0].amount = two[1].amount = INT64_MAX / 2 + 1;
	CHECK_RC(grant_rate(e, "rps", &chat, REQUESTS, two, 2), QUOTA_ERR_OVERFLOW);
	two[0].amount = two[1].amount = 1;
	two[0].burst = two[1].burst = INT64_MAX;
	CHECK_RC(grant_rate(e, "rps", &chat, REQUESTS, two, 2), QUOTA_ERR_OVERFLOW);
	CHECK_ERR_MENTIONS("per 1000 ms");
	/* Registrations. */
	CHECK_RC(register_rate(e, "x.example.com/r", "Project", 5, 0, QUOTA_ENFORCE),
		 QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("defaultLimit");
	CHECK_RC(register_rate(e, "x.example.com/r", "Project", 0, 5, QUOTA_ENFORCE),
		 QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("violationAction");
	quota_registration r;
	quota_registration_init(&r, sizeof r);
	r.resource_type = "x.example.com/s";
	r.consumer_type.kind = "Project";
	r.violation_action = QUOTA_ACTION_THROTTLE;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("violationAction");
	r.violation_action = 0;
	r.reserved_flags = 1;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("reserved_flags");

	/* Takes. */
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, 0, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_rate_take(e, &chat, REQUESTS, -3, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_rate_take(e, &chat, SLOTS, 1, NULL), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("not a Rate type");
	CHECK_RC(quota_rate_take(e, &chat, "nope.example.com/x", 1, NULL), QUOTA_ERR_UNREGISTERED);
	CHECK_RC(quota_rate_take(e, &acme, REQUESTS, 1, NULL), QUOTA_ERR_NOT_ALLOWED);
	CHECK_RC(quota_give_back(e, &chat, REQUESTS, 1), QUOTA_ERR_INVALID);
	test_snapshot_buckets_claims(e, after, sizeof after, &alen);
	CHECK_STR_EQ(after, before);
	CHECK_EQ_INT(remaining(e, &chat, REQUESTS, 0), 10);
	quota_engine_free(e);
}

/* An unlimited grant bucket does not hide the sum of the finite ones of
 * its limiter: were it deleted, they would have to fit, so a grant that
 * breaks that is refused and every delete succeeds. */
static void test_unlimited_hides_no_overflow(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk);
	if (!e)
		return;
	struct limit big = {INT64_MAX / 2 + 1, 1000, 0, QUOTA_WINDOW_ROLLING, 0};
	struct limit unl = {-1, 1000, 0, QUOTA_WINDOW_ROLLING, 0};
	CHECK_RC(grant_rate(e, "big", &embed, REQUESTS, &big, 1), QUOTA_OK);
	CHECK_RC(grant_rate(e, "unl", &embed, REQUESTS, &unl, 1), QUOTA_OK);
	CHECK_EQ_INT(remaining(e, &embed, REQUESTS, 0), -1);
	CHECK_RC(grant_rate(e, "big2", &embed, REQUESTS, &big, 1), QUOTA_ERR_OVERFLOW);
	CHECK_ERR_MENTIONS("grant big2");
	/* bursts alike: big's burst is its amount */
	struct limit bursty = {1, 1000, INT64_MAX / 2 + 1, QUOTA_WINDOW_ROLLING, 0};
	CHECK_RC(grant_rate(e, "big2", &embed, REQUESTS, &bursty, 1), QUOTA_ERR_OVERFLOW);
	/* another period is another limiter */
	bursty.period_ms = 60000;
	CHECK_RC(grant_rate(e, "big2", &embed, REQUESTS, &bursty, 1), QUOTA_OK);
	CHECK_RC(quota_grant_delete(e, "acme", "unl"), QUOTA_OK);
	CHECK_EQ_INT(remaining(e, &embed, REQUESTS, 0), INT64_MAX / 2 + 1);
	quota_engine_free(e);
}

int main(void)
{
	RUN(test_burst_and_refill);
	RUN(test_exact_over_time);
	RUN(test_calendar);
	RUN(test_several_periods);
	RUN(test_actions);
	RUN(test_claims);
	RUN(test_queue_action);
	RUN(test_hierarchy);
	RUN(test_grant_changes_and_defaults);
	RUN(test_stock_actions);
	RUN(test_seed_models);
	RUN(test_bad_input);
	RUN(test_unlimited_hides_no_overflow);
	return check_exit();
}
