/*
 * Operators: arithmetic (int64 with overflow checks, doubles as IEEE),
 * concatenation of strings and lists, comparison, equality and 'in'.
 *
 * As in CEL, arithmetic never mixes int and double (1 + 1.0 is an error),
 * while comparisons and == compare ints and doubles by their exact values
 * (1 == 1.0, 2 < 2.5). == between other different types is false.
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "expr.h"

const char *const quota__op_name[] = {"+",  "-", "*",  "/",  "%",  "<",
				      "<=", ">", ">=", "==", "!=", "in"};

static int no_overload(xctx *c, const xnode *n, const xval *l, const xval *r)
{
	return quota__xfail(c, n, "no operator '%s' for %s and %s", quota__op_name[n->op],
			    quota__type_name(l->t), quota__type_name(r->t));
}

static int overflow(xctx *c, const xnode *n, const char *op)
{
	return quota__xfail(c, n, "integer overflow in '%s'", op);
}

static int int_arith(xctx *c, const xnode *n, int64_t a, int64_t b, int64_t *out)
{
	const char *op = quota__op_name[n->op];
	int over = 0;
	switch (n->op) {
	case OP_ADD: over = __builtin_add_overflow(a, b, out); break;
	case OP_SUB: over = __builtin_sub_overflow(a, b, out); break;
	case OP_MUL: over = __builtin_mul_overflow(a, b, out); break;
	default:
		if (b == 0)
			return quota__xfail(c, n,
					    n->op == OP_DIV ? "division by zero"
							    : "modulus by zero");
		if (a == INT64_MIN && b == -1)
			return overflow(c, n, op);
		*out = n->op == OP_DIV ? a / b : a % b;
	}
	return over ? overflow(c, n, op) : QUOTA_OK;
}

static double double_arith(int op, double a, double b)
{
	switch (op) {
	case OP_ADD: return a + b;
	case OP_SUB: return a - b;
	case OP_MUL: return a * b;
	default: return a / b;
	}
}

static int concat_strings(xctx *c, const xnode *n, const quota_doc *a, const quota_doc *b,
			  xval *out)
{
	int rc = quota__xcharge(c, n, quota__text_steps(a->u.s.len + b->u.s.len));
	if (rc != QUOTA_OK)
		return rc;
	size_t len = a->u.s.len + b->u.s.len;
	quota_doc *d = quota__doc_string(NULL, len);
	if (!d)
		return quota__xnomem(c);
	memcpy(d->u.s.ptr, a->u.s.ptr, a->u.s.len);
	memcpy(d->u.s.ptr + a->u.s.len, b->u.s.ptr, b->u.s.len);
	*out = xval_take(d);
	return QUOTA_OK;
}

static int concat_lists(xctx *c, const xnode *n, const quota_doc *a, const quota_doc *b, xval *out)
{
	size_t len = a->u.l.n + b->u.l.n;
	int rc = quota__xcharge(c, n, len + 1);
	if (rc != QUOTA_OK)
		return rc;
	quota_doc *d = quota__doc_list(len);
	if (!d)
		return quota__xnomem(c);
	const quota_doc *parts[2] = {a, b};
	for (int p = 0; p < 2; p++)
		for (size_t i = 0; i < parts[p]->u.l.n; i++)
			/* room is reserved and the depth cannot grow: cannot fail */
			quota__doc_push(d, quota_doc_ref(parts[p]->u.l.items[i]));
	*out = xval_take(d);
	return QUOTA_OK;
}

static int arith(xctx *c, const xnode *n, const xval *l, const xval *r, xval *out)
{
	int rc;
	if (l->t == QUOTA_DOC_INT && r->t == QUOTA_DOC_INT) {
		int64_t v = 0;
		if ((rc = int_arith(c, n, l->u.i, r->u.i, &v)))
			return rc;
		*out = xval_int(v);
		return QUOTA_OK;
	}
	if (l->t == QUOTA_DOC_DOUBLE && r->t == QUOTA_DOC_DOUBLE && n->op != OP_MOD) {
		*out = (xval){QUOTA_DOC_DOUBLE, 0, {.d = double_arith(n->op, l->u.d, r->u.d)}};
		return QUOTA_OK;
	}
	if (n->op == OP_ADD && l->t == QUOTA_DOC_STRING && r->t == QUOTA_DOC_STRING)
		return concat_strings(c, n, l->u.doc, r->u.doc, out);
	if (n->op == OP_ADD && l->t == QUOTA_DOC_LIST && r->t == QUOTA_DOC_LIST)
		return concat_lists(c, n, l->u.doc, r->u.doc, out);
	return no_overload(c, n, l, r);
}

/* -1, 0 or 1 for the exact order of an int and a double that is no NaN. */
static int cmp_int_double(int64_t i, double d)
{
	if (d >= 9223372036854775808.0)
		return -1;
	if (d < -9223372036854775808.0)
		return 1;
	int64_t t = (int64_t)d; /* toward zero, exact in range */
	if (i != t)
		return i < t ? -1 : 1;
	double frac = d - (double)t;
	return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

#define UNORDERED 2
#define NOT_COMPARABLE 3

/* The order of two values: -1, 0, 1, UNORDERED (a NaN is involved) or
 * NOT_COMPARABLE (types without an order between them). */
static int compare(const xval *a, const xval *b)
{
	int ta = a->t, tb = b->t;
	if ((ta == QUOTA_DOC_DOUBLE && a->u.d != a->u.d) ||
	    (tb == QUOTA_DOC_DOUBLE && b->u.d != b->u.d))
		return ta <= QUOTA_DOC_DOUBLE && tb <= QUOTA_DOC_DOUBLE && ta >= QUOTA_DOC_INT &&
				       tb >= QUOTA_DOC_INT
			       ? UNORDERED
			       : NOT_COMPARABLE;
	if (ta == QUOTA_DOC_INT && tb == QUOTA_DOC_INT)
		return (a->u.i > b->u.i) - (a->u.i < b->u.i);
	if (ta == QUOTA_DOC_DOUBLE && tb == QUOTA_DOC_DOUBLE)
		return (a->u.d > b->u.d) - (a->u.d < b->u.d);
	if (ta == QUOTA_DOC_INT && tb == QUOTA_DOC_DOUBLE)
		return cmp_int_double(a->u.i, b->u.d);
	if (ta == QUOTA_DOC_DOUBLE && tb == QUOTA_DOC_INT)
		return -cmp_int_double(b->u.i, a->u.d);
	if (ta == QUOTA_DOC_BOOL && tb == QUOTA_DOC_BOOL)
		return a->u.b - b->u.b;
	if (ta == QUOTA_DOC_STRING && tb == QUOTA_DOC_STRING) {
		const quota_doc *x = a->u.doc, *y = b->u.doc;
		size_t n = x->u.s.len < y->u.s.len ? x->u.s.len : y->u.s.len;
		int r = n ? memcmp(x->u.s.ptr, y->u.s.ptr, n) : 0;
		if (r != 0)
			return r < 0 ? -1 : 1;
		return (x->u.s.len > y->u.s.len) - (x->u.s.len < y->u.s.len);
	}
	return NOT_COMPARABLE;
}

int quota__xval_equal(const xval *a, const xval *b)
{
	int numeric_a = a->t == QUOTA_DOC_INT || a->t == QUOTA_DOC_DOUBLE;
	int numeric_b = b->t == QUOTA_DOC_INT || b->t == QUOTA_DOC_DOUBLE;
	if (numeric_a && numeric_b)
		return compare(a, b) == 0;
	if (a->t != b->t)
		return 0;
	switch (a->t) {
	case QUOTA_DOC_NULL: return 1;
	case QUOTA_DOC_BOOL:
	case QUOTA_DOC_STRING: return compare(a, b) == 0;
	default: break;
	}
	const quota_doc *x = a->u.doc, *y = b->u.doc;
	if (x == y)
		return 1;
	if (a->t == QUOTA_DOC_LIST) {
		if (x->u.l.n != y->u.l.n)
			return 0;
		for (size_t i = 0; i < x->u.l.n; i++) {
			xval p = xval_of(x->u.l.items[i]), q = xval_of(y->u.l.items[i]);
			if (!quota__xval_equal(&p, &q))
				return 0;
		}
		return 1;
	}
	if (x->u.m.n != y->u.m.n)
		return 0;
	for (size_t i = 0; i < x->u.m.n; i++) {
		const quota__entry *e = &x->u.m.e[i];
		const quota__entry *f = quota__doc_find(y, e->key->u.s.ptr, e->key->u.s.len);
		if (!f)
			return 0;
		xval p = xval_of(e->value), q = xval_of(f->value);
		if (!quota__xval_equal(&p, &q))
			return 0;
	}
	return 1;
}

/* What comparing two values may cost: their sizes, which bound the work. */
static uint64_t compare_steps(const xval *v)
{
	switch (v->t) {
	case QUOTA_DOC_STRING: return quota__text_steps(v->u.doc->u.s.len);
	case QUOTA_DOC_LIST: return v->u.doc->u.l.n + 1;
	case QUOTA_DOC_MAP: return v->u.doc->u.m.n + 1;
	default: return 0;
	}
}

static int contains(xctx *c, const xnode *n, const xval *x, const xval *in, xval *out)
{
	int rc;
	if (in->t == QUOTA_DOC_MAP) {
		int found = x->t == QUOTA_DOC_STRING &&
			    quota__doc_find(in->u.doc, x->u.doc->u.s.ptr, x->u.doc->u.s.len);
		*out = xval_bool(found);
		return QUOTA_OK;
	}
	if (in->t != QUOTA_DOC_LIST)
		return no_overload(c, n, x, in);
	if ((rc = quota__xcharge(c, n, compare_steps(in) + compare_steps(x))))
		return rc;
	const quota_doc *l = in->u.doc;
	for (size_t i = 0; i < l->u.l.n; i++) {
		xval item = xval_of(l->u.l.items[i]);
		if (quota__xval_equal(x, &item)) {
			*out = xval_bool(1);
			return QUOTA_OK;
		}
	}
	*out = xval_bool(0);
	return QUOTA_OK;
}

static int relation(xctx *c, const xnode *n, const xval *l, const xval *r, xval *out)
{
	int rc, ord;
	if (n->op == OP_IN)
		return contains(c, n, l, r, out);
	uint64_t steps = compare_steps(l) < compare_steps(r) ? compare_steps(l) : compare_steps(r);
	if ((rc = quota__xcharge(c, n, steps)))
		return rc;
	if (n->op == OP_EQ || n->op == OP_NE) {
		*out = xval_bool(quota__xval_equal(l, r) == (n->op == OP_EQ));
		return QUOTA_OK;
	}
	if ((ord = compare(l, r)) == NOT_COMPARABLE)
		return no_overload(c, n, l, r);
	switch (n->op) {
	case OP_LT: *out = xval_bool(ord == -1); break;
	case OP_LE: *out = xval_bool(ord == -1 || ord == 0); break;
	case OP_GT: *out = xval_bool(ord == 1); break;
	default: *out = xval_bool(ord == 1 || ord == 0); break;
	}
	return QUOTA_OK;
}

int quota__eval_binary(xctx *c, const xnode *n, xval *l, xval *r, xval *out)
{
	int rc = n->op <= OP_MOD ? arith(c, n, l, r, out) : relation(c, n, l, r, out);
	xval_drop(l);
	xval_drop(r);
	return rc;
}

int quota__eval_neg(xctx *c, const xnode *n, xval *v, xval *out)
{
	int rc = QUOTA_OK;
	if (v->t == QUOTA_DOC_INT) {
		if (v->u.i == INT64_MIN)
			return quota__xfail(c, n, "integer overflow in '-'");
		*out = xval_int(-v->u.i);
	} else if (v->t == QUOTA_DOC_DOUBLE) {
		*out = (xval){QUOTA_DOC_DOUBLE, 0, {.d = -v->u.d}};
	} else {
		rc = quota__xfail(c, n, "no operator '-' for %s", quota__type_name(v->t));
		xval_drop(v);
	}
	return rc;
}
