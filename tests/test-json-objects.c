/*
 * json.h, loading: every kind in (Milo and the older shapes), one object,
 * arrays and Lists, references inside one input, quantities of the older
 * shapes, the claims handed back, dry runs and options, JSON text (or
 * QUOTA_ERR_UNSUPPORTED without cJSON).
 *
 * SPDX-License-Identifier: MIT
 */
#include <quota/quota.h>

#include "check.h"
#include "json-util.h"

static struct test_clock clk;

/* A registration of vCPUs held in millicores by Organizations, with every
 * field Milo has and the extensions. */
#define REG_VCPU                                                                                   \
	"{" API ",'kind':'ResourceRegistration','metadata':{'name':'vcpus'},"                      \
	"'spec':{'resourceType':'" VCPU "',"                                                       \
	"'consumerType':{'apiGroup':'resourcemanager.miloapis.com','kind':'Organization'},"        \
	"'type':'Allocation','description':'vCPUs of instances','baseUnit':'millicores',"          \
	"'displayUnit':'cores','unitConversionFactor':1000,"                                       \
	"'claimingResources':[{'apiGroup':'compute.example.com','kind':'Instance'}],"              \
	"'defaultLimit':2000,'allowedDimensions':['region','tier'],'enforcement':'Enforce',"       \
	"'violationAction':'Queue'}}"

#define GRANT_ACME                                                                                 \
	"{" API ",'kind':'ResourceGrant','metadata':{'name':'acme-compute','namespace':'ops'},"    \
	"'spec':{'consumerRef':{'apiGroup':'resourcemanager.miloapis.com','kind':'Organization',"  \
	"'name':'acme'},'allowances':[{'resourceType':'" VCPU "','buckets':["                      \
	"{'amount':16000},{'amount':4000,'selector':{'matchLabels':{'region':'us'},"               \
	"'matchExpressions':[{'key':'tier','operator':'In','values':['gold','silver']}]}}]}]}}"

#define CLAIM_WEB                                                                                  \
	"{" API ",'kind':'ResourceClaim','metadata':{'name':'web-1','namespace':'ops'},"           \
	"'spec':{'consumerRef':{'kind':'Organization','name':'acme'},"                             \
	"'resourceRef':{'apiGroup':'compute.example.com','kind':'Instance','name':'web-1',"        \
	"'namespace':'ops'},'requests':[{'resourceType':'" VCPU "','amount':3000,"                 \
	"'dimensions':{'region':'us','tier':'gold'}}],'ttl':'30s','queue':true,"                   \
	"'autoCommit':true,'queueTimeout':'5m'}}"

static const quota_ref acme = {"resourcemanager.miloapis.com", "Organization", NULL, "acme"};

static void test_milo_objects(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	quota_json_result *res = NULL;
	CHECK_RC(jload(e, jlist(REG_VCPU, GRANT_ACME, CLAIM_WEB, NULL), &res), QUOTA_OK);
	CHECK(res != NULL);
	if (!res)
		goto out;
	CHECK_EQ_INT(res->size, sizeof *res);
	CHECK_EQ_INT(res->registration_count, 1);
	CHECK_EQ_INT(res->grant_count, 1);
	CHECK_EQ_INT(res->claim_count, 1);

	quota_registration *r = NULL;
	CHECK_RC(quota_registration_get(e, VCPU, &r), QUOTA_OK);
	if (r) {
		CHECK_STR_EQ(r->consumer_type.api_group, "resourcemanager.miloapis.com");
		CHECK_STR_EQ(r->consumer_type.kind, "Organization");
		CHECK_EQ_INT(r->resource_class, QUOTA_RESOURCE_ALLOCATION);
		CHECK_STR_EQ(r->description, "vCPUs of instances");
		CHECK_STR_EQ(r->base_unit, "millicores");
		CHECK_STR_EQ(r->display_unit, "cores");
		CHECK_EQ_INT(r->unit_conversion_factor, 1000);
		CHECK_EQ_INT(r->claiming_resource_count, 1);
		CHECK_STR_EQ(r->claiming_resources[0].kind, "Instance");
		CHECK_STR_EQ(r->claiming_resources[0].api_group, "compute.example.com");
		CHECK_EQ_INT(r->default_limit, 2000);
		CHECK_EQ_INT(r->allowed_dimension_count, 2);
		CHECK_STR_EQ(r->allowed_dimensions[1], "tier");
		CHECK_EQ_INT(r->enforcement, QUOTA_ENFORCE);
		CHECK_EQ_INT(r->violation_action, QUOTA_ACTION_QUEUE);
		CHECK_EQ_INT(r->generation, 1);
		quota_free(r);
	}

	quota_grant *g = NULL;
	CHECK_RC(quota_grant_get(e, "ops", "acme-compute", &g), QUOTA_OK);
	if (g) {
		CHECK_STR_EQ(g->consumer.kind, "Organization");
		CHECK_STR_EQ(g->consumer.name, "acme");
		CHECK_EQ_INT(g->allowance_count, 1);
		CHECK_EQ_INT(g->allowances[0].bucket_count, 2);
		const quota_grant_bucket *b = &g->allowances[0].buckets[1];
		CHECK_EQ_INT(b->amount, 4000);
		CHECK_EQ_INT(b->match_label_count, 1);
		CHECK_STR_EQ(b->match_labels[0].value, "us");
		CHECK_EQ_INT(b->match_expression_count, 1);
		CHECK_EQ_INT(b->match_expressions[0].op, QUOTA_SELECTOR_IN);
		CHECK_EQ_INT(b->match_expressions[0].value_count, 2);
		quota_free(g);
	}
	CHECK_BUCKET(e, &acme, VCPU, 16000, 0, 0, 16000);

	/* The claim comes back ready to use, every field from the spec. */
	const quota_claim *c = &res->claims[0];
	CHECK_STR_EQ(res->claim_paths[0], "items[2]");
	CHECK_EQ_INT(c->size, sizeof *c);
	CHECK_STR_EQ(c->ns, "ops");
	CHECK_STR_EQ(c->name, "web-1");
	CHECK_STR_EQ(c->consumer.kind, "Organization");
	CHECK_STR_EQ(c->resource.kind, "Instance");
	CHECK_STR_EQ(c->resource.ns, "ops");
	CHECK_EQ_INT(c->request_count, 1);
	CHECK_EQ_INT(c->requests[0].amount, 3000);
	CHECK_EQ_INT(c->requests[0].dimension_count, 2);
	CHECK_STR_EQ(c->requests[0].dimensions[1].key, "tier");
	CHECK_EQ_INT(c->ttl_ms, 30000);
	CHECK_EQ_INT(c->queue_timeout_ms, 300000);
	CHECK_EQ_INT(c->flags, QUOTA_CLAIM_QUEUE | QUOTA_CLAIM_AUTO_COMMIT);
	/* Loading decided nothing about it. */
	CHECK_RC(test_claim_state(e, "ops", "web-1"), QUOTA_ERR_NOT_FOUND);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_acquire(e, c, &a), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ops", "web-1"), QUOTA_CLAIM_GRANTED);
	CHECK_BUCKET(e, &acme, VCPU, 16000, 3000, 0, 13000);
	quota_free(res);

	/* Loading the same again changes nothing (no generation bump). */
	CHECK_RC(jload(e, jlist(REG_VCPU, GRANT_ACME, NULL), NULL), QUOTA_OK);
	CHECK_RC(quota_registration_get(e, VCPU, &r), QUOTA_OK);
	CHECK_EQ_INT(r ? r->generation : 0, 1);
	quota_free(r);
out:
	quota_engine_free(e);
}

static void test_one_object_and_arrays(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	quota_json_result *res = NULL;
	/* one object on its own */
	CHECK_RC(jload(e, REG_VCPU, &res), QUOTA_OK);
	CHECK(res && res->registration_count == 1 && res->claim_count == 0 && !res->claims);
	quota_free(res);
	/* a plain array */
	char arr[8192];
	snprintf(arr, sizeof arr, "[%s,%s]", GRANT_ACME, CLAIM_WEB);
	CHECK_RC(jload(e, arr, &res), QUOTA_OK);
	CHECK(res && res->grant_count == 1 && res->claim_count == 1);
	if (res)
		CHECK_STR_EQ(res->claim_paths[0], "[1]");
	quota_free(res);
	/* a single claim: its path is "" */
	CHECK_RC(jload(e, CLAIM_WEB, &res), QUOTA_OK);
	if (res)
		CHECK_STR_EQ(res->claim_paths[0], "");
	quota_free(res);
	/* typed Lists as kubectl writes them, and an empty List */
	CHECK_RC(jload(e,
		       "{'apiVersion':'quota.miloapis.com/v1alpha1','kind':'ResourceGrantList',"
		       "'metadata':{},'items':[" GRANT_ACME "]}",
		       &res),
		 QUOTA_OK);
	CHECK(res && res->grant_count == 1);
	quota_free(res);
	CHECK_RC(jload(e, "{'kind':'List','items':[]}", &res), QUOTA_OK);
	CHECK(res && res->registration_count + res->grant_count + res->claim_count == 0);
	quota_free(res);
	CHECK_RC(jload(e, "[]", NULL), QUOTA_OK);
	/* status and output-only kinds are skipped */
	CHECK_RC(jload(e,
		       "{" API ",'kind':'AllowanceBucket','metadata':{'name':'x'},"
		       "'spec':{},'status':{'limit':5}}",
		       NULL),
		 QUOTA_OK);
	quota_engine_free(e);
}

/* A rate type: periods, bursts, windows, actions. */
static void test_rate_grant(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	const char *reg = "{" API ",'kind':'ResourceRegistration','metadata':{'name':'reqs'},"
			  "'spec':{'resourceType':'" REQS "','consumerType':{'kind':'Model'},"
			  "'type':'Rate','defaultLimit':-1,'violationAction':'Throttle'}}";
	const char *grant =
		"{" API ",'kind':'ResourceGrant','metadata':{'name':'chat'},"
		"'spec':{'consumerRef':{'kind':'Model','name':'chat'},'allowances':[{"
		"'resourceType':'" REQS "','buckets':["
		"{'amount':100,'period':'second','burst':200},"
		"{'amount':5,'period':'250ms','violationAction':'Warn'},"
		"{'amount':9000,'period':'1h30m','window':'Calendar'},"
		"{'amount':1000000,'period':'day','window':'Rolling','violationAction':'Queue'},"
		"{'amount':7,'period':'1.5s'}]}]}}";
	CHECK_RC(jload(e, jlist(reg, grant, NULL), NULL), QUOTA_OK);
	quota_registration *r = NULL;
	CHECK_RC(quota_registration_get(e, REQS, &r), QUOTA_OK);
	if (r) {
		CHECK_EQ_INT(r->resource_class, QUOTA_RESOURCE_RATE);
		CHECK_EQ_INT(r->default_limit, -1);
		CHECK_EQ_INT(r->violation_action, QUOTA_ACTION_THROTTLE);
	}
	quota_free(r);
	quota_grant *g = NULL;
	CHECK_RC(quota_grant_get(e, NULL, "chat", &g), QUOTA_OK);
	if (g) {
		const quota_grant_bucket *b = g->allowances[0].buckets;
		CHECK_EQ_INT(b[0].period_ms, 1000);
		CHECK_EQ_INT(b[0].burst, 200);
		CHECK_EQ_INT(b[0].window, QUOTA_WINDOW_ROLLING);
		CHECK_EQ_INT(b[1].period_ms, 250);
		CHECK_EQ_INT(b[1].violation_action, QUOTA_ACTION_WARN);
		CHECK_EQ_INT(b[2].period_ms, 5400000);
		CHECK_EQ_INT(b[2].window, QUOTA_WINDOW_CALENDAR);
		CHECK_EQ_INT(b[3].period_ms, 86400000);
		CHECK_EQ_INT(b[3].violation_action, QUOTA_ACTION_QUEUE);
		CHECK_EQ_INT(b[4].period_ms, 1500);
	}
	quota_free(g);
	/* and it limits */
	quota_ref chat = {NULL, "Model", NULL, "chat"};
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_rate_take(e, &chat, REQS, 5, &a), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &chat, REQS, 7, &a), QUOTA_ERR_RATE_LIMITED);
	quota_engine_free(e);
}

/* The older design's objects, written as it writes them. */
#define OLD_REG_CPU                                                                                \
	"{'apiGroup':'quota.miloapis.com','kind':'ServiceQuotaRegistration',"                      \
	"'metadata':{'name':'instances-cpu'},'spec':{'serviceRef':{'apiGroup':"                    \
	"'compute.datumapis.com','kind':'Service','name':'compute.datumapis.com','uid':'u-1'},"    \
	"'resourceName':'compute.datumapis.com/instances/cpu',"                                    \
	"'description':'Number of CPU cores allocated to instances.',"                             \
	"'defaultLimit':{'value':'1000'},'unit':'millicores','unitConversionFactor':1000,"         \
	"'allowedDimensions':['compute.datumapis.com/location',"                                   \
	"'compute.datumapis.com/instanceType']},"                                                  \
	"'Status':{'observedGeneration':1,'conditions':[]}}"
#define OLD_REG_MEM                                                                                \
	"{'apiGroup':'quota.miloapis.com','kind':'ServiceQuotaRegistration',"                      \
	"'metadata':{'name':'instances-memory'},'spec':{"                                          \
	"'resourceName':'compute.datumapis.com/instances/memoryAllocated','unit':'bytes',"         \
	"'defaultLimit':{'value':'4Gi'},'allowedDimensions':['compute.datumapis.com/location']}}"
#define OLD_GRANT                                                                                  \
	"{'apiGroup':'quota.miloapis.com','kind':'ResourceQuotaGrant','metadata':{'name':"         \
	"'proj-abc','uid':'u-2'},'spec':{'resourceRef':{'apiGroup':'compute.datumapis.com',"       \
	"'kind':'Project','name':'proj-abc','uid':'u-3'},'limits':["                               \
	"{'name':'compute.datumapis.com/instances/cpu','dimensionLabels':"                         \
	"['resources.datumapis.com/project','compute.datumapis.com/location'],'buckets':["         \
	"{'value':'1.5k','selector':{}},"                                                          \
	"{'value':'300','selector':{'matchExpressions':[{'key':"                                   \
	"'compute.datumapis.com/location','operator':'In','values':['dfw','lhr','dls']}]}},"       \
	"{'value':'40500m','selector':{'matchLabels':{'compute.datumapis.com/location':'dfw',"     \
	"'compute.datumapis.com/instanceType':'d1-standard-2'}}}]},"                               \
	"{'name':'compute.datumapis.com/instances/memoryAllocated','buckets':["                    \
	"{'value':'4096Gi','selector':{}},{'value':-1,'selector':{'matchExpressions':[{'key':"     \
	"'compute.datumapis.com/location','operator':'Exists'}]}}]}]}}"
#define OLD_CLAIM                                                                                  \
	"{'apiGroup':'quota.miloapis.com','kind':'ResourceQuotaClaim','metadata':{'name':"         \
	"'instance-abc123-claim','namespace':'proj-abc','uid':'u-4','finalizers':"                 \
	"['quota.miloapis.com/usage-release']},'spec':{'resourceRef':{'apiGroup':"                 \
	"'compute.datumapis.com','kind':'Instance','name':'instance-abc123','uid':'u-5'},"         \
	"'resources':[{'name':'compute.datumapis.com/instances/cpu','quantity':'8'},"              \
	"{'name':'compute.datumapis.com/instances/memoryAllocated','quantity':'32GiB',"            \
	"'dimensions':{'compute.datumapis.com/location':'dfw'}}]},"                                \
	"'Status':{'phase':'Pending'}}"

static void test_older_shapes(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	quota_json_result *res = NULL;
	const char *cpu = "compute.datumapis.com/instances/cpu";
	const char *mem = "compute.datumapis.com/instances/memoryAllocated";
	/* the registration is loaded after the objects that name it: order
	 * within one input does not matter */
	CHECK_RC(jload(e, jlist(OLD_CLAIM, OLD_GRANT, OLD_REG_CPU, OLD_REG_MEM, NULL), &res),
		 QUOTA_OK);
	quota_registration *r = NULL;
	CHECK_RC(quota_registration_get(e, cpu, &r), QUOTA_OK);
	if (r) {
		/* the older shape names no consumer type: the option's default */
		CHECK_STR_EQ(r->consumer_type.kind, "Project");
		CHECK_STR_EQ(r->consumer_type.api_group, "");
		CHECK_EQ_INT(r->resource_class, QUOTA_RESOURCE_ALLOCATION);
		CHECK_STR_EQ(r->base_unit, "millicores");
		CHECK_EQ_INT(r->default_limit, 1000000); /* 1000 cores in millicores */
		CHECK_EQ_INT(r->allowed_dimension_count, 2);
	}
	quota_free(r);
	CHECK_RC(quota_registration_get(e, mem, &r), QUOTA_OK);
	CHECK_EQ_INT(r ? r->default_limit : 0, INT64_C(4294967296));
	quota_free(r);

	quota_grant *g = NULL;
	CHECK_RC(quota_grant_get(e, NULL, "proj-abc", &g), QUOTA_OK);
	if (g) {
		CHECK_STR_EQ(g->consumer.kind, "Project");
		CHECK_STR_EQ(g->consumer.name, "proj-abc");
		CHECK_EQ_INT(g->allowance_count, 2);
		const quota_grant_bucket *b = g->allowances[0].buckets;
		CHECK_EQ_INT(b[0].amount, 1500000);
		CHECK_EQ_INT(b[0].match_label_count + b[0].match_expression_count, 0);
		CHECK_EQ_INT(b[1].amount, 300000);
		CHECK_EQ_INT(b[1].match_expressions[0].value_count, 3);
		CHECK_EQ_INT(b[2].amount, 40500); /* 40.5 cores */
		CHECK_EQ_INT(b[2].match_label_count, 2);
		b = g->allowances[1].buckets;
		CHECK_EQ_INT(b[0].amount, INT64_C(4398046511104));
		CHECK_EQ_INT(b[1].amount, QUOTA_UNLIMITED);
		CHECK_EQ_INT(b[1].match_expressions[0].op, QUOTA_SELECTOR_EXISTS);
	}
	quota_free(g);

	/* the claim: its namespace names the Project it charges */
	CHECK(res && res->claim_count == 1);
	if (res && res->claim_count == 1) {
		const quota_claim *c = &res->claims[0];
		CHECK_STR_EQ(c->consumer.kind, "Project");
		CHECK_STR_EQ(c->consumer.name, "proj-abc");
		CHECK_STR_EQ(c->consumer.ns, "");
		CHECK_STR_EQ(c->resource.kind, "Instance");
		CHECK_EQ_INT(c->requests[0].amount, 8000);
		CHECK_EQ_INT(c->requests[1].amount, INT64_C(34359738368));
		CHECK_EQ_INT(c->requests[1].dimension_count, 1);
		CHECK_RC(quota_claim_acquire(e, c, NULL), QUOTA_OK);
		quota_ref proj = {NULL, "Project", NULL, "proj-abc"};
		CHECK_BUCKET(e, &proj, cpu, 1500000, 8000, 0, 1492000);
	}
	quota_free(res);
	quota_engine_free(e);
}

/* Quantities of the older shapes round so that nobody gets more than the
 * text says: what is charged up, what is granted down. */
static void test_legacy_rounding(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	quota_json_result *res = NULL;
	const char *reg = "{'apiGroup':'quota.miloapis.com','kind':'ServiceQuotaRegistration',"
			  "'spec':{'resourceName':'disk','unit':'GB'}}";
	const char *grant = "{'apiGroup':'quota.miloapis.com','kind':'ResourceQuotaGrant',"
			    "'metadata':{'name':'g'},'spec':{'resourceRef':{'kind':'Project',"
			    "'name':'p'},'limits':[{'name':'disk','buckets':[{'value':'2.9'},"
			    "{'value':7}]}]}}";
	const char *claim = "{'apiVersion':'quota.miloapis.com/v1alpha1','kind':"
			    "'ResourceQuotaClaim','metadata':{'name':'c','namespace':'p'},"
			    "'spec':{'resourceRef':{'kind':'Disk','name':'d'},'resources':[{"
			    "'name':'disk','quantity':'1.1'}]}}";
	CHECK_RC(jload(e, jlist(reg, grant, claim, NULL), &res), QUOTA_OK);
	quota_ref p = {NULL, "Project", NULL, "p"};
	CHECK_BUCKET(e, &p, "disk", 9, 0, 0, 9);                      /* 2.9 -> 2, plus 7 */
	CHECK_EQ_INT(res ? res->claims[0].requests[0].amount : 0, 2); /* 1.1 -> 2 */
	quota_free(res);
	/* a positive limit that rounds to nothing is a mistake, not a 0 */
	JFAIL(e,
	      jlist(grant,
		    "{'apiGroup':'quota.miloapis.com','kind':'ResourceQuotaGrant',"
		    "'metadata':{'name':'h'},'spec':{'resourceRef':{'kind':'Project',"
		    "'name':'p'},'limits':[{'name':'disk','buckets':[{'value':'500m'}]}]}}",
		    NULL),
	      QUOTA_ERR_INVALID,
	      "items[1].spec.limits[0].buckets[0].value: \"500m\" rounds down to 0");
	/* 0 itself is fine; a request of 0 is not */
	CHECK_RC(jload(e,
		       "{'apiGroup':'quota.miloapis.com','kind':'ResourceQuotaGrant',"
		       "'metadata':{'name':'z'},'spec':{'resourceRef':{'kind':'Project',"
		       "'name':'p'},'limits':[{'name':'disk','buckets':[{'value':'0'}]}]}}",
		       NULL),
		 QUOTA_OK);
	JFAIL(e,
	      "{'apiGroup':'quota.miloapis.com','kind':'ResourceQuotaClaim','metadata':{'name':"
	      "'c','namespace':'p'},'spec':{'resourceRef':{'kind':'Disk','name':'d'},"
	      "'resources':[{'name':'disk','quantity':'0'}]}}",
	      QUOTA_ERR_INVALID, "spec.resources[0].quantity: must be > 0");
	JFAIL(e,
	      "{'apiGroup':'quota.miloapis.com','kind':'ResourceQuotaClaim','metadata':{'name':"
	      "'c','namespace':'p'},'spec':{'resourceRef':{'kind':'Disk','name':'d'},"
	      "'resources':[{'name':'disk','quantity':'-1'}]}}",
	      QUOTA_ERR_INVALID, "spec.resources[0].quantity: must be >= 0, got -1");
	JFAIL(e,
	      "{'apiGroup':'quota.miloapis.com','kind':'ResourceQuotaClaim','metadata':{'name':"
	      "'c','namespace':'p'},'spec':{'resourceRef':{'kind':'Disk','name':'d'},"
	      "'resources':[{'name':'disk','quantity':'12x'}]}}",
	      QUOTA_ERR_PARSE, "spec.resources[0].quantity: quantity \"12x\": unknown suffix");
	JFAIL(e,
	      "{'apiGroup':'quota.miloapis.com','kind':'ResourceQuotaClaim','metadata':{'name':"
	      "'c','namespace':'p'},'spec':{'resourceRef':{'kind':'Disk','name':'d'},"
	      "'resources':[{'name':'disk','quantity':'10E'}]}}",
	      QUOTA_ERR_OVERFLOW, "spec.resources[0].quantity: quantity \"10E\": out of the int64");
	JFAIL(e,
	      "{'apiGroup':'quota.miloapis.com','kind':'ResourceQuotaClaim','metadata':{'name':"
	      "'c','namespace':'p'},'spec':{'resourceRef':{'kind':'Disk','name':'d'},"
	      "'resources':[{'name':'disk','quantity':1.5}]}}",
	      QUOTA_ERR_INVALID, "quantity: must be a quantity");
	/* without a namespace or consumerRef there is no consumer */
	JFAIL(e,
	      "{'apiGroup':'quota.miloapis.com','kind':'ResourceQuotaClaim','metadata':{'name':"
	      "'c'},'spec':{'resourceRef':{'kind':'Disk','name':'d'},"
	      "'resources':[{'name':'disk','quantity':'1'}]}}",
	      QUOTA_ERR_INVALID, "spec.consumerRef: required when metadata.namespace");
	/* a consumerRef names it explicitly */
	CHECK_RC(jload(e,
		       "{'apiGroup':'quota.miloapis.com','kind':'ResourceQuotaClaim','metadata':"
		       "{'name':'c'},'spec':{'consumerRef':{'kind':'Project','name':'p'},"
		       "'resourceRef':{'kind':'Disk','name':'d'},'resources':[{'name':'disk',"
		       "'quantity':'1'}]}}",
		       NULL),
		 QUOTA_OK);
	quota_engine_free(e);
}

static void test_legacy_consumer_option(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	quota_json_options o;
	quota_json_result *res = NULL;
	CHECK_RC(quota_json_options_init(&o, sizeof o), QUOTA_OK);
	CHECK_STR_EQ(o.legacy_consumer_type.kind, "Project");
	o.legacy_consumer_type.kind = "Workspace";
	o.legacy_consumer_type.api_group = "example.com";
	CHECK_RC(jload_opts(e,
			    jlist("{'apiGroup':'quota.miloapis.com','kind':"
				  "'ServiceQuotaRegistration','spec':{'resourceName':'seats'}}",
				  "{'apiGroup':'quota.miloapis.com','kind':'ResourceQuotaClaim',"
				  "'metadata':{'name':'c','namespace':'w1'},'spec':{'resourceRef':"
				  "{'kind':'Seat','name':'s'},'resources':[{'name':'seats',"
				  "'quantity':2}]}}",
				  NULL),
			    &o, &res),
		 QUOTA_OK);
	quota_registration *r = NULL;
	CHECK_RC(quota_registration_get(e, "seats", &r), QUOTA_OK);
	CHECK_STR_EQ(r ? r->consumer_type.kind : NULL, "Workspace");
	quota_free(r);
	if (res) {
		CHECK_STR_EQ(res->claims[0].consumer.kind, "Workspace");
		CHECK_STR_EQ(res->claims[0].consumer.api_group, "example.com");
		CHECK_STR_EQ(res->claims[0].consumer.name, "w1");
	}
	quota_free(res);
	/* bad options */
	o.legacy_consumer_type.kind = "not a kind";
	CHECK_RC(jload_opts(e, "[]", &o, NULL), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("legacy_consumer_type.kind");
	quota_json_options_init(&o, sizeof o);
	o.flags = 1u << 7;
	CHECK_RC(jload_opts(e, "[]", &o, NULL), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("flags");
	quota_json_options_init(&o, sizeof o);
	o.max_depth = QUOTA_DOC_MAX_DEPTH + 1;
	CHECK_RC(jload_opts(e, "[]", &o, NULL), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("max_depth");
	o.size = 4;
	CHECK_RC(jload_opts(e, "[]", &o, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_json_options_init(NULL, sizeof o), QUOTA_ERR_INVALID);
	CHECK_RC(quota_json_options_init(&o, 3), QUOTA_ERR_INVALID);
	quota_engine_free(e);
}

/* A grant may name a type the same input registers, anywhere in it, or one
 * the engine has; claims too. */
static void test_references(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	CHECK_RC(jload(e, jlist(CLAIM_WEB, GRANT_ACME, REG_VCPU, NULL), NULL), QUOTA_OK);
	const char *grant2 = "{" API ",'kind':'ResourceGrant','metadata':{'name':'more'},"
			     "'spec':{'consumerRef':{'kind':'Organization','name':'acme'},"
			     "'allowances':[{'resourceType':'" VCPU
			     "','buckets':[{'amount':1}]}]}}";
	CHECK_RC(jload(e, grant2, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPU, 16001, 0, 0, 16001);
	/* a grant naming an ancestor kind of the registration's */
	quota_ref web = {NULL, "Organization", NULL, "acme"}, team = {NULL, "Team", NULL, "t1"};
	CHECK_RC(quota_consumer_set_parent(e, &web, &team), QUOTA_OK);
	const char *team_grant = "{" API ",'kind':'ResourceGrant','metadata':{'name':'team'},"
				 "'spec':{'consumerRef':{'kind':'Team','name':'t1'},'allowances':[{"
				 "'resourceType':'" VCPU "','buckets':[{'amount':5}]}]}}";
	CHECK_RC(jload(e, team_grant, NULL), QUOTA_OK);
	CHECK_BUCKET(e, &team, VCPU, 5, 0, 0, 5);
	quota_engine_free(e);
}

/* One input with several grants on the same buckets gives the limits that
 * applying them one by one gives. */
static void test_batch_equals_sequence(void)
{
	const char *g1 = "{" API ",'kind':'ResourceGrant','metadata':{'name':'g1'},'spec':{"
			 "'consumerRef':{'kind':'Organization','name':'acme'},'allowances':[{"
			 "'resourceType':'" VCPU "','buckets':[{'amount':10},{'amount':3,"
			 "'selector':{'matchLabels':{'region':'eu'}}}]}]}}";
	const char *g1b = "{" API ",'kind':'ResourceGrant','metadata':{'name':'g1'},'spec':{"
			  "'consumerRef':{'kind':'Organization','name':'acme'},'allowances':[{"
			  "'resourceType':'" VCPU "','buckets':[{'amount':20},{'amount':4,"
			  "'selector':{'matchLabels':{'region':'us'}}}]}]}}";
	const char *g2 = "{" API ",'kind':'ResourceGrant','metadata':{'name':'g2'},'spec':{"
			 "'consumerRef':{'kind':'Organization','name':'acme'},'allowances':[{"
			 "'resourceType':'" VCPU "','buckets':[{'amount':5},{'amount':6,"
			 "'selector':{'matchLabels':{'region':'us'}}}]}]}}";
	const char *g3 = "{" API ",'kind':'ResourceGrant','metadata':{'name':'g3'},'spec':{"
			 "'consumerRef':{'kind':'Organization','name':'beta'},'allowances':[{"
			 "'resourceType':'" VCPU "','buckets':[{'amount':-1}]}]}}";
	quota_engine *a = test_engine(&clk, 60000), *b = test_engine(&clk, 60000);
	/* both start with g1 (eu selector) */
	CHECK_RC(jload(a, jlist(REG_VCPU, g1, NULL), NULL), QUOTA_OK);
	CHECK_RC(jload(b, jlist(REG_VCPU, g1, NULL), NULL), QUOTA_OK);
	/* a: one input that replaces g1 (eu goes, us comes) and adds g2, g3 */
	CHECK_RC(jload(a, jlist(g2, g1b, g3, NULL), NULL), QUOTA_OK);
	/* b: the same, one at a time */
	CHECK_RC(jload(b, g2, NULL), QUOTA_OK);
	CHECK_RC(jload(b, g1b, NULL), QUOTA_OK);
	CHECK_RC(jload(b, g3, NULL), QUOTA_OK);
	/* per consumer: buckets of one consumer come base first, then selectors */
	quota_ref beta = {NULL, "Organization", NULL, "beta"};
	const quota_ref *who[] = {&acme, &beta};
	for (int i = 0; i < 2; i++) {
		quota_doc *qa = NULL, *qb = NULL;
		CHECK_RC(quota_json_quotas(a, who[i], &qa), QUOTA_OK);
		CHECK_RC(quota_json_quotas(b, who[i], &qb), QUOTA_OK);
		char *ta = jstr(qa), *tb = jstr(qb);
		CHECK_STR_EQ(ta, tb);
		if (i == 0)
			CHECK_STR_EQ(ta, "[{\"name\":\"" VCPU "\",\"limit\":25,\"usage\":0,"
					 "\"scope\":\"Organization//acme\"},{\"name\":\"" VCPU
					 "[region=us]\",\"limit\":10,\"usage\":0,\"scope\":"
					 "\"Organization//acme\"}]");
		else
			CHECK_STR_EQ(ta, "[{\"name\":\"" VCPU "\",\"limit\":-1,\"usage\":0,"
					 "\"scope\":\"Organization//beta\"}]");
		free(ta);
		free(tb);
		quota_doc_unref(qa);
		quota_doc_unref(qb);
	}
	CHECK_BUCKET(a, &acme, VCPU, 25, 0, 0, 25);
	quota_grant *g = NULL;
	CHECK_RC(quota_grant_get(a, NULL, "g1", &g), QUOTA_OK);
	CHECK_EQ_INT(g ? g->generation : 0, 2);
	quota_free(g);
	quota_engine_free(a);
	quota_engine_free(b);
}

static void test_dry_run(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	quota_json_options o;
	quota_json_result *res = NULL;
	quota_json_options_init(&o, sizeof o);
	o.flags = QUOTA_JSON_DRY_RUN;
	char *before = jsnap(e);
	CHECK_RC(jload_opts(e, jlist(REG_VCPU, GRANT_ACME, CLAIM_WEB, NULL), &o, &res), QUOTA_OK);
	CHECK(res && res->claim_count == 1 && res->grant_count == 1);
	quota_free(res);
	char *after = jsnap(e);
	CHECK_STR_EQ(before, after);
	free(before);
	free(after);
	CHECK_RC(quota_registration_get(e, VCPU, &(quota_registration *){0}), QUOTA_ERR_NOT_FOUND);
	/* a dry run still checks everything, the engine's side included */
#define HUGE(name)                                                                                 \
	"{" API ",'kind':'ResourceGrant','metadata':{'name':'" name "'},'spec':{"                  \
	"'consumerRef':{'kind':'Organization','name':'acme'},'allowances':[{"                      \
	"'resourceType':'" VCPU "','buckets':[{'amount':9223372036854775807}]}]}}"
	const char *h1 = HUGE("h1"), *h2 = HUGE("h2");
	CHECK_RC(jload_opts(e, jlist(REG_VCPU, h1, h2, NULL), &o, NULL), QUOTA_ERR_OVERFLOW);
	CHECK_ERR_CONTAINS("items[2]: grant h2: the limit of bucket Organization//acme:" VCPU
			   " would exceed INT64_MAX");
	quota_engine_free(e);
}

/* The claims handed back own their memory. */
static void test_claims_result(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	quota_json_result *res = NULL;
	const char *c2 = "{" API ",'kind':'ResourceClaim','metadata':{'name':'web-2',"
			 "'namespace':'ops'},'spec':{'consumerRef':{'kind':'Organization',"
			 "'name':'acme'},'resourceRef':{'kind':'Instance','apiGroup':"
			 "'compute.example.com','name':'web-2'},'requests':[{'resourceType':'" VCPU
			 "','amount':14000}]}}";
	quota_doc *d = jd(jlist(REG_VCPU, GRANT_ACME, CLAIM_WEB, c2, NULL));
	CHECK_RC(quota_json_load_doc(e, d, NULL, &res), QUOTA_OK);
	quota_doc_unref(d); /* the result does not point into the document */
	if (!res)
		goto out;
	CHECK_EQ_INT(res->claim_count, 2);
	CHECK_STR_EQ(res->claim_paths[1], "items[3]");
	quota_claim set[2] = {res->claims[0], res->claims[1]};
	set[0].flags = 0; /* sets do not queue */
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_set_acquire(e, set, 2, &a), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_claim_acquire(e, &res->claims[1], &a), QUOTA_OK);
	quota_free(res);
out:
	quota_engine_free(e);
}

static void test_text(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	quota_json_result *res = (quota_json_result *)&res;
	char *t = jtext(jlist(REG_VCPU, GRANT_ACME, NULL));
	if (!have_json()) {
		CHECK_RC(quota_json_load(e, t, strlen(t), NULL, &res), QUOTA_ERR_UNSUPPORTED);
		CHECK(res == NULL);
		free(t);
		quota_engine_free(e);
		return;
	}
	CHECK_RC(quota_json_load(e, t, strlen(t), NULL, &res), QUOTA_OK);
	CHECK(res && res->grant_count == 1);
	quota_free(res);
	free(t);
	CHECK_BUCKET(e, &acme, VCPU, 16000, 0, 0, 16000);
	/* malformed JSON: a parse error with its place, nothing applied */
	const char *bad = "{\"kind\": \"List\",\n \"items\": [}";
	CHECK_RC(quota_json_load(e, bad, strlen(bad), NULL, &res), QUOTA_ERR_PARSE);
	CHECK_ERR_CONTAINS("line 2");
	CHECK(res == NULL);
	/* deeper than documents go */
	char deep[300];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	deep[200] = '\0';
	CHECK_RC(quota_json_load(e, deep, 200, NULL, NULL), QUOTA_ERR_PARSE);
	CHECK_ERR_CONTAINS("nesting");
	CHECK_RC(quota_json_load(e, "", 0, NULL, NULL), QUOTA_ERR_PARSE);
	CHECK_RC(quota_json_load(NULL, "[]", 2, NULL, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_json_load(e, NULL, 2, NULL, NULL), QUOTA_ERR_INVALID);
	quota_engine_free(e);
}

static void test_arguments(void)
{
	quota_engine *e = test_engine(&clk, 60000);
	quota_doc *d = jd("[]");
	quota_json_result *res = (quota_json_result *)&res;
	CHECK_RC(quota_json_load_doc(NULL, d, NULL, &res), QUOTA_ERR_INVALID);
	CHECK(res == NULL);
	CHECK_RC(quota_json_load_doc(e, NULL, NULL, NULL), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("document");
	quota_doc_unref(d);
	quota_engine_free(e);
}

int main(void)
{
	RUN(test_milo_objects);
	RUN(test_one_object_and_arrays);
	RUN(test_rate_grant);
	RUN(test_older_shapes);
	RUN(test_legacy_rounding);
	RUN(test_legacy_consumer_option);
	RUN(test_references);
	RUN(test_batch_equals_sequence);
	RUN(test_dry_run);
	RUN(test_claims_result);
	RUN(test_text);
	RUN(test_arguments);
	return check_exit();
}
