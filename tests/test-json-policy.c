/*
 * json.h and policies: ClaimCreationPolicy and GrantCreationPolicy read
 * into the engine's policies with every field, written back in Milo's
 * shape, round trips, errors that name the object and the field, and
 * loads that fail anywhere (a bad policy, no memory) changing nothing.
 *
 * SPDX-License-Identifier: MIT
 */
#include <quota/quota.h>

#include "alloc-hook.h"
#include "check.h"
#include "json-util.h"

static struct test_clock clk;
static struct counting cnt;

#define RES "myservice.miloapis.com/resources"
#define MILO "resourcemanager.miloapis.com"

#define REG_RES(dims)                                                                              \
	"{" API ",'kind':'ResourceRegistration','spec':{'resourceType':'" RES "',"                 \
	"'consumerType':{'apiGroup':'" MILO "','kind':'Organization'},'type':'Entity',"            \
	"'claimingResources':[{'apiGroup':'myservice.miloapis.com','kind':'MyResource'}],"         \
	"'allowedDimensions':[" dims "]}}"
#define REG_REQS                                                                                   \
	"{" API ",'kind':'ResourceRegistration','spec':{'resourceType':'" REQS "',"                \
	"'consumerType':{'kind':'Organization'},'type':'Rate'}}"

/* A ClaimCreationPolicy with every field: name, spec: extra spec fields. */
#define CPOL(name, constraints, tmeta, tspec, extra)                                               \
	"{" API ",'kind':'ClaimCreationPolicy','metadata':{'name':'" name "'},'spec':{"            \
	"'trigger':{'resource':{'apiVersion':'myservice.miloapis.com/v1alpha1',"                   \
	"'kind':'MyResource'}" constraints "},'target':{'resourceClaimTemplate':{"                 \
	"'metadata':{" tmeta "},'spec':{" tspec "}}}" extra "}}"
#define CONSTRAINTS                                                                                \
	",'constraints':[{'expression':'has(trigger.spec.size)','message':'sized ones only'},"     \
	"{'expression':'trigger.spec.size != \\\"xl\\\"'}]"
#define TMETA                                                                                      \
	"'generateName':'myresource-claim-','namespace':'{{trigger.metadata.namespace}}',"         \
	"'labels':{'team':'a'},'annotations':{'by':'{{trigger.metadata.name}}'}"
#define CONSUMER                                                                                   \
	"'consumerRef':{'apiGroup':'" MILO "','kind':'Organization','name':"                       \
	"'{{user.extra[\\\"iam.miloapis.com/parent-name\\\"][0]}}'}"
#define RESOURCE_REF                                                                               \
	"'resourceRef':{'apiGroup':'myservice.miloapis.com','kind':'MyResource',"                  \
	"'name':'{{trigger.metadata.name}}','namespace':'{{trigger.metadata.namespace}}'}"
#define TSPEC                                                                                      \
	CONSUMER "," RESOURCE_REF ",'requests':[{'resourceType':'" RES "','amount':2,"             \
		 "'dimensions':{'region':'{{trigger.spec.region}}'}}]"
#define CPOL_FULL                                                                                  \
	CPOL("cpu-per-instance", CONSTRAINTS, TMETA, TSPEC, ",'disabled':false,'failOpen':true")
#define CPOL_MIN(name)                                                                             \
	CPOL(name, "", "'name':'{{trigger.metadata.name}}'",                                       \
	     CONSUMER ",'requests':[{'resourceType':'" RES "','amount':1}]", "")

/* A GrantCreationPolicy: name, constraints, the allowances, extra target
 * and spec fields. */
#define GPOL(name, constraints, allowances, target, extra)                                         \
	"{" API ",'kind':'GrantCreationPolicy','metadata':{'name':'" name "'},'spec':{"            \
	"'trigger':{'resource':{'apiVersion':'" MILO                                               \
	"/v1alpha1','kind':'Organization'}" constraints                                            \
	"},'target':{'resourceGrantTemplate':{'metadata':{'name':"                                 \
	"'{{trigger.metadata.name}}-" name "','namespace':'{{trigger.metadata.namespace}}'},"      \
	"'spec':{'consumerRef':{'apiGroup':'" MILO "','kind':'Organization','name':"               \
	"'{{trigger.metadata.name}}'},'allowances':[" allowances "]}}" target "}" extra "}}"
#define ALLOWANCES                                                                                 \
	"{'resourceType':'" RES "','buckets':[{'amount':100},{'amount':10,'selector':"             \
	"{'matchLabels':{'region':'us'}}}]},{'resourceType':'" REQS "','buckets':[{'amount':50,"   \
	"'period':'second','burst':80}]}"
#define PARENT                                                                                     \
	",'parentContext':{'apiGroup':'" MILO "','kind':'Organization',"                           \
	"'nameExpression':'trigger.metadata.name'}"
#define GPOL_FULL                                                                                  \
	GPOL("pro",                                                                                \
	     ",'constraints':[{'expression':'trigger.spec.tier == \\\"pro\\\"','message':"         \
	     "'pro tier'}]",                                                                       \
	     ALLOWANCES, PARENT, ",'disabled':true")
#define GPOL_MIN(name, amount)                                                                     \
	GPOL(name, "", "{'resourceType':'" RES "','buckets':[{'amount':" amount "}]}", "", "")

static quota_engine *engine(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	CHECK_RC(jload(e, jlist(REG_RES("'region'"), REG_REQS, NULL), NULL), QUOTA_OK);
	return e;
}

/* Every field of a ClaimCreationPolicy comes into the engine's policy. */
static void test_claim_policy_in(void)
{
	quota_engine *e = engine();
	quota_json_result *res = NULL;
	CHECK_RC(jload(e, CPOL_FULL, &res), QUOTA_OK);
	CHECK_EQ_INT(res ? res->claim_policy_count : 0, 1);
	CHECK_EQ_INT(res ? res->grant_policy_count : 9, 0);
	CHECK_EQ_INT(res ? res->registration_count : 9, 0);
	quota_free(res);
	quota_claim_policy *p = NULL;
	CHECK_RC(quota_claim_policy_get(e, "cpu-per-instance", &p), QUOTA_OK);
	if (!p) {
		quota_engine_free(e);
		return;
	}
	CHECK_STR_EQ(p->trigger.api_version, "myservice.miloapis.com/v1alpha1");
	CHECK_STR_EQ(p->trigger.kind, "MyResource");
	CHECK_EQ_INT(p->constraint_count, 2);
	CHECK_STR_EQ(p->constraints[0].expression, "has(trigger.spec.size)");
	CHECK_STR_EQ(p->constraints[0].message, "sized ones only");
	CHECK_STR_EQ(p->constraints[1].expression, "trigger.spec.size != \"xl\"");
	CHECK_STR_EQ(p->constraints[1].message, "");
	CHECK_EQ_INT(p->flags, QUOTA_POLICY_FAIL_OPEN);
	CHECK_EQ_INT(p->generation, 1);
	const quota_claim_template *t = p->claim;
	CHECK_STR_EQ(t->name, "");
	CHECK_STR_EQ(t->generate_name, "myresource-claim-");
	CHECK_STR_EQ(t->ns, "{{trigger.metadata.namespace}}");
	CHECK_STR_EQ(t->consumer.api_group, MILO);
	CHECK_STR_EQ(t->consumer.kind, "Organization");
	CHECK_STR_EQ(t->consumer.name, "{{user.extra[\"iam.miloapis.com/parent-name\"][0]}}");
	CHECK_STR_EQ(t->resource.api_group, "myservice.miloapis.com");
	CHECK_STR_EQ(t->resource.kind, "MyResource");
	CHECK_STR_EQ(t->resource.name, "{{trigger.metadata.name}}");
	CHECK_STR_EQ(t->resource.ns, "{{trigger.metadata.namespace}}");
	CHECK_EQ_INT(t->request_count, 1);
	CHECK_STR_EQ(t->requests[0].resource_type, RES);
	CHECK_EQ_INT(t->requests[0].amount, 2);
	CHECK_EQ_INT(t->requests[0].dimension_count, 1);
	if (t->requests[0].dimension_count == 1) {
		CHECK_STR_EQ(t->requests[0].dimensions[0].key, "region");
		CHECK_STR_EQ(t->requests[0].dimensions[0].value, "{{trigger.spec.region}}");
	}
	quota_free(p);
	/* loaded again: the same policy, the same generation; changed: the next */
	CHECK_RC(jload(e, CPOL_FULL, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_policy_get(e, "cpu-per-instance", &p), QUOTA_OK);
	CHECK_EQ_INT(p ? p->generation : 0, 1);
	quota_free(p);
	CHECK_RC(jload(e, CPOL("cpu-per-instance", CONSTRAINTS, TMETA, TSPEC, ""), NULL), QUOTA_OK);
	CHECK_RC(quota_claim_policy_get(e, "cpu-per-instance", &p), QUOTA_OK);
	CHECK_EQ_INT(p ? p->generation : 0, 2);
	CHECK_EQ_INT(p ? p->flags : 9, 0);
	quota_free(p);
	quota_engine_free(e);
}

/* The policy loaded works: an object of its trigger is admitted. */
static void test_claim_policy_admits(void)
{
	quota_engine *e = engine();
	CHECK_RC(jload(e, jlist(GPOL_MIN("base", "1"), CPOL_MIN("one"), NULL), NULL), QUOTA_OK);
	quota_doc *org = jd("{'apiVersion':'" MILO "/v1alpha1','kind':'Organization','metadata':"
			    "{'name':'acme','namespace':'','uid':'u1'}}");
	CHECK_RC(quota_grant_policies_sync(e, org, QUOTA_TRIGGER_ADDED, NULL, NULL), QUOTA_OK);
	quota_doc *user = jd("{'extra':{'iam.miloapis.com/parent-name':['acme']}}");
	quota_admission a;
	quota_admission_result *r = NULL;
	quota_admission_init(&a, sizeof a);
	a.user = user;
	for (int i = 0; i < 2; i++) {
		char json[512];
		snprintf(json, sizeof json,
			 "{'apiVersion':'myservice.miloapis.com/v1alpha1','kind':'MyResource',"
			 "'metadata':{'name':'r%d','namespace':'ops','uid':'x%d'}}",
			 i, i);
		quota_doc *obj = jd(json);
		a.trigger = obj;
		CHECK_RC(quota_admit(e, &a, &r), i == 0 ? QUOTA_OK : QUOTA_ERR_EXCEEDED);
		CHECK_EQ_INT(r ? r->outcome : 0, i == 0 ? QUOTA_ADMIT_ALLOWED : QUOTA_ADMIT_DENIED);
		quota_free(r);
		quota_doc_unref(obj);
	}
	quota_doc_unref(user);
	quota_doc_unref(org);
	quota_engine_free(e);
}

/* Every field of a GrantCreationPolicy, in a List with the other kinds. */
static void test_grant_policy_in(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	quota_json_result *res = NULL;
	/* the policy before the registrations it names: order does not matter */
	CHECK_RC(jload(e,
		       jlist(GPOL_FULL, CPOL_MIN("one"), REG_RES("'region'"),
			     "{" API ",'kind':'ResourceGrant','metadata':{'name':'g'},'spec':{"
			     "'consumerRef':{'kind':'Organization','name':'acme'},'allowances':[{"
			     "'resourceType':'" RES "','buckets':[{'amount':3}]}]}}",
			     REG_REQS, NULL),
		       &res),
		 QUOTA_OK);
	if (res) {
		CHECK_EQ_INT(res->registration_count, 2);
		CHECK_EQ_INT(res->grant_count, 1);
		CHECK_EQ_INT(res->claim_policy_count, 1);
		CHECK_EQ_INT(res->grant_policy_count, 1);
		CHECK_EQ_INT(res->claim_count, 0);
	}
	quota_free(res);
	quota_grant_policy *p = NULL;
	CHECK_RC(quota_grant_policy_get(e, "pro", &p), QUOTA_OK);
	if (!p) {
		quota_engine_free(e);
		return;
	}
	CHECK_STR_EQ(p->trigger.api_version, MILO "/v1alpha1");
	CHECK_STR_EQ(p->trigger.kind, "Organization");
	CHECK_EQ_INT(p->constraint_count, 1);
	CHECK_STR_EQ(p->constraints[0].expression, "trigger.spec.tier == \"pro\"");
	CHECK_STR_EQ(p->constraints[0].message, "pro tier");
	CHECK_EQ_INT(p->flags, QUOTA_POLICY_DISABLED);
	const quota_grant_template *t = p->grant;
	CHECK_STR_EQ(t->name, "{{trigger.metadata.name}}-pro");
	CHECK_STR_EQ(t->ns, "{{trigger.metadata.namespace}}");
	CHECK_STR_EQ(t->consumer.api_group, MILO);
	CHECK_STR_EQ(t->consumer.kind, "Organization");
	CHECK_STR_EQ(t->consumer.name, "{{trigger.metadata.name}}");
	CHECK_EQ_INT(t->allowance_count, 2);
	if (t->allowance_count == 2) {
		CHECK_STR_EQ(t->allowances[0].resource_type, RES);
		CHECK_EQ_INT(t->allowances[0].bucket_count, 2);
		CHECK_EQ_INT(t->allowances[0].buckets[0].amount, 100);
		CHECK_EQ_INT(t->allowances[0].buckets[1].amount, 10);
		CHECK_EQ_INT(t->allowances[0].buckets[1].match_label_count, 1);
		CHECK_STR_EQ(t->allowances[1].resource_type, REQS);
		CHECK_EQ_INT(t->allowances[1].buckets[0].period_ms, QUOTA_PERIOD_SECOND);
		CHECK_EQ_INT(t->allowances[1].buckets[0].burst, 80);
	}
	CHECK_STR_EQ(p->parent_context.api_group, MILO);
	CHECK_STR_EQ(p->parent_context.kind, "Organization");
	CHECK_STR_EQ(p->parent_context.name_expression, "trigger.metadata.name");
	quota_free(p);
	/* one object, and an array */
	CHECK_RC(jload(e, GPOL_MIN("single", "5"), &res), QUOTA_OK);
	CHECK_EQ_INT(res ? res->grant_policy_count : 0, 1);
	quota_free(res);
	CHECK_RC(jload(e, "[" GPOL_MIN("a1", "1") "," CPOL_MIN("a2") "]", &res), QUOTA_OK);
	CHECK_EQ_INT(res ? res->grant_policy_count + res->claim_policy_count : 0, 2);
	quota_free(res);
	quota_grant_policy **list = NULL;
	size_t n = 0;
	CHECK_RC(quota_grant_policy_list(e, &list, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 3);
	quota_free(list);
	quota_engine_free(e);
}

/* The writers: one policy each, and in the dump. */
static void test_policy_out(void)
{
	quota_engine *e = engine();
	CHECK_RC(jload(e, jlist(CPOL_FULL, GPOL_FULL, NULL), NULL), QUOTA_OK);
	quota_doc *d = NULL;
	CHECK_RC(quota_json_claim_policy(e, "cpu-per-instance", &d), QUOTA_OK);
	char *want = jtext(
		"{" API ",'kind':'ClaimCreationPolicy','metadata':{'name':'cpu-per-instance',"
		"'generation':1},'spec':{'trigger':{'resource':{'apiVersion':"
		"'myservice.miloapis.com/v1alpha1','kind':'MyResource'},'constraints':["
		"{'expression':'has(trigger.spec.size)','message':'sized ones only'},"
		"{'expression':'trigger.spec.size != \\\"xl\\\"'}]},'disabled':false,"
		"'target':{'resourceClaimTemplate':{'metadata':{'generateName':'myresource-claim-',"
		"'namespace':'{{trigger.metadata.namespace}}'},'spec':{" TSPEC "}}},"
		"'failOpen':true},'status':{'observedGeneration':1,'conditions':[{'type':'Ready',"
		"'status':'True','reason':'PolicyReady','message':'The policy is compiled and in "
		"use.'}]}}");
	CHECK_JSON(d, want);
	free(want);
	quota_doc_unref(d);
	CHECK_RC(quota_json_grant_policy(e, "pro", &d), QUOTA_OK);
	want = jtext(
		"{" API ",'kind':'GrantCreationPolicy','metadata':{'name':'pro',"
		"'generation':1},'spec':{'trigger':{'resource':{'apiVersion':'" MILO
		"/v1alpha1','kind':'Organization'},'constraints':[{'expression':"
		"'trigger.spec.tier == \\\"pro\\\"','message':'pro tier'}]},'disabled':true,"
		"'target':{'resourceGrantTemplate':{'metadata':{'name':"
		"'{{trigger.metadata.name}}-pro','namespace':'{{trigger.metadata.namespace}}'},"
		"'spec':{'consumerRef':{'apiGroup':'" MILO "','kind':'Organization','name':"
		"'{{trigger.metadata.name}}'},'allowances':[{'resourceType':'" RES
		"','buckets':[{'amount':100},{'amount':10,'selector':{'matchLabels':"
		"{'region':'us'}}}]},{'resourceType':'" REQS "','buckets':[{'amount':50,"
		"'period':'second','burst':80,'window':'Rolling'}]}]}}" PARENT "}},"
		"'status':{'observedGeneration':1,'conditions':[{'type':'Ready','status':"
		"'False','reason':'PolicyDisabled','message':'The policy is disabled.'}]}}");
	CHECK_JSON(d, want);
	free(want);
	quota_doc_unref(d);
	CHECK_RC(quota_json_claim_policy(e, "nope", &d), QUOTA_ERR_NOT_FOUND);
	CHECK(d == NULL);
	CHECK_RC(quota_json_grant_policy(e, "nope", &d), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_json_claim_policy(e, "pro", NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_json_grant_policy(NULL, "pro", &d), QUOTA_ERR_INVALID);
	CHECK_RC(quota_json_claim_policy(e, NULL, &d), QUOTA_ERR_INVALID);
	/* in the dump: after the grants, claim policies then grant policies, by name */
	CHECK_RC(jload(e, jlist(CPOL_MIN("a-first"), GPOL_MIN("z-last", "1"), NULL), NULL),
		 QUOTA_OK);
	CHECK_RC(quota_json_dump(e, QUOTA_JSON_ALL, &d), QUOTA_OK);
	char *text = jstr(d);
	const char *order[] = {"\"kind\":\"ResourceRegistration\"", "\"name\":\"a-first\"",
			       "\"name\":\"cpu-per-instance\"", "\"name\":\"pro\"",
			       "\"name\":\"z-last\""};
	const char *from = text;
	for (size_t i = 0; i < 5; i++) {
		const char *hit = strstr(from, order[i]);
		if (!hit)
			check_fail_(__FILE__, __LINE__, "dump: %s not in order", order[i]);
		from = hit ? hit : from;
	}
	free(text);
	quota_doc_unref(d);
	CHECK_RC(quota_json_dump(e, QUOTA_JSON_CLAIM_POLICIES, &d), QUOTA_OK);
	text = jstr(d);
	CHECK(strstr(text, "ClaimCreationPolicy") && !strstr(text, "GrantCreationPolicy") &&
	      !strstr(text, "ResourceRegistration"));
	free(text);
	quota_doc_unref(d);
	quota_engine_free(e);
}

/* dump, load into a fresh engine, dump: the same text. */
static void test_round_trip(void)
{
	quota_engine *e = engine();
	CHECK_RC(jload(e,
		       jlist(CPOL_FULL, GPOL_FULL, CPOL_MIN("min"), GPOL_MIN("g-min", "-1"),
			     "{" API ",'kind':'ResourceGrant','metadata':{'name':'g','namespace':"
			     "'ops'},'spec':{'consumerRef':{'kind':'Organization','name':'acme'},"
			     "'allowances':[{'resourceType':'" RES "','buckets':[{'amount':3}]}]}}",
			     NULL),
		       NULL),
		 QUOTA_OK);
	char *one = NULL, *two = NULL;
	CHECK_RC(quota_json_dump_text(e, QUOTA_JSON_ALL, &one, NULL), QUOTA_OK);
	quota_engine *f = test_engine(&clk, 60000);
	quota_json_result *res = NULL;
	if (have_json()) {
		CHECK_RC(quota_json_load(f, one, strlen(one), NULL, &res), QUOTA_OK);
	} else {
		quota_doc *d = tdoc(one);
		CHECK_RC(quota_json_load_doc(f, d, NULL, &res), QUOTA_OK);
		quota_doc_unref(d);
	}
	CHECK_EQ_INT(res ? res->claim_policy_count : 0, 2);
	CHECK_EQ_INT(res ? res->grant_policy_count : 0, 2);
	quota_free(res);
	CHECK_RC(quota_json_dump_text(f, QUOTA_JSON_ALL, &two, NULL), QUOTA_OK);
	CHECK_STR_EQ(one, two);
	CHECK(one && strstr(one, "\"failOpen\":true"));
	CHECK(one && strstr(one, "\"nameExpression\":\"trigger.metadata.name\""));
	quota_free(one);
	quota_free(two);
	quota_engine_free(f);
	quota_engine_free(e);
}

/* What is wrong with a policy names the object (its index, kind and name)
 * and the field, whether the reader or the engine finds it. */
static const struct {
	const char *json;
	int code;
	const char *fragment;
} cases[] = {
	/* the reader */
	{CPOL("p", "", "'name':'x'", CONSUMER ",'requests':[]", ""), QUOTA_ERR_INVALID,
	 "items[1] (ClaimCreationPolicy p): spec.target.resourceClaimTemplate.spec.requests: "
	 "needs 1-20 entries"},
	{CPOL("p", "", "'name':'x'", CONSUMER ",'requests':[{'resourceType':'" RES "','amount':0}]",
	      ""),
	 QUOTA_ERR_INVALID,
	 "items[1] (ClaimCreationPolicy p): spec.target.resourceClaimTemplate.spec.requests[0]."
	 "amount: must be > 0, got 0"},
	{CPOL("p", "", "'name':'x'", "'requests':[{'resourceType':'" RES "','amount':1}]", ""),
	 QUOTA_ERR_INVALID,
	 "items[1] (ClaimCreationPolicy p): spec.target.resourceClaimTemplate.spec.consumerRef: "
	 "required"},
	{CPOL("p", "", "'name':'x','nam':'y'", CONSUMER, ""), QUOTA_ERR_INVALID,
	 "items[1] (ClaimCreationPolicy p): spec.target.resourceClaimTemplate.metadata.nam: "
	 "unknown field"},
	{CPOL("p", ",'constraints':[{'expression':5}]", "'name':'x'", CONSUMER, ""),
	 QUOTA_ERR_INVALID,
	 "items[1] (ClaimCreationPolicy p): spec.trigger.constraints[0].expression: must be a "
	 "string, got an int"},
	{CPOL("p", "", "'name':'x'", CONSUMER, ",'disabled':'yes'"), QUOTA_ERR_INVALID,
	 "items[1] (ClaimCreationPolicy p): spec.disabled: must be a bool"},
	{"{" API ",'kind':'ClaimCreationPolicy','spec':{}}", QUOTA_ERR_INVALID,
	 "items[1] (ClaimCreationPolicy): metadata: required"},
	{GPOL("g", "", ALLOWANCES, "", ",'failOpen':true"), QUOTA_ERR_INVALID,
	 "items[1] (GrantCreationPolicy g): spec.failOpen: unknown field"},
	{GPOL("g", "", "{'resourceType':'" RES "','buckets':[{'amount':-5}]}", "", ""),
	 QUOTA_ERR_INVALID,
	 "items[1] (GrantCreationPolicy g): spec.target.resourceGrantTemplate.spec.allowances[0]."
	 "buckets[0].amount: must be >= -1, got -5"},
	{GPOL("g", "", ALLOWANCES, ",'parentContext':{'kind':'Organization','name':'x'}", ""),
	 QUOTA_ERR_INVALID,
	 "items[1] (GrantCreationPolicy g): spec.target.parentContext.name: unknown field"},
	/* checked against the registrations (of the input and the engine) */
	{GPOL("g", "", "{'resourceType':'nope','buckets':[{'amount':1}]}", "", ""),
	 QUOTA_ERR_UNREGISTERED,
	 "items[1] (GrantCreationPolicy g): spec.target.resourceGrantTemplate.spec.allowances[0]."
	 "resourceType: nope is not registered"},
	{GPOL("g", "", "{'resourceType':'" RES "','buckets':[{'amount':1,'period':'second'}]}", "",
	      ""),
	 QUOTA_ERR_INVALID,
	 "items[1] (GrantCreationPolicy g): spec.target.resourceGrantTemplate.spec.allowances[0]."
	 "buckets[0].period: only Rate types"},
	{GPOL("g", "",
	      "{'resourceType':'" RES "','buckets':[{'amount':1,'selector':{"
	      "'matchLabels':{'zone':'a'}}}]}",
	      "", ""),
	 QUOTA_ERR_INVALID,
	 "items[1] (GrantCreationPolicy g): spec.target.resourceGrantTemplate.spec.allowances[0]."
	 "buckets[0]"},
	/* the engine: patterns, expressions, templates, registrations */
	{CPOL("cpu-per-instance",
	      ",'constraints':[{'expression':'true'},{'expression':'trigger.spec.x ++ 1'}]",
	      "'name':'x'", CONSUMER ",'requests':[{'resourceType':'" RES "','amount':1}]", ""),
	 QUOTA_ERR_PARSE,
	 "items[1] (ClaimCreationPolicy cpu-per-instance): spec.trigger.constraints[1]."
	 "expression: column 17"},
	{"{" API ",'kind':'ClaimCreationPolicy','metadata':{'name':'p'},'spec':{'trigger':{"
	 "'resource':{'apiVersion':'Example.com/v1','kind':'MyResource'}},'target':{"
	 "'resourceClaimTemplate':{'metadata':{'name':'x'},'spec':{" CONSUMER ",'requests':[{"
	 "'resourceType':'" RES "','amount':1}]}}}}}",
	 QUOTA_ERR_INVALID,
	 "items[1] (ClaimCreationPolicy p): spec.trigger.resource.apiVersion: \"Example.com/v1\" "
	 "is not a version"},
	{CPOL("p", "", "'name':'{{trigger.metadata.name'",
	      CONSUMER ",'requests':[{'resourceType':'" RES "','amount':1}]", ""),
	 QUOTA_ERR_PARSE,
	 "items[1] (ClaimCreationPolicy p): spec.target.resourceClaimTemplate.metadata.name: "
	 "column 1"},
	{CPOL("p", "", "'name':'x','generateName':'y-'",
	      CONSUMER ",'requests':[{'resourceType':'" RES "','amount':1}]", ""),
	 QUOTA_ERR_INVALID,
	 "items[1] (ClaimCreationPolicy p): spec.target.resourceClaimTemplate.metadata: set "
	 "exactly one of name and generateName"},
	{CPOL("p", "", "'name':'x'", CONSUMER ",'requests':[{'resourceType':'other','amount':1}]",
	      ""),
	 QUOTA_ERR_UNREGISTERED,
	 "items[1] (ClaimCreationPolicy p): spec.target.resourceClaimTemplate.spec.requests[0]."
	 "resourceType: other is not registered"},
	{CPOL("p", "", "'name':'x'",
	      "'consumerRef':{'kind':'Project','name':'x'},'requests':[{'resourceType':'" RES
	      "','amount':1}]",
	      ""),
	 QUOTA_ERR_NOT_ALLOWED,
	 "items[1] (ClaimCreationPolicy p): spec.target.resourceClaimTemplate.spec.consumerRef."
	 "kind: Project may not hold"},
	{CPOL("p", "", "'name':'x'",
	      CONSUMER ",'requests':[{'resourceType':'" RES "','amount':1,'dimensions':{'zone':"
		       "'a'}}]",
	      ""),
	 QUOTA_ERR_INVALID,
	 "items[1] (ClaimCreationPolicy p): spec.target.resourceClaimTemplate.spec.requests[0]."
	 "dimensions"},
	{GPOL("g", "", ALLOWANCES,
	      ",'parentContext':{'kind':'Organization','nameExpression':'user'}", ""),
	 QUOTA_ERR_PARSE,
	 "items[1] (GrantCreationPolicy g): spec.target.parentContext.nameExpression: column 1"},
	{GPOL("g", "", ALLOWANCES, ",'parentContext':{'kind':'Organization'}", ""),
	 QUOTA_ERR_INVALID,
	 "items[1] (GrantCreationPolicy g): spec.target.parentContext.nameExpression: must not be "
	 "empty"},
};

static void test_errors(void)
{
	quota_engine *e = engine();
	CHECK_RC(jload(e, jlist(CPOL_MIN("kept"), GPOL_MIN("kept-too", "1"), NULL), NULL),
		 QUOTA_OK);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int before = atomic_load(&check_failures_);
		/* after a good policy, before a good grant policy: nothing applies */
		JFAIL(e, jlist(CPOL_MIN("fine"), cases[i].json, GPOL_MIN("fine-too", "2"), NULL),
		      cases[i].code, cases[i].fragment);
		if (atomic_load(&check_failures_) != before)
			fprintf(stderr, "    (case %zu)\n", i);
	}
	/* a single object: its kind and name, no index */
	JFAIL(e, CPOL("p", "", "'name':'x'", CONSUMER ",'requests':[]", ""), QUOTA_ERR_INVALID,
	      "ClaimCreationPolicy p: spec.target.resourceClaimTemplate.spec.requests: needs");
	JFAIL(e, "[" GPOL("g", "", "{'resourceType':'nope','buckets':[{'amount':1}]}", "", "") "]",
	      QUOTA_ERR_UNREGISTERED, "[0] (GrantCreationPolicy g): spec.target");
	/* the same policy twice; a claim and a grant policy may share a name */
	JFAIL(e, jlist(CPOL_MIN("twice"), CPOL_MIN("twice"), NULL), QUOTA_ERR_INVALID,
	      "items[1]: twice also at items[0]");
	CHECK_RC(jload(e, jlist(CPOL_MIN("both"), GPOL_MIN("both", "1"), NULL), NULL), QUOTA_OK);
	quota_engine_free(e);
}

/* A policy may use what the same load registers or changes. */
static void test_references_in_the_load(void)
{
	quota_engine *e = engine();
	/* the registration gains dimension zone and the policy uses it */
	CHECK_RC(jload(e,
		       jlist(CPOL("z", "", "'name':'x'",
				  CONSUMER ",'requests':[{'resourceType':'" RES "','amount':1,"
					   "'dimensions':{'zone':'{{trigger.spec.zone}}'}}]",
				  ""),
			     REG_RES("'region','zone'"), NULL),
		       NULL),
		 QUOTA_OK);
	quota_engine_free(e);
}

/* The engine as setup leaves it, and a change with policies. */
static quota_engine *setup(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	if (jload(e,
		  jlist(REG_RES("'region'"), REG_REQS, CPOL_MIN("stays"), GPOL_MIN("replaced", "1"),
			GPOL_MIN("kept", "4"), NULL),
		  NULL) != QUOTA_OK) {
		quota_engine_free(e);
		return NULL;
	}
	return e;
}

static const char *change_text(void)
{
	return jlist(REG_RES("'region','tier'"), CPOL_FULL, GPOL_MIN("replaced", "2"), GPOL_FULL,
		     GPOL_MIN("kept", "4"),
		     "{" API ",'kind':'ResourceGrant','metadata':{'name':'g'},'spec':{"
		     "'consumerRef':{'kind':'Organization','name':'acme'},'allowances':[{"
		     "'resourceType':'" RES "','buckets':[{'amount':3}]}]}}",
		     NULL);
}

static void check_changed(quota_engine *e)
{
	quota_grant_policy *g = NULL;
	CHECK_RC(quota_grant_policy_get(e, "replaced", &g), QUOTA_OK);
	CHECK_EQ_INT(g ? g->generation : 0, 2);
	CHECK_EQ_INT(g ? g->grant->allowances[0].buckets[0].amount : 0, 2);
	quota_free(g);
	CHECK_RC(quota_grant_policy_get(e, "kept", &g), QUOTA_OK);
	CHECK_EQ_INT(g ? g->generation : 0, 1);
	quota_free(g);
	quota_claim_policy *c = NULL;
	CHECK_RC(quota_claim_policy_get(e, "cpu-per-instance", &c), QUOTA_OK);
	quota_free(c);
}

/* A bad policy in the middle of a List: the engine is as it was, the
 * policies included (jsnap dumps them). */
static void test_atomic(void)
{
	quota_engine *e = setup();
	CHECK(e != NULL);
	if (!e)
		return;
	JFAIL(e,
	      jlist(REG_RES("'region','tier'"), GPOL_MIN("replaced", "2"), CPOL_MIN("new"),
		    CPOL("bad", ",'constraints':[{'expression':'1 +'}]", "'name':'x'",
			 CONSUMER ",'requests':[{'resourceType':'" RES "','amount':1}]", ""),
		    GPOL_MIN("new-too", "1"),
		    "{" API ",'kind':'ResourceGrant','metadata':{'name':'g'},'spec':{"
		    "'consumerRef':{'kind':'Organization','name':'acme'},'allowances':[{"
		    "'resourceType':'" RES "','buckets':[{'amount':3}]}]}}",
		    NULL),
	      QUOTA_ERR_PARSE, "items[3] (ClaimCreationPolicy bad): spec.trigger.constraints[0]");
	/* a dry run checks the policies and applies nothing */
	quota_json_options dry;
	quota_json_options_init(&dry, sizeof dry);
	dry.flags = QUOTA_JSON_DRY_RUN;
	char *before = jsnap(e);
	quota_json_result *res = NULL;
	CHECK_RC(jload_opts(e, change_text(), &dry, &res), QUOTA_OK);
	CHECK_EQ_INT(res ? res->grant_policy_count : 0, 3);
	quota_free(res);
	char *after = jsnap(e);
	CHECK_STR_EQ(before, after);
	free(before);
	free(after);
	CHECK_RC(jload(e, change_text(), NULL), QUOTA_OK);
	check_changed(e);
	quota_engine_free(e);
}

/* Make allocation k of a load with policies fail, for every k until it
 * succeeds: each failure changes nothing and leaks nothing. */
static void test_allocation_failures(void)
{
	CHECK_RC(counting_install(&cnt), QUOTA_OK);
	quota_doc *change = jd(change_text());
	long baseline = live(&cnt), failed = 0;
	for (long k = 0; k < 100000; k++) {
		quota_engine *e = setup();
		if (!e) {
			check_fail_(__FILE__, __LINE__, "setup failed");
			break;
		}
		char *before = jsnap(e);
		atomic_store(&cnt.fail_after, k);
		int rc = quota_json_load_doc(e, change, NULL, NULL);
		long failures = atomic_load(&cnt.failures);
		atomic_store(&cnt.fail_after, -1);
		atomic_store(&cnt.failures, 0);
		if (rc == QUOTA_OK) {
			check_changed(e);
			quota_engine_free(e);
			free(before);
			break;
		}
		if (rc != QUOTA_ERR_NOMEM || failures == 0)
			check_fail_(__FILE__, __LINE__, "allocation %ld failing: %s (%s)", k,
				    quota_strerror(rc), quota_last_error());
		char *after = jsnap(e);
		if (strcmp(before, after) != 0) {
			check_fail_(__FILE__, __LINE__,
				    "allocation %ld failing changed the engine:\n%s\n----\n%s", k,
				    before, after);
			k = 100000;
		}
		free(before);
		free(after);
		quota_engine_free(e);
		if (live(&cnt) != baseline)
			check_fail_(__FILE__, __LINE__,
				    "allocation %ld failing: %ld block(s) leaked", k,
				    live(&cnt) - baseline);
		failed++;
	}
	printf("   %ld loads failed for want of memory, each changing nothing\n", failed);
	CHECK(failed > 30);
	quota_doc_unref(change);
	CHECK_EQ_INT(live(&cnt), 0);
	CHECK_RC(quota_set_allocator(NULL), QUOTA_OK);
}

/* Without cJSON, text is refused and documents load. */
static void test_builds(void)
{
	quota_engine *e = engine();
	const char *text = "{\"kind\":\"List\",\"items\":[]}";
	int rc = quota_json_load(e, text, strlen(text), NULL, NULL);
	CHECK_RC(rc, have_json() ? QUOTA_OK : QUOTA_ERR_UNSUPPORTED);
	CHECK_RC(jload(e, CPOL_MIN("doc"), NULL), QUOTA_OK);
	quota_doc *d = NULL;
	CHECK_RC(quota_json_claim_policy(e, "doc", &d), QUOTA_OK);
	quota_doc_unref(d);
	quota_engine_free(e);
}

int main(void)
{
	RUN(test_claim_policy_in);
	RUN(test_claim_policy_admits);
	RUN(test_grant_policy_in);
	RUN(test_policy_out);
	RUN(test_round_trip);
	RUN(test_errors);
	RUN(test_references_in_the_load);
	RUN(test_atomic);
	RUN(test_allocation_failures);
	RUN(test_builds);
	return check_exit();
}
