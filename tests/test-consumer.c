/*
 * Consumer hierarchy: parents, cycles, depth, grants at ancestor kinds,
 * claims and anonymous use charged at every level, all or nothing.
 * SPDX-License-Identifier: MIT
 */
#include "check.h"

#define VCPUS "compute.example.com/vcpus"

static const quota_ref org = {NULL, "Organization", NULL, "acme"};
static const quota_ref web = {NULL, "Project", "acme", "web"};
static const quota_ref api = {NULL, "Project", "acme", "api"};

static quota_engine *setup(int64_t project_default)
{
	quota_engine *e = test_engine(NULL, 60000);
	CHECK(e != NULL);
	CHECK_RC(test_register(e, VCPUS, NULL, "Project", project_default), QUOTA_OK);
	return e;
}

static void test_parent_rules(void)
{
	quota_engine *e = setup(0);
	quota_ref *p = NULL;
	CHECK_RC(quota_consumer_get_parent(e, &web, &p), QUOTA_OK);
	CHECK(p == NULL);
	CHECK_RC(quota_consumer_set_parent(e, &web, &org), QUOTA_OK);
	CHECK_RC(quota_consumer_set_parent(e, &web, &org), QUOTA_OK); /* no change */
	CHECK_RC(quota_consumer_get_parent(e, &web, &p), QUOTA_OK);
	CHECK(p != NULL);
	if (p) {
		CHECK_STR_EQ(p->kind, "Organization");
		CHECK_STR_EQ(p->ns, "");
		CHECK_STR_EQ(p->name, "acme");
	}
	quota_free(p);

	/* cycles: itself, directly, through a longer loop */
	CHECK_RC(quota_consumer_set_parent(e, &web, &web), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("parent");
	CHECK_RC(quota_consumer_set_parent(e, &org, &web), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("cycle");
	quota_ref ent = {NULL, "Enterprise", NULL, "big"};
	CHECK_RC(quota_consumer_set_parent(e, &org, &ent), QUOTA_OK);
	CHECK_RC(quota_consumer_set_parent(e, &ent, &web), QUOTA_ERR_INVALID);
	CHECK_RC(quota_consumer_get_parent(e, &ent, &p), QUOTA_OK);
	CHECK(p == NULL); /* the refused call changed nothing */
	quota_free(p);

	/* bad refs */
	quota_ref bad = {NULL, "9lives", NULL, "x"};
	CHECK_RC(quota_consumer_set_parent(e, &bad, &org), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("child.kind");
	CHECK_RC(quota_consumer_set_parent(NULL, &web, &org), QUOTA_ERR_INVALID);
	CHECK_RC(quota_consumer_set_parent(e, NULL, &org), QUOTA_ERR_INVALID);

	/* clearing */
	CHECK_RC(quota_consumer_set_parent(e, &web, NULL), QUOTA_OK);
	CHECK_RC(quota_consumer_get_parent(e, &web, &p), QUOTA_OK);
	CHECK(p == NULL);
	quota_engine_free(e);
}

static void test_depth_limit(void)
{
	quota_engine *e = setup(0);
	char names[QUOTA_MAX_DEPTH + 1][8];
	quota_ref level[QUOTA_MAX_DEPTH + 1];
	for (int i = 0; i <= QUOTA_MAX_DEPTH; i++) {
		snprintf(names[i], sizeof names[i], "n%d", i);
		level[i] = (quota_ref){NULL, "Node", NULL, names[i]};
	}
	/* a chain of QUOTA_MAX_DEPTH levels is fine ... */
	for (int i = 1; i < QUOTA_MAX_DEPTH; i++)
		CHECK_RC(quota_consumer_set_parent(e, &level[i - 1], &level[i]), QUOTA_OK);
	/* ... one more level is not, from either end */
	CHECK_RC(quota_consumer_set_parent(e, &level[QUOTA_MAX_DEPTH - 1],
					   &level[QUOTA_MAX_DEPTH]),
		 QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("levels");
	quota_ref leaf = {NULL, "Node", NULL, "leaf"};
	CHECK_RC(quota_consumer_set_parent(e, &leaf, &level[0]), QUOTA_ERR_INVALID);
	quota_ref *p = NULL;
	CHECK_RC(quota_consumer_get_parent(e, &leaf, &p), QUOTA_OK);
	CHECK(p == NULL);
	quota_engine_free(e);
}

static void test_grant_at_ancestor_kind(void)
{
	quota_engine *e = setup(0);
	/* Organization is not known as a kind above Project yet */
	CHECK_RC(test_grant(e, NULL, "org-cap", &org, VCPUS, 10, NULL), QUOTA_ERR_NOT_ALLOWED);
	CHECK_ERR_MENTIONS("consumerRef");
	CHECK_RC(quota_consumer_set_parent(e, &web, &org), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "org-cap", &org, VCPUS, 10, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &org, VCPUS, 10, 0, 0, 10);
	/* a kind that is not above Project still is refused */
	quota_ref team = {NULL, "Team", NULL, "t"};
	CHECK_RC(test_grant(e, NULL, "team", &team, VCPUS, 10, NULL), QUOTA_ERR_NOT_ALLOWED);
	/* but claims must come from the registration's own kind */
	struct test_claim c;
	test_claim_init(&c, "ns", "by-org", &org);
	test_claim_add(&c, VCPUS, 1);
	CHECK_RC(quota_claim_reserve(e, &c.c, NULL), QUOTA_ERR_NOT_ALLOWED);
	quota_engine_free(e);
}

static void test_claims_charge_every_level(void)
{
	quota_engine *e = setup(0);
	CHECK_RC(quota_consumer_set_parent(e, &web, &org), QUOTA_OK);
	CHECK_RC(quota_consumer_set_parent(e, &api, &org), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "org-cap", &org, VCPUS, 10, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, "acme", "web", &web, VCPUS, 8, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, "acme", "api", &api, VCPUS, 8, NULL), QUOTA_OK);

	struct test_claim c;
	test_claim_init(&c, "acme", "w1", &web);
	test_claim_add(&c, VCPUS, 6);
	CHECK_RC(quota_claim_acquire(e, &c.c, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &web, VCPUS, 8, 6, 0, 2);
	CHECK_BUCKET(e, &org, VCPUS, 10, 6, 0, 4);

	/* api fits its own 8 but not the organization's remaining 4 */
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	test_claim_init(&c, "acme", "a1", &api);
	test_claim_add(&c, VCPUS, 5);
	CHECK_RC(quota_claim_reserve(e, &c.c, &a), QUOTA_ERR_EXCEEDED);
	CHECK_STR_EQ(a.bucket, "Organization//acme:" VCPUS);
	CHECK_EQ_INT(a.available, 4);
	CHECK_EQ_INT(a.requested, 5);
	CHECK_EQ_INT(a.binding_request, 0);
	CHECK_BUCKET(e, &api, VCPUS, 8, 0, 0, 8); /* nothing held at any level */
	CHECK_BUCKET(e, &org, VCPUS, 10, 6, 0, 4);
	CHECK_RC(test_claim_state(e, "acme", "a1"), QUOTA_ERR_NOT_FOUND);

	/* 4 fits both; reserve, then commit with a smaller actual amount */
	c.r[0].amount = 4;
	CHECK_RC(quota_claim_reserve(e, &c.c, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &org, VCPUS, 10, 6, 4, 0);
	quota_request actual;
	quota_request_init(&actual, sizeof actual);
	actual.resource_type = VCPUS;
	actual.amount = 3;
	CHECK_RC(quota_claim_commit(e, "acme", "a1", &actual, 1), QUOTA_OK);
	CHECK_BUCKET(e, &api, VCPUS, 8, 3, 0, 5);
	CHECK_BUCKET(e, &org, VCPUS, 10, 9, 0, 1);

	/* resize up is checked at every level, down always works */
	quota_request up = actual;
	up.amount = 5;
	CHECK_RC(quota_claim_resize(e, "acme", "a1", &up, 1, &a), QUOTA_ERR_EXCEEDED);
	CHECK_STR_EQ(a.bucket, "Organization//acme:" VCPUS);
	up.amount = 1;
	CHECK_RC(quota_claim_resize(e, "acme", "a1", &up, 1, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &org, VCPUS, 10, 7, 0, 3);

	/* release returns at every level */
	CHECK_RC(quota_claim_release(e, "acme", "w1"), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "acme", "a1"), QUOTA_OK);
	CHECK_BUCKET(e, &web, VCPUS, 8, 0, 0, 8);
	CHECK_BUCKET(e, &org, VCPUS, 10, 0, 0, 10);
	quota_engine_free(e);
}

static void test_level_without_grant_tracks_but_does_not_bind(void)
{
	quota_engine *e = setup(100); /* projects default to 100 */
	CHECK_RC(quota_consumer_set_parent(e, &web, &org), QUOTA_OK);
	struct test_claim c;
	test_claim_init(&c, "acme", "w1", &web);
	test_claim_add(&c, VCPUS, 60);
	CHECK_RC(quota_claim_acquire(e, &c.c, NULL), QUOTA_OK);
	/* the organization has no grant: unlimited, but it shows its usage */
	CHECK_BUCKET(e, &org, VCPUS, -1, 60, 0, -1);
	CHECK_BUCKET(e, &web, VCPUS, 100, 60, 0, 40);
	/* a grant below the usage now binds, and revokes nothing */
	CHECK_RC(test_grant(e, NULL, "org-cap", &org, VCPUS, 50, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &org, VCPUS, 50, 60, 0, 0);
	struct test_bucket b = test_bucket_read(e, &org, VCPUS);
	CHECK(b.flags & QUOTA_BUCKET_OVER_LIMIT);
	test_claim_init(&c, "acme", "w2", &web);
	test_claim_add(&c, VCPUS, 1);
	CHECK_RC(quota_claim_acquire(e, &c.c, NULL), QUOTA_ERR_EXCEEDED);
	quota_engine_free(e);
}

static void test_anonymous_and_handles_charge_every_level(void)
{
	quota_engine *e = setup(100);
	/* used flat first; then the chain changes and the next call sees it */
	CHECK_RC(quota_consume(e, &web, VCPUS, 5, NULL), QUOTA_OK);
	CHECK_RC(quota_give_back(e, &web, VCPUS, 5), QUOTA_OK);
	CHECK_RC(quota_consumer_set_parent(e, &web, &org), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "org-cap", &org, VCPUS, 10, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &web, VCPUS, 7, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &org, VCPUS, 10, 7, 0, 3);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_consume(e, &web, VCPUS, 4, &a), QUOTA_ERR_EXCEEDED);
	CHECK_STR_EQ(a.bucket, "Organization//acme:" VCPUS);
	CHECK_BUCKET(e, &web, VCPUS, 100, 7, 0, 93);

	quota_bucket_handle *h = NULL;
	CHECK_RC(quota_bucket_handle_open(e, &web, VCPUS, &h), QUOTA_OK);
	CHECK_RC(quota_handle_consume(h, 3, NULL), QUOTA_OK);
	CHECK_RC(quota_handle_consume(h, 1, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_BUCKET(e, &org, VCPUS, 10, 10, 0, 0);
	CHECK_RC(quota_handle_give_back(h, 10), QUOTA_OK);
	CHECK_BUCKET(e, &org, VCPUS, 10, 0, 0, 10);
	CHECK_BUCKET(e, &web, VCPUS, 100, 0, 0, 100);
	quota_bucket_handle_close(h);
	quota_engine_free(e);
}

static void test_no_move_while_in_use(void)
{
	quota_engine *e = setup(100);
	quota_ref other = {NULL, "Organization", NULL, "other"};
	CHECK_RC(quota_consumer_set_parent(e, &web, &org), QUOTA_OK);
	struct test_claim c;
	test_claim_init(&c, "acme", "w1", &web);
	test_claim_add(&c, VCPUS, 2);
	CHECK_RC(quota_claim_reserve(e, &c.c, NULL), QUOTA_OK);
	CHECK_RC(quota_consumer_set_parent(e, &web, &other), QUOTA_ERR_IN_USE);
	CHECK_ERR_MENTIONS("child");
	CHECK_RC(quota_consumer_set_parent(e, &web, NULL), QUOTA_ERR_IN_USE);
	/* the subtree counts too: moving the organization moves web's usage */
	quota_ref ent = {NULL, "Enterprise", NULL, "big"};
	CHECK_RC(quota_consumer_set_parent(e, &org, &ent), QUOTA_ERR_IN_USE);
	/* a flat consumer with usage cannot get a parent either */
	CHECK_RC(quota_consume(e, &api, VCPUS, 1, NULL), QUOTA_OK);
	CHECK_RC(quota_consumer_set_parent(e, &api, &org), QUOTA_ERR_IN_USE);
	CHECK_RC(quota_give_back(e, &api, VCPUS, 1), QUOTA_OK);
	CHECK_RC(quota_consumer_set_parent(e, &api, &org), QUOTA_OK);

	CHECK_RC(quota_claim_release(e, "acme", "w1"), QUOTA_OK);
	CHECK_RC(quota_consumer_set_parent(e, &web, &other), QUOTA_OK);
	CHECK_RC(quota_claim_acquire(e, &c.c, NULL), QUOTA_OK); /* reuses the name */
	CHECK_BUCKET(e, &other, VCPUS, -1, 2, 0, -1);
	CHECK_BUCKET(e, &org, VCPUS, -1, 0, 0, -1);
	quota_engine_free(e);
}

static void test_three_levels(void)
{
	quota_engine *e = setup(100);
	quota_ref ent = {NULL, "Enterprise", NULL, "big"};
	CHECK_RC(quota_consumer_set_parent(e, &web, &org), QUOTA_OK);
	CHECK_RC(quota_consumer_set_parent(e, &org, &ent), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "ent-cap", &ent, VCPUS, 5, NULL), QUOTA_OK);
	struct test_claim c;
	test_claim_init(&c, "acme", "w1", &web);
	test_claim_add(&c, VCPUS, 5);
	CHECK_RC(quota_claim_acquire(e, &c.c, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &org, VCPUS, -1, 5, 0, -1); /* tracked, does not bind */
	CHECK_BUCKET(e, &ent, VCPUS, 5, 5, 0, 0);
	CHECK_RC(quota_consume(e, &api, VCPUS, 1, NULL), QUOTA_OK); /* api is flat */
	quota_engine_free(e);
}

static void test_move_between_parents_of_one_kind(void)
{
	/* the only Project->Organization link moves from one organization to
	 * another: the kind edge must survive (grants need it) */
	quota_engine *e = setup(0);
	quota_ref other = {NULL, "Organization", NULL, "other"};
	CHECK_RC(quota_consumer_set_parent(e, &web, &org), QUOTA_OK);
	CHECK_RC(quota_consumer_set_parent(e, &web, &other), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "cap", &other, VCPUS, 3, NULL), QUOTA_OK);
	quota_ref *p = NULL;
	CHECK_RC(quota_consumer_get_parent(e, &web, &p), QUOTA_OK);
	CHECK(p && strcmp(p->name, "other") == 0);
	quota_free(p);
	/* and when the last link goes, so does the kind */
	CHECK_RC(quota_grant_delete(e, NULL, "cap"), QUOTA_OK);
	CHECK_RC(quota_consumer_set_parent(e, &web, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "cap", &other, VCPUS, 3, NULL), QUOTA_ERR_NOT_ALLOWED);
	quota_engine_free(e);
}

static void test_api_group_at_ancestor_levels(void)
{
	/* the registration names the group of its own kind only: a consumer
	 * above it with its own group can be read and observed */
	quota_engine *e = test_engine(NULL, 0);
	CHECK_RC(test_register(e, VCPUS, "apps", "Project", 5), QUOTA_OK);
	quota_ref proj = {"apps", "Project", "acme", "web"};
	quota_ref org_g = {"core", "Organization", NULL, "acme"};
	CHECK_RC(quota_consumer_set_parent(e, &proj, &org_g), QUOTA_OK);
	CHECK_RC(quota_consume(e, &proj, VCPUS, 2, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &org_g, VCPUS, -1, 2, 0, -1);
	CHECK_RC(quota_usage_observe(e, &org_g, VCPUS, 4), QUOTA_OK);
	/* the registration's own kind still has its group checked */
	quota_ref wrong = {"other", "Project", "acme", "web"};
	CHECK_RC(quota_consume(e, &wrong, VCPUS, 1, NULL), QUOTA_ERR_NOT_ALLOWED);
	quota_engine_free(e);
}

int main(void)
{
	RUN(test_parent_rules);
	RUN(test_depth_limit);
	RUN(test_grant_at_ancestor_kind);
	RUN(test_claims_charge_every_level);
	RUN(test_level_without_grant_tracks_but_does_not_bind);
	RUN(test_anonymous_and_handles_charge_every_level);
	RUN(test_no_move_while_in_use);
	RUN(test_three_levels);
	RUN(test_move_between_parents_of_one_kind);
	RUN(test_api_group_at_ancestor_levels);
	return check_exit();
}
