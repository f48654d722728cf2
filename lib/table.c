/*
 * Intrusive chained hash table.
 * SPDX-License-Identifier: MIT
 */
#include "table.h"

#include "alloc.h"

int quota__table_init(quota__table *t, size_t slots_pow2)
{
	t->slots = quota__calloc(slots_pow2, sizeof *t->slots);
	if (!t->slots)
		return -1;
	t->mask = slots_pow2 - 1;
	t->count = 0;
	return 0;
}

void quota__table_destroy(quota__table *t)
{
	quota__free(t->slots);
	t->slots = NULL;
	t->count = 0;
}

static void grow(quota__table *t)
{
	size_t n = (t->mask + 1) * 2;
	quota__node **slots = quota__calloc(n, sizeof *slots);
	if (!slots)
		return;
	for (size_t i = 0; i <= t->mask; i++) {
		quota__node *node = t->slots[i];
		while (node) {
			quota__node *next = node->next;
			size_t j = node->hash & (n - 1);
			node->next = slots[j];
			slots[j] = node;
			node = next;
		}
	}
	quota__free(t->slots);
	t->slots = slots;
	t->mask = n - 1;
}

void quota__table_insert(quota__table *t, quota__node *n)
{
	if (t->count >= t->mask + 1 && t->mask < (SIZE_MAX >> 2))
		grow(t);
	quota__node **slot = &t->slots[n->hash & t->mask];
	n->next = *slot;
	*slot = n;
	t->count++;
}

void quota__table_remove(quota__table *t, quota__node *n)
{
	for (quota__node **p = &t->slots[n->hash & t->mask]; *p; p = &(*p)->next) {
		if (*p == n) {
			*p = n->next;
			n->next = NULL;
			t->count--;
			return;
		}
	}
}

void quota__node_free(quota__node *n)
{
	quota__free(n);
}

void quota__table_clear(quota__table *t, void (*free_node)(quota__node *))
{
	for (size_t i = 0; i <= t->mask; i++) {
		quota__node *n = t->slots[i];
		t->slots[i] = NULL;
		while (n) {
			quota__node *next = n->next;
			free_node(n);
			n = next;
		}
	}
	t->count = 0;
}
