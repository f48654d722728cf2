/*
 * Argument validation, sized-struct handling and checked arithmetic.
 * Every check records a detail naming the field and returns a status.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_UTIL_H
#define QUOTA_LIB_UTIL_H

#include <quota/common.h>
#include <stdint.h>
#include <string.h>

#define QUOTA__NAME_MAX 253
#define QUOTA__NS_MAX 63
#define QUOTA__KIND_MAX 63
#define QUOTA__GROUP_MAX 253

/* A string of min..max bytes of valid UTF-8 without control characters.
 * NULL counts as "" (so min 0 makes the field optional). */
int quota__check_text(const char *field, const char *s, size_t min, size_t max);
/* The same, giving the length of s (0 for NULL) in *len: callers that go
 * on to copy or hash s measure it once. */
int quota__check_text_len(const char *field, const char *s, size_t min, size_t max, size_t *len);
/* The same for the field "prefix[idx]suffix", whose name is only put
 * together when the check fails (validation must not cost a printf). */
int quota__check_text_at(const char *prefix, long idx, const char *suffix, const char *s,
			 size_t min, size_t max);
int quota__check_text_at_len(const char *prefix, long idx, const char *suffix, const char *s,
			     size_t min, size_t max, size_t *len);
/* A kind: [A-Za-z][A-Za-z0-9]*, 1-63. */
int quota__check_kind(const char *field, const char *s);
/* A ref: api_group optional, kind, ns optional, name. */
int quota__check_ref(const char *field, const quota_ref *r);
/* The same, giving the lengths of api_group, kind, ns and name (NULL
 * counts as "") in len. */
int quota__check_ref_len(const char *field, const quota_ref *r, size_t len[4]);
/* The length of the valid UTF-8 sequence at s, of which avail >= 1 bytes
 * may be read (no overlongs, no surrogates, at most U+10FFFF), or 0 when
 * it is invalid. */
size_t quota__utf8_seq(const char *s, size_t avail);
/* The offset of the first byte of s[0..n) that does not start a valid
 * UTF-8 sequence, or n when all of it is valid. */
size_t quota__utf8_invalid_at(const char *s, size_t n);
/* Code point cp as UTF-8 in out; returns the length, or 0 for a surrogate
 * or a value past U+10FFFF. */
size_t quota__utf8_encode(uint32_t cp, char out[4]);
/* Move a (line, column) position over the n bytes at s: a newline starts
 * a new line at column 1, every other character (not byte) is a column. */
void quota__text_advance(const char *s, size_t n, uint32_t *line, uint32_t *col);
/* The number of code points in the valid UTF-8 text s[0..n). */
size_t quota__utf8_count(const char *s, size_t n);
/* 1 when s is NULL or "". */
static inline int quota__empty(const char *s)
{
	return !s || !*s;
}
static inline const char *quota__str(const char *s)
{
	return s ? s : "";
}
/* The n bytes at s and the NUL after them, copied to p; returns where the
 * next part goes.
 * Parts are short: sixteen bytes at a time, the last sixteen ending at the
 * NUL (overlapping the ones before), and shorter parts as two overlapping
 * halves or single bytes, so that no byte outside the n + 1 is touched. */
static inline char *quota__put_part(char *p, const char *s, size_t n)
{
	size_t m = n + 1;
	if (m > 16) {
		for (size_t i = 0; i + 16 < m; i += 16)
			memcpy(p + i, s + i, 16);
		memcpy(p + m - 16, s + m - 16, 16);
	} else if (m >= 8) {
		memcpy(p, s, 8);
		memcpy(p + m - 8, s + m - 8, 8);
	} else if (m >= 4) {
		memcpy(p, s, 4);
		memcpy(p + m - 4, s + m - 4, 4);
	} else {
		p[0] = s[0];
		p[m / 2] = s[m / 2];
		p[m - 1] = s[m - 1];
	}
	return p + m;
}

/* Equal treating NULL as "". */
int quota__streq(const char *a, const char *b);

/*
 * Copy a caller's sized struct (its first member is size_t size) into a
 * zeroed local of our size. Fails when the caller's size is below min.
 */
int quota__copy_in(const char *field, void *dst, size_t dst_size, const void *src, size_t min);
/* Element i of an array of sized structs whose stride is the first's size. */
static inline const void *quota__elem(const void *arr, size_t i)
{
	size_t stride = *(const size_t *)arr;
	return (const char *)arr + i * stride;
}
/* Check an array of sized structs: non-NULL when count > 0, every element
 * carrying the same size >= min. */
int quota__check_array(const char *field, const void *arr, uint32_t count, size_t min);

/* The key of a namespaced object, ns \0 name \0, into buf (room for
 * QUOTA__NS_MAX + QUOTA__NAME_MAX + 2); returns its length without the
 * final NUL. */
size_t quota__name_key(char *buf, const char *ns, const char *name);
/* The same with the lengths of ns (NULL counts as "") and name known:
 * each string ends at its length (the lengths a check measured). */
size_t quota__name_key_len(char *buf, const char *ns, size_t ns_len, const char *name,
			  size_t name_len);
/* A limit being summed from amounts where -1 means unlimited: the finite
 * ones add up (and must fit in int64 even beside a -1, so that taking any
 * amount away, an unlimited one included, leaves a sum that fits). */
typedef struct quota__limit_acc {
	int64_t finite;
	int unlimited;
} quota__limit_acc;

/* Add x to a; nonzero when the finite part would overflow. */
static inline int quota__limit_add(quota__limit_acc *a, int64_t x)
{
	if (x == QUOTA_UNLIMITED) {
		a->unlimited = 1;
		return 0;
	}
	return __builtin_add_overflow(a->finite, x, &a->finite);
}

static inline int64_t quota__limit_value(const quota__limit_acc *a)
{
	return a->unlimited ? QUOTA_UNLIMITED : a->finite;
}

/* The limit n amounts found stride bytes apart make, summed as by
 * quota__limit_add: QUOTA_ERR_OVERFLOW when the finite ones do not fit. */
int quota__limit_sum(const int64_t *v, size_t n, size_t stride, int64_t *out);

#endif
