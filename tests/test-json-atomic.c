/*
 * json.h, all or nothing: a load that fails anywhere (a bad object, a
 * conflict the engine finds, an allocation that fails at any point) leaves
 * the engine exactly as it was: registrations, grants, generations,
 * buckets, their observed generations and claims.
 *
 * SPDX-License-Identifier: MIT
 */
#include <quota/quota.h>

#include "alloc-hook.h"
#include "check.h"
#include "json-util.h"

static struct test_clock clk;
static struct counting cnt;

#define REG_V(desc, dims, limit)                                                                   \
	"{" API ",'kind':'ResourceRegistration','spec':{'resourceType':'" VCPU "',"                \
	"'consumerType':{'kind':'Organization'},'type':'Allocation','description':'" desc "',"     \
	"'allowedDimensions':[" dims "],'defaultLimit':" limit "}}"
#define REG_RATE                                                                                   \
	"{" API ",'kind':'ResourceRegistration','spec':{'resourceType':'" REQS "',"                \
	"'consumerType':{'kind':'Organization'},'type':'Rate'}}"
#define REG_SEATS(type)                                                                            \
	"{" API ",'kind':'ResourceRegistration','spec':{'resourceType':'seats',"                   \
	"'consumerType':{'kind':'Organization'},'type':'" type "'}}"
#define REG_DISK                                                                                   \
	"{'apiGroup':'quota.miloapis.com','kind':'ServiceQuotaRegistration','spec':{"              \
	"'resourceName':'disk','unit':'bytes','consumerType':{'kind':'Organization'}}}"
#define GRANT(name, org, type, buckets)                                                            \
	"{" API ",'kind':'ResourceGrant','metadata':{'name':'" name "'},'spec':{'consumerRef':"    \
	"{'kind':'Organization','name':'" org "'},'allowances':[{'resourceType':'" type "',"       \
	"'buckets':[" buckets "]}]}}"
#define CLAIM(name, amount, dims)                                                                  \
	"{" API ",'kind':'ResourceClaim','metadata':{'name':'" name "'},'spec':{'consumerRef':"    \
	"{'kind':'Organization','name':'acme'},'requests':[{'resourceType':'" VCPU                 \
	"','amount':" amount ",'dimensions':{" dims "}}]}}"

/* What the engine holds before each load. */
static const char *setup_text(void)
{
	return jlist(REG_V("v1", "'region'", "0"), REG_RATE, REG_SEATS("Entity"),
		     GRANT("g1", "acme", VCPU,
			   "{'amount':10},{'amount':5,'selector':{'matchLabels':{'region':'eu'}}}"),
		     GRANT("g2", "acme", VCPU, "{'amount':5}"),
		     GRANT("r1", "acme", REQS, "{'amount':100,'period':'second','burst':150}"),
		     CLAIM("c1", "4", "'region':'eu'"), CLAIM("c2", "2", ""), NULL);
}

/* The change: a registration updated (a new dimension, a new default), a
 * new one, a grant replaced (its eu selector goes, one on the new
 * dimension comes), a rate grant changed, new grants, a claim. */
static const char *change_text(void)
{
	return jlist(REG_V("v2", "'region','zone'", "7"), REG_DISK,
		     GRANT("g1", "acme", VCPU,
			   "{'amount':12},{'amount':2,'selector':{'matchLabels':{'zone':'a'}}}"),
		     GRANT("g3", "beta", VCPU, "{'amount':1}"),
		     GRANT("d1", "acme", "disk", "{'amount':1000},{'amount':-1}"),
		     GRANT("r1", "acme", REQS,
			   "{'amount':100,'period':'second','burst':150},{'amount':1000,"
			   "'period':'hour','window':'Calendar'}"),
		     CLAIM("c3", "1", "'zone':'a'"), NULL);
}

static quota_engine *setup(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	quota_json_result *res = NULL;
	if (!e)
		return NULL;
	if (jload(e, setup_text(), &res) != QUOTA_OK) {
		quota_engine_free(e);
		return NULL;
	}
	for (uint32_t i = 0; i < res->claim_count; i++)
		CHECK_RC(quota_claim_acquire(e, &res->claims[i], NULL), QUOTA_OK);
	quota_free(res);
	return e;
}

static const quota_ref acme = {NULL, "Organization", NULL, "acme"};

/* What a successful change leaves. */
static void check_changed(quota_engine *e, const quota_json_result *res)
{
	quota_registration *r = NULL;
	CHECK_RC(quota_registration_get(e, VCPU, &r), QUOTA_OK);
	if (r) {
		CHECK_STR_EQ(r->description, "v2");
		CHECK_EQ_INT(r->generation, 2);
		CHECK_EQ_INT(r->allowed_dimension_count, 2);
	}
	quota_free(r);
	quota_grant *g = NULL;
	CHECK_RC(quota_grant_get(e, NULL, "g1", &g), QUOTA_OK);
	CHECK_EQ_INT(g ? g->generation : 0, 2);
	quota_free(g);
	CHECK_BUCKET(e, &acme, VCPU, 17, 6, 0, 11);
	CHECK_BUCKET(e, &acme, "disk", -1, 0, 0, -1);
	quota_ref beta = {NULL, "Organization", NULL, "beta"};
	CHECK_BUCKET(e, &beta, VCPU, 1, 0, 0, 1);
	quota_bucket_info *b = NULL;
	CHECK_RC(quota_bucket_get_selector(e, &acme, VCPU, "zone=a", &b), QUOTA_OK);
	CHECK_EQ_INT(b ? b->limit : 0, 2);
	quota_free(b);
	/* the eu selector bucket holds claim c1 still: it stays, unlimited */
	CHECK_RC(quota_bucket_get_selector(e, &acme, VCPU, "region=eu", &b), QUOTA_OK);
	CHECK_EQ_INT(b ? b->limit : 0, -1);
	CHECK_EQ_INT(b ? b->allocated : 0, 4);
	quota_free(b);
	CHECK(res->claim_count == 1);
	CHECK_RC(quota_claim_acquire(e, &res->claims[0], NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPU, 17, 7, 0, 10);
}

static void test_change_applies(void)
{
	quota_engine *e = setup();
	quota_json_result *res = NULL;
	CHECK(e != NULL);
	CHECK_RC(jload(e, change_text(), &res), QUOTA_OK);
	if (res)
		check_changed(e, res);
	quota_free(res);
	quota_engine_free(e);
}

/* A bad object anywhere, or a conflict only the engine sees, after objects
 * that were fine: nothing of them is applied. */
static void test_failures_apply_nothing(void)
{
	quota_engine *e = setup();
	static char text[65536];
	const char *change = change_text(); /* jlist's buffer, until the next jlist */
	size_t n = strlen(change) - 2;      /* before "]}" */
	static const char *const tails[] = {
		",{'kind':'Nope'}",
		/* an immutable field changed: found while preparing, after the rest */
		"," REG_SEATS("Allocation"),
		/* limits that add up past INT64_MAX with what the engine has */
		"," GRANT("huge", "acme", VCPU, "{'amount':9223372036854775800}"),
	};
	static const int codes[] = {QUOTA_ERR_INVALID, QUOTA_ERR_CONFLICT, QUOTA_ERR_OVERFLOW};
	static const char *const fragments[] = {"items[7].kind", "items[7]: registration",
						"items[7]: grant huge"};
	for (size_t i = 0; i < 3; i++) {
		char *copy = strndup(change, n);
		snprintf(text, sizeof text, "%s%s]}", copy, tails[i]);
		free(copy);
		JFAIL(e, text, codes[i], fragments[i]);
	}
	quota_engine_free(e);
}

/*
 * Make allocation k of the load fail, for every k until the load succeeds:
 * each failing load returns QUOTA_ERR_NOMEM and leaves the engine exactly
 * as it was, and nothing leaks.
 */
static void test_allocation_failures(void)
{
	CHECK_RC(counting_install(&cnt), QUOTA_OK);
	quota_doc *change = jd(change_text());
	long baseline = live(&cnt), failed = 0;
	quota_json_options dry;
	quota_json_options_init(&dry, sizeof dry);
	dry.flags = QUOTA_JSON_DRY_RUN;
	for (long k = 0; k < 100000; k++) {
		quota_engine *e = setup();
		if (!e) {
			check_fail_(__FILE__, __LINE__, "setup failed");
			break;
		}
		char *before = jsnap(e);
		quota_json_result *res = NULL;
		atomic_store(&cnt.fail_after, k);
		int rc = quota_json_load_doc(e, change, k % 2 ? &dry : NULL, &res);
		long failures = atomic_load(&cnt.failures);
		atomic_store(&cnt.fail_after, -1);
		atomic_store(&cnt.failures, 0);
		if (rc == QUOTA_OK && !(k % 2)) {
			check_changed(e, res);
			quota_free(res);
			quota_engine_free(e);
			free(before);
			break;
		}
		if (rc != QUOTA_OK && (rc != QUOTA_ERR_NOMEM || failures == 0))
			check_fail_(__FILE__, __LINE__, "allocation %ld failing: %s (%s)", k,
				    quota_strerror(rc), quota_last_error());
		if (rc == QUOTA_ERR_NOMEM && res)
			check_fail_(__FILE__, __LINE__, "allocation %ld failing: a result", k);
		quota_free(res);
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
		failed += rc == QUOTA_ERR_NOMEM;
	}
	printf("   %ld loads failed for want of memory, each changing nothing\n", failed);
	CHECK(failed > 30);
	quota_doc_unref(change);
	CHECK_EQ_INT(live(&cnt), 0);
	CHECK_RC(quota_set_allocator(NULL), QUOTA_OK);
}

int main(void)
{
	RUN(test_change_applies);
	RUN(test_failures_apply_nothing);
	RUN(test_allocation_failures);
	return check_exit();
}
