/*
 * The binary form of the public structs in journal and snapshot records:
 * fixed-width little-endian integers, strings with their length, and
 * structs walked by a shape (a table of their fields), so that one piece
 * of code writes and reads every struct.
 *
 * Writing never trusts the caller's struct beyond what the call it records
 * would check: a sized struct is copied into a zeroed one of our size, a
 * NULL array with a count, a count past QUOTA__CODEC_MAX_COUNT or a string
 * past QUOTA__CODEC_MAX_STR marks the buffer invalid instead of being read.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_CODEC_H
#define QUOTA_LIB_CODEC_H

#include <quota/quota.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define QUOTA__CODEC_MAX_COUNT 65536u
#define QUOTA__CODEC_MAX_STR (64u << 20)

/* A growing output buffer. status: 0, QUOTA_ERR_NOMEM, or
 * QUOTA_ERR_INVALID once something could not be written. borrowed: p is
 * the caller's memory (cap bytes, say on its stack), never freed here;
 * growing moves the bytes to memory of ours. */
typedef struct quota__wbuf {
	unsigned char *p;
	size_t n, cap;
	int status;
	int borrowed;
} quota__wbuf;

/* Room for n more bytes when they do not fit (or status is set). */
unsigned char *quota__put_grow(quota__wbuf *w, size_t n);

/* Room for n more bytes; a pointer to them, or NULL (status set). The
 * common case, room there already, is inline: records are written a few
 * bytes at a time. */
static inline unsigned char *quota__put_room(quota__wbuf *w, size_t n)
{
	if (w->status || n > w->cap - w->n)
		return quota__put_grow(w, n);
	unsigned char *at = w->p + w->n;
	w->n += n;
	return at;
}

static inline void quota__put_u8(quota__wbuf *w, uint8_t v)
{
	unsigned char *at = quota__put_room(w, 1);
	if (at)
		*at = v;
}

static inline void quota__put_u32(quota__wbuf *w, uint32_t v)
{
	unsigned char *at = quota__put_room(w, 4);
	if (at)
		for (int i = 0; i < 4; i++)
			at[i] = (unsigned char)(v >> (8 * i));
}

static inline void quota__put_u64(quota__wbuf *w, uint64_t v)
{
	unsigned char *at = quota__put_room(w, 8);
	if (at)
		for (int i = 0; i < 8; i++)
			at[i] = (unsigned char)(v >> (8 * i));
}

static inline void quota__put_i64(quota__wbuf *w, int64_t v)
{
	quota__put_u64(w, (uint64_t)v);
}
static inline void quota__put_bytes(quota__wbuf *w, const void *p, size_t n)
{
	unsigned char *at = quota__put_room(w, n);
	if (at && n)
		memcpy(at, p, n);
}
/* A string, or NULL, kept apart from "". */
void quota__put_str(quota__wbuf *w, const char *s);
/* A string of n bytes (may hold NUL bytes). */
void quota__put_strn(quota__wbuf *w, const char *s, size_t n);
void quota__put_free(quota__wbuf *w);

/* Memory for what is read: an arena (alloc.h) and the documents made,
 * freed at once by quota__rmem_free(). */
typedef struct quota__rmem {
	void *arena;
	quota_doc **docs;
	size_t doc_count, doc_cap;
} quota__rmem;
void quota__rmem_free(quota__rmem *m);

/* An input buffer. status: 0, QUOTA_ERR_CORRUPT when the bytes end early
 * or a value is out of range, QUOTA_ERR_NOMEM. */
typedef struct quota__rbuf {
	const unsigned char *p;
	size_t n, off;
	int status;
	quota__rmem *mem;
} quota__rbuf;

uint8_t quota__get_u8(quota__rbuf *r);
uint32_t quota__get_u32(quota__rbuf *r);
uint64_t quota__get_u64(quota__rbuf *r);
static inline int64_t quota__get_i64(quota__rbuf *r)
{
	return (int64_t)quota__get_u64(r);
}
/* A string into the arena (NUL-terminated; *len may be NULL). */
const char *quota__get_strn(quota__rbuf *r, size_t *len);
static inline const char *quota__get_str(quota__rbuf *r)
{
	return quota__get_strn(r, NULL);
}

/* The shapes of the public structs. */
typedef struct quota__shape quota__shape;
extern const quota__shape quota__shape_ref, quota__shape_claim, quota__shape_request,
	quota__shape_registration, quota__shape_grant, quota__shape_claim_policy,
	quota__shape_grant_policy, quota__shape_admission, quota__shape_json_options;

/* Write the struct at obj (NULL allowed: written as absent). */
void quota__put_struct(quota__wbuf *w, const quota__shape *s, const void *obj);
/* count structs of a sized array (stride: the first one's size). */
void quota__put_array(quota__wbuf *w, const quota__shape *s, const void *arr, uint32_t count);
/* A document (NULL allowed). */
void quota__put_doc(quota__wbuf *w, const quota_doc *d);
/* Read what quota__put_struct wrote: a struct of our size in the arena, or
 * NULL when it was absent. */
const void *quota__get_struct(quota__rbuf *r, const quota__shape *s);
const void *quota__get_array(quota__rbuf *r, const quota__shape *s, uint32_t *count);
/* A document; its reference belongs to the arena. */
const quota_doc *quota__get_doc(quota__rbuf *r);

#endif
