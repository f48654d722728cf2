/*
 * Compiled expressions: their memory, the public compile / eval / free
 * calls, and the positions in messages.
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../alloc.h"
#include "../error.h"
#include "../util.h"
#include "expr.h"
#include "lex.h"

#define NAME_MAX_LEN 64

void quota__expr_where(char *buf, size_t n, uint32_t line, uint32_t col)
{
	if (line > 1)
		snprintf(buf, n, "line %u, column %u", line, col);
	else
		snprintf(buf, n, "column %u", col);
}

int quota__expr_parse_error(uint32_t line, uint32_t col, const char *fmt, ...)
{
	char where[48], what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	quota__expr_where(where, sizeof where, line, col);
	return quota__fail(QUOTA_ERR_PARSE, "%s: %s", where, what);
}

/* ---- memory: nodes in an arena, documents and patterns on a list ---- */

typedef struct block {
	struct block *next;
	size_t used, cap;
	max_align_t data[];
} block;

void *quota__arena_alloc(void **arena, size_t n)
{
	block *b = *arena;
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 4096 ? n : 4096;
		block *fresh = quota__malloc(sizeof *fresh + cap);
		if (!fresh)
			return NULL;
		fresh->next = b;
		fresh->used = 0;
		fresh->cap = cap;
		*arena = b = fresh;
	}
	void *p = (char *)b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

void quota__arena_free(void *arena)
{
	for (block *b = arena, *next; b; b = next) {
		next = b->next;
		quota__free(b);
	}
}

static void release(const struct xowned *o)
{
	if (o->is_regex)
		quota__re_free(o->p);
	else
		quota_doc_unref(o->p);
}

static int keep(xres *r, void *p, int is_regex)
{
	struct xowned o = {p, is_regex};
	if (r->n == r->cap) {
		uint32_t grown = r->cap ? r->cap * 2 : 8;
		struct xowned *a = quota__calloc(grown, sizeof *a);
		if (!a) {
			release(&o);
			return QUOTA_ERR_NOMEM;
		}
		if (r->n)
			memcpy(a, r->items, r->n * sizeof *a);
		quota__free(r->items);
		r->items = a;
		r->cap = grown;
	}
	r->items[r->n++] = o;
	return QUOTA_OK;
}

int quota__res_doc(xres *r, quota_doc *d)
{
	return keep(r, d, 0);
}

int quota__res_regex(xres *r, regex_t *re)
{
	return keep(r, re, 1);
}

void quota__res_free(xres *r)
{
	for (uint32_t i = 0; i < r->n; i++)
		release(&r->items[i]);
	quota__free(r->items);
	memset(r, 0, sizeof *r);
}

/* ---- compiling ---- */

int quota__expr_check_vars(const char *const *vars, uint32_t n)
{
	if (n > QUOTA_EXPR_MAX_VARS)
		return quota__fail(QUOTA_ERR_INVALID, "expression: %u variables, at most %d", n,
				   QUOTA_EXPR_MAX_VARS);
	if (n && !vars)
		return quota__fail(QUOTA_ERR_INVALID, "expression: vars is NULL with count %u", n);
	for (uint32_t i = 0; i < n; i++) {
		const char *v = vars[i];
		size_t len = v ? strnlen(v, NAME_MAX_LEN + 1) : 0;
		int ok = len > 0 && len <= NAME_MAX_LEN && !(v[0] >= '0' && v[0] <= '9') &&
			 !quota__lex_is_keyword(v, len);
		for (size_t k = 0; ok && k < len; k++)
			ok = (v[k] >= 'a' && v[k] <= 'z') || (v[k] >= 'A' && v[k] <= 'Z') ||
			     (v[k] >= '0' && v[k] <= '9') || v[k] == '_';
		if (!ok)
			return quota__fail(QUOTA_ERR_INVALID,
					   "expression: vars[%u] \"%.64s\" is not a variable name "
					   "([A-Za-z_][A-Za-z0-9_]*, at most %d, no reserved word)",
					   i, v ? v : "(null)", NAME_MAX_LEN);
		for (uint32_t k = 0; k < i; k++)
			if (strcmp(vars[k], v) == 0)
				return quota__fail(QUOTA_ERR_INVALID,
						   "expression: vars[%u] repeats \"%s\"", i, v);
	}
	return QUOTA_OK;
}

int quota__expr_build(const char *src, size_t start, size_t end, uint32_t line, uint32_t col,
		      const char *const *vars, uint32_t var_count, quota_expr **out)
{
	int rc = quota__expr_check_vars(vars, var_count);
	if (rc != QUOTA_OK)
		return rc;
	if (end - start > QUOTA_EXPR_MAX_LENGTH)
		return quota__expr_parse_error(line, col, "expression is longer than %d bytes",
					       QUOTA_EXPR_MAX_LENGTH);
	quota_expr *x = quota__calloc(1, sizeof *x);
	if (!x)
		return quota__fail(QUOTA_ERR_NOMEM, "expression: out of memory");
	x->var_count = var_count;
	rc = quota__expr_parse(src, start, end, line, col, &x->arena, &x->owned, &x->root);
	if (rc == QUOTA_OK)
		rc = quota__expr_check(&x->root, vars, var_count, &x->arena, &x->owned);
	if (rc != QUOTA_OK) {
		quota_expr_free(x);
		return rc == QUOTA_ERR_NOMEM ? quota__fail(rc, "expression: out of memory") : rc;
	}
	*out = x;
	return QUOTA_OK;
}

QUOTA_API int quota_expr_compile(const char *src, const char *const *vars, uint32_t var_count,
				 quota_expr **out)
{
	if (!src || !out)
		return quota__fail(QUOTA_ERR_INVALID, "expression: %s must not be NULL",
				   src ? "out" : "src");
	*out = NULL;
	size_t len = strnlen(src, QUOTA_EXPR_MAX_LENGTH + 1);
	return quota__expr_build(src, 0, len, 1, 1, vars, var_count, out);
}

QUOTA_API void quota_expr_free(quota_expr *x)
{
	if (!x)
		return;
	quota__res_free(&x->owned);
	quota__arena_free(x->arena);
	quota__free(x);
}

/* ---- evaluating ---- */

QUOTA_API int quota_expr_options_init(quota_expr_options *o, size_t size)
{
	if (!o || size < sizeof *o)
		return quota__fail(QUOTA_ERR_INVALID,
				   "expression options: NULL or size %zu too small", size);
	memset(o, 0, sizeof *o);
	o->size = sizeof *o;
	o->cost_limit = QUOTA_EXPR_DEFAULT_COST_LIMIT;
	return QUOTA_OK;
}

static int cost_limit(const quota_expr_options *opts, uint64_t *limit)
{
	quota_expr_options o;
	int rc;
	*limit = QUOTA_EXPR_DEFAULT_COST_LIMIT;
	if (!opts)
		return QUOTA_OK;
	if ((rc = quota__copy_in("options", &o, sizeof o, opts,
				 offsetof(quota_expr_options, cost_limit) + sizeof o.cost_limit)))
		return rc;
	if (o.cost_limit == 0)
		return quota__fail(QUOTA_ERR_INVALID, "options.cost_limit: must be at least 1");
	*limit = o.cost_limit;
	return QUOTA_OK;
}

int quota__expr_start(uint32_t var_count, const quota_doc *const *values, uint32_t value_count,
		      const quota_expr_options *opts, xctx *c)
{
	uint64_t limit;
	if (value_count != var_count)
		return quota__fail(QUOTA_ERR_INVALID,
				   "expression: %u values given for %u variables", value_count,
				   var_count);
	for (uint32_t i = 0; i < value_count; i++)
		if (!values || !values[i])
			return quota__fail(QUOTA_ERR_INVALID, "expression: values[%u] is NULL", i);
	int rc = cost_limit(opts, &limit);
	if (rc == QUOTA_OK)
		quota__xctx_init(c, values, limit);
	return rc;
}

int quota__expr_run(const quota_expr *x, xctx *c, xval *out)
{
	int rc = quota__eval(c, x->root, out);
	if (rc != QUOTA_OK)
		return quota__fail(rc, "%s", c->msg);
	return QUOTA_OK;
}

/* Check the arguments of an evaluation and run it. */
static int evaluate(const quota_expr *x, const quota_doc *const *values, uint32_t value_count,
		    const quota_expr_options *opts, const void *result, xctx *c, xval *v)
{
	if (!x || !result)
		return quota__fail(QUOTA_ERR_INVALID, "expression: %s must not be NULL",
				   x ? "result" : "expression");
	int rc = quota__expr_start(x->var_count, values, value_count, opts, c);
	return rc ? rc : quota__expr_run(x, c, v);
}

QUOTA_API int quota_expr_eval(const quota_expr *x, const quota_doc *const *values,
			      uint32_t value_count, const quota_expr_options *opts,
			      quota_doc **result)
{
	xctx c;
	xval v;
	if (result)
		*result = NULL;
	int rc = evaluate(x, values, value_count, opts, result, &c, &v);
	if (rc == QUOTA_OK && (rc = quota__xval_to_doc(&c, &v, result)))
		return quota__fail(rc, "%s", c.msg);
	return rc;
}

QUOTA_API int quota_expr_eval_bool(const quota_expr *x, const quota_doc *const *values,
				   uint32_t value_count, const quota_expr_options *opts,
				   int32_t *result)
{
	xctx c;
	xval v;
	int rc = evaluate(x, values, value_count, opts, result, &c, &v);
	if (rc != QUOTA_OK)
		return rc;
	if (v.t != QUOTA_DOC_BOOL) {
		xval_drop(&v);
		quota__xfail(&c, x->root, "expected bool, got %s", quota__type_name(v.t));
		return quota__fail(QUOTA_ERR_EVAL, "%s", c.msg);
	}
	*result = v.u.b;
	return QUOTA_OK;
}
