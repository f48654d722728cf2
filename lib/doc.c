/*
 * Documents: immutable-once-shared, reference-counted values.
 * SPDX-License-Identifier: MIT
 */
#include "doc.h"

#include <pthread.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "hash.h"
#include "util.h"

/* Maps up to this size are searched in order; larger ones get an index. */
#define SMALL_MAP 8

#define SINGLETON(t, field, v)                                                                     \
	{                                                                                          \
		.refs = 1, .type = (t), .immortal = 1, .frozen = 1, .u.field = (v)                 \
	}
quota_doc quota__doc_null = SINGLETON(QUOTA_DOC_NULL, i, 0);
quota_doc quota__doc_true = SINGLETON(QUOTA_DOC_BOOL, b, 1);
quota_doc quota__doc_false = SINGLETON(QUOTA_DOC_BOOL, b, 0);

/* Map keys are hashed under one random key per process, so that nobody can
 * choose keys that collide. */
static uint64_t hash_key[2];
static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;

static void hash_key_init(void)
{
	quota__random_key(hash_key);
}

static uint64_t key_hash(const char *k, size_t n)
{
	pthread_once(&hash_key_once, hash_key_init);
	return quota__siphash(hash_key, k, n);
}

static quota_doc *doc_alloc(int type, size_t extra)
{
	quota_doc *d = quota__malloc(sizeof *d + extra);
	if (!d)
		return NULL;
	memset(d, 0, sizeof *d);
	atomic_init(&d->refs, 1);
	atomic_init(&d->frozen, 0);
	d->type = (uint8_t)type;
	return d;
}

quota_doc *quota__doc_int(int64_t v)
{
	quota_doc *d = doc_alloc(QUOTA_DOC_INT, 0);
	if (d)
		d->u.i = v;
	return d;
}

quota_doc *quota__doc_double(double v)
{
	quota_doc *d = doc_alloc(QUOTA_DOC_DOUBLE, 0);
	if (d)
		d->u.d = v;
	return d;
}

quota_doc *quota__doc_string(const char *s, size_t len)
{
	if (len > SIZE_MAX - sizeof(quota_doc) - 1)
		return NULL;
	quota_doc *d = doc_alloc(QUOTA_DOC_STRING, len + 1);
	if (!d)
		return NULL;
	d->u.s.ptr = (char *)(d + 1);
	d->u.s.len = len;
	if (len && s)
		memcpy(d->u.s.ptr, s, len);
	d->u.s.ptr[len] = '\0';
	return d;
}

/* An empty list or map with room for n members of the given size. */
static quota_doc *container(int type, size_t n, size_t each)
{
	quota_doc *d = doc_alloc(type, 0);
	void *members = NULL;
	if (!d)
		return NULL;
	d->depth = 1;
	if (n && !(members = quota__calloc(n, each))) {
		quota__free(d);
		return NULL;
	}
	if (type == QUOTA_DOC_LIST) {
		d->u.l.items = members;
		d->u.l.cap = n;
	} else {
		d->u.m.e = members;
		d->u.m.cap = n;
	}
	return d;
}

quota_doc *quota__doc_list(size_t n)
{
	return container(QUOTA_DOC_LIST, n, sizeof(quota_doc *));
}

quota_doc *quota__doc_map(size_t n)
{
	return container(QUOTA_DOC_MAP, n, sizeof(quota__entry));
}

static void destroy(quota_doc *d)
{
	if (d->type == QUOTA_DOC_LIST) {
		for (size_t i = 0; i < d->u.l.n; i++)
			quota_doc_unref(d->u.l.items[i]);
		quota__free(d->u.l.items);
	} else if (d->type == QUOTA_DOC_MAP) {
		for (size_t i = 0; i < d->u.m.n; i++) {
			quota_doc_unref(d->u.m.e[i].key);
			quota_doc_unref(d->u.m.e[i].value);
		}
		quota__free(d->u.m.e);
		quota__free(d->u.m.index);
	}
	quota__free(d);
}

QUOTA_API quota_doc *quota_doc_ref(const quota_doc *d)
{
	quota_doc *m = (quota_doc *)d;
	if (m && !m->immortal)
		atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	return m;
}

QUOTA_API void quota_doc_unref(quota_doc *d)
{
	if (!d || d->immortal)
		return;
	if (atomic_fetch_sub_explicit(&d->refs, 1, memory_order_release) == 1) {
		atomic_thread_fence(memory_order_acquire);
		destroy(d);
	}
}

/* Record that item now lives inside a container, and the container's new
 * depth; QUOTA_ERR_INVALID when that is too deep. */
static int adopt(quota_doc *container, quota_doc *item)
{
	if (item->depth + 1 > QUOTA_DOC_MAX_DEPTH)
		return QUOTA_ERR_INVALID;
	if (item->depth + 1 > container->depth)
		container->depth = (uint8_t)(item->depth + 1);
	if (!atomic_load_explicit(&item->frozen, memory_order_relaxed))
		atomic_store_explicit(&item->frozen, 1, memory_order_relaxed);
	return QUOTA_OK;
}

/* Grow an array of n used elements of the given size to hold one more. */
static int reserve_one(void **arr, size_t *cap, size_t n, size_t each)
{
	if (n < *cap)
		return QUOTA_OK;
	size_t grown = *cap ? *cap * 2 : 4;
	void *p = quota__calloc(grown, each);
	if (!p)
		return QUOTA_ERR_NOMEM;
	if (n)
		memcpy(p, *arr, n * each);
	quota__free(*arr);
	*arr = p;
	*cap = grown;
	return QUOTA_OK;
}

int quota__doc_push(quota_doc *list, quota_doc *item)
{
	void *items = list->u.l.items;
	int rc = reserve_one(&items, &list->u.l.cap, list->u.l.n, sizeof(quota_doc *));
	list->u.l.items = items;
	if (rc == QUOTA_OK)
		rc = adopt(list, item);
	if (rc != QUOTA_OK) {
		quota_doc_unref(item);
		return rc;
	}
	list->u.l.items[list->u.l.n++] = item;
	return QUOTA_OK;
}

static void index_add(uint32_t *index, size_t mask, const quota__entry *e, uint32_t i)
{
	size_t slot = e->hash & mask;
	while (index[slot])
		slot = (slot + 1) & mask;
	index[slot] = i + 1;
}

/* An index with room for want entries, filled from the map's entries.
 * Small maps are searched without hashes, so their entries get theirs
 * when the first index is made. */
static int index_rebuild(quota_doc *m, size_t want)
{
	size_t size = 16;
	while (size < want * 4)
		size *= 2;
	uint32_t *index = quota__calloc(size, sizeof *index);
	if (!index)
		return QUOTA_ERR_NOMEM;
	for (size_t i = 0; i < m->u.m.n; i++) {
		quota__entry *e = &m->u.m.e[i];
		if (!m->u.m.index)
			e->hash = key_hash(e->key->u.s.ptr, e->key->u.s.len);
		index_add(index, size - 1, e, (uint32_t)i);
	}
	quota__free(m->u.m.index);
	m->u.m.index = index;
	m->u.m.mask = size - 1;
	return QUOTA_OK;
}

const quota__entry *quota__doc_find(const quota_doc *map, const char *key, size_t len)
{
	const quota__entry *e = map->u.m.e;
	if (!map->u.m.index) {
		for (size_t i = 0; i < map->u.m.n; i++)
			if (e[i].key->u.s.len == len && memcmp(e[i].key->u.s.ptr, key, len) == 0)
				return &e[i];
		return NULL;
	}
	uint64_t h = key_hash(key, len);
	for (size_t slot = h & map->u.m.mask; map->u.m.index[slot];
	     slot = (slot + 1) & map->u.m.mask) {
		const quota__entry *x = &e[map->u.m.index[slot] - 1];
		if (x->hash == h && x->key->u.s.len == len &&
		    memcmp(x->key->u.s.ptr, key, len) == 0)
			return x;
	}
	return NULL;
}

int quota__doc_put(quota_doc *map, quota_doc *key, quota_doc *value)
{
	quota__entry *old = (quota__entry *)quota__doc_find(map, key->u.s.ptr, key->u.s.len);
	int rc = QUOTA_OK;
	size_t n = map->u.m.n;
	if (old) {
		if ((rc = adopt(map, value)) == QUOTA_OK) {
			quota_doc_unref(old->value);
			old->value = value;
			value = NULL;
		}
		goto done;
	}
	void *e = map->u.m.e;
	rc = reserve_one(&e, &map->u.m.cap, n, sizeof(quota__entry));
	map->u.m.e = e;
	if (rc == QUOTA_OK && n + 1 > SMALL_MAP &&
	    (!map->u.m.index || (n + 1) * 2 > map->u.m.mask + 1))
		rc = index_rebuild(map, n + 1);
	if (rc == QUOTA_OK)
		rc = adopt(map, value);
	if (rc != QUOTA_OK)
		goto done;
	adopt(map, key);
	quota__entry *x = &map->u.m.e[n];
	x->key = key;
	x->value = value;
	x->hash = 0;
	if (map->u.m.index) {
		x->hash = key_hash(key->u.s.ptr, key->u.s.len);
		index_add(map->u.m.index, map->u.m.mask, x, (uint32_t)n);
	}
	map->u.m.n = n + 1;
	return QUOTA_OK;
done:
	quota_doc_unref(key);
	quota_doc_unref(value);
	return rc;
}

static void release(quota_doc **d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		quota_doc_unref(d[i]);
}

quota_doc *quota__doc_list_of(quota_doc **items, size_t n)
{
	quota_doc *list = quota__doc_list(n);
	size_t i = 0;
	for (; list && i < n && adopt(list, items[i]) == QUOTA_OK; i++)
		list->u.l.items[i] = items[i];
	if (list)
		list->u.l.n = i;
	if (i == n)
		return list;
	release(items + i, n - i);
	quota_doc_unref(list);
	return NULL;
}

quota_doc *quota__doc_map_of(quota_doc **kv, size_t n)
{
	quota_doc *map = quota__doc_map(n);
	int rc = map ? QUOTA_OK : QUOTA_ERR_NOMEM;
	/* one index of the final size, instead of one per doubling */
	if (rc == QUOTA_OK && n > SMALL_MAP)
		rc = index_rebuild(map, n);
	size_t i = 0;
	for (; i < n && rc == QUOTA_OK; i++)
		rc = quota__doc_put(map, kv[2 * i], kv[2 * i + 1]);
	release(kv + 2 * i, 2 * (n - i));
	if (rc == QUOTA_OK)
		return map;
	quota_doc_unref(map);
	return NULL;
}

/* ---- the public calls ---------------------------------------------------- */

static int out_of_memory(quota_doc *d, quota_doc **out)
{
	*out = d;
	return d ? QUOTA_OK : quota__fail(QUOTA_ERR_NOMEM, "doc: out of memory");
}

QUOTA_API int quota_doc_new_null(quota_doc **out)
{
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "doc: out must not be NULL");
	*out = &quota__doc_null;
	return QUOTA_OK;
}

QUOTA_API int quota_doc_new_bool(int32_t value, quota_doc **out)
{
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "doc: out must not be NULL");
	*out = quota__doc_bool(value != 0);
	return QUOTA_OK;
}

QUOTA_API int quota_doc_new_int(int64_t value, quota_doc **out)
{
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "doc: out must not be NULL");
	return out_of_memory(quota__doc_int(value), out);
}

QUOTA_API int quota_doc_new_double(double value, quota_doc **out)
{
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "doc: out must not be NULL");
	return out_of_memory(quota__doc_double(value), out);
}

/* Bytes that may become a string: not NULL unless empty, valid UTF-8. */
static int check_bytes(const char *what, const char *s, size_t len)
{
	if (!s && len)
		return quota__fail(QUOTA_ERR_INVALID, "doc: %s is NULL with length %zu", what, len);
	size_t bad = len ? quota__utf8_invalid_at(s, len) : 0;
	if (bad < len)
		return quota__fail(QUOTA_ERR_INVALID, "doc: %s is not valid UTF-8 (byte %zu)", what,
				   bad);
	return QUOTA_OK;
}

QUOTA_API int quota_doc_new_string(const char *s, size_t len, quota_doc **out)
{
	int rc;
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "doc: out must not be NULL");
	if ((rc = check_bytes("string", s, len)))
		return rc;
	return out_of_memory(quota__doc_string(s, len), out);
}

QUOTA_API int quota_doc_new_list(quota_doc **out)
{
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "doc: out must not be NULL");
	return out_of_memory(quota__doc_list(0), out);
}

QUOTA_API int quota_doc_new_map(quota_doc **out)
{
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "doc: out must not be NULL");
	return out_of_memory(quota__doc_map(0), out);
}

/* May the caller change this container? */
static int check_mutable(const quota_doc *d, int type, const quota_doc *member)
{
	static const char *const names[] = {"null",   "bool", "int", "double",
					    "string", "list", "map"};
	if (!d || !member)
		return quota__fail(QUOTA_ERR_INVALID, "doc: %s must not be NULL",
				   d ? "item" : (type == QUOTA_DOC_LIST ? "list" : "map"));
	if (d->type != type)
		return quota__fail(QUOTA_ERR_INVALID, "doc: expected a %s, got a %s", names[type],
				   names[d->type]);
	if (member == d)
		return quota__fail(QUOTA_ERR_INVALID, "doc: a %s cannot contain itself",
				   names[type]);
	if (atomic_load(&d->refs) != 1 || atomic_load(&d->frozen))
		return quota__fail(QUOTA_ERR_WRONG_STATE,
				   "doc: the %s is shared or inside another document, so it is "
				   "immutable",
				   names[type]);
	return QUOTA_OK;
}

static int depth_error(int rc)
{
	if (rc == QUOTA_ERR_NOMEM)
		return quota__fail(rc, "doc: out of memory");
	return quota__fail(rc, "doc: nesting deeper than %d levels", QUOTA_DOC_MAX_DEPTH);
}

QUOTA_API int quota_doc_list_append(quota_doc *list, quota_doc *item)
{
	int rc = check_mutable(list, QUOTA_DOC_LIST, item);
	if (rc != QUOTA_OK) {
		if (item != list)
			quota_doc_unref(item);
		return rc;
	}
	rc = quota__doc_push(list, item);
	return rc == QUOTA_OK ? rc : depth_error(rc);
}

QUOTA_API int quota_doc_map_set(quota_doc *map, const char *key, size_t key_len, quota_doc *value)
{
	int rc = check_mutable(map, QUOTA_DOC_MAP, value);
	if (rc == QUOTA_OK)
		rc = check_bytes("key", key, key_len);
	if (rc != QUOTA_OK) {
		if (value != map)
			quota_doc_unref(value);
		return rc;
	}
	quota_doc *k = quota__doc_string(key, key_len);
	if (!k) {
		quota_doc_unref(value);
		return quota__fail(QUOTA_ERR_NOMEM, "doc: out of memory");
	}
	rc = quota__doc_put(map, k, value);
	return rc == QUOTA_OK ? rc : depth_error(rc);
}

QUOTA_API int quota_doc_get_type(const quota_doc *d)
{
	if (!d)
		return quota__fail(QUOTA_ERR_INVALID, "doc: must not be NULL");
	return d->type;
}

static int check_read(const quota_doc *d, int type, const void *out)
{
	if (!d || !out)
		return quota__fail(QUOTA_ERR_INVALID, "doc: %s must not be NULL",
				   d ? "out" : "document");
	if (d->type != type)
		return quota__fail(QUOTA_ERR_INVALID, "doc: has type %d, not %d", d->type, type);
	return QUOTA_OK;
}

QUOTA_API int quota_doc_get_bool(const quota_doc *d, int32_t *value)
{
	int rc = check_read(d, QUOTA_DOC_BOOL, value);
	if (rc == QUOTA_OK)
		*value = d->u.b;
	return rc;
}

QUOTA_API int quota_doc_get_int(const quota_doc *d, int64_t *value)
{
	int rc = check_read(d, QUOTA_DOC_INT, value);
	if (rc == QUOTA_OK)
		*value = d->u.i;
	return rc;
}

QUOTA_API int quota_doc_get_double(const quota_doc *d, double *value)
{
	int rc = check_read(d, QUOTA_DOC_DOUBLE, value);
	if (rc == QUOTA_OK)
		*value = d->u.d;
	return rc;
}

QUOTA_API int quota_doc_get_string(const quota_doc *d, const char **s, size_t *len)
{
	int rc = check_read(d, QUOTA_DOC_STRING, s);
	if (rc == QUOTA_OK) {
		*s = d->u.s.ptr;
		if (len)
			*len = d->u.s.len;
	}
	return rc;
}

QUOTA_API int quota_doc_list_size(const quota_doc *d, size_t *n)
{
	int rc = check_read(d, QUOTA_DOC_LIST, n);
	if (rc == QUOTA_OK)
		*n = d->u.l.n;
	return rc;
}

QUOTA_API int quota_doc_list_at(const quota_doc *d, size_t i, const quota_doc **item)
{
	int rc = check_read(d, QUOTA_DOC_LIST, item);
	if (rc != QUOTA_OK)
		return rc;
	if (i >= d->u.l.n)
		return quota__fail(QUOTA_ERR_NOT_FOUND, "doc: index %zu out of range (size %zu)", i,
				   d->u.l.n);
	*item = d->u.l.items[i];
	return QUOTA_OK;
}

QUOTA_API int quota_doc_map_size(const quota_doc *d, size_t *n)
{
	int rc = check_read(d, QUOTA_DOC_MAP, n);
	if (rc == QUOTA_OK)
		*n = d->u.m.n;
	return rc;
}

QUOTA_API int quota_doc_map_get(const quota_doc *d, const char *key, size_t key_len,
				const quota_doc **value)
{
	int rc = check_read(d, QUOTA_DOC_MAP, value);
	if (rc != QUOTA_OK)
		return rc;
	if (!key && key_len)
		return quota__fail(QUOTA_ERR_INVALID, "doc: key is NULL with length %zu", key_len);
	const quota__entry *e = quota__doc_find(d, key ? key : "", key_len);
	if (!e)
		return QUOTA_ERR_NOT_FOUND;
	*value = e->value;
	return QUOTA_OK;
}

QUOTA_API int quota_doc_map_entry(const quota_doc *d, size_t i, const char **key, size_t *key_len,
				  const quota_doc **value)
{
	int rc = check_read(d, QUOTA_DOC_MAP, key);
	if (rc != QUOTA_OK)
		return rc;
	if (i >= d->u.m.n)
		return quota__fail(QUOTA_ERR_NOT_FOUND, "doc: index %zu out of range (size %zu)", i,
				   d->u.m.n);
	*key = d->u.m.e[i].key->u.s.ptr;
	if (key_len)
		*key_len = d->u.m.e[i].key->u.s.len;
	if (value)
		*value = d->u.m.e[i].value;
	return QUOTA_OK;
}
