/*
 * json.h, loading what is wrong: every error names the path of what is
 * wrong, and a failed load leaves the engine as it was.
 *
 * SPDX-License-Identifier: MIT
 */
#include <quota/quota.h>

#include "check.h"
#include "json-util.h"

static struct test_clock clk;

#define REG(fields)                                                                                \
	"{" API ",'kind':'ResourceRegistration','metadata':{'name':'r'},'spec':{"                  \
	"'resourceType':'" VCPU                                                                    \
	"','consumerType':{'kind':'Organization'},'type':'Allocation'" fields "}}"
#define REG_RATE                                                                                   \
	"{" API ",'kind':'ResourceRegistration','spec':{'resourceType':'" REQS "',"                \
	"'consumerType':{'kind':'Organization'},'type':'Rate'}}"
#define REG_OK REG(",'allowedDimensions':['region'],'claimingResources':[{'kind':'Instance'}]")
#define GRANT(type, buckets)                                                                       \
	"{" API ",'kind':'ResourceGrant','metadata':{'name':'g','namespace':'ops'},'spec':{"       \
	"'consumerRef':{'kind':'Organization','name':'acme'},'allowances':[{'resourceType':'" type \
	"','buckets':[" buckets "]}]}}"
#define GRANT_SPEC(spec) "{" API ",'kind':'ResourceGrant','metadata':{'name':'g'},'spec':" spec "}"
#define CLAIM(requests, extra)                                                                     \
	"{" API ",'kind':'ResourceClaim','metadata':{'name':'c','namespace':'ops'},'spec':{"       \
	"'consumerRef':{'kind':'Organization','name':'acme'},'resourceRef':{'kind':'Instance',"    \
	"'name':'i'},'requests':[" requests "]" extra "}}"
#define REQ(amount) "{'resourceType':'" VCPU "','amount':" amount "}"

static const struct {
	const char *json;
	int code;
	const char *fragment;
} cases[] = {
	/* the frame */
	{"5", QUOTA_ERR_INVALID,
	 "(top): must be an object, a list of objects, or a List, got an int"},
	{"{'kind':'List'}", QUOTA_ERR_INVALID, "items: required"},
	{"{'kind':'List','items':{}}", QUOTA_ERR_INVALID, "items: must be a list, got a map"},
	{"{'kind':'List','items':[5]}", QUOTA_ERR_INVALID,
	 "items[0]: must be an object (a map), got an int"},
	{"{'kind':'List','items':[],'extra':1}", QUOTA_ERR_INVALID, "extra: unknown field"},
	{"[{" API ",'spec':{}}]", QUOTA_ERR_INVALID, "[0].kind: required"},
	{"[{" API ",'kind':5}]", QUOTA_ERR_INVALID, "[0].kind: must be a string, got an int"},
	{"[{" API ",'kind':'ResourceQuota'}]", QUOTA_ERR_INVALID,
	 "[0].kind: unknown kind \"ResourceQuota\""},
	{"{'kind':'List','items':[{'kind':'List','items':[]}]}", QUOTA_ERR_INVALID,
	 "items[0].kind: a List inside a list"},
	{"{'apiVersion':'quota.miloapis.com/v2','kind':'ResourceGrant'}", QUOTA_ERR_INVALID,
	 "apiVersion: unknown \"quota.miloapis.com/v2\" for ResourceGrant (want "
	 "quota.miloapis.com/v1alpha1)"},
	{"{'apiVersion':'v1','kind':'ResourceClaim'}", QUOTA_ERR_INVALID,
	 "apiVersion: unknown \"v1\""},
	{"{'kind':'ResourceGrant','spec':{}}", QUOTA_ERR_INVALID,
	 "apiVersion: required (quota.miloapis.com/v1alpha1)"},
	{"{'apiGroup':'quota.miloapis.com','kind':'ResourceGrant'}", QUOTA_ERR_INVALID,
	 "apiGroup: ResourceGrant takes apiVersion quota.miloapis.com/v1alpha1, not apiGroup"},
	{"{'apiGroup':'example.com','kind':'ResourceQuotaGrant'}", QUOTA_ERR_INVALID,
	 "apiGroup: unknown \"example.com\" (want quota.miloapis.com)"},
	{"{" API ",'kind':'ResourceGrant','specs':{}}", QUOTA_ERR_INVALID, "specs: unknown field"},
	{"{" API ",'kind':'ResourceRegistration'}", QUOTA_ERR_INVALID, "spec: required"},
	{"{" API ",'kind':'ResourceRegistration','spec':[]}", QUOTA_ERR_INVALID,
	 "spec: must be a map, got a list"},
	{"{" API ",'kind':'ResourceGrant','metadata':5}", QUOTA_ERR_INVALID,
	 "metadata: must be a map, got an int"},
	/* registrations */
	{"{" API
	 ",'kind':'ResourceRegistration','spec':{'consumerType':{'kind':'O'},'type':'Entity'}}",
	 QUOTA_ERR_INVALID, "spec.resourceType: required"},
	{REG(",'defaultLimt':5"), QUOTA_ERR_INVALID, "spec.defaultLimt: unknown field"},
	{"{" API ",'kind':'ResourceRegistration','spec':{'resourceType':'t','consumerType':"
	 "{'kind':'O'},'type':'Stock'}}",
	 QUOTA_ERR_INVALID, "spec.type: \"Stock\" is not one of Entity, Allocation, Feature, Rate"},
	{"{" API ",'kind':'ResourceRegistration','spec':{'resourceType':'t','consumerType':"
	 "{'kind':'O'}}}",
	 QUOTA_ERR_INVALID, "spec.type: required"},
	{"{" API ",'kind':'ResourceRegistration','spec':{'resourceType':'t','type':'Entity'}}",
	 QUOTA_ERR_INVALID, "spec.consumerType: required"},
	{REG(",'unitConversionFactor':0"), QUOTA_ERR_INVALID,
	 "spec.unitConversionFactor: must be > 0, got 0"},
	{REG(",'unitConversionFactor':'1000'"), QUOTA_ERR_INVALID,
	 "spec.unitConversionFactor: must be an integer, got a string"},
	{REG(",'defaultLimit':-2"), QUOTA_ERR_INVALID, "spec.defaultLimit: must be >= -1, got -2"},
	{REG(",'defaultLimit':2.5"), QUOTA_ERR_INVALID,
	 "spec.defaultLimit: must be an integer, got a double"},
	{REG(",'baseUnit':'"
	     "0123456789012345678901234567890123456789012345678901"
	     "'"),
	 QUOTA_ERR_INVALID, "spec.baseUnit: longer than 50 bytes"},
	{"{" API ",'kind':'ResourceRegistration','spec':{'resourceType':'t','type':'Entity',"
	 "'consumerType':{'kind':'my kind'}}}",
	 QUOTA_ERR_INVALID, "spec.consumerType.kind: \"my kind\" is not a kind"},
	{"{" API ",'kind':'ResourceRegistration','spec':{'resourceType':'t','type':'Entity',"
	 "'consumerType':{'kind':'O','group':'x'}}}",
	 QUOTA_ERR_INVALID, "spec.consumerType.group: unknown field"},
	{REG(",'claimingResources':['Instance']"), QUOTA_ERR_INVALID,
	 "spec.claimingResources[0]: must be a map, got a string"},
	{REG(",'claimingResources':[{'kind':'A'},{'kind':'B'},{'kind':'C'},{'kind':'D'},"
	     "{'kind':'E'},{'kind':'F'},{'kind':'G'},{'kind':'H'},{'kind':'I'},{'kind':'J'},"
	     "{'kind':'K'},{'kind':'L'},{'kind':'M'},{'kind':'N'},{'kind':'O'},{'kind':'P'},"
	     "{'kind':'Q'},{'kind':'R'},{'kind':'S'},{'kind':'T'},{'kind':'U'}]"),
	 QUOTA_ERR_INVALID, "spec.claimingResources: 21 entries, at most 20"},
	{REG(",'claimingResources':[{'kind':'9lives'}]"), QUOTA_ERR_INVALID,
	 "spec.claimingResources[0].kind: \"9lives\" is not a kind"},
	{REG(",'allowedDimensions':['region','region']"), QUOTA_ERR_INVALID,
	 "spec.allowedDimensions[1]: \"region\" listed twice"},
	{REG(",'allowedDimensions':['bad key']"), QUOTA_ERR_INVALID, "spec.allowedDimensions[0]"},
	{REG(",'allowedDimensions':[7]"), QUOTA_ERR_INVALID,
	 "spec.allowedDimensions[0]: must be a string, got an int"},
	{REG(",'enforcement':'Audit'"), QUOTA_ERR_INVALID,
	 "spec.enforcement: \"Audit\" is not one of Enforce, Warn"},
	{REG(",'violationAction':'Drop'"), QUOTA_ERR_INVALID,
	 "spec.violationAction: \"Drop\" is not one of Reject, Throttle, Warn, Queue"},
	{REG(",'violationAction':'Throttle'"), QUOTA_ERR_INVALID,
	 "spec.violationAction: Throttle needs type Rate"},
	{REG(",'description':'bad\\u0000byte'"), QUOTA_ERR_INVALID,
	 "spec.description: contains a NUL character"},
	{"{" API ",'kind':'ResourceRegistration','spec':{'resourceType':'" VCPU "','type':"
	 "'Allocation','consumerType':{'kind':'Project'}}}",
	 QUOTA_ERR_CONFLICT,
	 "registration compute.example.com/vcpus: consumerType and type are immutable"},
	/* grants */
	{"{" API ",'kind':'ResourceGrant','spec':{}}", QUOTA_ERR_INVALID, "metadata: required"},
	{"{" API ",'kind':'ResourceGrant','metadata':{},'spec':{}}", QUOTA_ERR_INVALID,
	 "metadata.name: required"},
	{"{" API ",'kind':'ResourceGrant','metadata':{'name':7},'spec':{}}", QUOTA_ERR_INVALID,
	 "metadata.name: must be a string, got an int"},
	{"{" API ",'kind':'ResourceGrant','metadata':{'name':'g','namespace':"
	 "'a234567890123456789012345678901234567890123456789012345678901234'},'spec':{}}",
	 QUOTA_ERR_INVALID, "metadata.namespace: longer than 63 bytes"},
	{GRANT_SPEC("{'allowances':[]}"), QUOTA_ERR_INVALID, "spec.consumerRef: required"},
	{GRANT_SPEC("{'consumerRef':{'kind':'Organization'},'allowances':[]}"), QUOTA_ERR_INVALID,
	 "spec.consumerRef.name: required"},
	{GRANT_SPEC("{'consumerRef':{'kind':'Organization','name':'a','foo':1},'allowances':[]}"),
	 QUOTA_ERR_INVALID, "spec.consumerRef.foo: unknown field"},
	{GRANT_SPEC("{'consumerRef':{'kind':'Organization','name':'a'},'allowances':[]}"),
	 QUOTA_ERR_INVALID, "spec.allowances: needs 1-64 entries"},
	{GRANT_SPEC("{'consumerRef':{'kind':'Organization','name':'a'}}"), QUOTA_ERR_INVALID,
	 "spec.allowances: required"},
	{GRANT_SPEC("{'consumerRef':{'kind':'Organization','name':'a'},'allowances':[{"
		    "'resourceType':'" VCPU "','buckets':[]}]}"),
	 QUOTA_ERR_INVALID, "spec.allowances[0].buckets: needs 1-16 entries"},
	{GRANT_SPEC("{'consumerRef':{'kind':'Organization','name':'a'},'allowances':[{"
		    "'resourceType':'" VCPU "','buckets':[{'amount':1}]},{'resourceType':'" VCPU
		    "','buckets':[{'amount':2}]}]}"),
	 QUOTA_ERR_INVALID,
	 "spec.allowances[1].resourceType: compute.example.com/vcpus also in allowances[0]"},
	{GRANT(VCPU, "{'amount':-2}"), QUOTA_ERR_INVALID,
	 "spec.allowances[0].buckets[0].amount: must be >= -1, got -2"},
	{GRANT(VCPU, "{'amount':1},{'amount':1.5}"), QUOTA_ERR_INVALID,
	 "spec.allowances[0].buckets[1].amount: must be an integer, got a double"},
	{GRANT(VCPU, "{'selector':{}}"), QUOTA_ERR_INVALID,
	 "spec.allowances[0].buckets[0].amount: required"},
	{GRANT(VCPU, "{'amount':1,'limit':2}"), QUOTA_ERR_INVALID,
	 "spec.allowances[0].buckets[0].limit: unknown field"},
	{GRANT(VCPU,
	       "{'amount':1},{'amount':1},{'amount':1},{'amount':1},{'amount':1},"
	       "{'amount':1},{'amount':1},{'amount':1},{'amount':1},{'amount':1},{'amount':1},"
	       "{'amount':1},{'amount':1},{'amount':1},{'amount':1},{'amount':1},{'amount':1}"),
	 QUOTA_ERR_INVALID, "spec.allowances[0].buckets: 17 entries, at most 16"},
	{GRANT("nope.example.com/x", "{'amount':1}"), QUOTA_ERR_UNREGISTERED,
	 "spec.allowances[0].resourceType: nope.example.com/x is not registered"},
	{GRANT_SPEC("{'consumerRef':{'kind':'Project','name':'a'},'allowances':[{"
		    "'resourceType':'" VCPU "','buckets':[{'amount':1}]}]}"),
	 QUOTA_ERR_NOT_ALLOWED,
	 "spec.consumerRef.kind: Project may not hold compute.example.com/vcpus (registered for "
	 "Organization)"},
	{GRANT(VCPU, "{'amount':1,'selector':{'matchLabels':{'zone':'a'}}}"), QUOTA_ERR_INVALID,
	 "spec.allowances[0].buckets[0].selector"},
	{GRANT(VCPU, "{'amount':1,'selector':{'matchLabels':{'region':'a b'}}}"), QUOTA_ERR_INVALID,
	 "spec.allowances[0].buckets[0].selector.matchLabels.region"},
	{GRANT(VCPU, "{'amount':1,'selector':{'matchLabels':{'region':5}}}"), QUOTA_ERR_INVALID,
	 "selector.matchLabels.region: must be a string, got an int"},
	{GRANT(VCPU, "{'amount':1,'selector':{'matchExpressions':[{'key':'region',"
		     "'operator':'Has','values':['a']}]}}"),
	 QUOTA_ERR_INVALID,
	 "selector.matchExpressions[0].operator: \"Has\" is not one of In, NotIn, Exists, "
	 "DoesNotExist"},
	{GRANT(VCPU, "{'amount':1,'selector':{'matchExpressions':[{'key':'region',"
		     "'operator':'In'}]}}"),
	 QUOTA_ERR_INVALID, "selector.matchExpressions[0].values: In and NotIn need 1-16 values"},
	{GRANT(VCPU, "{'amount':1,'selector':{'matchExpressions':[{'key':'region',"
		     "'operator':'Exists','values':['x']}]}}"),
	 QUOTA_ERR_INVALID,
	 "selector.matchExpressions[0].values: Exists and DoesNotExist take no values"},
	{GRANT(VCPU, "{'amount':1,'selector':{'matchExpressions':[{'operator':'Exists'}]}}"),
	 QUOTA_ERR_INVALID, "selector.matchExpressions[0].key: required"},
	{GRANT(VCPU, "{'amount':1,'selector':{'matchFields':{}}}"), QUOTA_ERR_INVALID,
	 "buckets[0].selector.matchFields: unknown field"},
	{GRANT(VCPU, "{'amount':1,'period':'second'}"), QUOTA_ERR_INVALID,
	 "spec.allowances[0].buckets[0].period: only Rate types have periods"},
	{GRANT(VCPU, "{'amount':1,'violationAction':'Throttle'}"), QUOTA_ERR_INVALID,
	 "spec.allowances[0].buckets[0].violationAction: only Rate types"},
	{GRANT(REQS, "{'amount':1}"), QUOTA_ERR_INVALID,
	 "spec.allowances[0].buckets[0]: ai.example.com/requests is a Rate type: its amounts need "
	 "a period"},
	{GRANT(REQS, "{'amount':1,'period':'7x'}"), QUOTA_ERR_INVALID,
	 "spec.allowances[0].buckets[0].period: \"7x\" is not a duration"},
	{GRANT(REQS, "{'amount':1,'period':'0.5ms'}"), QUOTA_ERR_INVALID,
	 "buckets[0].period: \"0.5ms\" must be a whole number of milliseconds"},
	{GRANT(REQS, "{'amount':1,'period':'400d'}"), QUOTA_ERR_INVALID,
	 "buckets[0].period: \"400d\" must be a whole number of milliseconds from 1ms to"},
	{GRANT(REQS, "{'amount':1,'period':'0s'}"), QUOTA_ERR_INVALID,
	 "buckets[0].period: \"0s\" must be a whole number"},
	{GRANT(REQS, "{'amount':1,'period':60}"), QUOTA_ERR_INVALID,
	 "buckets[0].period: must be a string, got an int"},
	{GRANT(REQS, "{'amount':1,'period':'hour','window':'Calendar','burst':5}"),
	 QUOTA_ERR_INVALID, "buckets[0].burst: a Calendar window has no burst"},
	{GRANT(REQS, "{'amount':1,'period':'hour','window':'Sliding'}"), QUOTA_ERR_INVALID,
	 "buckets[0].window: \"Sliding\" is not one of Rolling, Calendar"},
	{GRANT(REQS, "{'amount':1,'period':'hour','burst':-1}"), QUOTA_ERR_INVALID,
	 "buckets[0].burst: must be >= 0, got -1"},
	/* claims */
	{CLAIM("", ""), QUOTA_ERR_INVALID, "spec.requests: needs 1-20 entries"},
	{CLAIM(REQ("1") "," REQ("1") "," REQ("1") "," REQ("1") "," REQ("1") "," REQ("1") "," REQ("1") "," REQ("1") "," REQ("1") "," REQ("1") "," REQ(
		       "1") "," REQ("1") "," REQ("1") "," REQ("1") "," REQ("1") "," REQ("1") "," REQ("1") "," REQ("1") "," REQ("1") "," REQ("1") "," REQ("1"),
	       ""),
	 QUOTA_ERR_INVALID, "spec.requests: 21 entries, at most 20"},
	{CLAIM(REQ("1") "," REQ("2"), ""), QUOTA_ERR_INVALID,
	 "spec.requests[1].resourceType: compute.example.com/vcpus also in requests[0]"},
	{CLAIM(REQ("-4"), ""), QUOTA_ERR_INVALID, "spec.requests[0].amount: must be > 0, got -4"},
	{CLAIM("{'amount':1}", ""), QUOTA_ERR_INVALID, "spec.requests[0].resourceType: required"},
	{CLAIM("{'resourceType':'" VCPU "','amount':1,'dimensions':{'zone':'a'}}", ""),
	 QUOTA_ERR_INVALID, "spec.requests[0].dimensions"},
	{CLAIM("{'resourceType':'" VCPU "','amount':1,'dimensions':{'region':1}}", ""),
	 QUOTA_ERR_INVALID, "spec.requests[0].dimensions.region: must be a string, got an int"},
	{CLAIM("{'resourceType':'" VCPU "','amount':1,'dimensions':['region']}", ""),
	 QUOTA_ERR_INVALID, "spec.requests[0].dimensions: must be a map, got a list"},
	{CLAIM(REQ("1"), ",'ttl':'30'"), QUOTA_ERR_INVALID, "spec.ttl: \"30\" is not a duration"},
	{CLAIM(REQ("1"), ",'ttl':'second'"), QUOTA_ERR_INVALID,
	 "spec.ttl: \"second\" is not a duration"},
	{CLAIM(REQ("1"), ",'queueTimeout':5"), QUOTA_ERR_INVALID,
	 "spec.queueTimeout: must be a string, got an int"},
	{CLAIM(REQ("1"), ",'queue':'yes'"), QUOTA_ERR_INVALID,
	 "spec.queue: must be a bool, got a string"},
	{CLAIM(REQ("1"), ",'priority':1"), QUOTA_ERR_INVALID, "spec.priority: unknown field"},
	{CLAIM("{'resourceType':'nope','amount':1}", ""), QUOTA_ERR_UNREGISTERED,
	 "spec.requests[0].resourceType: nope is not registered"},
	{"{" API ",'kind':'ResourceClaim','metadata':{'name':'c'},'spec':{'consumerRef':"
	 "{'kind':'Team','name':'t'},'resourceRef':{'kind':'Instance','name':'i'},"
	 "'requests':[" REQ("1") "]}}",
	 QUOTA_ERR_NOT_ALLOWED, "spec.consumerRef: Team may not hold compute.example.com/vcpus"},
	{"{" API ",'kind':'ResourceClaim','metadata':{'name':'c'},'spec':{'consumerRef':"
	 "{'kind':'Organization','name':'a'},'resourceRef':{'kind':'Pod','name':'p'},"
	 "'requests':[" REQ("1") "]}}",
	 QUOTA_ERR_NOT_ALLOWED,
	 "spec.resourceRef: Pod may not claim compute.example.com/vcpus (not in its "
	 "claimingResources)"},
	{"{" API ",'kind':'ResourceClaim','metadata':{'name':'c'},'spec':{'consumerRef':"
	 "{'kind':'Organization','name':'a'},'requests':[" REQ("1") "]}}",
	 QUOTA_ERR_NOT_ALLOWED,
	 "spec.resourceRef: required: only the claimingResources of compute.example.com/vcpus may "
	 "claim it"},
	{"{" API
	 ",'kind':'ResourceClaim','metadata':{'name':'c'},'spec':{'requests':[" REQ("1") "]}}",
	 QUOTA_ERR_INVALID, "spec.consumerRef: required"},
};

static void test_error_table(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	CHECK_RC(jload(e, jlist(REG_OK, REG_RATE, GRANT(VCPU, "{'amount':10}"), NULL), NULL),
		 QUOTA_OK);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int before = atomic_load(&check_failures_);
		JFAIL(e, cases[i].json, cases[i].code, cases[i].fragment);
		if (atomic_load(&check_failures_) != before)
			fprintf(stderr, "    (case %zu)\n", i);
	}
	quota_engine_free(e);
}

/* The path names the object in its List, and the field in its object. */
static void test_paths_in_lists(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	CHECK_RC(jload(e, REG_OK, NULL), QUOTA_OK);
	JFAIL(e,
	      jlist(GRANT(VCPU, "{'amount':1}"), REG_RATE,
		    GRANT(REQS, "{'amount':1,'period':'hour'}"),
		    CLAIM(REQ("1") ",{'resourceType':'" REQS "','amount':1},{'resourceType':"
				   "'x','amount':0}",
			  ""),
		    NULL),
	      QUOTA_ERR_INVALID, "items[3].spec.requests[2].amount: must be > 0, got 0");
	/* the same object twice: neither would win, so both are refused */
	JFAIL(e, jlist(GRANT(VCPU, "{'amount':1}"), GRANT(VCPU, "{'amount':2}"), NULL),
	      QUOTA_ERR_INVALID, "items[1]: ops/g also at items[0]");
	JFAIL(e, jlist(REG_OK, REG_OK, NULL), QUOTA_ERR_INVALID,
	      "items[1]: compute.example.com/vcpus also at items[0]");
	JFAIL(e, jlist(CLAIM(REQ("1"), ""), CLAIM(REQ("2"), ""), NULL), QUOTA_ERR_INVALID,
	      "items[1]: ops/c also at items[0]");
	/* a bad object after good ones: none is applied */
	JFAIL(e, jlist(REG_RATE, GRANT(VCPU, "{'amount':1}"), "{" API ",'kind':'Nope'}", NULL),
	      QUOTA_ERR_INVALID, "items[2].kind: unknown kind \"Nope\"");
	/* limits add up past INT64_MAX only together */
	JFAIL(e,
	      jlist("{" API
		    ",'kind':'ResourceGrant','metadata':{'name':'h1'},'spec':{'consumerRef':"
		    "{'kind':'Organization','name':'acme'},'allowances':[{'resourceType':'" VCPU
		    "','buckets':[{'amount':9223372036854775807}]}]}}",
		    "{" API
		    ",'kind':'ResourceGrant','metadata':{'name':'h2'},'spec':{'consumerRef':"
		    "{'kind':'Organization','name':'acme'},'allowances':[{'resourceType':'" VCPU
		    "','buckets':[{'amount':1}]}]}}",
		    NULL),
	      QUOTA_ERR_OVERFLOW, "items[1]: grant h2: the limit of bucket");
	quota_engine_free(e);
}

/* Nesting deeper than the options allow, however it is built. */
static void test_depth(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	/* metadata.labels nested 15 deep: the object is 17 deep */
	char deep[2048], *p = deep;
	p += sprintf(p, "[{" API ",'kind':'ResourceGrant','metadata':{'name':'g','x':");
	for (int i = 0; i < 15; i++)
		p += sprintf(p, "{'a':");
	p += sprintf(p, "1");
	for (int i = 0; i < 15; i++)
		p += sprintf(p, "}");
	sprintf(p, "},'spec':{}}]");
	JFAIL(e, deep, QUOTA_ERR_INVALID, "[0]: nesting deeper than 16 levels");
	quota_json_options o;
	quota_json_options_init(&o, sizeof o);
	o.max_depth = 3;
	CHECK_RC(jload_opts(e, REG_OK, &o, NULL), QUOTA_ERR_INVALID);
	CHECK_ERR_CONTAINS("nesting deeper than 3 levels");
	o.max_depth = 4;
	CHECK_RC(jload_opts(e, REG_OK, &o, NULL), QUOTA_OK);
	quota_engine_free(e);
}

int main(void)
{
	RUN(test_error_table);
	RUN(test_paths_in_lists);
	RUN(test_depth);
	return check_exit();
}
