/*
 * The evaluator: walks the checked tree. Scalars travel inline; strings,
 * lists and maps are borrowed from the inputs or the expression where they
 * can be and only built when an operation makes a new one.
 *
 * Errors follow CEL: && and || absorb an error when the other side decides
 * the result (false && error is false, error || true is true), all() and
 * exists() likewise across their rounds, and ?: evaluates only the branch
 * it takes. Out of memory and the cost budget are never absorbed.
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "expr.h"

const char *quota__type_name(int t)
{
	static const char *const names[] = {"null",   "bool", "int", "double",
					    "string", "list", "map"};
	return t >= 0 && t <= QUOTA_DOC_MAP ? names[t] : "?";
}

void quota__xctx_init(xctx *c, const quota_doc *const *vars, uint64_t limit)
{
	c->vars = vars;
	c->cost = 0;
	c->limit = limit;
	c->fatal = 0;
	c->msg[0] = '\0';
}

int quota__xfail(xctx *c, const xnode *n, const char *fmt, ...)
{
	va_list ap;
	quota__expr_where(c->msg, sizeof c->msg, n->line, n->col);
	size_t k = strlen(c->msg);
	snprintf(c->msg + k, sizeof c->msg - k, ": ");
	k += 2;
	va_start(ap, fmt);
	vsnprintf(c->msg + k, sizeof c->msg - k, fmt, ap);
	va_end(ap);
	return QUOTA_ERR_EVAL;
}

int quota__xnomem(xctx *c)
{
	c->fatal = 1;
	snprintf(c->msg, sizeof c->msg, "expression: out of memory");
	return QUOTA_ERR_NOMEM;
}

int quota__xcharge(xctx *c, const xnode *n, uint64_t steps)
{
	if (c->limit - c->cost >= steps && c->cost <= c->limit) {
		c->cost += steps;
		return QUOTA_OK;
	}
	c->cost = c->limit + 1;
	c->fatal = 1;
	return quota__xfail(c, n, "cost budget of %llu steps exceeded",
			    (unsigned long long)c->limit);
}

int quota__xval_to_doc(xctx *c, xval *v, quota_doc **out)
{
	switch (v->t) {
	case QUOTA_DOC_NULL: *out = &quota__doc_null; break;
	case QUOTA_DOC_BOOL: *out = quota__doc_bool(v->u.b); break;
	case QUOTA_DOC_INT: *out = quota__doc_int(v->u.i); break;
	case QUOTA_DOC_DOUBLE: *out = quota__doc_double(v->u.d); break;
	default: *out = v->own ? v->u.doc : quota_doc_ref(v->u.doc);
	}
	v->own = 0;
	return *out ? QUOTA_OK : quota__xnomem(c);
}

/* A member of parent: borrowed when parent is, else its own reference.
 * Consumes parent. */
static xval member_of(xval *parent, const quota_doc *d)
{
	xval v = xval_of(d);
	if (parent->own && d->type >= QUOTA_DOC_STRING) {
		quota_doc_ref(d);
		v.own = 1;
	}
	xval_drop(parent);
	return v;
}

static int no_key(xctx *c, const xnode *n, const quota_doc *key)
{
	return quota__xfail(c, n, "no such key '%.*s'",
			    (int)(key->u.s.len > 64 ? 64 : key->u.s.len), key->u.s.ptr);
}

static int eval_select(xctx *c, const xnode *n, xval *out)
{
	xval m;
	int rc = quota__eval(c, n->a, &m);
	if (rc != QUOTA_OK)
		return rc;
	if (m.t != QUOTA_DOC_MAP) {
		xval_drop(&m);
		if (n->kind == N_HAS)
			return quota__xfail(c, n, "has() needs a map, got %s",
					    quota__type_name(m.t));
		return quota__xfail(c, n, "cannot select field '%s' from %s", n->v.doc->u.s.ptr,
				    quota__type_name(m.t));
	}
	const quota__entry *e = quota__doc_find(m.u.doc, n->v.doc->u.s.ptr, n->v.doc->u.s.len);
	if (n->kind == N_HAS) {
		xval_drop(&m);
		*out = xval_bool(e != NULL);
		return QUOTA_OK;
	}
	if (!e) {
		xval_drop(&m);
		return no_key(c, n, n->v.doc);
	}
	*out = member_of(&m, e->value);
	return QUOTA_OK;
}

/* Evaluate n->a and n->b; on failure neither is left to drop. */
static int eval_pair(xctx *c, const xnode *n, xval *a, xval *b)
{
	int rc = quota__eval(c, n->a, a);
	if (rc == QUOTA_OK && (rc = quota__eval(c, n->b, b)))
		xval_drop(a);
	return rc;
}

static int eval_index(xctx *c, const xnode *n, xval *out)
{
	xval a, i;
	int rc = eval_pair(c, n, &a, &i);
	if (rc != QUOTA_OK)
		return rc;
	const quota_doc *found = NULL;
	if (a.t == QUOTA_DOC_LIST && i.t == QUOTA_DOC_INT) {
		if (i.u.i < 0 || (uint64_t)i.u.i >= a.u.doc->u.l.n)
			rc = quota__xfail(c, n, "index %lld out of range (size %zu)",
					  (long long)i.u.i, a.u.doc->u.l.n);
		else
			found = a.u.doc->u.l.items[i.u.i];
	} else if (a.t == QUOTA_DOC_MAP && i.t == QUOTA_DOC_STRING) {
		const quota__entry *e = quota__doc_find(a.u.doc, i.u.doc->u.s.ptr,
							i.u.doc->u.s.len);
		if (e)
			found = e->value;
		else
			rc = no_key(c, n, i.u.doc);
	} else {
		rc = quota__xfail(c, n, "cannot index %s with %s", quota__type_name(a.t),
				  quota__type_name(i.t));
	}
	xval_drop(&i);
	if (rc != QUOTA_OK) {
		xval_drop(&a);
		return rc;
	}
	*out = member_of(&a, found);
	return QUOTA_OK;
}

/* && and ||: the left side first, the right one only when the left does
 * not decide; an error on one side gives way to a deciding other side. */
static int eval_logic(xctx *c, const xnode *n, xval *out)
{
	const char *op = n->kind == N_AND ? "&&" : "||";
	int decider = n->kind == N_OR, rc[2];
	char first_error[sizeof c->msg];
	const xnode *side[2] = {n->a, n->b};
	for (int i = 0; i < 2; i++) {
		xval v;
		rc[i] = quota__eval(c, side[i], &v);
		if (rc[i] == QUOTA_OK && v.t != QUOTA_DOC_BOOL) {
			xval_drop(&v);
			rc[i] = quota__xfail(c, side[i], "'%s' needs bool operands, got %s", op,
					     quota__type_name(v.t));
		}
		if (rc[i] != QUOTA_OK && c->fatal)
			return rc[i];
		if (rc[i] == QUOTA_OK && v.u.b == decider) {
			*out = xval_bool(decider);
			return QUOTA_OK;
		}
		if (i == 0 && rc[0] != QUOTA_OK)
			memcpy(first_error, c->msg, sizeof first_error);
	}
	if (rc[0] != QUOTA_OK) {
		memcpy(c->msg, first_error, sizeof c->msg);
		return rc[0];
	}
	if (rc[1] != QUOTA_OK)
		return rc[1];
	*out = xval_bool(!decider);
	return QUOTA_OK;
}

static int eval_cond(xctx *c, const xnode *n, xval *out)
{
	xval v;
	int rc = quota__eval(c, n->a, &v);
	if (rc != QUOTA_OK)
		return rc;
	if (v.t != QUOTA_DOC_BOOL) {
		xval_drop(&v);
		return quota__xfail(c, n, "'?:' needs a bool condition, got %s",
				    quota__type_name(v.t));
	}
	return quota__eval(c, v.u.b ? n->b : n->c, out);
}

static int too_deep(xctx *c, const xnode *n, int rc)
{
	if (rc == QUOTA_ERR_NOMEM)
		return quota__xnomem(c);
	return quota__xfail(c, n, "value nested deeper than %d levels", QUOTA_DOC_MAX_DEPTH);
}

/* Evaluate x and append it to a list under construction. */
static int push_value(xctx *c, const xnode *n, quota_doc *list, xval *v)
{
	quota_doc *d;
	int rc = quota__xval_to_doc(c, v, &d);
	if (rc == QUOTA_OK && (rc = quota__doc_push(list, d)))
		return too_deep(c, n, rc);
	return rc;
}

static int eval_list(xctx *c, const xnode *n, xval *out)
{
	quota_doc *list = quota__doc_list(n->nargs);
	int rc = QUOTA_OK;
	if (!list)
		return quota__xnomem(c);
	for (uint32_t i = 0; i < n->nargs && rc == QUOTA_OK; i++) {
		xval v;
		if ((rc = quota__eval(c, n->args[i], &v)) == QUOTA_OK)
			rc = push_value(c, n, list, &v);
	}
	if (rc != QUOTA_OK) {
		quota_doc_unref(list);
		return rc;
	}
	*out = xval_take(list);
	return QUOTA_OK;
}

static int eval_map(xctx *c, const xnode *n, xval *out)
{
	quota_doc *map = quota__doc_map(n->nargs / 2), *key = NULL, *value;
	int rc = QUOTA_OK;
	if (!map)
		return quota__xnomem(c);
	for (uint32_t i = 0; i < n->nargs && rc == QUOTA_OK; i += 2) {
		xval k, v;
		if ((rc = quota__eval(c, n->args[i], &k)))
			break;
		if (k.t != QUOTA_DOC_STRING) {
			rc = quota__xfail(c, n->args[i], "map keys must be strings, got %s",
					  quota__type_name(k.t));
		} else if (quota__doc_find(map, k.u.doc->u.s.ptr, k.u.doc->u.s.len)) {
			rc = quota__xfail(c, n->args[i], "duplicate key '%s' in a map",
					  k.u.doc->u.s.ptr);
		} else if ((rc = quota__eval(c, n->args[i + 1], &v)) == QUOTA_OK &&
			   (rc = quota__xval_to_doc(c, &v, &value)) == QUOTA_OK) {
			rc = quota__xval_to_doc(c, &k, &key);
			if (rc != QUOTA_OK)
				quota_doc_unref(value);
			else if ((rc = quota__doc_put(map, key, value)))
				rc = too_deep(c, n, rc);
		}
		xval_drop(&k);
	}
	if (rc != QUOTA_OK) {
		quota_doc_unref(map);
		return rc;
	}
	*out = xval_take(map);
	return QUOTA_OK;
}

/* Evaluate a predicate, which must give a bool. */
static int eval_predicate(xctx *c, const xnode *n, const char *macro, int *result)
{
	xval v;
	int rc = quota__eval(c, n, &v);
	if (rc != QUOTA_OK)
		return rc;
	if (v.t != QUOTA_DOC_BOOL) {
		xval_drop(&v);
		return quota__xfail(c, n, "the predicate of %s() must give a bool, got %s", macro,
				    quota__type_name(v.t));
	}
	*result = v.u.b;
	return QUOTA_OK;
}

static const char *const macro_names[] = {"all", "exists", "exists_one", "map", "filter"};

/* One round of a comprehension. *decided is set when all() or exists()
 * know their result; a predicate error in those is kept in *held (and its
 * message in held_msg) and the rounds go on. */
static int comprehension_round(xctx *c, const xnode *n, quota_doc *acc, int64_t *count,
			       int *decided, int *held, char *held_msg)
{
	const char *name = macro_names[n->op];
	int p = 1, rc = QUOTA_OK;
	if (n->b)
		rc = eval_predicate(c, n->b, name, &p);
	switch (n->op) {
	case C_ALL:
	case C_EXISTS:
		if (rc != QUOTA_OK && !c->fatal) {
			if (!*held)
				memcpy(held_msg, c->msg, sizeof c->msg);
			*held = rc;
			return QUOTA_OK;
		}
		if (rc == QUOTA_OK && p == (n->op == C_EXISTS))
			*decided = 1;
		return rc;
	case C_EXISTS_ONE: *count += rc == QUOTA_OK && p; return rc;
	case C_FILTER:
		if (rc != QUOTA_OK || !p)
			return rc;
		xval item = c->locals[n->v.slot];
		item.own = 0;
		return push_value(c, n, acc, &item);
	default: /* C_MAP */
		if (rc != QUOTA_OK || !p)
			return rc;
		xval v;
		if ((rc = quota__eval(c, n->c, &v)))
			return rc;
		return push_value(c, n, acc, &v);
	}
}

static int eval_comprehension(xctx *c, const xnode *n, xval *out)
{
	xval range;
	int rc = quota__eval(c, n->a, &range), decided = 0, held = 0;
	char held_msg[sizeof c->msg];
	if (rc != QUOTA_OK)
		return rc;
	if (range.t != QUOTA_DOC_LIST && range.t != QUOTA_DOC_MAP) {
		xval_drop(&range);
		return quota__xfail(c, n, "%s() needs a list or a map, got %s", macro_names[n->op],
				    quota__type_name(range.t));
	}
	const quota_doc *r = range.u.doc;
	size_t size = r->type == QUOTA_DOC_LIST ? r->u.l.n : r->u.m.n;
	quota_doc *acc = NULL;
	int64_t count = 0;
	if (n->op == C_MAP || n->op == C_FILTER) {
		if (!(acc = quota__doc_list(0))) {
			xval_drop(&range);
			return quota__xnomem(c);
		}
	}
	for (size_t i = 0; i < size && !decided && rc == QUOTA_OK; i++) {
		if ((rc = quota__xcharge(c, n, 1)))
			break;
		c->locals[n->v.slot] = xval_of(r->type == QUOTA_DOC_LIST ? r->u.l.items[i]
									 : r->u.m.e[i].key);
		rc = comprehension_round(c, n, acc, &count, &decided, &held, held_msg);
	}
	xval_drop(&range);
	if (rc == QUOTA_OK && held && !decided) {
		memcpy(c->msg, held_msg, sizeof c->msg);
		rc = held;
	}
	if (rc != QUOTA_OK) {
		quota_doc_unref(acc);
		return rc;
	}
	switch (n->op) {
	case C_ALL: *out = xval_bool(!decided); break;
	case C_EXISTS: *out = xval_bool(decided); break;
	case C_EXISTS_ONE: *out = xval_bool(count == 1); break;
	default: *out = xval_take(acc);
	}
	return QUOTA_OK;
}

/* Evaluate the arguments of a call (at most the receiver and two more). */
static int eval_call(xctx *c, const xnode *n, xval *out)
{
	xval args[3];
	int rc = QUOTA_OK;
	uint32_t i;
	for (i = 0; i < n->nargs && rc == QUOTA_OK; i++)
		rc = quota__eval(c, n->args[i], &args[i]);
	if (rc != QUOTA_OK) {
		for (uint32_t k = 0; k + 1 < i; k++)
			xval_drop(&args[k]);
		return rc;
	}
	return quota__eval_call(c, n, args, out);
}

static int eval_unary(xctx *c, const xnode *n, xval *out)
{
	xval v;
	int rc = quota__eval(c, n->a, &v);
	if (rc != QUOTA_OK)
		return rc;
	if (n->kind == N_NEG)
		return quota__eval_neg(c, n, &v, out);
	if (v.t != QUOTA_DOC_BOOL) {
		xval_drop(&v);
		return quota__xfail(c, n, "'!' needs a bool, got %s", quota__type_name(v.t));
	}
	*out = xval_bool(!v.u.b);
	return QUOTA_OK;
}

static int eval_binary(xctx *c, const xnode *n, xval *out)
{
	xval l, r;
	int rc = eval_pair(c, n, &l, &r);
	return rc ? rc : quota__eval_binary(c, n, &l, &r, out);
}

int quota__eval(xctx *c, const xnode *n, xval *out)
{
	if (++c->cost > c->limit) {
		c->cost--;
		return quota__xcharge(c, n, 1);
	}
	switch (n->kind) {
	case N_NULL: *out = (xval){QUOTA_DOC_NULL, 0, {0}}; return QUOTA_OK;
	case N_BOOL: *out = xval_bool(n->v.b); return QUOTA_OK;
	case N_INT: *out = xval_int(n->v.i); return QUOTA_OK;
	case N_DOUBLE: *out = (xval){QUOTA_DOC_DOUBLE, 0, {.d = n->v.d}}; return QUOTA_OK;
	case N_STRING:
	case N_CONST: *out = xval_of(n->v.doc); return QUOTA_OK;
	case N_VAR: *out = xval_of(c->vars[n->v.slot]); return QUOTA_OK;
	case N_LOCAL:
		*out = c->locals[n->v.slot];
		out->own = 0;
		return QUOTA_OK;
	case N_SELECT:
	case N_HAS: return eval_select(c, n, out);
	case N_INDEX: return eval_index(c, n, out);
	case N_NOT:
	case N_NEG: return eval_unary(c, n, out);
	case N_BINARY: return eval_binary(c, n, out);
	case N_AND:
	case N_OR: return eval_logic(c, n, out);
	case N_COND: return eval_cond(c, n, out);
	case N_LIST: return eval_list(c, n, out);
	case N_MAP: return eval_map(c, n, out);
	case N_CALL: return eval_call(c, n, out);
	case N_COMP: return eval_comprehension(c, n, out);
	default: return quota__xfail(c, n, "internal error: node kind %d", n->kind);
	}
}
