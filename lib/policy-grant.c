/*
 * Grant policies: the grants of a trigger object brought up to date.
 *
 * Under the store's read lock the policies for the object are evaluated
 * and their grants rendered and checked; then, in one transaction (txn.h,
 * which holds the config write lock), the object's owner record (which
 * grants which policy made for it) says what to remove, every grant change
 * and the new record are prepared, and all of it is committed at once, so
 * that a failure anywhere changes nothing.
 *
 * A grant a policy makes carries its owner, "<policy>\n<identity>", so
 * that a grant the host deleted and made again by hand is never taken for
 * the policy's.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "api.h"
#include "engine.h"
#include "error.h"
#include "pack.h"
#include "policy.h"
#include "txn.h"

/* A grant a policy renders now. */
typedef struct wanted {
	const quota__policy *p;
	quota_grant *grant;      /* checked copy */
	const quota_grant *view; /* the same */
	char *parent_name;       /* or NULL */
	char *owner;
} wanted;

/* One grant change of the sync: apply (with its owner), or delete (ns,
 * name) when apply is NULL. */
typedef struct sync_edit {
	const quota_grant *apply;
	const char *ns, *name;
	const char *owner;
	int64_t generation; /* out: after the change; 0 when deleted */
} sync_edit;

typedef struct sync_state {
	quota__trigger t;
	int32_t event;
	const quota__policy **consulted; /* enabled policies for the object */
	uint32_t consulted_n;
	wanted *w;
	uint32_t wn;
	quota__owner_rec *rec; /* the object's record, or NULL */
	uint32_t *kept;        /* entries of rec that stay */
	uint32_t kept_n;
	sync_edit *ed; /* wn applies, then removals */
	uint32_t en;
	const char **removed_policy; /* per removal edit */
} sync_state;

/* "<policy>\n<identity>": who made a grant. */
static char *owner_of(const char *policy, const char *identity)
{
	size_t a = strlen(policy), b = strlen(identity);
	char *s = quota__malloc(a + b + 2);
	if (s) {
		memcpy(s, policy, a);
		s[a] = '\n';
		memcpy(s + a + 1, identity, b + 1);
	}
	return s;
}

/* Whether owner string o names identity (whatever the policy). */
static int owned_by_object(const char *o, const char *identity)
{
	const char *nl = o ? strchr(o, '\n') : NULL;
	return nl && strcmp(nl + 1, identity) == 0;
}

static int render_parent(const quota__policy *p, const quota_doc *const *vars, char **out)
{
	quota_doc *v = NULL;
	*out = NULL;
	if (!p->parent_name)
		return QUOTA_OK;
	static const char *const types[] = {"null",   "bool", "int", "double",
					    "string", "list", "map"};
	int rc = quota_expr_eval(p->parent_name, vars, QUOTA__GRANT_VARS, NULL, &v);
	if (rc == QUOTA_OK && quota_doc_get_type(v) != QUOTA_DOC_STRING)
		rc = quota__fail(QUOTA_ERR_EVAL, "column 1: expected string, got %s",
				 types[quota_doc_get_type(v)]);
	const char *s = NULL;
	if (rc == QUOTA_OK) {
		quota_doc_get_string(v, &s, NULL);
		if (!(*out = quota__strdup(s)))
			rc = quota__fail(QUOTA_ERR_NOMEM, "policy: out of memory");
	}
	quota_doc_unref(v);
	return rc && rc != QUOTA_ERR_NOMEM
		       ? quota__fail_prefix(rc, "policy %s: target.parentContext.nameExpression",
					    p->name)
		       : rc;
}

/* The grant policy p renders for trigger t, checked as quota_grant_apply()
 * checks one (its registrations later, under config). */
static int render_grant(const quota__policy *p, const quota__trigger *t,
			const quota_doc *const *vars, wanted *w)
{
	const quota_grant_template *tp = p->pub.grant->grant;
	const uint32_t nv = QUOTA__GRANT_VARS;
	quota__strs keep = {0};
	quota_grant g;
	int rc;
	quota_grant_init(&g, sizeof g);
	g.consumer.api_group = tp->consumer.api_group;
	g.consumer.kind = tp->consumer.kind;
	g.allowances = tp->allowances;
	g.allowance_count = tp->allowance_count;
	if ((rc = quota__tfield_render(p, &p->meta_name, vars, nv, &keep, &g.name)) ||
	    (rc = quota__tfield_render(p, &p->meta_ns, vars, nv, &keep, &g.ns)) ||
	    (rc = quota__tfield_render(p, &p->consumer_ns, vars, nv, &keep, &g.consumer.ns)) ||
	    (rc = quota__tfield_render(p, &p->consumer_name, vars, nv, &keep, &g.consumer.name)))
		goto out;
	if ((rc = quota__grant_copy(&g, &w->grant))) {
		rc = quota__fail_prefix(rc, "policy %s: the grant it renders", p->name);
		goto out;
	}
	w->view = w->grant;
	if ((rc = render_parent(p, vars, &w->parent_name)))
		goto out;
	if (!(w->owner = owner_of(p->name, t->identity)))
		rc = quota__fail(QUOTA_ERR_NOMEM, "policy: out of memory");
out:
	quota__strs_free(&keep);
	return rc;
}

/* Evaluate the policies for the object and render the grants of those
 * that apply; caller holds the store's read lock. */
static int evaluate(quota_engine *e, sync_state *st)
{
	const quota__policy_set *set = &e->policies->grants;
	const quota_doc *vars[QUOTA__GRANT_VARS] = {st->t.doc};
	uint32_t first, n = quota__policy_range(set, st->t.api_version, st->t.kind, &first);
	if (n == 0)
		return QUOTA_OK;
	st->consulted = quota__calloc(n, sizeof *st->consulted);
	st->w = quota__calloc(n, sizeof *st->w);
	if (!st->consulted || !st->w)
		return quota__fail(QUOTA_ERR_NOMEM, "policy: out of memory");
	for (uint32_t i = first; i < first + n; i++) {
		const quota__policy *p = set->v[i];
		if (p->flags & QUOTA_POLICY_DISABLED)
			continue;
		st->consulted[st->consulted_n++] = p;
		int rc = quota__policy_applies(p, vars, QUOTA__GRANT_VARS);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		wanted *w = &st->w[st->wn++];
		w->p = p;
		if ((rc = render_grant(p, &st->t, vars, w)))
			return rc;
	}
	return QUOTA_OK;
}

static int consulted(const sync_state *st, const char *policy)
{
	for (uint32_t i = 0; i < st->consulted_n; i++)
		if (strcmp(st->consulted[i]->name, policy) == 0)
			return 1;
	return 0;
}

/* The wanted grant of key (ns, name), or NULL. */
static const wanted *wanted_grant(const sync_state *st, const char *ns, const char *name)
{
	for (uint32_t i = 0; i < st->wn; i++)
		if (strcmp(st->w[i].view->ns, ns) == 0 && strcmp(st->w[i].view->name, name) == 0)
			return &st->w[i];
	return NULL;
}

static quota__owner_rec *rec_find(quota_engine *e, const char *identity)
{
	size_t len = strlen(identity);
	return (quota__owner_rec *)quota__table_find(&e->policies->owners,
						     quota__hash(e, identity, len), identity, len);
}

/* What changes, under the config write lock (the transaction's): the
 * applies, the removals, and the record's entries that stay. */
static int plan(quota_engine *e, sync_state *st)
{
	for (uint32_t i = 0; i < st->wn; i++) {
		const quota_grant *g = st->w[i].view;
		const wanted *first = wanted_grant(st, g->ns, g->name);
		if (first != &st->w[i])
			return quota__fail(QUOTA_ERR_CONFLICT,
					   "policies %s and %s both render grant %s/%s",
					   first->p->name, st->w[i].p->name, g->ns, g->name);
		int exists, rc;
		const char *o = quota__grant_owner(e, g->ns, g->name, &exists);
		if (exists && !owned_by_object(o, st->t.identity))
			return quota__fail(QUOTA_ERR_CONFLICT,
					   "policy %s: grant %s/%s exists and was made %s",
					   st->w[i].p->name, g->ns, g->name,
					   o ? "for another object"
					     : "by the host, not a grant policy");
		if ((rc = quota__grant_check_regs(e, g)))
			return quota__fail_prefix(rc, "policy %s: the grant it renders",
						  st->w[i].p->name);
	}
	uint32_t entries = st->rec ? st->rec->n : 0;
	st->ed = quota__calloc(st->wn + entries + 1, sizeof *st->ed);
	st->removed_policy = quota__calloc(entries + 1, sizeof *st->removed_policy);
	st->kept = quota__calloc(entries + 1, sizeof *st->kept);
	if (!st->ed || !st->removed_policy || !st->kept)
		return quota__fail(QUOTA_ERR_NOMEM, "policy: out of memory");
	for (uint32_t i = 0; i < st->wn; i++) {
		st->ed[st->en].apply = st->w[i].view;
		st->ed[st->en++].owner = st->w[i].owner;
	}
	for (uint32_t i = 0; i < entries; i++) {
		const quota__owned *g = &st->rec->g[i];
		if (wanted_grant(st, g->ns, g->name))
			continue; /* rendered again, maybe by another policy: it stays */
		int exists;
		const char *o = quota__grant_owner(e, g->ns, g->name, &exists);
		int ours = exists && o && strncmp(o, g->policy, strlen(g->policy)) == 0 &&
			   o[strlen(g->policy)] == '\n' && owned_by_object(o, st->t.identity);
		if (!ours)
			continue; /* gone, or made again by someone else: forget it */
		if (st->event != QUOTA_TRIGGER_DELETED && !consulted(st, g->policy)) {
			st->kept[st->kept_n++] = i; /* a disabled or deleted policy's */
			continue;
		}
		st->removed_policy[st->en - st->wn] = g->policy;
		st->ed[st->en].ns = g->ns;
		st->ed[st->en++].name = g->name;
	}
	return QUOTA_OK;
}

/* The owner record of identity with n entries, entry i given by at(arg,
 * i) (strings are copied). */
typedef quota__owned (*owned_at_fn)(const void *arg, uint32_t i);

static quota__owner_rec *pack_owner(quota__pack *p, const char *identity, uint32_t n,
				    owned_at_fn at, const void *arg)
{
	quota__owner_rec *r = quota__pack_take(p, sizeof *r);
	quota__owned *g = quota__pack_take(p, n * sizeof *g);
	const char *key = quota__pack_str(p, identity);
	for (uint32_t i = 0; i < n; i++) {
		quota__owned o = at(arg, i);
		quota__owned x = {quota__pack_str(p, o.policy), quota__pack_str(p, o.ns),
				  quota__pack_str(p, o.name)};
		if (g)
			g[i] = x;
	}
	if (r) {
		memset(r, 0, sizeof *r);
		r->node.key = key;
		r->node.key_len = strlen(identity);
		r->n = n;
		r->g = g;
	}
	return r;
}

/* Entry i of the object's new record: the entries kept, then the grants
 * wanted. */
static quota__owned sync_owned_at(const void *arg, uint32_t i)
{
	const sync_state *st = arg;
	if (i < st->kept_n)
		return st->rec->g[st->kept[i]];
	const wanted *w = &st->w[i - st->kept_n];
	return (quota__owned){w->p->name, w->view->ns, w->view->name};
}

/* Put rec (may be NULL) in the table in place of old (may be NULL); caller
 * holds config (write). */
static void owner_swap(quota_engine *e, quota__owner_rec *old, quota__owner_rec *rec)
{
	quota__table *owners = &e->policies->owners;
	if (old)
		quota__table_remove(owners, &old->node);
	if (rec) {
		rec->node.hash = quota__hash(e, rec->node.key, rec->node.key_len);
		quota__table_insert(owners, &rec->node);
	}
	quota__free(old);
}

static quota_grant_change **pack_changes(quota__pack *p, const sync_state *st, size_t *count)
{
	uint32_t n = st->en;
	quota_grant_change **items = quota__pack_take(p, n * sizeof *items);
	for (uint32_t i = 0; i < n; i++) {
		const sync_edit *ed = &st->ed[i];
		quota_grant_change *c = quota__pack_take(p, sizeof *c);
		quota_grant_change x = {0};
		x.size = sizeof x;
		int applied = i < st->wn;
		const quota_parent_context *pc = applied ? &st->w[i].p->pub.grant->parent_context
							 : NULL;
		x.policy = quota__pack_str(p, applied ? st->w[i].p->name
						      : st->removed_policy[i - st->wn]);
		x.ns = quota__pack_str(p, applied ? st->w[i].view->ns : ed->ns);
		x.name = quota__pack_str(p, applied ? st->w[i].view->name : ed->name);
		x.removed = !applied;
		x.generation = ed->generation;
		x.parent_kind = quota__pack_str(p, applied ? pc->kind : "");
		x.parent_api_group = quota__pack_str(p, applied ? pc->api_group : "");
		x.parent_name = quota__pack_str(p, applied && st->w[i].parent_name
							   ? st->w[i].parent_name
							   : "");
		if (c)
			*c = x;
		if (items)
			items[i] = c;
	}
	*count = n;
	return items;
}

/* Measure and allocate a pack, then write it; NULL when out of memory. */
#define PACK_TWICE(p, expr) ((void)(expr), quota__pack_begin_write(p) ? NULL : (expr))

/* Prepare every grant change in transaction t, allocate the output and
 * the new record, and install the record; the caller then commits t
 * (which cannot fail) when this returns QUOTA_OK, else aborts it. Caller
 * holds the store (read); t holds config (write). */
static int apply(quota__txn *t, sync_state *st, quota_grant_change ***changes, size_t *count)
{
	quota_engine *e = t->e;
	quota__pack out = {0}, rp = {0};
	quota_grant_change **items = NULL;
	size_t n = 0;
	int rc = QUOTA_OK;
	for (uint32_t i = 0; i < st->en && !rc; i++) {
		sync_edit *ed = &st->ed[i];
		ed->generation = 0;
		rc = ed->apply ? quota__txn_grant(t, ed->apply, ed->owner, &ed->generation)
			       : quota__txn_grant_delete(t, ed->ns, ed->name);
	}
	if (rc)
		return rc;
	uint32_t rec_n = st->kept_n + st->wn;
	quota__owner_rec *rec = rec_n ? PACK_TWICE(&rp, pack_owner(&rp, st->t.identity, rec_n,
								   sync_owned_at, st))
				      : NULL;
	if (changes)
		items = PACK_TWICE(&out, pack_changes(&out, st, &n));
	if ((rec_n && !rec) || (changes && !items)) {
		quota__free(rp.base);
		quota__free(out.base);
		return quota__fail(QUOTA_ERR_NOMEM, "policy: out of memory");
	}
	/* Nothing can fail from here on: the record changes now, the grants
	 * when the caller commits, both before config is let go. */
	owner_swap(e, st->rec, rec);
	st->rec = NULL;
	if (changes) {
		*changes = items;
		*count = n;
	}
	return QUOTA_OK;
}

static void state_free(sync_state *st)
{
	for (uint32_t i = 0; st->w && i < st->wn; i++) {
		quota__free(st->w[i].grant);
		quota__free(st->w[i].parent_name);
		quota__free(st->w[i].owner);
	}
	quota__free(st->w);
	quota__free(st->consulted);
	quota__free(st->kept);
	quota__free(st->ed);
	quota__free(st->removed_policy);
}

int quota__impl_grant_policies_sync(quota_engine *e, const quota_doc *trigger, int32_t event,
					quota_grant_change ***changes, size_t *count)
{
	sync_state st = {0};
	int rc;
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	if (!changes != !count)
		return quota__fail(QUOTA_ERR_INVALID, "changes, count: give both or neither");
	if (changes) {
		*changes = NULL;
		*count = 0;
	}
	if (event < QUOTA_TRIGGER_ADDED || event > QUOTA_TRIGGER_DELETED)
		return quota__fail(QUOTA_ERR_INVALID, "event: %d is not a QUOTA_TRIGGER_*", event);
	if ((rc = quota__trigger_read(trigger, &st.t)) ||
	    (rc = quota__trigger_need_identity(&st.t)))
		return rc;
	st.event = event;
	quota__rw_read(&e->policies->lock);
	if (event != QUOTA_TRIGGER_DELETED)
		rc = evaluate(e, &st);
	if (!rc) {
		quota__txn txn;
		quota__txn_begin(e, &txn);
		txn.defer_after = 1; /* quota__after() below, with the store let go */
		st.rec = rec_find(e, st.t.identity);
		if (!(rc = plan(e, &st)))
			rc = apply(&txn, &st, changes, count);
		quota__txn_end(&txn, rc);
	}
	quota__rw_read_done(&e->policies->lock);
	state_free(&st);
	quota__after(e);
	return rc;
}

static quota__owned array_owned_at(const void *arg, uint32_t i)
{
	return ((const quota__owned *)arg)[i];
}

int quota__owner_restore(quota_engine *e, const char *identity, const quota__owned *g, uint32_t n)
{
	quota__pack p = {0};
	quota__owner_rec *rec = PACK_TWICE(&p, pack_owner(&p, identity, n, array_owned_at, g));
	if (!rec)
		return quota__fail(QUOTA_ERR_NOMEM, "policy: out of memory");
	quota__rw_write(&e->config);
	owner_swap(e, rec_find(e, identity), rec);
	quota__rw_write_done(&e->config);
	return QUOTA_OK;
}
