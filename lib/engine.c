/*
 * The engine: options, lifetime, clock, lock stripes and time-based work.
 * SPDX-License-Identifier: MIT
 */
#include "engine.h"

#include <string.h>
#include <time.h>

#include "alloc.h"
#include "api.h"
#include "error.h"
#include "journal.h"
#include "hash.h"
#include "policy.h"

#define DEFAULT_STRIPES 64
#define MAX_STRIPES 65536
#define DEFAULT_RETENTION_MS 60000

QUOTA_API int quota_engine_options_init(quota_engine_options *o, size_t size)
{
	if (!o || size < sizeof *o)
		return quota__fail(QUOTA_ERR_INVALID, "options: NULL or size %zu too small", size);
	memset(o, 0, sizeof *o);
	o->size = sizeof *o;
	o->released_retention_ms = DEFAULT_RETENTION_MS;
	return QUOTA_OK;
}

static int64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t quota__now(quota_engine *e)
{
	if (e->journal) {
		/* A change to a durable engine sees one time, its record's. */
		int64_t frozen = quota__jnow(e);
		if (frozen)
			return frozen;
	}
	int64_t t = e->clock ? e->clock(e->clock_payload) : realtime_ns();
	int64_t last = atomic_load_explicit(&e->last_now, memory_order_relaxed);
	while (t > last && !atomic_compare_exchange_weak(&e->last_now, &last, t))
		;
	return t > last ? t : last;
}

static void atomic_min(_Atomic int64_t *a, int64_t v)
{
	int64_t cur = atomic_load(a);
	while (v < cur && !atomic_compare_exchange_weak(a, &cur, v))
		;
}

void quota__rate_wake_note(quota_engine *e, int64_t when)
{
	atomic_min(&e->rate_wake, when);
}

void quota__deadline_note(quota_engine *e, quota__stripe *s, int64_t when)
{
	if (when < s->next_deadline)
		s->next_deadline = when;
	atomic_min(&e->next_deadline, when);
}

void quota__lockset_lock(quota_engine *e, const quota__lockset *ls)
{
	for (uint32_t i = 0; i < ls->n; i++)
		quota__lock_take(&e->stripes[ls->idx[i]].lock);
}

void quota__lockset_unlock(quota_engine *e, const quota__lockset *ls)
{
	for (uint32_t i = ls->n; i-- > 0;)
		quota__lock_release(&e->stripes[ls->idx[i]].lock);
}

void quota__lock_all(quota_engine *e)
{
	for (uint32_t i = 0; i < e->stripe_count; i++)
		quota__lock_take(&e->stripes[i].lock);
}

void quota__unlock_all(quota_engine *e)
{
	for (uint32_t i = e->stripe_count; i-- > 0;)
		quota__lock_release(&e->stripes[i].lock);
}

/* The allocator hook promises max_align_t alignment, not a cache line:
 * over-allocate and align by hand. */
static int stripes_alloc(quota_engine *e, uint32_t n)
{
	e->stripes_block = quota__calloc(1, (size_t)n * sizeof(quota__stripe) + QUOTA__CACHE_LINE);
	if (!e->stripes_block)
		return -1;
	uintptr_t p = (uintptr_t)e->stripes_block;
	p = (p + QUOTA__CACHE_LINE - 1) & ~(uintptr_t)(QUOTA__CACHE_LINE - 1);
	e->stripes = (quota__stripe *)p;
	return 0;
}

static void stripes_free(quota_engine *e, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		quota__table_destroy(&e->stripes[i].buckets);
		quota__table_destroy(&e->stripes[i].claims);
		quota__lock_destroy(&e->stripes[i].lock);
	}
	quota__free(e->stripes_block);
}

QUOTA_API int quota_engine_new(quota_engine **out, const quota_engine_options *opts)
{
	quota_engine_options o;
	int rc;
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "out: must not be NULL");
	*out = NULL;
	if (opts) {
		if ((rc = quota__copy_in("options", &o, sizeof o, opts, sizeof o)))
			return rc;
	} else {
		quota_engine_options_init(&o, sizeof o);
	}
	uint32_t stripes = o.stripes ? o.stripes : DEFAULT_STRIPES;
	if (stripes > MAX_STRIPES || (stripes & (stripes - 1)) != 0)
		return quota__fail(QUOTA_ERR_INVALID,
				   "options.stripes: %u is not a power of two in [1, %d]", o.stripes,
				   MAX_STRIPES);
	if (o.reserved_flags)
		return quota__fail(QUOTA_ERR_INVALID, "options.reserved_flags: must be 0");
	if (o.released_retention_ms < 0 || o.released_retention_ms > INT64_MAX / 1000000)
		return quota__fail(QUOTA_ERR_INVALID,
				   "options.released_retention_ms: %lld out of range",
				   (long long)o.released_retention_ms);

	quota_engine *e = quota__calloc(1, sizeof *e);
	if (!e)
		return quota__fail(QUOTA_ERR_NOMEM, "engine: out of memory");
	if (stripes_alloc(e, stripes))
		goto nomem;
	e->counters_block =
		quota__calloc(1, QUOTA__COUNTER_SLOTS * sizeof(quota__counters) + QUOTA__CACHE_LINE);
	if (!e->counters_block) {
		quota__free(e->stripes_block);
		goto nomem;
	}
	e->counters = (quota__counters *)(((uintptr_t)e->counters_block + QUOTA__CACHE_LINE - 1) &
					  ~(uintptr_t)(QUOTA__CACHE_LINE - 1));
	uint32_t made = 0;
	for (; made < stripes; made++) {
		quota__stripe *s = &e->stripes[made];
		if (quota__table_init(&s->buckets, 8) || quota__table_init(&s->claims, 8)) {
			quota__table_destroy(&s->buckets);
			goto nomem_stripes;
		}
		quota__lock_init(&s->lock);
		s->next_deadline = QUOTA__NO_DEADLINE;
	}
	if (quota__table_init(&e->regs, 16))
		goto nomem_stripes;
	if (quota__table_init(&e->grants, 16)) {
		quota__table_destroy(&e->regs);
		goto nomem_stripes;
	}
	if (quota__table_init(&e->consumers, 16)) {
		quota__table_destroy(&e->regs);
		quota__table_destroy(&e->grants);
		goto nomem_stripes;
	}
	if (quota__policies_new(e)) {
		quota__table_destroy(&e->regs);
		quota__table_destroy(&e->grants);
		quota__table_destroy(&e->consumers);
		goto nomem_stripes;
	}
	/* Config changes are rare; a stream of claims does not starve them. */
	quota__rw_init(&e->config);
	pthread_mutex_init(&e->sweep_lock, NULL);
	pthread_mutex_init(&e->queue_lock, NULL);
	pthread_mutex_init(&e->audit_lock, NULL);
	pthread_mutex_init(&e->event_lock, NULL);
	e->queue_tail = &e->queue_head;
	e->event_tail = &e->event_head;
	e->event_fn = o.event_fn;
	e->event_payload = o.event_payload;

	e->stripe_count = stripes;
	e->stripe_shift = 64 - (uint32_t)__builtin_ctz(stripes);
	uint64_t key[2] = {o.hash_key[0], o.hash_key[1]};
	if (!key[0] && !key[1])
		quota__random_key(key);
	quota__hash_keys_init(&e->hash, key);
	e->clock = o.clock;
	e->clock_payload = o.clock_payload;
	e->retention_ns = o.released_retention_ms * 1000000;
	atomic_init(&e->next_deadline, QUOTA__NO_DEADLINE);
	atomic_init(&e->rate_wake, QUOTA__NO_DEADLINE);
	atomic_init(&e->next_claim_id, 1);
	atomic_init(&e->chain_version, 1);
	quota__engine_count_add(1);
	if (o.journal_path && (rc = quota__journal_open(e, &o))) {
		quota__saved_error saved;
		quota__error_save(&saved);
		quota_engine_free(e);
		quota__error_restore(&saved);
		return rc;
	}
	*out = e;
	return QUOTA_OK;

nomem_stripes:
	stripes_free(e, made);
	quota__free(e->counters_block);
nomem:
	quota__free(e);
	return quota__fail(QUOTA_ERR_NOMEM, "engine: out of memory");
}

QUOTA_API void quota_engine_free(quota_engine *e)
{
	if (!e)
		return;
	quota__journal_close(e);
	quota__policies_free(e);
	quota__queue_free(e);
	quota__events_free(e);
	quota__claims_free(e);
	quota__buckets_free(e);
	quota__grants_free(e);
	quota__regs_free(e);
	quota__consumers_free(e);
	quota__table_destroy(&e->regs);
	quota__table_destroy(&e->grants);
	quota__table_destroy(&e->consumers);
	stripes_free(e, e->stripe_count);
	quota__rw_destroy(&e->config);
	pthread_mutex_destroy(&e->sweep_lock);
	pthread_mutex_destroy(&e->queue_lock);
	pthread_mutex_destroy(&e->audit_lock);
	quota__free(e->audit);
	quota__free(e->counters_block);
	pthread_mutex_destroy(&e->event_lock);
	quota__free(e);
	quota__engine_count_add(-1);
}

QUOTA_API int quota_engine_now(quota_engine *e, int64_t *now_ns)
{
	if (!e || !now_ns)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL", e ? "now_ns" : "engine");
	*now_ns = quota__now(e);
	return QUOTA_OK;
}

QUOTA_API int quota_engine_next_deadline(quota_engine *e, int64_t *when_ns)
{
	if (!e || !when_ns)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL", e ? "when_ns" : "engine");
	int64_t d = atomic_load(&e->next_deadline), r = atomic_load(&e->rate_wake);
	int64_t when = d < r ? d : r;
	*when_ns = when == QUOTA__NO_DEADLINE ? 0 : when;
	return QUOTA_OK;
}

int quota__impl_engine_tick(quota_engine *e, int64_t now_ns, uint64_t *expired)
{
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	if (now_ns < 0)
		return quota__fail(QUOTA_ERR_INVALID, "now_ns: must be >= 0, got %lld",
				   (long long)now_ns);
	int64_t now = quota__now(e);
	if (now_ns > now)
		now = now_ns;
	uint64_t n = quota__deadline_due(e, now) || atomic_load(&e->sweeping)
			     ? quota__sweep(e, now)
			     : 0;
	if (expired)
		*expired = n;
	quota__after(e);
	return QUOTA_OK;
}

/* Claims that are due in one stripe, copied out so that they can be expired
 * under the full set of locks they need. */
#define SWEEP_BATCH 16

uint64_t quota__sweep(quota_engine *e, int64_t now)
{
	uint64_t expired = 0;
	pthread_mutex_lock(&e->sweep_lock);
	atomic_store(&e->sweeping, 1);
	atomic_store(&e->next_deadline, QUOTA__NO_DEADLINE);
	for (uint32_t i = 0; i < e->stripe_count; i++) {
		quota__stripe *s = &e->stripes[i];
		for (;;) {
			char keys[SWEEP_BATCH][QUOTA__NAME_KEY_MAX + 1];
			size_t lens[SWEEP_BATCH];
			uint32_t due = 0;
			int64_t next = QUOTA__NO_DEADLINE;

			quota__lock_take(&s->lock);
			if (s->next_deadline > now) {
				next = s->next_deadline;
				quota__lock_release(&s->lock);
				atomic_min(&e->next_deadline, next);
				break;
			}
			quota__table *t = &s->claims;
			for (size_t b = 0; b <= t->mask; b++) {
				quota__node *n = t->slots[b];
				while (n) {
					quota__node *after = n->next;
					quota__claim *c = (quota__claim *)n;
					if (c->state == QUOTA_CLAIM_RELEASED) {
						if (c->purge_ns <= now) {
							quota__table_remove(t, n);
							quota__free(c);
						} else if (c->purge_ns < next) {
							next = c->purge_ns;
						}
					} else if (c->state != QUOTA_CLAIM_GRANTED && c->expires_ns) {
						if (c->expires_ns <= now && due < SWEEP_BATCH) {
							memcpy(keys[due], n->key, n->key_len);
							lens[due++] = n->key_len;
						} else if (c->expires_ns < next) {
							next = c->expires_ns;
						}
					}
					n = after;
				}
			}
			if (due == 0)
				s->next_deadline = next;
			quota__lock_release(&s->lock);
			if (due == 0) {
				atomic_min(&e->next_deadline, next);
				break;
			}
			uint64_t round = 0;
			for (uint32_t k = 0; k < due; k++)
				round += (uint64_t)quota__claim_expire_due(e, keys[k], lens[k], now);
			expired += round;
			if (round == 0) {
				/* Nothing could move (no memory for its event): keep
				 * the stripe due and try again at the next sweep. */
				atomic_min(&e->next_deadline, now);
				break;
			}
		}
	}
	atomic_store(&e->sweeping, 0);
	pthread_mutex_unlock(&e->sweep_lock);
	return expired;
}
