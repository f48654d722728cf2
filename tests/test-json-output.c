/*
 * json.h, writing: every kind out (registrations, grants with Active,
 * claims with Milo status in every state and after every decision,
 * AllowanceBuckets, the flat quota view, Lists), and round trips: what is
 * written loads back into equal objects.
 *
 * SPDX-License-Identifier: MIT
 */
#include <quota/quota.h>

#include "check.h"
#include "json-util.h"

static struct test_clock clk;

/* TEST_EPOCH_NS as RFC 3339. */
#define EPOCH "2023-11-14T22:13:20Z"

static void check_jsonq_(const char *file, int line, const quota_doc *d, const char *want)
{
	char *w = jtext(want);
	check_json_(file, line, d, w);
	free(w);
}
#define CHECK_JSONQ(d, want) check_jsonq_(__FILE__, __LINE__, (d), (want))

/* The value of a dotted path in d ("status.conditions.0.reason"), as JSON. */
static char *at(const quota_doc *d, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *tok = strtok(buf, "."); tok && d; tok = strtok(NULL, ".")) {
		const quota_doc *next = NULL;
		if (quota_doc_get_type(d) == QUOTA_DOC_LIST)
			quota_doc_list_at(d, (size_t)atoi(tok), &next);
		else
			quota_doc_map_get(d, tok, strlen(tok), &next);
		d = next;
	}
	return jstr(d);
}

static void check_at_(const char *file, int line, const quota_doc *d, const char *path,
		      const char *want)
{
	char *got = at(d, path), *w = jtext(want);
	if (strcmp(got, w) != 0)
		check_fail_(file, line, "%s: %s, want %s", path, got, w);
	free(got);
	free(w);
}
#define CHECK_AT(d, path, want) check_at_(__FILE__, __LINE__, (d), (path), (want))

#define REG_VCPU                                                                                   \
	"{" API                                                                                    \
	",'kind':'ResourceRegistration','metadata':{'name':'x'},'spec':{'resourceType':'" VCPU     \
	"','consumerType':{'apiGroup':'resourcemanager.miloapis.com','kind':'Organization'},"      \
	"'type':'Allocation','description':'vCPUs','baseUnit':'millicores','displayUnit':'cores'," \
	"'unitConversionFactor':1000,'claimingResources':[{'apiGroup':'compute.example.com',"      \
	"'kind':'Instance'},{'kind':'Job'}],'defaultLimit':2000,'allowedDimensions':['region',"    \
	"'tier'],'enforcement':'Warn','violationAction':'Queue'}}"
#define REG_RATE                                                                                   \
	"{" API ",'kind':'ResourceRegistration','spec':{'resourceType':'" REQS "',"                \
	"'consumerType':{'kind':'Organization'},'type':'Rate','defaultLimit':-1}}"
#define GRANT_ACME                                                                                 \
	"{" API ",'kind':'ResourceGrant','metadata':{'name':'acme','namespace':'ops'},'spec':{"    \
	"'consumerRef':{'apiGroup':'resourcemanager.miloapis.com','kind':'Organization','name':"   \
	"'acme'},'allowances':[{'resourceType':'" VCPU "','buckets':[{'amount':16000},"            \
	"{'amount':4000,'selector':{'matchLabels':{'region':'us'},'matchExpressions':[{'key':"     \
	"'tier','operator':'NotIn','values':['spot']},{'key':'region','operator':'Exists'}]}}]},"  \
	"{'resourceType':'" REQS "','buckets':[{'amount':100,'period':'second','burst':200,"       \
	"'window':'Rolling'},{'amount':5000,'period':'90s','window':'Calendar',"                   \
	"'violationAction':'Throttle'},{'amount':-1,'period':'250ms','window':'Rolling'}]}]}}"
#define CLAIM(name, amount, extra)                                                                 \
	"{" API ",'kind':'ResourceClaim','metadata':{'name':'" name                                \
	"','namespace':'ops'},'spec':{"                                                            \
	"'consumerRef':{'kind':'Organization','name':'acme'},'resourceRef':{'apiGroup':"           \
	"'compute.example.com','kind':'Instance','name':'" name                                    \
	"'},'requests':[{'resourceType':'" VCPU "','amount':" amount                               \
	",'dimensions':{'region':'us','tier':'gold'}}]" extra "}}"

static const quota_ref acme = {NULL, "Organization", NULL, "acme"};

static quota_engine *loaded(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	CHECK_RC(jload(e, jlist(REG_VCPU, REG_RATE, GRANT_ACME, NULL), NULL), QUOTA_OK);
	return e;
}

/* Switch vCPUs from Warn to Enforce (its action stays Queue). */
static void enforce(quota_engine *e)
{
	quota_registration *r = NULL;
	CHECK_RC(quota_registration_get(e, VCPU, &r), QUOTA_OK);
	if (!r)
		return;
	r->enforcement = QUOTA_ENFORCE;
	CHECK_RC(quota_registration_update(e, r), QUOTA_OK);
	quota_free(r);
}

/* A claim of the input, decided with acquire, reserve or (queue) reserve. */
static int decide(quota_engine *e, const char *json, int acquire, quota_answer *a)
{
	quota_json_result *res = NULL;
	int rc = jload(e, json, &res);
	if (rc == QUOTA_OK)
		rc = acquire ? quota_claim_acquire(e, &res->claims[0], a)
			     : quota_claim_reserve(e, &res->claims[0], a);
	quota_free(res);
	return rc;
}

static void test_registration(void)
{
	quota_engine *e = loaded();
	quota_doc *d = NULL;
	CHECK_RC(quota_json_registration(e, VCPU, &d), QUOTA_OK);
	CHECK_JSONQ(d, "{" API ",'kind':'ResourceRegistration','metadata':{'name':"
		       "'compute.example.com-vcpus','generation':1},'spec':{'resourceType':'" VCPU
		       "','consumerType':{'apiGroup':'resourcemanager.miloapis.com','kind':"
		       "'Organization'},'type':'Allocation','description':'vCPUs','baseUnit':"
		       "'millicores','displayUnit':'cores','unitConversionFactor':1000,"
		       "'claimingResources':[{'apiGroup':'compute.example.com','kind':'Instance'},"
		       "{'kind':'Job'}],'defaultLimit':2000,'allowedDimensions':['region','tier'],"
		       "'enforcement':'Warn','violationAction':'Queue'},'status':{"
		       "'observedGeneration':1,'conditions':[{'type':'Active','status':'True',"
		       "'reason':'RegistrationActive','message':'The registration is active.'}]}}");
	quota_doc_unref(d);
	d = (quota_doc *)&d;
	CHECK_RC(quota_json_registration(e, "nope", &d), QUOTA_ERR_NOT_FOUND);
	CHECK(d == NULL);
	CHECK_RC(quota_json_registration(e, VCPU, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_json_registration(NULL, VCPU, &d), QUOTA_ERR_INVALID);
	quota_engine_free(e);
}

static void test_grant_out(void)
{
	quota_engine *e = loaded();
	quota_doc *d = NULL;
	CHECK_RC(quota_json_grant(e, "ops", "acme", &d), QUOTA_OK);
	CHECK_JSONQ(d,
		    "{" API ",'kind':'ResourceGrant','metadata':{'name':'acme','namespace':"
		    "'ops','generation':1},'spec':{'consumerRef':{'apiGroup':"
		    "'resourcemanager.miloapis.com','kind':'Organization','name':'acme'},"
		    "'allowances':[{'resourceType':'" VCPU "','buckets':[{'amount':16000},"
		    "{'amount':4000,'selector':{'matchLabels':{'region':'us'},'matchExpressions':"
		    "[{'key':'tier','operator':'NotIn','values':['spot']},{'key':'region',"
		    "'operator':'Exists'}]}}]},{'resourceType':'" REQS "','buckets':[{'amount':"
		    "100,'period':'second','burst':200,'window':'Rolling'},{'amount':5000,"
		    "'period':'90s','window':'Calendar','violationAction':'Throttle'},{'amount':"
		    "-1,'period':'250ms','window':'Rolling'}]}]},'status':{'observedGeneration':1,"
		    "'conditions':[{'type':'Active','status':'True','reason':'GrantActive',"
		    "'message':'The grant is active and its allowances count toward bucket "
		    "limits.'}]}}");
	quota_doc_unref(d);
	CHECK_RC(quota_json_grant(e, "ops", "nope", &d), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_json_grant(e, "ops", "acme", NULL), QUOTA_ERR_INVALID);
	quota_engine_free(e);
}

/* Every state a stored claim can be in, in Milo's words. */
static void test_claim_states(void)
{
	quota_engine *e = loaded();
	quota_doc *d = NULL;
	quota_answer a;
	quota_answer_init(&a, sizeof a);

	CHECK_RC(decide(e, CLAIM("granted", "1000", ""), 1, &a), QUOTA_OK);
	CHECK_RC(quota_json_claim(e, "ops", "granted", &d), QUOTA_OK);
	CHECK_JSONQ(d,
		    "{" API ",'kind':'ResourceClaim','metadata':{'name':'granted','namespace':"
		    "'ops'},'spec':{'consumerRef':{'kind':'Organization','name':'acme'},"
		    "'resourceRef':{'apiGroup':'compute.example.com','kind':'Instance','name':"
		    "'granted'},'requests':[{'resourceType':'" VCPU "','amount':1000,"
		    "'dimensions':{'region':'us','tier':'gold'}}]},'status':{'phase':'Granted',"
		    "'allocations':[{'resourceType':'" VCPU "','status':'Granted',"
		    "'allocatedAmount':1000,'allocatingBucket':'Organization//acme:" VCPU
		    "[region=us,region,tier notin (spot)]','lastTransitionTime':'" EPOCH "'}],"
		    "'conditions':[{'type':'Granted','status':'True','reason':'QuotaAvailable',"
		    "'message':'Every request was granted.','lastTransitionTime':'" EPOCH "'}]}}");
	quota_doc_unref(d);

	/* reserved with a TTL: Granted for Milo (the capacity is held), phase
	 * Reserved, and when it expires */
	CHECK_RC(decide(e, CLAIM("reserved", "500", ",'ttl':'90s'"), 0, &a), QUOTA_OK);
	CHECK_RC(quota_json_claim(e, "ops", "reserved", &d), QUOTA_OK);
	CHECK_AT(d, "status.phase", "'Reserved'");
	CHECK_AT(d, "status.allocations.0.status", "'Granted'");
	CHECK_AT(d, "status.allocations.0.reason", "'Reserved'");
	CHECK_AT(d, "status.allocations.0.allocatedAmount", "500");
	CHECK_AT(d, "status.conditions.0.status", "'True'");
	CHECK_AT(d, "status.conditions.0.reason", "'QuotaAvailable'");
	CHECK_AT(d, "status.expiresAt", "'2023-11-14T22:14:50Z'");
	quota_doc_unref(d);

	/* queued (more than is free, not more than the limit: a claim above a
	 * limit is denied, not queued): Pending, PendingEvaluation, nothing
	 * allocated */
	enforce(e);
	CHECK_RC(decide(e, CLAIM("queued", "3000", ",'queue':true,'autoCommit':true"), 0, &a),
		 QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_QUEUED);
	CHECK_RC(quota_json_claim(e, "ops", "queued", &d), QUOTA_OK);
	CHECK_AT(d, "spec.queue", "true");
	CHECK_AT(d, "spec.autoCommit", "true");
	CHECK_AT(d, "status.phase", "'Pending'");
	CHECK_AT(d, "status.allocations.0.status", "'Pending'");
	CHECK_AT(d, "status.allocations.0.allocatedAmount", "0");
	CHECK_AT(d, "status.conditions.0.status", "'False'");
	CHECK_AT(d, "status.conditions.0.reason", "'PendingEvaluation'");
	quota_doc_unref(d);

	/* released: holds nothing */
	CHECK_RC(quota_claim_release(e, "ops", "granted"), QUOTA_OK);
	CHECK_RC(quota_json_claim(e, "ops", "granted", &d), QUOTA_OK);
	CHECK_AT(d, "status.phase", "'Released'");
	CHECK_AT(d, "status.allocations.0.allocatedAmount", "0");
	CHECK_AT(d, "status.conditions.0.reason", "'Released'");
	quota_doc_unref(d);
	CHECK_RC(quota_json_claim(e, "ops", "never", &d), QUOTA_ERR_NOT_FOUND);
	quota_engine_free(e);
}

/* What the Milo controller writes after deciding, for every outcome. */
static void test_claim_answers(void)
{
	quota_engine *e = loaded();
	quota_json_result *res = NULL;
	quota_doc *d = NULL;
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	const char *two = "{" API ",'kind':'ResourceClaim','metadata':{'name':'big'},'spec':{"
			  "'consumerRef':{'kind':'Organization','name':'acme'},'resourceRef':{"
			  "'kind':'Job','name':'j'},'requests':[{'resourceType':'" REQS "',"
			  "'amount':1},{'resourceType':'" VCPU "','amount':20000}]}}";
	CHECK_RC(jload(e, two, &res), QUOTA_OK);
	if (!res)
		goto out;
	const quota_claim *c = &res->claims[0];

	/* a dry run that fits: nothing stored, allocations Granted */
	int rc = quota_claim_check(e, c, &a);
	CHECK_RC(rc, QUOTA_OK); /* Warn mode lets it through */
	CHECK_RC(quota_json_claim_answer(e, c, rc, &a, &d), QUOTA_OK);
	CHECK_AT(d, "status.phase", "'Granted'");
	CHECK_AT(d, "status.conditions.0.reason", "'QuotaAvailable'");
	CHECK_AT(d, "status.allocations.1.allocatedAmount", "20000");
	quota_doc_unref(d);

	/* denied: the binding request says why, the other is denied with it */
	quota_registration *r = NULL;
	CHECK_RC(quota_registration_get(e, VCPU, &r), QUOTA_OK);
	if (r) {
		r->enforcement = QUOTA_ENFORCE;
		r->violation_action = QUOTA_ACTION_REJECT;
		CHECK_RC(quota_registration_update(e, r), QUOTA_OK);
	}
	quota_free(r);
	rc = quota_claim_acquire(e, c, &a);
	CHECK_RC(rc, QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_json_claim_answer(e, c, rc, &a, &d), QUOTA_OK);
	CHECK_AT(d, "status.phase", "'Denied'");
	CHECK_AT(d, "status.allocations.1.status", "'Denied'");
	CHECK_AT(d, "status.allocations.1.reason", "'QuotaExceeded'");
	CHECK_AT(d, "status.allocations.1.message",
		 "'Resource quota exceeded: requested 20000, available 16000 (bucket "
		 "Organization//acme:" VCPU ")'");
	CHECK_AT(d, "status.allocations.1.allocatingBucket", "'Organization//acme:" VCPU "'");
	CHECK_AT(d, "status.allocations.0.status", "'Denied'");
	CHECK_AT(d, "status.allocations.0.reason", "'ClaimDenied'");
	CHECK_AT(d, "status.conditions.0.type", "'Granted'");
	CHECK_AT(d, "status.conditions.0.status", "'False'");
	CHECK_AT(d, "status.conditions.0.reason", "'QuotaExceeded'");
	CHECK_AT(d, "status.conditions.0.lastTransitionTime", "'" EPOCH "'");
	quota_doc_unref(d);

	/* invalid: ValidationFailed with the detail of the call */
	quota_claim bad = *c;
	bad.resource.kind = "Pod";
	rc = quota_claim_acquire(e, &bad, &a);
	CHECK_RC(rc, QUOTA_ERR_NOT_ALLOWED);
	char detail[512];
	snprintf(detail, sizeof detail, "%s", quota_last_error());
	CHECK_RC(quota_json_claim_answer(e, &bad, rc, &a, &d), QUOTA_OK);
	CHECK_AT(d, "status.conditions.0.reason", "'ValidationFailed'");
	char *msg = at(d, "status.conditions.0.message");
	CHECK(strstr(msg, "Pod") != NULL);
	free(msg);
	quota_doc_unref(d);

	/* a rate limit: QuotaExceeded with the retry time */
	quota_claim one = *c;
	one.request_count = 1;
	one.name = "rate";
	for (int i = 0; i < 250 && rc != QUOTA_ERR_RATE_LIMITED; i++) {
		one.name = i % 2 ? "rate-a" : "rate-b";
		rc = quota_claim_acquire(e, &one, &a);
		quota_claim_release(e, NULL, one.name);
	}
	CHECK_RC(rc, QUOTA_ERR_RATE_LIMITED);
	CHECK_RC(quota_json_claim_answer(e, &one, rc, &a, &d), QUOTA_OK);
	CHECK_AT(d, "status.conditions.0.reason", "'QuotaExceeded'");
	msg = at(d, "status.conditions.0.message");
	CHECK(strstr(msg, "retry after") != NULL);
	free(msg);
	quota_doc_unref(d);

	/* granted: the stored claim */
	one.requests = &c->requests[1];
	one.name = "ok";
	((quota_request *)one.requests)[0].amount = 100;
	rc = quota_claim_acquire(e, &one, &a);
	CHECK_RC(rc, QUOTA_OK);
	CHECK_RC(quota_json_claim_answer(e, &one, rc, &a, &d), QUOTA_OK);
	CHECK_AT(d, "status.phase", "'Granted'");
	CHECK_AT(d, "status.allocations.0.allocatingBucket", "'Organization//acme:" VCPU "'");
	quota_doc_unref(d);

	CHECK_RC(quota_json_claim_answer(e, NULL, 0, NULL, &d), QUOTA_ERR_INVALID);
	CHECK_RC(quota_json_claim_answer(e, c, 0, NULL, NULL), QUOTA_ERR_INVALID);
	quota_free(res);
out:
	quota_engine_free(e);
}

static void test_buckets(void)
{
	quota_engine *e = loaded();
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	quota_doc *d = NULL;
	CHECK_RC(decide(e, CLAIM("c1", "1000", ""), 1, &a), QUOTA_OK);
	CHECK_RC(decide(e, CLAIM("c2", "500", ""), 0, &a), QUOTA_OK);
	CHECK_RC(quota_json_bucket(e, &acme, VCPU, NULL, &d), QUOTA_OK);
	CHECK_JSONQ(d, "{" API ",'kind':'AllowanceBucket','metadata':{'name':"
		       "'organization-acme-compute.example.com-vcpus'},'spec':{'consumerRef':{"
		       "'apiGroup':'resourcemanager.miloapis.com','kind':'Organization','name':"
		       "'acme'},'resourceType':'" VCPU "'},'status':{'limit':16000,'allocated':"
		       "1000,'available':14500,'claimCount':1,'grantCount':1,"
		       "'contributingGrantRefs':[{'name':'acme','namespace':'ops','amount':16000,"
		       "'lastObservedGeneration':1}],'lastReconciliation':'" EPOCH "',"
		       "'observedGeneration':1,'reserved':500,'reservedCount':1}}");
	quota_doc_unref(d);
	/* a selector bucket names its selector */
	CHECK_RC(quota_json_bucket(e, &acme, VCPU, "region=us,region,tier notin (spot)", &d),
		 QUOTA_OK);
	CHECK_AT(d, "spec.selector", "'region=us,region,tier notin (spot)'");
	CHECK_AT(d, "status.limit", "4000");
	CHECK_AT(d, "status.allocated", "1000");
	quota_doc_unref(d);
	/* a rate bucket lists its limits */
	CHECK_RC(quota_json_bucket(e, &acme, REQS, "", &d), QUOTA_OK);
	CHECK_AT(d, "status.rates.0.period", "'250ms'");
	CHECK_AT(d, "status.rates.0.limit", "-1");
	CHECK_AT(d, "status.rates.1.period", "'second'");
	CHECK_AT(d, "status.rates.1.burst", "200");
	CHECK_AT(d, "status.rates.2.period", "'90s'");
	CHECK_AT(d, "status.rates.2.window", "'Calendar'");
	quota_doc_unref(d);
	/* observed usage shows with its drift; queued claims (here one that
	 * does not fit the selector bucket's free capacity) count as pending */
	CHECK_RC(quota_usage_observe(e, &acme, VCPU, 3000), QUOTA_OK);
	enforce(e);
	CHECK_RC(decide(e, CLAIM("q", "3000", ",'queue':true"), 0, &a), QUOTA_OK);
	CHECK_RC(quota_json_bucket(e, &acme, VCPU, NULL, &d), QUOTA_OK);
	CHECK_AT(d, "status.observed", "3000");
	CHECK_AT(d, "status.drift", "2000");
	CHECK_AT(d, "status.pending", "1");
	CHECK_AT(d, "status.available", "12500");
	quota_doc_unref(d);
	/* a default-limit bucket nobody used: no reconciliation yet */
	quota_ref other = {NULL, "Organization", NULL, "other"};
	CHECK_RC(quota_json_bucket(e, &other, VCPU, NULL, &d), QUOTA_OK);
	CHECK_AT(d, "status.limit", "2000");
	CHECK_AT(d, "status.lastReconciliation", "(none)");
	quota_doc_unref(d);
	CHECK_RC(quota_json_bucket(e, &acme, VCPU, "tier=gold", &d), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_json_bucket(e, &acme, "nope", NULL, &d), QUOTA_ERR_UNREGISTERED);
	CHECK_RC(quota_json_bucket(e, &acme, VCPU, NULL, NULL), QUOTA_ERR_INVALID);
	quota_engine_free(e);
}

static void test_quota_view(void)
{
	quota_engine *e = loaded();
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	quota_doc *d = NULL;
	quota_ref beta = {NULL, "Organization", "eu", "beta"};
	CHECK_RC(test_grant(e, NULL, "b", &beta, VCPU, -1, NULL), QUOTA_OK);
	CHECK_RC(decide(e, CLAIM("c1", "1000", ""), 1, &a), QUOTA_OK);
	CHECK_RC(decide(e, CLAIM("c2", "500", ""), 0, &a), QUOTA_OK);
	CHECK_RC(quota_json_quotas(e, &beta, &d), QUOTA_OK);
	CHECK_JSONQ(d, "[{'name':'" VCPU "','limit':-1,'usage':0,'scope':'Organization/eu/beta'}]");
	quota_doc_unref(d);
	CHECK_RC(quota_json_quotas(e, &acme, &d), QUOTA_OK);
	char *t = jstr(d);
	CHECK(strstr(t, "{\"name\":\"" VCPU "\",\"limit\":16000,\"usage\":1500,\"scope\":"
			"\"Organization//acme\"}"));
	CHECK(strstr(t, "{\"name\":\"" VCPU "[region=us,region,tier notin (spot)]\",\"limit\":"
			"4000,\"usage\":1500,"));
	free(t);
	quota_doc_unref(d);
	/* observed usage above what is allocated counts */
	CHECK_RC(quota_usage_observe(e, &acme, VCPU, 5000), QUOTA_OK);
	CHECK_RC(quota_json_quotas(e, NULL, &d), QUOTA_OK);
	t = jstr(d);
	CHECK(strstr(t, "\"limit\":16000,\"usage\":5500,"));
	CHECK(strstr(t, "\"scope\":\"Organization/eu/beta\""));
	free(t);
	quota_doc_unref(d);
	quota_ref bad = {NULL, "no kind", NULL, "x"};
	CHECK_RC(quota_json_quotas(e, &bad, &d), QUOTA_ERR_INVALID);
	CHECK_RC(quota_json_quotas(e, NULL, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_json_quotas(NULL, NULL, &d), QUOTA_ERR_INVALID);
	quota_engine_free(e);
}

static void test_dump(void)
{
	quota_engine *e = loaded();
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	quota_doc *d = NULL;
	CHECK_RC(decide(e, CLAIM("c1", "1000", ""), 1, &a), QUOTA_OK);
	CHECK_RC(decide(e, CLAIM("gone", "1", ""), 1, &a), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "ops", "gone"), QUOTA_OK);
	CHECK_RC(quota_json_dump(e, 0, &d), QUOTA_OK);
	CHECK_JSONQ(d, "{'apiVersion':'v1','kind':'List','items':[]}");
	quota_doc_unref(d);
	CHECK_RC(quota_json_dump(e, QUOTA_JSON_REGISTRATIONS | QUOTA_JSON_CLAIMS, &d), QUOTA_OK);
	CHECK_AT(d, "items.0.kind", "'ResourceRegistration'");
	CHECK_AT(d, "items.0.spec.resourceType", "'" REQS "'"); /* sorted by type */
	CHECK_AT(d, "items.1.spec.resourceType", "'" VCPU "'");
	CHECK_AT(d, "items.2.kind", "'ResourceClaim'");
	CHECK_AT(d, "items.2.metadata.name", "'c1'"); /* live ones only */
	CHECK_AT(d, "items.3", "(none)");
	quota_doc_unref(d);
	CHECK_RC(quota_json_dump(e, QUOTA_JSON_ALL, &d), QUOTA_OK);
	CHECK_AT(d, "items.2.kind", "'ResourceGrant'");
	CHECK_AT(d, "items.3.kind", "'ResourceClaim'");
	CHECK_AT(d, "items.4.kind", "'AllowanceBucket'");
	char *text = NULL, *want = jstr(d);
	size_t len = 0;
	CHECK_RC(quota_json_dump_text(e, QUOTA_JSON_ALL, &text, &len), QUOTA_OK);
	CHECK_STR_EQ(text, want);
	CHECK_EQ_INT(len, strlen(want));
	quota_free(text);
	free(want);
	quota_doc_unref(d);
	CHECK_RC(quota_json_dump(e, 1u << 9, &d), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("kinds");
	CHECK_RC(quota_json_dump(NULL, 0, &d), QUOTA_ERR_INVALID);
	CHECK_RC(quota_json_dump(e, 0, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_json_dump_text(e, 0, NULL, NULL), QUOTA_ERR_INVALID);
	quota_engine_free(e);
}

/* Dump the configuration and live claims of e as text (malloc'd). */
static char *spec_dump(quota_engine *e)
{
	char *t = NULL;
	CHECK_RC(quota_json_dump_text(e,
				      QUOTA_JSON_REGISTRATIONS | QUOTA_JSON_GRANTS |
					      QUOTA_JSON_CLAIMS,
				      &t, NULL),
		 QUOTA_OK);
	char *s = strdup(t ? t : "");
	quota_free(t);
	return s;
}

/* Load a dump into a fresh engine, acquire its claims, dump again. */
static char *reload(const char *dump, quota_json_result **claims)
{
	quota_engine *e = test_engine(&clk, 60000);
	quota_doc *d = NULL;
	quota_json_result *res = NULL;
	char *t = NULL;
	if (have_json()) {
		CHECK_RC(quota_json_load(e, dump, strlen(dump), NULL, &res), QUOTA_OK);
	} else {
		d = tdoc(dump);
		CHECK_RC(quota_json_load_doc(e, d, NULL, &res), QUOTA_OK);
		quota_doc_unref(d);
	}
	for (uint32_t i = 0; res && i < res->claim_count; i++)
		CHECK_RC(quota_claim_acquire(e, &res->claims[i], NULL), QUOTA_OK);
	t = spec_dump(e);
	if (claims)
		*claims = res;
	else
		quota_free(res);
	quota_engine_free(e);
	return t;
}

static void check_same_claim(const quota_claim *x, const quota_claim *y)
{
	CHECK_STR_EQ(x->ns, y->ns);
	CHECK_STR_EQ(x->name, y->name);
	CHECK_STR_EQ(x->consumer.kind, y->consumer.kind);
	CHECK_STR_EQ(x->consumer.name, y->consumer.name);
	CHECK_STR_EQ(x->consumer.api_group, y->consumer.api_group);
	CHECK_STR_EQ(x->resource.kind, y->resource.kind);
	CHECK_STR_EQ(x->resource.name, y->resource.name);
	CHECK_STR_EQ(x->resource.api_group, y->resource.api_group);
	CHECK_EQ_INT(x->flags, y->flags);
	CHECK_EQ_INT(x->request_count, y->request_count);
	for (uint32_t i = 0; i < x->request_count && i < y->request_count; i++) {
		CHECK_STR_EQ(x->requests[i].resource_type, y->requests[i].resource_type);
		CHECK_EQ_INT(x->requests[i].amount, y->requests[i].amount);
		CHECK_EQ_INT(x->requests[i].dimension_count, y->requests[i].dimension_count);
		for (uint32_t k = 0;
		     k < x->requests[i].dimension_count && k < y->requests[i].dimension_count;
		     k++) {
			CHECK_STR_EQ(x->requests[i].dimensions[k].key,
				     y->requests[i].dimensions[k].key);
			CHECK_STR_EQ(x->requests[i].dimensions[k].value,
				     y->requests[i].dimensions[k].value);
		}
	}
}

/* Milo objects with every extension: dump, load the dump, dump again. */
static void test_round_trip(void)
{
	quota_engine *e = loaded();
	quota_json_result *first = NULL, *again = NULL;
	const char *claims = jlist(CLAIM("c1", "1000", ",'autoCommit':true"),
				   CLAIM("c2", "2", ",'queue':true"), NULL);
	CHECK_RC(jload(e, claims, &first), QUOTA_OK);
	for (uint32_t i = 0; first && i < first->claim_count; i++)
		CHECK_RC(quota_claim_acquire(e, &first->claims[i], NULL), QUOTA_OK);
	char *one = spec_dump(e);
	char *two = reload(one, &again);
	CHECK_STR_EQ(one, two);
	CHECK(strstr(one, "\"violationAction\":\"Throttle\""));
	CHECK(strstr(one, "\"dimensions\":{\"region\":\"us\",\"tier\":\"gold\"}"));
	/* the claims read back from the dump are the claims that were loaded */
	if (first && again) {
		CHECK_EQ_INT(again->claim_count, 2);
		for (uint32_t i = 0; i < 2 && i < again->claim_count; i++) {
			const quota_claim *x = &first->claims[i], *y = NULL;
			for (uint32_t k = 0; k < again->claim_count; k++)
				if (strcmp(again->claims[k].name, x->name) == 0)
					y = &again->claims[k];
			CHECK(y != NULL);
			if (y)
				check_same_claim(x, y);
		}
	}
	/* and the grants are equal field by field (the text says so too) */
	quota_free(first);
	quota_free(again);
	free(one);
	free(two);
	quota_engine_free(e);
}

/* The older shapes come out in Milo's shape, which loads back the same. */
static void test_round_trip_older(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	const char *older = jlist(
		"{'apiGroup':'quota.miloapis.com','kind':'ServiceQuotaRegistration',"
		"'spec':{'resourceName':'memory','unit':'bytes','defaultLimit':{'value':'1Gi'},"
		"'allowedDimensions':['location']}}",
		"{'apiGroup':'quota.miloapis.com','kind':'ResourceQuotaGrant','metadata':{"
		"'name':'p1'},'spec':{'resourceRef':{'kind':'Project','name':'p1'},'limits':["
		"{'name':'memory','buckets':[{'value':'32Gi','selector':{}},{'value':'8Gi',"
		"'selector':{'matchLabels':{'location':'dfw'}}}]}]}}",
		"{'apiGroup':'quota.miloapis.com','kind':'ResourceQuotaClaim','metadata':{"
		"'name':'i1','namespace':'p1'},'spec':{'resourceRef':{'kind':'Instance',"
		"'name':'i1'},'resources':[{'name':'memory','quantity':'2Gi','dimensions':"
		"{'location':'dfw'}}]}}",
		NULL);
	quota_json_result *res = NULL;
	CHECK_RC(jload(e, older, &res), QUOTA_OK);
	if (res)
		CHECK_RC(quota_claim_acquire(e, &res->claims[0], NULL), QUOTA_OK);
	quota_free(res);
	char *one = spec_dump(e), *two = reload(one, NULL);
	CHECK_STR_EQ(one, two);
	CHECK(strstr(one, "\"kind\":\"ResourceRegistration\""));
	CHECK(strstr(one, "\"defaultLimit\":1073741824"));
	CHECK(strstr(one, "\"amount\":34359738368"));
	CHECK(strstr(one, "\"requests\":[{\"resourceType\":\"memory\",\"amount\":2147483648,"
			  "\"dimensions\":{\"location\":\"dfw\"}}]"));
	free(one);
	free(two);
	quota_engine_free(e);
}

int main(void)
{
	RUN(test_registration);
	RUN(test_grant_out);
	RUN(test_claim_states);
	RUN(test_claim_answers);
	RUN(test_buckets);
	RUN(test_quota_view);
	RUN(test_dump);
	RUN(test_round_trip);
	RUN(test_round_trip_older);
	return check_exit();
}
