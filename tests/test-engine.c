/*
 * engine.h: options, engine creation and its validation, the injectable
 * clock, quota_engine_now and quota_engine_tick.
 *
 * SPDX-License-Identifier: MIT
 */
#include <time.h>

#include <quota/quota.h>

#include "check.h"

#define VCPUS "compute.example.com/vcpus"

static const quota_ref acme = {.kind = "Organization", .name = "acme"};

static void test_options_defaults(void)
{
	quota_engine_options o;
	memset(&o, 0x77, sizeof o);
	CHECK_RC(quota_engine_options_init(&o, sizeof o), QUOTA_OK);
	CHECK_EQ_INT(o.size, sizeof o);
	/* 0 means the default, 64; either spelling of the default is fine */
	CHECK(o.stripes == 0 || o.stripes == 64);
	CHECK_EQ_INT(o.reserved_flags, 0);
	CHECK(o.clock == NULL);
	CHECK(o.clock_payload == NULL);
	CHECK_EQ_INT(o.released_retention_ms, 60000);
	CHECK_EQ_INT(o.hash_key[0], 0);
	CHECK_EQ_INT(o.hash_key[1], 0);

	CHECK_RC(quota_engine_options_init(NULL, sizeof o), QUOTA_ERR_INVALID);
	CHECK_RC(quota_engine_options_init(&o, 0), QUOTA_ERR_INVALID);
	CHECK_RC(quota_engine_options_init(&o, sizeof o - 1), QUOTA_ERR_INVALID);
}

/* Creation must fail with rc, leave *out NULL, and name the field. */
static void expect_new_fails(const quota_engine_options *o, int rc, const char *field)
{
	quota_engine *e = (quota_engine *)&e; /* anything but NULL */
	CHECK_RC(quota_engine_new(&e, o), rc);
	CHECK(e == NULL);
	if (field)
		CHECK_ERR_MENTIONS(field);
	if (e && e != (quota_engine *)&e)
		quota_engine_free(e);
}

static void expect_new_ok(const quota_engine_options *o)
{
	quota_engine *e = NULL;
	CHECK_RC(quota_engine_new(&e, o), QUOTA_OK);
	CHECK(e != NULL);
	/* the engine works */
	if (e) {
		CHECK_RC(test_register(e, VCPUS, NULL, "Organization", 3), QUOTA_OK);
		CHECK_RC(quota_consume(e, &acme, VCPUS, 3, NULL), QUOTA_OK);
		CHECK_RC(quota_consume(e, &acme, VCPUS, 1, NULL), QUOTA_ERR_EXCEEDED);
	}
	quota_engine_free(e);
}

static void test_engine_new_validation(void)
{
	quota_engine_options o;

	CHECK_RC(quota_engine_new(NULL, NULL), QUOTA_ERR_INVALID);
	expect_new_ok(NULL);

	static const uint32_t good_stripes[] = {0, 1, 2, 4, 64, 1024, 65536};
	for (size_t i = 0; i < sizeof good_stripes / sizeof good_stripes[0]; i++) {
		quota_engine_options_init(&o, sizeof o);
		o.stripes = good_stripes[i];
		expect_new_ok(&o);
	}
	static const uint32_t bad_stripes[] = {3, 5, 6, 100, 65535, 65537, 131072, 1u << 31,
					       UINT32_MAX};
	for (size_t i = 0; i < sizeof bad_stripes / sizeof bad_stripes[0]; i++) {
		quota_engine_options_init(&o, sizeof o);
		o.stripes = bad_stripes[i];
		expect_new_fails(&o, QUOTA_ERR_INVALID, "stripes");
	}

	quota_engine_options_init(&o, sizeof o);
	o.reserved_flags = 1;
	expect_new_fails(&o, QUOTA_ERR_INVALID, "reserved_flags|flags");
	o.reserved_flags = 0x80000000u;
	expect_new_fails(&o, QUOTA_ERR_INVALID, "reserved_flags|flags");

	quota_engine_options_init(&o, sizeof o);
	o.released_retention_ms = -1;
	expect_new_fails(&o, QUOTA_ERR_INVALID, "retention");
	o.released_retention_ms = INT64_MIN;
	expect_new_fails(&o, QUOTA_ERR_INVALID, "retention");
	o.released_retention_ms = 0;
	expect_new_ok(&o);

	/* a sized struct that is too small is refused (DESIGN 7: size checked) */
	quota_engine_options_init(&o, sizeof o);
	o.size = 0;
	expect_new_fails(&o, QUOTA_ERR_INVALID, NULL);

	/* a fixed hash key gives a working engine too */
	quota_engine_options_init(&o, sizeof o);
	o.hash_key[0] = 1;
	o.hash_key[1] = 2;
	expect_new_ok(&o);

	quota_engine_free(NULL);
}

static void test_clock(void)
{
	struct test_clock clk;
	quota_engine *e = test_engine(&clk, 60000);
	int64_t now = 0;
	CHECK(e != NULL);
	if (!e)
		return;

	CHECK_RC(quota_engine_now(e, &now), QUOTA_OK);
	CHECK_EQ_INT(now, TEST_EPOCH_NS);
	test_clock_advance_ms(&clk, 1500);
	CHECK_RC(quota_engine_now(e, &now), QUOTA_OK);
	CHECK_EQ_INT(now, TEST_EPOCH_NS + 1500 * MS_NS);

	/* a clock going backwards reads as the last time seen */
	atomic_store(&clk.ns, TEST_EPOCH_NS + 1000 * MS_NS);
	CHECK_RC(quota_engine_now(e, &now), QUOTA_OK);
	CHECK_EQ_INT(now, TEST_EPOCH_NS + 1500 * MS_NS);
	atomic_store(&clk.ns, TEST_EPOCH_NS + 2000 * MS_NS);
	CHECK_RC(quota_engine_now(e, &now), QUOTA_OK);
	CHECK_EQ_INT(now, TEST_EPOCH_NS + 2000 * MS_NS);

	CHECK_RC(quota_engine_now(NULL, &now), QUOTA_ERR_INVALID);
	CHECK_RC(quota_engine_now(e, NULL), QUOTA_ERR_INVALID);

	/* the engine stamps objects with its clock */
	CHECK_RC(test_register(e, VCPUS, NULL, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 10, NULL), QUOTA_OK);
	quota_bucket_info *b = NULL;
	CHECK_RC(quota_bucket_get(e, &acme, VCPUS, &b), QUOTA_OK);
	if (b)
		CHECK_EQ_INT(b->last_reconciliation_ns, TEST_EPOCH_NS + 2000 * MS_NS);
	quota_free(b);

	struct test_claim t;
	test_claim_init(&t, NULL, "c1", &acme);
	test_claim_add(&t, VCPUS, 1);
	t.c.ttl_ms = 250;
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	quota_claim_info *ci = NULL;
	CHECK_RC(quota_claim_get(e, NULL, "c1", &ci), QUOTA_OK);
	if (ci) {
		CHECK_EQ_INT(ci->created_ns, TEST_EPOCH_NS + 2000 * MS_NS);
		CHECK_EQ_INT(ci->expires_ns, TEST_EPOCH_NS + 2250 * MS_NS);
	}
	quota_free(ci);
	quota_engine_free(e);
}

static void test_default_clock_is_realtime(void)
{
	quota_engine *e = NULL;
	struct timespec ts;
	int64_t now = 0;
	CHECK_RC(quota_engine_new(&e, NULL), QUOTA_OK);
	if (!e)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t want = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	CHECK_RC(quota_engine_now(e, &now), QUOTA_OK);
	CHECK(now >= want - INT64_C(5000000000) && now <= want + INT64_C(5000000000));
	quota_engine_free(e);
}

static int reserve_ttl(quota_engine *e, const char *name, int64_t amount, int64_t ttl_ms)
{
	struct test_claim t;
	test_claim_init(&t, "prod", name, &acme);
	test_claim_add(&t, VCPUS, amount);
	t.c.ttl_ms = ttl_ms;
	return quota_claim_reserve(e, &t.c, NULL);
}

static void test_tick(void)
{
	struct test_clock clk;
	quota_engine *e = test_engine(&clk, 60000);
	uint64_t expired = 99;
	CHECK(e != NULL);
	if (!e)
		return;

	CHECK_RC(quota_engine_tick(NULL, 0, &expired), QUOTA_ERR_INVALID);
	CHECK_RC(quota_engine_tick(e, -1, &expired), QUOTA_ERR_INVALID);
	CHECK_RC(quota_engine_tick(e, INT64_MIN, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_engine_tick(e, 0, &expired), QUOTA_OK);
	CHECK_EQ_INT(expired, 0);
	CHECK_RC(quota_engine_tick(e, 0, NULL), QUOTA_OK);

	CHECK_RC(test_register(e, VCPUS, NULL, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 10, NULL), QUOTA_OK);
	CHECK_RC(reserve_ttl(e, "short", 4, 1000), QUOTA_OK);
	CHECK_RC(reserve_ttl(e, "long", 3, 5000), QUOTA_OK);
	CHECK_RC(reserve_ttl(e, "forever", 2, 0), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 9, 1);

	/* before the deadline nothing expires */
	test_clock_advance_ms(&clk, 999);
	expired = 99;
	CHECK_RC(quota_engine_tick(e, 0, &expired), QUOTA_OK);
	CHECK_EQ_INT(expired, 0);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 9, 1);
	CHECK_EQ_INT(test_claim_state(e, "prod", "short"), QUOTA_CLAIM_RESERVED);

	/* past it, the reservation expires and its capacity returns at once */
	test_clock_advance_ms(&clk, 2);
	CHECK_RC(quota_engine_tick(e, 0, &expired), QUOTA_OK);
	CHECK_EQ_INT(expired, 1);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 5, 5);
	CHECK_EQ_INT(test_claim_state(e, "prod", "short"), QUOTA_CLAIM_RELEASED);
	CHECK_EQ_INT(test_claim_state(e, "prod", "long"), QUOTA_CLAIM_RESERVED);
	struct test_bucket b = test_bucket_read(e, &acme, VCPUS);
	CHECK_EQ_INT(b.reserved_count, 2);

	/* nothing more to expire */
	CHECK_RC(quota_engine_tick(e, 0, &expired), QUOTA_OK);
	CHECK_EQ_INT(expired, 0);

	/* an explicit time: 6 s after the start, past "long"'s TTL */
	CHECK_RC(quota_engine_tick(e, TEST_EPOCH_NS + 6000 * MS_NS, &expired), QUOTA_OK);
	CHECK_EQ_INT(expired, 1);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 2, 8);
	CHECK_EQ_INT(test_claim_state(e, "prod", "long"), QUOTA_CLAIM_RELEASED);
	CHECK_EQ_INT(test_claim_state(e, "prod", "forever"), QUOTA_CLAIM_RESERVED);

	/* an expired reservation cannot be committed */
	CHECK_RC(quota_claim_commit(e, "prod", "short", NULL, 0), QUOTA_ERR_WRONG_STATE);
	CHECK_RC(quota_claim_commit(e, "prod", "long", NULL, 0), QUOTA_ERR_WRONG_STATE);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 2, 8);

	/* a time before the clock's is raised to it: no error, nothing expires */
	CHECK_RC(reserve_ttl(e, "later", 1, 100000), QUOTA_OK);
	CHECK_RC(quota_engine_tick(e, 1, &expired), QUOTA_OK);
	CHECK_EQ_INT(expired, 0);
	CHECK_EQ_INT(test_claim_state(e, "prod", "later"), QUOTA_CLAIM_RESERVED);

	/* a committed claim never expires */
	CHECK_RC(reserve_ttl(e, "kept", 1, 1000), QUOTA_OK);
	CHECK_RC(quota_claim_commit(e, "prod", "kept", NULL, 0), QUOTA_OK);
	test_clock_advance_ms(&clk, 10000);
	CHECK_RC(quota_engine_tick(e, 0, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "prod", "kept"), QUOTA_CLAIM_GRANTED);
	CHECK_EQ_INT(test_claim_state(e, "prod", "forever"), QUOTA_CLAIM_RESERVED);
	/* "later" has a 100 s TTL from at most 6 s; the clock is at 11 s */
	CHECK_EQ_INT(test_claim_state(e, "prod", "later"), QUOTA_CLAIM_RESERVED);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 1, 3, 6);
	quota_engine_free(e);
}

static void test_tick_forgets_released(void)
{
	struct test_clock clk;
	quota_engine *e = test_engine(&clk, 1000);
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_RC(test_register(e, VCPUS, NULL, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 10, NULL), QUOTA_OK);
	CHECK_RC(reserve_ttl(e, "a", 1, 0), QUOTA_OK);
	CHECK_RC(reserve_ttl(e, "b", 1, 500), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "prod", "a"), QUOTA_OK);

	test_clock_advance_ms(&clk, 600); /* b expires at 500 */
	uint64_t expired = 0;
	CHECK_RC(quota_engine_tick(e, 0, &expired), QUOTA_OK);
	CHECK_EQ_INT(expired, 1);
	CHECK_EQ_INT(test_claim_state(e, "prod", "a"), QUOTA_CLAIM_RELEASED);
	CHECK_EQ_INT(test_claim_state(e, "prod", "b"), QUOTA_CLAIM_RELEASED);

	test_clock_advance_ms(&clk, 500); /* a released at 0, now 1100 */
	CHECK_RC(quota_engine_tick(e, 0, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "prod", "a"), QUOTA_ERR_NOT_FOUND);
	CHECK_EQ_INT(test_claim_state(e, "prod", "b"), QUOTA_CLAIM_RELEASED);

	/* b expired at 500 and was seen expired at 600; now 1700 */
	test_clock_advance_ms(&clk, 600);
	CHECK_RC(quota_engine_tick(e, 0, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "prod", "b"), QUOTA_ERR_NOT_FOUND);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 0, 10);
	quota_engine_free(e);
}

int main(void)
{
	RUN(test_options_defaults);
	RUN(test_engine_new_validation);
	RUN(test_clock);
	RUN(test_default_clock_is_realtime);
	RUN(test_tick);
	RUN(test_tick_forgets_released);
	return check_exit();
}
