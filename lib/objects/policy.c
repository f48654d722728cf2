/*
 * ClaimCreationPolicy and GrantCreationPolicy in and out.
 *
 * The reader takes the Milo shape apart into quota_claim_policy and
 * quota_grant_policy: types, lengths and unknown fields, with the path of
 * the field. What a policy means (patterns, expressions that compile,
 * templates, registered types) is checked once, by the engine, when the
 * policy is prepared into the load's transaction; the loader names its
 * fields as the object does.
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "../policy.h"
#include "../selector.h"
#include "../util.h"
#include "objects.h"

#define TEMPLATE_MAX QUOTA_TEMPLATE_MAX_LENGTH
#define CONSTRAINTS "constraints"

/* ---- reading --------------------------------------------------------------- */

/* The policy's metadata.name (its identity; the rest of metadata is
 * ignored, as for every object). */
static int name_read(quota__rd *rd, const quota_doc *obj, const char **name)
{
	const quota_doc *meta;
	int rc = quota__rd_get(rd, obj, "metadata", 1, QUOTA_DOC_MAP, &meta);
	if (rc)
		return rc;
	size_t back = quota__rd_key(rd, "metadata");
	rc = quota__rd_string(rd, meta, "name", 1, 1, QUOTA__NAME_MAX, name);
	quota__rd_back(rd, back);
	return rc;
}

static int constraint_read(quota__rd *rd, const quota_doc *m, quota_constraint *c)
{
	static const char *const keys[] = {"expression", "message", NULL};
	int rc;
	quota_constraint_init(c, sizeof *c);
	if (m->type != QUOTA_DOC_MAP)
		return quota__rd_fail(rd, QUOTA_ERR_INVALID, "must be a map, got %s",
				      quota__doc_type_name(m));
	if ((rc = quota__rd_known(rd, m, keys)) ||
	    (rc = quota__rd_string(rd, m, "expression", 1, 1, QUOTA_EXPR_MAX_LENGTH,
				   &c->expression)))
		return rc;
	return quota__rd_string(rd, m, "message", 0, 0, QUOTA_CONSTRAINT_MESSAGE_MAX, &c->message);
}

/* spec.trigger: resource {apiVersion, kind} and constraints. */
static int trigger_read(quota__rd *rd, const quota_doc *spec, quota_trigger_ref *t,
			const quota_constraint **out, uint32_t *count)
{
	static const char *const keys[] = {"resource", CONSTRAINTS, NULL};
	static const char *const resource_keys[] = {"apiVersion", "kind", NULL};
	const quota_doc *trigger, *resource, *list;
	size_t n;
	int rc = quota__rd_get(rd, spec, "trigger", 1, QUOTA_DOC_MAP, &trigger);
	if (rc)
		return rc;
	size_t back = quota__rd_key(rd, "trigger");
	if ((rc = quota__rd_known(rd, trigger, keys)) ||
	    (rc = quota__rd_get(rd, trigger, "resource", 1, QUOTA_DOC_MAP, &resource)))
		goto out;
	size_t at = quota__rd_key(rd, "resource");
	if (!(rc = quota__rd_known(rd, resource, resource_keys)) &&
	    !(rc = quota__rd_string(rd, resource, "apiVersion", 1, 1, QUOTA__GROUP_MAX + 64,
				    &t->api_version)))
		rc = quota__rd_string(rd, resource, "kind", 1, 1, QUOTA__KIND_MAX, &t->kind);
	quota__rd_back(rd, at);
	if (rc ||
	    (rc = quota__rd_list(rd, trigger, CONSTRAINTS, 0, QUOTA_MAX_CONSTRAINTS, &list, &n)) ||
	    n == 0)
		goto out;
	quota_constraint *c = quota__rd_alloc(rd, n * sizeof *c);
	if (!c) {
		rc = QUOTA_ERR_NOMEM;
		goto out;
	}
	at = quota__rd_key(rd, CONSTRAINTS);
	for (size_t i = 0; i < n && !rc; i++) {
		size_t item = quota__rd_index(rd, i);
		rc = constraint_read(rd, list->u.l.items[i], &c[i]);
		quota__rd_back(rd, item);
	}
	quota__rd_back(rd, at);
	*out = c;
	*count = (uint32_t)n;
out:
	quota__rd_back(rd, back);
	return rc;
}

/* metadata, spec and disabled (and failOpen, when fail_open is given) of
 * a policy's spec; *target: spec.target, whose keys are target_keys. */
static int head_read(quota__load *ld, quota__item *it, const char **name, quota_trigger_ref *t,
		     const quota_constraint **c, uint32_t *nc, uint32_t *flags,
		     const char *const *target_keys, const quota_doc **target)
{
	static const char *const keys[] = {"trigger", "target", "disabled", "failOpen", NULL};
	quota__rd *rd = &ld->rd;
	const quota_doc *spec;
	int32_t disabled = 0, fail_open = 0;
	int claims = it->kind->slot == QUOTA__SLOT_CLAIM_POLICY, rc;
	if ((rc = name_read(rd, it->doc, name)) ||
	    (rc = quota__rd_get(rd, it->doc, "spec", 1, QUOTA_DOC_MAP, &spec)))
		return rc;
	size_t back = quota__rd_key(rd, "spec");
	/* failOpen is a claim policy's: a grant policy never fails open */
	const char *const grant_keys[] = {keys[0], keys[1], keys[2], NULL};
	if (!(rc = quota__rd_known(rd, spec, claims ? keys : grant_keys)) &&
	    !(rc = trigger_read(rd, spec, t, c, nc)) &&
	    !(rc = quota__rd_bool(rd, spec, "disabled", &disabled)) &&
	    !(rc = quota__rd_bool(rd, spec, "failOpen", &fail_open)) &&
	    !(rc = quota__rd_get(rd, spec, "target", 1, QUOTA_DOC_MAP, target))) {
		size_t at = quota__rd_key(rd, "target");
		rc = quota__rd_known(rd, *target, target_keys);
		quota__rd_back(rd, at);
	}
	quota__rd_back(rd, back);
	*flags = (disabled ? QUOTA_POLICY_DISABLED : 0) | (fail_open ? QUOTA_POLICY_FAIL_OPEN : 0);
	return rc;
}

/* A map that is read over: its type is checked, its content not kept. */
static int ignored_map(quota__rd *rd, const quota_doc *m, const char *key)
{
	const quota_doc *v;
	int rc = quota__rd_get(rd, m, key, 0, QUOTA_DOC_MAP, &v);
	return rc == QUOTA_ERR_NOT_FOUND ? QUOTA_OK : rc;
}

/* A template's metadata: name (and, for claims, generateName), namespace;
 * labels and annotations are read over (the claims and grants the engine
 * renders carry none). */
static int template_meta(quota__rd *rd, const quota_doc *tmpl, const char **name,
			 const char **generate_name, const char **ns)
{
	static const char *const keys[] = {"name",        "namespace",    "labels",
					   "annotations", "generateName", NULL};
	const quota_doc *meta;
	int rc = quota__rd_get(rd, tmpl, "metadata", 1, QUOTA_DOC_MAP, &meta);
	if (rc)
		return rc;
	size_t back = quota__rd_key(rd, "metadata");
	const char *const grant_keys[] = {keys[0], keys[1], keys[2], keys[3], NULL};
	if (!(rc = quota__rd_known(rd, meta, generate_name ? keys : grant_keys)) &&
	    !(rc = quota__rd_string(rd, meta, "name", !generate_name, 1, TEMPLATE_MAX, name)) &&
	    !(rc = quota__rd_string(rd, meta, "namespace", 0, 0, TEMPLATE_MAX, ns)) &&
	    !(rc = ignored_map(rd, meta, "labels")) &&
	    !(rc = ignored_map(rd, meta, "annotations")) && generate_name)
		rc = quota__rd_string(rd, meta, "generateName", 0, 1, TEMPLATE_MAX, generate_name);
	quota__rd_back(rd, back);
	return rc;
}

static int request_read(quota__rd *rd, const quota_doc *m, quota_request_template *r)
{
	static const char *const keys[] = {"resourceType", "amount", "dimensions", NULL};
	int rc;
	quota_request_template_init(r, sizeof *r);
	if (m->type != QUOTA_DOC_MAP)
		return quota__rd_fail(rd, QUOTA_ERR_INVALID, "must be a map, got %s",
				      quota__doc_type_name(m));
	if ((rc = quota__rd_known(rd, m, keys)) ||
	    (rc = quota__rd_string(rd, m, "resourceType", 1, 1, TEMPLATE_MAX, &r->resource_type)) ||
	    (rc = quota__rd_int(rd, m, "amount", 1, 1, INT64_MAX, &r->amount)))
		return rc;
	return quota__rd_string_map(rd, m, "dimensions", QUOTA__LABELS_MAX, TEMPLATE_MAX,
				    &r->dimensions, &r->dimension_count);
}

/* target.resourceClaimTemplate {metadata, spec {consumerRef, resourceRef,
 * requests}}; the path stands at target. */
static int claim_template_read(quota__rd *rd, const quota_doc *target, quota_claim_template *t)
{
	static const char *const keys[] = {"metadata", "spec", NULL};
	static const char *const spec_keys[] = {"consumerRef", "resourceRef", "requests", NULL};
	const quota_doc *tmpl, *spec, *list;
	size_t n;
	quota_claim_template_init(t, sizeof *t);
	int rc = quota__rd_get(rd, target, "resourceClaimTemplate", 1, QUOTA_DOC_MAP, &tmpl);
	if (rc)
		return rc;
	size_t back = quota__rd_key(rd, "resourceClaimTemplate");
	if ((rc = quota__rd_known(rd, tmpl, keys)) ||
	    (rc = template_meta(rd, tmpl, &t->name, &t->generate_name, &t->ns)) ||
	    (rc = quota__rd_get(rd, tmpl, "spec", 1, QUOTA_DOC_MAP, &spec)))
		goto out;
	quota__rd_key(rd, "spec");
	if ((rc = quota__rd_known(rd, spec, spec_keys)) ||
	    (rc = quota__rd_template_ref(rd, spec, "consumerRef", 1, &t->consumer)) ||
	    (rc = quota__rd_template_ref(rd, spec, "resourceRef", 0, &t->resource)) ||
	    (rc = quota__rd_list(rd, spec, "requests", 1, QUOTA_MAX_REQUESTS, &list, &n)))
		goto out;
	quota__rd_key(rd, "requests");
	quota_request_template *r = n ? quota__rd_alloc(rd, n * sizeof *r) : NULL;
	if (n == 0)
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "needs 1-%d entries",
				    QUOTA_MAX_REQUESTS);
	else if (!r)
		rc = QUOTA_ERR_NOMEM;
	for (size_t i = 0; i < n && !rc; i++) {
		size_t at = quota__rd_index(rd, i);
		rc = request_read(rd, list->u.l.items[i], &r[i]);
		quota__rd_back(rd, at);
	}
	t->requests = r;
	t->request_count = (uint32_t)n;
out:
	quota__rd_back(rd, back);
	return rc;
}

/* target.resourceGrantTemplate {metadata, spec {consumerRef, allowances}}
 * and target.parentContext; the path stands at target. */
static int grant_target_read(quota__load *ld, quota__item *it, const quota_doc *target,
			     quota_grant_policy *p, quota_grant_template *t)
{
	static const char *const keys[] = {"metadata", "spec", NULL};
	static const char *const spec_keys[] = {"consumerRef", "allowances", NULL};
	static const char *const parent_keys[] = {"apiGroup", "kind", "nameExpression", NULL};
	quota__rd *rd = &ld->rd;
	quota_parent_context *pc = &p->parent_context;
	const quota_doc *tmpl, *spec, *parent;
	quota_grant_template_init(t, sizeof *t);
	int rc = quota__rd_get(rd, target, "resourceGrantTemplate", 1, QUOTA_DOC_MAP, &tmpl);
	if (rc)
		return rc;
	size_t back = quota__rd_key(rd, "resourceGrantTemplate");
	if (!(rc = quota__rd_known(rd, tmpl, keys)) &&
	    !(rc = template_meta(rd, tmpl, &t->name, NULL, &t->ns)) &&
	    !(rc = quota__rd_get(rd, tmpl, "spec", 1, QUOTA_DOC_MAP, &spec))) {
		quota__rd_key(rd, "spec");
		if (!(rc = quota__rd_known(rd, spec, spec_keys)) &&
		    !(rc = quota__rd_template_ref(rd, spec, "consumerRef", 1, &t->consumer)))
			rc = quota__allowances_read(ld, it, spec, 0, &t->allowances,
						    &t->allowance_count);
	}
	quota__rd_back(rd, back);
	if (rc || (rc = quota__rd_get(rd, target, "parentContext", 0, QUOTA_DOC_MAP, &parent)))
		return rc == QUOTA_ERR_NOT_FOUND ? QUOTA_OK : rc;
	back = quota__rd_key(rd, "parentContext");
	if (!(rc = quota__rd_known(rd, parent, parent_keys)) &&
	    !(rc = quota__rd_string(rd, parent, "apiGroup", 0, 0, QUOTA__GROUP_MAX,
				    &pc->api_group)) &&
	    !(rc = quota__rd_string(rd, parent, "kind", 0, 1, QUOTA__KIND_MAX, &pc->kind)))
		rc = quota__rd_string(rd, parent, "nameExpression", 0, 1, QUOTA_EXPR_MAX_LENGTH,
				      &pc->name_expression);
	quota__rd_back(rd, back);
	return rc;
}

int quota__policy_read(quota__load *ld, quota__item *it)
{
	static const char *const claim_target[] = {"resourceClaimTemplate", NULL};
	static const char *const grant_target[] = {"resourceGrantTemplate", "parentContext", NULL};
	quota__rd *rd = &ld->rd;
	quota_claim_policy *c = &it->u.claim_policy;
	quota_grant_policy *g = &it->u.grant_policy;
	int claims = it->kind->slot == QUOTA__SLOT_CLAIM_POLICY, rc;
	quota_claim_template *ct = NULL;
	quota_grant_template *gt = NULL;
	const quota_doc *target;
	if (claims) {
		quota_claim_policy_init(c, sizeof *c);
		c->claim = ct = quota__rd_alloc(rd, sizeof *ct);
		rc = !ct ? QUOTA_ERR_NOMEM
			 : head_read(ld, it, &c->name, &c->trigger, &c->constraints,
				     &c->constraint_count, &c->flags, claim_target, &target);
	} else {
		quota_grant_policy_init(g, sizeof *g);
		g->grant = gt = quota__rd_alloc(rd, sizeof *gt);
		rc = !gt ? QUOTA_ERR_NOMEM
			 : head_read(ld, it, &g->name, &g->trigger, &g->constraints,
				     &g->constraint_count, &g->flags, grant_target, &target);
	}
	if (rc)
		return rc;
	size_t back = quota__rd_key(rd, "spec");
	quota__rd_key(rd, "target");
	rc = claims ? claim_template_read(rd, target, ct)
		    : grant_target_read(ld, it, target, g, gt);
	quota__rd_back(rd, back);
	return rc;
}

/* ---- checking and preparing -------------------------------------------------- */

/* The template's allowances against the registrations of the input and the
 * engine, as a ResourceGrant's are (the engine checks them again, against
 * its own, when the policy is prepared). */
int quota__grant_policy_check_refs(quota__load *ld, quota__item *it)
{
	const quota_grant_template *t = it->u.grant_policy.grant;
	quota__rd *rd = &ld->rd;
	size_t back = quota__rd_key(rd, "spec");
	quota__rd_key(rd, "target");
	quota__rd_key(rd, "resourceGrantTemplate");
	quota__rd_key(rd, "spec");
	int rc = quota__allowances_check(ld, &t->consumer, "consumerRef", t->allowances,
					 t->allowance_count, 0);
	quota__rd_back(rd, back);
	return rc;
}

int quota__claim_policy_prepare(quota__load *ld, quota__item *it)
{
	return quota__txn_policy(&ld->txn, QUOTA__CLAIM_POLICY, &it->u.claim_policy, NULL);
}

int quota__grant_policy_prepare(quota__load *ld, quota__item *it)
{
	return quota__txn_policy(&ld->txn, QUOTA__GRANT_POLICY, &it->u.grant_policy, NULL);
}

/* ---- writing ---------------------------------------------------------------- */

/* metadata.name and generation, spec.trigger and spec.disabled. */
static quota__w head_write(const char *kind, const char *name, int64_t generation,
			   const quota_trigger_ref *t, const quota_constraint *c, uint32_t n,
			   uint32_t flags, quota__w *spec)
{
	quota__w w = quota__w_object(kind, NULL, name, 0, generation);
	quota__w trigger = quota__w_map(), resource = quota__w_map();
	*spec = quota__w_map();
	quota__w_str(&resource, "apiVersion", t->api_version);
	quota__w_str(&resource, "kind", t->kind);
	quota__w_child(&trigger, "resource", &resource);
	if (n) {
		quota__w list = quota__w_list();
		for (uint32_t i = 0; i < n; i++) {
			quota__w x = quota__w_map();
			quota__w_str(&x, "expression", c[i].expression);
			quota__w_opt(&x, "message", c[i].message);
			quota__w_push_child(&list, &x);
		}
		quota__w_child(&trigger, CONSTRAINTS, &list);
	}
	quota__w_child(spec, "trigger", &trigger);
	quota__w_bool(spec, "disabled", (flags & QUOTA_POLICY_DISABLED) != 0);
	return w;
}

/* spec, then status {observedGeneration, conditions: [Ready]}. */
static quota_doc *tail_write(quota__w *w, quota__w *spec, int64_t generation, uint32_t flags,
			     int *rc)
{
	int off = (flags & QUOTA_POLICY_DISABLED) != 0;
	quota__w status = quota__w_map(), conds = quota__w_list();
	quota__w_child(w, "spec", spec);
	quota__w_int(&status, "observedGeneration", generation);
	quota__w_condition(&conds, "Ready", !off, off ? "PolicyDisabled" : "PolicyReady",
			   off ? "The policy is disabled." : "The policy is compiled and in use.",
			   0);
	quota__w_child(&status, "conditions", &conds);
	quota__w_child(w, "status", &status);
	return quota__w_end(w, rc);
}

/* A template's metadata. */
static void template_meta_write(quota__w *tmpl, const char *name, const char *generate_name,
				const char *ns)
{
	quota__w meta = quota__w_map();
	quota__w_opt(&meta, "name", name);
	quota__w_opt(&meta, "generateName", generate_name);
	quota__w_opt(&meta, "namespace", ns);
	quota__w_child(tmpl, "metadata", &meta);
}

quota_doc *quota__claim_policy_doc(const quota_claim_policy *p, int *rc)
{
	const quota_claim_template *t = p->claim;
	quota__w spec, target = quota__w_map(), tmpl = quota__w_map(), tspec = quota__w_map(),
		       requests = quota__w_list();
	quota__w w = head_write("ClaimCreationPolicy", p->name, p->generation, &p->trigger,
				p->constraints, p->constraint_count, p->flags, &spec);
	template_meta_write(&tmpl, t->name, t->generate_name, t->ns);
	quota__w_ref(&tspec, "consumerRef", &t->consumer);
	if (!quota__empty(t->resource.kind))
		quota__w_ref(&tspec, "resourceRef", &t->resource);
	for (uint32_t i = 0; i < t->request_count; i++) {
		const quota_request_template *r = &t->requests[i];
		quota__w x = quota__w_map();
		quota__w_str(&x, "resourceType", r->resource_type);
		quota__w_int(&x, "amount", r->amount);
		if (r->dimension_count)
			quota__w_labels(&x, "dimensions", r->dimensions, r->dimension_count);
		quota__w_push_child(&requests, &x);
	}
	quota__w_child(&tspec, "requests", &requests);
	quota__w_child(&tmpl, "spec", &tspec);
	quota__w_child(&target, "resourceClaimTemplate", &tmpl);
	quota__w_child(&spec, "target", &target);
	if (p->flags & QUOTA_POLICY_FAIL_OPEN)
		quota__w_bool(&spec, "failOpen", 1);
	return tail_write(&w, &spec, p->generation, p->flags, rc);
}

quota_doc *quota__grant_policy_doc(const quota_grant_policy *p, int *rc)
{
	const quota_grant_template *t = p->grant;
	const quota_parent_context *pc = &p->parent_context;
	quota__w spec, target = quota__w_map(), tmpl = quota__w_map(), tspec = quota__w_map();
	quota__w w = head_write("GrantCreationPolicy", p->name, p->generation, &p->trigger,
				p->constraints, p->constraint_count, p->flags, &spec);
	template_meta_write(&tmpl, t->name, NULL, t->ns);
	quota__w_ref(&tspec, "consumerRef", &t->consumer);
	quota__w_allowances(&tspec, t->allowances, t->allowance_count);
	quota__w_child(&tmpl, "spec", &tspec);
	quota__w_child(&target, "resourceGrantTemplate", &tmpl);
	if (!quota__empty(pc->kind)) {
		quota__w parent = quota__w_map();
		quota__w_opt(&parent, "apiGroup", pc->api_group);
		quota__w_str(&parent, "kind", pc->kind);
		quota__w_str(&parent, "nameExpression", pc->name_expression);
		quota__w_child(&target, "parentContext", &parent);
	}
	quota__w_child(&spec, "target", &target);
	return tail_write(&w, &spec, p->generation, p->flags, rc);
}

/* The engine's policies of one kind, by name. */
static int policies_dump(quota_engine *e, quota__w *list, int grants)
{
	union {
		quota_claim_policy **claim;
		quota_grant_policy **grant;
	} v = {NULL};
	size_t n;
	int rc = grants ? quota_grant_policy_list(e, &v.grant, &n)
			: quota_claim_policy_list(e, &v.claim, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		quota_doc *d = grants ? quota__grant_policy_doc(v.grant[i], &rc)
				      : quota__claim_policy_doc(v.claim[i], &rc);
		if (!rc) {
			quota__w_push(list, d);
			rc = list->rc;
		}
	}
	quota_free(grants ? (void *)v.grant : (void *)v.claim);
	return rc;
}

int quota__claim_policy_dump(quota_engine *e, quota__w *list)
{
	return policies_dump(e, list, 0);
}

int quota__grant_policy_dump(quota_engine *e, quota__w *list)
{
	return policies_dump(e, list, 1);
}
