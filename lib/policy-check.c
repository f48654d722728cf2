/*
 * Policies: what is checked when one is applied, and its compiled form.
 *
 * A policy is checked as the caller gave it, copied (policy.c), compiled
 * from the copy (so that compiled fields point into it), and checked
 * against the registrations it names. Every detail names the field with
 * Milo's spelling under "policy.".
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "claim.h"
#include "error.h"
#include "policy.h"
#include "selector.h"
#include "txn.h"

#define CT "policy.target.resourceClaimTemplate"
#define GT "policy.target.resourceGrantTemplate"
#define PC "policy.target.parentContext"

const char *const quota__policy_vars[QUOTA__CLAIM_VARS] = {"trigger", "user", "requestInfo"};

/* ---- checking what the caller gave ---------------------------------------- */

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A DNS subdomain: dot-separated labels of [a-z0-9-], alphanumeric at both
 * ends, at most 63 each and 253 in all. */
static int is_dns_subdomain(const char *s, size_t n)
{
	if (n == 0 || n > QUOTA__GROUP_MAX)
		return 0;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || !is_lower_alnum(s[i - 1]))
				return 0;
			label = 0;
		} else if (is_lower_alnum(c) || (c == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return is_lower_alnum(s[n - 1]);
}

/* v<digits>, optionally followed by alpha<digits> or beta<digits>. */
static int is_version(const char *s)
{
	if (*s++ != 'v' || !(*s >= '0' && *s <= '9'))
		return 0;
	while (*s >= '0' && *s <= '9')
		s++;
	if (*s == '\0')
		return 1;
	if (strncmp(s, "alpha", 5) == 0)
		s += 5;
	else if (strncmp(s, "beta", 4) == 0)
		s += 4;
	else
		return 0;
	if (!(*s >= '0' && *s <= '9'))
		return 0;
	while (*s >= '0' && *s <= '9')
		s++;
	return *s == '\0';
}

static int check_trigger(const quota_trigger_ref *t)
{
	const char *v = t->api_version;
	if (quota__empty(v))
		return quota__fail(QUOTA_ERR_INVALID,
				   "policy.trigger.apiVersion: must not be empty");
	size_t n = strnlen(v, QUOTA__GROUP_MAX + 64);
	const char *slash = memchr(v, '/', n);
	if (n >= QUOTA__GROUP_MAX + 64 || !is_version(slash ? slash + 1 : v) ||
	    (slash && !is_dns_subdomain(v, (size_t)(slash - v))))
		return quota__fail(QUOTA_ERR_INVALID,
				   "policy.trigger.apiVersion: \"%.80s\" is not a version (\"v1\") "
				   "or group/version (\"example.com/v1alpha1\")",
				   v);
	const char *k = t->kind;
	if (quota__empty(k))
		return quota__fail(QUOTA_ERR_INVALID, "policy.trigger.kind: must not be empty");
	size_t kn = strnlen(k, QUOTA__KIND_MAX + 1);
	int ok = kn <= QUOTA__KIND_MAX && k[0] >= 'A' && k[0] <= 'Z';
	for (size_t i = 1; ok && i < kn; i++)
		ok = (k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= 'a' && k[i] <= 'z') ||
		     (k[i] >= '0' && k[i] <= '9');
	if (!ok)
		return quota__fail(
			QUOTA_ERR_INVALID,
			"policy.trigger.kind: \"%.63s\" does not match ^[A-Z][a-zA-Z0-9]*$ "
			"(at most %d characters)",
			k, QUOTA__KIND_MAX);
	return QUOTA_OK;
}

static int check_constraints(const quota_constraint *c, uint32_t n)
{
	int rc;
	if (n > QUOTA_MAX_CONSTRAINTS)
		return quota__fail(QUOTA_ERR_INVALID,
				   "policy.trigger.constraints: %u entries, at most %d", n,
				   QUOTA_MAX_CONSTRAINTS);
	if ((rc = quota__check_array("policy.trigger.constraints", c, n, sizeof *c)))
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		const quota_constraint *x = quota__elem(c, i);
		if (quota__empty(x->expression))
			return quota__fail(
				QUOTA_ERR_INVALID,
				"policy.trigger.constraints[%u].expression: must not be empty", i);
		if ((rc = quota__check_text_at("policy.trigger.constraints", i, ".message",
					       x->message, 0, QUOTA_CONSTRAINT_MESSAGE_MAX)))
			return rc;
	}
	return QUOTA_OK;
}

static int is_template(const char *s)
{
	return s && strstr(s, "{{") != NULL;
}

/* A field that may be a template: required or optional; a literal value is
 * checked as text of at most max bytes (templates are checked when they
 * are compiled, and what they render when it is used). */
static int check_tfield(const char *field, const char *s, int required, size_t max)
{
	if (quota__empty(s))
		return required ? quota__fail(QUOTA_ERR_INVALID, "%s: must not be empty", field)
				: QUOTA_OK;
	return is_template(s) ? QUOTA_OK : quota__check_text(field, s, 1, max);
}

/* A consumerRef or resourceRef of a template: api_group and kind literal,
 * ns and name templates. */
static int check_tref(const char *field, const quota_ref *r)
{
	char f[96];
	int rc;
	snprintf(f, sizeof f, "%s.apiGroup", field);
	if ((rc = quota__check_text(f, r->api_group, 0, QUOTA__GROUP_MAX)))
		return rc;
	snprintf(f, sizeof f, "%s.kind", field);
	if ((rc = quota__check_kind(f, r->kind)))
		return rc;
	snprintf(f, sizeof f, "%s.namespace", field);
	if ((rc = check_tfield(f, r->ns, 0, QUOTA__NS_MAX)))
		return rc;
	snprintf(f, sizeof f, "%s.name", field);
	return check_tfield(f, r->name, 1, QUOTA__NAME_MAX);
}

static int check_request(const quota_request_template *r, uint32_t i)
{
	char f[96];
	int rc;
	snprintf(f, sizeof f, CT ".spec.requests[%u].resourceType", i);
	if ((rc = check_tfield(f, r->resource_type, 1, QUOTA__NAME_MAX)))
		return rc;
	if (r->amount <= 0)
		return quota__fail(QUOTA_ERR_INVALID,
				   CT ".spec.requests[%u].amount: must be > 0, got %lld", i,
				   (long long)r->amount);
	if (r->reserved_flags)
		return quota__fail(QUOTA_ERR_INVALID,
				   CT ".spec.requests[%u].reserved_flags: must be 0", i);
	if (r->dimension_count > QUOTA__LABELS_MAX)
		return quota__fail(QUOTA_ERR_INVALID,
				   CT ".spec.requests[%u].dimensions: %u labels, at most %d", i,
				   r->dimension_count, QUOTA__LABELS_MAX);
	if (r->dimension_count && !r->dimensions)
		return quota__fail(QUOTA_ERR_INVALID,
				   CT ".spec.requests[%u].dimensions: NULL with count %u", i,
				   r->dimension_count);
	for (uint32_t k = 0; k < r->dimension_count; k++) {
		const quota_label *l = &r->dimensions[k];
		snprintf(f, sizeof f, CT ".spec.requests[%u].dimensions[%u].key", i, k);
		if ((rc = quota__check_label_key(f, l->key)))
			return rc;
		for (uint32_t j = 0; j < k; j++)
			if (strcmp(r->dimensions[j].key, l->key) == 0)
				return quota__fail(QUOTA_ERR_INVALID,
						   "%s: %s is also dimensions[%u]", f, l->key, j);
		snprintf(f, sizeof f, CT ".spec.requests[%u].dimensions[%u].value", i, k);
		if (!l->value)
			return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL", f);
		if (!is_template(l->value) && (rc = quota__check_label_value(f, l->value)))
			return rc;
	}
	return QUOTA_OK;
}

static int check_claim_template(const quota_claim_template *in)
{
	quota_claim_template t;
	int rc;
	if (!in)
		return quota__fail(QUOTA_ERR_INVALID, CT ": must not be NULL");
	if ((rc = quota__copy_in(CT, &t, sizeof t, in, sizeof t)))
		return rc;
	if (quota__empty(t.name) == quota__empty(t.generate_name))
		return quota__fail(QUOTA_ERR_INVALID,
				   CT ".metadata: set exactly one of name and generateName");
	if ((rc = check_tfield(CT ".metadata.name", t.name, 0, QUOTA__NAME_MAX)) ||
	    (rc = check_tfield(CT ".metadata.generateName", t.generate_name, 0, QUOTA__NAME_MAX)) ||
	    (rc = check_tfield(CT ".metadata.namespace", t.ns, 0, QUOTA__NS_MAX)) ||
	    (rc = check_tref(CT ".spec.consumerRef", &t.consumer)))
		return rc;
	if (!quota__empty(t.resource.kind)) {
		if ((rc = check_tref(CT ".spec.resourceRef", &t.resource)))
			return rc;
	} else if (!quota__empty(t.resource.api_group) || !quota__empty(t.resource.ns) ||
		   !quota__empty(t.resource.name)) {
		return quota__fail(QUOTA_ERR_INVALID, CT
				   ".spec.resourceRef.kind: must be set when the resourceRef has "
				   "other fields (leave them all empty to name the trigger)");
	}
	if (t.reserved_flags)
		return quota__fail(QUOTA_ERR_INVALID, CT ".reserved_flags: must be 0");
	if (t.request_count < 1 || t.request_count > QUOTA_MAX_REQUESTS)
		return quota__fail(QUOTA_ERR_INVALID, CT ".spec.requests: %u entries, need 1-%d",
				   t.request_count, QUOTA_MAX_REQUESTS);
	if ((rc = quota__check_array(CT ".spec.requests", t.requests, t.request_count,
				     sizeof(quota_request_template))))
		return rc;
	for (uint32_t i = 0; i < t.request_count; i++) {
		const quota_request_template *r = quota__elem(t.requests, i);
		if ((rc = check_request(r, i)))
			return rc;
		for (uint32_t k = 0; k < i && !is_template(r->resource_type); k++)
			if (strcmp(r->resource_type,
				   ((const quota_request_template *)quota__elem(t.requests, k))
					   ->resource_type) == 0)
				return quota__fail(QUOTA_ERR_INVALID,
						   CT ".spec.requests[%u].resourceType: %s is also "
						      "requests[%u]",
						   i, r->resource_type, k);
	}
	return QUOTA_OK;
}

/* What claim and grant policies share: name, trigger, constraints. */
static int check_common(const char *name, const quota_trigger_ref *trigger,
			const quota_constraint *c, uint32_t n)
{
	int rc;
	if ((rc = quota__check_text("policy.name", name, 1, QUOTA__NAME_MAX)) ||
	    (rc = check_trigger(trigger)))
		return rc;
	return check_constraints(c, n);
}

int quota__claim_policy_check(const quota_claim_policy *in, quota_claim_policy *p)
{
	int rc;
	if ((rc = quota__copy_in("policy", p, sizeof *p, in, sizeof *p)) ||
	    (rc = check_common(p->name, &p->trigger, p->constraints, p->constraint_count)))
		return rc;
	if (p->flags & ~(uint32_t)(QUOTA_POLICY_DISABLED | QUOTA_POLICY_FAIL_OPEN))
		return quota__fail(QUOTA_ERR_INVALID, "policy.flags: unknown bits 0x%x",
				   p->flags & ~(uint32_t)(QUOTA_POLICY_DISABLED |
							  QUOTA_POLICY_FAIL_OPEN));
	return check_claim_template(p->claim);
}

/* A detail about a stand-in grant ("grant.x: ...") as one about the
 * template's spec. */
static int grant_detail(int rc)
{
	const char *d = quota_last_error();
	if (strncmp(d, "grant.", 6) == 0) {
		char rest[QUOTA__ERROR_MAX];
		snprintf(rest, sizeof rest, "%s", d + 6);
		return quota__fail(rc, GT ".spec.%s", rest);
	}
	return quota__fail_prefix(rc, GT ".spec");
}

/* The grant a template makes, with stand-in names, checked as
 * quota_grant_apply() checks one. */
static int stand_in_grant(const quota_grant_template *t, quota_grant **out)
{
	quota_grant g;
	quota_grant_init(&g, sizeof g);
	g.name = "policy";
	g.consumer.api_group = t->consumer.api_group;
	g.consumer.kind = t->consumer.kind;
	g.consumer.name = "policy";
	g.allowances = t->allowances;
	g.allowance_count = t->allowance_count;
	int rc = quota__grant_copy(&g, out);
	return rc ? grant_detail(rc) : QUOTA_OK;
}

static int check_grant_template(const quota_grant_template *in)
{
	quota_grant_template t;
	quota_grant *g;
	int rc;
	if (!in)
		return quota__fail(QUOTA_ERR_INVALID, GT ": must not be NULL");
	if ((rc = quota__copy_in(GT, &t, sizeof t, in, sizeof t)) ||
	    (rc = check_tfield(GT ".metadata.name", t.name, 1, QUOTA__NAME_MAX)) ||
	    (rc = check_tfield(GT ".metadata.namespace", t.ns, 0, QUOTA__NS_MAX)) ||
	    (rc = check_tref(GT ".spec.consumerRef", &t.consumer)))
		return rc;
	if (t.reserved_flags)
		return quota__fail(QUOTA_ERR_INVALID, GT ".reserved_flags: must be 0");
	if ((rc = stand_in_grant(&t, &g)))
		return rc;
	quota__free(g);
	return QUOTA_OK;
}

static int check_parent(const quota_parent_context *pc)
{
	int rc;
	if (quota__empty(pc->kind) && quota__empty(pc->name_expression) &&
	    quota__empty(pc->api_group))
		return QUOTA_OK;
	if ((rc = quota__check_text(PC ".apiGroup", pc->api_group, 0, QUOTA__GROUP_MAX)) ||
	    (rc = quota__check_kind(PC ".kind", pc->kind)))
		return rc;
	if (quota__empty(pc->name_expression))
		return quota__fail(QUOTA_ERR_INVALID, PC ".nameExpression: must not be empty");
	return QUOTA_OK;
}

int quota__grant_policy_check(const quota_grant_policy *in, quota_grant_policy *p)
{
	int rc;
	if ((rc = quota__copy_in("policy", p, sizeof *p, in, sizeof *p)) ||
	    (rc = check_common(p->name, &p->trigger, p->constraints, p->constraint_count)))
		return rc;
	if (p->flags & ~(uint32_t)QUOTA_POLICY_DISABLED)
		return quota__fail(
			QUOTA_ERR_INVALID,
			"policy.flags: 0x%x; a grant policy takes only QUOTA_POLICY_DISABLED "
			"(an evaluation error changes no grant)",
			p->flags);
	if ((rc = check_grant_template(p->grant)))
		return rc;
	return check_parent(&p->parent_context);
}

/* ---- compiling ------------------------------------------------------------ */

static int compile_tfield(quota__tfield *f, const char *field, const char *text, uint32_t nvars)
{
	f->text = text;
	f->field = field;
	if (!is_template(text))
		return QUOTA_OK;
	int rc = quota_template_compile(text, quota__policy_vars, nvars, &f->t);
	return rc ? quota__fail_prefix(rc, "%s", field) : QUOTA_OK;
}

static int compile_constraints(quota__policy *p, const quota_constraint *c, uint32_t n,
			       uint32_t nvars)
{
	for (uint32_t i = 0; i < n; i++) {
		int rc = quota_expr_compile(c[i].expression, quota__policy_vars, nvars,
					    &p->constraints[i]);
		if (rc)
			return quota__fail_prefix(rc, "policy.trigger.constraints[%u].expression",
						  i);
		p->constraint_count = i + 1;
	}
	return QUOTA_OK;
}

/* Room for the name of a request's field in details. */
#define REQ_FIELD_MAX 96

static int compile_requests(quota__policy *p, const quota_claim_template *t)
{
	uint32_t dims = 0;
	for (uint32_t i = 0; i < t->request_count; i++)
		dims += t->requests[i].dimension_count;
	/* One block: the requests, their dimension values, and the names of
	 * all their fields. */
	size_t fields = t->request_count + dims;
	p->requests = quota__calloc(1, t->request_count * sizeof *p->requests +
					       dims * sizeof *p->requests->values +
					       fields * REQ_FIELD_MAX);
	if (!p->requests)
		return quota__fail(QUOTA_ERR_NOMEM, "policy: out of memory");
	quota__tfield *values = (quota__tfield *)(p->requests + t->request_count);
	char *name = (char *)(values + dims);
	p->request_count = t->request_count;
	int rc = QUOTA_OK;
	for (uint32_t i = 0; i < t->request_count && !rc; i++) {
		const quota_request_template *r = &t->requests[i];
		quota__creq *q = &p->requests[i];
		q->values = values;
		values += r->dimension_count;
		snprintf(name, REQ_FIELD_MAX, CT ".spec.requests[%u].resourceType", i);
		rc = compile_tfield(&q->type, name, r->resource_type, QUOTA__CLAIM_VARS);
		name += REQ_FIELD_MAX;
		for (uint32_t k = 0; k < r->dimension_count && !rc; k++, name += REQ_FIELD_MAX) {
			snprintf(name, REQ_FIELD_MAX, CT ".spec.requests[%u].dimensions[%u].value",
				 i, k);
			rc = compile_tfield(&q->values[k], name, r->dimensions[k].value,
					    QUOTA__CLAIM_VARS);
		}
	}
	return rc;
}

static int compile_claim(quota__policy *p, const quota_claim_policy *c)
{
	const quota_claim_template *t = c->claim;
	int rc;
	p->generate = !quota__empty(t->generate_name);
	if ((rc = compile_constraints(p, c->constraints, c->constraint_count, QUOTA__CLAIM_VARS)) ||
	    (rc = compile_tfield(&p->meta_name,
				 p->generate ? CT ".metadata.generateName" : CT ".metadata.name",
				 p->generate ? t->generate_name : t->name, QUOTA__CLAIM_VARS)) ||
	    (rc = compile_tfield(&p->meta_ns, CT ".metadata.namespace", t->ns,
				 QUOTA__CLAIM_VARS)) ||
	    (rc = compile_tfield(&p->consumer_ns, CT ".spec.consumerRef.namespace", t->consumer.ns,
				 QUOTA__CLAIM_VARS)) ||
	    (rc = compile_tfield(&p->consumer_name, CT ".spec.consumerRef.name", t->consumer.name,
				 QUOTA__CLAIM_VARS)) ||
	    (rc = compile_tfield(&p->resource_ns, CT ".spec.resourceRef.namespace", t->resource.ns,
				 QUOTA__CLAIM_VARS)) ||
	    (rc = compile_tfield(&p->resource_name, CT ".spec.resourceRef.name", t->resource.name,
				 QUOTA__CLAIM_VARS)))
		return rc;
	return compile_requests(p, t);
}

static int compile_grant(quota__policy *p, const quota_grant_policy *g)
{
	const quota_grant_template *t = g->grant;
	int rc;
	if ((rc = compile_constraints(p, g->constraints, g->constraint_count, QUOTA__GRANT_VARS)) ||
	    (rc = compile_tfield(&p->meta_name, GT ".metadata.name", t->name, QUOTA__GRANT_VARS)) ||
	    (rc = compile_tfield(&p->meta_ns, GT ".metadata.namespace", t->ns,
				 QUOTA__GRANT_VARS)) ||
	    (rc = compile_tfield(&p->consumer_ns, GT ".spec.consumerRef.namespace", t->consumer.ns,
				 QUOTA__GRANT_VARS)) ||
	    (rc = compile_tfield(&p->consumer_name, GT ".spec.consumerRef.name", t->consumer.name,
				 QUOTA__GRANT_VARS)))
		return rc;
	if (*g->parent_context.name_expression &&
	    (rc = quota_expr_compile(g->parent_context.name_expression, quota__policy_vars,
				     QUOTA__GRANT_VARS, &p->parent_name)))
		return quota__fail_prefix(rc, PC ".nameExpression");
	return QUOTA_OK;
}

int quota__policy_compile(int kind, void *copy, quota__policy **out)
{
	*out = NULL;
	quota__policy *p = quota__calloc(1, sizeof *p);
	if (!p) {
		quota__free(copy);
		return quota__fail(QUOTA_ERR_NOMEM, "policy: out of memory");
	}
	p->kind = kind;
	int rc;
	if (kind == QUOTA__CLAIM_POLICY) {
		quota_claim_policy *c = p->pub.claim = copy;
		p->name = c->name;
		p->api_version = c->trigger.api_version;
		p->trigger_kind = c->trigger.kind;
		p->flags = c->flags;
		rc = compile_claim(p, c);
	} else {
		quota_grant_policy *g = p->pub.grant = copy;
		p->name = g->name;
		p->api_version = g->trigger.api_version;
		p->trigger_kind = g->trigger.kind;
		p->flags = g->flags;
		rc = compile_grant(p, g);
	}
	if (rc) {
		quota__policy_free(p);
		return rc == QUOTA_ERR_NOMEM ? quota__fail(rc, "policy: out of memory") : rc;
	}
	*out = p;
	return QUOTA_OK;
}

static void tfield_free(quota__tfield *f)
{
	quota_template_free(f->t);
}

void quota__policy_free(quota__policy *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; i < p->constraint_count; i++)
		quota_expr_free(p->constraints[i]);
	tfield_free(&p->meta_name);
	tfield_free(&p->meta_ns);
	tfield_free(&p->consumer_ns);
	tfield_free(&p->consumer_name);
	tfield_free(&p->resource_ns);
	tfield_free(&p->resource_name);
	for (uint32_t i = 0; i < p->request_count; i++) {
		tfield_free(&p->requests[i].type);
		for (uint32_t k = 0; k < p->pub.claim->claim->requests[i].dimension_count; k++)
			tfield_free(&p->requests[i].values[k]);
	}
	quota__free(p->requests);
	quota_expr_free(p->parent_name);
	quota__free(p->pub.claim); /* either kind: one allocation */
	quota__free(p);
}

/* ---- against the registrations ---------------------------------------------- */

/* The group of an apiVersion ("" for the core group) into buf. */
static const char *api_group_of(const char *api_version, char *buf, size_t n)
{
	const char *slash = strchr(api_version, '/');
	size_t len = slash ? (size_t)(slash - api_version) : 0;
	snprintf(buf, n, "%.*s", (int)len, api_version);
	return buf;
}

static int claim_regs(quota_engine *e, const quota__txn *t, const quota_claim_policy *c)
{
	const quota_claim_template *ct = c->claim;
	char group[QUOTA__GROUP_MAX + 1], field[96];
	quota_ref res = ct->resource;
	if (!*res.kind) {
		res.api_group = api_group_of(c->trigger.api_version, group, sizeof group);
		res.kind = c->trigger.kind;
	}
	for (uint32_t i = 0; i < ct->request_count; i++) {
		const quota_request_template *r = &ct->requests[i];
		if (is_template(r->resource_type))
			continue;
		const quota__reg *reg = quota__reg_find(e, r->resource_type);
		int rc;
		if (!reg)
			return quota__fail(QUOTA_ERR_UNREGISTERED,
					   CT
					   ".spec.requests[%u].resourceType: %s is not registered",
					   i, r->resource_type);
		/* The mutable fields (claimingResources, allowedDimensions) as the
		 * transaction leaves them. */
		quota__reg view = *reg;
		view.pub = (quota_registration *)(t ? quota__txn_reg_spec(t, reg) : reg->pub);
		if ((rc = quota__reg_check_consumer(&view, &ct->consumer, CT ".spec.consumerRef")))
			return rc;
		if ((rc = quota__reg_may_claim(&view, &res, i)))
			return quota__fail_prefix(rc, *ct->resource.kind ? CT ".spec.resourceRef"
									 : "policy.trigger");
		snprintf(field, sizeof field, CT ".spec.requests[%u].dimensions", i);
		if ((rc = quota__check_dimensions_allowed(field, view.pub, r->dimensions,
							  r->dimension_count)))
			return rc;
	}
	return QUOTA_OK;
}

int quota__policy_check_regs(quota_engine *e, const quota__txn *t, const quota__policy *p)
{
	if (p->kind == QUOTA__CLAIM_POLICY)
		return claim_regs(e, t, p->pub.claim);
	/* Selector keys are checked against the engine's allowedDimensions,
	 * not those a transaction is about to set (grant.c checks a stand-in
	 * grant; it takes no transaction). */
	quota_grant *g;
	int rc = stand_in_grant(p->pub.grant->grant, &g);
	if (rc)
		return rc;
	rc = quota__grant_check_regs(e, g);
	quota__free(g);
	return rc ? grant_detail(rc) : QUOTA_OK;
}
