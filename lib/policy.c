/*
 * The policy store: claim and grant policies by name and by trigger, their
 * copies in and out, apply, delete, get and list.
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "api.h"
#include "engine.h"
#include "error.h"
#include "pack.h"
#include "policy.h"
#include "txn.h"

#define INIT_FN(fn, type, what)                                                                    \
	QUOTA_API int fn(type *x, size_t size)                                                     \
	{                                                                                          \
		if (!x || size < sizeof *x)                                                        \
			return quota__fail(QUOTA_ERR_INVALID, what ": NULL or size %zu too small", \
					   size);                                                  \
		memset(x, 0, sizeof *x);                                                           \
		x->size = sizeof *x;                                                               \
		return QUOTA_OK;                                                                   \
	}

INIT_FN(quota_constraint_init, quota_constraint, "constraint")
INIT_FN(quota_request_template_init, quota_request_template, "request template")
INIT_FN(quota_claim_template_init, quota_claim_template, "claim template")
INIT_FN(quota_claim_policy_init, quota_claim_policy, "claim policy")
INIT_FN(quota_grant_template_init, quota_grant_template, "grant template")
INIT_FN(quota_grant_policy_init, quota_grant_policy, "grant policy")
INIT_FN(quota_admission_init, quota_admission, "admission")

/* ---- copies ---------------------------------------------------------------- */

static quota_trigger_ref pack_trigger(quota__pack *p, const quota_trigger_ref *t)
{
	return (quota_trigger_ref){quota__pack_text(p, t->api_version),
				   quota__pack_text(p, t->kind)};
}

static const quota_constraint *pack_constraints(quota__pack *p, const quota_constraint *src,
						uint32_t n)
{
	quota_constraint *c = quota__pack_take(p, n * sizeof *c);
	for (uint32_t i = 0; i < n; i++) {
		const quota_constraint *s = quota__elem(src, i);
		quota_constraint x = {sizeof x, quota__pack_text(p, s->expression),
				      quota__pack_text(p, s->message)};
		if (c)
			c[i] = x;
	}
	return n ? c : NULL;
}

static const quota_request_template *pack_requests(quota__pack *p,
						   const quota_request_template *src, uint32_t n)
{
	quota_request_template *r = quota__pack_take(p, n * sizeof *r);
	for (uint32_t i = 0; i < n; i++) {
		const quota_request_template *s = quota__elem(src, i);
		quota_request_template x = *s;
		x.size = sizeof x;
		x.resource_type = quota__pack_text(p, s->resource_type);
		x.dimensions = quota__pack_labels(p, s->dimensions, s->dimension_count);
		if (r)
			r[i] = x;
	}
	return r;
}

static quota_claim_policy *pack_claim_policy(quota__pack *p, const quota_claim_policy *src)
{
	quota_claim_policy *dst = quota__pack_take(p, sizeof *dst);
	quota_claim_template *tdst = quota__pack_take(p, sizeof *tdst);
	const quota_claim_template *ts = src->claim;
	quota_claim_template t = {sizeof t,
				  quota__pack_text(p, ts->name),
				  quota__pack_text(p, ts->generate_name),
				  quota__pack_text(p, ts->ns),
				  quota__pack_ref(p, &ts->consumer),
				  quota__pack_ref(p, &ts->resource),
				  pack_requests(p, ts->requests, ts->request_count),
				  ts->request_count,
				  0};
	quota_claim_policy c = {sizeof c,
				quota__pack_text(p, src->name),
				pack_trigger(p, &src->trigger),
				pack_constraints(p, src->constraints, src->constraint_count),
				src->constraint_count,
				src->flags,
				tdst,
				src->generation};
	if (dst) {
		*tdst = t;
		*dst = c;
	}
	return dst;
}

static quota_grant_policy *pack_grant_policy(quota__pack *p, const quota_grant_policy *src)
{
	quota_grant_policy *dst = quota__pack_take(p, sizeof *dst);
	quota_grant_template *tdst = quota__pack_take(p, sizeof *tdst);
	const quota_grant_template *ts = src->grant;
	quota_grant_template t = {sizeof t,
				  quota__pack_text(p, ts->name),
				  quota__pack_text(p, ts->ns),
				  quota__pack_ref(p, &ts->consumer),
				  quota__pack_allowances(p, ts->allowances, ts->allowance_count),
				  ts->allowance_count,
				  0};
	const quota_parent_context *pc = &src->parent_context;
	quota_grant_policy g = {sizeof g,
				quota__pack_text(p, src->name),
				pack_trigger(p, &src->trigger),
				pack_constraints(p, src->constraints, src->constraint_count),
				src->constraint_count,
				src->flags,
				tdst,
				{quota__pack_text(p, pc->api_group), quota__pack_text(p, pc->kind),
				 quota__pack_text(p, pc->name_expression)},
				src->generation};
	if (dst) {
		*tdst = t;
		*dst = g;
	}
	return dst;
}

/* Pack policy src of kind into *out (one allocation, or NULL). */
static void *pack_policy(int kind, const void *src)
{
	quota__pack p = {0};
	for (int pass = 0; pass < 2; pass++) {
		void *out = kind == QUOTA__CLAIM_POLICY ? (void *)pack_claim_policy(&p, src)
							: (void *)pack_grant_policy(&p, src);
		if (pass == 1)
			return out;
		if (quota__pack_begin_write(&p))
			return NULL;
	}
	return NULL;
}

quota_claim_policy *quota__claim_policy_copy(const quota_claim_policy *p)
{
	return pack_policy(QUOTA__CLAIM_POLICY, p);
}

quota_grant_policy *quota__grant_policy_copy(const quota_grant_policy *p)
{
	return pack_policy(QUOTA__GRANT_POLICY, p);
}

/* ---- sameness (of two copies: strings are never NULL) ---------------------- */

static int same_ref(const quota_ref *a, const quota_ref *b)
{
	return !strcmp(a->api_group, b->api_group) && !strcmp(a->kind, b->kind) &&
	       !strcmp(a->ns, b->ns) && !strcmp(a->name, b->name);
}

static int same_head(const quota_trigger_ref *ta, const quota_trigger_ref *tb, uint32_t fa,
		     uint32_t fb, const quota_constraint *ca, const quota_constraint *cb,
		     uint32_t na, uint32_t nb)
{
	if (strcmp(ta->api_version, tb->api_version) || strcmp(ta->kind, tb->kind) || fa != fb ||
	    na != nb)
		return 0;
	for (uint32_t i = 0; i < na; i++)
		if (strcmp(ca[i].expression, cb[i].expression) ||
		    strcmp(ca[i].message, cb[i].message))
			return 0;
	return 1;
}

static int same_requests(const quota_claim_template *a, const quota_claim_template *b)
{
	if (a->request_count != b->request_count)
		return 0;
	for (uint32_t i = 0; i < a->request_count; i++) {
		const quota_request_template *x = &a->requests[i], *y = &b->requests[i];
		if (strcmp(x->resource_type, y->resource_type) || x->amount != y->amount ||
		    x->dimension_count != y->dimension_count)
			return 0;
		for (uint32_t k = 0; k < x->dimension_count; k++)
			if (strcmp(x->dimensions[k].key, y->dimensions[k].key) ||
			    strcmp(x->dimensions[k].value, y->dimensions[k].value))
				return 0;
	}
	return 1;
}

static int same_policy(int kind, const void *a, const void *b)
{
	if (kind == QUOTA__CLAIM_POLICY) {
		const quota_claim_policy *x = a, *y = b;
		const quota_claim_template *s = x->claim, *t = y->claim;
		return same_head(&x->trigger, &y->trigger, x->flags, y->flags, x->constraints,
				 y->constraints, x->constraint_count, y->constraint_count) &&
		       !strcmp(s->name, t->name) && !strcmp(s->generate_name, t->generate_name) &&
		       !strcmp(s->ns, t->ns) && same_ref(&s->consumer, &t->consumer) &&
		       same_ref(&s->resource, &t->resource) && same_requests(s, t);
	}
	const quota_grant_policy *x = a, *y = b;
	const quota_grant_template *s = x->grant, *t = y->grant;
	const quota_parent_context *p = &x->parent_context, *q = &y->parent_context;
	return same_head(&x->trigger, &y->trigger, x->flags, y->flags, x->constraints,
			 y->constraints, x->constraint_count, y->constraint_count) &&
	       !strcmp(s->name, t->name) && !strcmp(s->ns, t->ns) &&
	       same_ref(&s->consumer, &t->consumer) && s->allowance_count == t->allowance_count &&
	       quota__allowances_same(s->allowances, t->allowances, s->allowance_count) &&
	       !strcmp(p->api_group, q->api_group) && !strcmp(p->kind, q->kind) &&
	       !strcmp(p->name_expression, q->name_expression);
}

/* ---- the store ------------------------------------------------------------- */

int quota__policies_new(quota_engine *e)
{
	quota__policies *s = quota__calloc(1, sizeof *s);
	if (!s || quota__table_init(&s->owners, 16)) {
		quota__free(s);
		return QUOTA_ERR_NOMEM;
	}
	/* Policy changes are rare; a stream of admissions does not starve them. */
	quota__rw_init(&s->lock);
	e->policies = s;
	return QUOTA_OK;
}

static void set_free(quota__policy_set *set)
{
	for (uint32_t i = 0; i < set->n; i++)
		quota__policy_free(set->v[i]);
	quota__free(set->v);
}

void quota__policies_free(quota_engine *e)
{
	quota__policies *s = e->policies;
	if (!s)
		return;
	set_free(&s->claims);
	set_free(&s->grants);
	quota__table_clear(&s->owners, quota__node_free);
	quota__table_destroy(&s->owners);
	quota__rw_destroy(&s->lock);
	quota__free(s);
}

static int trigger_cmp(const quota__policy *p, const char *api_version, const char *kind)
{
	int d = strcmp(p->api_version, api_version);
	return d ? d : strcmp(p->trigger_kind, kind);
}

static int policy_cmp(const quota__policy *a, const quota__policy *b)
{
	int d = trigger_cmp(a, b->api_version, b->trigger_kind);
	return d ? d : strcmp(a->name, b->name);
}

uint32_t quota__policy_range(const quota__policy_set *set, const char *api_version,
			     const char *kind, uint32_t *first)
{
	uint32_t lo = 0, hi = set->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (trigger_cmp(set->v[mid], api_version, kind) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint32_t end = lo;
	while (end < set->n && trigger_cmp(set->v[end], api_version, kind) == 0)
		end++;
	*first = lo;
	return end - lo;
}

static quota__policy_set *set_of(quota_engine *e, int kind)
{
	return kind == QUOTA__CLAIM_POLICY ? &e->policies->claims : &e->policies->grants;
}

/* The index of policy name in set, or set->n. */
static uint32_t find_name(const quota__policy_set *set, const char *name)
{
	uint32_t i = 0;
	while (i < set->n && strcmp(set->v[i]->name, name) != 0)
		i++;
	return i;
}

static int64_t *generation_of(quota__policy *p)
{
	return p->kind == QUOTA__CLAIM_POLICY ? &p->pub.claim->generation
					      : &p->pub.grant->generation;
}

/* Room in set for want policies; the policies stay as they are. */
static int set_reserve(quota__policy_set *set, uint32_t want)
{
	void *v = set->v;
	if (quota__txn_reserve(&v, &set->cap, want, sizeof *set->v))
		return quota__fail(QUOTA_ERR_NOMEM, "policy: out of memory");
	set->v = v;
	return QUOTA_OK;
}

/* Take set->v[at] out (at == n: none) and put p in (NULL: none), keeping
 * the order; there must be room (set_reserve). Cannot fail. */
static void set_put(quota__policy_set *set, uint32_t at, quota__policy *p)
{
	if (at < set->n) {
		memmove(set->v + at, set->v + at + 1, (set->n - at - 1) * sizeof *set->v);
		set->n--;
	}
	if (!p)
		return;
	uint32_t i = 0;
	while (i < set->n && policy_cmp(set->v[i], p) < 0)
		i++;
	memmove(set->v + i + 1, set->v + i, (set->n - i) * sizeof *set->v);
	set->v[i] = p;
	set->n++;
}

/* An empty set holds no array: the store takes as many blocks as it did
 * before the policies came, or an abort reserved room for them. */
static void set_trim(quota__policy_set *set)
{
	if (set->n)
		return;
	quota__free(set->v);
	set->v = NULL;
	set->cap = 0;
}

/* Check and compile the policy of kind that in points to. */
static int policy_make(int kind, const void *in, quota__policy **out)
{
	union {
		quota_claim_policy c;
		quota_grant_policy g;
	} local;
	*out = NULL;
	int rc = kind == QUOTA__CLAIM_POLICY ? quota__claim_policy_check(in, &local.c)
					     : quota__grant_policy_check(in, &local.g);
	if (rc)
		return rc;
	void *copy = pack_policy(kind, &local);
	if (!copy)
		return quota__fail(QUOTA_ERR_NOMEM, "policy: out of memory");
	return quota__policy_compile(kind, copy, out);
}

/* Where compiled policy p goes: checked against the registrations (as t,
 * which may be NULL, leaves them), *at its name's place in the store (n:
 * new), *changed unless the store has it as it is. Sets p's generation
 * and *generation (may be NULL). Caller holds policies->lock (write) and
 * config. */
static int policy_stage(quota_engine *e, const quota__txn *t, quota__policy *p, uint32_t *at,
			int *changed, int64_t *generation)
{
	quota__policy_set *set = set_of(e, p->kind);
	int rc = quota__policy_check_regs(e, t, p);
	if (rc)
		return rc;
	*at = find_name(set, p->name);
	const quota__policy *old = *at < set->n ? set->v[*at] : NULL;
	*changed = !old || !same_policy(p->kind, old->pub.claim, p->pub.claim);
	if (old)
		*generation_of(p) = *generation_of(set->v[*at]) + *changed;
	else if (!(t && t->restoring && *generation_of(p) > 0))
		*generation_of(p) = 1;
	if (generation)
		*generation = *generation_of(p);
	return QUOTA_OK;
}

static int policy_apply(quota_engine *e, int kind, const void *in, int64_t *generation)
{
	quota__policy *p = NULL, *gone = NULL;
	uint32_t at;
	int changed, rc;
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	if ((rc = policy_make(kind, in, &p)))
		return rc;
	quota__policy_set *set = set_of(e, kind);
	quota__rw_write(&e->policies->lock);
	quota__rw_read(&e->config);
	rc = policy_stage(e, NULL, p, &at, &changed, generation);
	quota__rw_read_done(&e->config);
	if (!rc && changed && !(rc = set_reserve(set, set->n + 1))) {
		gone = at < set->n ? set->v[at] : NULL;
		set_put(set, at, p);
		p = NULL;
	}
	quota__rw_write_done(&e->policies->lock);
	quota__policy_free(p);
	quota__policy_free(gone);
	return rc;
}

/* ---- in a transaction (txn.h) ---------------------------------------------- */

int quota__txn_policy(quota__txn *t, int kind, const void *in, int64_t *generation)
{
	quota__policy *p;
	uint32_t at, same_kind = 0;
	int changed, rc;
	t->broken = 1;
	if ((rc = policy_make(kind, in, &p)))
		return rc;
	for (uint32_t i = 0; i < t->policy_count && !rc; i++) {
		const quota__policy *q = t->policies[i].p;
		same_kind += q->kind == kind;
		if (q->kind == kind && strcmp(q->name, p->name) == 0)
			rc = quota__fail(QUOTA_ERR_INVALID, "policy %s: changed twice in one batch",
					 p->name);
	}
	quota__policy_set *set = set_of(t->e, kind);
	void *ops = t->policies;
	if (!rc)
		rc = policy_stage(t->e, t, p, &at, &changed, generation);
	if (!rc && changed &&
	    (quota__txn_reserve(&ops, &t->policy_cap, t->policy_count + 1, sizeof *t->policies) ||
	     set_reserve(set, set->n + same_kind + 1)))
		rc = quota__fail(QUOTA_ERR_NOMEM, "policy: out of memory");
	t->policies = ops;
	if (rc || !changed) {
		quota__policy_free(p);
		t->broken = rc != QUOTA_OK;
		return rc;
	}
	t->policies[t->policy_count++] = (quota__policy_op){p, NULL};
	t->broken = 0;
	return QUOTA_OK;
}

void quota__txn_policies_commit(quota__txn *t)
{
	for (uint32_t i = 0; i < t->policy_count; i++) {
		quota__policy_op *op = &t->policies[i];
		quota__policy_set *set = set_of(t->e, op->p->kind);
		uint32_t at = find_name(set, op->p->name);
		op->old = at < set->n ? set->v[at] : NULL;
		set_put(set, at, op->p);
	}
}

void quota__txn_policies_finish(quota__txn *t)
{
	for (uint32_t i = 0; i < t->policy_count; i++)
		quota__policy_free(t->policies[i].old);
	t->policy_count = 0;
}

void quota__txn_policies_abort(quota__txn *t)
{
	for (uint32_t i = 0; i < t->policy_count; i++)
		quota__policy_free(t->policies[i].p);
	t->policy_count = 0;
	if (!t->policy_cap) /* no room reserved: the store was not touched (nor locked) */
		return;
	set_trim(&t->e->policies->claims);
	set_trim(&t->e->policies->grants);
}

static int check_name(const char *name)
{
	return quota__check_text("name", name, 1, QUOTA__NAME_MAX);
}

static int policy_delete(quota_engine *e, int kind, const char *name)
{
	quota__policy *gone = NULL;
	int rc;
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	if ((rc = check_name(name)))
		return rc;
	quota__policy_set *set = set_of(e, kind);
	quota__rw_write(&e->policies->lock);
	uint32_t at = find_name(set, name);
	if (at == set->n) {
		rc = quota__fail(QUOTA_ERR_NOT_FOUND, "policy %s: not found", name);
	} else {
		gone = set->v[at];
		set_put(set, at, NULL);
		set_trim(set);
	}
	quota__rw_write_done(&e->policies->lock);
	quota__policy_free(gone);
	return rc;
}

static int policy_get(quota_engine *e, int kind, const char *name, void **out)
{
	int rc;
	if (!e || !out)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL", e ? "out" : "engine");
	*out = NULL;
	if ((rc = check_name(name)))
		return rc;
	quota__policy_set *set = set_of(e, kind);
	quota__rw_read(&e->policies->lock);
	uint32_t at = find_name(set, name);
	if (at == set->n)
		rc = quota__fail(QUOTA_ERR_NOT_FOUND, "policy %s: not found", name);
	else if (!(*out = pack_policy(kind, set->v[at]->pub.claim)))
		rc = quota__fail(QUOTA_ERR_NOMEM, "policy: out of memory");
	quota__rw_read_done(&e->policies->lock);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(quota__policy *const *)a)->name, (*(quota__policy *const *)b)->name);
}

static int policy_list(quota_engine *e, int kind, void ***out, size_t *count)
{
	int rc = QUOTA_OK;
	if (!e || !out || !count)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL",
				   !e     ? "engine"
				   : !out ? "out"
					  : "count");
	*out = NULL;
	*count = 0;
	quota__policy_set *set = set_of(e, kind);
	quota__rw_read(&e->policies->lock);
	quota__policy **sorted = quota__malloc((set->n + 1) * sizeof *sorted);
	if (!sorted) {
		quota__rw_read_done(&e->policies->lock);
		return quota__fail(QUOTA_ERR_NOMEM, "policy list: out of memory");
	}
	if (set->n) {
		memcpy(sorted, set->v, set->n * sizeof *sorted);
		qsort(sorted, set->n, sizeof *sorted, by_name);
	}
	quota__pack p = {0};
	for (int pass = 0; pass < 2; pass++) {
		void **items = quota__pack_take(&p, set->n * sizeof *items);
		for (uint32_t i = 0; i < set->n; i++) {
			void *x = kind == QUOTA__CLAIM_POLICY
					  ? (void *)pack_claim_policy(&p, sorted[i]->pub.claim)
					  : (void *)pack_grant_policy(&p, sorted[i]->pub.grant);
			if (items)
				items[i] = x;
		}
		if (pass == 0 && quota__pack_begin_write(&p)) {
			rc = quota__fail(QUOTA_ERR_NOMEM, "policy list: out of memory");
			break;
		}
		if (pass == 1) {
			*out = items;
			*count = set->n;
		}
	}
	quota__rw_read_done(&e->policies->lock);
	quota__free(sorted);
	return rc;
}

int quota__impl_claim_policy_apply(quota_engine *e, const quota_claim_policy *p,
				       int64_t *generation)
{
	return policy_apply(e, QUOTA__CLAIM_POLICY, p, generation);
}

int quota__impl_claim_policy_delete(quota_engine *e, const char *name)
{
	return policy_delete(e, QUOTA__CLAIM_POLICY, name);
}

QUOTA_API int quota_claim_policy_get(quota_engine *e, const char *name, quota_claim_policy **out)
{
	return policy_get(e, QUOTA__CLAIM_POLICY, name, (void **)out);
}

QUOTA_API int quota_claim_policy_list(quota_engine *e, quota_claim_policy ***out, size_t *count)
{
	return policy_list(e, QUOTA__CLAIM_POLICY, (void ***)out, count);
}

int quota__impl_grant_policy_apply(quota_engine *e, const quota_grant_policy *p,
				       int64_t *generation)
{
	return policy_apply(e, QUOTA__GRANT_POLICY, p, generation);
}

int quota__impl_grant_policy_delete(quota_engine *e, const char *name)
{
	return policy_delete(e, QUOTA__GRANT_POLICY, name);
}

QUOTA_API int quota_grant_policy_get(quota_engine *e, const char *name, quota_grant_policy **out)
{
	return policy_get(e, QUOTA__GRANT_POLICY, name, (void **)out);
}

QUOTA_API int quota_grant_policy_list(quota_engine *e, quota_grant_policy ***out, size_t *count)
{
	return policy_list(e, QUOTA__GRANT_POLICY, (void ***)out, count);
}
