/*
 * Allocation through the user's allocator hook.
 * SPDX-License-Identifier: MIT
 */
#include "alloc.h"

#include <quota/common.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static void *libc_malloc(size_t n, void *payload)
{
	(void)payload;
	return malloc(n);
}

static void libc_free(void *p, void *payload)
{
	(void)payload;
	free(p);
}

static quota_allocator current = {sizeof(quota_allocator), libc_malloc, libc_free, NULL};
static atomic_int live_engines;

void quota__engine_count_add(int delta)
{
	atomic_fetch_add_explicit(&live_engines, delta, memory_order_relaxed);
}

void *quota__malloc(size_t n)
{
	return current.malloc_fn(n ? n : 1, current.payload);
}

void *quota__calloc(size_t count, size_t each)
{
	size_t n;
	if (__builtin_mul_overflow(count, each, &n))
		return NULL;
	void *p = quota__malloc(n);
	if (p)
		memset(p, 0, n);
	return p;
}

void quota__free(void *p)
{
	if (p)
		current.free_fn(p, current.payload);
}

char *quota__strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = quota__malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

QUOTA_API void quota_free(void *p)
{
	quota__free(p);
}

QUOTA_API int quota_allocator_init(quota_allocator *a, size_t size)
{
	if (!a || size < sizeof(quota_allocator))
		return quota__fail(QUOTA_ERR_INVALID, "allocator: NULL or size %zu too small", size);
	a->size = sizeof(quota_allocator);
	a->malloc_fn = libc_malloc;
	a->free_fn = libc_free;
	a->payload = NULL;
	return QUOTA_OK;
}

QUOTA_API int quota_set_allocator(const quota_allocator *a)
{
	if (atomic_load(&live_engines) != 0)
		return quota__fail(QUOTA_ERR_WRONG_STATE,
				   "allocator: cannot change while %d engine(s) exist",
				   atomic_load(&live_engines));
	if (!a) {
		quota_allocator_init(&current, sizeof current);
		return QUOTA_OK;
	}
	if (a->size < sizeof(quota_allocator))
		return quota__fail(QUOTA_ERR_INVALID, "allocator.size: %zu too small", a->size);
	if (!a->malloc_fn || !a->free_fn)
		return quota__fail(QUOTA_ERR_INVALID, "allocator.%s: must not be NULL",
				   a->malloc_fn ? "free_fn" : "malloc_fn");
	current.malloc_fn = a->malloc_fn;
	current.free_fn = a->free_fn;
	current.payload = a->payload;
	return QUOTA_OK;
}
