/*
 * Functions: size, startsWith, endsWith, contains, matches, lowerAscii,
 * upperAscii, and the conversions int, double and string.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "../number.h"
#include "../util.h"
#include "expr.h"

static const char *const names[] = {"size",       "startsWith", "endsWith", "contains", "matches",
				    "lowerAscii", "upperAscii", "int",      "double",   "string"};

static int wrong_type(xctx *c, const xnode *n, const char *wanted, const xval *args)
{
	if (n->nargs == 2)
		return quota__xfail(c, n, "%s() needs %s, got %s and %s", names[n->op], wanted,
				    quota__type_name(args[0].t), quota__type_name(args[1].t));
	return quota__xfail(c, n, "%s() needs %s, got %s", names[n->op], wanted,
			    quota__type_name(args[0].t));
}

/* Up to 64 bytes of a string, for messages. */
#define SHOWN(d) (int)((d)->u.s.len > 64 ? 64 : (d)->u.s.len), (d)->u.s.ptr

static int fn_size(xctx *c, const xnode *n, const xval *args, xval *out)
{
	const xval *v = &args[0];
	switch (v->t) {
	case QUOTA_DOC_STRING: {
		int rc = quota__xcharge(c, n, quota__text_steps(v->u.doc->u.s.len));
		if (rc != QUOTA_OK)
			return rc;
		*out = xval_int((int64_t)quota__utf8_count(v->u.doc->u.s.ptr, v->u.doc->u.s.len));
		return QUOTA_OK;
	}
	case QUOTA_DOC_LIST: *out = xval_int((int64_t)v->u.doc->u.l.n); return QUOTA_OK;
	case QUOTA_DOC_MAP: *out = xval_int((int64_t)v->u.doc->u.m.n); return QUOTA_OK;
	default: return wrong_type(c, n, "a string, list or map", args);
	}
}

/* startsWith, endsWith, contains. */
static int fn_substring(xctx *c, const xnode *n, const xval *args, xval *out)
{
	if (args[0].t != QUOTA_DOC_STRING || args[1].t != QUOTA_DOC_STRING)
		return wrong_type(c, n, "strings", args);
	const quota_doc *s = args[0].u.doc, *p = args[1].u.doc;
	int rc = quota__xcharge(c, n, quota__text_steps(s->u.s.len));
	if (rc != QUOTA_OK)
		return rc;
	int found = 0;
	if (p->u.s.len == 0)
		found = 1;
	else if (p->u.s.len > s->u.s.len)
		found = 0;
	else if (n->op == F_STARTS_WITH)
		found = memcmp(s->u.s.ptr, p->u.s.ptr, p->u.s.len) == 0;
	else if (n->op == F_ENDS_WITH)
		found = memcmp(s->u.s.ptr + s->u.s.len - p->u.s.len, p->u.s.ptr, p->u.s.len) == 0;
	else
		found = memmem(s->u.s.ptr, s->u.s.len, p->u.s.ptr, p->u.s.len) != NULL;
	*out = xval_bool(found);
	return QUOTA_OK;
}

static int fn_matches(xctx *c, const xnode *n, const xval *args, xval *out)
{
	if (args[0].t != QUOTA_DOC_STRING || args[1].t != QUOTA_DOC_STRING)
		return wrong_type(c, n, "strings", args);
	const quota_doc *s = args[0].u.doc, *p = args[1].u.doc;
	regex_t *re = n->v.re, *made = NULL;
	char err[160];
	int rc = quota__xcharge(c, n, quota__text_steps(s->u.s.len) + (re ? 0 : p->u.s.len));
	if (rc != QUOTA_OK)
		return rc;
	if (!re) {
		rc = quota__re_compile(p->u.s.ptr, p->u.s.len, &made, err, sizeof err);
		if (rc == QUOTA_ERR_NOMEM)
			return quota__xnomem(c);
		if (rc != QUOTA_OK)
			return quota__xfail(c, n->args[1], "%s", err);
		re = made;
	}
	int m = quota__re_match(re, s->u.s.ptr, s->u.s.len);
	quota__re_free(made);
	if (m < 0)
		return quota__xfail(c, n, "matches() failed to run the pattern");
	*out = xval_bool(m);
	return QUOTA_OK;
}

static int fn_case(xctx *c, const xnode *n, const xval *args, xval *out)
{
	if (args[0].t != QUOTA_DOC_STRING)
		return wrong_type(c, n, "a string", args);
	const quota_doc *s = args[0].u.doc;
	int rc = quota__xcharge(c, n, quota__text_steps(s->u.s.len));
	if (rc != QUOTA_OK)
		return rc;
	quota_doc *d = quota__doc_string(s->u.s.ptr, s->u.s.len);
	if (!d)
		return quota__xnomem(c);
	char from = n->op == F_LOWER_ASCII ? 'A' : 'a';
	for (size_t i = 0; i < d->u.s.len; i++)
		if (d->u.s.ptr[i] >= from && d->u.s.ptr[i] <= from + 25)
			d->u.s.ptr[i] ^= 0x20;
	*out = xval_take(d);
	return QUOTA_OK;
}

static int fn_int(xctx *c, const xnode *n, const xval *args, xval *out)
{
	const xval *v = &args[0];
	int64_t i;
	switch (v->t) {
	case QUOTA_DOC_INT: *out = *v; return QUOTA_OK;
	case QUOTA_DOC_DOUBLE:
		/* NaN fails both tests */
		if (!(v->u.d >= -9223372036854775808.0 && v->u.d < 9223372036854775808.0))
			return quota__xfail(c, n, "int() of %g is out of range", v->u.d);
		*out = xval_int((int64_t)v->u.d);
		return QUOTA_OK;
	case QUOTA_DOC_STRING:
		switch (quota__int_parse(v->u.doc->u.s.ptr, v->u.doc->u.s.len, &i)) {
		case 0: *out = xval_int(i); return QUOTA_OK;
		case -2:
			return quota__xfail(c, n, "int() of '%.*s' is out of range",
					    SHOWN(v->u.doc));
		default: return quota__xfail(c, n, "int() cannot parse '%.*s'", SHOWN(v->u.doc));
		}
	default: return wrong_type(c, n, "an int, double or string", args);
	}
}

static int fn_double(xctx *c, const xnode *n, const xval *args, xval *out)
{
	const xval *v = &args[0];
	double d;
	switch (v->t) {
	case QUOTA_DOC_INT: d = (double)v->u.i; break;
	case QUOTA_DOC_DOUBLE: d = v->u.d; break;
	case QUOTA_DOC_STRING:
		if (quota__double_parse(v->u.doc->u.s.ptr, v->u.doc->u.s.len, &d) != 0)
			return quota__xfail(c, n, "double() cannot parse '%.*s'", SHOWN(v->u.doc));
		break;
	default: return wrong_type(c, n, "an int, double or string", args);
	}
	*out = (xval){QUOTA_DOC_DOUBLE, 0, {.d = d}};
	return QUOTA_OK;
}

static int fn_string(xctx *c, const xnode *n, xval *args, xval *out)
{
	char buf[QUOTA__DOUBLE_TEXT];
	size_t len;
	switch (args[0].t) {
	case QUOTA_DOC_STRING:
		*out = args[0];
		args[0].own = 0; /* handed on */
		return QUOTA_OK;
	case QUOTA_DOC_INT:
		len = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)args[0].u.i);
		break;
	case QUOTA_DOC_DOUBLE: len = quota__double_format(args[0].u.d, buf); break;
	case QUOTA_DOC_BOOL:
		len = args[0].u.b ? 4 : 5;
		memcpy(buf, args[0].u.b ? "true" : "false", len);
		break;
	default: return wrong_type(c, n, "an int, double, bool or string", args);
	}
	quota_doc *d = quota__doc_string(buf, len);
	if (!d)
		return quota__xnomem(c);
	*out = xval_take(d);
	return QUOTA_OK;
}

int quota__eval_call(xctx *c, const xnode *n, xval *args, xval *out)
{
	int rc;
	switch (n->op) {
	case F_SIZE: rc = fn_size(c, n, args, out); break;
	case F_STARTS_WITH:
	case F_ENDS_WITH:
	case F_CONTAINS: rc = fn_substring(c, n, args, out); break;
	case F_MATCHES: rc = fn_matches(c, n, args, out); break;
	case F_LOWER_ASCII:
	case F_UPPER_ASCII: rc = fn_case(c, n, args, out); break;
	case F_INT: rc = fn_int(c, n, args, out); break;
	case F_DOUBLE: rc = fn_double(c, n, args, out); break;
	default: rc = fn_string(c, n, args, out); break;
	}
	for (uint32_t i = 0; i < n->nargs; i++)
		xval_drop(&args[i]);
	return rc;
}
