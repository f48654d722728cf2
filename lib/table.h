/*
 * An intrusive chained hash table. The caller owns the nodes and does the
 * locking; inserting never fails (when growing the slot array cannot get
 * memory, chains just get longer).
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_TABLE_H
#define QUOTA_LIB_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct quota__node {
	struct quota__node *next;
	uint64_t hash;
	const char *key;
	size_t key_len;
} quota__node;

typedef struct quota__table {
	quota__node **slots;
	size_t mask;
	size_t count;
} quota__table;

/* 0 on success, -1 when out of memory. */
int quota__table_init(quota__table *t, size_t slots_pow2);
void quota__table_destroy(quota__table *t);
void quota__table_insert(quota__table *t, quota__node *n);
void quota__table_remove(quota__table *t, quota__node *n);
/* quota__free() of a node, for quota__table_clear(). */
void quota__node_free(quota__node *n);
/* Unlink every node, passing each to free_node; the table stays usable. */
void quota__table_clear(quota__table *t, void (*free_node)(quota__node *));

static inline quota__node *quota__table_find(const quota__table *t, uint64_t hash,
					     const char *key, size_t key_len)
{
	for (quota__node *n = t->slots[hash & t->mask]; n; n = n->next)
		if (n->hash == hash && n->key_len == key_len && memcmp(n->key, key, key_len) == 0)
			return n;
	return NULL;
}

/* Iterate: for (size_t i = 0; i <= t->mask; i++) for (n = t->slots[i]; ...). */

#endif
