/*
 * common.h: status names, thread-local error details, version and features,
 * the allocator hook (also as a fault-injection seam), quota_free and the
 * _init functions of every public struct.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>

#include <quota/quota.h>

#include "alloc-hook.h"
#include "check.h"
#include "quota_config.h"

/* ---- status names ------------------------------------------------------ */

static const int all_codes[] = {
	QUOTA_OK,
	QUOTA_ERR_INVALID,
	QUOTA_ERR_NOMEM,
	QUOTA_ERR_NOT_FOUND,
	QUOTA_ERR_EXISTS,
	QUOTA_ERR_CONFLICT,
	QUOTA_ERR_EXCEEDED,
	QUOTA_ERR_UNREGISTERED,
	QUOTA_ERR_NOT_ALLOWED,
	QUOTA_ERR_RATE_LIMITED,
	QUOTA_ERR_IN_USE,
	QUOTA_ERR_WRONG_STATE,
	QUOTA_ERR_PARSE,
	QUOTA_ERR_EVAL,
	QUOTA_ERR_IO,
	QUOTA_ERR_CORRUPT,
	QUOTA_ERR_UNSUPPORTED,
	QUOTA_ERR_OVERFLOW,
	QUOTA_ERR_INTERNAL,
	QUOTA_ITER_DONE,
};
#define N_CODES (sizeof all_codes / sizeof all_codes[0])

static void test_codes_are_stable(void)
{
	/* The values are ABI: they must never be renumbered. */
	CHECK_EQ_INT(QUOTA_OK, 0);
	CHECK_EQ_INT(QUOTA_ERR_INVALID, -1);
	CHECK_EQ_INT(QUOTA_ERR_NOMEM, -2);
	CHECK_EQ_INT(QUOTA_ERR_NOT_FOUND, -3);
	CHECK_EQ_INT(QUOTA_ERR_EXISTS, -4);
	CHECK_EQ_INT(QUOTA_ERR_CONFLICT, -5);
	CHECK_EQ_INT(QUOTA_ERR_EXCEEDED, -6);
	CHECK_EQ_INT(QUOTA_ERR_UNREGISTERED, -7);
	CHECK_EQ_INT(QUOTA_ERR_NOT_ALLOWED, -8);
	CHECK_EQ_INT(QUOTA_ERR_RATE_LIMITED, -9);
	CHECK_EQ_INT(QUOTA_ERR_IN_USE, -10);
	CHECK_EQ_INT(QUOTA_ERR_WRONG_STATE, -11);
	CHECK_EQ_INT(QUOTA_ERR_PARSE, -12);
	CHECK_EQ_INT(QUOTA_ERR_EVAL, -13);
	CHECK_EQ_INT(QUOTA_ERR_IO, -14);
	CHECK_EQ_INT(QUOTA_ERR_CORRUPT, -15);
	CHECK_EQ_INT(QUOTA_ERR_UNSUPPORTED, -16);
	CHECK_EQ_INT(QUOTA_ERR_OVERFLOW, -17);
	CHECK_EQ_INT(QUOTA_ERR_INTERNAL, -18);
	CHECK_EQ_INT(QUOTA_ITER_DONE, 1);
}

static void test_strerror(void)
{
	const char *unknown = quota_strerror(-1000);
	CHECK(unknown != NULL);
	CHECK_STR_EQ(unknown, "unknown status");

	for (size_t i = 0; i < N_CODES; i++) {
		const char *s = quota_strerror(all_codes[i]);
		CHECK(s != NULL);
		if (!s)
			continue;
		CHECK(s[0] != '\0');
		if (strcmp(s, "unknown status") == 0)
			check_fail_(__FILE__, __LINE__, "code %d is named \"unknown status\"",
				    all_codes[i]);
		/* stable: the same string on every call */
		CHECK_STR_EQ(quota_strerror(all_codes[i]), s);
		for (size_t j = 0; j < i; j++) {
			const char *t = quota_strerror(all_codes[j]);
			if (t && strcmp(s, t) == 0)
				check_fail_(__FILE__, __LINE__,
					    "codes %d and %d share the name \"%s\"", all_codes[i],
					    all_codes[j], s);
		}
	}

	const int unknown_codes[] = {-19, -100, 2, 3, 100, INT32_MIN, INT32_MAX};
	for (size_t i = 0; i < sizeof unknown_codes / sizeof unknown_codes[0]; i++) {
		const char *s = quota_strerror(unknown_codes[i]);
		CHECK(s != NULL);
		CHECK_STR_EQ(s, "unknown status");
	}
}

/* ---- thread-local last error ------------------------------------------- */

struct tls_shared {
	quota_engine *e;
	pthread_barrier_t main_failed;  /* main has raised its error */
	pthread_barrier_t other_failed; /* the thread has raised its own */
	pthread_barrier_t main_checked; /* main has looked, the thread may exit */
	char initial[256];
	int initial_was_null;
	char own[256];
};

static void *tls_thread(void *arg)
{
	struct tls_shared *s = arg;
	quota_registration *r = NULL;

	pthread_barrier_wait(&s->main_failed);
	/* main has failed a call already; this thread has not */
	const char *msg = quota_last_error();
	s->initial_was_null = msg == NULL;
	snprintf(s->initial, sizeof s->initial, "%s", msg ? msg : "");

	int rc = quota_registration_get(s->e, "other.example.com/missing", &r);
	CHECK_RC(rc, QUOTA_ERR_NOT_FOUND);
	msg = quota_last_error();
	snprintf(s->own, sizeof s->own, "%s", msg ? msg : "");
	pthread_barrier_wait(&s->other_failed);
	pthread_barrier_wait(&s->main_checked);
	return NULL;
}

static void test_last_error_thread_local(void)
{
	struct tls_shared s;
	pthread_t t;
	quota_registration *r = NULL;
	char mine[256];

	memset(&s, 0, sizeof s);
	s.e = test_engine(NULL, 60000);
	CHECK(s.e != NULL);
	if (!s.e)
		return;
	CHECK(quota_last_error() != NULL);
	pthread_barrier_init(&s.main_failed, NULL, 2);
	pthread_barrier_init(&s.other_failed, NULL, 2);
	pthread_barrier_init(&s.main_checked, NULL, 2);
	CHECK_EQ_INT(pthread_create(&t, NULL, tls_thread, &s), 0);

	CHECK_RC(quota_registration_get(s.e, "main.example.com/absent", &r), QUOTA_ERR_NOT_FOUND);
	snprintf(mine, sizeof mine, "%s", quota_last_error());
	CHECK(strstr(mine, "main.example.com/absent") != NULL);
	pthread_barrier_wait(&s.main_failed);
	pthread_barrier_wait(&s.other_failed);

	/* the other thread's failure did not touch this thread's detail */
	CHECK_STR_EQ(quota_last_error(), mine);
	CHECK(strstr(quota_last_error(), "other.example.com") == NULL);
	pthread_barrier_wait(&s.main_checked);
	pthread_join(t, NULL);

	/* a new thread starts with "", not with main's message */
	CHECK(!s.initial_was_null);
	CHECK_STR_EQ(s.initial, "");
	CHECK(strstr(s.own, "other.example.com/missing") != NULL);

	/* a successful call does not clear the detail */
	int64_t now = 0;
	CHECK_RC(quota_engine_now(s.e, &now), QUOTA_OK);
	CHECK_STR_EQ(quota_last_error(), mine);

	pthread_barrier_destroy(&s.main_failed);
	pthread_barrier_destroy(&s.other_failed);
	pthread_barrier_destroy(&s.main_checked);
	quota_engine_free(s.e);
}

/* ---- version and features ---------------------------------------------- */

static void test_version(void)
{
	char want[64];
	uint32_t v = quota_version();
	CHECK_EQ_INT(v, ((uint32_t)QUOTA_VERSION_MAJOR << 16) | ((uint32_t)QUOTA_VERSION_MINOR << 8) |
				QUOTA_VERSION_PATCH);
	CHECK_EQ_INT(v >> 16, QUOTA_VERSION_MAJOR);
	CHECK_EQ_INT((v >> 8) & 0xff, QUOTA_VERSION_MINOR);
	CHECK_EQ_INT(v & 0xff, QUOTA_VERSION_PATCH);

	const char *s = quota_version_string();
	CHECK(s != NULL);
	snprintf(want, sizeof want, "%d.%d.%d", QUOTA_VERSION_MAJOR, QUOTA_VERSION_MINOR,
		 QUOTA_VERSION_PATCH);
	CHECK_STR_EQ(s, want);

	uint64_t f = quota_features();
	CHECK(f & QUOTA_FEATURE_THREADS);
	CHECK_EQ_INT(f & ~(uint64_t)(QUOTA_FEATURE_JSON | QUOTA_FEATURE_THREADS), 0);
	CHECK_EQ_INT(!!(f & QUOTA_FEATURE_JSON), !!QUOTA_HAVE_CJSON);
	CHECK_EQ_INT(quota_features(), f);
}

/* ---- allocator hook ---------------------------------------------------- */

/* Everything that the fault-injection loop may change, as one string. */
static void snapshot(quota_engine *e, char *buf, size_t cap)
{
	size_t n = 0;
	quota_registration **regs = NULL;
	quota_grant **grants = NULL;
	size_t count = 0;
	buf[0] = '\0';
#define APPEND(...)                                                                          \
	do {                                                                                 \
		if (n < cap)                                                                 \
			n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__);                \
	} while (0)
	if (quota_registration_list(e, &regs, &count) == QUOTA_OK) {
		for (size_t i = 0; i < count; i++)
			APPEND("reg %s gen %" PRId64 " dl %" PRId64 "; ", regs[i]->resource_type,
			       regs[i]->generation, regs[i]->default_limit);
		quota_free(regs);
	} else {
		APPEND("reg list failed; ");
	}
	if (quota_grant_list(e, NULL, &grants, &count) == QUOTA_OK) {
		for (size_t i = 0; i < count; i++)
			APPEND("grant %s gen %" PRId64 "; ", grants[i]->name, grants[i]->generation);
		quota_free(grants);
	} else {
		APPEND("grant list failed; ");
	}
	static const quota_ref fault_project = {.kind = "Project", .ns = "acme", .name = "p1"};
	quota_ref *parent = NULL;
	if (quota_consumer_get_parent(e, &fault_project, &parent) == QUOTA_OK)
		APPEND("parent %s; ", parent ? parent->name : "-");
	quota_free(parent);
	test_snapshot_buckets_claims(e, buf, cap, &n);
#undef APPEND
}

/*
 * Make allocation k fail for k = 0, 1, ... in two modes: allocation k and
 * every one after it fail, until op succeeds; then only allocation k
 * fails, until a run no longer reaches it. Every failure must be
 * QUOTA_ERR_NOMEM and leave the engine as it was. A run that succeeds in
 * spite of its failed allocation has made its change, and the later runs
 * start from there.
 */
static void fault_loop(const char *what, quota_engine *e, struct counting *c,
		       int (*op)(quota_engine *e))
{
	static char before[8192], after[8192];
	for (int once = 0; once < 2; once++) {
		int nomem = 0, done = 0;
		c->fail_once = once;
		for (long k = 0; k < 2000 && !done; k++) {
			snapshot(e, before, sizeof before);
			atomic_store(&c->fail_after, k);
			int rc = op(e);
			long failures = atomic_load(&c->failures);
			atomic_store(&c->fail_after, -1);
			atomic_store(&c->failures, 0);
			done = once ? failures == 0 : rc == QUOTA_OK;
			if (rc == QUOTA_OK)
				continue;
			if (rc != QUOTA_ERR_NOMEM) {
				check_fail_(__FILE__, __LINE__,
					    "%s with allocation %ld failing%s: %s (%s)", what, k,
					    once ? " once" : "", quota_strerror(rc), quota_last_error());
				break;
			}
			CHECK(failures > 0);
			nomem++;
			snapshot(e, after, sizeof after);
			if (strcmp(before, after) != 0)
				check_fail_(__FILE__, __LINE__,
					    "%s failed with NOMEM at allocation %ld%s but changed the "
					    "engine:\n  before: %s\n  after:  %s",
					    what, k, once ? " (once)" : "", before, after);
		}
		if (!done)
			check_fail_(__FILE__, __LINE__, "%s never succeeded", what);
		else if (nomem == 0 && !once)
			check_fail_(__FILE__, __LINE__, "%s allocated nothing through the hook",
				    what);
	}
	c->fail_once = 0;
}

static const quota_ref fault_org = {.kind = "Organization", .name = "acme"};
static const quota_ref fault_project = {.kind = "Project", .ns = "acme", .name = "p1"};
static const quota_ref fault_watched = {.kind = "Organization", .name = "watched"};

static int op_set_parent(quota_engine *e)
{
	return quota_consumer_set_parent(e, &fault_project, &fault_org);
}

/* A claim charged at two levels: the organization's bucket is new. */
static int op_acquire_tree(quota_engine *e)
{
	struct test_claim t;
	test_claim_init(&t, "ns", "fault-tree", &fault_project);
	test_claim_add(&t, "fault.example.com/pcpus", 2);
	return quota_claim_acquire(e, &t.c, NULL);
}

/* A claim that does not fit and joins the queue. */
static int op_queue(quota_engine *e)
{
	struct test_claim t;
	test_claim_init(&t, "ns", "fault-queued", &fault_org);
	test_claim_add(&t, "fault.example.com/cpus", 12); /* under the limit, over what is free */
	t.c.flags = QUOTA_CLAIM_QUEUE;
	return quota_claim_reserve(e, &t.c, NULL);
}

static int op_observe(quota_engine *e)
{
	return quota_usage_observe(e, &fault_watched, "fault.example.com/open", 3);
}

/* Observed usage of a bucket that exists without any. */
static int op_observe_existing(quota_engine *e)
{
	static const quota_ref other = {.kind = "Organization", .name = "other"};
	return quota_usage_observe(e, &other, "fault.example.com/open", 4);
}

static int op_metrics(quota_engine *e)
{
	char *text = NULL;
	int rc = quota_metrics_prometheus(e, &text, NULL);
	quota_free(text);
	return rc;
}

static void ignore_event(const quota_event *ev, void *payload)
{
	(void)ev;
	(void)payload;
}

/* With an event callback, each transition allocates its event first. */
static int op_commit_with_events(quota_engine *e)
{
	return quota_claim_commit(e, "ns", "fault-claim", NULL, 0);
}

static int op_release_with_events(quota_engine *e)
{
	return quota_claim_release(e, "ns", "fault-claim");
}

static int op_audit(quota_engine *e)
{
	quota_denial **d = NULL;
	size_t n;
	int rc = quota_audit_list(e, &d, &n);
	quota_free(d);
	return rc;
}

static int op_register(quota_engine *e)
{
	quota_registration r;
	static const char *const dims[] = {"region", "tier"};
	quota_registration_init(&r, sizeof r);
	r.resource_type = "fault.example.com/cpus";
	r.consumer_type.kind = "Organization";
	r.description = "a description long enough to need its own copy";
	r.allowed_dimensions = dims;
	r.allowed_dimension_count = 2;
	return quota_registration_create(e, &r);
}

static int op_grant(quota_engine *e)
{
	return test_grant(e, NULL, "fault-grant", &fault_org, "fault.example.com/cpus", 10, NULL);
}

static int op_reserve(quota_engine *e)
{
	struct test_claim t;
	test_claim_init(&t, "ns", "fault-claim", &fault_org);
	test_claim_add(&t, "fault.example.com/cpus", 3);
	return quota_claim_reserve(e, &t.c, NULL);
}

static int op_reserve_labeled(quota_engine *e)
{
	static const quota_label us[] = {{"region", "us"}};
	struct test_claim t;
	test_claim_init(&t, "ns", "fault-labeled", &fault_org);
	test_claim_add(&t, "fault.example.com/cpus", 1);
	t.r[0].dimensions = us;
	t.r[0].dimension_count = 1;
	return quota_claim_reserve(e, &t.c, NULL);
}

/* A selector bucket made after a claim it matches (which it then counts). */
/* Grant name: 2 fault.example.com/cpus to consumer in region us, and
 * with plain > 0, plain more to its bucket. */
static int grant_selector(quota_engine *e, const char *name, const quota_ref *consumer,
			  int64_t plain)
{
	static const quota_label us[] = {{"region", "us"}};
	quota_grant_bucket b[2];
	quota_allowance a;
	quota_grant g;
	uint32_t n = 0;
	if (plain > 0) {
		quota_grant_bucket_init(&b[n], sizeof b[n]);
		b[n++].amount = plain;
	}
	quota_grant_bucket_init(&b[n], sizeof b[n]);
	b[n].amount = 2;
	b[n].match_labels = us;
	b[n++].match_label_count = 1;
	quota_allowance_init(&a, sizeof a);
	a.resource_type = "fault.example.com/cpus";
	a.buckets = b;
	a.bucket_count = n;
	quota_grant_init(&g, sizeof g);
	g.name = name;
	g.consumer = *consumer;
	g.allowances = &a;
	g.allowance_count = 1;
	return quota_grant_apply(e, &g, NULL);
}

static int op_grant_selector(quota_engine *e)
{
	return grant_selector(e, "fault-selector", &fault_org, 5);
}

/* A first selector bucket beside a bucket with observed usage. */
static int op_grant_selector_observed(quota_engine *e)
{
	return grant_selector(e, "fault-selector-observed", &fault_watched, 0);
}

static int op_claim_set(quota_engine *e)
{
	static const quota_label us[] = {{"region", "us"}};
	struct test_claim t[2];
	quota_claim set[2];
	for (int i = 0; i < 2; i++) {
		test_claim_init(&t[i], "ns", i ? "fault-set-b" : "fault-set-a", &fault_org);
		test_claim_add(&t[i], "fault.example.com/cpus", 1);
		t[i].r[0].dimensions = i ? us : NULL;
		t[i].r[0].dimension_count = i ? 1 : 0;
		set[i] = t[i].c;
	}
	return quota_claim_set_acquire(e, set, 2, NULL);
}

static int op_rate_grant(quota_engine *e)
{
	quota_grant_bucket b[2];
	quota_allowance a;
	quota_grant g;
	for (int i = 0; i < 2; i++) {
		quota_grant_bucket_init(&b[i], sizeof b[i]);
		b[i].amount = 100;
		b[i].period_ms = i ? QUOTA_PERIOD_DAY : QUOTA_PERIOD_SECOND;
		b[i].window = i ? QUOTA_WINDOW_CALENDAR : QUOTA_WINDOW_ROLLING;
	}
	quota_allowance_init(&a, sizeof a);
	a.resource_type = "fault.example.com/tokens";
	a.buckets = b;
	a.bucket_count = 2;
	quota_grant_init(&g, sizeof g);
	g.name = "fault-rate";
	g.consumer = fault_org;
	g.allowances = &a;
	g.allowance_count = 1;
	return quota_grant_apply(e, &g, NULL);
}

static int op_consume(quota_engine *e)
{
	static const quota_ref other = {.kind = "Organization", .name = "other"};
	/* first use of a default-limit bucket creates it */
	return quota_consume(e, &other, "fault.example.com/open", 1, NULL);
}

static int op_get_registration(quota_engine *e)
{
	quota_registration *r = NULL;
	int rc = quota_registration_get(e, "fault.example.com/cpus", &r);
	if (rc == QUOTA_OK) {
		if (!r || strcmp(r->resource_type, "fault.example.com/cpus") != 0)
			rc = QUOTA_ERR_INTERNAL;
		quota_free(r);
	}
	return rc;
}

/*
 * What *_get and *_list hand out is one allocation (the headers say so):
 * while the caller holds it exactly one block is live, and one quota_free()
 * releases it all.
 */
#define CHECK_ONE_BLOCK(c, call, ptr)                                                        \
	do {                                                                                 \
		long live0_ = live(c);                                                       \
		CHECK_RC(call, QUOTA_OK);                                                    \
		CHECK_EQ_INT(live(c) - live0_, 1);                                           \
		quota_free(ptr);                                                             \
		CHECK_EQ_INT(live(c), live0_);                                               \
	} while (0)

static void one_allocation_each(quota_engine *e, struct counting *c)
{
	quota_registration *r = NULL, **regs = NULL;
	quota_grant *g = NULL, **grants = NULL;
	quota_bucket_info *b = NULL;
	quota_claim_info *ci = NULL;
	size_t n = 0;
	CHECK_ONE_BLOCK(c, quota_registration_get(e, "fault.example.com/cpus", &r), r);
	CHECK_ONE_BLOCK(c, quota_registration_list(e, &regs, &n), regs);
	CHECK_ONE_BLOCK(c, quota_grant_get(e, NULL, "fault-grant", &g), g);
	CHECK_ONE_BLOCK(c, quota_grant_list(e, NULL, &grants, &n), grants);
	CHECK_ONE_BLOCK(c, quota_bucket_get(e, &fault_org, "fault.example.com/cpus", &b), b);
	CHECK_ONE_BLOCK(c, quota_claim_get(e, "ns", "fault-claim", &ci), ci);
}

static void test_allocator(void)
{
	quota_allocator a, bad;
	struct counting c;
	quota_engine *e = NULL;

	/* init fills in the libc allocator, which works */
	memset(&a, 0, sizeof a);
	CHECK_RC(quota_allocator_init(&a, sizeof a), QUOTA_OK);
	CHECK_EQ_INT(a.size, sizeof a);
	CHECK(a.malloc_fn != NULL);
	CHECK(a.free_fn != NULL);
	if (a.malloc_fn && a.free_fn) {
		void *p = a.malloc_fn(64, a.payload);
		CHECK(p != NULL);
		if (p) {
			memset(p, 1, 64);
			a.free_fn(p, a.payload);
		}
	}

	/* invalid allocators are refused */
	CHECK_RC(quota_set_allocator(&a), QUOTA_OK);
	bad = a;
	bad.malloc_fn = NULL;
	CHECK_RC(quota_set_allocator(&bad), QUOTA_ERR_INVALID);
	bad = a;
	bad.free_fn = NULL;
	CHECK_RC(quota_set_allocator(&bad), QUOTA_ERR_INVALID);
	bad = a;
	bad.size = 0;
	CHECK_RC(quota_set_allocator(&bad), QUOTA_ERR_INVALID);
	bad.size = sizeof bad - 1;
	CHECK_RC(quota_set_allocator(&bad), QUOTA_ERR_INVALID);

	/* install the counting allocator */
	memset(&c, 0, sizeof c);
	atomic_store(&c.fail_after, -1);
	a.malloc_fn = counting_malloc;
	a.free_fn = counting_free;
	a.payload = &c;
	CHECK_RC(quota_set_allocator(&a), QUOTA_OK);

	/* an engine that cannot allocate is not created */
	e = (quota_engine *)&c; /* must be reset to NULL */
	atomic_store(&c.fail_after, 0);
	CHECK_RC(quota_engine_new(&e, NULL), QUOTA_ERR_NOMEM);
	CHECK(e == NULL);
	atomic_store(&c.fail_after, -1);
	CHECK_EQ_INT(live(&c), 0);

	/* engine creation goes through the hook */
	long before = atomic_load(&c.mallocs);
	CHECK_RC(quota_engine_new(&e, NULL), QUOTA_OK);
	CHECK(atomic_load(&c.mallocs) > before);
	if (!e)
		goto out;

	/* no change of allocator while an engine exists */
	CHECK_RC(quota_set_allocator(&a), QUOTA_ERR_WRONG_STATE);
	CHECK_RC(quota_set_allocator(NULL), QUOTA_ERR_WRONG_STATE);

	/* every operation fails cleanly at every allocation */
	fault_loop("registration_create", e, &c, op_register);
	CHECK_RC(test_register(e, "fault.example.com/open", NULL, "Organization", 5), QUOTA_OK);
	fault_loop("grant_apply", e, &c, op_grant);
	fault_loop("claim_reserve", e, &c, op_reserve);
	fault_loop("claim_reserve with dimensions", e, &c, op_reserve_labeled);
	fault_loop("grant_apply making a selector bucket", e, &c, op_grant_selector);
	fault_loop("claim_set_acquire", e, &c, op_claim_set);
	quota_registration rr;
	quota_registration_init(&rr, sizeof rr);
	rr.resource_type = "fault.example.com/tokens";
	rr.consumer_type.kind = "Organization";
	rr.resource_class = QUOTA_RESOURCE_RATE;
	CHECK_RC(quota_registration_create(e, &rr), QUOTA_OK);
	fault_loop("grant_apply of rate limits", e, &c, op_rate_grant);
	fault_loop("consume (bucket creation)", e, &c, op_consume);
	fault_loop("registration_get", e, &c, op_get_registration);
	fault_loop("consumer_set_parent", e, &c, op_set_parent);
	CHECK_RC(test_register(e, "fault.example.com/pcpus", NULL, "Project", 5), QUOTA_OK);
	fault_loop("claim_acquire at two levels", e, &c, op_acquire_tree);
	fault_loop("claim_reserve into the queue", e, &c, op_queue);
	fault_loop("usage_observe (bucket creation)", e, &c, op_observe);
	fault_loop("usage_observe (existing bucket)", e, &c, op_observe_existing);
	CHECK_RC(quota_usage_observe(e, &fault_watched, "fault.example.com/cpus", 1), QUOTA_OK);
	fault_loop("grant_apply making a selector bucket beside observed usage", e, &c,
		   op_grant_selector_observed);
	fault_loop("metrics_prometheus", e, &c, op_metrics);
	fault_loop("audit_list", e, &c, op_audit);

	quota_engine_options eo;
	quota_engine_options_init(&eo, sizeof eo);
	eo.event_fn = ignore_event;
	quota_engine *ev = NULL;
	CHECK_RC(quota_engine_new(&ev, &eo), QUOTA_OK);
	if (ev) {
		CHECK_RC(op_register(ev), QUOTA_OK);
		CHECK_RC(op_grant(ev), QUOTA_OK);
		fault_loop("claim_reserve with events", ev, &c, op_reserve);
		fault_loop("claim_commit with events", ev, &c, op_commit_with_events);
		fault_loop("claim_release with events", ev, &c, op_release_with_events);
		quota_engine_free(ev);
	}

	/* memory handed to the caller comes from the hook, and goes back to it */
	quota_registration *r = NULL;
	long m0 = atomic_load(&c.mallocs), f0 = atomic_load(&c.frees);
	CHECK_RC(quota_registration_get(e, "fault.example.com/cpus", &r), QUOTA_OK);
	CHECK(atomic_load(&c.mallocs) > m0);
	quota_free(r);
	CHECK(atomic_load(&c.frees) > f0);
	CHECK_EQ_INT(atomic_load(&c.mallocs) - m0, atomic_load(&c.frees) - f0);

	one_allocation_each(e, &c);

	quota_free(NULL);
	quota_engine_free(e);
	e = NULL;
	/* the engine gave back everything it took */
	CHECK_EQ_INT(live(&c), 0);
	CHECK_EQ_INT(atomic_load(&c.bad_calls), 0);

out:
	quota_engine_free(e);
	/* with no engine left, the allocator may change again */
	CHECK_RC(quota_set_allocator(NULL), QUOTA_OK);
	long m1 = atomic_load(&c.mallocs);
	CHECK_RC(quota_engine_new(&e, NULL), QUOTA_OK);
	CHECK_EQ_INT(atomic_load(&c.mallocs), m1); /* back on libc */
	quota_engine_free(e);
}

/*
 * Replacing a registration or a grant frees the old copy; with freed memory
 * poisoned, every later lookup must still find the current one.
 */
static void test_replace_with_poisoned_free(void)
{
	quota_allocator a;
	struct counting c;
	quota_engine *e = NULL;
	quota_registration r, *got = NULL, **regs = NULL;
	quota_grant *g = NULL, **grants = NULL;
	size_t n = 0;
	int64_t gen = 0;

	memset(&c, 0, sizeof c);
	atomic_store(&c.fail_after, -1);
	c.quarantine = 1;
	pthread_mutex_init(&c.held_lock, NULL);
	quota_allocator_init(&a, sizeof a);
	a.malloc_fn = counting_malloc;
	a.free_fn = counting_free;
	a.payload = &c;
	CHECK_RC(quota_set_allocator(&a), QUOTA_OK);
	CHECK_RC(quota_engine_new(&e, NULL), QUOTA_OK);
	if (!e)
		goto out;

	quota_registration_init(&r, sizeof r);
	r.resource_type = "poison.example.com/cpus";
	r.consumer_type.kind = "Organization";
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_RC(test_register(e, "poison.example.com/mem", NULL, "Organization", 0), QUOTA_OK);
	r.description = "second";
	CHECK_RC(quota_registration_update(e, &r), QUOTA_OK);
	r.description = "third";
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_RC(quota_registration_get(e, "poison.example.com/cpus", &got), QUOTA_OK);
	if (got) {
		CHECK_EQ_INT(got->generation, 3);
		CHECK_STR_EQ(got->description, "third");
	}
	quota_free(got);
	CHECK_RC(quota_registration_list(e, &regs, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 2);
	quota_free(regs);

	CHECK_RC(test_grant(e, NULL, "g", &fault_org, "poison.example.com/cpus", 10, &gen),
		 QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "g", &fault_org, "poison.example.com/cpus", 12, &gen),
		 QUOTA_OK);
	CHECK_EQ_INT(gen, 2);
	CHECK_RC(test_grant(e, NULL, "g", &fault_org, "poison.example.com/mem", 5, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 3);
	CHECK_RC(quota_grant_get(e, NULL, "g", &g), QUOTA_OK);
	if (g)
		CHECK_EQ_INT(g->generation, 3);
	quota_free(g);
	CHECK_RC(quota_grant_list(e, NULL, &grants, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 1);
	quota_free(grants);
	CHECK_BUCKET(e, &fault_org, "poison.example.com/cpus", 0, 0, 0, 0);
	CHECK_BUCKET(e, &fault_org, "poison.example.com/mem", 5, 0, 0, 5);
	CHECK_RC(quota_grant_delete(e, NULL, "g"), QUOTA_OK);
	CHECK_RC(quota_grant_delete(e, NULL, "g"), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_registration_delete(e, "poison.example.com/cpus"), QUOTA_OK);
	quota_engine_free(e);
	CHECK_EQ_INT(live(&c), 0);
out:
	CHECK_RC(quota_set_allocator(NULL), QUOTA_OK);
	quarantine_release(&c);
	pthread_mutex_destroy(&c.held_lock);
}

static void test_free_null(void)
{
	quota_free(NULL);
	quota_engine_free(NULL);
	quota_bucket_iter_free(NULL);
	quota_claim_iter_free(NULL);
	quota_bucket_handle_close(NULL);
	/* no assertion: the test fails by crashing */
}

/* ---- _init functions --------------------------------------------------- */

/*
 * Every _init: NULL and sizes below the struct are QUOTA_ERR_INVALID; the
 * exact size fills the struct and sets its size; a larger size (a caller
 * built against a newer header) is accepted.
 */
#define CHECK_INIT(fn, type, var)                                                            \
	do {                                                                                 \
		union {                                                                      \
			type v;                                                              \
			unsigned char bytes[sizeof(type) + 64];                              \
		} big_;                                                                      \
		CHECK_RC(fn(NULL, sizeof(type)), QUOTA_ERR_INVALID);                         \
		CHECK_RC(fn(&var, 0), QUOTA_ERR_INVALID);                                    \
		CHECK_RC(fn(&var, sizeof(size_t)), QUOTA_ERR_INVALID);                       \
		CHECK_RC(fn(&var, sizeof(type) - 1), QUOTA_ERR_INVALID);                     \
		memset(&big_, 0x5a, sizeof big_);                                            \
		CHECK_RC(fn(&big_.v, sizeof big_), QUOTA_OK);                                \
		memset(&var, 0xa5, sizeof var);                                              \
		CHECK_RC(fn(&var, sizeof(type)), QUOTA_OK);                                  \
		CHECK_EQ_INT(var.size, sizeof(type));                                        \
	} while (0)

static void test_init_functions(void)
{
	quota_allocator al;
	CHECK_INIT(quota_allocator_init, quota_allocator, al);
	CHECK(al.malloc_fn != NULL && al.free_fn != NULL);

	quota_engine_options o;
	CHECK_INIT(quota_engine_options_init, quota_engine_options, o);
	CHECK_EQ_INT(o.reserved_flags, 0);
	CHECK(o.clock == NULL);
	CHECK_EQ_INT(o.released_retention_ms, 60000);

	quota_registration r;
	CHECK_INIT(quota_registration_init, quota_registration, r);
	CHECK_EQ_INT(r.resource_class, QUOTA_RESOURCE_ALLOCATION);
	CHECK_EQ_INT(r.enforcement, QUOTA_ENFORCE);
	CHECK_EQ_INT(r.unit_conversion_factor, 1);
	CHECK_EQ_INT(r.default_limit, 0);
	CHECK(r.resource_type == NULL);
	CHECK(r.consumer_type.kind == NULL && r.consumer_type.api_group == NULL);
	CHECK(r.base_unit == NULL && r.display_unit == NULL && r.description == NULL);
	CHECK(r.claiming_resources == NULL);
	CHECK_EQ_INT(r.claiming_resource_count, 0);
	CHECK(r.allowed_dimensions == NULL);
	CHECK_EQ_INT(r.allowed_dimension_count, 0);

	quota_grant_bucket gb;
	CHECK_INIT(quota_grant_bucket_init, quota_grant_bucket, gb);
	CHECK_EQ_INT(gb.amount, 0);

	quota_allowance aw;
	CHECK_INIT(quota_allowance_init, quota_allowance, aw);
	CHECK(aw.resource_type == NULL && aw.buckets == NULL);
	CHECK_EQ_INT(aw.bucket_count, 0);
	CHECK_EQ_INT(aw.reserved_flags, 0);

	quota_grant g;
	CHECK_INIT(quota_grant_init, quota_grant, g);
	CHECK(g.ns == NULL && g.name == NULL && g.allowances == NULL);
	CHECK(g.consumer.kind == NULL && g.consumer.name == NULL);
	CHECK_EQ_INT(g.allowance_count, 0);
	CHECK_EQ_INT(g.reserved_flags, 0);

	quota_answer an;
	CHECK_INIT(quota_answer_init, quota_answer, an);
	CHECK_EQ_INT(an.flags, 0);
	CHECK_EQ_INT(an.bucket[0], 0);

	quota_request rq;
	CHECK_INIT(quota_request_init, quota_request, rq);
	CHECK(rq.resource_type == NULL);
	CHECK_EQ_INT(rq.amount, 0);

	quota_claim cl;
	CHECK_INIT(quota_claim_init, quota_claim, cl);
	CHECK(cl.ns == NULL && cl.name == NULL && cl.requests == NULL);
	CHECK(cl.resource.kind == NULL);
	CHECK_EQ_INT(cl.request_count, 0);
	CHECK_EQ_INT(cl.flags, 0);
	CHECK_EQ_INT(cl.ttl_ms, 0);
}

/* Every size and limit a binding may ask for, against the headers. */
static void test_introspection(void)
{
	static const struct {
		int32_t id;
		size_t size;
	} types[] = {
		{QUOTA_TYPE_REF, sizeof(quota_ref)},
		{QUOTA_TYPE_KIND_REF, sizeof(quota_kind_ref)},
		{QUOTA_TYPE_ALLOCATOR, sizeof(quota_allocator)},
		{QUOTA_TYPE_ENGINE_OPTIONS, sizeof(quota_engine_options)},
		{QUOTA_TYPE_EVENT, sizeof(quota_event)},
		{QUOTA_TYPE_REGISTRATION, sizeof(quota_registration)},
		{QUOTA_TYPE_LABEL, sizeof(quota_label)},
		{QUOTA_TYPE_SELECTOR_REQUIREMENT, sizeof(quota_selector_requirement)},
		{QUOTA_TYPE_GRANT_BUCKET, sizeof(quota_grant_bucket)},
		{QUOTA_TYPE_ALLOWANCE, sizeof(quota_allowance)},
		{QUOTA_TYPE_GRANT, sizeof(quota_grant)},
		{QUOTA_TYPE_ANSWER, sizeof(quota_answer)},
		{QUOTA_TYPE_GRANT_REF, sizeof(quota_grant_ref)},
		{QUOTA_TYPE_RATE_INFO, sizeof(quota_rate_info)},
		{QUOTA_TYPE_BUCKET_INFO, sizeof(quota_bucket_info)},
		{QUOTA_TYPE_REQUEST, sizeof(quota_request)},
		{QUOTA_TYPE_CLAIM, sizeof(quota_claim)},
		{QUOTA_TYPE_ALLOCATION, sizeof(quota_allocation)},
		{QUOTA_TYPE_CLAIM_INFO, sizeof(quota_claim_info)},
		{QUOTA_TYPE_STATS, sizeof(quota_stats)},
		{QUOTA_TYPE_DENIAL, sizeof(quota_denial)},
		{QUOTA_TYPE_CONSTRAINT, sizeof(quota_constraint)},
		{QUOTA_TYPE_TRIGGER_REF, sizeof(quota_trigger_ref)},
		{QUOTA_TYPE_REQUEST_TEMPLATE, sizeof(quota_request_template)},
		{QUOTA_TYPE_CLAIM_TEMPLATE, sizeof(quota_claim_template)},
		{QUOTA_TYPE_CLAIM_POLICY, sizeof(quota_claim_policy)},
		{QUOTA_TYPE_GRANT_TEMPLATE, sizeof(quota_grant_template)},
		{QUOTA_TYPE_PARENT_CONTEXT, sizeof(quota_parent_context)},
		{QUOTA_TYPE_GRANT_POLICY, sizeof(quota_grant_policy)},
		{QUOTA_TYPE_ADMISSION, sizeof(quota_admission)},
		{QUOTA_TYPE_ADMISSION_RESULT, sizeof(quota_admission_result)},
		{QUOTA_TYPE_GRANT_CHANGE, sizeof(quota_grant_change)},
		{QUOTA_TYPE_JSON_OPTIONS, sizeof(quota_json_options)},
		{QUOTA_TYPE_JSON_RESULT, sizeof(quota_json_result)},
		{QUOTA_TYPE_JOURNAL_STATS, sizeof(quota_journal_stats)},
	};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		CHECK_EQ_INT(types[i].id, (int32_t)i + 1); /* dense, never renumbered */
		CHECK_EQ_INT(quota_type_size(types[i].id), types[i].size);
	}
	CHECK_EQ_INT(quota_type_size(0), 0);
	CHECK_EQ_INT(quota_type_size((int32_t)(sizeof types / sizeof types[0]) + 1), 0);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_BUCKET_ID_MAX), QUOTA_BUCKET_ID_MAX);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_MAX_REQUESTS), QUOTA_MAX_REQUESTS);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_MAX_DEPTH), QUOTA_MAX_DEPTH);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_AUDIT_CAPACITY), QUOTA_AUDIT_CAPACITY);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_AUDIT_MESSAGE_MAX), QUOTA_AUDIT_MESSAGE_MAX);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_AUDIT_CLAIM_MAX), QUOTA_AUDIT_CLAIM_MAX);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_PERIOD_MAX), QUOTA_PERIOD_MAX);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_UNLIMITED), QUOTA_UNLIMITED);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_MAX_CONSTRAINTS), QUOTA_MAX_CONSTRAINTS);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_CONSTRAINT_MESSAGE_MAX), QUOTA_CONSTRAINT_MESSAGE_MAX);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_JSON_MAX_DEPTH), QUOTA_JSON_MAX_DEPTH);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_DOC_MAX_DEPTH), QUOTA_DOC_MAX_DEPTH);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_MAX_CLAIM_SET), QUOTA_MAX_CLAIM_SET);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_EXPR_MAX_LENGTH), QUOTA_EXPR_MAX_LENGTH);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_EXPR_MAX_DEPTH), QUOTA_EXPR_MAX_DEPTH);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_EXPR_MAX_VARS), QUOTA_EXPR_MAX_VARS);
	CHECK_EQ_INT(quota_constant(QUOTA_CONST_EXPR_DEFAULT_COST_LIMIT),
		     QUOTA_EXPR_DEFAULT_COST_LIMIT);
	CHECK_EQ_INT(quota_constant(0), INT64_MIN);
	CHECK_EQ_INT(quota_constant(18), INT64_MIN);
}

int main(void)
{
	RUN(test_introspection);
	RUN(test_codes_are_stable);
	RUN(test_strerror);
	RUN(test_last_error_thread_local);
	RUN(test_version);
	RUN(test_free_null);
	RUN(test_init_functions);
	RUN(test_allocator);
	RUN(test_replace_with_poisoned_free);
	return check_exit();
}
