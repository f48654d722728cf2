/*
 * Deep copies into one allocation, so that the caller frees an object with
 * a single quota_free(). A packing function runs twice over the same data:
 * once with base == NULL to measure, then to write into an exact-size block.
 * In the measuring pass every take returns NULL and nothing is written.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_PACK_H
#define QUOTA_LIB_PACK_H

#include <quota/quota.h>
#include <stddef.h>

typedef struct quota__pack {
	char *base;
	size_t off;
} quota__pack;

/* n bytes aligned for any type (NULL while measuring). */
void *quota__pack_take(quota__pack *p, size_t n);
/* A copy of s (NULL while measuring, or when s is NULL). */
const char *quota__pack_str(quota__pack *p, const char *s);
/* A copy of the n bytes at s plus a NUL. */
const char *quota__pack_strn(quota__pack *p, const char *s, size_t n);
/* A copy of s, with NULL written as "". */
const char *quota__pack_text(quota__pack *p, const char *s);
/* A copy of a ref, its NULL strings written as "". */
quota_ref quota__pack_ref(quota__pack *p, const quota_ref *r);
/* A copy of n labels; NULL when n is 0. */
const quota_label *quota__pack_labels(quota__pack *p, const quota_label *l, uint32_t n);
/* Allocate the measured block, zeroed, and rewind for the writing pass.
 * Returns -1 when out of memory. */
int quota__pack_begin_write(quota__pack *p);

#endif
