/*
 * Grant policies: grants made when a trigger is added, kept up to date,
 * and removed when it is deleted or no longer matches; the reference
 * example (a grant on Organization create), tiers, several policies adding
 * up, ownership and conflicts, evaluation errors, parent contexts,
 * allocation failures.
 * SPDX-License-Identifier: MIT
 */
#include "alloc-hook.h"
#include "policy-util.h"

static const quota_ref acme = {MILO_GROUP, "Organization", NULL, "acme"};

/* An Organization (cluster-wide: an empty namespace) with a spec. */
static quota_doc *org(const char *name, const char *uid, const char *spec)
{
	return trigger_doc(MILO_V1, "Organization", "", name, uid, spec);
}

/* Sync trigger (released here); the changes, when wanted, in *out. */
static int sync_org(quota_engine *e, quota_doc *trigger, int32_t event, quota_grant_change ***out,
		    size_t *n)
{
	int rc = quota_grant_policies_sync(e, trigger, event, out, n);
	quota_doc_unref(trigger);
	return rc;
}

static int64_t grant_amount(quota_engine *e, const char *ns, const char *name)
{
	quota_grant *g = NULL;
	int rc = quota_grant_get(e, ns, name, &g);
	if (rc != QUOTA_OK)
		return rc;
	int64_t amount = g->allowances[0].buckets[0].amount;
	quota_free(g);
	return amount;
}

static size_t grant_count(quota_engine *e)
{
	quota_grant **list = NULL;
	size_t n = 0;
	CHECK_RC(quota_grant_list(e, NULL, &list, &n), QUOTA_OK);
	quota_free(list);
	return n;
}

static void test_reference_organization(void)
{
	quota_engine *e = policy_engine(NULL);
	struct grant_pol g;
	grant_pol_reference(&g);
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	struct claim_pol c;
	claim_pol_reference(&c);
	CHECK_RC(quota_claim_policy_apply(e, &c.p, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, RESOURCES, 0, 0, 0, 0);

	/* The Organization is created: its grant appears. */
	quota_grant_change **ch = NULL;
	size_t n = 0;
	CHECK_RC(sync_org(e, org("acme", "org-uid-1", NULL), QUOTA_TRIGGER_ADDED, &ch, &n),
		 QUOTA_OK);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_STR_EQ(ch[0]->policy, "myservice-default-grant");
		CHECK_STR_EQ(ch[0]->ns, "");
		CHECK_STR_EQ(ch[0]->name, "acme-myservice-quota");
		CHECK_EQ_INT(ch[0]->removed, 0);
		CHECK_EQ_INT(ch[0]->generation, 1);
		CHECK_EQ_INT(ch[0]->size, sizeof(quota_grant_change));
		CHECK_STR_EQ(ch[0]->parent_kind, "");
	}
	quota_free(ch);
	quota_grant *got = NULL;
	CHECK_RC(quota_grant_get(e, "", "acme-myservice-quota", &got), QUOTA_OK);
	if (got) {
		CHECK_STR_EQ(got->consumer.kind, "Organization");
		CHECK_STR_EQ(got->consumer.name, "acme");
		CHECK_STR_EQ(got->consumer.api_group, MILO_GROUP);
		CHECK_STR_EQ(got->allowances[0].resource_type, RESOURCES);
	}
	quota_free(got);
	CHECK_BUCKET(e, &acme, RESOURCES, 100, 0, 0, 100);

	/* Pattern 1 now admits against it. */
	quota_admission a;
	quota_admission_result *r = NULL;
	quota_admission_init(&a, sizeof a);
	a.trigger = trigger_doc(SVC_V1, "MyResource", "default", "r1", "r1", NULL);
	a.user = tdoc("{\"extra\": {\"iam.miloapis.com/parent-name\": [\"acme\"]}}");
	CHECK_RC(quota_admit(e, &a, &r), QUOTA_OK);
	quota_free(r);
	quota_doc_unref((quota_doc *)a.trigger);
	quota_doc_unref((quota_doc *)a.user);
	CHECK_BUCKET(e, &acme, RESOURCES, 100, 1, 0, 99);

	/* An update that changes nothing keeps the grant as it is. */
	CHECK_RC(sync_org(e, org("acme", "org-uid-1", NULL), QUOTA_TRIGGER_UPDATED, &ch, &n),
		 QUOTA_OK);
	CHECK_EQ_INT(n, 1);
	if (n == 1)
		CHECK_EQ_INT(ch[0]->generation, 1);
	quota_free(ch);
	/* The policy's amount changes: the next sync applies it. */
	g.b[0].amount = 150;
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, RESOURCES, 100, 1, 0, 99);
	CHECK_RC(sync_org(e, org("acme", "org-uid-1", NULL), QUOTA_TRIGGER_UPDATED, &ch, &n),
		 QUOTA_OK);
	if (n == 1)
		CHECK_EQ_INT(ch[0]->generation, 2);
	quota_free(ch);
	CHECK_BUCKET(e, &acme, RESOURCES, 150, 1, 0, 149);

	/* The Organization is deleted: its grant goes. */
	CHECK_RC(sync_org(e, org("acme", "org-uid-1", NULL), QUOTA_TRIGGER_DELETED, &ch, &n),
		 QUOTA_OK);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_EQ_INT(ch[0]->removed, 1);
		CHECK_EQ_INT(ch[0]->generation, 0);
		CHECK_STR_EQ(ch[0]->name, "acme-myservice-quota");
		CHECK_STR_EQ(ch[0]->policy, "myservice-default-grant");
	}
	quota_free(ch);
	CHECK_RC(quota_grant_get(e, "", "acme-myservice-quota", &got), QUOTA_ERR_NOT_FOUND);
	CHECK_BUCKET(e, &acme, RESOURCES, 0, 1, 0, 0); /* the claim stays, over the limit */
	/* Deleting again: nothing left to do. */
	CHECK_RC(sync_org(e, org("acme", "org-uid-1", NULL), QUOTA_TRIGGER_DELETED, &ch, &n),
		 QUOTA_OK);
	CHECK_EQ_INT(n, 0);
	quota_free(ch);
	CHECK_EQ_INT(grant_count(e), 0);
	quota_engine_free(e);
}

/* A grant policy per tier: switching tier moves the grant. */
static void tier_policies(quota_engine *e, const char *free_name, const char *pro_name)
{
	struct grant_pol g;
	grant_pol_reference(&g);
	g.p.name = "tier-free";
	g.t.name = free_name;
	g.b[0].amount = 5;
	grant_pol_constraint(&g, "trigger.spec.tier == 'free'", "free tier");
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	grant_pol_reference(&g);
	g.p.name = "tier-pro";
	g.t.name = pro_name;
	g.b[0].amount = 100;
	grant_pol_constraint(&g, "trigger.spec.tier == \"pro\"", "pro tier");
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
}

static void test_tiers(void)
{
	quota_engine *e = policy_engine(NULL);
	tier_policies(e, "{{trigger.metadata.name}}-free", "{{trigger.metadata.name}}-pro");
	quota_grant_change **ch = NULL;
	size_t n = 0;
	CHECK_RC(sync_org(e, org("acme", "u", "{\"tier\": \"free\"}"), QUOTA_TRIGGER_ADDED, &ch,
			  &n),
		 QUOTA_OK);
	CHECK_EQ_INT(n, 1);
	quota_free(ch);
	CHECK_BUCKET(e, &acme, RESOURCES, 5, 0, 0, 5);
	CHECK_EQ_INT(grant_amount(e, "", "acme-free"), 5);

	/* upgrade: the free grant goes and the pro grant comes, in one change */
	CHECK_RC(sync_org(e, org("acme", "u", "{\"tier\": \"pro\"}"), QUOTA_TRIGGER_UPDATED, &ch,
			  &n),
		 QUOTA_OK);
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK_STR_EQ(ch[0]->name, "acme-pro");
		CHECK_EQ_INT(ch[0]->removed, 0);
		CHECK_STR_EQ(ch[1]->name, "acme-free");
		CHECK_STR_EQ(ch[1]->policy, "tier-free");
		CHECK_EQ_INT(ch[1]->removed, 1);
	}
	quota_free(ch);
	CHECK_BUCKET(e, &acme, RESOURCES, 100, 0, 0, 100);
	CHECK_RC(grant_amount(e, "", "acme-free"), QUOTA_ERR_NOT_FOUND);
	/* use 20, then downgrade: the limit drops, nothing is revoked */
	CHECK_RC(quota_consume(e, &acme, RESOURCES, 20, NULL), QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", "u", "{\"tier\": \"free\"}"), QUOTA_TRIGGER_UPDATED, NULL,
			  NULL),
		 QUOTA_OK);
	CHECK_BUCKET(e, &acme, RESOURCES, 5, 20, 0, 0);
	/* a tier no policy knows: no grant at all */
	CHECK_RC(sync_org(e, org("acme", "u", "{\"tier\": \"gold\"}"), QUOTA_TRIGGER_UPDATED, &ch,
			  &n),
		 QUOTA_OK);
	CHECK_EQ_INT(n, 1);
	if (n == 1)
		CHECK_EQ_INT(ch[0]->removed, 1);
	quota_free(ch);
	CHECK_EQ_INT(grant_count(e), 0);
	quota_engine_free(e);

	/* The same grant name in both tiers: the grant moves from one policy
	 * to the other and changes its amount. */
	e = policy_engine(NULL);
	tier_policies(e, "{{trigger.metadata.name}}-quota", "{{trigger.metadata.name}}-quota");
	CHECK_RC(sync_org(e, org("acme", "u", "{\"tier\": \"free\"}"), QUOTA_TRIGGER_ADDED, NULL,
			  NULL),
		 QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", "u", "{\"tier\": \"pro\"}"), QUOTA_TRIGGER_UPDATED, &ch,
			  &n),
		 QUOTA_OK);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_STR_EQ(ch[0]->policy, "tier-pro");
		CHECK_EQ_INT(ch[0]->removed, 0);
		CHECK_EQ_INT(ch[0]->generation, 2);
	}
	quota_free(ch);
	CHECK_EQ_INT(grant_amount(e, "", "acme-quota"), 100);
	CHECK_RC(sync_org(e, org("acme", "u", "{\"tier\": \"pro\"}"), QUOTA_TRIGGER_DELETED, &ch,
			  &n),
		 QUOTA_OK);
	if (n == 1)
		CHECK_STR_EQ(ch[0]->policy, "tier-pro");
	quota_free(ch);
	CHECK_EQ_INT(grant_count(e), 0);
	quota_engine_free(e);
}

/* Several policies that match add up, applied and removed as one change. */
static void test_policies_add_up(void)
{
	quota_engine *e = policy_engine(NULL);
	struct grant_pol g;
	grant_pol_reference(&g);
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	grant_pol_reference(&g);
	g.p.name = "addon";
	g.t.name = "{{trigger.metadata.name}}-addon";
	g.b[0].amount = 25;
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	/* a third for another type, and one for projects */
	grant_pol_reference(&g);
	g.p.name = "projects";
	g.t.name = "{{trigger.metadata.name}}-projects";
	g.a[0].resource_type = PROJECTS;
	g.b[0].amount = 3;
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	quota_grant_change **ch = NULL;
	size_t n = 0;
	CHECK_RC(sync_org(e, org("acme", "u", NULL), QUOTA_TRIGGER_ADDED, &ch, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 3);
	if (n == 3) {
		CHECK_STR_EQ(ch[0]->policy, "addon");
		CHECK_STR_EQ(ch[1]->policy, "myservice-default-grant");
		CHECK_STR_EQ(ch[2]->policy, "projects");
	}
	quota_free(ch);
	CHECK_BUCKET(e, &acme, RESOURCES, 125, 0, 0, 125);
	CHECK_BUCKET(e, &acme, PROJECTS, 3, 0, 0, 3);
	quota_bucket_info *b = NULL;
	CHECK_RC(quota_bucket_get(e, &acme, RESOURCES, &b), QUOTA_OK);
	if (b) {
		CHECK_EQ_INT(b->grant_count, 2);
		CHECK_EQ_INT(b->observed_generation, 1); /* both came in one change */
	}
	quota_free(b);
	CHECK_RC(sync_org(e, org("acme", "u", NULL), QUOTA_TRIGGER_DELETED, &ch, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 3);
	quota_free(ch);
	CHECK_BUCKET(e, &acme, RESOURCES, 0, 0, 0, 0);
	CHECK_BUCKET(e, &acme, PROJECTS, 0, 0, 0, 0);
	CHECK_RC(quota_bucket_get(e, &acme, RESOURCES, &b), QUOTA_OK);
	if (b)
		CHECK_EQ_INT(b->observed_generation, 2);
	quota_free(b);
	quota_engine_free(e);
}

/* Disabled and deleted policies take nothing back until the object goes. */
static void test_disabled_and_deleted_policies(void)
{
	quota_engine *e = policy_engine(NULL);
	struct grant_pol g;
	grant_pol_reference(&g);
	grant_pol_constraint(&g, "trigger.metadata.labels.plan == 'paid'", "paid plans");
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	quota_doc *paid = tdoc(
		"{\"apiVersion\": \"" MILO_V1 "\", \"kind\": \"Organization\", "
		"\"metadata\": {\"name\": \"acme\", \"namespace\": \"\", \"uid\": \"u\", "
		"\"labels\": {\"plan\": \"paid\"}}}");
	quota_doc *unpaid = tdoc(
		"{\"apiVersion\": \"" MILO_V1 "\", \"kind\": \"Organization\", "
		"\"metadata\": {\"name\": \"acme\", \"namespace\": \"\", \"uid\": \"u\", "
		"\"labels\": {\"plan\": \"trial\"}}}");
	CHECK_RC(quota_grant_policies_sync(e, paid, QUOTA_TRIGGER_ADDED, NULL, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, RESOURCES, 100, 0, 0, 100);
	/* the constraint stops holding: the grant goes */
	CHECK_RC(quota_grant_policies_sync(e, unpaid, QUOTA_TRIGGER_UPDATED, NULL, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, RESOURCES, 0, 0, 0, 0);
	CHECK_RC(quota_grant_policies_sync(e, paid, QUOTA_TRIGGER_UPDATED, NULL, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, RESOURCES, 100, 0, 0, 100);
	/* disabled: its grant stays, even when the constraint would not hold */
	g.p.flags = QUOTA_POLICY_DISABLED;
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	quota_grant_change **ch = NULL;
	size_t n = 0;
	CHECK_RC(quota_grant_policies_sync(e, unpaid, QUOTA_TRIGGER_UPDATED, &ch, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 0);
	quota_free(ch);
	CHECK_BUCKET(e, &acme, RESOURCES, 100, 0, 0, 100);
	/* deleted: the same; the object's deletion still removes the grant */
	CHECK_RC(quota_grant_policy_delete(e, g.p.name), QUOTA_OK);
	CHECK_RC(quota_grant_policies_sync(e, unpaid, QUOTA_TRIGGER_UPDATED, NULL, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, RESOURCES, 100, 0, 0, 100);
	CHECK_RC(quota_grant_policies_sync(e, unpaid, QUOTA_TRIGGER_DELETED, &ch, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_EQ_INT(ch[0]->removed, 1);
		CHECK_STR_EQ(ch[0]->policy, "myservice-default-grant");
	}
	quota_free(ch);
	CHECK_BUCKET(e, &acme, RESOURCES, 0, 0, 0, 0);
	quota_doc_unref(paid);
	quota_doc_unref(unpaid);
	quota_engine_free(e);
}

static void test_ownership_and_conflicts(void)
{
	quota_engine *e = policy_engine(NULL);
	struct grant_pol g;
	grant_pol_reference(&g);
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	/* a grant of the rendered name that the host made: a conflict */
	CHECK_RC(test_grant(e, "", "acme-myservice-quota", &acme, RESOURCES, 7, NULL), QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", "u", NULL), QUOTA_TRIGGER_ADDED, NULL, NULL),
		 QUOTA_ERR_CONFLICT);
	CHECK_ERR_MENTIONS("grant /acme-myservice-quota exists and was made by the host");
	CHECK_EQ_INT(grant_amount(e, "", "acme-myservice-quota"), 7);
	CHECK_RC(quota_grant_delete(e, "", "acme-myservice-quota"), QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", "u", NULL), QUOTA_TRIGGER_ADDED, NULL, NULL), QUOTA_OK);
	CHECK_EQ_INT(grant_amount(e, "", "acme-myservice-quota"), 100);

	/* the host changes the policy's grant: the next sync renders it again */
	CHECK_RC(test_grant(e, "", "acme-myservice-quota", &acme, RESOURCES, 1, NULL), QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", "u", NULL), QUOTA_TRIGGER_UPDATED, NULL, NULL), QUOTA_OK);
	CHECK_EQ_INT(grant_amount(e, "", "acme-myservice-quota"), 100);
	/* the host deletes it: the next sync makes it again */
	CHECK_RC(quota_grant_delete(e, "", "acme-myservice-quota"), QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", "u", NULL), QUOTA_TRIGGER_UPDATED, NULL, NULL), QUOTA_OK);
	CHECK_EQ_INT(grant_amount(e, "", "acme-myservice-quota"), 100);
	/* the host deletes it and makes its own: the object's deletion leaves
	 * the host's grant alone */
	CHECK_RC(quota_grant_delete(e, "", "acme-myservice-quota"), QUOTA_OK);
	CHECK_RC(test_grant(e, "", "acme-myservice-quota", &acme, RESOURCES, 9, NULL), QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", "u", NULL), QUOTA_TRIGGER_DELETED, NULL, NULL), QUOTA_OK);
	CHECK_EQ_INT(grant_amount(e, "", "acme-myservice-quota"), 9);
	CHECK_RC(quota_grant_delete(e, "", "acme-myservice-quota"), QUOTA_OK);

	/* two objects that render one grant: the second is a conflict */
	CHECK_RC(sync_org(e, org("acme", "u1", NULL), QUOTA_TRIGGER_ADDED, NULL, NULL), QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", "u2", NULL), QUOTA_TRIGGER_ADDED, NULL, NULL),
		 QUOTA_ERR_CONFLICT);
	CHECK_ERR_MENTIONS("exists and was made for another object");
	/* the second's deletion takes nothing of the first's */
	CHECK_RC(sync_org(e, org("acme", "u2", NULL), QUOTA_TRIGGER_DELETED, NULL, NULL), QUOTA_OK);
	CHECK_EQ_INT(grant_amount(e, "", "acme-myservice-quota"), 100);
	CHECK_RC(sync_org(e, org("acme", "u1", NULL), QUOTA_TRIGGER_DELETED, NULL, NULL), QUOTA_OK);
	CHECK_EQ_INT(grant_count(e), 0);

	/* two policies that render one grant for one object: a conflict */
	grant_pol_reference(&g);
	g.p.name = "another";
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", "u", NULL), QUOTA_TRIGGER_ADDED, NULL, NULL),
		 QUOTA_ERR_CONFLICT);
	CHECK_ERR_MENTIONS("policies another and myservice-default-grant both render grant "
			   "/acme-myservice-quota");
	CHECK_EQ_INT(grant_count(e), 0);
	quota_engine_free(e);
}

/* Without a uid the identity is the group, kind, namespace and name. */
static void test_identity_without_uid(void)
{
	quota_engine *e = policy_engine(NULL);
	struct grant_pol g;
	grant_pol_reference(&g);
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", NULL, NULL), QUOTA_TRIGGER_ADDED, NULL, NULL), QUOTA_OK);
	CHECK_EQ_INT(grant_count(e), 1);
	/* another version of the same object is the same object */
	CHECK_RC(sync_org(e, trigger_doc(MILO_GROUP "/v1", "Organization", "", "acme", NULL, NULL),
			  QUOTA_TRIGGER_DELETED, NULL, NULL),
		 QUOTA_OK);
	CHECK_EQ_INT(grant_count(e), 0);
	/* neither uid nor name */
	CHECK_RC(sync_org(e, org(NULL, NULL, NULL), QUOTA_TRIGGER_ADDED, NULL, NULL),
		 QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("trigger.metadata");
	quota_engine_free(e);
}

static void test_evaluation_errors(void)
{
	quota_engine *e = policy_engine(NULL);
	struct grant_pol g;
	grant_pol_reference(&g);
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", "u", NULL), QUOTA_TRIGGER_ADDED, NULL, NULL), QUOTA_OK);
	/* a second policy whose constraint fails: nothing changes */
	grant_pol_reference(&g);
	g.p.name = "zz-broken";
	g.t.name = "{{trigger.metadata.name}}-extra";
	grant_pol_constraint(&g, "trigger.spec.tier == 'pro'", "pro tier");
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", "u", NULL), QUOTA_TRIGGER_DELETED, NULL, NULL), QUOTA_OK);
	CHECK_EQ_INT(grant_count(e), 0);
	CHECK_RC(sync_org(e, org("acme", "u", NULL), QUOTA_TRIGGER_ADDED, NULL, NULL),
		 QUOTA_ERR_EVAL);
	CHECK_ERR_MENTIONS(
		"policy zz-broken: trigger.constraints[0].expression (pro tier): column");
	CHECK_EQ_INT(grant_count(e), 0);
	/* a template that fails */
	grant_pol_reference(&g);
	g.p.name = "zz-broken";
	g.t.name = "{{trigger.spec.name}}";
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", "u", "{}"), QUOTA_TRIGGER_ADDED, NULL, NULL),
		 QUOTA_ERR_EVAL);
	CHECK_ERR_MENTIONS("policy zz-broken: target.resourceGrantTemplate.metadata.name: column");
	/* a rendered grant that is not valid */
	g.t.name = "{{trigger.metadata.name}}-x";
	g.t.consumer.name = "{{trigger.metadata.namespace}}";
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", "u", NULL), QUOTA_TRIGGER_ADDED, NULL, NULL),
		 QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("policy zz-broken: the grant it renders: grant.consumerRef.name");
	/* a nameExpression that yields no string */
	grant_pol_reference(&g);
	g.p.name = "zz-broken";
	g.t.name = "{{trigger.metadata.name}}-x";
	g.p.parent_context.kind = "Organization";
	g.p.parent_context.name_expression = "size(trigger.metadata.name)";
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", "u", NULL), QUOTA_TRIGGER_ADDED, NULL, NULL),
		 QUOTA_ERR_EVAL);
	CHECK_ERR_MENTIONS("policy zz-broken: target.parentContext.nameExpression");
	CHECK_EQ_INT(grant_count(e), 0);
	/* a registration that went away after the policy was applied */
	CHECK_RC(quota_grant_policy_delete(e, "zz-broken"), QUOTA_OK);
	grant_pol_init(&g, "gone", MILO_V1, "Organization", "gone.example.com/things", 1);
	CHECK_RC(test_register(e, "gone.example.com/things", NULL, "Organization", 0), QUOTA_OK);
	g.t.name = "{{trigger.metadata.name}}-gone";
	g.t.consumer.kind = "Organization";
	g.t.consumer.name = "{{trigger.metadata.name}}";
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	CHECK_RC(quota_registration_delete(e, "gone.example.com/things"), QUOTA_OK);
	CHECK_RC(sync_org(e, org("acme", "u", NULL), QUOTA_TRIGGER_ADDED, NULL, NULL),
		 QUOTA_ERR_UNREGISTERED);
	CHECK_ERR_MENTIONS("policy gone: the grant it renders: grant.allowances[0].resourceType");
	CHECK_EQ_INT(grant_count(e), 0);
	/* the object's deletion needs no evaluation */
	CHECK_RC(sync_org(e, org("acme", "u", NULL), QUOTA_TRIGGER_DELETED, NULL, NULL), QUOTA_OK);
	quota_engine_free(e);
}

static void test_parent_context(void)
{
	quota_engine *e = policy_engine(NULL);
	CHECK_RC(test_register(e, "projects.example.com/workloads", NULL, "Project", 0), QUOTA_OK);
	struct grant_pol g;
	grant_pol_init(&g, "project-workloads", MILO_V1, "Project",
		       "projects.example.com/workloads", 10);
	g.t.name = "{{trigger.metadata.name}}-workloads";
	g.t.ns = "{{trigger.spec.parent}}";
	g.t.consumer.kind = "Project";
	g.t.consumer.ns = "{{trigger.spec.parent}}";
	g.t.consumer.name = "{{trigger.metadata.name}}";
	g.p.parent_context.api_group = MILO_GROUP;
	g.p.parent_context.kind = "Organization";
	g.p.parent_context.name_expression = "trigger.spec.parent";
	CHECK_RC(quota_grant_policy_apply(e, &g.p, NULL), QUOTA_OK);
	quota_grant_change **ch = NULL;
	size_t n = 0;
	CHECK_RC(sync_org(e,
			  trigger_doc(MILO_V1, "Project", "", "web", "p1",
				      "{\"parent\": \"acme\"}"),
			  QUOTA_TRIGGER_ADDED, &ch, &n),
		 QUOTA_OK);
	CHECK_EQ_INT(n, 1);
	if (n == 1) {
		CHECK_STR_EQ(ch[0]->ns, "acme");
		CHECK_STR_EQ(ch[0]->name, "web-workloads");
		CHECK_STR_EQ(ch[0]->parent_kind, "Organization");
		CHECK_STR_EQ(ch[0]->parent_api_group, MILO_GROUP);
		CHECK_STR_EQ(ch[0]->parent_name, "acme");
	}
	quota_free(ch);
	static const quota_ref web = {NULL, "Project", "acme", "web"};
	CHECK_BUCKET(e, &web, "projects.example.com/workloads", 10, 0, 0, 10);
	quota_engine_free(e);
}

static void test_bad_arguments(void)
{
	quota_engine *e = policy_engine(NULL);
	quota_doc *t = org("acme", "u", NULL);
	quota_grant_change **ch = (void *)1;
	size_t n = 7;
	CHECK_RC(quota_grant_policies_sync(NULL, t, QUOTA_TRIGGER_ADDED, NULL, NULL),
		 QUOTA_ERR_INVALID);
	CHECK_RC(quota_grant_policies_sync(e, NULL, QUOTA_TRIGGER_ADDED, &ch, &n),
		 QUOTA_ERR_INVALID);
	CHECK(ch == NULL && n == 0);
	CHECK_RC(quota_grant_policies_sync(e, t, 0, NULL, NULL), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("event");
	CHECK_RC(quota_grant_policies_sync(e, t, 4, NULL, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_grant_policies_sync(e, t, QUOTA_TRIGGER_ADDED, &ch, NULL),
		 QUOTA_ERR_INVALID);
	quota_doc *bad = tdoc("{\"kind\": \"Organization\"}");
	CHECK_RC(quota_grant_policies_sync(e, bad, QUOTA_TRIGGER_ADDED, NULL, NULL),
		 QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("trigger.apiVersion");
	quota_doc_unref(bad);
	/* no policy for it: nothing to do */
	CHECK_RC(quota_grant_policies_sync(e, t, QUOTA_TRIGGER_ADDED, &ch, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 0);
	quota_free(ch);
	quota_doc_unref(t);
	quota_engine_free(e);
}

/* ---- allocation failures -------------------------------------------------- */

static quota_engine *sweep_engine;
static struct counting sweep_alloc;
static char sweep_before[16384];

/* Every grant and bucket, to show that a failure changed nothing. */
static void snapshot(char *buf, size_t cap)
{
	size_t len = 0;
	quota_grant **list = NULL;
	size_t n = 0;
	buf[0] = '\0';
	CHECK_RC(quota_grant_list(sweep_engine, NULL, &list, &n), QUOTA_OK);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "grant %s/%s gen %lld amount %lld\n",
					list[i]->ns, list[i]->name, (long long)list[i]->generation,
					(long long)list[i]->allowances[0].buckets[0].amount);
	quota_free(list);
	test_snapshot_buckets_claims(sweep_engine, buf, cap, &len);
}

struct sync_op {
	const char *spec;
	int32_t event;
};

static int op_sync(void *arg)
{
	const struct sync_op *op = arg;
	char after[sizeof sweep_before];
	long left = atomic_load(&sweep_alloc.fail_after);
	atomic_store(&sweep_alloc.fail_after, -1);
	snapshot(sweep_before, sizeof sweep_before);
	quota_doc *t = org("acme", "u", op->spec);
	atomic_store(&sweep_alloc.fail_after, left);

	quota_grant_change **ch = NULL;
	size_t n = 0;
	int rc = quota_grant_policies_sync(sweep_engine, t, op->event, &ch, &n);

	left = atomic_load(&sweep_alloc.fail_after);
	atomic_store(&sweep_alloc.fail_after, -1);
	quota_free(ch);
	quota_doc_unref(t);
	if (rc == QUOTA_ERR_NOMEM) {
		snapshot(after, sizeof after);
		if (strcmp(sweep_before, after) != 0)
			check_fail_(__FILE__, __LINE__,
				    "a sync that ran out of memory changed:\n%s\nto\n%s",
				    sweep_before, after);
	} else if (rc == QUOTA_OK) {
		/* undo, so that the sweep's block count holds */
		struct sync_op back = {op->event == QUOTA_TRIGGER_ADDED ? NULL
									: "{\"tier\": \"free\"}",
				       op->event == QUOTA_TRIGGER_ADDED ? QUOTA_TRIGGER_DELETED
									: QUOTA_TRIGGER_UPDATED};
		t = org("acme", "u", back.spec);
		CHECK_RC(quota_grant_policies_sync(sweep_engine, t, back.event, NULL, NULL),
			 QUOTA_OK);
		quota_doc_unref(t);
	}
	atomic_store(&sweep_alloc.fail_after, left);
	return rc;
}

static void test_allocation_failures(void)
{
	struct counting *c = &sweep_alloc;
	CHECK_RC(counting_install(c), QUOTA_OK);
	sweep_engine = policy_engine(NULL);
	/* the buckets exist already: a sync only changes what flows into them */
	CHECK_RC(test_grant(sweep_engine, "", "manual", &acme, RESOURCES, 1, NULL), QUOTA_OK);
	tier_policies(sweep_engine, "{{trigger.metadata.name}}-free",
		      "{{trigger.metadata.name}}-pro");
	struct grant_pol g;
	grant_pol_reference(&g);
	g.p.parent_context.kind = "Organization";
	g.p.parent_context.name_expression = "trigger.metadata.name";
	CHECK_RC(quota_grant_policy_apply(sweep_engine, &g.p, NULL), QUOTA_OK);
	struct sync_op add = {"{\"tier\": \"free\"}", QUOTA_TRIGGER_ADDED};
	FAULT_SWEEP(c, op_sync, &add);
	quota_doc *t = org("acme", "u", "{\"tier\": \"free\"}");
	CHECK_RC(quota_grant_policies_sync(sweep_engine, t, QUOTA_TRIGGER_ADDED, NULL, NULL),
		 QUOTA_OK);
	quota_doc_unref(t);
	struct sync_op upgrade = {"{\"tier\": \"pro\"}", QUOTA_TRIGGER_UPDATED};
	FAULT_SWEEP(c, op_sync, &upgrade);
	quota_engine_free(sweep_engine);
	CHECK_EQ_INT(live(c), 0);
	CHECK_RC(quota_set_allocator(NULL), QUOTA_OK);
}

int main(void)
{
	RUN(test_reference_organization);
	RUN(test_tiers);
	RUN(test_policies_add_up);
	RUN(test_disabled_and_deleted_policies);
	RUN(test_ownership_and_conflicts);
	RUN(test_identity_without_uid);
	RUN(test_evaluation_errors);
	RUN(test_parent_context);
	RUN(test_bad_arguments);
	RUN(test_allocation_failures);
	return check_exit();
}
