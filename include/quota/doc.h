/*
 * libquota: documents, the values that policies read and expressions make.
 *
 * A document is null, a bool, an int (int64), a double, a string (UTF-8,
 * length-counted, may hold NUL bytes), a list, or a map from string keys to
 * documents that keeps its insertion order. Documents are reference-counted.
 * A document that more than one reference holds, or that sits inside a list
 * or map, is immutable: the mutating calls refuse it with
 * QUOTA_ERR_WRONG_STATE. That is what makes it safe to share one document
 * between threads: any number of threads may read it, and take and drop
 * references to it, at the same time.
 *
 * Containers nest at most QUOTA_DOC_MAX_DEPTH levels deep (a scalar has
 * depth 0, a list or map one more than its deepest member).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_DOC_H
#define QUOTA_DOC_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A document. Opaque; see quota_doc_get_type(). */
typedef struct quota_doc quota_doc;

/** The type of a document. Values never change. */
typedef enum quota_doc_type {
	QUOTA_DOC_NULL = 0,
	QUOTA_DOC_BOOL = 1,
	QUOTA_DOC_INT = 2,
	QUOTA_DOC_DOUBLE = 3,
	QUOTA_DOC_STRING = 4,
	QUOTA_DOC_LIST = 5,
	QUOTA_DOC_MAP = 6
} quota_doc_type;

/** How deep lists and maps may nest, in documents and in parsed JSON. */
#define QUOTA_DOC_MAX_DEPTH 64

/**
 * Make a scalar document.
 *
 * @param value     the value (for bool: zero is false, anything else true;
 *                  a double may be any value, NaN and infinities included).
 * @param[out] out  the new document, one reference owned by the caller
 *                  (release it with quota_doc_unref()).
 * @return QUOTA_OK; QUOTA_ERR_INVALID if out is NULL; QUOTA_ERR_NOMEM.
 * Thread-safe.
 */
QUOTA_API int quota_doc_new_null(quota_doc **out);
/** A bool document; see quota_doc_new_null(). */
QUOTA_API int quota_doc_new_bool(int32_t value, quota_doc **out);
/** An int document; see quota_doc_new_null(). */
QUOTA_API int quota_doc_new_int(int64_t value, quota_doc **out);
/** A double document; see quota_doc_new_null(). */
QUOTA_API int quota_doc_new_double(double value, quota_doc **out);

/**
 * Make a string document from a copy of len bytes at s.
 *
 * @param s         the bytes, valid UTF-8 (NUL bytes are allowed); may be
 *                  NULL when len is 0.
 * @param len       their number.
 * @param[out] out  the new document, owned by the caller.
 * @return QUOTA_OK; QUOTA_ERR_INVALID if out is NULL, s is NULL with len > 0,
 *         or the bytes are not valid UTF-8 (the detail gives the byte
 *         offset); QUOTA_ERR_NOMEM.
 * Thread-safe.
 */
QUOTA_API int quota_doc_new_string(const char *s, size_t len, quota_doc **out);

/**
 * Make an empty list or map, to fill with quota_doc_list_append() or
 * quota_doc_map_set() before sharing it.
 *
 * @param[out] out  the new document, owned by the caller.
 * @return QUOTA_OK; QUOTA_ERR_INVALID if out is NULL; QUOTA_ERR_NOMEM.
 * Thread-safe.
 */
QUOTA_API int quota_doc_new_list(quota_doc **out);
/** An empty map; see quota_doc_new_list(). */
QUOTA_API int quota_doc_new_map(quota_doc **out);

/**
 * Append an item to a list.
 *
 * The list takes over the caller's reference to item, on success and on
 * failure alike (on failure the item is released), so the caller must not
 * use item afterwards unless it holds another reference. From then on item
 * is immutable.
 *
 * @param list  a list that only the caller references and that is not
 *              inside another document.
 * @param item  the item; must not be list itself.
 * @return QUOTA_OK; QUOTA_ERR_INVALID if an argument is NULL, list is not
 *         a list, item is list, or the list would nest deeper than
 *         QUOTA_DOC_MAX_DEPTH; QUOTA_ERR_WRONG_STATE if list is shared;
 *         QUOTA_ERR_NOMEM.
 * Not thread-safe for the same list (nobody else may hold it anyway).
 */
QUOTA_API int quota_doc_list_append(quota_doc *list, quota_doc *item);

/**
 * Set a key of a map. A new key goes after the others; setting a key that
 * exists replaces its value and keeps its place.
 *
 * The map takes over the caller's reference to value, on success and on
 * failure alike, as quota_doc_list_append() does. The key is copied.
 *
 * @param map      a map that only the caller references and that is not
 *                 inside another document.
 * @param key      the key, valid UTF-8 (NUL bytes allowed); may be NULL
 *                 when key_len is 0.
 * @param key_len  its length in bytes.
 * @param value    the value; must not be map itself.
 * @return QUOTA_OK; QUOTA_ERR_INVALID if map or value is NULL, map is not a
 *         map, the key is not valid UTF-8, value is map, or the map would
 *         nest too deep; QUOTA_ERR_WRONG_STATE if map is shared;
 *         QUOTA_ERR_NOMEM.
 * Not thread-safe for the same map.
 */
QUOTA_API int quota_doc_map_set(quota_doc *map, const char *key, size_t key_len, quota_doc *value);

/**
 * Take one more reference to a document. A document with more than one
 * reference is immutable, so the const-ness of d is kept in effect.
 *
 * @param d  a document, or NULL.
 * @return d (NULL for NULL).
 * Thread-safe (the count is atomic).
 */
QUOTA_API quota_doc *quota_doc_ref(const quota_doc *d);

/**
 * Drop a reference; the last one frees the document and drops its
 * references to its items. NULL is a no-op. Thread-safe.
 */
QUOTA_API void quota_doc_unref(quota_doc *d);

/**
 * The type of a document.
 *
 * @return a quota_doc_type value (>= 0), or QUOTA_ERR_INVALID if d is NULL.
 * Thread-safe.
 */
QUOTA_API int quota_doc_get_type(const quota_doc *d);

/**
 * Read a scalar. Each returns QUOTA_OK, or QUOTA_ERR_INVALID when an
 * argument is NULL or d has another type (an int is not read as a double,
 * nor the other way round). Thread-safe.
 *
 * @param d           the document.
 * @param[out] value  the value (bool: 0 or 1).
 */
QUOTA_API int quota_doc_get_bool(const quota_doc *d, int32_t *value);
/** Read an int; see quota_doc_get_bool(). */
QUOTA_API int quota_doc_get_int(const quota_doc *d, int64_t *value);
/** Read a double; see quota_doc_get_bool(). */
QUOTA_API int quota_doc_get_double(const quota_doc *d, double *value);

/**
 * Read a string.
 *
 * @param d         a string document.
 * @param[out] s    its bytes, followed by a NUL that is not counted; valid
 *                  while the caller holds a reference to d (or to a
 *                  document that holds d).
 * @param[out] len  their number, or NULL when not wanted.
 * @return QUOTA_OK; QUOTA_ERR_INVALID if d or s is NULL or d is no string.
 * Thread-safe.
 */
QUOTA_API int quota_doc_get_string(const quota_doc *d, const char **s, size_t *len);

/**
 * The number of items of a list.
 *
 * @return QUOTA_OK; QUOTA_ERR_INVALID if an argument is NULL or d is no list.
 * Thread-safe.
 */
QUOTA_API int quota_doc_list_size(const quota_doc *d, size_t *n);

/**
 * An item of a list.
 *
 * @param d          the list.
 * @param i          the index, from 0.
 * @param[out] item  the item, borrowed: valid while d is (quota_doc_ref() it
 *                   to keep it longer).
 * @return QUOTA_OK; QUOTA_ERR_INVALID if an argument is NULL or d is no
 *         list; QUOTA_ERR_NOT_FOUND if i is out of range.
 * Thread-safe.
 */
QUOTA_API int quota_doc_list_at(const quota_doc *d, size_t i, const quota_doc **item);

/**
 * The number of keys of a map.
 *
 * @return QUOTA_OK; QUOTA_ERR_INVALID if an argument is NULL or d is no map.
 * Thread-safe.
 */
QUOTA_API int quota_doc_map_size(const quota_doc *d, size_t *n);

/**
 * Look a key up in a map (in constant time on average for large maps).
 *
 * @param d           the map.
 * @param key         the key's bytes (may be NULL when key_len is 0).
 * @param key_len     their number.
 * @param[out] value  the value, borrowed like quota_doc_list_at()'s item.
 * @return QUOTA_OK; QUOTA_ERR_INVALID if an argument is NULL or d is no map;
 *         QUOTA_ERR_NOT_FOUND if the key is absent (no detail is recorded,
 *         so that probing costs nothing).
 * Thread-safe.
 */
QUOTA_API int quota_doc_map_get(const quota_doc *d, const char *key, size_t key_len,
				const quota_doc **value);

/**
 * The i-th entry of a map in insertion order.
 *
 * @param d             the map.
 * @param i             the index, from 0.
 * @param[out] key      the key's bytes, NUL-terminated, borrowed.
 * @param[out] key_len  its length, or NULL when not wanted.
 * @param[out] value    the value, borrowed; NULL when not wanted.
 * @return QUOTA_OK; QUOTA_ERR_INVALID if d or key is NULL or d is no map;
 *         QUOTA_ERR_NOT_FOUND if i is out of range.
 * Thread-safe.
 */
QUOTA_API int quota_doc_map_entry(const quota_doc *d, size_t i, const char **key, size_t *key_len,
				  const quota_doc **value);

/**
 * Parse JSON text (needs a build with cJSON, see quota_features()).
 *
 * The text must be one JSON value (RFC 8259), optionally surrounded by
 * whitespace (space, tab, CR, LF), in valid UTF-8. Strings may hold any
 * code point, U+0000 included (written \u0000); a \u escape of a UTF-16
 * surrogate must be the high half of a pair followed by its low half.
 * Numbers without a fraction or exponent that fit int64 become ints, all
 * others doubles, converted in the C locale whatever the program's locale;
 * a number beyond the double range is an error, one too small for a double
 * becomes 0 (or the nearest subnormal). When an object repeats a key, the
 * last value wins and the key keeps the place of its first appearance.
 * Everything is allocated through libquota's allocator.
 *
 * @param text      the text (need not be NUL-terminated).
 * @param len       its length in bytes.
 * @param[out] out  the document, owned by the caller.
 * @return QUOTA_OK; QUOTA_ERR_INVALID if text (with len > 0) or out is NULL;
 *         QUOTA_ERR_PARSE for bad JSON, bad UTF-8, a number out of the double
 *         range, or nesting deeper than QUOTA_DOC_MAX_DEPTH (the detail gives
 *         the line, column and byte); QUOTA_ERR_NOMEM;
 *         QUOTA_ERR_UNSUPPORTED when built without cJSON.
 * Thread-safe.
 */
QUOTA_API int quota_doc_parse_json(const char *text, size_t len, quota_doc **out);

/**
 * Write a document as compact JSON (works without cJSON). Map keys come in
 * insertion order; doubles are written in the shortest form that reads back
 * as the same double and always with a '.' or an exponent, so that they read
 * back as doubles.
 *
 * @param d          the document.
 * @param[out] text  the NUL-terminated text; free it with quota_free().
 * @param[out] len   its length without the NUL, or NULL when not wanted.
 * @return QUOTA_OK; QUOTA_ERR_INVALID if d or text is NULL, or d holds a NaN
 *         or infinite double (JSON has no way to write those);
 *         QUOTA_ERR_NOMEM.
 * Thread-safe.
 */
QUOTA_API int quota_doc_to_json(const quota_doc *d, char **text, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* QUOTA_DOC_H */
