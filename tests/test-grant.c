/*
 * grant.h: apply (create / replace) with generations, validation,
 * UNREGISTERED, NOT_ALLOWED, OVERFLOW, unlimited amounts, delete, list with
 * a consumer filter, bucket limits that follow the grants, and a lowered
 * limit that revokes nothing. Every refused call must leave the engine as
 * it was.
 *
 * SPDX-License-Identifier: MIT
 */
#include <quota/quota.h>

#include "check.h"

#define GROUP "rm.example.com"
#define VCPUS "compute.example.com/vcpus"
#define MEM "compute.example.com/memory"
#define PROJECTS "rm.example.com/projects"

static const quota_ref acme = {.api_group = GROUP, .kind = "Organization", .name = "acme"};
static const quota_ref globex = {.api_group = GROUP, .kind = "Organization", .name = "globex"};
static const quota_ref web = {.kind = "Project", .ns = "acme", .name = "web"};

/* A grant with its allowances and buckets in one place. Do not copy. */
#define MAX_ALLOW 66
#define MAX_BUCKETS 18
struct tgrant {
	quota_grant g;
	quota_allowance a[MAX_ALLOW];
	quota_grant_bucket b[MAX_ALLOW][MAX_BUCKETS];
};

static void tgrant_init(struct tgrant *t, const char *ns, const char *name, const quota_ref *c)
{
	memset(t, 0, sizeof *t);
	quota_grant_init(&t->g, sizeof t->g);
	t->g.ns = ns;
	t->g.name = name;
	t->g.consumer = *c;
	t->g.allowances = t->a;
}

static quota_allowance *tgrant_add(struct tgrant *t, const char *type, uint32_t n,
				   const int64_t *amounts)
{
	uint32_t i = t->g.allowance_count++;
	quota_allowance *a = &t->a[i];
	quota_allowance_init(a, sizeof *a);
	a->resource_type = type;
	a->buckets = t->b[i];
	a->bucket_count = n;
	for (uint32_t k = 0; k < n; k++) {
		quota_grant_bucket_init(&t->b[i][k], sizeof t->b[i][k]);
		t->b[i][k].amount = amounts[k];
	}
	return a;
}

static quota_allowance *tgrant_add1(struct tgrant *t, const char *type, int64_t amount)
{
	return tgrant_add(t, type, 1, &amount);
}

/* ---- snapshot of grants and buckets ------------------------------------ */

#define S(x) ((x) ? (x) : "")

static void snapshot(quota_engine *e, char *buf, size_t cap)
{
	size_t n = 0;
	quota_grant **list = NULL;
	size_t count = 0;
	buf[0] = '\0';
#define APPEND(...)                                                                          \
	do {                                                                                 \
		if (n < cap)                                                                 \
			n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__);                \
	} while (0)
	int rc = quota_grant_list(e, NULL, &list, &count);
	if (rc != QUOTA_OK) {
		APPEND("grant list failed %d\n", rc);
	} else {
		for (size_t i = 0; i < count; i++) {
			const quota_grant *g = list[i];
			APPEND("grant %s/%s gen %" PRId64 " to %s/%s/%s:", S(g->ns), S(g->name),
			       g->generation, S(g->consumer.kind), S(g->consumer.ns),
			       S(g->consumer.name));
			for (uint32_t k = 0; k < g->allowance_count; k++) {
				APPEND(" %s[", S(g->allowances[k].resource_type));
				for (uint32_t j = 0; j < g->allowances[k].bucket_count; j++)
					APPEND(" %" PRId64, g->allowances[k].buckets[j].amount);
				APPEND(" ]");
			}
			APPEND("\n");
		}
		quota_free(list);
	}

	test_snapshot_buckets_claims(e, buf, cap, &n);
#undef APPEND
}

static char snap_before[65536], snap_after[65536];

/* apply must be refused with code, name field (if any), change nothing */
static void expect_apply_refused_(int line, quota_engine *e, const quota_grant *g, int code,
				  const char *field)
{
	int64_t gen = -77;
	snapshot(e, snap_before, sizeof snap_before);
	int rc = quota_grant_apply(e, g, &gen);
	if (rc != code)
		check_fail_(__FILE__, line, "quota_grant_apply: %s, expected %s",
			    quota_strerror(rc), quota_strerror(code));
	else if (field && !check_err_mentions_(field))
		check_fail_(__FILE__, line, "detail does not name \"%s\"", field);
	snapshot(e, snap_after, sizeof snap_after);
	if (strcmp(snap_before, snap_after) != 0)
		check_fail_(__FILE__, line, "refused apply changed the engine:\n%s---\n%s",
			    snap_before, snap_after);
}
#define EXPECT_REFUSED(e, g, code, field) expect_apply_refused_(__LINE__, (e), (g), (code), (field))

static quota_engine *setup(void)
{
	quota_engine *e = test_engine(NULL, 0);
	if (!e)
		return NULL;
	CHECK_RC(test_register(e, VCPUS, GROUP, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_register(e, MEM, GROUP, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_register(e, PROJECTS, NULL, "Project", 0), QUOTA_OK);
	return e;
}

static int64_t grant_generation(quota_engine *e, const char *ns, const char *name)
{
	quota_grant *g = NULL;
	int rc = quota_grant_get(e, ns, name, &g);
	if (rc != QUOTA_OK)
		return rc;
	int64_t gen = g->generation;
	quota_free(g);
	return gen;
}

/* ---- tests ------------------------------------------------------------- */

static void test_apply_and_generation(void)
{
	quota_engine *e = setup();
	struct tgrant t;
	int64_t gen = 0;
	CHECK(e != NULL);
	if (!e)
		return;

	tgrant_init(&t, NULL, "g1", &acme);
	tgrant_add1(&t, VCPUS, 10);
	CHECK_RC(quota_grant_apply(e, &t.g, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 1);
	struct test_bucket b0 = test_bucket_read(e, &acme, VCPUS);

	/* identical: no bump, and no recomputation of the bucket */
	gen = 0;
	CHECK_RC(quota_grant_apply(e, &t.g, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 1);
	CHECK_RC(quota_grant_apply(e, &t.g, NULL), QUOTA_OK);
	CHECK_EQ_INT(grant_generation(e, NULL, "g1"), 1);
	t.g.generation = 40; /* output only */
	CHECK_RC(quota_grant_apply(e, &t.g, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 1);
	struct test_bucket b1 = test_bucket_read(e, &acme, VCPUS);
	CHECK_EQ_INT(b1.observed_generation, b0.observed_generation);

	/* a changed amount bumps it once */
	t.b[0][0].amount = 12;
	CHECK_RC(quota_grant_apply(e, &t.g, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 2);
	CHECK_RC(quota_grant_apply(e, &t.g, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 2);
	struct test_bucket b2 = test_bucket_read(e, &acme, VCPUS);
	CHECK(b2.observed_generation > b1.observed_generation);
	CHECK_BUCKET(e, &acme, VCPUS, 12, 0, 0, 12);

	/* a new allowance bumps it */
	tgrant_add1(&t, MEM, 5);
	CHECK_RC(quota_grant_apply(e, &t.g, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 3);
	CHECK_BUCKET(e, &acme, MEM, 5, 0, 0, 5);

	/* the same buckets split differently is a different spec */
	struct tgrant t2;
	tgrant_init(&t2, NULL, "g1", &acme);
	tgrant_add(&t2, VCPUS, 2, (const int64_t[]){4, 8});
	tgrant_add1(&t2, MEM, 5);
	CHECK_RC(quota_grant_apply(e, &t2.g, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 4);
	CHECK_BUCKET(e, &acme, VCPUS, 12, 0, 0, 12);

	/* get returns a full copy */
	quota_grant *g = NULL;
	CHECK_RC(quota_grant_get(e, NULL, "g1", &g), QUOTA_OK);
	quota_free(g);
	g = NULL;
	CHECK_RC(quota_grant_get(e, "", "g1", &g), QUOTA_OK); /* "" is NULL */
	quota_free(g);
	g = NULL;
	CHECK_RC(quota_grant_get(e, NULL, "g1", &g), QUOTA_OK);
	if (g) {
		CHECK_STR_EQ(g->ns, "");
		CHECK_STR_EQ(g->name, "g1");
		CHECK_STR_EQ(g->consumer.api_group, GROUP);
		CHECK_STR_EQ(g->consumer.kind, "Organization");
		CHECK_STR_EQ(g->consumer.ns, "");
		CHECK_STR_EQ(g->consumer.name, "acme");
		CHECK_EQ_INT(g->generation, 4);
		CHECK_EQ_INT(g->allowance_count, 2);
		for (uint32_t i = 0; i < g->allowance_count && i < 2; i++) {
			const quota_allowance *a = &g->allowances[i];
			if (strcmp(S(a->resource_type), VCPUS) == 0) {
				CHECK_EQ_INT(a->bucket_count, 2);
				if (a->bucket_count == 2) {
					CHECK_EQ_INT(a->buckets[0].amount, 4);
					CHECK_EQ_INT(a->buckets[1].amount, 8);
				}
			} else {
				CHECK_STR_EQ(a->resource_type, MEM);
				CHECK_EQ_INT(a->bucket_count, 1);
				if (a->bucket_count == 1)
					CHECK_EQ_INT(a->buckets[0].amount, 5);
			}
		}
	}
	quota_free(g);

	/* replacing with another consumer moves the contribution */
	struct tgrant t3;
	tgrant_init(&t3, NULL, "g1", &globex);
	tgrant_add1(&t3, VCPUS, 3);
	CHECK_RC(quota_grant_apply(e, &t3.g, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 5);
	CHECK_BUCKET(e, &acme, VCPUS, 0, 0, 0, 0);
	CHECK_BUCKET(e, &acme, MEM, 0, 0, 0, 0);
	CHECK_BUCKET(e, &globex, VCPUS, 3, 0, 0, 3);
	struct test_bucket ab = test_bucket_read(e, &acme, VCPUS);
	CHECK(ab.flags & QUOTA_BUCKET_DEFAULT_LIMIT);
	CHECK_EQ_INT(ab.grant_count, 0);

	CHECK_RC(quota_grant_get(e, NULL, "nope", &g), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_grant_get(e, "ns", "g1", &g), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_grant_get(NULL, NULL, "g1", &g), QUOTA_ERR_INVALID);
	CHECK_RC(quota_grant_get(e, NULL, NULL, &g), QUOTA_ERR_INVALID);
	CHECK_RC(quota_grant_get(e, NULL, "g1", NULL), QUOTA_ERR_INVALID);
	quota_engine_free(e);
}

static void test_limits_follow_grants(void)
{
	quota_engine *e = setup();
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_RC(test_grant(e, NULL, "g1", &acme, VCPUS, 10, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 0, 10);
	struct test_bucket b = test_bucket_read(e, &acme, VCPUS);
	CHECK_EQ_INT(b.grant_count, 1);
	CHECK(!(b.flags & QUOTA_BUCKET_DEFAULT_LIMIT));

	CHECK_RC(test_grant(e, "other-ns", "g2", &acme, VCPUS, 5, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 15, 0, 0, 15);
	b = test_bucket_read(e, &acme, VCPUS);
	CHECK_EQ_INT(b.grant_count, 2);
	CHECK_EQ_INT(b.grant_ref_count, 2);

	CHECK_RC(test_grant(e, NULL, "g1", &acme, VCPUS, 3, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 8, 0, 0, 8);

	/* g1 now gives memory only: it no longer contributes to vcpus */
	CHECK_RC(test_grant(e, NULL, "g1", &acme, MEM, 7, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 5, 0, 0, 5);
	CHECK_BUCKET(e, &acme, MEM, 7, 0, 0, 7);
	b = test_bucket_read(e, &acme, VCPUS);
	CHECK_EQ_INT(b.grant_count, 1);

	/* a grant with 0 is a contribution of 0, not "no grant" */
	CHECK_RC(test_grant(e, "other-ns", "g2", &acme, VCPUS, 0, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 0, 0, 0, 0);
	b = test_bucket_read(e, &acme, VCPUS);
	CHECK_EQ_INT(b.grant_count, 1);
	CHECK(!(b.flags & QUOTA_BUCKET_DEFAULT_LIMIT));

	/* the grant is the only thing that lets acme use vcpus */
	CHECK_RC(test_grant(e, "other-ns", "g2", &acme, VCPUS, 2, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &acme, VCPUS, 2, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &acme, VCPUS, 1, NULL), QUOTA_ERR_EXCEEDED);

	/* several buckets in one allowance add up */
	struct tgrant t;
	tgrant_init(&t, NULL, "multi", &globex);
	tgrant_add(&t, VCPUS, 3, (const int64_t[]){1, 2, 3});
	CHECK_RC(quota_grant_apply(e, &t.g, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &globex, VCPUS, 6, 0, 0, 6);

	/* Project-level type for a namespaced consumer */
	CHECK_RC(test_grant(e, "acme", "projects", &web, PROJECTS, 4, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &web, PROJECTS, 4, 0, 0, 4);
	quota_engine_free(e);
}

static void test_unlimited(void)
{
	quota_engine *e = setup();
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_RC(test_grant(e, NULL, "g1", &acme, VCPUS, 10, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "g2", &acme, VCPUS, QUOTA_UNLIMITED, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, -1, 0, 0, -1);
	CHECK_RC(quota_consume(e, &acme, VCPUS, 1000000, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, -1, 1000000, 0, -1);

	/* the unlimited grant goes: back to 10, and 1000000 is over it */
	CHECK_RC(quota_grant_delete(e, NULL, "g2"), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 1000000, 0, 0);
	struct test_bucket b = test_bucket_read(e, &acme, VCPUS);
	CHECK(b.flags & QUOTA_BUCKET_OVER_LIMIT);

	/* -1 inside one allowance makes that contribution unlimited */
	struct tgrant t;
	tgrant_init(&t, NULL, "g3", &acme);
	tgrant_add(&t, VCPUS, 2, (const int64_t[]){5, QUOTA_UNLIMITED});
	CHECK_RC(quota_grant_apply(e, &t.g, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, -1, 1000000, 0, -1);
	quota_bucket_info *bi = NULL;
	CHECK_RC(quota_bucket_get(e, &acme, VCPUS, &bi), QUOTA_OK);
	if (bi) {
		CHECK_EQ_INT(bi->grant_ref_count, 2);
		for (uint32_t i = 0; i < bi->grant_ref_count; i++)
			if (strcmp(bi->grant_refs[i]->name, "g3") == 0)
				CHECK_EQ_INT(bi->grant_refs[i]->amount, QUOTA_UNLIMITED);
			else
				CHECK_EQ_INT(bi->grant_refs[i]->amount, 10);
		CHECK(!(bi->flags & QUOTA_BUCKET_OVER_LIMIT));
	}
	quota_free(bi);

	/* an unlimited default limit */
	CHECK_RC(test_register(e, "x.example.com/free", GROUP, "Organization", QUOTA_UNLIMITED),
		 QUOTA_OK);
	CHECK_BUCKET(e, &acme, "x.example.com/free", -1, 0, 0, -1);
	quota_engine_free(e);
}

static void test_overflow(void)
{
	quota_engine *e = setup();
	struct tgrant t;
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_RC(test_grant(e, NULL, "g1", &acme, VCPUS, INT64_MAX - 5, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "m1", &acme, MEM, 100, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, INT64_MAX - 5, 0, 0, INT64_MAX - 5);

	/* a second grant that would push the sum past INT64_MAX */
	tgrant_init(&t, NULL, "g2", &acme);
	tgrant_add1(&t, VCPUS, 6);
	EXPECT_REFUSED(e, &t.g, QUOTA_ERR_OVERFLOW, NULL);
	CHECK_EQ_INT(grant_generation(e, NULL, "g2"), QUOTA_ERR_NOT_FOUND);
	t.b[0][0].amount = INT64_MAX;
	EXPECT_REFUSED(e, &t.g, QUOTA_ERR_OVERFLOW, NULL);

	/* atomic across allowances: the memory part does not land either */
	tgrant_init(&t, NULL, "g2", &acme);
	tgrant_add1(&t, MEM, 7);
	tgrant_add1(&t, VCPUS, 6);
	EXPECT_REFUSED(e, &t.g, QUOTA_ERR_OVERFLOW, NULL);
	CHECK_BUCKET(e, &acme, MEM, 100, 0, 0, 100);

	/* exactly INT64_MAX is fine */
	tgrant_init(&t, NULL, "g2", &acme);
	tgrant_add1(&t, VCPUS, 5);
	CHECK_RC(quota_grant_apply(e, &t.g, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, INT64_MAX, 0, 0, INT64_MAX);

	/* replacing g2 with one more overflows; g2 stays as it was */
	t.b[0][0].amount = 6;
	EXPECT_REFUSED(e, &t.g, QUOTA_ERR_OVERFLOW, NULL);
	CHECK_EQ_INT(grant_generation(e, NULL, "g2"), 1);
	/* replacing g1 with more overflows too */
	CHECK_RC(test_grant(e, NULL, "g1", &acme, VCPUS, INT64_MAX - 4, NULL), QUOTA_ERR_OVERFLOW);
	CHECK_BUCKET(e, &acme, VCPUS, INT64_MAX, 0, 0, INT64_MAX);
	CHECK_EQ_INT(grant_generation(e, NULL, "g1"), 1);

	/* within one allowance */
	tgrant_init(&t, NULL, "g3", &globex);
	tgrant_add(&t, VCPUS, 2, (const int64_t[]){INT64_MAX, 1});
	EXPECT_REFUSED(e, &t.g, QUOTA_ERR_OVERFLOW, NULL);
	tgrant_init(&t, NULL, "g3", &globex);
	tgrant_add(&t, VCPUS, 2, (const int64_t[]){INT64_MAX - 1, 1});
	CHECK_RC(quota_grant_apply(e, &t.g, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &globex, VCPUS, INT64_MAX, 0, 0, INT64_MAX);

	/* An unlimited grant does not hide the sum of the finite ones: were
	 * it deleted, they would have to fit. */
	CHECK_RC(test_grant(e, NULL, "u1", &globex, VCPUS, -1, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "g4", &globex, VCPUS, 1, NULL), QUOTA_ERR_OVERFLOW);
	CHECK_ERR_MENTIONS("grant g4");
	tgrant_init(&t, NULL, "g5", &globex);
	tgrant_add(&t, VCPUS, 3, (const int64_t[]){INT64_MAX, -1, 1});
	EXPECT_REFUSED(e, &t.g, QUOTA_ERR_OVERFLOW, NULL);
	CHECK_RC(quota_grant_delete(e, NULL, "u1"), QUOTA_OK);
	CHECK_BUCKET(e, &globex, VCPUS, INT64_MAX, 0, 0, INT64_MAX);
	/* nor does a -1 beside a finite amount in one grant */
	tgrant_init(&t, NULL, "g5", &globex);
	tgrant_add(&t, VCPUS, 2, (const int64_t[]){-1, 0});
	CHECK_RC(quota_grant_apply(e, &t.g, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &globex, VCPUS, -1, 0, 0, -1);
	tgrant_init(&t, NULL, "g5", &globex);
	tgrant_add(&t, VCPUS, 2, (const int64_t[]){-1, 1});
	EXPECT_REFUSED(e, &t.g, QUOTA_ERR_OVERFLOW, NULL);
	CHECK_RC(quota_grant_delete(e, NULL, "g3"), QUOTA_OK);
	CHECK_RC(quota_grant_apply(e, &t.g, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "g6", &globex, VCPUS, INT64_MAX, NULL), QUOTA_ERR_OVERFLOW);
	CHECK_RC(test_grant(e, NULL, "g6", &globex, VCPUS, INT64_MAX - 1, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &globex, VCPUS, -1, 0, 0, -1);
	quota_engine_free(e);
}

static void test_validation(void)
{
	quota_engine *e = setup();
	struct tgrant t;
	static char s254[255], s253[254];
	char types[70][48];
	CHECK(e != NULL);
	if (!e)
		return;
	memset(s254, 'n', 254);
	memset(s253, 'n', 253);
	/* one existing grant, which refused replacements must leave alone */
	CHECK_RC(test_grant(e, NULL, "existing", &acme, VCPUS, 10, NULL), QUOTA_OK);

	const char *names[] = {"fresh", "existing"};
	for (int k = 0; k < 2; k++) {
		const char *nm = names[k];
		tgrant_init(&t, NULL, nm, &acme);
		tgrant_add1(&t, VCPUS, -2);
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "amount");
		t.b[0][0].amount = INT64_MIN;
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "amount");

		tgrant_init(&t, NULL, nm, &acme);
		tgrant_add(&t, VCPUS, 3, (const int64_t[]){1, 2, -5});
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "buckets[2]");

		/* 0 buckets, 17 buckets, NULL buckets */
		tgrant_init(&t, NULL, nm, &acme);
		tgrant_add(&t, VCPUS, 0, NULL);
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "buckets");
		int64_t seventeen[17];
		for (int i = 0; i < 17; i++)
			seventeen[i] = 1;
		tgrant_init(&t, NULL, nm, &acme);
		tgrant_add(&t, VCPUS, 17, seventeen);
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "buckets");
		tgrant_init(&t, NULL, nm, &acme);
		tgrant_add1(&t, VCPUS, 1)->buckets = NULL;
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "buckets");

		/* buckets of different sizes in one array */
		tgrant_init(&t, NULL, nm, &acme);
		tgrant_add(&t, VCPUS, 2, (const int64_t[]){1, 1});
		t.b[0][1].size = 0;
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, NULL);
		/* a bucket struct that is too small */
		tgrant_init(&t, NULL, nm, &acme);
		tgrant_add1(&t, VCPUS, 1);
		t.b[0][0].size = sizeof(size_t);
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, NULL);

		/* 0 allowances, 65 allowances, NULL allowances, duplicates */
		tgrant_init(&t, NULL, nm, &acme);
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "allowances");
		tgrant_init(&t, NULL, nm, &acme);
		tgrant_add1(&t, VCPUS, 1);
		t.g.allowances = NULL;
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "allowances");
		tgrant_init(&t, NULL, nm, &acme);
		tgrant_add1(&t, VCPUS, 1);
		tgrant_add1(&t, MEM, 1);
		tgrant_add1(&t, VCPUS, 2);
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "allowances[2]");
		tgrant_init(&t, NULL, nm, &acme);
		tgrant_add1(&t, VCPUS, 1);
		tgrant_add1(&t, MEM, 1);
		t.a[1].size = sizeof(quota_allowance) + 8; /* sizes differ */
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, NULL);
		tgrant_init(&t, NULL, nm, &acme);
		tgrant_add1(&t, VCPUS, 1)->reserved_flags = 1;
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "flags");

		/* allowance resource types */
		tgrant_init(&t, NULL, nm, &acme);
		tgrant_add1(&t, NULL, 1);
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "resource_type");
		tgrant_init(&t, NULL, nm, &acme);
		tgrant_add1(&t, "", 1);
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "resource_type");
		tgrant_init(&t, NULL, nm, &acme);
		tgrant_add1(&t, "bad\xff", 1);
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "resource_type");

		/* consumer */
		static const quota_ref no_kind = {.name = "acme"};
		static const quota_ref bad_kind = {.kind = "Org-1", .name = "acme"};
		static const quota_ref no_name = {.api_group = GROUP, .kind = "Organization"};
		static const quota_ref empty_name = {.kind = "Organization", .name = ""};
		static const quota_ref ctl_name = {.kind = "Organization", .name = "ac\nme"};
		const quota_ref *bad_consumers[] = {&no_kind, &bad_kind, &no_name, &empty_name,
						    &ctl_name};
		for (size_t i = 0; i < sizeof bad_consumers / sizeof bad_consumers[0]; i++) {
			tgrant_init(&t, NULL, nm, bad_consumers[i]);
			tgrant_add1(&t, VCPUS, 1);
			EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "consumer");
		}

		/* flags and size of the grant */
		tgrant_init(&t, NULL, nm, &acme);
		tgrant_add1(&t, VCPUS, 1);
		t.g.reserved_flags = 4;
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "flags");
		t.g.reserved_flags = 0;
		t.g.size = 0;
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, NULL);
	}

	/* names */
	const char *bad_names[] = {NULL, "", s254, "g\xff", "g\x01"};
	for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
		tgrant_init(&t, NULL, bad_names[i], &acme);
		tgrant_add1(&t, VCPUS, 1);
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "name");
	}
	tgrant_init(&t, "ns\xff", "g", &acme);
	tgrant_add1(&t, VCPUS, 1);
	EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "namespace|ns");

	/* NULL arguments */
	snapshot(e, snap_before, sizeof snap_before);
	tgrant_init(&t, NULL, "fresh", &acme);
	tgrant_add1(&t, VCPUS, 1);
	CHECK_RC(quota_grant_apply(NULL, &t.g, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_grant_apply(e, NULL, NULL), QUOTA_ERR_INVALID);
	snapshot(e, snap_after, sizeof snap_after);
	CHECK(strcmp(snap_before, snap_after) == 0);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 0, 10);

	/* the boundaries are accepted: 16 buckets, 64 allowances, 253-char name */
	int64_t sixteen[16];
	for (int i = 0; i < 16; i++)
		sixteen[i] = 1;
	tgrant_init(&t, NULL, s253, &acme);
	tgrant_add(&t, VCPUS, 16, sixteen);
	CHECK_RC(quota_grant_apply(e, &t.g, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 26, 0, 0, 26);

	tgrant_init(&t, "many", "many", &globex);
	for (int i = 0; i < 65; i++) {
		snprintf(types[i], sizeof types[i], "many.example.com/t%02d", i);
		CHECK_RC(test_register(e, types[i], GROUP, "Organization", 0), QUOTA_OK);
		tgrant_add1(&t, types[i], i + 1);
	}
	EXPECT_REFUSED(e, &t.g, QUOTA_ERR_INVALID, "allowances");
	t.g.allowance_count = 64;
	CHECK_RC(quota_grant_apply(e, &t.g, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &globex, types[63], 64, 0, 0, 64);
	CHECK_BUCKET(e, &globex, types[64], 0, 0, 0, 0);
	quota_engine_free(e);
}

static void test_unregistered_and_not_allowed(void)
{
	quota_engine *e = setup();
	struct tgrant t;
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_RC(test_grant(e, NULL, "existing", &acme, VCPUS, 10, NULL), QUOTA_OK);

	const char *names[] = {"fresh", "existing"};
	for (int k = 0; k < 2; k++) {
		/* an unknown type, even after a good allowance */
		tgrant_init(&t, NULL, names[k], &acme);
		tgrant_add1(&t, MEM, 3);
		tgrant_add1(&t, "nope.example.com/x", 3);
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_UNREGISTERED, NULL);

		/* consumer kind is not the registration's */
		static const quota_ref proj_acme = {.kind = "Project", .ns = "acme", .name = "acme"};
		tgrant_init(&t, NULL, names[k], &proj_acme);
		tgrant_add1(&t, VCPUS, 3);
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_NOT_ALLOWED, NULL);
		tgrant_init(&t, NULL, names[k], &acme);
		tgrant_add1(&t, PROJECTS, 3);
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_NOT_ALLOWED, NULL);

		/* consumer api_group set and different */
		static const quota_ref other_group = {
			.api_group = "other.example.com", .kind = "Organization", .name = "acme"};
		tgrant_init(&t, NULL, names[k], &other_group);
		tgrant_add1(&t, VCPUS, 3);
		EXPECT_REFUSED(e, &t.g, QUOTA_ERR_NOT_ALLOWED, NULL);
	}
	CHECK_EQ_INT(grant_generation(e, NULL, "fresh"), QUOTA_ERR_NOT_FOUND);
	CHECK_EQ_INT(grant_generation(e, NULL, "existing"), 1);

	/* api_group unset on the consumer: fine */
	static const quota_ref no_group = {.kind = "Organization", .name = "acme"};
	CHECK_RC(test_grant(e, NULL, "nogroup", &no_group, VCPUS, 1, NULL), QUOTA_OK);
	/* apiGroup is not identity: same bucket as acme with its group */
	CHECK_BUCKET(e, &acme, VCPUS, 11, 0, 0, 11);
	quota_engine_free(e);
}

static void test_delete(void)
{
	quota_engine *e = setup();
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_RC(quota_grant_delete(e, NULL, "g1"), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_grant_delete(NULL, NULL, "g1"), QUOTA_ERR_INVALID);
	CHECK_RC(quota_grant_delete(e, NULL, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_grant_delete(e, NULL, ""), QUOTA_ERR_INVALID);

	CHECK_RC(test_grant(e, NULL, "g1", &acme, VCPUS, 10, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, "ns", "g1", &acme, VCPUS, 4, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &acme, VCPUS, 6, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 14, 6, 0, 8);

	/* same name, other namespace: a different grant */
	CHECK_RC(quota_grant_delete(e, "other", "g1"), QUOTA_ERR_NOT_FOUND);
	CHECK_BUCKET(e, &acme, VCPUS, 14, 6, 0, 8);
	CHECK_RC(quota_grant_delete(e, NULL, "g1"), QUOTA_OK);
	CHECK_EQ_INT(grant_generation(e, NULL, "g1"), QUOTA_ERR_NOT_FOUND);
	CHECK_EQ_INT(grant_generation(e, "ns", "g1"), 1);
	/* the contribution left at once; nothing was revoked */
	CHECK_BUCKET(e, &acme, VCPUS, 4, 6, 0, 0);
	struct test_bucket b = test_bucket_read(e, &acme, VCPUS);
	CHECK(b.flags & QUOTA_BUCKET_OVER_LIMIT);
	CHECK_EQ_INT(b.grant_count, 1);
	CHECK_RC(quota_grant_delete(e, NULL, "g1"), QUOTA_ERR_NOT_FOUND);

	CHECK_RC(quota_grant_delete(e, "ns", "g1"), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 0, 6, 0, 0);
	b = test_bucket_read(e, &acme, VCPUS);
	CHECK(b.flags & QUOTA_BUCKET_DEFAULT_LIMIT);
	CHECK_EQ_INT(b.grant_count, 0);
	CHECK_EQ_INT(b.grant_ref_count, 0);

	/* a fresh apply after delete starts at generation 1 */
	int64_t gen = 0;
	CHECK_RC(test_grant(e, NULL, "g1", &acme, VCPUS, 10, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 1);
	quota_engine_free(e);
}

static void check_list_(int line, quota_engine *e, const quota_ref *filter, size_t n,
			const char *const *want)
{
	quota_grant **list = NULL;
	size_t count = 999;
	int rc = quota_grant_list(e, filter, &list, &count);
	if (rc != QUOTA_OK) {
		check_fail_(__FILE__, line, "quota_grant_list: %s", quota_strerror(rc));
		return;
	}
	if (count != n)
		check_fail_(__FILE__, line, "%zu grants, expected %zu", count, n);
	for (size_t i = 0; i < count && i < n; i++) {
		char got[128];
		snprintf(got, sizeof got, "%s/%s", S(list[i]->ns), S(list[i]->name));
		if (strcmp(got, want[i]) != 0)
			check_fail_(__FILE__, line, "grant %zu is %s, expected %s", i, got,
				    want[i]);
		if (list[i]->allowance_count != 1 || !list[i]->allowances ||
		    list[i]->allowances[0].bucket_count != 1)
			check_fail_(__FILE__, line, "grant %s lost its allowance", got);
	}
	quota_free(list);
}
#define CHECK_LIST(e, filter, ...)                                                           \
	do {                                                                                 \
		static const char *const want_[] = {__VA_ARGS__};                            \
		check_list_(__LINE__, (e), (filter), sizeof want_ / sizeof want_[0], want_); \
	} while (0)

static void test_list(void)
{
	quota_engine *e = setup();
	quota_grant **list = NULL;
	size_t count = 7;
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_RC(quota_grant_list(e, NULL, &list, &count), QUOTA_OK);
	CHECK_EQ_INT(count, 0);
	quota_free(list);

	CHECK_RC(test_grant(e, NULL, "b", &acme, VCPUS, 1, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, "zz", "a", &globex, VCPUS, 1, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "a", &acme, MEM, 1, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, "aa", "c", &acme, VCPUS, 1, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, "aa", "b", &globex, MEM, 1, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, "acme", "p", &web, PROJECTS, 1, NULL), QUOTA_OK);

	CHECK_LIST(e, NULL, "/a", "/b", "aa/b", "aa/c", "acme/p", "zz/a");
	CHECK_LIST(e, &acme, "/a", "/b", "aa/c");
	CHECK_LIST(e, &globex, "aa/b", "zz/a");
	CHECK_LIST(e, &web, "acme/p");
	/* the filter is (kind, ns, name): api_group is not identity */
	static const quota_ref acme_nogroup = {.kind = "Organization", .name = "acme"};
	CHECK_LIST(e, &acme_nogroup, "/a", "/b", "aa/c");
	/* no match */
	static const quota_ref nobody = {.kind = "Organization", .name = "nobody"};
	CHECK_RC(quota_grant_list(e, &nobody, &list, &count), QUOTA_OK);
	CHECK_EQ_INT(count, 0);
	quota_free(list);
	/* same name, other kind or namespace */
	static const quota_ref acme_project = {.kind = "Project", .name = "acme"};
	CHECK_RC(quota_grant_list(e, &acme_project, &list, &count), QUOTA_OK);
	CHECK_EQ_INT(count, 0);
	quota_free(list);
	static const quota_ref web_other_ns = {.kind = "Project", .ns = "other", .name = "web"};
	CHECK_RC(quota_grant_list(e, &web_other_ns, &list, &count), QUOTA_OK);
	CHECK_EQ_INT(count, 0);
	quota_free(list);

	CHECK_RC(quota_grant_list(NULL, NULL, &list, &count), QUOTA_ERR_INVALID);
	CHECK_RC(quota_grant_list(e, NULL, NULL, &count), QUOTA_ERR_INVALID);
	CHECK_RC(quota_grant_list(e, NULL, &list, NULL), QUOTA_ERR_INVALID);
	static const quota_ref bad = {.kind = "", .name = "acme"};
	CHECK_RC(quota_grant_list(e, &bad, &list, &count), QUOTA_ERR_INVALID);
	quota_engine_free(e);
}

static void test_lowered_limit_does_not_revoke(void)
{
	quota_engine *e = setup();
	struct test_claim t;
	quota_answer a;
	CHECK(e != NULL);
	if (!e)
		return;
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 10, NULL), QUOTA_OK);
	test_claim_init(&t, "prod", "granted", &acme);
	test_claim_add(&t, VCPUS, 6);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	test_claim_init(&t, "prod", "reserved", &acme);
	test_claim_add(&t, VCPUS, 3);
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 6, 3, 1);

	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 5, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 5, 6, 3, 0);
	struct test_bucket b = test_bucket_read(e, &acme, VCPUS);
	CHECK(b.flags & QUOTA_BUCKET_OVER_LIMIT);
	CHECK_EQ_INT(b.claim_count, 1);
	CHECK_EQ_INT(b.reserved_count, 1);
	CHECK_EQ_INT(test_claim_state(e, "prod", "granted"), QUOTA_CLAIM_GRANTED);
	CHECK_EQ_INT(test_claim_state(e, "prod", "reserved"), QUOTA_CLAIM_RESERVED);

	/* new requests are denied, and say why */
	test_claim_init(&t, "prod", "new", &acme);
	test_claim_add(&t, VCPUS, 1);
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_reserve(e, &t.c, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.available, 0);
	CHECK_EQ_INT(a.limit, 5);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_claim_check(e, &t.c, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_consume(e, &acme, VCPUS, 1, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(test_claim_state(e, "prod", "new"), QUOTA_ERR_NOT_FOUND);
	CHECK_BUCKET(e, &acme, VCPUS, 5, 6, 3, 0);

	/* what was held stays usable: the reservation commits */
	CHECK_RC(quota_claim_commit(e, "prod", "reserved", NULL, 0), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 5, 9, 0, 0);

	/* usage drops below the limit: the flag goes, requests fit again */
	CHECK_RC(quota_claim_release(e, "prod", "granted"), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 5, 3, 0, 2);
	b = test_bucket_read(e, &acme, VCPUS);
	CHECK(!(b.flags & QUOTA_BUCKET_OVER_LIMIT));
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 5, 3, 1, 1);
	quota_engine_free(e);
}

int main(void)
{
	RUN(test_apply_and_generation);
	RUN(test_limits_follow_grants);
	RUN(test_unlimited);
	RUN(test_overflow);
	RUN(test_validation);
	RUN(test_unregistered_and_not_allowed);
	RUN(test_delete);
	RUN(test_list);
	RUN(test_lowered_limit_does_not_revoke);
	return check_exit();
}
