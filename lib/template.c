/*
 * Templates: literal text with {{ expression }} parts.
 * SPDX-License-Identifier: MIT
 */
#include <quota/template.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "expr/expr.h"
#include "text.h"
#include "util.h"

typedef struct part {
	size_t off, len;    /* literal text: the bytes of src */
	quota_expr *x;      /* or an expression */
	uint32_t line, col; /* where its "{{" is */
} part;

struct quota_template {
	char *src;
	size_t len;
	part *parts;
	uint32_t nparts, var_count;
};

/* A position in the source that moves forward, keeping line and column. */
typedef struct cursor {
	const char *s;
	size_t pos;
	uint32_t line, col;
} cursor;

static void move_to(cursor *c, size_t to)
{
	quota__text_advance(c->s + c->pos, to - c->pos, &c->line, &c->col);
	c->pos = to;
}

static int is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* The end of the string literal whose quote is at s[i] (just past it, or
 * n when it does not end). */
static size_t skip_string(const char *s, size_t n, size_t i)
{
	int raw = i > 0 && (s[i - 1] == 'r' || s[i - 1] == 'R') &&
		  !(i > 1 && is_word_char(s[i - 2]));
	char q = s[i];
	size_t qlen = i + 2 < n && s[i + 1] == q && s[i + 2] == q ? 3 : 1;
	for (i += qlen; i < n; i++) {
		if (s[i] == '\\' && !raw) {
			i++;
			continue;
		}
		if (s[i] == q && (qlen == 1 || (i + 2 < n && s[i + 1] == q && s[i + 2] == q)))
			return i + qlen;
	}
	return n;
}

/* Where the part that starts at s[i] ends: the index of its "}}", or n. */
static size_t part_end(const char *s, size_t n, size_t i)
{
	size_t braces = 0;
	while (i < n) {
		char c = s[i];
		if (c == '"' || c == '\'') {
			i = skip_string(s, n, i);
			continue;
		}
		if (c == '{')
			braces++;
		else if (c == '}' && braces > 0)
			braces--;
		else if (c == '}' && i + 1 < n && s[i + 1] == '}')
			return i;
		i++;
	}
	return n;
}

static int add_part(quota_template *t, uint32_t *cap, const part *p)
{
	if (t->nparts == *cap) {
		uint32_t grown = *cap ? *cap * 2 : 4;
		part *a = quota__calloc(grown, sizeof *a);
		if (!a)
			return QUOTA_ERR_NOMEM;
		if (t->nparts)
			memcpy(a, t->parts, t->nparts * sizeof *a);
		quota__free(t->parts);
		t->parts = a;
		*cap = grown;
	}
	t->parts[t->nparts++] = *p;
	return QUOTA_OK;
}

static int split(quota_template *t, const char *const *vars, uint32_t var_count)
{
	cursor c = {t->src, 0, 1, 1};
	uint32_t cap = 0;
	int rc = QUOTA_OK;
	while (c.pos < t->len && rc == QUOTA_OK) {
		const char *open = strstr(t->src + c.pos, "{{");
		size_t lit_end = open ? (size_t)(open - t->src) : t->len;
		if (lit_end > c.pos) {
			part lit = {c.pos, lit_end - c.pos, NULL, c.line, c.col};
			if ((rc = add_part(t, &cap, &lit)))
				break;
			move_to(&c, lit_end);
		}
		if (!open)
			break;
		part p = {0, 0, NULL, c.line, c.col};
		size_t end = part_end(t->src, t->len, lit_end + 2);
		if (end >= t->len)
			return quota__expr_parse_error(c.line, c.col, "'{{' without its '}}'");
		move_to(&c, lit_end + 2);
		rc = quota__expr_build(t->src, lit_end + 2, end, c.line, c.col, vars, var_count,
				       &p.x);
		if (rc == QUOTA_OK && (rc = add_part(t, &cap, &p)))
			quota_expr_free(p.x);
		move_to(&c, end + 2);
	}
	return rc == QUOTA_ERR_NOMEM ? quota__fail(rc, "template: out of memory") : rc;
}

QUOTA_API void quota_template_free(quota_template *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->nparts; i++)
		quota_expr_free(t->parts[i].x);
	quota__free(t->parts);
	quota__free(t->src);
	quota__free(t);
}

QUOTA_API int quota_template_compile(const char *src, const char *const *vars, uint32_t var_count,
				     quota_template **out)
{
	if (!src || !out)
		return quota__fail(QUOTA_ERR_INVALID, "template: %s must not be NULL",
				   src ? "out" : "src");
	*out = NULL;
	int rc = quota__expr_check_vars(vars, var_count);
	if (rc != QUOTA_OK)
		return rc;
	size_t len = strnlen(src, QUOTA_TEMPLATE_MAX_LENGTH + 1);
	if (len > QUOTA_TEMPLATE_MAX_LENGTH)
		return quota__fail(QUOTA_ERR_PARSE, "template: longer than %d bytes",
				   QUOTA_TEMPLATE_MAX_LENGTH);
	size_t bad = quota__utf8_invalid_at(src, len);
	if (bad < len)
		return quota__fail(QUOTA_ERR_PARSE, "template: invalid UTF-8 at byte %zu", bad);
	quota_template *t = quota__calloc(1, sizeof *t);
	if (!t || !(t->src = quota__malloc(len + 1))) {
		quota__free(t);
		return quota__fail(QUOTA_ERR_NOMEM, "template: out of memory");
	}
	memcpy(t->src, src, len + 1);
	t->len = len;
	t->var_count = var_count;
	rc = split(t, vars, var_count);
	if (rc != QUOTA_OK) {
		quota_template_free(t);
		return rc;
	}
	*out = t;
	return QUOTA_OK;
}

QUOTA_API int quota_template_is_literal(const quota_template *t)
{
	if (!t)
		return quota__fail(QUOTA_ERR_INVALID, "template: must not be NULL");
	for (uint32_t i = 0; i < t->nparts; i++)
		if (t->parts[i].x)
			return 0;
	return 1;
}

/* Evaluate one part and append its string. */
static int render_part(const part *p, xctx *c, quota__text *out)
{
	xval v;
	int rc = quota__expr_run(p->x, c, &v);
	if (rc != QUOTA_OK)
		return rc;
	if (v.t != QUOTA_DOC_STRING) {
		char where[48];
		xval_drop(&v);
		quota__expr_where(where, sizeof where, p->line, p->col);
		return quota__fail(QUOTA_ERR_EVAL,
				   "%s: the template part must give a string, got %s", where,
				   quota__type_name(v.t));
	}
	quota__text_putn(out, v.u.doc->u.s.ptr, v.u.doc->u.s.len);
	xval_drop(&v);
	return QUOTA_OK;
}

QUOTA_API int quota_template_render(const quota_template *t, const quota_doc *const *values,
				    uint32_t value_count, const quota_expr_options *opts,
				    char **out, size_t *len)
{
	quota__text text = {0};
	xctx c;
	int rc;
	if (!t || !out)
		return quota__fail(QUOTA_ERR_INVALID, "template: %s must not be NULL",
				   t ? "out" : "template");
	*out = NULL;
	if ((rc = quota__expr_start(t->var_count, values, value_count, opts, &c)))
		return rc;
	quota__text_grow(&text, t->len);
	for (uint32_t i = 0; i < t->nparts && rc == QUOTA_OK; i++) {
		const part *p = &t->parts[i];
		if (p->x)
			rc = render_part(p, &c, &text);
		else
			quota__text_putn(&text, t->src + p->off, p->len);
	}
	rc = quota__text_finish(&text, rc, out, len);
	return rc == QUOTA_ERR_NOMEM ? quota__fail(rc, "template: out of memory") : rc;
}
