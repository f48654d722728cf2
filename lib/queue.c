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

/*
 * Look at w's claim under its locks: admit it when it fits and nothing
 * older waits on its buckets, else mark its buckets for the younger ones.
 * 1: the waiter goes (admitted, or its claim is gone); 0: it stays; -1:
 * the claim is past its queue deadline (with hold_due, it then stays and
 * holds the others back, as when its expiry found no memory).
 */
static int wait_or_go(quota_engine *e, const quota__waiter *w, int64_t now, uint64_t gen,
		      int hold_due)
{
	quota__lockset ls;
	quota__claim *c;
	if (quota__claim_lock(e, w->key, w->key_len, now, &ls, &c) != QUOTA_OK)
		return 1;
	int rc = 1;
	if (c->id == w->claim_id && c->state == QUOTA_CLAIM_PENDING) {
		if (!hold_due && c->expires_ns && c->expires_ns <= now)
			rc = -1;
		else if (hold_due || is_blocked(c, gen) || !quota__claim_admit_pending(e, c, now))
			rc = 0;
		if (rc == 0)
			block(c, gen);
	}
	quota__lockset_unlock(e, &ls);
	return rc;
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
		int drop = wait_or_go(e, w, now, gen, 0);
		if (drop < 0) {
			/* Past its deadline: it ends here, before anyone behind it
			 * moves (a release that read the clock earlier must not find
			 * it still waiting after a younger claim went ahead). */
			drop = quota__claim_expire_due(e, w->key, w->key_len, now) ||
			       wait_or_go(e, w, now, gen, 1);
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
