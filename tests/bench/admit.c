/*
 * The admit scenario: a full policy admission (Pattern 1) of a 2 KB JSON
 * trigger: parse it (quota_doc_parse_json), evaluate a claim policy with 3
 * constraints and 2 templates, acquire the claim it renders; then release
 * it, so that the bucket is back where it was. One op is that whole cycle.
 *
 * Each thread admits for its own Organization, cycling through a pool of
 * triggers that differ in name and uid (so each admission renders a new
 * claim name). Without JSON support the cases are pending.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define ADMIT_POOL 256 /* triggers per thread, a power of two */
#define TRIGGER_MAX 4096

typedef struct admit_state {
	quota_engine *e;
	char *text[2][ADMIT_POOL];
	size_t len[2][ADMIT_POOL];
	quota_ref org[2];
} admit_state;

/* A trigger like the objects Milo admits: labels, a dozen and a half
 * annotations, a spec with containers; about 2 KB. */
static char *trigger_json(int thread, unsigned i, size_t *len)
{
	char *s = bench_xcalloc(1, TRIGGER_MAX);
	int n = snprintf(
		s, TRIGGER_MAX,
		"{\"apiVersion\": \"myservice.miloapis.com/v1alpha1\", \"kind\": "
		"\"MyResource\", \"metadata\": {\"name\": \"resource-%d-%u\", \"namespace\": "
		"\"team-a\", \"uid\": \"6f1c2d3e-4b5a-4c6d-9e8f-%d%011u\", \"generation\": 1, "
		"\"creationTimestamp\": \"2025-01-01T00:00:00Z\", \"labels\": "
		"{\"app.kubernetes.io/name\": \"web\", \"app.kubernetes.io/part-of\": "
		"\"shop\", \"tier\": \"pro\", \"env\": \"production\"}, \"annotations\": {",
		thread, i, thread, i);
	for (int k = 0; k < 15; k++)
		n += snprintf(s + n, TRIGGER_MAX - (size_t)n,
			      "%s\"example.com/note-%d\": \"a note that takes some room, as "
			      "annotations do in real objects %d\"",
			      k ? ", " : "", k, k);
	n += snprintf(s + n, TRIGGER_MAX - (size_t)n,
		      "}}, \"spec\": {\"size\": \"m\", \"replicas\": 3, \"org\": \"admit-t%d\", "
		      "\"regions\": [\"eu-west\", \"us-east\"], \"containers\": [{\"name\": "
		      "\"web\", \"image\": \"registry.example.com/shop/web:1.2.3\", \"ports\": "
		      "[80, 443]}, {\"name\": \"sidecar\", \"image\": "
		      "\"registry.example.com/mesh/proxy:2.0\"}]}, \"status\": {\"phase\": "
		      "\"Pending\"}}",
		      thread);
	*len = (size_t)n;
	return s;
}

static int run_admit(void *arg, int tid, uint64_t ops)
{
	admit_state *s = arg;
	for (uint64_t i = 0; i < ops; i++) {
		unsigned k = (unsigned)i & (ADMIT_POOL - 1);
		quota_doc *d = NULL;
		quota_admission a;
		quota_admission_result *r = NULL;
		int rc = quota_doc_parse_json(s->text[tid][k], s->len[tid][k], &d);
		if (rc)
			return bench_fail_rc("quota_doc_parse_json", rc);
		quota_admission_init(&a, sizeof a);
		a.trigger = d;
		rc = quota_admit(s->e, &a, &r);
		quota_doc_unref(d);
		if (rc || r->outcome != QUOTA_ADMIT_ALLOWED || r->claim_count != 1) {
			quota_free(r);
			return bench_fail_rc("quota_admit", rc ? rc : QUOTA_ERR_INTERNAL);
		}
		rc = quota_claim_release(s->e, r->claims[0]->ns, r->claims[0]->name);
		quota_free(r);
		if (rc)
			return bench_fail_rc("quota_claim_release", rc);
	}
	return 0;
}

/* The claim policy: 3 constraints, 2 templates (namespace, consumer). */
static int apply_policy(quota_engine *e)
{
	quota_constraint c[3];
	static const char *const exprs[3] = {
		"trigger.metadata.labels.tier in ['pro', 'enterprise']",
		"trigger.spec.replicas <= 10",
		"trigger.spec.regions.all(r, r.startsWith('eu') || r.startsWith('us'))"};
	for (int i = 0; i < 3; i++) {
		quota_constraint_init(&c[i], sizeof c[i]);
		c[i].expression = exprs[i];
	}
	quota_request_template req;
	quota_request_template_init(&req, sizeof req);
	req.resource_type = BENCH_TYPE_CPU;
	req.amount = 1;
	quota_claim_template t;
	quota_claim_template_init(&t, sizeof t);
	t.generate_name = "myresource-claim-";
	t.ns = "{{trigger.metadata.namespace}}";
	t.consumer.kind = BENCH_KIND;
	t.consumer.name = "{{trigger.spec.org}}";
	t.requests = &req;
	t.request_count = 1;
	quota_claim_policy p;
	quota_claim_policy_init(&p, sizeof p);
	p.name = "bench-admission";
	p.trigger.api_version = "myservice.miloapis.com/v1alpha1";
	p.trigger.kind = "MyResource";
	p.constraints = c;
	p.constraint_count = 3;
	p.claim = &t;
	int rc = quota_claim_policy_apply(e, &p, NULL);
	return rc ? bench_fail_rc("quota_claim_policy_apply", rc) : 0;
}

int scenario_admit(void)
{
	if (!(quota_features() & QUOTA_FEATURE_JSON)) {
		for (int t = 1; t <= 2; t++)
			bench_pending("admit", "json-2KB-3c-2t", t, "built without JSON (cJSON)");
		return 0;
	}
	admit_state s = {.e = bench_engine(bench_o.stripes)};
	int rc = apply_policy(s.e);
	for (int t = 0; t < 2; t++) {
		char name[32];
		snprintf(name, sizeof name, "admit-t%d", t);
		s.org[t] = (quota_ref){.kind = BENCH_KIND, .name = bench_xstrdup(name)};
		for (unsigned i = 0; i < ADMIT_POOL; i++)
			s.text[t][i] = trigger_json(t, i, &s.len[t][i]);
	}
	for (int t = 1; t <= 2 && !rc; t++) {
		bench_case c = {"admit",
				"json-2KB-3c-2t",
				"parse+admit+release",
				t,
				bench_o.stripes ? bench_o.stripes : 64,
				100000,
				run_admit,
				&s};
		rc = bench_measure(&c);
	}
	for (int t = 0; t < 2; t++) {
		if (!rc)
			rc = bench_bucket_idle(s.e, &s.org[t], BENCH_TYPE_CPU);
		free((char *)s.org[t].name);
		for (unsigned i = 0; i < ADMIT_POOL; i++)
			free(s.text[t][i]);
	}
	quota_engine_free(s.e);
	return rc;
}
