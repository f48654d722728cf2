/* Allocation through the user's allocator hook. SPDX-License-Identifier: MIT */
#ifndef QUOTA_LIB_ALLOC_H
#define QUOTA_LIB_ALLOC_H

#include <stddef.h>

void *quota__malloc(size_t n);
void *quota__calloc(size_t count, size_t each);
void quota__free(void *p);
char *quota__strdup(const char *s);

/* An arena: *arena starts NULL; allocations are zeroed, aligned for any
 * type, and freed all at once (expr/compile.c). NULL on no memory. */
void *quota__arena_alloc(void **arena, size_t n);
void quota__arena_free(void *arena);

/* Engines alive; the allocator may only change while this is zero. */
void quota__engine_count_add(int delta);

#endif
