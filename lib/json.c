/*
 * JSON text to documents and documents to JSON text. Both are our own
 * code; reading is offered in builds with cJSON only, as it always was
 * (QUOTA_FEATURE_JSON), and writing in every build.
 * SPDX-License-Identifier: MIT
 */
#include <quota/doc.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "doc.h"
#include "error.h"
#include "number.h"
#include "quota_config.h"
#include "text.h"
#include "util.h"

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
 * A recursive-descent reader that builds documents as it goes. The members
 * of the containers being read wait on one stack, innermost last (a map's
 * keys and values in turn), so that each container is made once, at its
 * closing bracket, with its final size. Everything on the stack is owned
 * by the reader until a container takes it over.
 */
#define STACK_START 128

typedef struct reader {
	const char *text;
	size_t len, pos;
	quota_doc **stack;
	size_t n, cap;
	quota_doc *start[STACK_START];
} reader;

static int parse_error(const reader *r, size_t at, const char *what)
{
	uint32_t line = 1, col = 1;
	quota__text_advance(r->text, at < r->len ? at : r->len, &line, &col);
	return quota__fail(QUOTA_ERR_PARSE, "JSON: %s at line %u, column %u (byte %zu)", what, line,
			   col, at);
}

static int out_of_memory(void)
{
	return quota__fail(QUOTA_ERR_NOMEM, "JSON: out of memory");
}

/* Put d on the stack (or release it when there is no room). */
static int push(reader *r, quota_doc *d)
{
	if (!d)
		return out_of_memory();
	if (r->n == r->cap) {
		quota_doc **grown = quota__calloc(r->cap, 2 * sizeof *grown);
		if (!grown) {
			quota_doc_unref(d);
			return out_of_memory();
		}
		memcpy(grown, r->stack, r->n * sizeof *grown);
		if (r->stack != r->start)
			quota__free(r->stack);
		r->stack = grown;
		r->cap *= 2;
	}
	r->stack[r->n++] = d;
	return QUOTA_OK;
}

static void skip_space(reader *r)
{
	while (r->pos < r->len) {
		char c = r->text[r->pos];
		if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
			return;
		r->pos++;
	}
}

/* The next byte, or NUL at the end (NUL is never JSON outside strings). */
static char peek(const reader *r)
{
	return r->pos < r->len ? r->text[r->pos] : '\0';
}

static int syntax_error(const reader *r, const char *expected)
{
	char what[64];
	if (r->pos >= r->len)
		return parse_error(r, r->pos, "syntax error: the text ends early");
	snprintf(what, sizeof what, "syntax error: expected %s", expected);
	return parse_error(r, r->pos, what);
}

static int hex4(const char *s, uint32_t *v)
{
	uint32_t x = 0;
	for (int i = 0; i < 4; i++) {
		unsigned c = (unsigned char)s[i], low = c | 0x20;
		if (c >= '0' && c <= '9')
			x = x << 4 | (c - '0');
		else if (low >= 'a' && low <= 'f')
			x = x << 4 | (low - 'a' + 10);
		else
			return -1;
	}
	*v = x;
	return 0;
}

/* The escape whose backslash is at s[i], with the text ending at len: its
 * length in the text, and its code point in *cp; 0 when it is not a valid
 * escape. A \u escape of a UTF-16 surrogate must be the high half of a
 * pair, whose low half follows as another \u escape. */
static size_t escape(const char *s, size_t i, size_t len, uint32_t *cp)
{
	static const char simple[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	uint32_t hi, lo;
	if (i + 1 >= len)
		return 0;
	for (size_t k = 0; simple[k]; k += 2)
		if (simple[k] == s[i + 1]) {
			*cp = (unsigned char)simple[k + 1];
			return 2;
		}
	if (s[i + 1] != 'u' || len - i < 6 || hex4(s + i + 2, &hi) ||
	    (hi >= 0xDC00 && hi <= 0xDFFF))
		return 0;
	if (hi < 0xD800 || hi > 0xDFFF) {
		*cp = hi;
		return 6;
	}
	if (len - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u' || hex4(s + i + 8, &lo) ||
	    lo < 0xDC00 || lo > 0xDFFF)
		return 0;
	*cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
	return 12;
}

/* Whether one of the 8 bytes of x needs a closer look in a string: below
 * 0x20, above 0x7F, a quote or a backslash. A subtraction borrows into a
 * higher byte only from a byte that is flagged already, so the answer is
 * exact for the word (not for which byte). */
static int special8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101u, high = ones * 0x80;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
	return (((x - ones * 0x20) | (q - ones) | (b - ones) | x) & high) != 0;
}

/* The string whose opening quote is at the reader's position. One pass
 * checks it and measures it, a second copies it, decoding escapes. */
static int read_string(reader *r, quota_doc **out)
{
	const char *s = r->text;
	size_t start = ++r->pos, i = start, shrink = 0;
	uint32_t cp;
	char buf[4];
	for (;;) {
		uint64_t x;
		while (r->len - i >= 8 && (memcpy(&x, s + i, 8), !special8(x)))
			i += 8;
		if (i >= r->len)
			return parse_error(r, i, "unterminated string");
		unsigned char c = (unsigned char)s[i];
		if (c == '"')
			break;
		if (c >= 0x20 && c < 0x80 && c != '\\') {
			i++;
			continue;
		}
		size_t n;
		if (c == '\\') {
			if (!(n = escape(s, i, r->len, &cp)))
				return parse_error(r, i, "invalid escape in a string");
			shrink += n - quota__utf8_encode(cp, buf);
		} else if (c < 0x20) {
			return parse_error(r, i, "control character in a string");
		} else if (!(n = quota__utf8_seq(s + i, r->len - i))) {
			return parse_error(r, i, "invalid UTF-8");
		}
		i += n;
	}
	r->pos = i + 1;
	if (!shrink) {
		*out = quota__doc_string(s + start, i - start);
		return *out ? QUOTA_OK : out_of_memory();
	}
	quota_doc *d = quota__doc_string(NULL, i - start - shrink);
	if (!d)
		return out_of_memory();
	char *to = d->u.s.ptr;
	for (size_t k = start; k < i;) {
		size_t run = k;
		while (k < i && s[k] != '\\')
			k++;
		memcpy(to, s + run, k - run);
		to += k - run;
		if (k < i) {
			k += escape(s, k, r->len, &cp);
			to += quota__utf8_encode(cp, to);
		}
	}
	*out = d;
	return QUOTA_OK;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A number that is no int64: strtod in the C locale, on a NUL-terminated
 * copy (the text need not end after the number). */
static int read_double(const reader *r, size_t start, quota_doc **out)
{
	size_t n = r->pos - start;
	char local[64], *buf = n < sizeof local ? local : quota__malloc(n + 1);
	if (!buf)
		return out_of_memory();
	memcpy(buf, r->text + start, n);
	buf[n] = '\0';
	double d = quota__strtod_c(buf, NULL);
	if (buf != local)
		quota__free(buf);
	if (d - d != 0)
		return parse_error(r, start, "number out of the range of a double");
	*out = quota__doc_double(d);
	return *out ? QUOTA_OK : out_of_memory();
}

/* A number, by JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int read_number(reader *r, quota_doc **out)
{
	const char *s = r->text;
	size_t start = r->pos, i = start, len = r->len;
	int neg = s[i] == '-', exact = 1;
	uint64_t mag = 0;
	i += (size_t)neg;
	if (i >= len || !is_digit(s[i]) || (s[i] == '0' && i + 1 < len && is_digit(s[i + 1])))
		return parse_error(r, start, "malformed number");
	for (; i < len && is_digit(s[i]); i++)
		if (__builtin_mul_overflow(mag, 10, &mag) ||
		    __builtin_add_overflow(mag, (uint64_t)(s[i] - '0'), &mag))
			exact = 0;
	if (i < len && s[i] == '.') {
		if (++i >= len || !is_digit(s[i]))
			return parse_error(r, start, "malformed number");
		while (i < len && is_digit(s[i]))
			i++;
		exact = 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i += i + 1 < len && (s[i + 1] == '+' || s[i + 1] == '-');
		if (++i >= len || !is_digit(s[i]))
			return parse_error(r, start, "malformed number");
		while (i < len && is_digit(s[i]))
			i++;
		exact = 0;
	}
	r->pos = i;
	if (!exact || mag > (uint64_t)INT64_MAX + (uint64_t)neg)
		return read_double(r, start, out);
	*out = quota__doc_int(neg ? (int64_t)(0 - mag) : (int64_t)mag);
	return *out ? QUOTA_OK : out_of_memory();
}

static int read_word(reader *r, const char *word, quota_doc *value, quota_doc **out)
{
	size_t n = strlen(word);
	if (r->len - r->pos < n || memcmp(r->text + r->pos, word, n) != 0)
		return syntax_error(r, "a value");
	r->pos += n;
	*out = value;
	return QUOTA_OK;
}

static int read_value(reader *r, int depth, quota_doc **out);

/* The list or map whose bracket is at the reader's position, at the given
 * depth (the outermost container is at 1). */
static int read_container(reader *r, int depth, quota_doc **out)
{
	int is_map = peek(r) == '{', rc;
	char close = is_map ? '}' : ']';
	size_t base = r->n;
	quota_doc *d;
	if (depth > QUOTA_DOC_MAX_DEPTH)
		return parse_error(r, r->pos, "nesting deeper than 64 levels");
	r->pos++;
	skip_space(r);
	if (peek(r) == close) {
		r->pos++;
	} else {
		for (;;) {
			if (is_map) {
				if (peek(r) != '"')
					return syntax_error(r, "a string key");
				if ((rc = read_string(r, &d)) || (rc = push(r, d)))
					return rc;
				skip_space(r);
				if (peek(r) != ':')
					return syntax_error(r, "':'");
				r->pos++;
			}
			if ((rc = read_value(r, depth + 1, &d)) || (rc = push(r, d)))
				return rc;
			skip_space(r);
			if (peek(r) == close)
				break;
			if (peek(r) != ',')
				return syntax_error(r, is_map ? "',' or '}'" : "',' or ']'");
			r->pos++;
			skip_space(r);
		}
		r->pos++;
	}
	size_t n = r->n - base;
	r->n = base;
	*out = is_map ? quota__doc_map_of(r->stack + base, n / 2)
		      : quota__doc_list_of(r->stack + base, n);
	return *out ? QUOTA_OK : out_of_memory();
}

static int read_value(reader *r, int depth, quota_doc **out)
{
	skip_space(r);
	switch (peek(r)) {
	case '{':
	case '[': return read_container(r, depth, out);
	case '"': return read_string(r, out);
	case 't': return read_word(r, "true", &quota__doc_true, out);
	case 'f': return read_word(r, "false", &quota__doc_false, out);
	case 'n': return read_word(r, "null", &quota__doc_null, out);
	default:
		if (peek(r) == '-' || is_digit(peek(r)))
			return read_number(r, out);
		return syntax_error(r, "a value");
	}
}

QUOTA_API int quota_doc_parse_json(const char *text, size_t len, quota_doc **out)
{
	if (!out || (!text && len))
		return quota__fail(QUOTA_ERR_INVALID, "JSON: %s must not be NULL",
				   out ? "text" : "out");
	*out = NULL;
	reader r = {.text = text ? text : "", .len = len, .cap = STACK_START};
	r.stack = r.start;
	quota_doc *d = NULL;
	int rc;
	/* RFC 8259 lets readers skip a byte order mark; editors write them */
	if (len >= 3 && memcmp(r.text, "\xEF\xBB\xBF", 3) == 0)
		r.pos = 3;
	skip_space(&r);
	if (r.pos == len) {
		rc = parse_error(&r, len, "no value");
	} else if ((rc = read_value(&r, 1, &d)) == QUOTA_OK) {
		skip_space(&r);
		if (r.pos < len) {
			rc = parse_error(&r, r.pos, "text after the value");
			quota_doc_unref(d);
			d = NULL;
		}
	}
	for (size_t i = 0; i < r.n; i++)
		quota_doc_unref(r.stack[i]);
	if (r.stack != r.start)
		quota__free(r.stack);
	*out = d;
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
