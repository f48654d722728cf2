/*
 * Policy objects: apply, get, list, delete, generations, and every check
 * an apply makes, each naming its field and changing nothing.
 * SPDX-License-Identifier: MIT
 */
#include "alloc-hook.h"
#include "policy-util.h"

static void test_claim_policy_lifecycle(void)
{
	quota_engine *e = policy_engine(NULL);
	struct claim_pol x;
	claim_pol_reference(&x);
	claim_pol_constraint(&x, "trigger.spec.size != 'huge'",
			     "huge resources are not claimed here");
	int64_t gen = 0;
	CHECK_RC(quota_claim_policy_apply(e, &x.p, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 1);

	quota_claim_policy *got = NULL;
	CHECK_RC(quota_claim_policy_get(e, "myservice-resource-quota", &got), QUOTA_OK);
	if (got) {
		CHECK_STR_EQ(got->name, "myservice-resource-quota");
		CHECK_STR_EQ(got->trigger.api_version, SVC_V1);
		CHECK_STR_EQ(got->trigger.kind, "MyResource");
		CHECK_EQ_INT(got->constraint_count, 1);
		CHECK_STR_EQ(got->constraints[0].expression, "trigger.spec.size != 'huge'");
		CHECK_STR_EQ(got->constraints[0].message, "huge resources are not claimed here");
		CHECK_EQ_INT(got->flags, 0);
		CHECK_EQ_INT(got->generation, 1);
		CHECK_STR_EQ(got->claim->name, "");
		CHECK_STR_EQ(got->claim->generate_name, "myresource-claim-");
		CHECK_STR_EQ(got->claim->ns, "{{trigger.metadata.namespace}}");
		CHECK_STR_EQ(got->claim->consumer.kind, "Organization");
		CHECK_STR_EQ(got->claim->consumer.api_group, MILO_GROUP);
		CHECK_EQ_INT(got->claim->request_count, 1);
		CHECK_STR_EQ(got->claim->requests[0].resource_type, RESOURCES);
		CHECK_EQ_INT(got->claim->requests[0].amount, 1);
		CHECK_EQ_INT(got->claim->requests[0].size, sizeof(quota_request_template));
		/* a copy applies again as it is: nothing changes */
		CHECK_RC(quota_claim_policy_apply(e, got, &gen), QUOTA_OK);
		CHECK_EQ_INT(gen, 1);
		quota_free(got);
	}
	/* an identical apply keeps the generation, a change bumps it */
	CHECK_RC(quota_claim_policy_apply(e, &x.p, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 1);
	x.r[0].amount = 2;
	CHECK_RC(quota_claim_policy_apply(e, &x.p, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 2);
	x.p.flags = QUOTA_POLICY_DISABLED;
	CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);

	/* list: sorted by name, whatever the triggers */
	struct claim_pol y;
	claim_pol_reference(&y);
	y.p.name = "another";
	y.p.trigger.kind = "Zebra";
	CHECK_RC(quota_claim_policy_apply(e, &y.p, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 1);
	quota_claim_policy **list = NULL;
	size_t n = 0;
	CHECK_RC(quota_claim_policy_list(e, &list, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 2);
	if (n == 2) {
		CHECK_STR_EQ(list[0]->name, "another");
		CHECK_STR_EQ(list[1]->name, "myservice-resource-quota");
		CHECK_EQ_INT(list[1]->generation, 3);
		CHECK_EQ_INT(list[1]->flags, QUOTA_POLICY_DISABLED);
		CHECK_EQ_INT(list[1]->claim->requests[0].amount, 2);
	}
	quota_free(list);

	CHECK_RC(quota_claim_policy_delete(e, "another"), QUOTA_OK);
	CHECK_RC(quota_claim_policy_delete(e, "another"), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_claim_policy_get(e, "another", &got), QUOTA_ERR_NOT_FOUND);
	CHECK(got == NULL);
	/* a claim policy and a grant policy of one name are two objects */
	CHECK_RC(quota_grant_policy_get(e, "myservice-resource-quota", NULL), QUOTA_ERR_INVALID);
	quota_grant_policy *g = NULL;
	CHECK_RC(quota_grant_policy_get(e, "myservice-resource-quota", &g), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_claim_policy_delete(e, "myservice-resource-quota"), QUOTA_OK);
	CHECK_RC(quota_claim_policy_list(e, &list, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 0);
	quota_free(list);
	quota_engine_free(e);
}

static void test_grant_policy_lifecycle(void)
{
	quota_engine *e = policy_engine(NULL);
	struct grant_pol x;
	grant_pol_reference(&x);
	x.p.parent_context.api_group = MILO_GROUP;
	x.p.parent_context.kind = "Organization";
	x.p.parent_context.name_expression = "trigger.metadata.name";
	int64_t gen = 0;
	CHECK_RC(quota_grant_policy_apply(e, &x.p, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 1);
	quota_grant_policy *got = NULL;
	CHECK_RC(quota_grant_policy_get(e, "myservice-default-grant", &got), QUOTA_OK);
	if (got) {
		CHECK_STR_EQ(got->grant->name, "{{trigger.metadata.name}}-myservice-quota");
		CHECK_STR_EQ(got->grant->consumer.name, "{{trigger.metadata.name}}");
		CHECK_EQ_INT(got->grant->allowance_count, 1);
		CHECK_STR_EQ(got->grant->allowances[0].resource_type, RESOURCES);
		CHECK_EQ_INT(got->grant->allowances[0].buckets[0].amount, 100);
		CHECK_STR_EQ(got->parent_context.kind, "Organization");
		CHECK_STR_EQ(got->parent_context.name_expression, "trigger.metadata.name");
		CHECK_RC(quota_grant_policy_apply(e, got, &gen), QUOTA_OK);
		CHECK_EQ_INT(gen, 1);
		quota_free(got);
	}
	x.b[0].amount = 200;
	CHECK_RC(quota_grant_policy_apply(e, &x.p, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 2);
	x.p.parent_context.name_expression = "trigger.metadata.name + ''";
	CHECK_RC(quota_grant_policy_apply(e, &x.p, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 3);
	quota_grant_policy **list = NULL;
	size_t n = 0;
	CHECK_RC(quota_grant_policy_list(e, &list, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 1);
	quota_free(list);
	CHECK_RC(quota_grant_policy_delete(e, "myservice-default-grant"), QUOTA_OK);
	CHECK_RC(quota_grant_policy_delete(e, "myservice-default-grant"), QUOTA_ERR_NOT_FOUND);
	quota_engine_free(e);
}

/* ---- every check of a claim policy -------------------------------------- */

static char long_text[2048];

static const char *text_of(size_t n)
{
	memset(long_text, 'a', n);
	long_text[n] = '\0';
	return long_text;
}

/* Apply the reference claim policy after mutation k; the expected status
 * and the field the detail names. */
static void claim_case(quota_engine *e, int k, int want, const char *field)
{
	struct claim_pol x;
	quota_label dims[3] = {{"region", "{{trigger.spec.region}}"}, {"tier", "gold"}};
	claim_pol_reference(&x);
	switch (k) {
	case 0: x.p.name = NULL; break;
	case 1: x.p.name = text_of(254); break;
	case 2: x.p.trigger.api_version = ""; break;
	case 3: x.p.trigger.api_version = "V1"; break;
	case 4: x.p.trigger.api_version = "example.com/"; break;
	case 5: x.p.trigger.api_version = "Example.com/v1"; break;
	case 6: x.p.trigger.api_version = "example.com/v1beta"; break;
	case 7: x.p.trigger.api_version = "a..b/v1"; break;
	case 8: x.p.trigger.api_version = "-a.b/v1"; break;
	case 9: x.p.trigger.kind = "myResource"; break;
	case 10: x.p.trigger.kind = ""; break;
	case 11: x.p.trigger.kind = "My-Resource"; break;
	case 12:
		x.p.trigger.kind =
			"M"
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
		break;
	case 13:
		for (int i = 0; i < QUOTA_MAX_CONSTRAINTS + 1; i++)
			claim_pol_constraint(&x, "true", NULL);
		break;
	case 14: claim_pol_constraint(&x, "", NULL); break;
	case 15:
		claim_pol_constraint(&x, "true", NULL);
		claim_pol_constraint(&x, "trigger.spec ==", NULL);
		break;
	case 16: claim_pol_constraint(&x, "nobody.x == 1", NULL); break;
	case 17: claim_pol_constraint(&x, "true", text_of(QUOTA_CONSTRAINT_MESSAGE_MAX + 1)); break;
	case 18: claim_pol_constraint(&x, text_of(QUOTA_EXPR_MAX_LENGTH + 1), NULL); break;
	case 19: claim_pol_constraint(&x, "true", "a\nb"); break;
	case 20: x.p.flags = 1u << 7; break;
	case 21: x.p.claim = NULL; break;
	case 22: x.t.name = "fixed"; break; /* and generateName */
	case 23: x.t.generate_name = NULL; break;
	case 24: x.t.generate_name = "{{ trigger.metadata.name"; break;
	case 25: x.t.ns = text_of(64); break;
	case 26: x.t.consumer.kind = NULL; break;
	case 27: x.t.consumer.name = ""; break;
	case 28: x.t.resource.name = "{{trigger.metadata.name}}"; break;
	case 29: x.t.request_count = 0; break;
	case 30:
		for (int i = 0; i < QUOTA_MAX_REQUESTS; i++)
			claim_pol_request(&x, "{{trigger.spec.type}}", 1);
		break;
	case 31: x.r[0].amount = 0; break;
	case 32: x.r[0].resource_type = ""; break;
	case 33: x.r[0].resource_type = "example.com/unknown"; break;
	case 34: claim_pol_request(&x, RESOURCES, 2); break;
	case 35:
		x.r[0].dimensions = dims, x.r[0].dimension_count = 2;
		dims[0].key = "-bad";
		break;
	case 36: x.r[0].dimensions = dims, x.r[0].dimension_count = 2; break; /* not allowed */
	case 37:
		x.r[0].dimensions = dims, x.r[0].dimension_count = 2;
		dims[1].value = "not ok!";
		break;
	case 38: x.t.consumer.kind = "Project"; break;
	case 39: x.p.trigger.kind = "Other"; break; /* not on the claiming list of PROJECTS */
	case 40: x.p.size = 8; break;
	case 41: x.r[0].reserved_flags = 1; break;
	case 42: x.t.reserved_flags = 1; break;
	case 43: x.t.ns = "{{ user.name + }}"; break;
	case 44:
		x.t.consumer.name = "{{ requestInfo.x }} {{ 1 }}";
		break; /* compiles: fails when used */
	case 45: x.r[0].resource_type = "{{ 'example.com/' + trigger.spec.kind }}"; break;
	case 46: x.p.trigger.api_version = "v1"; break;
	case 47: x.p.trigger.api_version = "example.com/v1alpha1"; break;
	case 48: x.t.requests = NULL; break;
	case 49:
		x.r[1].size = 8;
		claim_pol_request(&x, PROJECTS, 1);
		x.r[1].size = 8;
		break;
	case 50: x.t.consumer.api_group = "other.example.com"; break;
	case 51:
		claim_pol_constraint(&x, "trigger.x", NULL);
		x.c[0].size = 4;
		break;
	case 52:
		x.r[0].dimensions = dims, x.r[0].dimension_count = 2;
		dims[1].key = "region";
		break;
	case 53:
		x.t.resource.kind = "Thing", x.t.resource.name = "{{trigger.metadata.name}}";
		break;
	}
	if (k == 39) {
		/* PROJECTS may be claimed by MyResource objects only */
		quota_registration r;
		quota_kind_ref who = {"myservice.miloapis.com", "MyResource"};
		quota_registration_init(&r, sizeof r);
		r.resource_type = "claimed.example.com/things";
		r.consumer_type.kind = "Organization";
		r.claiming_resources = &who;
		r.claiming_resource_count = 1;
		CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
		x.r[0].resource_type = "claimed.example.com/things";
	}
	int rc = quota_claim_policy_apply(e, &x.p, NULL);
	if (rc != want)
		check_fail_(__FILE__, __LINE__, "claim case %d: %s, want %s", k, quota_strerror(rc),
			    quota_strerror(want));
	else if (field && !check_err_mentions_(field))
		check_fail_(__FILE__, __LINE__, "claim case %d: the detail should name %s", k,
			    field);
	/* a refused policy changed nothing: the applied one is still there */
	if (want != QUOTA_OK) {
		quota_claim_policy *got = NULL;
		CHECK_RC(quota_claim_policy_get(e, "myservice-resource-quota", &got), QUOTA_OK);
		if (got) {
			CHECK_EQ_INT(got->generation, 1);
			CHECK_STR_EQ(got->claim->generate_name, "myresource-claim-");
		}
		quota_free(got);
	} else {
		/* back to the reference, generation 1 */
		CHECK_RC(quota_claim_policy_delete(e, x.p.name), QUOTA_OK);
		claim_pol_reference(&x);
		CHECK_RC(quota_claim_policy_apply(e, &x.p, NULL), QUOTA_OK);
	}
}

static void test_claim_policy_checks(void)
{
	quota_engine *e = policy_engine(NULL);
	struct claim_pol ok;
	claim_pol_reference(&ok);
	CHECK_RC(quota_claim_policy_apply(e, &ok.p, NULL), QUOTA_OK);
	static const struct {
		int want;
		const char *field;
	} cases[] = {
		{QUOTA_ERR_INVALID, "policy.name"},
		{QUOTA_ERR_INVALID, "policy.name"},
		{QUOTA_ERR_INVALID, "policy.trigger.apiVersion"},
		{QUOTA_ERR_INVALID, "policy.trigger.apiVersion"},
		{QUOTA_ERR_INVALID, "policy.trigger.apiVersion"},
		{QUOTA_ERR_INVALID, "policy.trigger.apiVersion"},
		{QUOTA_ERR_INVALID, "policy.trigger.apiVersion"},
		{QUOTA_ERR_INVALID, "policy.trigger.apiVersion"},
		{QUOTA_ERR_INVALID, "policy.trigger.apiVersion"},
		{QUOTA_ERR_INVALID,
		 "policy.trigger.kind: \"myResource\" does not match ^[A-Z][a-zA-Z0-9]*$"},
		{QUOTA_ERR_INVALID, "policy.trigger.kind"},
		{QUOTA_ERR_INVALID, "policy.trigger.kind"},
		{QUOTA_ERR_INVALID, "policy.trigger.kind"},
		{QUOTA_ERR_INVALID, "policy.trigger.constraints: 11 entries"},
		{QUOTA_ERR_INVALID, "policy.trigger.constraints[0].expression"},
		{QUOTA_ERR_PARSE, "policy.trigger.constraints[1].expression: column"},
		{QUOTA_ERR_PARSE,
		 "policy.trigger.constraints[0].expression: column 1: undeclared reference to 'nobody'"},
		{QUOTA_ERR_INVALID, "policy.trigger.constraints[0].message"},
		{QUOTA_ERR_PARSE, "policy.trigger.constraints[0].expression"},
		{QUOTA_ERR_INVALID, "policy.trigger.constraints[0].message: control character"},
		{QUOTA_ERR_INVALID, "policy.flags"},
		{QUOTA_ERR_INVALID, "policy.target.resourceClaimTemplate: must not be NULL"},
		{QUOTA_ERR_INVALID,
		 "resourceClaimTemplate.metadata: set exactly one of name and generateName"},
		{QUOTA_ERR_INVALID, "resourceClaimTemplate.metadata: set exactly one"},
		{QUOTA_ERR_PARSE,
		 "policy.target.resourceClaimTemplate.metadata.generateName: column 1"},
		{QUOTA_ERR_INVALID, "policy.target.resourceClaimTemplate.metadata.namespace"},
		{QUOTA_ERR_INVALID, "resourceClaimTemplate.spec.consumerRef.kind"},
		{QUOTA_ERR_INVALID, "resourceClaimTemplate.spec.consumerRef.name"},
		{QUOTA_ERR_INVALID, "resourceClaimTemplate.spec.resourceRef.kind"},
		{QUOTA_ERR_INVALID, "resourceClaimTemplate.spec.requests: 0 entries"},
		{QUOTA_ERR_INVALID, "resourceClaimTemplate.spec.requests: 21 entries"},
		{QUOTA_ERR_INVALID, "resourceClaimTemplate.spec.requests[0].amount"},
		{QUOTA_ERR_INVALID, "resourceClaimTemplate.spec.requests[0].resourceType"},
		{QUOTA_ERR_UNREGISTERED,
		 "resourceClaimTemplate.spec.requests[0].resourceType: example.com/unknown is not registered"},
		{QUOTA_ERR_INVALID, "resourceClaimTemplate.spec.requests[1].resourceType"},
		{QUOTA_ERR_INVALID, "resourceClaimTemplate.spec.requests[0].dimensions[0].key"},
		{QUOTA_ERR_INVALID, "resourceClaimTemplate.spec.requests[0].dimensions"},
		{QUOTA_ERR_INVALID, "resourceClaimTemplate.spec.requests[0].dimensions[1].value"},
		{QUOTA_ERR_NOT_ALLOWED, "resourceClaimTemplate.spec.consumerRef.kind"},
		{QUOTA_ERR_NOT_ALLOWED, "policy.trigger"},
		{QUOTA_ERR_INVALID, "policy.size"},
		{QUOTA_ERR_INVALID, "requests[0].reserved_flags"},
		{QUOTA_ERR_INVALID, "resourceClaimTemplate.reserved_flags"},
		{QUOTA_ERR_PARSE, "resourceClaimTemplate.metadata.namespace: column"},
		{QUOTA_OK, NULL},
		{QUOTA_OK, NULL},
		{QUOTA_OK, NULL},
		{QUOTA_OK, NULL},
		{QUOTA_ERR_INVALID, "resourceClaimTemplate.spec.requests: NULL"},
		{QUOTA_ERR_INVALID, "resourceClaimTemplate.spec.requests[1].size"},
		{QUOTA_ERR_NOT_ALLOWED, "resourceClaimTemplate.spec.consumerRef.apiGroup"},
		{QUOTA_ERR_INVALID, "policy.trigger.constraints[0].size"},
		{QUOTA_ERR_INVALID, "dimensions[1].key: region is also dimensions[0]"},
		{QUOTA_OK, NULL},
	};
	for (int k = 0; k < (int)(sizeof cases / sizeof cases[0]); k++)
		claim_case(e, k, cases[k].want, cases[k].field);
	quota_engine_free(e);
}

/* ---- every check of a grant policy ---------------------------------------- */

static void grant_case(quota_engine *e, int k, int want, const char *field)
{
	struct grant_pol x;
	grant_pol_reference(&x);
	switch (k) {
	case 0: x.p.grant = NULL; break;
	case 1: x.t.name = NULL; break;
	case 2: x.t.allowance_count = 0; break;
	case 3: x.b[0].amount = -5; break;
	case 4: x.a[0].resource_type = "example.com/unknown"; break;
	case 5: x.t.consumer.kind = "Project"; break;
	case 6: x.p.parent_context.kind = "Organization"; break;
	case 7:
		x.p.parent_context.kind = "Organization";
		x.p.parent_context.name_expression = "trigger.metadata.";
		break;
	case 8:
		x.p.parent_context.kind = "Organization";
		x.p.parent_context.name_expression = "user.name";
		break;
	case 9: x.b[0].period_ms = 1000; break;
	case 10: x.p.flags = QUOTA_POLICY_FAIL_OPEN; break;
	case 11: grant_pol_constraint(&x, "user.name == 'x'", NULL); break;
	case 12: x.t.name = "{{ trigger.metadata.name }"; break;
	case 13: x.t.consumer.name = NULL; break;
	case 14: x.p.parent_context.name_expression = "trigger.metadata.name"; break;
	case 15: x.t.name = text_of(254); break;
	case 16: x.t.reserved_flags = 2; break;
	case 17: x.p.trigger.kind = "organization"; break;
	case 18: x.a[0].bucket_count = 0; break;
	case 19: x.p.flags = QUOTA_POLICY_DISABLED; break;
	case 20:
		x.t.ns = "{{ trigger.metadata.namespace }}";
		x.t.consumer.ns = "{{1}}";
		break;
	}
	int rc = quota_grant_policy_apply(e, &x.p, NULL);
	if (rc != want)
		check_fail_(__FILE__, __LINE__, "grant case %d: %s, want %s", k, quota_strerror(rc),
			    quota_strerror(want));
	else if (field && !check_err_mentions_(field))
		check_fail_(__FILE__, __LINE__, "grant case %d: the detail should name %s", k,
			    field);
	quota_grant_policy *got = NULL;
	CHECK_RC(quota_grant_policy_get(e, "myservice-default-grant", &got), QUOTA_OK);
	if (got)
		CHECK_EQ_INT(got->generation, want == QUOTA_OK ? 2 : 1);
	quota_free(got);
	if (want == QUOTA_OK) {
		/* back to the reference, generation 1 */
		CHECK_RC(quota_grant_policy_delete(e, x.p.name), QUOTA_OK);
		grant_pol_reference(&x);
		CHECK_RC(quota_grant_policy_apply(e, &x.p, NULL), QUOTA_OK);
	}
}

static void test_grant_policy_checks(void)
{
	quota_engine *e = policy_engine(NULL);
	struct grant_pol ok;
	grant_pol_reference(&ok);
	CHECK_RC(quota_grant_policy_apply(e, &ok.p, NULL), QUOTA_OK);
	static const struct {
		int want;
		const char *field;
	} cases[] = {
		{QUOTA_ERR_INVALID, "policy.target.resourceGrantTemplate: must not be NULL"},
		{QUOTA_ERR_INVALID, "policy.target.resourceGrantTemplate.metadata.name"},
		{QUOTA_ERR_INVALID,
		 "policy.target.resourceGrantTemplate.spec.allowances: 0 entries"},
		{QUOTA_ERR_INVALID,
		 "policy.target.resourceGrantTemplate.spec.allowances[0].buckets[0].amount"},
		{QUOTA_ERR_UNREGISTERED,
		 "policy.target.resourceGrantTemplate.spec.allowances[0].resourceType"},
		{QUOTA_ERR_NOT_ALLOWED,
		 "policy.target.resourceGrantTemplate.spec.consumerRef.kind"},
		{QUOTA_ERR_INVALID,
		 "policy.target.parentContext.nameExpression: must not be empty"},
		{QUOTA_ERR_PARSE, "policy.target.parentContext.nameExpression: column"},
		{QUOTA_ERR_PARSE,
		 "policy.target.parentContext.nameExpression: column 1: undeclared reference to 'user'"},
		{QUOTA_ERR_INVALID,
		 "resourceGrantTemplate.spec.allowances[0].buckets[0].period_ms"},
		{QUOTA_ERR_INVALID, "policy.flags"},
		{QUOTA_ERR_PARSE,
		 "policy.trigger.constraints[0].expression: column 1: undeclared reference to 'user'"},
		{QUOTA_ERR_PARSE, "resourceGrantTemplate.metadata.name: column 1"},
		{QUOTA_ERR_INVALID, "resourceGrantTemplate.spec.consumerRef.name"},
		{QUOTA_ERR_INVALID, "policy.target.parentContext.kind"},
		{QUOTA_ERR_INVALID, "resourceGrantTemplate.metadata.name: longer than"},
		{QUOTA_ERR_INVALID, "resourceGrantTemplate.reserved_flags"},
		{QUOTA_ERR_INVALID, "policy.trigger.kind"},
		{QUOTA_ERR_INVALID, "resourceGrantTemplate.spec.allowances[0].buckets: 0 entries"},
		{QUOTA_OK, NULL},
		{QUOTA_OK, NULL},
	};
	for (int k = 0; k < (int)(sizeof cases / sizeof cases[0]); k++)
		grant_case(e, k, cases[k].want, cases[k].field);
	quota_engine_free(e);
}

static void test_bad_arguments(void)
{
	quota_engine *e = policy_engine(NULL);
	struct claim_pol x;
	claim_pol_reference(&x);
	CHECK_RC(quota_claim_policy_apply(NULL, &x.p, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_policy_apply(e, NULL, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_grant_policy_apply(e, NULL, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_policy_delete(e, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_policy_delete(e, ""), QUOTA_ERR_INVALID);
	CHECK_RC(quota_claim_policy_list(e, NULL, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_grant_policy_list(NULL, NULL, NULL), QUOTA_ERR_INVALID);
	quota_claim_policy *p = (void *)1;
	CHECK_RC(quota_claim_policy_get(e, "", &p), QUOTA_ERR_INVALID);
	CHECK(p == NULL);
	CHECK_RC(quota_constraint_init(NULL, 0), QUOTA_ERR_INVALID);
	quota_constraint c;
	CHECK_RC(quota_constraint_init(&c, sizeof c - 1), QUOTA_ERR_INVALID);
	quota_request_template r;
	CHECK_RC(quota_request_template_init(&r, 4), QUOTA_ERR_INVALID);
	quota_claim_template ct;
	CHECK_RC(quota_claim_template_init(&ct, 4), QUOTA_ERR_INVALID);
	quota_claim_policy cp;
	CHECK_RC(quota_claim_policy_init(&cp, 4), QUOTA_ERR_INVALID);
	quota_grant_template gt;
	CHECK_RC(quota_grant_template_init(&gt, 4), QUOTA_ERR_INVALID);
	quota_grant_policy gp;
	CHECK_RC(quota_grant_policy_init(&gp, 4), QUOTA_ERR_INVALID);
	CHECK_RC(quota_grant_policy_init(&gp, sizeof gp), QUOTA_OK);
	CHECK_EQ_INT(gp.size, sizeof gp);
	CHECK(gp.flags == 0 && gp.grant == NULL);
	quota_engine_free(e);
}

/* ---- allocation failures -------------------------------------------------- */

static quota_engine *sweep_engine;
static struct counting sweep_alloc;

/* Let allocations succeed for a moment inside a sweep (to look at the
 * engine), then fail again as planned. */
static long allocator_on(void)
{
	long left = atomic_load(&sweep_alloc.fail_after);
	atomic_store(&sweep_alloc.fail_after, -1);
	return left;
}

static void allocator_back(long left)
{
	atomic_store(&sweep_alloc.fail_after, left);
}

static int op_apply_claim(void *arg)
{
	struct claim_pol x;
	(void)arg;
	claim_pol_reference(&x);
	claim_pol_constraint(&x, "trigger.spec.size in ['s', 'm']", "small ones only");
	int rc = quota_claim_policy_apply(sweep_engine, &x.p, NULL);
	long left = allocator_on();
	quota_claim_policy *got = NULL;
	CHECK_RC(quota_claim_policy_get(sweep_engine, x.p.name, &got),
		 rc == QUOTA_OK ? QUOTA_OK : QUOTA_ERR_NOT_FOUND);
	quota_free(got);
	if (rc == QUOTA_OK)
		CHECK_RC(quota_claim_policy_delete(sweep_engine, x.p.name), QUOTA_OK);
	allocator_back(left);
	return rc;
}

static int op_apply_grant(void *arg)
{
	struct grant_pol x;
	(void)arg;
	grant_pol_reference(&x);
	x.p.parent_context.kind = "Organization";
	x.p.parent_context.name_expression = "trigger.metadata.name";
	int rc = quota_grant_policy_apply(sweep_engine, &x.p, NULL);
	long left = allocator_on();
	quota_grant_policy *got = NULL;
	CHECK_RC(quota_grant_policy_get(sweep_engine, x.p.name, &got),
		 rc == QUOTA_OK ? QUOTA_OK : QUOTA_ERR_NOT_FOUND);
	quota_free(got);
	if (rc == QUOTA_OK)
		CHECK_RC(quota_grant_policy_delete(sweep_engine, x.p.name), QUOTA_OK);
	allocator_back(left);
	return rc;
}

/* Replacing a policy that exists: a failure keeps the old one. */
static int op_replace_claim(void *arg)
{
	struct claim_pol x;
	(void)arg;
	claim_pol_reference(&x);
	x.r[0].amount = 5;
	int rc = quota_claim_policy_apply(sweep_engine, &x.p, NULL);
	long left = allocator_on();
	quota_claim_policy *got = NULL;
	CHECK_RC(quota_claim_policy_get(sweep_engine, x.p.name, &got), QUOTA_OK);
	if (got)
		CHECK_EQ_INT(got->claim->requests[0].amount, rc == QUOTA_OK ? 5 : 1);
	quota_free(got);
	if (rc == QUOTA_OK) {
		x.r[0].amount = 1;
		CHECK_RC(quota_claim_policy_apply(sweep_engine, &x.p, NULL), QUOTA_OK);
	}
	allocator_back(left);
	return rc;
}

static void test_allocation_failures(void)
{
	struct counting *c = &sweep_alloc;
	CHECK_RC(counting_install(c), QUOTA_OK);
	sweep_engine = policy_engine(NULL);
	FAULT_SWEEP(c, op_apply_claim, NULL);
	FAULT_SWEEP(c, op_apply_grant, NULL);
	struct claim_pol x;
	claim_pol_reference(&x);
	CHECK_RC(quota_claim_policy_apply(sweep_engine, &x.p, NULL), QUOTA_OK);
	FAULT_SWEEP(c, op_replace_claim, NULL);
	quota_engine_free(sweep_engine);
	CHECK_EQ_INT(live(c), 0);
	CHECK_EQ_INT(atomic_load(&c->bad_calls), 0);
	CHECK_RC(quota_set_allocator(NULL), QUOTA_OK);
}

int main(void)
{
	RUN(test_claim_policy_lifecycle);
	RUN(test_grant_policy_lifecycle);
	RUN(test_claim_policy_checks);
	RUN(test_grant_policy_checks);
	RUN(test_bad_arguments);
	RUN(test_allocation_failures);
	return check_exit();
}
