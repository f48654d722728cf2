/*
 * claim.h: reserve / commit / release / acquire / check / resize / get /
 * iterate; all-or-nothing across requests; idempotency and CONFLICT;
 * settlement; TTL expiry (lazy and by tick) on an injected clock; released
 * claims forgotten after their retention; and every kind of bad input,
 * each refused with its code, a detail naming the field, and no change.
 *
 * SPDX-License-Identifier: MIT
 */
#include <quota/quota.h>

#include "check.h"

#define GROUP "rm.example.com"
#define VCPUS "compute.example.com/vcpus"
#define MEM "compute.example.com/memory"
#define DISK "compute.example.com/disk"
#define IPS "network.example.com/ips"
#define UNL "compute.example.com/unlimited"
#define PROJ "rm.example.com/projects"

static const quota_ref acme = {.api_group = GROUP, .kind = "Organization", .name = "acme"};
static const quota_ref globex = {.api_group = GROUP, .kind = "Organization", .name = "globex"};
static const quota_ref vm1 = {.api_group = "compute.example.com", .kind = "Instance",
			      .ns = "acme-prod", .name = "vm-1"};

static struct test_clock clk;

static quota_engine *setup(int64_t retention_ms)
{
	quota_engine *e = test_engine(&clk, retention_ms);
	quota_registration r;
	static const quota_kind_ref ip_claimers[] = {
		{.api_group = "compute.example.com", .kind = "Instance"},
		{.api_group = NULL, .kind = "LoadBalancer"},
	};
	if (!e)
		return NULL;
	CHECK_RC(test_register(e, VCPUS, GROUP, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_register(e, MEM, GROUP, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_register(e, DISK, GROUP, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_register(e, UNL, GROUP, "Organization", QUOTA_UNLIMITED), QUOTA_OK);
	CHECK_RC(test_register(e, PROJ, NULL, "Project", 0), QUOTA_OK);
	quota_registration_init(&r, sizeof r);
	r.resource_type = IPS;
	r.consumer_type.api_group = GROUP;
	r.consumer_type.kind = "Organization";
	r.claiming_resources = ip_claimers;
	r.claiming_resource_count = 2;
	r.default_limit = 10;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "cpu", &acme, VCPUS, 10, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "mem", &acme, MEM, 100, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "disk", &acme, DISK, 5, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "g-cpu", &globex, VCPUS, 10, NULL), QUOTA_OK);
	return e;
}

static int64_t now(void)
{
	return atomic_load(&clk.ns);
}

static const quota_allocation *find_alloc(const quota_claim_info *ci, const char *type)
{
	for (uint32_t i = 0; i < ci->allocation_count; i++)
		if (ci->allocations[i] && strcmp(TEST_S_(ci->allocations[i]->resource_type), type) == 0)
			return ci->allocations[i];
	return NULL;
}

/* amount held by a claim for a type, or a negative status */
static int64_t held(quota_engine *e, const char *ns, const char *name, const char *type)
{
	quota_claim_info *ci = NULL;
	int rc = quota_claim_get(e, ns, name, &ci);
	if (rc != QUOTA_OK)
		return rc;
	const quota_allocation *a = find_alloc(ci, type);
	int64_t v = a ? a->amount : -100;
	quota_free(ci);
	return v;
}

static char snap_before[65536], snap_after[65536];

static void snapshot(quota_engine *e, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	test_snapshot_buckets_claims(e, buf, cap, &n);
}

#define SNAP_BEFORE(e) snapshot((e), snap_before, sizeof snap_before)
#define CHECK_UNCHANGED(e)                                                                   \
	do {                                                                                 \
		snapshot((e), snap_after, sizeof snap_after);                                \
		if (strcmp(snap_before, snap_after) != 0)                                    \
			check_fail_(__FILE__, __LINE__, "the engine changed:\n%s---\n%s",      \
				    snap_before, snap_after);                                \
	} while (0)

/* ---- the life of a claim ----------------------------------------------- */

static void test_lifecycle(void)
{
	quota_engine *e = setup(60000);
	struct test_claim t;
	quota_answer a;
	quota_claim_info *ci = NULL;
	CHECK(e != NULL);
	if (!e)
		return;

	test_claim_init(&t, "prod", "c1", &acme);
	t.c.resource = vm1;
	test_claim_add(&t, VCPUS, 4);
	test_claim_add(&t, MEM, 30);
	memset(&a, 0x11, sizeof a);
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_reserve(e, &t.c, &a), QUOTA_OK);
	CHECK_EQ_INT(a.status, QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_RESERVED);
	CHECK_EQ_INT(a.flags, 0);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 4, 6);
	CHECK_BUCKET(e, &acme, MEM, 100, 0, 30, 70);
	struct test_bucket b = test_bucket_read(e, &acme, VCPUS);
	CHECK_EQ_INT(b.reserved_count, 1);
	CHECK_EQ_INT(b.claim_count, 0);

	int64_t t0 = now();
	CHECK_RC(quota_claim_get(e, "prod", "c1", &ci), QUOTA_OK);
	if (ci) {
		CHECK_STR_EQ(ci->ns, "prod");
		CHECK_STR_EQ(ci->name, "c1");
		CHECK_STR_EQ(ci->consumer.api_group, GROUP);
		CHECK_STR_EQ(ci->consumer.kind, "Organization");
		CHECK_STR_EQ(ci->consumer.name, "acme");
		CHECK_STR_EQ(ci->resource.api_group, "compute.example.com");
		CHECK_STR_EQ(ci->resource.kind, "Instance");
		CHECK_STR_EQ(ci->resource.ns, "acme-prod");
		CHECK_STR_EQ(ci->resource.name, "vm-1");
		CHECK_EQ_INT(ci->state, QUOTA_CLAIM_RESERVED);
		CHECK_EQ_INT(ci->created_ns, t0);
		CHECK_EQ_INT(ci->expires_ns, 0);
		CHECK_EQ_INT(ci->allocation_count, 2);
		const quota_allocation *av = find_alloc(ci, VCPUS), *am = find_alloc(ci, MEM);
		CHECK(av != NULL && am != NULL);
		if (av && am) {
			CHECK_EQ_INT(av->requested, 4);
			CHECK_EQ_INT(av->amount, 4);
			CHECK_STR_EQ(av->bucket, "Organization//acme:" VCPUS);
			CHECK_EQ_INT(am->requested, 30);
			CHECK_EQ_INT(am->amount, 30);
			CHECK_STR_EQ(am->bucket, "Organization//acme:" MEM);
		}
	}
	quota_free(ci);
	ci = NULL;

	/* commit: reserved becomes allocated */
	test_clock_advance_ms(&clk, 5);
	CHECK_RC(quota_claim_commit(e, "prod", "c1", NULL, 0), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 4, 0, 6);
	CHECK_BUCKET(e, &acme, MEM, 100, 30, 0, 70);
	b = test_bucket_read(e, &acme, VCPUS);
	CHECK_EQ_INT(b.reserved_count, 0);
	CHECK_EQ_INT(b.claim_count, 1);
	CHECK_RC(quota_claim_get(e, "prod", "c1", &ci), QUOTA_OK);
	if (ci) {
		CHECK_EQ_INT(ci->state, QUOTA_CLAIM_GRANTED);
		CHECK_EQ_INT(ci->created_ns, t0);
		CHECK_EQ_INT(ci->updated_ns, t0 + 5 * MS_NS);
	}
	quota_free(ci);

	/* commit again: a no-op, settlement ignored */
	CHECK_RC(quota_claim_commit(e, "prod", "c1", NULL, 0), QUOTA_OK);
	quota_request settle;
	quota_request_init(&settle, sizeof settle);
	settle.resource_type = VCPUS;
	settle.amount = 1;
	CHECK_RC(quota_claim_commit(e, "prod", "c1", &settle, 1), QUOTA_OK);
	CHECK_EQ_INT(held(e, "prod", "c1", VCPUS), 4);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 4, 0, 6);

	/* release: capacity returns; again is a no-op; commit is refused */
	CHECK_RC(quota_claim_release(e, "prod", "c1"), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 0, 10);
	CHECK_BUCKET(e, &acme, MEM, 100, 0, 0, 100);
	b = test_bucket_read(e, &acme, VCPUS);
	CHECK_EQ_INT(b.claim_count, 0);
	CHECK_EQ_INT(test_claim_state(e, "prod", "c1"), QUOTA_CLAIM_RELEASED);
	CHECK_RC(quota_claim_release(e, "prod", "c1"), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 0, 10);
	CHECK_RC(quota_claim_commit(e, "prod", "c1", NULL, 0), QUOTA_ERR_WRONG_STATE);
	CHECK_EQ_INT(test_claim_state(e, "prod", "c1"), QUOTA_CLAIM_RELEASED);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 0, 10);

	/* release a reservation directly */
	test_claim_init(&t, "prod", "c2", &acme);
	test_claim_add(&t, VCPUS, 3);
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "prod", "c2"), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 0, 10);
	b = test_bucket_read(e, &acme, VCPUS);
	CHECK_EQ_INT(b.reserved_count, 0);

	/* acquire: granted at once */
	test_claim_init(&t, "prod", "c3", &acme);
	test_claim_add(&t, VCPUS, 7);
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_acquire(e, &t.c, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_GRANTED);
	CHECK_EQ_INT(a.flags, 0);
	CHECK_EQ_INT(test_claim_state(e, "prod", "c3"), QUOTA_CLAIM_GRANTED);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 7, 0, 3);

	/* errors of commit, release, get */
	CHECK_RC(quota_claim_commit(e, "prod", "unknown", NULL, 0), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_claim_commit(e, "other", "c3", NULL, 0), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_claim_commit(e, "prod", NULL, NULL, 0), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_commit(NULL, "prod", "c3", NULL, 0), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_release(e, "prod", "unknown"), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_claim_release(e, "prod", NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_release(e, "prod", ""), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_release(NULL, "prod", "c3"), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_get(e, "prod", "unknown", &ci), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_claim_get(NULL, "prod", "c3", &ci), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_get(e, "prod", NULL, &ci), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_get(e, "prod", "c3", NULL), QUOTA_ERR_INVALID);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 7, 0, 3);

	/* a claim without a namespace */
	test_claim_init(&t, NULL, "cluster", &acme);
	test_claim_add(&t, VCPUS, 1);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "", "cluster"), QUOTA_CLAIM_GRANTED);
	CHECK_RC(quota_claim_release(e, "", "cluster"), QUOTA_OK);
	quota_engine_free(e);
}

static void test_idempotency(void)
{
	quota_engine *e = setup(60000);
	struct test_claim t, u;
	quota_answer a;
	CHECK(e != NULL);
	if (!e)
		return;

	test_claim_init(&t, "prod", "c", &acme);
	t.c.resource = vm1;
	test_claim_add(&t, VCPUS, 4);
	test_claim_add(&t, MEM, 10);
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 4, 6);

	/* the same again: the existing state, flagged, charged once */
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_reserve(e, &t.c, &a), QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_EXISTED);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_RESERVED);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 4, 6);
	CHECK_BUCKET(e, &acme, MEM, 100, 0, 10, 90);

	/* the requests in another order are the same set; the TTL is not spec */
	test_claim_init(&u, "prod", "c", &acme);
	u.c.resource = vm1;
	test_claim_add(&u, MEM, 10);
	test_claim_add(&u, VCPUS, 4);
	u.c.ttl_ms = 123456;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_reserve(e, &u.c, &a), QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_EXISTED);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 4, 6);

	/* acquire of the identical reserved claim commits it, once */
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_acquire(e, &t.c, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_GRANTED);
	CHECK_EQ_INT(test_claim_state(e, "prod", "c"), QUOTA_CLAIM_GRANTED);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 4, 0, 6);
	CHECK_BUCKET(e, &acme, MEM, 100, 10, 0, 90);

	/* and again: returned as is */
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_acquire(e, &t.c, &a), QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_EXISTED);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_GRANTED);
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_reserve(e, &t.c, &a), QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_EXISTED);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_GRANTED);
	CHECK_EQ_INT(test_claim_state(e, "prod", "c"), QUOTA_CLAIM_GRANTED);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 4, 0, 6);

	/* another spec under the same name: CONFLICT, nothing changes */
	SNAP_BEFORE(e);
	t.r[0].amount = 5;
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_ERR_CONFLICT);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_ERR_CONFLICT);
	t.r[0].amount = 4;
	t.c.consumer = globex;
	t.c.request_count = 1; /* globex has no memory grant */
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_ERR_CONFLICT);
	t.c.consumer = acme;
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_ERR_CONFLICT); /* fewer requests */
	t.c.request_count = 2;
	t.c.resource.name = "vm-2";
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_ERR_CONFLICT);
	t.c.resource = vm1;
	test_claim_add(&t, DISK, 1);
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_ERR_CONFLICT); /* more requests */
	t.c.request_count = 2;
	t.r[1].resource_type = DISK;
	t.r[1].amount = 1;
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_ERR_CONFLICT); /* other type */
	CHECK_UNCHANGED(e);

	/* the namespace is part of the identity */
	test_claim_init(&u, "staging", "c", &acme);
	test_claim_add(&u, VCPUS, 1);
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_reserve(e, &u.c, &a), QUOTA_OK);
	CHECK_EQ_INT(a.flags & QUOTA_ANSWER_EXISTED, 0);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 4, 1, 5);
	quota_engine_free(e);
}

static void test_all_or_nothing(void)
{
	quota_engine *e = setup(60000);
	struct test_claim t;
	quota_answer a;
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_RC(quota_consume(e, &acme, DISK, 1, NULL), QUOTA_OK);

	test_claim_init(&t, "prod", "big", &acme);
	test_claim_add(&t, VCPUS, 4);
	test_claim_add(&t, MEM, 50);
	test_claim_add(&t, DISK, 5);
	SNAP_BEFORE(e);
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_reserve(e, &t.c, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.binding_request, 2);
	CHECK_EQ_INT(a.requested, 5);
	CHECK_EQ_INT(a.available, 4);
	CHECK_EQ_INT(a.limit, 5);
	CHECK_STR_EQ(a.bucket, "Organization//acme:" DISK);
	CHECK_UNCHANGED(e);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 0, 10);
	CHECK_BUCKET(e, &acme, MEM, 100, 0, 0, 100);
	CHECK_BUCKET(e, &acme, DISK, 5, 1, 0, 4);
	CHECK_EQ_INT(test_claim_state(e, "prod", "big"), QUOTA_ERR_NOT_FOUND);

	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_acquire(e, &t.c, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.binding_request, 2);
	CHECK_UNCHANGED(e);
	CHECK_EQ_INT(test_claim_state(e, "prod", "big"), QUOTA_ERR_NOT_FOUND);

	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_check(e, &t.c, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.binding_request, 2);
	CHECK_UNCHANGED(e);

	/* first binding in request order when two do not fit */
	t.r[0].amount = 11;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_reserve(e, &t.c, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.binding_request, 0);
	CHECK_STR_EQ(a.bucket, "Organization//acme:" VCPUS);
	CHECK_UNCHANGED(e);

	/* fits exactly */
	t.r[0].amount = 10;
	t.r[2].amount = 4;
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 10, 0);
	CHECK_BUCKET(e, &acme, MEM, 100, 0, 50, 50);
	CHECK_BUCKET(e, &acme, DISK, 5, 1, 4, 0);
	quota_engine_free(e);
}

static void test_check(void)
{
	quota_engine *e = setup(60000);
	struct test_claim t;
	quota_answer a;
	CHECK(e != NULL);
	if (!e)
		return;
	test_claim_init(&t, "prod", "probe", &acme);
	test_claim_add(&t, VCPUS, 6);
	SNAP_BEFORE(e);
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_check(e, &t.c, &a), QUOTA_OK);
	CHECK_EQ_INT(a.status, QUOTA_OK);
	CHECK_UNCHANGED(e);
	CHECK_EQ_INT(test_claim_state(e, "prod", "probe"), QUOTA_ERR_NOT_FOUND);

	t.r[0].amount = 11;
	CHECK_RC(quota_claim_check(e, &t.c, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_UNCHANGED(e);

	/* an existing claim of that name is not considered: 6 + 6 > 10 */
	t.r[0].amount = 6;
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	SNAP_BEFORE(e);
	CHECK_RC(quota_claim_check(e, &t.c, NULL), QUOTA_ERR_EXCEEDED);
	t.r[0].amount = 4;
	CHECK_RC(quota_claim_check(e, &t.c, NULL), QUOTA_OK);
	CHECK_UNCHANGED(e);
	CHECK_EQ_INT(held(e, "prod", "probe", VCPUS), 6);
	quota_engine_free(e);
}

static void test_commit_settle(void)
{
	quota_engine *e = setup(60000);
	struct test_claim t;
	quota_request s[3];
	quota_claim_info *ci = NULL;
	CHECK(e != NULL);
	if (!e)
		return;
	for (int i = 0; i < 3; i++)
		quota_request_init(&s[i], sizeof s[i]);

	test_claim_init(&t, "prod", "s", &acme);
	test_claim_add(&t, VCPUS, 6);
	test_claim_add(&t, MEM, 50);
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);

	/* bad settlements: INVALID naming the field; nothing changes */
	SNAP_BEFORE(e);
	s[0].resource_type = VCPUS;
	s[0].amount = 7;
	CHECK_RC(quota_claim_commit(e, "prod", "s", s, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("actual[0]");
	s[0].amount = -1;
	CHECK_RC(quota_claim_commit(e, "prod", "s", s, 1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("actual[0]");
	s[0].amount = 4;
	s[1].resource_type = DISK;
	s[1].amount = 1;
	CHECK_RC(quota_claim_commit(e, "prod", "s", s, 2), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("actual[1]");
	s[1].resource_type = VCPUS;
	CHECK_RC(quota_claim_commit(e, "prod", "s", s, 2), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_commit(e, "prod", "s", NULL, 1), QUOTA_ERR_INVALID);
	s[1].resource_type = MEM;
	s[1].amount = 51;
	CHECK_RC(quota_claim_commit(e, "prod", "s", s, 2), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("actual[1]");
	CHECK_UNCHANGED(e);
	CHECK_EQ_INT(test_claim_state(e, "prod", "s"), QUOTA_CLAIM_RESERVED);

	/* settle vcpus at 4: the 2 return at once; memory commits in full */
	CHECK_RC(quota_claim_commit(e, "prod", "s", s, 1), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 4, 0, 6);
	CHECK_BUCKET(e, &acme, MEM, 100, 50, 0, 50);
	CHECK_RC(quota_claim_get(e, "prod", "s", &ci), QUOTA_OK);
	if (ci) {
		CHECK_EQ_INT(ci->state, QUOTA_CLAIM_GRANTED);
		const quota_allocation *av = find_alloc(ci, VCPUS), *am = find_alloc(ci, MEM);
		CHECK(av && am);
		if (av && am) {
			CHECK_EQ_INT(av->requested, 6);
			CHECK_EQ_INT(av->amount, 4);
			CHECK_EQ_INT(am->requested, 50);
			CHECK_EQ_INT(am->amount, 50);
		}
	}
	quota_free(ci);

	/* settle at 0 and at the full amount */
	test_claim_init(&t, "prod", "s2", &acme);
	test_claim_add(&t, VCPUS, 3);
	test_claim_add(&t, MEM, 20);
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	s[0].resource_type = MEM;
	s[0].amount = 0;
	s[1].resource_type = VCPUS;
	s[1].amount = 3;
	CHECK_RC(quota_claim_commit(e, "prod", "s2", s, 2), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 7, 0, 3);
	CHECK_BUCKET(e, &acme, MEM, 100, 50, 0, 50);
	CHECK_EQ_INT(held(e, "prod", "s2", MEM), 0);

	/* releasing a settled claim returns what it holds, no more */
	CHECK_RC(quota_claim_release(e, "prod", "s"), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 3, 0, 7);
	CHECK_BUCKET(e, &acme, MEM, 100, 0, 0, 100);
	quota_engine_free(e);
}

static void test_resize(void)
{
	quota_engine *e = setup(60000);
	struct test_claim t;
	quota_request r[3];
	quota_answer a;
	CHECK(e != NULL);
	if (!e)
		return;
	for (int i = 0; i < 3; i++)
		quota_request_init(&r[i], sizeof r[i]);
	CHECK_RC(test_grant(e, NULL, "mem", &acme, MEM, 20, NULL), QUOTA_OK);

	test_claim_init(&t, "prod", "rz", &acme);
	test_claim_add(&t, VCPUS, 4);
	test_claim_add(&t, MEM, 10);
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);

	/* only a granted claim */
	r[0].resource_type = VCPUS;
	r[0].amount = 5;
	SNAP_BEFORE(e);
	CHECK_RC(quota_claim_resize(e, "prod", "rz", r, 1, NULL), QUOTA_ERR_WRONG_STATE);
	CHECK_UNCHANGED(e);
	CHECK_RC(quota_claim_resize(e, "prod", "none", r, 1, NULL), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_claim_commit(e, "prod", "rz", NULL, 0), QUOTA_OK);

	/* increase that fits */
	r[0].amount = 8;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_resize(e, "prod", "rz", r, 1, &a), QUOTA_OK);
	CHECK_EQ_INT(a.status, QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 8, 0, 2);
	CHECK_EQ_INT(held(e, "prod", "rz", VCPUS), 8);
	CHECK_EQ_INT(held(e, "prod", "rz", MEM), 10);

	/* increase that does not fit */
	SNAP_BEFORE(e);
	r[0].amount = 11;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_resize(e, "prod", "rz", r, 1, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.status, QUOTA_ERR_EXCEEDED);
	CHECK_STR_EQ(a.bucket, "Organization//acme:" VCPUS);
	CHECK_UNCHANGED(e);

	/* atomic: vcpus would fit, memory would not: neither changes */
	r[0].amount = 9;
	r[1].resource_type = MEM;
	r[1].amount = 21;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_resize(e, "prod", "rz", r, 2, &a), QUOTA_ERR_EXCEEDED);
	CHECK_STR_EQ(a.bucket, "Organization//acme:" MEM);
	CHECK_UNCHANGED(e);

	/* bad requests */
	r[1].resource_type = DISK;
	r[1].amount = 1;
	CHECK_RC(quota_claim_resize(e, "prod", "rz", r, 2, NULL), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("requests[1]");
	r[1].resource_type = VCPUS;
	CHECK_RC(quota_claim_resize(e, "prod", "rz", r, 2, NULL), QUOTA_ERR_INVALID);
	r[1].resource_type = MEM;
	r[1].amount = -1;
	CHECK_RC(quota_claim_resize(e, "prod", "rz", r, 2, NULL), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("requests[1].amount");
	CHECK_RC(quota_claim_resize(e, "prod", "rz", NULL, 1, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_resize(e, "prod", NULL, r, 1, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_resize(NULL, "prod", "rz", r, 1, NULL), QUOTA_ERR_INVALID);
	CHECK_UNCHANGED(e);

	/* decreases always succeed, even over a lowered limit */
	CHECK_RC(test_grant(e, NULL, "cpu", &acme, VCPUS, 2, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 2, 8, 0, 0);
	r[0].amount = 5;
	CHECK_RC(quota_claim_resize(e, "prod", "rz", r, 1, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 2, 5, 0, 0);
	r[0].amount = 6;
	CHECK_RC(quota_claim_resize(e, "prod", "rz", r, 1, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_BUCKET(e, &acme, VCPUS, 2, 5, 0, 0);
	r[0].amount = 0;
	r[1].resource_type = MEM;
	r[1].amount = 3;
	CHECK_RC(quota_claim_resize(e, "prod", "rz", r, 2, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 2, 0, 0, 2);
	CHECK_BUCKET(e, &acme, MEM, 20, 3, 0, 17);
	CHECK_EQ_INT(held(e, "prod", "rz", VCPUS), 0);

	/* a released claim cannot be resized */
	CHECK_RC(quota_claim_release(e, "prod", "rz"), QUOTA_OK);
	CHECK_BUCKET(e, &acme, MEM, 20, 0, 0, 20);
	r[0].amount = 1;
	CHECK_RC(quota_claim_resize(e, "prod", "rz", r, 1, NULL), QUOTA_ERR_WRONG_STATE);
	CHECK_BUCKET(e, &acme, VCPUS, 2, 0, 0, 2);

	/* unlimited bucket: an increase that would pass INT64_MAX */
	CHECK_RC(quota_consume(e, &acme, UNL, INT64_MAX - 5, NULL), QUOTA_OK);
	test_claim_init(&t, "prod", "u", &acme);
	test_claim_add(&t, UNL, 1);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	r[0].resource_type = UNL;
	r[0].amount = 6; /* INT64_MAX - 4 + 5 */
	SNAP_BEFORE(e);
	CHECK_RC(quota_claim_resize(e, "prod", "u", r, 1, NULL), QUOTA_ERR_OVERFLOW);
	CHECK_UNCHANGED(e);
	r[0].amount = 5;
	CHECK_RC(quota_claim_resize(e, "prod", "u", r, 1, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, UNL, -1, INT64_MAX, 0, -1);
	quota_engine_free(e);
}

static int reserve_ttl(quota_engine *e, const char *name, const char *type, int64_t amount,
		       int64_t ttl_ms)
{
	struct test_claim t;
	test_claim_init(&t, "prod", name, &acme);
	test_claim_add(&t, type, amount);
	t.c.ttl_ms = ttl_ms;
	return quota_claim_reserve(e, &t.c, NULL);
}

static void test_ttl(void)
{
	quota_engine *e = setup(60000);
	quota_claim_info *ci = NULL;
	CHECK(e != NULL);
	if (!e)
		return;

	/* A holds 8 of 10 for one second; B (5) does not fit meanwhile */
	int64_t t0 = now();
	CHECK_RC(reserve_ttl(e, "A", VCPUS, 8, 1000), QUOTA_OK);
	CHECK_RC(quota_claim_get(e, "prod", "A", &ci), QUOTA_OK);
	if (ci)
		CHECK_EQ_INT(ci->expires_ns, t0 + 1000 * MS_NS);
	quota_free(ci);
	CHECK_RC(reserve_ttl(e, "B", VCPUS, 5, 0), QUOTA_ERR_EXCEEDED);
	test_clock_advance_ms(&clk, 999);
	CHECK_RC(reserve_ttl(e, "B", VCPUS, 5, 0), QUOTA_ERR_EXCEEDED);

	/* past A's TTL, B fits without any tick: expiry is lazy */
	test_clock_advance_ms(&clk, 2);
	CHECK_RC(reserve_ttl(e, "B", VCPUS, 5, 0), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 5, 5);
	CHECK_EQ_INT(test_claim_state(e, "prod", "A"), QUOTA_CLAIM_RELEASED);
	CHECK_RC(quota_claim_commit(e, "prod", "A", NULL, 0), QUOTA_ERR_WRONG_STATE);
	CHECK_RC(quota_claim_release(e, "prod", "A"), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 5, 5);

	/* commit of an expired reservation that nothing else has touched */
	CHECK_RC(reserve_ttl(e, "D", MEM, 30, 100), QUOTA_OK);
	CHECK_BUCKET(e, &acme, MEM, 100, 0, 30, 70);
	test_clock_advance_ms(&clk, 101);
	CHECK_RC(quota_claim_commit(e, "prod", "D", NULL, 0), QUOTA_ERR_WRONG_STATE);
	CHECK_EQ_INT(test_claim_state(e, "prod", "D"), QUOTA_CLAIM_RELEASED);
	CHECK_BUCKET(e, &acme, MEM, 100, 0, 0, 100);

	/* a lazy expiry also lets acquire through */
	CHECK_RC(reserve_ttl(e, "E", DISK, 5, 50), QUOTA_OK);
	test_clock_advance_ms(&clk, 51);
	struct test_claim t;
	test_claim_init(&t, "prod", "F", &acme);
	test_claim_add(&t, DISK, 5);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, DISK, 5, 5, 0, 0);
	CHECK_EQ_INT(test_claim_state(e, "prod", "E"), QUOTA_CLAIM_RELEASED);
	CHECK_RC(quota_claim_release(e, "prod", "F"), QUOTA_OK);

	/* by tick */
	uint64_t expired = 0;
	CHECK_RC(reserve_ttl(e, "C", MEM, 2, 500), QUOTA_OK);
	CHECK_RC(reserve_ttl(e, "C2", DISK, 1, 500), QUOTA_OK);
	test_clock_advance_ms(&clk, 501);
	CHECK_RC(quota_engine_tick(e, 0, &expired), QUOTA_OK);
	CHECK_EQ_INT(expired, 2);
	CHECK_BUCKET(e, &acme, MEM, 100, 0, 0, 100);
	CHECK_BUCKET(e, &acme, DISK, 5, 0, 0, 5);
	CHECK_EQ_INT(test_claim_state(e, "prod", "C"), QUOTA_CLAIM_RELEASED);

	/* committed in time: never expires; acquire ignores the TTL */
	CHECK_RC(reserve_ttl(e, "G", MEM, 1, 1000), QUOTA_OK);
	test_clock_advance_ms(&clk, 500);
	CHECK_RC(quota_claim_commit(e, "prod", "G", NULL, 0), QUOTA_OK);
	test_claim_init(&t, "prod", "H", &acme);
	test_claim_add(&t, MEM, 1);
	t.c.ttl_ms = 10;
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	test_clock_advance_ms(&clk, 5000);
	CHECK_RC(quota_engine_tick(e, 0, &expired), QUOTA_OK);
	CHECK_EQ_INT(expired, 0);
	CHECK_EQ_INT(test_claim_state(e, "prod", "G"), QUOTA_CLAIM_GRANTED);
	CHECK_EQ_INT(test_claim_state(e, "prod", "H"), QUOTA_CLAIM_GRANTED);
	CHECK_EQ_INT(test_claim_state(e, "prod", "B"), QUOTA_CLAIM_RESERVED); /* no TTL */
	CHECK_BUCKET(e, &acme, MEM, 100, 2, 0, 98);
	quota_engine_free(e);
}

static void test_retention(void)
{
	quota_engine *e = setup(1000);
	struct test_claim t;
	CHECK(e != NULL);
	if (!e)
		return;
	test_claim_init(&t, "prod", "x", &acme);
	test_claim_add(&t, VCPUS, 2);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "prod", "x"), QUOTA_OK);
	test_claim_init(&t, "prod", "y", &acme);
	test_claim_add(&t, VCPUS, 2);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "prod", "y"), QUOTA_OK);

	test_clock_advance_ms(&clk, 999);
	CHECK_RC(quota_engine_tick(e, 0, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "prod", "x"), QUOTA_CLAIM_RELEASED);
	CHECK_RC(quota_claim_release(e, "prod", "x"), QUOTA_OK);
	CHECK_RC(quota_claim_commit(e, "prod", "x", NULL, 0), QUOTA_ERR_WRONG_STATE);

	/* past the retention: unknown, by tick or lazily */
	test_clock_advance_ms(&clk, 2);
	CHECK_RC(quota_engine_tick(e, 0, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "prod", "x"), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_claim_release(e, "prod", "x"), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_claim_commit(e, "prod", "x", NULL, 0), QUOTA_ERR_NOT_FOUND);
	quota_engine_free(e);

	/* lazily: no tick at all */
	e = setup(1000);
	CHECK(e != NULL);
	if (!e)
		return;
	test_claim_init(&t, "prod", "y", &acme);
	test_claim_add(&t, VCPUS, 2);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "prod", "y"), QUOTA_OK);
	test_clock_advance_ms(&clk, 1001);
	CHECK_EQ_INT(test_claim_state(e, "prod", "y"), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_claim_release(e, "prod", "y"), QUOTA_ERR_NOT_FOUND);
	/* and the name is free for another spec */
	test_claim_init(&t, "prod", "y", &acme);
	test_claim_add(&t, VCPUS, 3);
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 3, 7);
	quota_engine_free(e);

	/* retention 0: forgotten at once */
	e = setup(0);
	CHECK(e != NULL);
	if (!e)
		return;
	test_claim_init(&t, "prod", "z", &acme);
	test_claim_add(&t, VCPUS, 2);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "prod", "z"), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "prod", "z"), QUOTA_ERR_NOT_FOUND);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 0, 10);
	quota_engine_free(e);
}

/* ---- bad input --------------------------------------------------------- */

static char s254[255];

/* The valid claim every bad-input case starts from. */
static void good_claim(struct test_claim *t)
{
	test_claim_init(t, "prod", "bad", &acme);
	t->c.resource = vm1;
	test_claim_add(t, VCPUS, 1);
	test_claim_add(t, MEM, 1);
}

typedef void (*claim_mutation)(struct test_claim *t);

/*
 * reserve, acquire and check of the mutated claim must each return code,
 * name the field in the detail, store nothing and change nothing.
 */
static void expect_refused_(int line, quota_engine *e, claim_mutation mut, int code,
			    const char *field)
{
	static const char *const ops[] = {"reserve", "acquire", "check"};
	struct test_claim t;
	SNAP_BEFORE(e);
	for (int k = 0; k < 3; k++) {
		good_claim(&t);
		mut(&t);
		quota_answer a;
		quota_answer_init(&a, sizeof a);
		int rc = k == 0 ? quota_claim_reserve(e, &t.c, &a)
		       : k == 1 ? quota_claim_acquire(e, &t.c, &a)
				: quota_claim_check(e, &t.c, &a);
		if (rc != code) {
			check_fail_(__FILE__, line, "%s: %s, expected %s", ops[k],
				    quota_strerror(rc), quota_strerror(code));
			continue;
		}
		if (field && !check_err_mentions_(field))
			check_fail_(__FILE__, line, "%s: detail does not name \"%s\"", ops[k],
				    field);
		if (a.status != code)
			check_fail_(__FILE__, line, "%s: answer.status %d, expected %d", ops[k],
				    a.status, code);
		snapshot(e, snap_after, sizeof snap_after);
		if (strcmp(snap_before, snap_after) != 0)
			check_fail_(__FILE__, line, "%s changed the engine:\n%s---\n%s", ops[k],
				    snap_before, snap_after);
		int st = test_claim_state(e, "prod", "bad");
		if (st != QUOTA_ERR_NOT_FOUND)
			check_fail_(__FILE__, line, "%s stored the claim (get: %d)", ops[k], st);
	}
}
#define EXPECT_REFUSED(e, mut, code, field) expect_refused_(__LINE__, (e), (mut), (code), (field))

#define CMUT(name, body)                                                                     \
	static void name(struct test_claim *t)                                               \
	{                                                                                    \
		body;                                                                        \
	}

CMUT(name_null, t->c.name = NULL)
CMUT(name_empty, t->c.name = "")
CMUT(name_254, t->c.name = s254)
CMUT(name_bad_utf8, t->c.name = "bad\xff")
CMUT(name_overlong_utf8, t->c.name = "bad\xc0\x80")
CMUT(name_ctl, t->c.name = "bad\n")
CMUT(ns_bad_utf8, t->c.ns = "pr\xffod")
CMUT(amount_0, t->r[1].amount = 0)
CMUT(amount_neg, t->r[1].amount = -5)
CMUT(amount_min, t->r[0].amount = INT64_MIN)
CMUT(dup_type, t->r[1].resource_type = VCPUS)
CMUT(type_null, t->r[1].resource_type = NULL)
CMUT(type_empty, t->r[1].resource_type = "")
CMUT(type_bad_utf8, t->r[1].resource_type = "mem\xff")
CMUT(no_requests, t->c.request_count = 0)
CMUT(null_requests, t->c.requests = NULL)
CMUT(request_size_differs, t->r[1].size = sizeof(quota_request) + 8)
CMUT(request_size_small, t->r[0].size = sizeof(size_t); t->r[1].size = sizeof(size_t))
CMUT(claim_size_0, t->c.size = 0)
CMUT(flags_set, t->c.flags = 1u << 7)
CMUT(ttl_neg, t->c.ttl_ms = -1)
CMUT(consumer_no_kind, t->c.consumer.kind = NULL)
CMUT(consumer_bad_kind, t->c.consumer.kind = "Org_1")
CMUT(consumer_no_name, t->c.consumer.name = "")
CMUT(resource_no_name, t->c.resource.name = NULL)
CMUT(resource_bad_kind, t->c.resource.kind = "1nstance")
CMUT(unknown_type, t->r[1].resource_type = "nope.example.com/x")
CMUT(consumer_kind_mismatch, t->c.consumer.kind = "Project"; t->c.consumer.ns = "acme")
CMUT(consumer_group_mismatch, t->c.consumer.api_group = "other.example.com")
CMUT(resource_not_claimer, t->r[1].resource_type = IPS; t->c.resource.kind = "Job")
CMUT(resource_group_mismatch, t->r[1].resource_type = IPS;
     t->c.resource.api_group = "other.example.com")
CMUT(resource_absent, t->r[1].resource_type = IPS; memset(&t->c.resource, 0, sizeof t->c.resource))
CMUT(overflow, t->r[1].resource_type = UNL; t->r[1].amount = 2)

static void twenty_one(struct test_claim *t)
{
	static char types[21][32];
	t->c.request_count = 0;
	for (int i = 0; i < 21; i++) {
		snprintf(types[i], sizeof types[i], "many.example.com/t%02d", i);
		test_claim_add(t, types[i], 1);
	}
}

static void test_bad_input(void)
{
	quota_engine *e = setup(60000);
	struct test_claim t;
	CHECK(e != NULL);
	if (!e)
		return;
	memset(s254, 'n', 254);
	/* some state for "unchanged" to mean something */
	test_claim_init(&t, "prod", "existing", &acme);
	test_claim_add(&t, VCPUS, 2);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	test_claim_init(&t, "prod", "held", &acme);
	test_claim_add(&t, MEM, 3);
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &acme, UNL, INT64_MAX - 1, NULL), QUOTA_OK);
	for (int i = 0; i < 21; i++) {
		char type[32];
		snprintf(type, sizeof type, "many.example.com/t%02d", i);
		CHECK_RC(test_register(e, type, GROUP, "Organization", 100), QUOTA_OK);
	}

	EXPECT_REFUSED(e, name_null, QUOTA_ERR_INVALID, "name");
	EXPECT_REFUSED(e, name_empty, QUOTA_ERR_INVALID, "name");
	EXPECT_REFUSED(e, name_254, QUOTA_ERR_INVALID, "name");
	EXPECT_REFUSED(e, name_bad_utf8, QUOTA_ERR_INVALID, "name");
	EXPECT_REFUSED(e, name_overlong_utf8, QUOTA_ERR_INVALID, "name");
	EXPECT_REFUSED(e, name_ctl, QUOTA_ERR_INVALID, "name");
	EXPECT_REFUSED(e, ns_bad_utf8, QUOTA_ERR_INVALID, "namespace|ns");
	EXPECT_REFUSED(e, amount_0, QUOTA_ERR_INVALID, "requests[1].amount");
	EXPECT_REFUSED(e, amount_neg, QUOTA_ERR_INVALID, "requests[1].amount");
	EXPECT_REFUSED(e, amount_min, QUOTA_ERR_INVALID, "requests[0].amount");
	EXPECT_REFUSED(e, dup_type, QUOTA_ERR_INVALID, "requests[1]");
	EXPECT_REFUSED(e, type_null, QUOTA_ERR_INVALID, "requests[1].resource_type");
	EXPECT_REFUSED(e, type_empty, QUOTA_ERR_INVALID, "requests[1].resource_type");
	EXPECT_REFUSED(e, type_bad_utf8, QUOTA_ERR_INVALID, "requests[1].resource_type");
	EXPECT_REFUSED(e, twenty_one, QUOTA_ERR_INVALID, "requests");
	EXPECT_REFUSED(e, no_requests, QUOTA_ERR_INVALID, "requests");
	EXPECT_REFUSED(e, null_requests, QUOTA_ERR_INVALID, "requests");
	EXPECT_REFUSED(e, request_size_differs, QUOTA_ERR_INVALID, "requests");
	EXPECT_REFUSED(e, request_size_small, QUOTA_ERR_INVALID, "requests");
	EXPECT_REFUSED(e, claim_size_0, QUOTA_ERR_INVALID, NULL);
	EXPECT_REFUSED(e, flags_set, QUOTA_ERR_INVALID, "flags");
	EXPECT_REFUSED(e, ttl_neg, QUOTA_ERR_INVALID, "ttl");
	EXPECT_REFUSED(e, consumer_no_kind, QUOTA_ERR_INVALID, "consumer");
	EXPECT_REFUSED(e, consumer_bad_kind, QUOTA_ERR_INVALID, "consumer");
	EXPECT_REFUSED(e, consumer_no_name, QUOTA_ERR_INVALID, "consumer");
	EXPECT_REFUSED(e, resource_no_name, QUOTA_ERR_INVALID, "resource");
	EXPECT_REFUSED(e, resource_bad_kind, QUOTA_ERR_INVALID, "resource");
	EXPECT_REFUSED(e, unknown_type, QUOTA_ERR_UNREGISTERED, "requests[1]|nope.example.com/x");
	EXPECT_REFUSED(e, consumer_kind_mismatch, QUOTA_ERR_NOT_ALLOWED, "consumer");
	EXPECT_REFUSED(e, consumer_group_mismatch, QUOTA_ERR_NOT_ALLOWED, "consumer");
	EXPECT_REFUSED(e, resource_not_claimer, QUOTA_ERR_NOT_ALLOWED, "resource");
	EXPECT_REFUSED(e, resource_group_mismatch, QUOTA_ERR_NOT_ALLOWED, "resource");
	EXPECT_REFUSED(e, resource_absent, QUOTA_ERR_NOT_ALLOWED, "resource");
	EXPECT_REFUSED(e, overflow, QUOTA_ERR_OVERFLOW, "requests[1]|" UNL);

	/* NULL engine and claim */
	good_claim(&t);
	SNAP_BEFORE(e);
	CHECK_RC(quota_claim_reserve(NULL, &t.c, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_acquire(NULL, &t.c, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_check(NULL, &t.c, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_reserve(e, NULL, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_acquire(e, NULL, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_check(e, NULL, NULL), QUOTA_ERR_INVALID);
	CHECK_UNCHANGED(e);

	/* the boundaries that are fine: 20 requests, 253-char name, claimers */
	test_claim_init(&t, "prod", "twenty", &acme);
	for (int i = 0; i < 20; i++) {
		static char types[20][32];
		snprintf(types[i], sizeof types[i], "many.example.com/t%02d", i);
		test_claim_add(&t, types[i], 1);
	}
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	s254[253] = '\0';
	good_claim(&t);
	t.c.name = s254;
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	good_claim(&t);
	t.c.name = "ip-instance";
	t.r[1].resource_type = IPS;
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	good_claim(&t);
	t.c.name = "ip-lb";
	t.r[1].resource_type = IPS;
	t.c.resource.kind = "LoadBalancer"; /* its entry has no api_group */
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, IPS, 10, 0, 2, 8);
	good_claim(&t);
	t.c.name = "no-resource";
	memset(&t.c.resource, 0, sizeof t.c.resource); /* optional without claimers */
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	quota_engine_free(e);
}

/* ---- iteration --------------------------------------------------------- */

static int count_claims(quota_engine *e, const quota_ref *c, int32_t state, int64_t *sum)
{
	quota_claim_iter *it = NULL;
	const quota_claim_info *ci = NULL;
	int n = 0, rc;
	*sum = 0;
	if ((rc = quota_claim_iter_new(e, c, state, &it)) != QUOTA_OK)
		return rc;
	while ((rc = quota_claim_iter_next(it, &ci)) == QUOTA_OK) {
		if (state)
			CHECK_EQ_INT(ci->state, state);
		if (c)
			CHECK_STR_EQ(ci->consumer.name, c->name);
		for (uint32_t i = 0; i < ci->allocation_count; i++)
			*sum += ci->allocations[i]->amount;
		n++;
	}
	CHECK_RC(rc, QUOTA_ITER_DONE);
	CHECK(ci == NULL);
	CHECK_RC(quota_claim_iter_next(it, &ci), QUOTA_ITER_DONE);
	quota_claim_iter_free(it);
	return n;
}

static void test_iter(void)
{
	quota_engine *e = setup(60000);
	struct test_claim t;
	int64_t sum;
	quota_claim_iter *it = NULL;
	const quota_claim_info *ci;
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_EQ_INT(count_claims(e, NULL, 0, &sum), 0);

	test_claim_init(&t, "prod", "r1", &acme);
	test_claim_add(&t, VCPUS, 1);
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	test_claim_init(&t, "prod", "g1", &acme);
	test_claim_add(&t, VCPUS, 2);
	test_claim_add(&t, MEM, 20);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	test_claim_init(&t, "prod", "g2", &globex);
	test_claim_add(&t, VCPUS, 4);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	test_claim_init(&t, "prod", "x1", &acme);
	test_claim_add(&t, VCPUS, 3);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "prod", "x1"), QUOTA_OK);
	test_claim_init(&t, "prod", "denied", &acme);
	test_claim_add(&t, VCPUS, 100);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_ERR_EXCEEDED);

	CHECK_EQ_INT(count_claims(e, NULL, 0, &sum), 4);
	CHECK_EQ_INT(count_claims(e, NULL, QUOTA_CLAIM_RESERVED, &sum), 1);
	CHECK_EQ_INT(sum, 1);
	CHECK_EQ_INT(count_claims(e, NULL, QUOTA_CLAIM_GRANTED, &sum), 2);
	CHECK_EQ_INT(sum, 26);
	CHECK_EQ_INT(count_claims(e, NULL, QUOTA_CLAIM_RELEASED, &sum), 1);
	CHECK_EQ_INT(count_claims(e, &acme, 0, &sum), 3);
	CHECK_EQ_INT(count_claims(e, &acme, QUOTA_CLAIM_GRANTED, &sum), 1);
	CHECK_EQ_INT(sum, 22);
	CHECK_EQ_INT(count_claims(e, &globex, 0, &sum), 1);
	static const quota_ref nobody = {.kind = "Organization", .name = "nobody"};
	CHECK_EQ_INT(count_claims(e, &nobody, 0, &sum), 0);
	static const quota_ref acme_nogroup = {.kind = "Organization", .name = "acme"};
	CHECK_EQ_INT(count_claims(e, &acme_nogroup, 0, &sum), 3);

	CHECK_RC(quota_claim_iter_new(e, NULL, 5, &it), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_iter_new(e, NULL, -1, &it), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_iter_new(e, NULL, 0, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_iter_new(NULL, NULL, 0, &it), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_iter_next(NULL, &ci), QUOTA_ERR_INVALID);
	quota_claim_iter_free(NULL);
	quota_engine_free(e);
}

int main(void)
{
	RUN(test_lifecycle);
	RUN(test_idempotency);
	RUN(test_all_or_nothing);
	RUN(test_check);
	RUN(test_commit_settle);
	RUN(test_resize);
	RUN(test_ttl);
	RUN(test_retention);
	RUN(test_bad_input);
	RUN(test_iter);
	return check_exit();
}
