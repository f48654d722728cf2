/*
 * Argument validation, sized-struct handling and checked arithmetic.
 * SPDX-License-Identifier: MIT
 */
#include "util.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

size_t quota__utf8_seq(const char *s, size_t avail)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
		return avail >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
		return avail >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 &&
				       (p[3] & 0xC0) == 0x80
			       ? 4
			       : 0;
	}
	return 0;
}

size_t quota__utf8_invalid_at(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = quota__utf8_seq(s + i, n - i);
		if (k == 0)
			return i;
		i += k;
	}
	return n;
}

size_t quota__utf8_encode(uint32_t cp, char out[4])
{
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	size_t n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
	for (size_t i = n - 1; i > 0; i--, cp >>= 6)
		out[i] = (char)(0x80 | (cp & 0x3F));
	out[0] = (char)(lead[n] | cp);
	return n;
}

void quota__text_advance(const char *s, size_t n, uint32_t *line, uint32_t *col)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n') {
			++*line;
			*col = 1;
		} else if ((c & 0xC0) != 0x80) {
			++*col;
		}
	}
}

size_t quota__utf8_count(const char *s, size_t n)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		count += ((unsigned char)s[i] & 0xC0) != 0x80;
	return count;
}

/* A field's name, put together only when a check fails: "a[idx]b", or
 * "ab" when idx < 0. */
typedef struct field_ref {
	const char *a;
	long idx;
	const char *b;
} field_ref;

static const char *field_name(const field_ref *f, char *buf, size_t n)
{
	if (f->idx < 0)
		snprintf(buf, n, "%s%s", f->a, f->b);
	else
		snprintf(buf, n, "%s[%ld]%s", f->a, f->idx, f->b);
	return buf;
}

/* Whether any of the n bytes at p fails a test that bad() applies to eight
 * bytes at once (a word with a high bit set in each failing byte). Words
 * are read eight bytes at a time, the last one overlapping the one before;
 * up to seven bytes are read as two overlapping halves, up to three as
 * bytes repeated, and fill (a byte that passes, in every byte) stands in
 * for the rest. Every byte read is one of the n. */
static inline uint64_t any_fails(const unsigned char *p, size_t n, uint64_t fill,
				 uint64_t (*bad)(uint64_t))
{
	uint64_t w, fails = 0;
	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8) {
			memcpy(&w, p + i, 8);
			fails |= bad(w);
		}
		memcpy(&w, p + n - 8, 8);
		return fails | bad(w);
	}
	if (n >= 4) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + n - 4, 4);
		return bad((uint64_t)hi << 32 | lo);
	}
	if (n == 0)
		return 0;
	w = p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16;
	return bad(w | (fill & ~UINT64_C(0xFFFFFF)));
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS (ONES * 0x80)

/* The bytes of w below 0x20 or at 0x7F and above (with the carry of
 * 0xFF + 1 only into a byte already caught). */
static inline uint64_t not_printable(uint64_t w)
{
	return ((w - ONES * 0x20) & ~w & HIGHS) | (((w + ONES) | w) & HIGHS);
}

/* The bytes of w that are not ASCII letters or digits: with the high bit
 * clear, adding 0x80 - lo sets it from lo up, adding 0x7F - hi from past hi
 * up, and no byte carries into the next. */
static inline uint64_t not_alnum(uint64_t w)
{
	uint64_t x = w & ~HIGHS, lower = x | ONES * 0x20;
	uint64_t alpha = (lower + ONES * (0x80 - 'a')) & ~(lower + ONES * (0x7F - 'z'));
	uint64_t digit = (x + ONES * (0x80 - '0')) & ~(x + ONES * (0x7F - '9'));
	return ((w & HIGHS) | ~(alpha | digit)) & HIGHS;
}

/* The rest of check_text() when s is not plain printable ASCII of a length
 * in range (n: its length so far): NULL, a length out of range, or UTF-8
 * to walk, which may be valid. Kept apart so that the common case stays a
 * small function. */
static __attribute__((noinline)) int check_text_rest(const field_ref *f, const char *s, size_t n,
						     size_t min, size_t max)
{
	char name[160];
	if (!s) {
		if (min == 0)
			return QUOTA_OK;
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL",
				   field_name(f, name, sizeof name));
	}
	if (n < min)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be empty",
				   field_name(f, name, sizeof name));
	if (n > max)
		return quota__fail(QUOTA_ERR_INVALID, "%s: longer than %zu bytes",
				   field_name(f, name, sizeof name), max);
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		if (p[i] < 0x20 || p[i] == 0x7F)
			return quota__fail(QUOTA_ERR_INVALID, "%s: control character at byte %zu",
					   field_name(f, name, sizeof name), i);
		size_t k = quota__utf8_seq(s + i, n - i);
		if (k == 0)
			return quota__fail(QUOTA_ERR_INVALID, "%s: invalid UTF-8 at byte %zu",
					   field_name(f, name, sizeof name), i);
		if (k == 2 && p[i] == 0xC2 && p[i + 1] < 0xA0) /* U+0080-U+009F */
			return quota__fail(QUOTA_ERR_INVALID, "%s: control character at byte %zu",
					   field_name(f, name, sizeof name), i);
		i += k;
	}
	return QUOTA_OK;
}

static int check_text(const field_ref *f, const char *s, size_t min, size_t max, size_t *len)
{
	*len = 0;
	if (!s && min == 0)
		return QUOTA_OK;
	size_t n = s ? strnlen(s, max + 1) : 0;
	*len = n;
	/* Names are almost always printable ASCII, and need no UTF-8 walk then. */
	if (s && n >= min && n <= max && !any_fails((const unsigned char *)s, n, ONES * ' ',
						    not_printable))
		return QUOTA_OK;
	return check_text_rest(f, s, n, min, max);
}

/* The failure of check_kind() for s of length n (so far). */
static __attribute__((noinline)) int check_kind_fault(const field_ref *f, const char *s, size_t n)
{
	char name[160];
	if (quota__empty(s))
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be empty",
				   field_name(f, name, sizeof name));
	if (n > QUOTA__KIND_MAX)
		return quota__fail(QUOTA_ERR_INVALID, "%s: longer than %d bytes",
				   field_name(f, name, sizeof name), QUOTA__KIND_MAX);
	return quota__fail(QUOTA_ERR_INVALID, "%s: \"%.63s\" is not a kind ([A-Za-z][A-Za-z0-9]*)",
			   field_name(f, name, sizeof name), s);
}

static int check_kind(const field_ref *f, const char *s, size_t *len)
{
	size_t n = s ? strnlen(s, QUOTA__KIND_MAX + 1) : 0;
	*len = n;
	const unsigned char *p = (const unsigned char *)s;
	if (n && n <= QUOTA__KIND_MAX && (p[0] | 0x20) >= 'a' && (p[0] | 0x20) <= 'z' &&
	    !any_fails(p, n, ONES * 'a', not_alnum))
		return QUOTA_OK;
	return check_kind_fault(f, s, n);
}

int quota__check_text_len(const char *name, const char *s, size_t min, size_t max, size_t *len)
{
	field_ref f = {name, -1, ""};
	return check_text(&f, s, min, max, len);
}

int quota__check_text(const char *name, const char *s, size_t min, size_t max)
{
	size_t len;
	return quota__check_text_len(name, s, min, max, &len);
}

int quota__check_text_at_len(const char *prefix, long idx, const char *suffix, const char *s,
			     size_t min, size_t max, size_t *len)
{
	field_ref f = {prefix, idx, suffix};
	return check_text(&f, s, min, max, len);
}

int quota__check_text_at(const char *prefix, long idx, const char *suffix, const char *s,
			 size_t min, size_t max)
{
	size_t len;
	return quota__check_text_at_len(prefix, idx, suffix, s, min, max, &len);
}

int quota__check_kind(const char *name, const char *s)
{
	field_ref f = {name, -1, ""};
	size_t len;
	return check_kind(&f, s, &len);
}

int quota__check_ref_len(const char *name, const quota_ref *r, size_t len[4])
{
	int rc;
	if (!r)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL", name);
	field_ref group = {name, -1, ".apiGroup"}, kind = {name, -1, ".kind"},
		  ns = {name, -1, ".namespace"}, nm = {name, -1, ".name"};
	if ((rc = check_text(&group, r->api_group, 0, QUOTA__GROUP_MAX, &len[0])) ||
	    (rc = check_kind(&kind, r->kind, &len[1])) ||
	    (rc = check_text(&ns, r->ns, 0, QUOTA__NS_MAX, &len[2])))
		return rc;
	return check_text(&nm, r->name, 1, QUOTA__NAME_MAX, &len[3]);
}

int quota__check_ref(const char *name, const quota_ref *r)
{
	size_t len[4];
	return quota__check_ref_len(name, r, len);
}

int quota__streq(const char *a, const char *b)
{
	return strcmp(quota__str(a), quota__str(b)) == 0;
}

int quota__copy_in(const char *field, void *dst, size_t dst_size, const void *src, size_t min)
{
	if (!src)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL", field);
	size_t size = *(const size_t *)src;
	if (size < min)
		return quota__fail(
			QUOTA_ERR_INVALID,
			"%s.size: %zu is too small (initialise it with its _init function)", field,
			size);
	size_t n = size < dst_size ? size : dst_size;
	memcpy(dst, src, n);
	if (n < dst_size)
		memset((char *)dst + n, 0, dst_size - n);
	return QUOTA_OK;
}

int quota__check_array(const char *field, const void *arr, uint32_t count, size_t min)
{
	if (count == 0)
		return QUOTA_OK;
	if (!arr)
		return quota__fail(QUOTA_ERR_INVALID, "%s: NULL with count %u", field, count);
	size_t stride = *(const size_t *)arr;
	if (stride < min)
		return quota__fail(
			QUOTA_ERR_INVALID,
			"%s[0].size: %zu is too small (initialise it with its _init function)",
			field, stride);
	for (uint32_t i = 1; i < count; i++)
		if (*(const size_t *)quota__elem(arr, i) != stride)
			return quota__fail(QUOTA_ERR_INVALID,
					   "%s[%u].size: differs from %s[0].size", field, i, field);
	return QUOTA_OK;
}

int quota__limit_sum(const int64_t *v, size_t n, size_t stride, int64_t *out)
{
	quota__limit_acc a = {0, 0};
	for (size_t i = 0; i < n; i++)
		if (quota__limit_add(&a, *(const int64_t *)((const char *)v + i * stride)))
			return QUOTA_ERR_OVERFLOW;
	*out = quota__limit_value(&a);
	return QUOTA_OK;
}

size_t quota__name_key_len(char *buf, const char *ns, size_t ns_len, const char *name,
			  size_t name_len)
{
	/* Both measured, so each ends in its NUL; the name's NUL is kept so
	 * that the name part reads as a string too. */
	char *p = quota__put_part(buf, quota__str(ns), ns_len);
	return (size_t)(quota__put_part(p, name, name_len) - buf) - 1;
}

size_t quota__name_key(char *buf, const char *ns, const char *name)
{
	return quota__name_key_len(buf, ns, strlen(quota__str(ns)), name, strlen(name));
}
