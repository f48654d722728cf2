/*
 * A tiny assertion harness for the libquota tests, plus the few fixtures
 * that every test file needs (a registration, a grant, a claim, a bucket
 * reading, a fake clock).
 *
 * A failed check prints file:line, the expression, what was seen and
 * quota_last_error(), and the test carries on; check_exit() then makes the
 * program exit non-zero. The failure counter is atomic, so checks may run in
 * several threads.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_TESTS_CHECK_H
#define QUOTA_TESTS_CHECK_H

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <quota/quota.h>

static atomic_int check_failures_;

__attribute__((format(printf, 3, 4))) static inline void check_fail_(const char *file, int line,
								      const char *fmt, ...)
{
	va_list ap;
	flockfile(stderr);
	fprintf(stderr, "%s:%d: FAILED: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n    quota_last_error(): \"%s\"\n", quota_last_error());
	funlockfile(stderr);
	atomic_fetch_add(&check_failures_, 1);
}

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond))                                                                 \
			check_fail_(__FILE__, __LINE__, "CHECK(%s)", #cond);                 \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                   \
	do {                                                                                 \
		int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                                \
		if (a_ != b_)                                                                \
			check_fail_(__FILE__, __LINE__, "%s == %s: %" PRId64 " != %" PRId64, #a, \
				    #b, a_, b_);                                             \
	} while (0)

#define CHECK_RC(expr, code)                                                                 \
	do {                                                                                 \
		int got_ = (expr), want_ = (code);                                           \
		if (got_ != want_)                                                           \
			check_fail_(__FILE__, __LINE__, "%s: returned %s (%d), expected %s (%d)", \
				    #expr, quota_strerror(got_), got_, quota_strerror(want_),   \
				    want_);                                                  \
	} while (0)

/* NULL and "" are the same string here, as they are for optional fields. */
#define CHECK_STR_EQ(a, b)                                                                   \
	do {                                                                                 \
		const char *a_ = (a), *b_ = (b);                                             \
		if (strcmp(a_ ? a_ : "", b_ ? b_ : "") != 0)                                 \
			check_fail_(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,   \
				    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                 \
	} while (0)

/*
 * Does quota_last_error() name a field? Field names are compared without
 * case and underscores, so "resource_type" matches both the C spelling and
 * the API spelling "resourceType"; alternatives are separated by '|'.
 */
static inline void check_squash_(const char *s, size_t n, char *out, size_t cap)
{
	size_t j = 0;
	for (size_t i = 0; i < n && s[i] && j + 1 < cap; i++)
		if (s[i] != '_')
			out[j++] = (char)tolower((unsigned char)s[i]);
	out[j] = '\0';
}

static inline int check_err_mentions_(const char *alternatives)
{
	char msg[2048], want[256];
	check_squash_(quota_last_error(), SIZE_MAX, msg, sizeof msg);
	for (const char *p = alternatives;;) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		check_squash_(p, n, want, sizeof want);
		if (want[0] && strstr(msg, want))
			return 1;
		if (!bar)
			return 0;
		p = bar + 1;
	}
}

#define CHECK_ERR_MENTIONS(field)                                                            \
	do {                                                                                 \
		if (!check_err_mentions_(field))                                             \
			check_fail_(__FILE__, __LINE__, "quota_last_error() should name \"%s\"", \
				    field);                                                  \
	} while (0)

/* Run one test function, announcing it. */
#define RUN(fn)                                                                              \
	do {                                                                                 \
		int before_ = atomic_load(&check_failures_);                                 \
		printf("-- %s\n", #fn);                                                      \
		fflush(stdout);                                                              \
		fn();                                                                        \
		if (atomic_load(&check_failures_) != before_)                                \
			printf("-- %s: %d failure(s)\n", #fn,                                \
			       atomic_load(&check_failures_) - before_);                     \
	} while (0)

static inline int check_exit(void)
{
	int n = atomic_load(&check_failures_);
	printf("%d check(s) failed\n", n);
	return n ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---- fixtures ---------------------------------------------------------- */

/* A clock the test moves by hand. */
struct test_clock {
	_Atomic int64_t ns;
};

static inline int64_t test_clock_read(void *payload)
{
	return atomic_load(&((struct test_clock *)payload)->ns);
}

#define TEST_EPOCH_NS INT64_C(1700000000000000000)
#define MS_NS INT64_C(1000000)

static inline void test_clock_advance_ms(struct test_clock *c, int64_t ms)
{
	atomic_fetch_add(&c->ns, ms * MS_NS);
}

/* An engine on a fake clock (clk may be NULL) with the given retention. */
static inline quota_engine *test_engine(struct test_clock *clk, int64_t retention_ms)
{
	quota_engine_options o;
	quota_engine *e = NULL;
	if (quota_engine_options_init(&o, sizeof o) != QUOTA_OK)
		return NULL;
	if (clk) {
		atomic_store(&clk->ns, TEST_EPOCH_NS);
		o.clock = test_clock_read;
		o.clock_payload = clk;
	}
	o.released_retention_ms = retention_ms;
	if (quota_engine_new(&e, &o) != QUOTA_OK)
		return NULL;
	return e;
}

/* Register a type with the defaults plus a consumer kind and default limit. */
static inline int test_register(quota_engine *e, const char *type, const char *group,
				const char *kind, int64_t default_limit)
{
	quota_registration r;
	int rc = quota_registration_init(&r, sizeof r);
	if (rc != QUOTA_OK)
		return rc;
	r.resource_type = type;
	r.consumer_type.api_group = group;
	r.consumer_type.kind = kind;
	r.default_limit = default_limit;
	return quota_registration_create(e, &r);
}

/* Apply a grant of one allowance with one bucket. */
static inline int test_grant(quota_engine *e, const char *ns, const char *name,
			     const quota_ref *consumer, const char *type, int64_t amount,
			     int64_t *generation)
{
	quota_grant_bucket b;
	quota_allowance a;
	quota_grant g;
	int rc;
	if ((rc = quota_grant_bucket_init(&b, sizeof b)) ||
	    (rc = quota_allowance_init(&a, sizeof a)) || (rc = quota_grant_init(&g, sizeof g)))
		return rc;
	b.amount = amount;
	a.resource_type = type;
	a.buckets = &b;
	a.bucket_count = 1;
	g.ns = ns;
	g.name = name;
	g.consumer = *consumer;
	g.allowances = &a;
	g.allowance_count = 1;
	return quota_grant_apply(e, &g, generation);
}

/* A claim with its requests in one place. Do not copy it: c points into r. */
struct test_claim {
	quota_claim c;
	quota_request r[QUOTA_MAX_REQUESTS + 4];
};

static inline void test_claim_init(struct test_claim *t, const char *ns, const char *name,
				   const quota_ref *consumer)
{
	memset(t, 0, sizeof *t);
	quota_claim_init(&t->c, sizeof t->c);
	t->c.ns = ns;
	t->c.name = name;
	t->c.consumer = *consumer;
	t->c.requests = t->r;
	t->c.request_count = 0;
}

static inline void test_claim_add(struct test_claim *t, const char *type, int64_t amount)
{
	quota_request *r = &t->r[t->c.request_count++];
	quota_request_init(r, sizeof *r);
	r->resource_type = type;
	r->amount = amount;
}

/* The numbers of one bucket, or rc != 0 when it could not be read. */
struct test_bucket {
	int rc;
	int64_t limit, allocated, reserved, available;
	int64_t claim_count, reserved_count, grant_count, observed_generation;
	uint32_t flags, grant_ref_count;
};

static inline struct test_bucket test_bucket_read(quota_engine *e, const quota_ref *consumer,
						  const char *type)
{
	struct test_bucket t;
	quota_bucket_info *b = NULL;
	memset(&t, 0, sizeof t);
	t.rc = quota_bucket_get(e, consumer, type, &b);
	if (t.rc != QUOTA_OK)
		return t;
	t.limit = b->limit;
	t.allocated = b->allocated;
	t.reserved = b->reserved;
	t.available = b->available;
	t.claim_count = b->claim_count;
	t.reserved_count = b->reserved_count;
	t.grant_count = b->grant_count;
	t.observed_generation = b->observed_generation;
	t.flags = b->flags;
	t.grant_ref_count = b->grant_ref_count;
	quota_free(b);
	return t;
}

static inline void check_bucket_(const char *file, int line, quota_engine *e,
				 const quota_ref *consumer, const char *type, int64_t limit,
				 int64_t allocated, int64_t reserved, int64_t available)
{
	struct test_bucket b = test_bucket_read(e, consumer, type);
	if (b.rc != QUOTA_OK)
		check_fail_(file, line, "quota_bucket_get(%s, %s): %s", consumer->name, type,
			    quota_strerror(b.rc));
	else if (b.limit != limit || b.allocated != allocated || b.reserved != reserved ||
		 b.available != available)
		check_fail_(file, line,
			    "bucket %s:%s: limit/allocated/reserved/available = %" PRId64
			    "/%" PRId64 "/%" PRId64 "/%" PRId64 ", expected %" PRId64 "/%" PRId64
			    "/%" PRId64 "/%" PRId64,
			    consumer->name, type, b.limit, b.allocated, b.reserved, b.available,
			    limit, allocated, reserved, available);
}

/* Check limit, allocated, reserved and available of a bucket at once. */
#define CHECK_BUCKET(e, consumer, type, limit, allocated, reserved, available)               \
	check_bucket_(__FILE__, __LINE__, (e), (consumer), (type), (limit), (allocated),     \
		      (reserved), (available))

/* The state of a claim, or the negative status of quota_claim_get(). */
static inline int test_claim_state(quota_engine *e, const char *ns, const char *name)
{
	quota_claim_info *ci = NULL;
	int rc = quota_claim_get(e, ns, name, &ci);
	if (rc != QUOTA_OK)
		return rc;
	rc = ci->state;
	quota_free(ci);
	return rc;
}

/* ---- a snapshot of every bucket and claim, to show "nothing changed" ---- */

static inline int test_cmp_line_(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

#define TEST_SNAP_MAX_LINES 512
#define TEST_S_(x) ((x) ? (x) : "")

/*
 * Append one sorted line per bucket and per claim (iteration order is not
 * specified) to buf, which holds *len bytes already.
 */
static inline void test_snapshot_buckets_claims(quota_engine *e, char *buf, size_t cap,
						size_t *len)
{
	char *lines[TEST_SNAP_MAX_LINES];
	size_t n = 0;
	quota_bucket_iter *bi = NULL;
	quota_claim_iter *ci = NULL;
	const quota_bucket_info *b;
	const quota_claim_info *c;
	char line[1024];
	int rc;

	if ((rc = quota_bucket_iter_new(e, NULL, NULL, &bi)) == QUOTA_OK) {
		while (n < TEST_SNAP_MAX_LINES && (rc = quota_bucket_iter_next(bi, &b)) == QUOTA_OK) {
			snprintf(line, sizeof line,
				 "bucket %s/%s/%s:%s[%s] limit %" PRId64 " alloc %" PRId64
				 " res %" PRId64 " avail %" PRId64 " claims %" PRId64
				 " reservations %" PRId64 " grants %" PRId64 " refs %u flags %u"
				 " og %" PRId64 "\n",
				 TEST_S_(b->consumer.kind), TEST_S_(b->consumer.ns),
				 TEST_S_(b->consumer.name), TEST_S_(b->resource_type),
				 TEST_S_(b->selector), b->limit,
				 b->allocated, b->reserved, b->available, b->claim_count,
				 b->reserved_count, b->grant_count, b->grant_ref_count, b->flags,
				 b->observed_generation);
			for (uint32_t k = 0; k < b->rate_count; k++) {
				size_t at = strlen(line) - 1; /* over the newline */
				snprintf(line + at, sizeof line - at,
					 " rate %" PRId64 "/%" PRId64 "ms w%d burst %" PRId64
					 " left %" PRId64 "\n",
					 b->rates[k]->limit, b->rates[k]->period_ms, b->rates[k]->window,
					 b->rates[k]->burst, b->rates[k]->remaining);
			}
			lines[n++] = strdup(line);
		}
		quota_bucket_iter_free(bi);
	}
	if (rc != QUOTA_ITER_DONE) {
		snprintf(line, sizeof line, "bucket iteration failed: %d\n", rc);
		lines[n++] = strdup(line);
	}
	if ((rc = quota_claim_iter_new(e, NULL, 0, &ci)) == QUOTA_OK) {
		while (n < TEST_SNAP_MAX_LINES && (rc = quota_claim_iter_next(ci, &c)) == QUOTA_OK) {
			size_t k = (size_t)snprintf(line, sizeof line,
						    "claim %s/%s state %d consumer %s expires %" PRId64
						    " updated %" PRId64 ":",
						    TEST_S_(c->ns), TEST_S_(c->name), c->state,
						    TEST_S_(c->consumer.name), c->expires_ns,
						    c->updated_ns);
			for (uint32_t i = 0; i < c->allocation_count && k < sizeof line; i++)
				k += (size_t)snprintf(line + k, sizeof line - k,
						      " %s=%" PRId64 "/%" PRId64,
						      TEST_S_(c->allocations[i]->resource_type),
						      c->allocations[i]->amount,
						      c->allocations[i]->requested);
			if (k < sizeof line - 1)
				strcat(line, "\n");
			lines[n++] = strdup(line);
		}
		quota_claim_iter_free(ci);
	}
	if (rc != QUOTA_ITER_DONE && n < TEST_SNAP_MAX_LINES) {
		snprintf(line, sizeof line, "claim iteration failed: %d\n", rc);
		lines[n++] = strdup(line);
	}
	qsort(lines, n, sizeof lines[0], test_cmp_line_);
	for (size_t i = 0; i < n; i++) {
		if (*len < cap)
			*len += (size_t)snprintf(buf + *len, cap - *len, "%s", lines[i]);
		free(lines[i]);
	}
}

#endif /* QUOTA_TESTS_CHECK_H */
