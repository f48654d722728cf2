/*
 * Documents inside the library: the layout, and calls that skip the checks
 * the public ones make, for code that built (or validated) what it passes.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_DOC_H
#define QUOTA_LIB_DOC_H

#include <quota/doc.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct quota__entry {
	quota_doc *key; /* a string document */
	quota_doc *value;
	uint64_t hash;
} quota__entry;

struct quota_doc {
	atomic_size_t refs;
	uint8_t type;
	uint8_t immortal; /* a static singleton: never counted, never freed */
	uint8_t depth;    /* 0 for scalars, 1 + the deepest member for containers */
	/* Set once the document is placed inside another: never mutable again. */
	_Atomic uint8_t frozen;
	union {
		int32_t b;
		int64_t i;
		double d;
		struct {
			size_t len;
			char *ptr; /* NUL-terminated, in the same block */
		} s;
		struct {
			quota_doc **items;
			size_t n, cap;
		} l;
		struct {
			quota__entry *e;
			size_t n, cap;
			uint32_t *index; /* open addressing, entry + 1; NULL for small maps */
			size_t mask;
		} m;
	} u;
};

extern quota_doc quota__doc_null, quota__doc_true, quota__doc_false;

static inline quota_doc *quota__doc_bool(int b)
{
	return b ? &quota__doc_true : &quota__doc_false;
}

/* Constructors that record no detail; NULL when out of memory. The string
 * must be valid UTF-8 already; with s NULL its len bytes are left for the
 * caller to fill in. */
quota_doc *quota__doc_int(int64_t v);
quota_doc *quota__doc_double(double v);
quota_doc *quota__doc_string(const char *s, size_t len);
/* A list or map with room for n members. */
quota_doc *quota__doc_list(size_t n);
quota_doc *quota__doc_map(size_t n);

/* Append to / set in a container the caller just built. Both take over the
 * reference to item (also on failure). They return QUOTA_OK,
 * QUOTA_ERR_NOMEM, or QUOTA_ERR_INVALID when the container would nest
 * deeper than QUOTA_DOC_MAX_DEPTH; they record no detail. */
int quota__doc_push(quota_doc *list, quota_doc *item);
/* key is a string document, whose reference is taken over too. */
int quota__doc_put(quota_doc *map, quota_doc *key, quota_doc *value);

/* A list of the n items at items, or a map of the n key/value pairs at kv
 * (kv[2i] a string document, kv[2i + 1] its value; a repeated key keeps
 * its first place and takes the last value). Both take over every
 * reference, also on failure; NULL when out of memory or when the
 * container would nest deeper than QUOTA_DOC_MAX_DEPTH. */
quota_doc *quota__doc_list_of(quota_doc **items, size_t n);
quota_doc *quota__doc_map_of(quota_doc **kv, size_t n);

/* The entry of key in map, or NULL. */
const quota__entry *quota__doc_find(const quota_doc *map, const char *key, size_t len);

#endif
