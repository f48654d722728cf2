/*
 * JSON text to documents (through cJSON) and documents to JSON text (our
 * own writer, so that it works without cJSON).
 * SPDX-License-Identifier: MIT
 */
#include <quota/doc.h>
#include <string.h>

#include "alloc.h"
#include "doc.h"
#include "error.h"
#include "number.h"
#include "quota_config.h"
#include "text.h"
#include "util.h"

#if QUOTA_HAVE_CJSON
#include <cjson/cJSON.h>
#endif

/* ---- writing -------------------------------------------------------------- */

static void put_string(quota__text *t, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0; /* start of the bytes not yet written */
	quota__text_putn(t, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		quota__text_putn(t, s + run, i - run);
		run = i + 1;
		char esc[7] = {'\\', 0};
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
		}
		quota__text_putn(t, esc, strlen(esc));
	}
	quota__text_putn(t, s + run, n - run);
	quota__text_putn(t, "\"", 1);
}

static int put_doc(quota__text *t, const quota_doc *d)
{
	char num[QUOTA__DOUBLE_TEXT + 2];
	int rc;
	switch (d->type) {
	case QUOTA_DOC_NULL: quota__text_putn(t, "null", 4); break;
	case QUOTA_DOC_BOOL:
		d->u.b ? quota__text_putn(t, "true", 4) : quota__text_putn(t, "false", 5);
		break;
	case QUOTA_DOC_INT: quota__text_put(t, "%lld", (long long)d->u.i); break;
	case QUOTA_DOC_DOUBLE: {
		if (d->u.d != d->u.d || d->u.d - d->u.d != 0)
			return quota__fail(QUOTA_ERR_INVALID,
					   "doc: a NaN or infinite double has no JSON form");
		size_t n = quota__double_format(d->u.d, num);
		if (!strpbrk(num, ".e")) {
			memcpy(num + n, ".0", 3);
			n += 2;
		}
		quota__text_putn(t, num, n);
		break;
	}
	case QUOTA_DOC_STRING: put_string(t, d->u.s.ptr, d->u.s.len); break;
	case QUOTA_DOC_LIST:
		quota__text_putn(t, "[", 1);
		for (size_t i = 0; i < d->u.l.n; i++) {
			if (i)
				quota__text_putn(t, ",", 1);
			if ((rc = put_doc(t, d->u.l.items[i])))
				return rc;
		}
		quota__text_putn(t, "]", 1);
		break;
	case QUOTA_DOC_MAP:
		quota__text_putn(t, "{", 1);
		for (size_t i = 0; i < d->u.m.n; i++) {
			const quota__entry *e = &d->u.m.e[i];
			if (i)
				quota__text_putn(t, ",", 1);
			put_string(t, e->key->u.s.ptr, e->key->u.s.len);
			quota__text_putn(t, ":", 1);
			if ((rc = put_doc(t, e->value)))
				return rc;
		}
		quota__text_putn(t, "}", 1);
		break;
	}
	return QUOTA_OK;
}

QUOTA_API int quota_doc_to_json(const quota_doc *d, char **text, size_t *len)
{
	if (!d || !text)
		return quota__fail(QUOTA_ERR_INVALID, "doc: %s must not be NULL",
				   d ? "text" : "document");
	*text = NULL;
	quota__text t = {0};
	int rc = quota__text_finish(&t, put_doc(&t, d), text, len);
	return rc == QUOTA_ERR_NOMEM ? quota__fail(rc, "doc: out of memory") : rc;
}

/* ---- reading -------------------------------------------------------------- */

#if QUOTA_HAVE_CJSON

/*
 * The JSON text and where the reader stands in it. cJSON checks the syntax
 * and gives the shape; strings and numbers are read from the text itself,
 * because cJSON keeps no number text (its doubles lose integers above
 * 2^53) and cuts strings at an escaped NUL. A depth-first walk of cJSON's
 * tree meets keys, strings and numbers in the order of the text, so the
 * walk takes each one's text from here.
 */
typedef struct reader {
	const char *text;
	size_t len, pos;
} reader;

static int parse_error(const reader *r, size_t at, const char *what)
{
	uint32_t line = 1, col = 1;
	quota__text_advance(r->text, at < r->len ? at : r->len, &line, &col);
	return quota__fail(QUOTA_ERR_PARSE, "JSON: %s at line %u, column %u (byte %zu)", what, line,
			   col, at);
}

/* The end of the string whose quote is at text[i] (just past its closing
 * quote). */
static size_t string_end(const reader *r, size_t i)
{
	for (i++; i < r->len && r->text[i] != '"'; i++)
		if (r->text[i] == '\\')
			i++;
	return i + 1;
}

/* Check what cJSON lets through: UTF-8, and raw control characters in
 * strings (JSON wants them escaped). */
static int check_text(const reader *r)
{
	size_t bad = quota__utf8_invalid_at(r->text, r->len);
	if (bad < r->len)
		return parse_error(r, bad, "invalid UTF-8");
	for (size_t i = 0; i < r->len; i++) {
		if (r->text[i] != '"')
			continue;
		size_t end = string_end(r, i);
		for (size_t k = i + 1; k < end - 1 && k < r->len; k++)
			if ((unsigned char)r->text[k] < 0x20)
				return parse_error(r, k, "control character in a string");
		i = end - 1;
	}
	return QUOTA_OK;
}

/* The next string or number token of the text: [*start, *end). */
static int next_token(reader *r, size_t *start, size_t *end)
{
	for (; r->pos < r->len; r->pos++) {
		char c = r->text[r->pos];
		if (c == '"' || c == '-' || (c >= '0' && c <= '9')) {
			*start = r->pos;
			if (c == '"')
				r->pos = string_end(r, r->pos);
			else
				while (r->pos < r->len && r->text[r->pos] &&
				       strchr("0123456789+-.eE", r->text[r->pos]))
					r->pos++;
			*end = r->pos;
			return 1;
		}
	}
	return 0;
}

static int hex4(const char *s, uint32_t *v)
{
	uint64_t u;
	int rc = quota__uint_parse(s, 4, 16, &u);
	*v = (uint32_t)u;
	return rc;
}

/* The string token text[start..end) (quotes included) as a document. */
static int read_string(const reader *r, size_t start, size_t end, quota_doc **out)
{
	quota__text t = {0};
	const char *s = r->text;
	size_t i = start + 1, last = end - 1;
	if (!memchr(s + i, '\\', last - i)) {
		*out = quota__doc_string(s + i, last - i);
		return *out ? QUOTA_OK : quota__fail(QUOTA_ERR_NOMEM, "JSON: out of memory");
	}
	while (i < last) {
		size_t run = i;
		while (i < last && s[i] != '\\')
			i++;
		quota__text_putn(&t, s + run, i - run);
		if (i >= last)
			break;
		char e = s[i + 1], buf[4];
		static const char simple[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
		uint32_t cp, low;
		size_t k = 0;
		while (simple[k] && simple[k] != e)
			k += 2;
		if (simple[k]) {
			quota__text_putn(&t, &simple[k + 1], 1);
			i += 2;
			continue;
		}
		size_t n = 0;
		if (e == 'u' && i + 6 <= last && hex4(s + i + 2, &cp) == 0) {
			i += 6;
			if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= last && s[i] == '\\' &&
			    s[i + 1] == 'u' && hex4(s + i + 2, &low) == 0 && low >= 0xDC00 &&
			    low <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
				i += 6;
			}
			n = quota__utf8_encode(cp, buf);
		}
		if (n == 0) {
			quota__free(t.buf);
			return parse_error(r, i, "invalid escape in a string");
		}
		quota__text_putn(&t, buf, n);
	}
	*out = t.nomem ? NULL : quota__doc_string(t.buf, t.len);
	quota__free(t.buf);
	return *out ? QUOTA_OK : quota__fail(QUOTA_ERR_NOMEM, "JSON: out of memory");
}

static int read_token(reader *r, int want_string, quota_doc **out)
{
	size_t start, end;
	if (!next_token(r, &start, &end) || (r->text[start] == '"') != want_string)
		return quota__fail(QUOTA_ERR_INTERNAL, "JSON: lost track of the text");
	return want_string ? read_string(r, start, end, out) : QUOTA_OK;
}

/* JSON's number grammar, stricter than cJSON (which takes "01" and "1."):
 * 1 for an integer, 2 for a fraction or exponent, 0 when malformed. */
static int number_kind(const char *s, size_t n)
{
	size_t i = s[0] == '-';
	int kind = 1;
	if (i >= n || (s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9'))
		return 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i < n && s[i] == '.') {
		size_t digits = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == digits)
			return 0;
		kind = 2;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t digits = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == digits)
			return 0;
		kind = 2;
	}
	return i == n ? kind : 0;
}

static int convert(reader *r, const cJSON *j, int depth, quota_doc **out);

static int convert_number(reader *r, const cJSON *j, quota_doc **out)
{
	size_t start, end;
	int64_t i;
	if (!next_token(r, &start, &end) || r->text[start] == '"')
		return quota__fail(QUOTA_ERR_INTERNAL, "JSON: lost track of the text");
	const char *s = r->text + start;
	int kind = number_kind(s, end - start);
	if (kind == 0)
		return parse_error(r, start, "malformed number");
	if (kind == 1 && quota__int_parse(s, end - start, &i) == 0)
		*out = quota__doc_int(i);
	else if (j->valuedouble - j->valuedouble != 0)
		return parse_error(r, start, "number out of the range of a double");
	else
		*out = quota__doc_double(j->valuedouble);
	return *out ? QUOTA_OK : quota__fail(QUOTA_ERR_NOMEM, "JSON: out of memory");
}

static int convert_container(reader *r, const cJSON *j, int depth, quota_doc **out)
{
	int is_map = cJSON_IsObject(j), rc = QUOTA_OK;
	if (depth > QUOTA_DOC_MAX_DEPTH)
		return parse_error(r, r->pos, "nesting deeper than 64 levels");
	quota_doc *d = is_map ? quota__doc_map(0) : quota__doc_list(0);
	if (!d)
		return quota__fail(QUOTA_ERR_NOMEM, "JSON: out of memory");
	for (const cJSON *c = j->child; c && rc == QUOTA_OK; c = c->next) {
		quota_doc *item = NULL, *key = NULL;
		if (is_map && (rc = read_token(r, 1, &key)))
			break;
		if ((rc = convert(r, c, depth + 1, &item))) {
			quota_doc_unref(key);
			break;
		}
		if (!is_map) {
			rc = quota__doc_push(d, item);
			continue;
		}
		rc = quota__doc_put(d, key, item);
	}
	if (rc != QUOTA_OK) {
		quota_doc_unref(d);
		return rc == QUOTA_ERR_NOMEM ? quota__fail(rc, "JSON: out of memory") : rc;
	}
	*out = d;
	return QUOTA_OK;
}

static int convert(reader *r, const cJSON *j, int depth, quota_doc **out)
{
	if (cJSON_IsNull(j)) {
		*out = &quota__doc_null;
	} else if (cJSON_IsBool(j)) {
		*out = quota__doc_bool(cJSON_IsTrue(j));
	} else if (cJSON_IsNumber(j)) {
		return convert_number(r, j, out);
	} else if (cJSON_IsString(j)) {
		return read_token(r, 1, out);
	} else if (cJSON_IsArray(j) || cJSON_IsObject(j)) {
		return convert_container(r, j, depth, out);
	} else {
		return quota__fail(QUOTA_ERR_INTERNAL, "JSON: cJSON value of type %d", j->type);
	}
	return QUOTA_OK;
}

QUOTA_API int quota_doc_parse_json(const char *text, size_t len, quota_doc **out)
{
	if (!out || (!text && len))
		return quota__fail(QUOTA_ERR_INVALID, "JSON: %s must not be NULL",
				   out ? "text" : "out");
	*out = NULL;
	reader r = {text ? text : "", len, 0};
	int rc = check_text(&r);
	if (rc != QUOTA_OK)
		return rc;
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(r.text, len, &end, 0);
	if (!j) {
		size_t at = end && end >= r.text ? (size_t)(end - r.text) : len;
		return parse_error(&r, at, len ? "syntax error" : "no value");
	}
	size_t tail = (size_t)(end - r.text);
	while (tail < len && strchr(" \t\r\n", r.text[tail]) && r.text[tail])
		tail++;
	if (tail < len)
		rc = parse_error(&r, tail, "text after the value");
	else
		rc = convert(&r, j, 1, out);
	cJSON_Delete(j);
	return rc;
}

#else

QUOTA_API int quota_doc_parse_json(const char *text, size_t len, quota_doc **out)
{
	(void)text;
	(void)len;
	if (out)
		*out = NULL;
	return quota__fail(QUOTA_ERR_UNSUPPORTED, "JSON: built without cJSON");
}

#endif
