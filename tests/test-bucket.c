/*
 * bucket.h: bucket arithmetic at the edges (0, 1, INT64_MAX, unlimited),
 * default-limit buckets, anonymous consume / give-back, Warn enforcement,
 * the answer on a denial, overflow of unlimited buckets, prepared handles,
 * the bucket iterator and the contributing grant refs.
 *
 * SPDX-License-Identifier: MIT
 */
#include <quota/quota.h>

#include "check.h"

#define GROUP "rm.example.com"
#define VCPUS "compute.example.com/vcpus"
#define MEM "compute.example.com/memory"
#define DISK "compute.example.com/disk"
#define WARNED_T "compute.example.com/gpus"
#define DEF5 "compute.example.com/ips"
#define DEFU "compute.example.com/free"
#define PROJ "rm.example.com/projects"

static const quota_ref acme = {.api_group = GROUP, .kind = "Organization", .name = "acme"};
static const quota_ref globex = {.api_group = GROUP, .kind = "Organization", .name = "globex"};
static const quota_ref initech = {.api_group = GROUP, .kind = "Organization", .name = "initech"};
static const quota_ref web = {.kind = "Project", .ns = "acme", .name = "web"};

static quota_engine *setup(void)
{
	quota_engine *e = test_engine(NULL, 0);
	quota_registration r;
	if (!e)
		return NULL;
	CHECK_RC(test_register(e, VCPUS, GROUP, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_register(e, MEM, GROUP, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_register(e, DISK, GROUP, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_register(e, DEF5, GROUP, "Organization", 5), QUOTA_OK);
	CHECK_RC(test_register(e, DEFU, GROUP, "Organization", QUOTA_UNLIMITED), QUOTA_OK);
	CHECK_RC(test_register(e, PROJ, NULL, "Project", 0), QUOTA_OK);
	quota_registration_init(&r, sizeof r);
	r.resource_type = WARNED_T;
	r.consumer_type.api_group = GROUP;
	r.consumer_type.kind = "Organization";
	r.enforcement = QUOTA_WARN;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	return e;
}

static uint32_t flags_of(quota_engine *e, const quota_ref *c, const char *type)
{
	struct test_bucket b = test_bucket_read(e, c, type);
	CHECK_RC(b.rc, QUOTA_OK);
	return b.flags;
}

static int count_buckets(quota_engine *e, const quota_ref *c, const char *type)
{
	quota_bucket_iter *it = NULL;
	const quota_bucket_info *b;
	int n = 0, rc;
	if ((rc = quota_bucket_iter_new(e, c, type, &it)) != QUOTA_OK)
		return rc;
	while ((rc = quota_bucket_iter_next(it, &b)) == QUOTA_OK)
		n++;
	quota_bucket_iter_free(it);
	return rc == QUOTA_ITER_DONE ? n : rc;
}

static void test_arithmetic(void)
{
	quota_engine *e = setup();
	quota_answer a;
	CHECK(e != NULL);
	if (!e)
		return;

	/* limit 0 */
	CHECK_RC(test_grant(e, NULL, "zero", &acme, VCPUS, 0, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 0, 0, 0, 0);
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_consume(e, &acme, VCPUS, 1, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.status, QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.requested, 1);
	CHECK_EQ_INT(a.available, 0);
	CHECK_EQ_INT(a.limit, 0);
	CHECK_BUCKET(e, &acme, VCPUS, 0, 0, 0, 0);

	/* limit 1 */
	CHECK_RC(test_grant(e, NULL, "one", &globex, VCPUS, 1, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &globex, VCPUS, 1, 0, 0, 1);
	CHECK_RC(quota_consume(e, &globex, VCPUS, 2, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_consume(e, &globex, VCPUS, 1, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &globex, VCPUS, 1, 1, 0, 0);
	CHECK_RC(quota_consume(e, &globex, VCPUS, 1, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_BUCKET(e, &globex, VCPUS, 1, 1, 0, 0);

	/* limit INT64_MAX: all of it fits, not one more */
	CHECK_RC(test_grant(e, NULL, "max", &initech, VCPUS, INT64_MAX, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &initech, VCPUS, INT64_MAX, 0, 0, INT64_MAX);
	CHECK_RC(quota_consume(e, &initech, VCPUS, INT64_MAX - 10, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &initech, VCPUS, INT64_MAX, INT64_MAX - 10, 0, 10);
	struct test_claim t;
	test_claim_init(&t, NULL, "r", &initech);
	test_claim_add(&t, VCPUS, 4);
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &initech, VCPUS, INT64_MAX, INT64_MAX - 10, 4, 6);
	CHECK_RC(quota_consume(e, &initech, VCPUS, 7, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_consume(e, &initech, VCPUS, 6, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &initech, VCPUS, INT64_MAX, INT64_MAX - 4, 4, 0);
	CHECK_RC(quota_consume(e, &initech, VCPUS, 1, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_consume(e, &initech, VCPUS, INT64_MAX, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_claim_commit(e, NULL, "r", NULL, 0), QUOTA_OK);
	CHECK_BUCKET(e, &initech, VCPUS, INT64_MAX, INT64_MAX, 0, 0);
	CHECK(!(flags_of(e, &initech, VCPUS) & QUOTA_BUCKET_OVER_LIMIT));

	/* unlimited: available is -1 whatever is used */
	CHECK_RC(test_grant(e, NULL, "unl", &acme, MEM, QUOTA_UNLIMITED, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, MEM, -1, 0, 0, -1);
	CHECK_RC(quota_consume(e, &acme, MEM, INT64_MAX - 1, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, MEM, -1, INT64_MAX - 1, 0, -1);
	CHECK_RC(quota_consume(e, &acme, MEM, 1, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, MEM, -1, INT64_MAX, 0, -1);
	/* ... but the count cannot pass INT64_MAX */
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_consume(e, &acme, MEM, 1, &a), QUOTA_ERR_OVERFLOW);
	CHECK_EQ_INT(a.status, QUOTA_ERR_OVERFLOW);
	CHECK_RC(quota_consume(e, &acme, MEM, INT64_MAX, NULL), QUOTA_ERR_OVERFLOW);
	CHECK_BUCKET(e, &acme, MEM, -1, INT64_MAX, 0, -1);
	test_claim_init(&t, NULL, "big", &acme);
	test_claim_add(&t, MEM, 1);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_ERR_OVERFLOW);
	CHECK_EQ_INT(test_claim_state(e, NULL, "big"), QUOTA_ERR_NOT_FOUND);
	CHECK_BUCKET(e, &acme, MEM, -1, INT64_MAX, 0, -1);
	CHECK_RC(quota_give_back(e, &acme, MEM, 1), QUOTA_OK);
	CHECK_RC(quota_consume(e, &acme, MEM, 1, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, MEM, -1, INT64_MAX, 0, -1);
	CHECK(!(flags_of(e, &acme, MEM) & QUOTA_BUCKET_OVER_LIMIT));

	/* a mix: limit 10, 3 consumed, 4 reserved */
	CHECK_RC(test_grant(e, NULL, "ten", &acme, DISK, 10, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &acme, DISK, 3, NULL), QUOTA_OK);
	test_claim_init(&t, NULL, "disk", &acme);
	test_claim_add(&t, DISK, 4);
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, DISK, 10, 3, 4, 3);
	struct test_bucket b = test_bucket_read(e, &acme, DISK);
	CHECK_EQ_INT(b.reserved_count, 1);
	CHECK_EQ_INT(b.claim_count, 0);
	CHECK_RC(quota_claim_commit(e, NULL, "disk", NULL, 0), QUOTA_OK);
	b = test_bucket_read(e, &acme, DISK);
	CHECK_EQ_INT(b.reserved_count, 0);
	CHECK_EQ_INT(b.claim_count, 1);
	CHECK_BUCKET(e, &acme, DISK, 10, 7, 0, 3);
	quota_engine_free(e);
}

static void test_default_limit(void)
{
	quota_engine *e = setup();
	quota_bucket_info *bi = NULL;
	CHECK(e != NULL);
	if (!e)
		return;

	/* no bucket yet: reported as the default, and reading creates nothing */
	CHECK_RC(quota_bucket_get(e, &acme, DEF5, &bi), QUOTA_OK);
	if (bi) {
		CHECK_STR_EQ(bi->consumer.kind, "Organization");
		CHECK_STR_EQ(bi->consumer.name, "acme");
		CHECK_STR_EQ(bi->consumer.ns, "");
		CHECK_STR_EQ(bi->resource_type, DEF5);
		CHECK_EQ_INT(bi->limit, 5);
		CHECK_EQ_INT(bi->allocated, 0);
		CHECK_EQ_INT(bi->reserved, 0);
		CHECK_EQ_INT(bi->available, 5);
		CHECK_EQ_INT(bi->grant_count, 0);
		CHECK_EQ_INT(bi->grant_ref_count, 0);
		CHECK(bi->flags & QUOTA_BUCKET_DEFAULT_LIMIT);
		CHECK(!(bi->flags & QUOTA_BUCKET_OVER_LIMIT));
	}
	quota_free(bi);
	CHECK_EQ_INT(count_buckets(e, &acme, NULL), 0);
	CHECK_BUCKET(e, &acme, VCPUS, 0, 0, 0, 0);
	CHECK(flags_of(e, &acme, VCPUS) & QUOTA_BUCKET_DEFAULT_LIMIT);
	CHECK_BUCKET(e, &acme, DEFU, -1, 0, 0, -1);

	/* first use creates the bucket with the default limit */
	CHECK_RC(quota_consume(e, &acme, DEF5, 5, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &acme, DEF5, 1, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_BUCKET(e, &acme, DEF5, 5, 5, 0, 0);
	CHECK_EQ_INT(count_buckets(e, &acme, NULL), 1);
	CHECK(flags_of(e, &acme, DEF5) & QUOTA_BUCKET_DEFAULT_LIMIT);
	/* another consumer has its own default bucket */
	CHECK_RC(quota_consume(e, &globex, DEF5, 5, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &globex, DEF5, 5, 5, 0, 0);

	/* default 0 with no grant: nothing fits */
	CHECK_RC(quota_consume(e, &acme, VCPUS, 1, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_consume(e, &acme, DEFU, INT64_MAX, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, DEFU, -1, INT64_MAX, 0, -1);

	/* a grant replaces the default; deleting it restores it */
	CHECK_RC(test_grant(e, NULL, "g", &acme, DEF5, 2, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, DEF5, 2, 5, 0, 0);
	uint32_t f = flags_of(e, &acme, DEF5);
	CHECK(!(f & QUOTA_BUCKET_DEFAULT_LIMIT));
	CHECK(f & QUOTA_BUCKET_OVER_LIMIT);
	CHECK_RC(quota_grant_delete(e, NULL, "g"), QUOTA_OK);
	CHECK_BUCKET(e, &acme, DEF5, 5, 5, 0, 0);
	f = flags_of(e, &acme, DEF5);
	CHECK(f & QUOTA_BUCKET_DEFAULT_LIMIT);
	CHECK(!(f & QUOTA_BUCKET_OVER_LIMIT));
	quota_engine_free(e);
}

static void test_get_errors(void)
{
	quota_engine *e = setup();
	quota_bucket_info *bi = NULL;
	static const quota_ref no_kind = {.name = "acme"};
	static const quota_ref no_name = {.kind = "Organization"};
	static const quota_ref other_group = {.api_group = "x.example.com", .kind = "Organization",
					      .name = "acme"};
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_RC(quota_bucket_get(e, &acme, "nope.example.com/x", &bi), QUOTA_ERR_UNREGISTERED);
	CHECK_RC(quota_bucket_get(e, &web, VCPUS, &bi), QUOTA_ERR_NOT_ALLOWED);
	CHECK_RC(quota_bucket_get(e, &acme, PROJ, &bi), QUOTA_ERR_NOT_ALLOWED);
	CHECK_RC(quota_bucket_get(e, &other_group, VCPUS, &bi), QUOTA_ERR_NOT_ALLOWED);
	CHECK_RC(quota_bucket_get(NULL, &acme, VCPUS, &bi), QUOTA_ERR_INVALID);
	CHECK_RC(quota_bucket_get(e, NULL, VCPUS, &bi), QUOTA_ERR_INVALID);
	CHECK_RC(quota_bucket_get(e, &acme, NULL, &bi), QUOTA_ERR_INVALID);
	CHECK_RC(quota_bucket_get(e, &acme, "", &bi), QUOTA_ERR_INVALID);
	CHECK_RC(quota_bucket_get(e, &acme, VCPUS, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_bucket_get(e, &no_kind, VCPUS, &bi), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("consumer");
	CHECK_RC(quota_bucket_get(e, &no_name, VCPUS, &bi), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("consumer");
	quota_engine_free(e);
}

static void test_consume_give_back(void)
{
	quota_engine *e = setup();
	quota_answer a;
	struct test_claim t;
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 10, NULL), QUOTA_OK);

	/* a plain success fills the answer too */
	memset(&a, 0x55, sizeof a);
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_consume(e, &acme, VCPUS, 2, &a), QUOTA_OK);
	CHECK_EQ_INT(a.status, QUOTA_OK);
	CHECK_EQ_INT(a.state, 0);
	CHECK_EQ_INT(a.flags, 0);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 2, 0, 8);

	/* bad amounts: INVALID, nothing changes */
	CHECK_RC(quota_consume(e, &acme, VCPUS, 0, NULL), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("amount");
	CHECK_RC(quota_consume(e, &acme, VCPUS, -1, NULL), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("amount");
	CHECK_RC(quota_consume(e, &acme, VCPUS, INT64_MIN, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_give_back(e, &acme, VCPUS, 0), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("amount");
	CHECK_RC(quota_give_back(e, &acme, VCPUS, -2), QUOTA_ERR_INVALID);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 2, 0, 8);

	/* unknown type, kind that does not fit, bad refs */
	CHECK_RC(quota_consume(e, &acme, "nope.example.com/x", 1, NULL), QUOTA_ERR_UNREGISTERED);
	CHECK_RC(quota_give_back(e, &acme, "nope.example.com/x", 1), QUOTA_ERR_UNREGISTERED);
	CHECK_RC(quota_consume(e, &web, VCPUS, 1, NULL), QUOTA_ERR_NOT_ALLOWED);
	CHECK_RC(quota_consume(NULL, &acme, VCPUS, 1, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_consume(e, NULL, VCPUS, 1, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_consume(e, &acme, NULL, 1, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_give_back(NULL, &acme, VCPUS, 1), QUOTA_ERR_INVALID);
	CHECK_RC(quota_give_back(e, NULL, VCPUS, 1), QUOTA_ERR_INVALID);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 2, 0, 8);
	/* give back to a bucket that does not exist */
	CHECK_RC(quota_give_back(e, &globex, VCPUS, 1), QUOTA_ERR_NOT_FOUND);
	CHECK_EQ_INT(count_buckets(e, &globex, NULL), 0);

	/* give back only what was consumed anonymously, not claims */
	test_claim_init(&t, "ns", "claim", &acme);
	test_claim_add(&t, VCPUS, 5);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 7, 0, 3);
	CHECK_RC(quota_give_back(e, &acme, VCPUS, 3), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("amount");
	CHECK_BUCKET(e, &acme, VCPUS, 10, 7, 0, 3);
	CHECK_RC(quota_give_back(e, &acme, VCPUS, 1), QUOTA_OK);
	CHECK_RC(quota_give_back(e, &acme, VCPUS, 1), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 5, 0, 5);
	CHECK_RC(quota_give_back(e, &acme, VCPUS, 1), QUOTA_ERR_INVALID);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 5, 0, 5);
	struct test_bucket b = test_bucket_read(e, &acme, VCPUS);
	CHECK_EQ_INT(b.claim_count, 1);

	/* consume up to the limit exactly */
	CHECK_RC(quota_consume(e, &acme, VCPUS, 6, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_consume(e, &acme, VCPUS, 5, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 10, 0, 0);
	CHECK_RC(quota_claim_release(e, "ns", "claim"), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 5, 0, 5);
	CHECK_RC(quota_give_back(e, &acme, VCPUS, 6), QUOTA_ERR_INVALID);
	CHECK_RC(quota_give_back(e, &acme, VCPUS, 5), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 0, 10);
	quota_engine_free(e);
}

static void test_warn(void)
{
	quota_engine *e = setup();
	quota_answer a;
	struct test_claim t;
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_RC(test_grant(e, NULL, "g", &acme, WARNED_T, 2, NULL), QUOTA_OK);

	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_consume(e, &acme, WARNED_T, 1, &a), QUOTA_OK);
	CHECK_EQ_INT(a.flags & QUOTA_ANSWER_WARNED, 0);
	CHECK_BUCKET(e, &acme, WARNED_T, 2, 1, 0, 1);

	/* over the limit: allowed, counted, flagged, and the answer says where */
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_consume(e, &acme, WARNED_T, 3, &a), QUOTA_OK);
	CHECK_EQ_INT(a.status, QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_WARNED);
	CHECK_EQ_INT(a.requested, 3);
	CHECK_EQ_INT(a.limit, 2);
	CHECK_STR_EQ(a.bucket, "Organization//acme:" WARNED_T);
	CHECK_BUCKET(e, &acme, WARNED_T, 2, 4, 0, 0);
	CHECK(flags_of(e, &acme, WARNED_T) & QUOTA_BUCKET_OVER_LIMIT);

	/* a claim too; with an enforced type in the same claim still binding */
	CHECK_RC(test_grant(e, NULL, "v", &acme, VCPUS, 1, NULL), QUOTA_OK);
	test_claim_init(&t, NULL, "w", &acme);
	test_claim_add(&t, VCPUS, 1);
	test_claim_add(&t, WARNED_T, 5);
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_reserve(e, &t.c, &a), QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_WARNED);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_RESERVED);
	CHECK_EQ_INT(a.binding_request, 1);
	CHECK_BUCKET(e, &acme, WARNED_T, 2, 4, 5, 0);
	CHECK_BUCKET(e, &acme, VCPUS, 1, 0, 1, 0);

	test_claim_init(&t, NULL, "w2", &acme);
	test_claim_add(&t, WARNED_T, 1);
	test_claim_add(&t, VCPUS, 1);
	CHECK_RC(quota_claim_reserve(e, &t.c, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.binding_request, 1);
	CHECK_BUCKET(e, &acme, WARNED_T, 2, 4, 5, 0);
	CHECK_EQ_INT(test_claim_state(e, NULL, "w2"), QUOTA_ERR_NOT_FOUND);
	quota_engine_free(e);
}

static void test_answer_on_denial(void)
{
	quota_engine *e = setup();
	quota_answer a;
	struct test_claim t;
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 8, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "m", &acme, MEM, 100, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "d", &acme, DISK, 1, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &acme, MEM, 70, NULL), QUOTA_OK);

	/* the second request binds */
	test_claim_init(&t, "prod", "c", &acme);
	test_claim_add(&t, VCPUS, 2);
	test_claim_add(&t, MEM, 40);
	test_claim_add(&t, DISK, 5);
	memset(&a, 0x33, sizeof a);
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_reserve(e, &t.c, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.status, QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.binding_request, 1);
	CHECK_EQ_INT(a.requested, 40);
	CHECK_EQ_INT(a.available, 30);
	CHECK_EQ_INT(a.limit, 100);
	CHECK_STR_EQ(a.bucket, "Organization//acme:" MEM);
	CHECK_EQ_INT(a.flags, 0);

	/* the answer of consume */
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_consume(e, &acme, VCPUS, 9, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.status, QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.requested, 9);
	CHECK_EQ_INT(a.available, 8);
	CHECK_EQ_INT(a.limit, 8);
	CHECK_STR_EQ(a.bucket, "Organization//acme:" VCPUS);

	/* a namespaced consumer */
	CHECK_RC(test_grant(e, "acme", "p", &web, PROJ, 3, NULL), QUOTA_OK);
	test_claim_init(&t, "acme", "p1", &web);
	test_claim_add(&t, PROJ, 4);
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_acquire(e, &t.c, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.binding_request, 0);
	CHECK_EQ_INT(a.requested, 4);
	CHECK_EQ_INT(a.available, 3);
	CHECK_EQ_INT(a.limit, 3);
	CHECK_STR_EQ(a.bucket, "Project/acme/web:" PROJ);

	/* the detail message names the bucket too */
	CHECK(strstr(quota_last_error(), PROJ) != NULL);

	/* an answer is optional */
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_ERR_EXCEEDED);
	quota_engine_free(e);
}

static void test_handles(void)
{
	quota_engine *e = setup();
	quota_bucket_handle *h = NULL, *h2 = NULL, *bad = NULL;
	quota_answer a;
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 10, NULL), QUOTA_OK);

	CHECK_RC(quota_bucket_handle_open(e, &acme, VCPUS, &h), QUOTA_OK);
	CHECK(h != NULL);
	CHECK_RC(quota_bucket_handle_open(e, &acme, VCPUS, &h2), QUOTA_OK);
	if (!h || !h2)
		goto out;

	CHECK_RC(quota_handle_consume(h, 4, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 4, 0, 6);
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_handle_consume(h2, 7, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.requested, 7);
	CHECK_EQ_INT(a.available, 6);
	CHECK_EQ_INT(a.limit, 10);
	CHECK_STR_EQ(a.bucket, "Organization//acme:" VCPUS);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 4, 0, 6);

	/* handles and the named calls share the bucket */
	CHECK_RC(quota_consume(e, &acme, VCPUS, 2, NULL), QUOTA_OK);
	CHECK_RC(quota_handle_give_back(h2, 7), QUOTA_ERR_INVALID);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 6, 0, 4);
	CHECK_RC(quota_handle_give_back(h2, 6), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 0, 10);
	CHECK_RC(quota_handle_give_back(h, 1), QUOTA_ERR_INVALID);

	/* a handle sees limit changes */
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 20, NULL), QUOTA_OK);
	CHECK_RC(quota_handle_consume(h, 15, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 16, NULL), QUOTA_OK);
	CHECK_RC(quota_handle_consume(h, 2, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_handle_consume(h, 1, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 16, 16, 0, 0);

	/* bad arguments */
	CHECK_RC(quota_handle_consume(h, 0, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_handle_consume(h, -3, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_handle_give_back(h, 0), QUOTA_ERR_INVALID);
	CHECK_RC(quota_handle_consume(NULL, 1, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_handle_give_back(NULL, 1), QUOTA_ERR_INVALID);
	CHECK_BUCKET(e, &acme, VCPUS, 16, 16, 0, 0);

	/* open errors, as bucket_get */
	CHECK_RC(quota_bucket_handle_open(e, &acme, "nope.example.com/x", &bad),
		 QUOTA_ERR_UNREGISTERED);
	CHECK_RC(quota_bucket_handle_open(e, &web, VCPUS, &bad), QUOTA_ERR_NOT_ALLOWED);
	CHECK_RC(quota_bucket_handle_open(e, &acme, VCPUS, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_bucket_handle_open(NULL, &acme, VCPUS, &bad), QUOTA_ERR_INVALID);

	/* opening creates the bucket of a default-limit type */
	quota_bucket_handle *hd = NULL;
	CHECK_EQ_INT(count_buckets(e, &globex, NULL), 0);
	CHECK_RC(quota_bucket_handle_open(e, &globex, DEF5, &hd), QUOTA_OK);
	CHECK_EQ_INT(count_buckets(e, &globex, NULL), 1);
	if (hd) {
		CHECK_RC(quota_handle_consume(hd, 5, NULL), QUOTA_OK);
		CHECK_RC(quota_handle_consume(hd, 1, NULL), QUOTA_ERR_EXCEEDED);
		CHECK_BUCKET(e, &globex, DEF5, 5, 5, 0, 0);
	}
	quota_bucket_handle_close(hd);

	/* Warn through a handle */
	quota_bucket_handle *hw = NULL;
	CHECK_RC(quota_bucket_handle_open(e, &globex, WARNED_T, &hw), QUOTA_OK);
	if (hw) {
		quota_answer_init(&a, sizeof a);
		CHECK_RC(quota_handle_consume(hw, 1, &a), QUOTA_OK);
		CHECK(a.flags & QUOTA_ANSWER_WARNED);
		CHECK_BUCKET(e, &globex, WARNED_T, 0, 1, 0, 0);
	}
	quota_bucket_handle_close(hw);
out:
	quota_bucket_handle_close(h);
	quota_bucket_handle_close(h2);
	quota_bucket_handle_close(NULL);
	quota_engine_free(e);
}

/* Iterate and return the number of items; each must match the filter. */
static int iterate(quota_engine *e, const quota_ref *c, const char *type, int64_t *sum_allocated)
{
	quota_bucket_iter *it = NULL;
	const quota_bucket_info *b = NULL;
	int n = 0, rc;
	char seen[32][300];
	*sum_allocated = 0;
	CHECK_RC(rc = quota_bucket_iter_new(e, c, type, &it), QUOTA_OK);
	if (rc != QUOTA_OK)
		return -1;
	while ((rc = quota_bucket_iter_next(it, &b)) == QUOTA_OK) {
		CHECK(b != NULL);
		if (!b)
			break;
		if (c) {
			CHECK_STR_EQ(b->consumer.kind, c->kind);
			CHECK_STR_EQ(b->consumer.ns, c->ns);
			CHECK_STR_EQ(b->consumer.name, c->name);
		}
		if (type)
			CHECK_STR_EQ(b->resource_type, type);
		int64_t room = b->limit - b->allocated - b->reserved;
		CHECK_EQ_INT(b->available, b->limit < 0 ? -1 : room > 0 ? room : 0);
		*sum_allocated += b->allocated;
		/* each bucket at most once */
		char id[300];
		snprintf(id, sizeof id, "%s/%s/%s:%s", b->consumer.kind,
			 b->consumer.ns ? b->consumer.ns : "", b->consumer.name, b->resource_type);
		for (int i = 0; i < n && i < 32; i++)
			if (strcmp(seen[i], id) == 0)
				check_fail_(__FILE__, __LINE__, "bucket %s returned twice", id);
		if (n < 32)
			snprintf(seen[n], sizeof seen[n], "%s", id);
		n++;
	}
	CHECK_RC(rc, QUOTA_ITER_DONE);
	CHECK(b == NULL);
	/* done stays done */
	b = (const quota_bucket_info *)&n;
	CHECK_RC(quota_bucket_iter_next(it, &b), QUOTA_ITER_DONE);
	CHECK(b == NULL);
	quota_bucket_iter_free(it);
	return n;
}

static void test_iterator(void)
{
	quota_engine *e = setup();
	quota_bucket_iter *it = NULL;
	const quota_bucket_info *b;
	int64_t sum;
	CHECK(e != NULL);
	if (!e)
		return;

	CHECK_EQ_INT(iterate(e, NULL, NULL, &sum), 0);

	CHECK_RC(test_grant(e, NULL, "a1", &acme, VCPUS, 10, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "a2", &acme, MEM, 10, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "g1", &globex, VCPUS, 10, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, "acme", "p", &web, PROJ, 10, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &acme, VCPUS, 1, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &acme, MEM, 2, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &globex, VCPUS, 4, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &web, PROJ, 8, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &initech, DEF5, 16, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_consume(e, &initech, DEF5, 5, NULL), QUOTA_OK);

	CHECK_EQ_INT(iterate(e, NULL, NULL, &sum), 5);
	CHECK_EQ_INT(sum, 1 + 2 + 4 + 8 + 5);
	CHECK_EQ_INT(iterate(e, &acme, NULL, &sum), 2);
	CHECK_EQ_INT(sum, 3);
	CHECK_EQ_INT(iterate(e, NULL, VCPUS, &sum), 2);
	CHECK_EQ_INT(sum, 5);
	CHECK_EQ_INT(iterate(e, &acme, VCPUS, &sum), 1);
	CHECK_EQ_INT(sum, 1);
	CHECK_EQ_INT(iterate(e, &web, NULL, &sum), 1);
	CHECK_EQ_INT(sum, 8);
	CHECK_EQ_INT(iterate(e, &globex, MEM, &sum), 0);
	static const quota_ref nobody = {.kind = "Organization", .name = "nobody"};
	CHECK_EQ_INT(iterate(e, &nobody, NULL, &sum), 0);
	static const quota_ref web_other_ns = {.kind = "Project", .ns = "other", .name = "web"};
	CHECK_EQ_INT(iterate(e, &web_other_ns, NULL, &sum), 0);
	/* api_group is not identity */
	static const quota_ref acme_nogroup = {.kind = "Organization", .name = "acme"};
	CHECK_EQ_INT(iterate(e, &acme_nogroup, NULL, &sum), 2);
	CHECK_EQ_INT(iterate(e, NULL, "nope.example.com/x", &sum), 0);

	/* an item is valid until the next call: read it fully meanwhile */
	CHECK_RC(quota_bucket_iter_new(e, &acme, VCPUS, &it), QUOTA_OK);
	if (it) {
		CHECK_RC(quota_bucket_iter_next(it, &b), QUOTA_OK);
		if (b) {
			CHECK_STR_EQ(b->consumer.api_group, GROUP);
			CHECK_EQ_INT(b->limit, 10);
			CHECK_EQ_INT(b->allocated, 1);
			CHECK_EQ_INT(b->grant_count, 1);
			CHECK_EQ_INT(b->grant_ref_count, 1);
			if (b->grant_ref_count == 1)
				CHECK_STR_EQ(b->grant_refs[0]->name, "a1");
		}
	}
	quota_bucket_iter_free(it);

	/* bad arguments */
	static const quota_ref bad = {.kind = "9", .name = "x"};
	it = NULL;
	CHECK_RC(quota_bucket_iter_new(NULL, NULL, NULL, &it), QUOTA_ERR_INVALID);
	CHECK_RC(quota_bucket_iter_new(e, NULL, NULL, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_bucket_iter_new(e, &bad, NULL, &it), QUOTA_ERR_INVALID);
	CHECK_RC(quota_bucket_iter_new(e, NULL, "", &it), QUOTA_ERR_INVALID);
	CHECK_RC(quota_bucket_iter_next(NULL, &b), QUOTA_ERR_INVALID);
	quota_bucket_iter_free(NULL);
	quota_engine_free(e);
}

static void test_grant_refs(void)
{
	quota_engine *e = setup();
	quota_bucket_info *bi = NULL;
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_RC(test_grant(e, NULL, "c", &acme, VCPUS, 1, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, "x", "b", &acme, VCPUS, 3, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "a", &acme, VCPUS, 7, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, "x", "a", &acme, VCPUS, 4, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "a", &acme, VCPUS, 5, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "a", &acme, VCPUS, 2, NULL), QUOTA_OK); /* gen 3 */
	/* another consumer's grant does not show up */
	CHECK_RC(test_grant(e, NULL, "zz", &globex, VCPUS, 100, NULL), QUOTA_OK);

	CHECK_RC(quota_bucket_get(e, &acme, VCPUS, &bi), QUOTA_OK);
	if (!bi)
		goto out;
	CHECK_EQ_INT(bi->limit, 10);
	CHECK_EQ_INT(bi->grant_count, 4);
	CHECK_EQ_INT(bi->grant_ref_count, 4);
	static const struct {
		const char *ns, *name;
		int64_t amount, gen;
	} want[] = {{"", "a", 2, 3}, {"", "c", 1, 1}, {"x", "a", 4, 1}, {"x", "b", 3, 1}};
	for (uint32_t i = 0; i < bi->grant_ref_count && i < 4; i++) {
		const quota_grant_ref *r = bi->grant_refs[i];
		CHECK(r != NULL);
		if (!r)
			continue;
		CHECK_STR_EQ(r->ns, want[i].ns);
		CHECK_STR_EQ(r->name, want[i].name);
		CHECK_EQ_INT(r->amount, want[i].amount);
		CHECK_EQ_INT(r->last_observed_generation, want[i].gen);
	}
	int64_t og = bi->observed_generation;
	quota_free(bi);
	bi = NULL;

	/* a change moves the generation; an identical apply does not */
	CHECK_RC(test_grant(e, "x", "b", &acme, VCPUS, 3, NULL), QUOTA_OK);
	struct test_bucket b = test_bucket_read(e, &acme, VCPUS);
	CHECK_EQ_INT(b.observed_generation, og);
	CHECK_RC(test_grant(e, "x", "b", &acme, VCPUS, 6, NULL), QUOTA_OK);
	CHECK_RC(quota_bucket_get(e, &acme, VCPUS, &bi), QUOTA_OK);
	if (bi) {
		CHECK(bi->observed_generation > og);
		CHECK_EQ_INT(bi->limit, 13);
		if (bi->grant_ref_count == 4) {
			CHECK_STR_EQ(bi->grant_refs[3]->name, "b");
			CHECK_EQ_INT(bi->grant_refs[3]->amount, 6);
			CHECK_EQ_INT(bi->grant_refs[3]->last_observed_generation, 2);
		}
	}
out:
	quota_free(bi);
	quota_engine_free(e);
}

static void test_observed_usage(void)
{
	quota_engine *e = test_engine(NULL, 0);
	CHECK_RC(test_register(e, VCPUS, GROUP, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 10, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &acme, VCPUS, 3, NULL), QUOTA_OK);

	/* nothing reported yet */
	quota_bucket_info *b = NULL;
	CHECK_RC(quota_bucket_get(e, &acme, VCPUS, &b), QUOTA_OK);
	if (b) {
		CHECK(!(b->flags & QUOTA_BUCKET_OBSERVED));
		CHECK_EQ_INT(b->observed, 0);
		CHECK_EQ_INT(b->drift, 0);
	}
	quota_free(b);

	/* measured usage above the books: it is what admission counts */
	CHECK_RC(quota_usage_observe(e, &acme, VCPUS, 8), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 3, 0, 2);
	CHECK_RC(quota_usage_observe(e, &acme, VCPUS, 8), QUOTA_OK);
	CHECK_RC(quota_consume(e, &acme, VCPUS, 3, NULL), QUOTA_ERR_EXCEEDED);
	struct test_claim c;
	test_claim_init(&c, "ns", "c1", &acme);
	test_claim_add(&c, VCPUS, 2);
	CHECK_RC(quota_claim_reserve(e, &c.c, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 3, 2, 0);
	b = NULL;
	CHECK_RC(quota_bucket_get(e, &acme, VCPUS, &b), QUOTA_OK);
	if (b) {
		CHECK(b->flags & QUOTA_BUCKET_OBSERVED);
		CHECK_EQ_INT(b->observed, 8);
		CHECK_EQ_INT(b->drift, 5);
	}
	quota_free(b);

	/* measured usage below the books: the books count, drift is negative */
	CHECK_RC(quota_usage_observe(e, &acme, VCPUS, 1), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 3, 2, 5);
	b = NULL;
	CHECK_RC(quota_bucket_get(e, &acme, VCPUS, &b), QUOTA_OK);
	if (b)
		CHECK_EQ_INT(b->drift, -2);
	quota_free(b);

	/* bad input changes nothing */
	CHECK_RC(quota_usage_observe(e, &acme, VCPUS, -1), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("value");
	CHECK_RC(quota_usage_observe(e, &acme, "no.such/type", 1), QUOTA_ERR_UNREGISTERED);
	quota_ref proj = {GROUP, "Project", "acme", "web"};
	CHECK_RC(quota_usage_observe(e, &proj, VCPUS, 1), QUOTA_ERR_NOT_ALLOWED);
	CHECK_RC(quota_usage_observe(NULL, &acme, VCPUS, 1), QUOTA_ERR_INVALID);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 3, 2, 5);

	/* a consumer seen only through observation gets a bucket */
	CHECK_RC(quota_usage_observe(e, &globex, VCPUS, 4), QUOTA_OK);
	CHECK_BUCKET(e, &globex, VCPUS, 0, 0, 0, 0);
	quota_engine_free(e);
}

static int64_t utilization(quota_engine *e, const quota_ref *c, const char *type)
{
	quota_bucket_info *b = NULL;
	int64_t v = INT64_MIN;
	if (quota_bucket_get(e, c, type, &b) == QUOTA_OK)
		v = b->utilization_ppm;
	quota_free(b);
	return v;
}

/* The report's utilization: per million of the limit, counting observed
 * usage and reservations; over 100% after a lowered limit. */
static void test_utilization(void)
{
	quota_engine *e = test_engine(NULL, 0);
	CHECK_RC(test_register(e, VCPUS, NULL, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_register(e, MEM, NULL, "Organization", QUOTA_UNLIMITED), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 8, NULL), QUOTA_OK);
	CHECK_EQ_INT(utilization(e, &acme, VCPUS), 0);
	CHECK_RC(quota_consume(e, &acme, VCPUS, 2, NULL), QUOTA_OK);
	struct test_claim t;
	test_claim_init(&t, NULL, "r", &acme);
	test_claim_add(&t, VCPUS, 1);
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	CHECK_EQ_INT(utilization(e, &acme, VCPUS), 375000); /* 3 of 8 */
	CHECK_RC(quota_usage_observe(e, &acme, VCPUS, 5), QUOTA_OK);
	CHECK_EQ_INT(utilization(e, &acme, VCPUS), 750000); /* observed 5 + 1 */
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 4, NULL), QUOTA_OK);
	CHECK_EQ_INT(utilization(e, &acme, VCPUS), 1500000);
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 0, NULL), QUOTA_OK);
	CHECK_EQ_INT(utilization(e, &acme, VCPUS), INT64_MAX);
	CHECK_RC(quota_consume(e, &acme, MEM, 5, NULL), QUOTA_OK);
	CHECK_EQ_INT(utilization(e, &acme, MEM), -1);
	quota_engine_free(e);
}

int main(void)
{
	RUN(test_arithmetic);
	RUN(test_default_limit);
	RUN(test_get_errors);
	RUN(test_consume_give_back);
	RUN(test_warn);
	RUN(test_answer_on_denial);
	RUN(test_handles);
	RUN(test_iterator);
	RUN(test_grant_refs);
	RUN(test_observed_usage);
	RUN(test_utilization);
	return check_exit();
}
