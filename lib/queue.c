/*
 * The queue of pending claims (Pattern 2): one FIFO in arrival order. A
 * pending claim is admitted when it fits at every bucket it charges and no
 * older pending claim waits on any of them, which makes the order strict
 * per bucket without a queue per bucket. Waiters find their claim again by
 * key and id, so a claim released or expired meanwhile just drops out.
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "alloc.h"
#include "engine.h"
#include "error.h"

int quota__queue_append(quota_engine *e, const char *key, size_t len, uint64_t id)
{
	quota__waiter *w = quota__malloc(sizeof *w + len);
	if (!w)
		return quota__fail(QUOTA_ERR_NOMEM, "queue: out of memory");
	w->next = NULL;
	w->claim_id = id;
	w->key_len = len;
	memcpy(w->key, key, len);
	*e->queue_tail = w;
	e->queue_tail = &w->next;
	return QUOTA_OK;
}

/* A bucket an older pending claim still waits on is marked with the
 * kick's generation; one kick runs at a time (queue_lock), and marks are
 * read and written under the bucket's stripe lock. */
static int is_blocked(const quota__claim *c, uint64_t gen)
{
	quota__bucket *tb[QUOTA__TARGETS_MAX];
	for (uint32_t i = 0; i < c->req_count; i++)
		for (uint32_t k = 0, n = quota__req_targets(&c->req[i], tb); k < n; k++)
			if (tb[k]->blocked_gen == gen)
				return 1;
	return 0;
}

static void block(quota__claim *c, uint64_t gen)
{
	quota__bucket *tb[QUOTA__TARGETS_MAX];
	for (uint32_t i = 0; i < c->req_count; i++)
		for (uint32_t k = 0, n = quota__req_targets(&c->req[i], tb); k < n; k++)
			tb[k]->blocked_gen = gen;
}

void quota__queue_kick(quota_engine *e)
{
	pthread_mutex_lock(&e->queue_lock);
	if (atomic_load(&e->pending_count) == 0) {
		/* Nothing waits: every record left is stale. */
		quota__queue_free(e);
		pthread_mutex_unlock(&e->queue_lock);
		return;
	}
	uint64_t gen = ++e->kick_gen;
	int64_t now = quota__now(e);
	quota__waiter **link = &e->queue_head;
	while (*link) {
		quota__waiter *w = *link;
		quota__lockset ls;
		quota__claim *c;
		int drop = 1;
		if (quota__claim_lock(e, w->key, w->key_len, now, &ls, &c) == QUOTA_OK) {
			if (c->id == w->claim_id && c->state == QUOTA_CLAIM_PENDING) {
				int due = c->expires_ns && c->expires_ns <= now;
				if (due || is_blocked(c, gen) ||
				    !quota__claim_admit_pending(e, c, now)) {
					/* A pending claim past its deadline is the sweep's:
					 * it neither moves nor holds others back. */
					if (!due)
						block(c, gen);
					drop = 0;
				}
			}
			quota__lockset_unlock(e, &ls);
		}
		if (drop) {
			*link = w->next;
			if (!*link)
				e->queue_tail = link;
			quota__free(w);
		} else {
			link = &w->next;
		}
	}
	pthread_mutex_unlock(&e->queue_lock);
}

void quota__queue_free(quota_engine *e)
{
	while (e->queue_head) {
		quota__waiter *w = e->queue_head;
		e->queue_head = w->next;
		quota__free(w);
	}
	e->queue_tail = &e->queue_head;
}
