/*
 * Admission (Pattern 1): the reference example and its 403-style denial,
 * constraints, several policies in one claim set, fail closed and open,
 * dry runs, two-phase creates, idempotent retries, generated names, bad
 * admissions, allocation failures, and what an admission costs.
 * SPDX-License-Identifier: MIT
 */
#include <time.h>

#include "alloc-hook.h"
#include "policy-util.h"

static const quota_ref acme = {MILO_GROUP, "Organization", NULL, "acme"};

/* The user the admissions act as: alice, in organization org. */
static quota_doc *user_in(const char *org)
{
	char json[256];
	snprintf(
		json, sizeof json,
		"{\"username\": \"alice\", \"extra\": {\"iam.miloapis.com/parent-name\": [\"%s\"]}}",
		org);
	return tdoc(json);
}

/* Admit trigger (released here) as a user of org, with requestInfo from
 * JSON (or none) and flags. */
static int admit_as(quota_engine *e, quota_doc *trigger, const char *org, const char *ri_json,
		    uint32_t flags, quota_admission_result **out)
{
	quota_admission a;
	quota_admission_init(&a, sizeof a);
	quota_doc *user = org ? user_in(org) : NULL;
	quota_doc *ri = ri_json ? tdoc(ri_json) : NULL;
	a.trigger = trigger;
	a.user = user;
	a.request_info = ri;
	a.flags = flags;
	int rc = quota_admit(e, &a, out);
	quota_doc_unref(trigger);
	quota_doc_unref(user);
	quota_doc_unref(ri);
	return rc;
}

static quota_doc *my_resource(const char *name, const char *uid)
{
	return trigger_doc(SVC_V1, "MyResource", "default", name, uid, "{\"size\": \"s\"}");
}

/* The engine of the reference: acme may hold 2 resources; the reference
 * claim policy is applied. */
static quota_engine *reference_engine(struct test_clock *clk)
{
	quota_engine *e = policy_engine(clk);
	CHECK_RC(test_grant(e, "", "acme-myservice-quota", &acme, RESOURCES, 2, NULL), QUOTA_OK);
	struct claim_pol x;
	claim_pol_reference(&x);
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	return e;
}

static int is_suffix_char(char c)
{
	return c && strchr("bcdfghjklmnpqrstvwxz2456789", c) != NULL;
}

static void check_generated(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	CHECK(strncmp(name, prefix, n) == 0);
	CHECK_EQ_INT(strlen(name), n + 12);
	for (size_t i = n; i < strlen(name); i++)
		CHECK(is_suffix_char(name[i]));
}

static void test_reference_pattern1(void)
{
	quota_engine *e = reference_engine(NULL);
	quota_admission_result *r = NULL;
	static const char RI[] =
		"{\"verb\": \"create\", \"resource\": \"myresources\", "
		"\"apiGroup\": \"myservice.miloapis.com\", \"namespace\": \"default\"}";
	CHECK_RC(admit_as(e, my_resource("r1", "uid-1"), "acme", RI, 0, &r), QUOTA_OK);
	if (r) {
		CHECK_EQ_INT(r->allowed, 1);
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_ALLOWED);
		CHECK_STR_EQ(r->message, "");
		CHECK_STR_EQ(r->policy, "");
		CHECK_EQ_INT(r->claim_count, 1);
		const quota_claim *c = r->claims[0];
		check_generated(c->name, "myresource-claim-");
		CHECK_STR_EQ(c->ns, "default");
		CHECK_STR_EQ(c->consumer.kind, "Organization");
		CHECK_STR_EQ(c->consumer.name, "acme");
		CHECK_STR_EQ(c->consumer.api_group, MILO_GROUP);
		CHECK_STR_EQ(c->resource.api_group, "myservice.miloapis.com");
		CHECK_STR_EQ(c->resource.kind, "MyResource");
		CHECK_STR_EQ(c->resource.ns, "default");
		CHECK_STR_EQ(c->resource.name, "r1");
		CHECK_EQ_INT(c->request_count, 1);
		CHECK_STR_EQ(c->requests[0].resource_type, RESOURCES);
		CHECK_EQ_INT(c->requests[0].amount, 1);
		CHECK_EQ_INT(test_claim_state(e, c->ns, c->name), QUOTA_CLAIM_GRANTED);
		CHECK_EQ_INT(r->answer.state, QUOTA_CLAIM_GRANTED);
	}
	quota_free(r);
	CHECK_RC(admit_as(e, my_resource("r2", "uid-2"), "acme", RI, 0, &r), QUOTA_OK);
	quota_free(r);
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 2, 0, 0);

	/* The third is denied, 403-style, and nothing is charged. */
	CHECK_RC(admit_as(e, my_resource("r3", "uid-3"), "acme", RI, 0, &r), QUOTA_ERR_EXCEEDED);
	if (r) {
		CHECK_EQ_INT(r->allowed, 0);
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_DENIED);
		CHECK_STR_EQ(
			r->message,
			"myresources.myservice.miloapis.com \"r3\" is forbidden: You've reached "
			"your quota for this resource type (myservice.miloapis.com/resources): "
			"requested 1, available 0, limit 2");
		CHECK_STR_EQ(quota_last_error(), r->message);
		CHECK_STR_EQ(r->policy, "myservice-resource-quota");
		CHECK_EQ_INT(r->answer.binding_claim, 0);
		CHECK_EQ_INT(r->answer.binding_request, 0);
		CHECK_STR_EQ(r->answer.bucket, "Organization//acme:" RESOURCES);
		CHECK_EQ_INT(r->claim_count, 1);
		if (r->claim_count)
			CHECK_RC(test_claim_state(e, r->claims[0]->ns, r->claims[0]->name),
				 QUOTA_ERR_NOT_FOUND);
	}
	quota_free(r);
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 2, 0, 0);

	/* Without requestInfo: the kind lower-cased, the apiVersion's group. */
	CHECK_RC(admit_as(e, my_resource("r4", "uid-4"), "acme", NULL, 0, &r), QUOTA_ERR_EXCEEDED);
	if (r)
		CHECK(strstr(r->message,
			     "myresource.myservice.miloapis.com \"r4\" is forbidden: You've "
			     "reached your quota for this resource type (") == r->message);
	quota_free(r);

	/* Another organization has no grant: the default limit, 0. */
	CHECK_RC(admit_as(e, my_resource("r5", "uid-5"), "globex", RI, 0, &r), QUOTA_ERR_EXCEEDED);
	if (r)
		CHECK(strstr(r->message, "requested 1, available 0, limit 0") != NULL);
	quota_free(r);

	/* Releasing a claim (the object was deleted) makes room again. */
	CHECK_RC(admit_as(e, my_resource("r1", "uid-1"), "acme", RI, QUOTA_ADMIT_DRY_RUN, &r),
		 QUOTA_ERR_EXCEEDED); /* a dry run does not look at existing claims */
	if (r && r->claim_count)
		CHECK_RC(quota_claim_release(e, r->claims[0]->ns, r->claims[0]->name), QUOTA_OK);
	quota_free(r);
	CHECK_RC(admit_as(e, my_resource("r3", "uid-3"), "acme", RI, 0, &r), QUOTA_OK);
	quota_free(r);
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 2, 0, 0);
	quota_engine_free(e);
}

static void test_core_group_message(void)
{
	quota_engine *e = policy_engine(NULL);
	struct claim_pol x;
	claim_pol_init(&x, "pods", "v1", "Pod");
	x.t.name = "{{trigger.metadata.name}}-quota";
	x.t.consumer.kind = "Organization";
	x.t.consumer.name = "acme";
	claim_pol_request(&x, RESOURCES, 1);
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	quota_admission_result *r = NULL;
	CHECK_RC(admit_as(e, trigger_doc("v1", "Pod", "web", "api-0", NULL, NULL), NULL, NULL, 0,
			  &r),
		 QUOTA_ERR_EXCEEDED);
	if (r) {
		CHECK(strstr(r->message, "pod \"api-0\" is forbidden: ") == r->message);
		CHECK_STR_EQ(r->claims[0]->name, "api-0-quota");
		CHECK_STR_EQ(r->claims[0]->resource.api_group, "");
	}
	quota_free(r);
	/* requestInfo's resource, and its empty apiGroup for the core group */
	CHECK_RC(admit_as(e, trigger_doc("v1", "Pod", "web", "api-0", NULL, NULL), NULL,
			  "{\"resource\": \"pods\", \"apiGroup\": \"\"}", 0, &r),
		 QUOTA_ERR_EXCEEDED);
	if (r)
		CHECK(strstr(r->message, "pods \"api-0\" is forbidden: ") == r->message);
	quota_free(r);
	/* a resource with a NUL in it would cut the message short: not used */
	quota_doc *ri, *resource;
	CHECK_RC(quota_doc_new_map(&ri), QUOTA_OK);
	CHECK_RC(quota_doc_new_string("po\0ds", 5, &resource), QUOTA_OK);
	CHECK_RC(quota_doc_map_set(ri, "resource", 8, resource), QUOTA_OK);
	quota_admission a;
	quota_admission_init(&a, sizeof a);
	a.trigger = trigger_doc("v1", "Pod", "web", "api-0", NULL, NULL);
	a.request_info = ri;
	CHECK_RC(quota_admit(e, &a, &r), QUOTA_ERR_EXCEEDED);
	if (r) {
		CHECK(strstr(r->message, "pod \"api-0\" is forbidden: ") == r->message);
		CHECK(strstr(r->message, "You've reached your quota") != NULL);
	}
	quota_free(r);
	quota_doc_unref((quota_doc *)a.trigger);
	quota_doc_unref(ri);
	quota_engine_free(e);
}

static void test_no_policy_applies(void)
{
	quota_engine *e = reference_engine(NULL);
	quota_admission_result *r = NULL;
	/* another kind, another version */
	CHECK_RC(admit_as(e, trigger_doc(SVC_V1, "Other", "default", "o", "u1", NULL), "acme", NULL,
			  0, &r),
		 QUOTA_OK);
	if (r) {
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_NO_POLICY);
		CHECK_EQ_INT(r->allowed, 1);
		CHECK_EQ_INT(r->claim_count, 0);
		CHECK_EQ_INT(r->answer.binding_claim, -1);
	}
	quota_free(r);
	CHECK_RC(admit_as(e,
			  trigger_doc("myservice.miloapis.com/v1", "MyResource", "d", "o", "u1",
				      NULL),
			  "acme", NULL, 0, &r),
		 QUOTA_OK);
	if (r)
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_NO_POLICY);
	quota_free(r);

	/* a constraint that does not hold: the policy does not apply, no denial */
	struct claim_pol x;
	claim_pol_reference(&x);
	claim_pol_constraint(&x, "trigger.spec.size == 'l'", "large resources only");
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	for (int i = 0; i < 5; i++) {
		char uid[16];
		snprintf(uid, sizeof uid, "small-%d", i);
		CHECK_RC(admit_as(e, my_resource(uid, uid), "acme", NULL, 0, &r), QUOTA_OK);
		if (r)
			CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_NO_POLICY);
		quota_free(r);
	}
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 0, 0, 2);

	/* a disabled policy is never evaluated */
	claim_pol_reference(&x);
	claim_pol_constraint(&x, "trigger.no.such.thing", NULL);
	x.p.flags = QUOTA_POLICY_DISABLED;
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	CHECK_RC(admit_as(e, my_resource("d1", "d1"), "acme", NULL, 0, &r), QUOTA_OK);
	if (r)
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_NO_POLICY);
	quota_free(r);
	quota_engine_free(e);
}

/* Constraints are ANDed and stop at the first false: a later one that
 * would fail is not evaluated. */
static void test_constraints_and(void)
{
	quota_engine *e = reference_engine(NULL);
	struct claim_pol x;
	claim_pol_reference(&x);
	claim_pol_constraint(&x, "has(trigger.spec.tier) && trigger.spec.tier == 'pro'",
			     "pro tier");
	claim_pol_constraint(&x, "trigger.spec.replicas > 0", "has replicas");
	claim_pol_constraint(&x, "user.username.startsWith('a')", "users whose name starts with a");
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	quota_admission_result *r = NULL;
	CHECK_RC(admit_as(e,
			  trigger_doc(SVC_V1, "MyResource", "d", "a", "a", "{\"tier\": \"free\"}"),
			  "acme", NULL, 0, &r),
		 QUOTA_OK);
	if (r)
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_NO_POLICY);
	quota_free(r);
	/* pro, replicas missing: the second constraint fails to evaluate */
	CHECK_RC(admit_as(e,
			  trigger_doc(SVC_V1, "MyResource", "d", "b", "b", "{\"tier\": \"pro\"}"),
			  "acme", NULL, 0, &r),
		 QUOTA_ERR_EVAL);
	if (r) {
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_FAILED_CLOSED);
		CHECK_EQ_INT(r->allowed, 0);
		CHECK_STR_EQ(r->policy, "myservice-resource-quota");
		CHECK_STR_EQ(
			r->message,
			"myresource.myservice.miloapis.com \"b\" is forbidden: the quota policy "
			"failed: policy myservice-resource-quota: trigger.constraints[1].expression "
			"(has replicas): column 14: no such key 'replicas'");
		CHECK_EQ_INT(r->claim_count, 0);
	}
	quota_free(r);
	CHECK_RC(admit_as(e,
			  trigger_doc(SVC_V1, "MyResource", "d", "c", "c",
				      "{\"tier\": \"pro\", \"replicas\": 2}"),
			  "acme", NULL, 0, &r),
		 QUOTA_OK);
	if (r)
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_ALLOWED);
	quota_free(r);
	/* the user variable: bob does not start with a */
	quota_admission a;
	quota_admission_init(&a, sizeof a);
	a.trigger = trigger_doc(SVC_V1, "MyResource", "d", "e", "e",
				"{\"tier\": \"pro\", \"replicas\": 2}");
	a.user = tdoc("{\"username\": \"bob\"}");
	CHECK_RC(quota_admit(e, &a, &r), QUOTA_OK);
	if (r)
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_NO_POLICY);
	quota_free(r);
	quota_doc_unref((quota_doc *)a.trigger);
	quota_doc_unref((quota_doc *)a.user);
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 1, 0, 1);
	quota_engine_free(e);
}

/* Two policies for one kind: their claims are decided together. */
static void test_policies_share_one_set(void)
{
	quota_engine *e = reference_engine(NULL);
	static const quota_ref web = {NULL, "Organization", NULL, "acme"};
	CHECK_RC(test_grant(e, "", "acme-projects", &web, PROJECTS, 1, NULL), QUOTA_OK);
	struct claim_pol x;
	claim_pol_reference(&x);
	x.p.name = "b-projects";
	x.t.generate_name = "project-claim-";
	x.r[0].resource_type = PROJECTS;
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	/* a: resources 1 (of 2), b: projects 1 (of 1), the reference: resources 1 */
	claim_pol_reference(&x);
	x.p.name = "a-resources";
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	quota_admission_result *r = NULL;
	CHECK_RC(admit_as(e, my_resource("one", "one"), "acme", NULL, 0, &r), QUOTA_OK);
	if (r) {
		CHECK_EQ_INT(r->claim_count, 3);
		if (r->claim_count == 3) {
			check_generated(r->claims[0]->name, "myresource-claim-");
			check_generated(r->claims[1]->name, "project-claim-");
			check_generated(r->claims[2]->name, "myresource-claim-");
			/* each policy its own suffix */
			CHECK(strcmp(r->claims[0]->name, r->claims[2]->name) != 0);
		}
	}
	quota_free(r);
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 2, 0, 0);
	CHECK_BUCKET(e, &acme, PROJECTS, 1, 1, 0, 0);
	/* the next one: resources would not fit; projects neither: nothing charged */
	CHECK_RC(admit_as(e, my_resource("two", "two"), "acme", NULL, 0, &r), QUOTA_ERR_EXCEEDED);
	if (r) {
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_DENIED);
		CHECK_EQ_INT(r->answer.binding_claim, 0);
		CHECK_STR_EQ(r->policy, "a-resources");
	}
	quota_free(r);
	/* Together they need 2 resources where 1 is left, though each fits. */
	CHECK_RC(quota_grant_delete(e, "", "acme-projects"), QUOTA_OK);
	CHECK_RC(test_grant(e, "", "acme-projects", &web, PROJECTS, 10, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, "", "acme-myservice-quota", &acme, RESOURCES, 3, NULL), QUOTA_OK);
	CHECK_RC(admit_as(e, my_resource("three", "three"), "acme", NULL, 0, &r),
		 QUOTA_ERR_EXCEEDED);
	if (r) {
		CHECK_EQ_INT(r->answer.requested, 2);
		CHECK_EQ_INT(r->answer.available, 1);
		CHECK(strstr(r->message, "requested 2, available 1, limit 3") != NULL);
	}
	quota_free(r);
	CHECK_BUCKET(e, &acme, RESOURCES, 3, 2, 0, 1);
	CHECK_BUCKET(e, &acme, PROJECTS, 10, 1, 0, 9);
	quota_engine_free(e);
}

static void test_fail_closed_and_open(void)
{
	quota_engine *e = reference_engine(NULL);
	struct claim_pol x;
	/* a second policy whose consumer name reads a key the user lacks */
	claim_pol_reference(&x);
	x.p.name = "z-team";
	x.t.generate_name = "team-";
	x.t.consumer.name = "{{ user.extra['team'][0] }}";
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	quota_admission_result *r = NULL;
	CHECK_RC(admit_as(e, my_resource("f1", "f1"), "acme", NULL, 0, &r), QUOTA_ERR_EVAL);
	if (r) {
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_FAILED_CLOSED);
		CHECK_EQ_INT(r->allowed, 0);
		CHECK_STR_EQ(r->policy, "z-team");
		CHECK(strstr(r->message,
			     "is forbidden: the quota policy failed: policy z-team: "
			     "target.resourceClaimTemplate.spec.consumerRef.name: column ") !=
		      NULL);
		CHECK(strstr(r->message, "no such key 'team'") != NULL);
		CHECK_EQ_INT(r->claim_count, 1); /* the reference policy's, not charged */
	}
	quota_free(r);
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 0, 0, 2);

	/* The same policy failing open: left out, the other claim is charged. */
	x.p.flags = QUOTA_POLICY_FAIL_OPEN;
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	CHECK_RC(admit_as(e, my_resource("f1", "f1"), "acme", NULL, 0, &r), QUOTA_OK);
	if (r) {
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_FAILED_OPEN);
		CHECK_EQ_INT(r->allowed, 1);
		CHECK_STR_EQ(r->policy, "z-team");
		CHECK(strstr(r->message, "the quota policy failed and was left out (fail open): "
					 "policy z-team: ") == r->message);
		CHECK_EQ_INT(r->claim_count, 1);
	}
	quota_free(r);
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 1, 0, 1);
	/* A denial still wins over a policy that failed open. */
	CHECK_RC(admit_as(e, my_resource("f2", "f2"), "acme", NULL, 0, &r), QUOTA_OK);
	quota_free(r);
	CHECK_RC(admit_as(e, my_resource("f3", "f3"), "acme", NULL, 0, &r), QUOTA_ERR_EXCEEDED);
	if (r)
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_DENIED);
	quota_free(r);

	/* What a template renders is checked: a type that is not registered
	 * fails the policy at admission, open or closed. */
	CHECK_RC(quota_claim_policy_delete(e, "z-team"), QUOTA_OK);
	claim_pol_reference(&x);
	x.p.name = "templated-type";
	x.t.generate_name = "typed-";
	x.r[0].resource_type = "{{ 'myservice.miloapis.com/' + trigger.spec.size }}";
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_policy_delete(e, "myservice-resource-quota"), QUOTA_OK);
	CHECK_RC(admit_as(e, my_resource("t1", "t1"), "acme", NULL, 0, &r), QUOTA_ERR_EVAL);
	if (r) {
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_FAILED_CLOSED);
		CHECK(strstr(r->message,
			     "policy templated-type: the claim it renders: "
			     "claim.requests[0].resourceType: myservice.miloapis.com/s is not "
			     "registered") != NULL);
	}
	quota_free(r);
	x.p.flags = QUOTA_POLICY_FAIL_OPEN;
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	CHECK_RC(admit_as(e, my_resource("t1", "t1"), "acme", NULL, 0, &r), QUOTA_OK);
	if (r) {
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_FAILED_OPEN);
		CHECK_EQ_INT(r->claim_count, 0);
	}
	quota_free(r);

	/* A rendered name that is not a name fails the policy. */
	claim_pol_reference(&x);
	x.p.name = "empty-name";
	x.t.generate_name = NULL;
	x.t.name = "{{ trigger.spec.size.startsWith('s') ? '' : 'x' }}";
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	CHECK_RC(admit_as(e, my_resource("t2", "t2"), "acme", NULL, 0, &r), QUOTA_ERR_EVAL);
	if (r) {
		CHECK_STR_EQ(r->policy, "empty-name");
		CHECK(strstr(r->message, "policy empty-name: the claim it renders: "
					 "claim.metadata.name: must not be empty") != NULL);
	}
	quota_free(r);
	quota_engine_free(e);
}

static void test_dry_run(void)
{
	quota_engine *e = reference_engine(NULL);
	quota_admission_result *r = NULL;
	for (int i = 0; i < 3; i++) {
		CHECK_RC(admit_as(e, my_resource("d", "d"), "acme", NULL, QUOTA_ADMIT_DRY_RUN, &r),
			 QUOTA_OK);
		if (r) {
			CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_ALLOWED);
			CHECK_EQ_INT(r->claim_count, 1);
			CHECK_RC(test_claim_state(e, r->claims[0]->ns, r->claims[0]->name),
				 QUOTA_ERR_NOT_FOUND);
		}
		quota_free(r);
	}
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 0, 0, 2);
	CHECK_RC(test_grant(e, "", "acme-myservice-quota", &acme, RESOURCES, 0, NULL), QUOTA_OK);
	CHECK_RC(admit_as(e, my_resource("d", "d"), "acme", NULL, QUOTA_ADMIT_DRY_RUN, &r),
		 QUOTA_ERR_EXCEEDED);
	if (r)
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_DENIED);
	quota_free(r);
	CHECK_BUCKET(e, &acme, RESOURCES, 0, 0, 0, 0);
	quota_engine_free(e);
}

/* Two-phase create: reserve, then commit or release by the names given. */
static void test_two_phase(void)
{
	struct test_clock clk;
	quota_engine *e = reference_engine(&clk);
	quota_admission_result *r = NULL, *r2 = NULL;
	quota_admission a;
	quota_admission_init(&a, sizeof a);
	a.trigger = my_resource("p1", "p1");
	a.user = user_in("acme");
	a.flags = QUOTA_ADMIT_RESERVE_ONLY;
	a.ttl_ms = 1000;
	CHECK_RC(quota_admit(e, &a, &r), QUOTA_OK);
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 0, 1, 1);
	if (r) {
		CHECK_EQ_INT(r->answer.state, QUOTA_CLAIM_RESERVED);
		CHECK_EQ_INT(r->claims[0]->ttl_ms, 1000);
		CHECK_EQ_INT(test_claim_state(e, r->claims[0]->ns, r->claims[0]->name),
			     QUOTA_CLAIM_RESERVED);
		/* a retry of the reservation holds nothing more */
		CHECK_RC(quota_admit(e, &a, &r2), QUOTA_OK);
		if (r2) {
			CHECK(r2->answer.flags & QUOTA_ANSWER_EXISTED);
			CHECK_STR_EQ(r2->claims[0]->name, r->claims[0]->name);
		}
		quota_free(r2);
		CHECK_BUCKET(e, &acme, RESOURCES, 2, 0, 1, 1);
		/* the object was created: commit */
		CHECK_RC(quota_claim_commit(e, r->claims[0]->ns, r->claims[0]->name, NULL, 0),
			 QUOTA_OK);
	}
	quota_free(r);
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 1, 0, 1);
	quota_doc_unref((quota_doc *)a.trigger);

	/* the next create fails after admission: release */
	a.trigger = my_resource("p2", "p2");
	CHECK_RC(quota_admit(e, &a, &r), QUOTA_OK);
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 1, 1, 0);
	if (r)
		CHECK_RC(quota_claim_release(e, r->claims[0]->ns, r->claims[0]->name), QUOTA_OK);
	quota_free(r);
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 1, 0, 1);
	/* and one nobody commits expires with its TTL */
	CHECK_RC(quota_admit(e, &a, &r), QUOTA_OK);
	quota_free(r);
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 1, 1, 0);
	test_clock_advance_ms(&clk, 1001);
	CHECK_RC(quota_engine_tick(e, 0, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 1, 0, 1);
	quota_doc_unref((quota_doc *)a.trigger);
	quota_doc_unref((quota_doc *)a.user);
	quota_engine_free(e);
}

/* A retried admission renders the same names and never charges twice. */
static void test_idempotent_retry(void)
{
	quota_engine *e = reference_engine(NULL);
	quota_admission_result *r = NULL;
	char first[256] = "";
	for (int i = 0; i < 4; i++) {
		CHECK_RC(admit_as(e, my_resource("x", "uid-x"), "acme", NULL, 0, &r), QUOTA_OK);
		if (r) {
			CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_ALLOWED);
			if (i == 0)
				snprintf(first, sizeof first, "%s", r->claims[0]->name);
			else
				CHECK_STR_EQ(r->claims[0]->name, first);
			CHECK_EQ_INT((r->answer.flags & QUOTA_ANSWER_EXISTED) != 0, i > 0);
		}
		quota_free(r);
		CHECK_BUCKET(e, &acme, RESOURCES, 2, 1, 0, 1);
	}
	/* the retry also passes when the bucket is full meanwhile */
	CHECK_RC(admit_as(e, my_resource("y", "uid-y"), "acme", NULL, 0, &r), QUOTA_OK);
	quota_free(r);
	CHECK_RC(admit_as(e, my_resource("x", "uid-x"), "acme", NULL, 0, &r), QUOTA_OK);
	if (r)
		CHECK(r->answer.flags & QUOTA_ANSWER_EXISTED);
	quota_free(r);
	CHECK_BUCKET(e, &acme, RESOURCES, 2, 2, 0, 0);
	/* the same name without uid: namespace and name make the identity */
	CHECK_RC(test_grant(e, "", "acme-myservice-quota", &acme, RESOURCES, 10, NULL), QUOTA_OK);
	char a1[256] = "";
	for (int i = 0; i < 2; i++) {
		CHECK_RC(admit_as(e, my_resource("z", NULL), "acme", NULL, 0, &r), QUOTA_OK);
		if (r && i == 0)
			snprintf(a1, sizeof a1, "%s", r->claims[0]->name);
		else if (r)
			CHECK_STR_EQ(r->claims[0]->name, a1);
		quota_free(r);
	}
	CHECK(strcmp(a1, first) != 0);
	CHECK_BUCKET(e, &acme, RESOURCES, 10, 3, 0, 7);
	/* a recreated object (same name, new uid) is a new claim */
	CHECK_RC(admit_as(e, my_resource("x", "uid-x2"), "acme", NULL, 0, &r), QUOTA_OK);
	if (r)
		CHECK(strcmp(r->claims[0]->name, first) != 0);
	quota_free(r);
	CHECK_BUCKET(e, &acme, RESOURCES, 10, 4, 0, 6);
	/* neither uid nor name: a generated name cannot be stable */
	CHECK_RC(admit_as(e, my_resource(NULL, NULL), "acme", NULL, 0, &r), QUOTA_ERR_EVAL);
	if (r)
		CHECK(strstr(r->message, "generateName needs a stable suffix") != NULL);
	quota_free(r);
	quota_engine_free(e);
}

/* A claim of the rendered name that exists with another spec: denied. */
static void test_conflict(void)
{
	quota_engine *e = reference_engine(NULL);
	struct claim_pol x;
	claim_pol_reference(&x);
	x.t.generate_name = NULL;
	x.t.name = "{{ trigger.metadata.name }}";
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	struct test_claim t;
	test_claim_init(&t, "default", "taken", &acme);
	test_claim_add(&t, RESOURCES, 2);
	CHECK_RC(quota_claim_acquire(e, &t.c, NULL), QUOTA_OK);
	quota_admission_result *r = NULL;
	CHECK_RC(admit_as(e, my_resource("taken", "t"), "acme", NULL, 0, &r), QUOTA_ERR_CONFLICT);
	if (r) {
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_DENIED);
		CHECK_STR_EQ(r->policy, "myservice-resource-quota");
		CHECK(strstr(r->message, "is forbidden: quota claim default/taken exists with a "
					 "different spec") != NULL);
	}
	quota_free(r);
	quota_engine_free(e);
}

/* A rate type in a claim: the denial says so, with the retry time. */
static void test_rate_limited(void)
{
	struct test_clock clk;
	quota_engine *e = policy_engine(&clk);
	quota_registration reg;
	quota_registration_init(&reg, sizeof reg);
	reg.resource_type = "myservice.miloapis.com/creations";
	reg.consumer_type.kind = "Organization";
	reg.resource_class = QUOTA_RESOURCE_RATE;
	CHECK_RC(quota_registration_create(e, &reg), QUOTA_OK);
	quota_grant_bucket b;
	quota_grant_bucket_init(&b, sizeof b);
	b.amount = 1;
	b.period_ms = QUOTA_PERIOD_SECOND;
	quota_allowance al;
	quota_allowance_init(&al, sizeof al);
	al.resource_type = reg.resource_type;
	al.buckets = &b;
	al.bucket_count = 1;
	quota_grant g;
	quota_grant_init(&g, sizeof g);
	g.name = "acme-rate";
	g.consumer = acme;
	g.allowances = &al;
	g.allowance_count = 1;
	CHECK_RC(quota_grant_apply(e, &g, NULL), QUOTA_OK);
	struct claim_pol x;
	claim_pol_reference(&x);
	x.r[0].resource_type = reg.resource_type;
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	quota_admission_result *r = NULL;
	CHECK_RC(admit_as(e, my_resource("a", "a"), "acme", NULL, 0, &r), QUOTA_OK);
	quota_free(r);
	CHECK_RC(admit_as(e, my_resource("b", "b"), "acme", NULL, 0, &r), QUOTA_ERR_RATE_LIMITED);
	if (r) {
		CHECK_EQ_INT(r->outcome, QUOTA_ADMIT_DENIED);
		CHECK(strstr(r->message,
			     "is forbidden: You've reached your rate limit for this "
			     "resource type (myservice.miloapis.com/creations): requested 1, "
			     "available 0 of 1 per 1000 ms; retry after 1000 ms") != NULL);
	}
	quota_free(r);
	test_clock_advance_ms(&clk, 1000);
	CHECK_RC(admit_as(e, my_resource("b", "b"), "acme", NULL, 0, &r), QUOTA_OK);
	quota_free(r);
	quota_engine_free(e);
}

static void test_name_suffix(void)
{
	quota_engine *e = policy_engine(NULL);
	CHECK_RC(test_grant(e, "", "g", &acme, RESOURCES, 100, NULL), QUOTA_OK);
	struct claim_pol x;
	claim_pol_reference(&x);
	char prefix[300];
	memset(prefix, 'p', 250);
	prefix[250] = '\0';
	x.t.generate_name = prefix;
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	quota_admission_result *r = NULL;
	CHECK_RC(admit_as(e, my_resource("n", "n"), "acme", NULL, 0, &r), QUOTA_OK);
	if (r) {
		CHECK_EQ_INT(strlen(r->claims[0]->name), 253);
		CHECK_EQ_INT(strspn(r->claims[0]->name, "p"), 241);
	}
	quota_free(r);
	/* The suffix is a function of the policy's name and the identity only:
	 * another engine (another hash key) renders the same. */
	quota_engine *e2 = policy_engine(NULL);
	CHECK_RC(test_grant(e2, "", "g", &acme, RESOURCES, 100, NULL), QUOTA_OK);
	x.t.generate_name = "c-";
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_policy_apply(e2, &x.p, NULL), QUOTA_OK);
	quota_admission_result *r2 = NULL;
	CHECK_RC(admit_as(e, my_resource("n", "n"), "acme", NULL, 0, &r), QUOTA_OK);
	CHECK_RC(admit_as(e2, my_resource("n", "n"), "acme", NULL, 0, &r2), QUOTA_OK);
	if (r && r2)
		CHECK_STR_EQ(r->claims[0]->name, r2->claims[0]->name);
	quota_free(r);
	quota_free(r2);
	quota_engine_free(e2);
	quota_engine_free(e);
}

static void test_many_policies(void)
{
	quota_engine *e = policy_engine(NULL);
	CHECK_RC(test_grant(e, "", "g", &acme, RESOURCES, 100, NULL), QUOTA_OK);
	char names[QUOTA_MAX_CLAIM_SET + 1][16];
	for (int i = 0; i <= QUOTA_MAX_CLAIM_SET; i++) {
		struct claim_pol x;
		claim_pol_reference(&x);
		snprintf(names[i], sizeof names[i], "p%02d", i);
		x.p.name = names[i];
		CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	}
	quota_admission_result *r = NULL;
	CHECK_RC(admit_as(e, my_resource("m", "m"), "acme", NULL, 0, &r), QUOTA_ERR_EVAL);
	if (r) {
		CHECK_STR_EQ(r->policy, "p16");
		CHECK(strstr(r->message, "more than 16 claim policies apply") != NULL);
	}
	quota_free(r);
	CHECK_RC(quota_claim_policy_delete(e, "p16"), QUOTA_OK);
	CHECK_RC(admit_as(e, my_resource("m", "m"), "acme", NULL, 0, &r), QUOTA_OK);
	if (r)
		CHECK_EQ_INT(r->claim_count, QUOTA_MAX_CLAIM_SET);
	quota_free(r);
	CHECK_BUCKET(e, &acme, RESOURCES, 100, 16, 0, 84);
	quota_engine_free(e);
}

static void test_bad_admissions(void)
{
	quota_engine *e = reference_engine(NULL);
	quota_admission a;
	quota_admission_result *r = (void *)1;
	quota_admission_init(&a, sizeof a);
	CHECK_RC(quota_admit(NULL, &a, &r), QUOTA_ERR_INVALID);
	CHECK_RC(quota_admit(e, &a, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_admit(e, NULL, &r), QUOTA_ERR_INVALID);
	CHECK(r == NULL);
	CHECK_RC(quota_admit(e, &a, &r), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("trigger");
	static const struct {
		const char *json;
		const char *field;
	} bad[] = {
		{"[1]", "trigger: must be a map"},
		{"{\"kind\": \"MyResource\"}", "trigger.apiVersion"},
		{"{\"apiVersion\": \"v1\", \"kind\": 3}", "trigger.kind: must be a string"},
		{"{\"apiVersion\": \"v1\", \"kind\": \"\"}", "trigger.kind"},
		{"{\"apiVersion\": \"v1\", \"kind\": \"K\", \"metadata\": 1}", "trigger.metadata"},
		{"{\"apiVersion\": \"v1\", \"kind\": \"K\", \"metadata\": {\"name\": 1}}",
		 "trigger.metadata.name"},
		{"{\"apiVersion\": \"v1\", \"kind\": \"K\", \"metadata\": {\"uid\": \"a\\nb\"}}",
		 "trigger.metadata.uid"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		a.trigger = tdoc(bad[i].json);
		CHECK_RC(quota_admit(e, &a, &r), QUOTA_ERR_INVALID);
		CHECK_ERR_MENTIONS(bad[i].field);
		CHECK(r == NULL);
		quota_doc_unref((quota_doc *)a.trigger);
	}
	a.trigger = my_resource("b", "b");
	a.flags = QUOTA_ADMIT_DRY_RUN | QUOTA_ADMIT_RESERVE_ONLY;
	CHECK_RC(quota_admit(e, &a, &r), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("admission.flags");
	a.flags = 1u << 9;
	CHECK_RC(quota_admit(e, &a, &r), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("admission.flags");
	a.flags = 0;
	a.reserved_flags = 1;
	CHECK_RC(quota_admit(e, &a, &r), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("admission.reserved_flags");
	a.reserved_flags = 0;
	a.ttl_ms = -1;
	CHECK_RC(quota_admit(e, &a, &r), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("admission.ttl_ms");
	a.ttl_ms = 0;
	a.size = 8;
	CHECK_RC(quota_admit(e, &a, &r), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("admission.size");
	quota_doc_unref((quota_doc *)a.trigger);
	CHECK_RC(quota_admission_init(NULL, sizeof a), QUOTA_ERR_INVALID);
	CHECK_RC(quota_admission_init(&a, 4), QUOTA_ERR_INVALID);
	quota_engine_free(e);
}

/* The value of quota_admissions_total{result="<result>"}, or -1. */
static long admissions(quota_engine *e, const char *result)
{
	char *text = NULL, want[96];
	long v = -1;
	CHECK_RC(quota_metrics_prometheus(e, &text, NULL), QUOTA_OK);
	snprintf(want, sizeof want, "\nquota_admissions_total{result=\"%s\"} ", result);
	const char *at = text ? strstr(text, want) : NULL;
	if (at)
		v = strtol(at + strlen(want), NULL, 10);
	quota_free(text);
	return v;
}

static void test_counters(void)
{
	quota_engine *e = reference_engine(NULL);
	quota_admission_result *r = NULL;
	CHECK_EQ_INT(admissions(e, "allowed"), 0);
	for (int i = 0; i < 3; i++) {
		char uid[8];
		snprintf(uid, sizeof uid, "c%d", i);
		admit_as(e, my_resource(uid, uid), "acme", NULL, 0, &r); /* 2 allowed, 1 denied */
		quota_free(r);
	}
	admit_as(e, my_resource("c0", "c0"), "acme", NULL, 0, &r); /* a retry: allowed */
	quota_free(r);
	admit_as(e, my_resource("c9", "c9"), "acme", NULL, QUOTA_ADMIT_DRY_RUN,
		 &r); /* not counted */
	quota_free(r);
	admit_as(e, trigger_doc(SVC_V1, "Other", "d", "o", "o", NULL), "acme", NULL, 0, &r);
	quota_free(r);
	admit_as(e, my_resource("c8", "c8"), NULL, NULL, 0, &r); /* no user: fails closed */
	quota_free(r);
	CHECK_EQ_INT(admissions(e, "allowed"), 3);
	CHECK_EQ_INT(admissions(e, "denied"), 1);
	CHECK_EQ_INT(admissions(e, "no_policy"), 1);
	CHECK_EQ_INT(admissions(e, "failed_closed"), 1);
	CHECK_EQ_INT(admissions(e, "failed_open"), 0);
	quota_engine_free(e);
}

/* ---- allocation failures -------------------------------------------------- */

static quota_engine *sweep_engine;
static struct counting sweep_alloc;
static uint32_t sweep_flags;

static int op_admit(void *arg)
{
	quota_doc *trigger = arg;
	quota_admission a;
	quota_admission_result *r = NULL;
	quota_admission_init(&a, sizeof a);
	a.trigger = trigger;
	a.flags = sweep_flags;
	int rc = quota_admit(sweep_engine, &a, &r);
	long left = atomic_load(&sweep_alloc.fail_after);
	atomic_store(&sweep_alloc.fail_after, -1);
	if (rc == QUOTA_ERR_NOMEM) {
		CHECK(r == NULL);
		CHECK_BUCKET(sweep_engine, &acme, RESOURCES, 1, 0, 0, 1);
	} else if (r && !(sweep_flags & QUOTA_ADMIT_DRY_RUN)) {
		/* give back what it took: the sweep counts blocks */
		for (uint32_t i = 0; i < r->claim_count; i++)
			quota_claim_release(sweep_engine, r->claims[i]->ns, r->claims[i]->name);
	}
	quota_free(r);
	atomic_store(&sweep_alloc.fail_after, left);
	return rc == QUOTA_ERR_NOMEM ? rc : QUOTA_OK; /* decided, allowed or not */
}

static void test_allocation_failures(void)
{
	struct counting *c = &sweep_alloc;
	CHECK_RC(counting_install(c), QUOTA_OK);
	sweep_engine = test_engine(NULL, 0); /* released claims go at once */
	quota_registration reg;
	quota_registration_init(&reg, sizeof reg);
	reg.resource_type = RESOURCES;
	reg.consumer_type.kind = "Organization";
	CHECK_RC(quota_registration_create(sweep_engine, &reg), QUOTA_OK);
	CHECK_RC(test_grant(sweep_engine, "", "g", &acme, RESOURCES, 1, NULL), QUOTA_OK);
	/* the audit ring is made by the first denial: make it now */
	CHECK_RC(quota_consume(sweep_engine, &acme, RESOURCES, 2, NULL), QUOTA_ERR_EXCEEDED);
	struct claim_pol x;
	claim_pol_reference(&x);
	x.t.consumer.name = "{{ trigger.spec.org }}";
	claim_pol_constraint(&x, "trigger.spec.size in ['s', 'm'] && trigger.metadata.name != ''",
			     NULL);
	CHECK_RC(quota_claim_policy_apply(sweep_engine, &x.p, NULL), QUOTA_OK);
	quota_doc *ok = trigger_doc(SVC_V1, "MyResource", "default", "r", "u",
				    "{\"size\": \"s\", \"org\": \"acme\"}");
	quota_doc *other = trigger_doc(SVC_V1, "MyResource", "default", "r", "u",
				       "{\"size\": \"s\", \"org\": \"globex\"}");
	quota_doc *broken = trigger_doc(SVC_V1, "MyResource", "default", "r", "u", "{\"org\": 1}");
	sweep_flags = 0;
	FAULT_SWEEP(c, op_admit, ok);     /* allowed */
	FAULT_SWEEP(c, op_admit, other);  /* denied: globex has no quota */
	FAULT_SWEEP(c, op_admit, broken); /* failed closed */
	sweep_flags = QUOTA_ADMIT_DRY_RUN;
	FAULT_SWEEP(c, op_admit, ok);
	sweep_flags = QUOTA_ADMIT_RESERVE_ONLY;
	FAULT_SWEEP(c, op_admit, ok);
	quota_doc_unref(ok);
	quota_doc_unref(other);
	quota_doc_unref(broken);
	quota_engine_free(sweep_engine);
	CHECK_EQ_INT(live(c), 0);
	CHECK_RC(quota_set_allocator(NULL), QUOTA_OK);
}

/* ---- what it costs (printed, not asserted) ----------------------------------- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A 2 KB trigger like the objects Milo admits. */
static void big_trigger(char *json, size_t cap, int i)
{
	int n = snprintf(
		json, cap,
		"{\"apiVersion\": \"" SVC_V1 "\", \"kind\": \"MyResource\", \"metadata\": "
		"{\"name\": \"resource-%d\", \"namespace\": \"team-a\", \"uid\": "
		"\"6f1c2d3e-4b5a-4c6d-9e8f-%012d\", \"generation\": 1, "
		"\"creationTimestamp\": \"2025-01-01T00:00:00Z\", \"labels\": "
		"{\"app.kubernetes.io/name\": \"web\", \"app.kubernetes.io/part-of\": "
		"\"shop\", \"tier\": \"pro\", \"env\": \"production\"}, \"annotations\": {",
		i, i);
	for (int k = 0; k < 15; k++)
		n += snprintf(json + n, cap - (size_t)n,
			      "%s\"example.com/note-%d\": \"a note that takes some room, as "
			      "annotations do in real objects %d\"",
			      k ? ", " : "", k, k);
	snprintf(json + n, cap - (size_t)n,
		 "}}, \"spec\": {\"size\": \"m\", \"replicas\": 3, \"org\": \"acme\", "
		 "\"regions\": [\"eu-west\", \"us-east\"], \"containers\": [{\"name\": \"web\", "
		 "\"image\": \"registry.example.com/shop/web:1.2.3\", \"ports\": [80, 443]}, "
		 "{\"name\": \"sidecar\", \"image\": \"registry.example.com/mesh/proxy:2.0\"}]}, "
		 "\"status\": {\"phase\": \"Pending\"}}");
}

static void test_costs(void)
{
	quota_engine *e = policy_engine(NULL);
	CHECK_RC(test_grant(e, "", "g", &acme, RESOURCES, QUOTA_UNLIMITED, NULL), QUOTA_OK);
	struct claim_pol x;
	claim_pol_reference(&x);
	x.t.consumer.name = "{{ trigger.spec.org }}";
	claim_pol_constraint(&x, "trigger.metadata.labels.tier in ['pro', 'enterprise']", NULL);
	claim_pol_constraint(&x, "trigger.spec.replicas <= 10", NULL);
	claim_pol_constraint(
		&x, "trigger.spec.regions.all(r, r.startsWith('eu') || r.startsWith('us'))", NULL);
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	char json[4096];
	big_trigger(json, sizeof json, 0);
	printf("trigger: %zu bytes of JSON\n", strlen(json));

	/* one compiled constraint */
	quota_doc *t = tdoc(json);
	const char *const vars[] = {"trigger"};
	quota_expr *c = NULL;
	CHECK_RC(quota_expr_compile(x.c[0].expression, vars, 1, &c), QUOTA_OK);
	const int N = 200000;
	int32_t holds = 0;
	double t0 = now_s();
	for (int i = 0; i < N; i++)
		quota_expr_eval_bool(c, (const quota_doc *const *)&t, 1, NULL, &holds);
	double t1 = now_s();
	CHECK_EQ_INT(holds, 1);
	printf("cost: one compiled constraint (%s): %.0f ns\n", x.c[0].expression,
	       (t1 - t0) / N * 1e9);
	quota_expr_free(c);
	quota_doc_unref(t);

	/* full admissions: a new object each time, JSON parse included */
	if (!(quota_features() & QUOTA_FEATURE_JSON)) {
		printf("cost: full admission: skipped (built without JSON)\n");
		quota_engine_free(e);
		return;
	}
	const int M = 20000;
	double parse = 0, total = 0;
	for (int i = 0; i < M; i++) {
		big_trigger(json, sizeof json, i);
		double a0 = now_s();
		quota_doc *d = NULL;
		CHECK_RC(quota_doc_parse_json(json, strlen(json), &d), QUOTA_OK);
		double a1 = now_s();
		quota_admission a;
		quota_admission_result *r = NULL;
		quota_admission_init(&a, sizeof a);
		a.trigger = d;
		int rc = quota_admit(e, &a, &r);
		double a2 = now_s();
		if (rc != QUOTA_OK || !r || r->outcome != QUOTA_ADMIT_ALLOWED)
			CHECK_RC(rc, QUOTA_OK);
		quota_free(r);
		quota_doc_unref(d);
		parse += a1 - a0;
		total += a2 - a0;
	}
	printf("cost: full admission of a %zu-byte trigger, 3 constraints, 2 templates: %.1f us "
	       "(JSON parse %.1f us, admission %.1f us)\n",
	       strlen(json), total / M * 1e6, parse / M * 1e6, (total - parse) / M * 1e6);
	CHECK_BUCKET(e, &acme, RESOURCES, -1, M, 0, -1);
	quota_engine_free(e);
}

int main(void)
{
	RUN(test_reference_pattern1);
	RUN(test_core_group_message);
	RUN(test_no_policy_applies);
	RUN(test_constraints_and);
	RUN(test_policies_share_one_set);
	RUN(test_fail_closed_and_open);
	RUN(test_dry_run);
	RUN(test_two_phase);
	RUN(test_idempotent_retry);
	RUN(test_conflict);
	RUN(test_rate_limited);
	RUN(test_name_suffix);
	RUN(test_many_policies);
	RUN(test_bad_admissions);
	RUN(test_counters);
	RUN(test_allocation_failures);
	RUN(test_costs);
	return check_exit();
}
