/*
 * What the policy tests share: claim and grant policies built in place
 * (each fixture points into itself: do not copy one), the Milo reference
 * registrations, and trigger documents.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_TESTS_POLICY_UTIL_H
#define QUOTA_TESTS_POLICY_UTIL_H

#include <quota/quota.h>

#include "check.h"
#include "doc-util.h"

/* The types of the reference examples (milo-quota-capability.md). */
#define RESOURCES "myservice.miloapis.com/resources"
#define PROJECTS "resourcemanager.miloapis.com/projects"
#define MILO_GROUP "resourcemanager.miloapis.com"
#define MILO_V1 "resourcemanager.miloapis.com/v1alpha1"
#define SVC_V1 "myservice.miloapis.com/v1alpha1"

struct claim_pol {
	quota_claim_policy p;
	quota_claim_template t;
	quota_constraint c[QUOTA_MAX_CONSTRAINTS + 2];
	quota_request_template r[QUOTA_MAX_REQUESTS + 2];
};

/* An enabled claim policy for (api_version, kind) with a template whose
 * name and requests are still to be set. */
static inline void claim_pol_init(struct claim_pol *x, const char *name, const char *api_version,
				  const char *kind)
{
	memset(x, 0, sizeof *x);
	quota_claim_policy_init(&x->p, sizeof x->p);
	quota_claim_template_init(&x->t, sizeof x->t);
	x->p.name = name;
	x->p.trigger.api_version = api_version;
	x->p.trigger.kind = kind;
	x->p.constraints = x->c;
	x->p.claim = &x->t;
	x->t.requests = x->r;
}

static inline void claim_pol_constraint(struct claim_pol *x, const char *expression,
					const char *message)
{
	quota_constraint *c = &x->c[x->p.constraint_count++];
	quota_constraint_init(c, sizeof *c);
	c->expression = expression;
	c->message = message;
}

static inline quota_request_template *claim_pol_request(struct claim_pol *x, const char *type,
							int64_t amount)
{
	quota_request_template *r = &x->r[x->t.request_count++];
	quota_request_template_init(r, sizeof *r);
	r->resource_type = type;
	r->amount = amount;
	return r;
}

/*
 * The reference Pattern 1 policy: MyResource objects claim one
 * myservice.miloapis.com/resources each, from the Organization the user
 * acts for (libquota needs the consumer named; Milo finds it from the
 * request's parent context).
 */
static inline void claim_pol_reference(struct claim_pol *x)
{
	claim_pol_init(x, "myservice-resource-quota", SVC_V1, "MyResource");
	x->t.generate_name = "myresource-claim-";
	x->t.ns = "{{trigger.metadata.namespace}}";
	x->t.consumer.api_group = MILO_GROUP;
	x->t.consumer.kind = "Organization";
	x->t.consumer.name = "{{user.extra['iam.miloapis.com/parent-name'][0]}}";
	claim_pol_request(x, RESOURCES, 1);
}

struct grant_pol {
	quota_grant_policy p;
	quota_grant_template t;
	quota_constraint c[QUOTA_MAX_CONSTRAINTS + 2];
	quota_allowance a[4];
	quota_grant_bucket b[4];
};

/* An enabled grant policy for (api_version, kind) giving amount of type. */
static inline void grant_pol_init(struct grant_pol *x, const char *name, const char *api_version,
				  const char *kind, const char *type, int64_t amount)
{
	memset(x, 0, sizeof *x);
	quota_grant_policy_init(&x->p, sizeof x->p);
	quota_grant_template_init(&x->t, sizeof x->t);
	x->p.name = name;
	x->p.trigger.api_version = api_version;
	x->p.trigger.kind = kind;
	x->p.constraints = x->c;
	x->p.grant = &x->t;
	quota_allowance_init(&x->a[0], sizeof x->a[0]);
	quota_grant_bucket_init(&x->b[0], sizeof x->b[0]);
	x->b[0].amount = amount;
	x->a[0].resource_type = type;
	x->a[0].buckets = x->b;
	x->a[0].bucket_count = 1;
	x->t.allowances = x->a;
	x->t.allowance_count = 1;
}

static inline void grant_pol_constraint(struct grant_pol *x, const char *expression,
					const char *message)
{
	quota_constraint *c = &x->c[x->p.constraint_count++];
	quota_constraint_init(c, sizeof *c);
	c->expression = expression;
	c->message = message;
}

/*
 * The reference GrantCreationPolicy: every Organization gets 100
 * myservice.miloapis.com/resources, in a grant named after it.
 */
static inline void grant_pol_reference(struct grant_pol *x)
{
	grant_pol_init(x, "myservice-default-grant", MILO_V1, "Organization", RESOURCES, 100);
	x->t.name = "{{trigger.metadata.name}}-myservice-quota";
	x->t.ns = "{{trigger.metadata.namespace}}";
	x->t.consumer.api_group = MILO_GROUP;
	x->t.consumer.kind = "Organization";
	x->t.consumer.name = "{{trigger.metadata.name}}";
}

/* An engine with the reference registration (resources, held by
 * Organizations, Entity) and projects (held by Organizations). */
static inline quota_engine *policy_engine(struct test_clock *clk)
{
	quota_engine *e = test_engine(clk, 60000);
	quota_registration r;
	quota_registration_init(&r, sizeof r);
	r.resource_type = RESOURCES;
	r.consumer_type.api_group = MILO_GROUP;
	r.consumer_type.kind = "Organization";
	r.resource_class = QUOTA_RESOURCE_ENTITY;
	r.base_unit = "count";
	r.display_unit = "resources";
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	CHECK_RC(test_register(e, PROJECTS, MILO_GROUP, "Organization", 0), QUOTA_OK);
	return e;
}

/* A trigger object: apiVersion, kind, metadata {name, namespace, uid} and
 * a spec given as JSON text (or NULL). NULL fields are left out. */
static inline quota_doc *trigger_doc(const char *api_version, const char *kind, const char *ns,
				     const char *name, const char *uid, const char *spec_json)
{
	char json[4096];
	int n = snprintf(json, sizeof json,
			 "{\"apiVersion\": \"%s\", \"kind\": \"%s\", \"metadata\": {", api_version,
			 kind);
	const char *sep = "";
	if (name) {
		n += snprintf(json + n, sizeof json - (size_t)n, "\"name\": \"%s\"", name);
		sep = ", ";
	}
	if (ns) {
		n += snprintf(json + n, sizeof json - (size_t)n, "%s\"namespace\": \"%s\"", sep,
			      ns);
		sep = ", ";
	}
	if (uid)
		n += snprintf(json + n, sizeof json - (size_t)n, "%s\"uid\": \"%s\"", sep, uid);
	snprintf(json + n, sizeof json - (size_t)n, "}%s%s}", spec_json ? ", \"spec\": " : "",
		 spec_json ? spec_json : "");
	return tdoc(json);
}

#endif /* QUOTA_TESTS_POLICY_UTIL_H */
