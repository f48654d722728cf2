/*
 * Claim events: prepared before a transition (so that none is lost to a
 * failed allocation), queued under any lock, delivered after every lock is
 * released by one thread at a time, in order.
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "alloc.h"
#include "engine.h"
#include "error.h"
#include "journal.h"

int quota__event_prepare(quota_engine *e, const char *key, size_t len, quota__event **out)
{
	*out = NULL;
	if (!e->event_fn)
		return QUOTA_OK;
	quota__event *ev = quota__malloc(sizeof *ev + len + 1);
	if (!ev)
		return quota__fail(QUOTA_ERR_NOMEM, "event: out of memory");
	ev->next = NULL;
	ev->key_len = len;
	memcpy(ev->key, key, len);
	ev->key[len] = '\0';
	*out = ev;
	return QUOTA_OK;
}

void quota__event_post(quota_engine *e, quota__event *ev, int type, int prev_state, int state)
{
	if (!ev)
		return;
	ev->type = type;
	ev->prev_state = prev_state;
	ev->state = state;
	pthread_mutex_lock(&e->event_lock);
	*e->event_tail = ev;
	e->event_tail = &ev->next;
	pthread_mutex_unlock(&e->event_lock);
}

static void deliver(quota_engine *e)
{
	pthread_mutex_lock(&e->event_lock);
	if (e->delivering || !e->event_head) {
		pthread_mutex_unlock(&e->event_lock);
		return;
	}
	e->delivering = 1;
	/* A callback may call in and fail: the caller reads its own detail. */
	quota__saved_error saved;
	quota__error_save(&saved);
	while (e->event_head) {
		quota__event *ev = e->event_head;
		e->event_head = ev->next;
		if (!e->event_head)
			e->event_tail = &e->event_head;
		pthread_mutex_unlock(&e->event_lock);
		quota_event out = {sizeof out, ev->type, ev->prev_state, ev->state, 0, ev->key,
				   ev->key + strlen(ev->key) + 1};
		e->event_fn(&out, e->event_payload);
		quota__free(ev);
		pthread_mutex_lock(&e->event_lock);
	}
	e->delivering = 0;
	pthread_mutex_unlock(&e->event_lock);
	quota__error_restore(&saved);
}

void quota__after_work(quota_engine *e)
{
	if (e->journal) {
		/* A durable engine kicks its queue only in a change, where
		 * quota__jend() does; events go once the change lock is free. */
		if (!quota__jinside(e) && e->event_fn)
			deliver(e);
		return;
	}
	/* A rate limit holding a pending claim back may have let go by now. */
	int64_t wake = atomic_load_explicit(&e->rate_wake, memory_order_relaxed);
	if (wake != QUOTA__NO_DEADLINE && quota__now(e) >= wake &&
	    atomic_compare_exchange_strong(&e->rate_wake, &wake, QUOTA__NO_DEADLINE))
		atomic_store_explicit(&e->kick_wanted, 1, memory_order_relaxed);
	if (atomic_load_explicit(&e->kick_wanted, memory_order_relaxed) &&
	    atomic_exchange_explicit(&e->kick_wanted, 0, memory_order_relaxed)) {
		/* Admissions may fail on their own: the caller still reads the
		 * detail of its call. */
		quota__saved_error saved;
		quota__error_save(&saved);
		quota__queue_kick(e);
		quota__error_restore(&saved);
	}
	if (e->event_fn)
		deliver(e);
}

void quota__events_free(quota_engine *e)
{
	while (e->event_head) {
		quota__event *ev = e->event_head;
		e->event_head = ev->next;
		quota__free(ev);
	}
	e->event_tail = &e->event_head;
}
