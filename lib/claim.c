/*
 * Claims: atomic reserve / commit / release across every request.
 *
 * A claim lives in the stripe of its (ns, name); its buckets live in the
 * stripes of their keys. Every change to a claim holds the claim's stripe
 * and all its buckets' stripes at once (one lock set, ascending order), so
 * the claim and its buckets change together or not at all.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "api.h"
#include "claim.h"
#include "engine.h"
#include "error.h"
#include "iter.h"
#include "pack.h"


QUOTA_API int quota_request_init(quota_request *r, size_t size)
{
	if (!r || size < sizeof *r)
		return quota__fail(QUOTA_ERR_INVALID, "request: NULL or size %zu too small", size);
	memset(r, 0, sizeof *r);
	r->size = sizeof *r;
	return QUOTA_OK;
}

QUOTA_API int quota_claim_init(quota_claim *c, size_t size)
{
	if (!c || size < sizeof *c)
		return quota__fail(QUOTA_ERR_INVALID, "claim: NULL or size %zu too small", size);
	memset(c, 0, sizeof *c);
	c->size = sizeof *c;
	return QUOTA_OK;
}

/* Check a claim's ns and name, and measure them. */
static int check_ns_name(const char *ns, const char *name, size_t *ns_len, size_t *name_len)
{
	int rc;
	if ((rc = quota__check_text_len("claim.metadata.namespace", ns, 0, QUOTA__NS_MAX,
					ns_len)) ||
	    (rc = quota__check_text_len("claim.metadata.name", name, 1, QUOTA__NAME_MAX, name_len)))
		return rc;
	return QUOTA_OK;
}

/* Check a list of (type, amount) pairs, measuring the types into type_len;
 * min_amount 1 for claims, 0 for settlements and resizes. */
static int check_requests(const char *field, const quota_request *reqs, uint32_t n,
			  int64_t min_amount, size_t *type_len)
{
	int rc;
	if (n > QUOTA_MAX_REQUESTS)
		return quota__fail(QUOTA_ERR_INVALID, "%s: %u entries, at most %d", field, n,
				   QUOTA_MAX_REQUESTS);
	if ((rc = quota__check_array(field, reqs, n, sizeof(quota_request))))
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		const quota_request *r = quota__elem(reqs, i);
		if ((rc = quota__check_text_at_len(field, i, ".resourceType", r->resource_type, 1,
						   QUOTA__NAME_MAX, &type_len[i])))
			return rc;
		for (uint32_t k = 0; k < i; k++)
			if (type_len[k] == type_len[i] &&
			    memcmp(r->resource_type,
				   ((const quota_request *)quota__elem(reqs, k))->resource_type,
				   type_len[i]) == 0)
				return quota__fail(QUOTA_ERR_INVALID,
						   "%s[%u].resourceType: %s also in %s[%u]", field, i,
						   r->resource_type, field, k);
		if (r->amount < min_amount)
			return quota__fail(QUOTA_ERR_INVALID, "%s[%u].amount: must be >= %lld, got %lld",
					   field, i, (long long)min_amount, (long long)r->amount);
		if (r->reserved_flags)
			return quota__fail(QUOTA_ERR_INVALID, "%s[%u].reserved_flags: must be 0",
					   field, i);
		if (r->dimension_count && min_amount == 0)
			return quota__fail(QUOTA_ERR_INVALID,
					   "%s[%u].dimensions: only a claim's requests carry "
					   "dimensions",
					   field, i);
		if (r->dimension_count) {
			char f[64];
			snprintf(f, sizeof f, "%s[%u].dimensions", field, i);
			if ((rc = quota__check_labels(f, r->dimensions, r->dimension_count)))
				return rc;
		}
	}
	return QUOTA_OK;
}

int quota__claim_check_in(const quota_claim *in, quota_claim *c, claim_lens *len)
{
	int rc;
	if ((rc = quota__copy_in("claim", c, sizeof *c, in, sizeof *c)) ||
	    (rc = check_ns_name(c->ns, c->name, &len->ns, &len->name)) ||
	    (rc = quota__check_ref_len("claim.consumerRef", &c->consumer, len->consumer)))
		return rc;
	const quota_ref *res = &c->resource;
	if (!quota__empty(res->kind) || !quota__empty(res->name)) {
		if ((rc = quota__check_ref_len("claim.resourceRef", res, len->resource)))
			return rc;
	} else {
		/* No resource: its other strings are kept as they are. */
		const char *part[4] = {res->api_group, res->kind, res->ns, res->name};
		for (int k = 0; k < 4; k++)
			len->resource[k] = part[k] ? strlen(part[k]) : 0;
	}
	if (c->flags & ~(uint32_t)CLAIM_PUBLIC_FLAGS)
		return quota__fail(QUOTA_ERR_INVALID, "claim.flags: unknown bits 0x%x",
				   c->flags & ~(uint32_t)CLAIM_PUBLIC_FLAGS);
	if (c->ttl_ms < 0 || c->ttl_ms > INT64_MAX / 1000000 / 2)
		return quota__fail(QUOTA_ERR_INVALID, "claim.ttl_ms: %lld out of range",
				   (long long)c->ttl_ms);
	if (c->queue_timeout_ms < 0 || c->queue_timeout_ms > INT64_MAX / 1000000 / 2)
		return quota__fail(QUOTA_ERR_INVALID, "claim.queue_timeout_ms: %lld out of range",
				   (long long)c->queue_timeout_ms);
	if (c->request_count < 1)
		return quota__fail(QUOTA_ERR_INVALID, "claim.requests: must not be empty");
	return check_requests("claim.requests", c->requests, c->request_count, 1, len->type);
}

int quota__reg_may_claim(const quota__reg *r, const quota_ref *res, uint32_t i)
{
	const quota_registration *p = r->pub;
	if (p->claiming_resource_count == 0)
		return QUOTA_OK;
	for (uint32_t k = 0; !quota__empty(res->kind) && k < p->claiming_resource_count; k++) {
		const quota_kind_ref *ok = &p->claiming_resources[k];
		if (strcmp(ok->kind, res->kind) == 0 &&
		    (quota__empty(ok->api_group) || quota__streq(ok->api_group, res->api_group)))
			return QUOTA_OK;
	}
	return quota__fail(QUOTA_ERR_NOT_ALLOWED,
			   "claim.resourceRef.kind: %s%s%s may not claim %s (claim.requests[%u])",
			   quota__str(res->api_group), quota__empty(res->api_group) ? "" : "/",
			   quota__empty(res->kind) ? "(none)" : res->kind, p->resource_type, i);
}

/* A copy of the n bytes at s (NULL counts as "") and a NUL at *at, which
 * moves past them. */
static const char *put_str(char **at, const char *s, size_t n)
{
	char *d = *at;
	if (n) /* s[n] is its NUL; many are empty (and may be NULL) */
		*at = quota__put_part(d, s, n);
	else
		*d = '\0', *at += 1;
	return d;
}

/* A ref's four strings, of lengths len, at *at. */
static quota_ref put_ref(char **at, const quota_ref *r, const size_t len[4])
{
	quota_ref out;
	out.api_group = put_str(at, r->api_group, len[0]);
	out.kind = put_str(at, r->kind, len[1]);
	out.ns = put_str(at, r->ns, len[2]);
	out.name = put_str(at, r->name, len[3]);
	return out;
}

/*
 * A new claim record in one block, every field written: the record and its
 * requests, then each request's charged[] and labels, then the strings,
 * ns and name first and adjacent (together they are the table key).
 * levels[i]: how many buckets request i charges (its chain's length).
 */
quota__claim *quota__claim_new(quota_engine *e, const quota_claim *src, const claim_lens *len,
			       const uint32_t *levels, uint64_t hash)
{
	uint32_t n = src->request_count, charged = 0, labels = 0;
	size_t text = len->ns + len->name + 2;
	for (int k = 0; k < 4; k++)
		text += len->consumer[k] + len->resource[k] + 2;
	for (uint32_t i = 0; i < n; i++) {
		const quota_request *r = quota__elem(src->requests, i);
		charged += levels[i];
		labels += r->dimension_count;
		text += len->type[i] + 1;
		for (uint32_t k = 0; k < r->dimension_count; k++)
			text += strlen(r->dimensions[k].key) + strlen(r->dimensions[k].value) + 2;
	}
	size_t head = sizeof(quota__claim) + n * sizeof(quota__claim_req);
	char *block = quota__malloc(head + charged * sizeof(quota__bucket *) +
				    labels * sizeof(quota_label) + text);
	if (!block)
		return NULL;
	quota__claim *c = (quota__claim *)block;
	quota__bucket **next_charged = (quota__bucket **)(block + head);
	quota_label *next_label = (quota_label *)(next_charged + charged);
	char *at = (char *)(next_label + labels);
	const char *ns = put_str(&at, src->ns, len->ns);
	*c = (quota__claim){
		.node = {.hash = hash, .key = ns, .key_len = len->ns + 1 + len->name},
		.id = atomic_fetch_add(&e->next_claim_id, 1),
		.ns = ns,
		.name = put_str(&at, src->name, len->name),
		.req_count = n,
	};
	c->consumer = put_ref(&at, &src->consumer, len->consumer);
	c->resource = put_ref(&at, &src->resource, len->resource);
	for (uint32_t i = 0; i < n; i++) {
		const quota_request *r = quota__elem(src->requests, i);
		quota_label *l = next_label;
		for (uint32_t k = 0; k < r->dimension_count; k++) {
			const quota_label *d = &r->dimensions[k];
			l[k].key = put_str(&at, d->key, strlen(d->key));
			l[k].value = put_str(&at, d->value, strlen(d->value));
		}
		c->req[i] = (quota__claim_req){put_str(&at, r->resource_type, len->type[i]),
					       l,
					       r->dimension_count,
					       r->amount,
					       r->amount,
					       next_charged,
					       0,
					       NULL};
		next_charged += levels[i];
		next_label += r->dimension_count;
	}
	return c;
}

/* Same consumer, resource, and set of (type, requested amount). */
int quota__claim_same_spec(const quota__claim *c, const quota_claim *in)
{
	if (!quota__streq(c->consumer.kind, in->consumer.kind) ||
	    !quota__streq(c->consumer.ns, in->consumer.ns) ||
	    !quota__streq(c->consumer.name, in->consumer.name) ||
	    !quota__streq(c->resource.kind, in->resource.kind) ||
	    !quota__streq(c->resource.ns, in->resource.ns) ||
	    !quota__streq(c->resource.name, in->resource.name) ||
	    !quota__streq(c->resource.api_group, in->resource.api_group) ||
	    c->req_count != in->request_count)
		return 0;
	for (uint32_t i = 0; i < in->request_count; i++) {
		const quota_request *r = quota__elem(in->requests, i);
		uint32_t k = 0;
		while (k < c->req_count && strcmp(c->req[k].type, r->resource_type) != 0)
			k++;
		if (k == c->req_count || c->req[k].requested != r->amount ||
		    c->req[k].label_count != r->dimension_count)
			return 0;
		for (uint32_t d = 0; d < r->dimension_count; d++) {
			uint32_t m = 0;
			while (m < r->dimension_count &&
			       strcmp(c->req[k].labels[m].key, r->dimensions[d].key) != 0)
				m++;
			if (m == r->dimension_count ||
			    strcmp(c->req[k].labels[m].value, r->dimensions[d].value) != 0)
				return 0;
		}
	}
	return 1;
}

/*
 * Find a claim in its stripe (caller holds the lock). A released claim
 * past its retention is forgotten here, so that its name is unknown at
 * once even when nobody calls quota_engine_tick().
 */
quota__claim *quota__claim_find(quota__stripe *s, uint64_t hash, const char *key, size_t len,
				int64_t now)
{
	quota__claim *c = (quota__claim *)quota__table_find(&s->claims, hash, key, len);
	if (c && c->state == QUOTA_CLAIM_RELEASED && c->purge_ns <= now) {
		quota__table_remove(&s->claims, &c->node);
		quota__free(c);
		return NULL;
	}
	return c;
}

quota__stripe *quota__claim_stripe(quota_engine *e, const quota__claim *c)
{
	return &e->stripes[quota__stripe_of(e, c->node.hash)];
}

/* Move a held claim's amounts from reserved to allocated. */
void quota__claim_commit_held(quota__claim *c, int64_t now)
{
	quota__bucket *tb[QUOTA__TARGETS_MAX];
	for (uint32_t i = 0; i < c->req_count; i++)
		for (uint32_t k = 0, n = quota__req_targets(&c->req[i], tb); k < n; k++) {
			quota__bucket *b = tb[k];
			b->reserved -= c->req[i].requested;
			b->reserved_count--;
			b->allocated += c->req[i].amount;
			b->claim_count++;
		}
	c->state = QUOTA_CLAIM_GRANTED;
	c->expires_ns = 0;
	c->updated_ns = now;
}

/*
 * Return a claim's capacity and make it RELEASED. With no retention the
 * claim is unlinked and returned for the caller to free after unlocking.
 */
static quota__claim *release_held(quota_engine *e, quota__claim *c, int64_t now)
{
	if (c->state == QUOTA_CLAIM_PENDING) {
		/* Claims behind it may go now, and its waiter record goes. */
		atomic_fetch_sub(&e->pending_count, 1);
		atomic_store_explicit(&e->kick_wanted, 1, memory_order_relaxed);
	} else {
		quota__capacity_freed(e);
	}
	quota__bucket *tb[QUOTA__TARGETS_MAX];
	for (uint32_t i = 0; i < c->req_count; i++) {
		for (uint32_t k = 0, n = quota__req_targets(&c->req[i], tb); k < n; k++) {
			quota__bucket *b = tb[k];
			if (c->state == QUOTA_CLAIM_PENDING) {
				b->pending--;
			} else if (c->state == QUOTA_CLAIM_RESERVED) {
				b->reserved -= c->req[i].amount;
				b->reserved_count--;
			} else {
				b->allocated -= c->req[i].amount;
				b->claim_count--;
			}
		}
		c->req[i].charged_count = 0;
		c->req[i].alloc = NULL;
	}
	c->state = QUOTA_CLAIM_RELEASED;
	c->expires_ns = 0;
	c->updated_ns = now;
	quota__stripe *s = quota__claim_stripe(e, c);
	if (e->retention_ns == 0) {
		quota__table_remove(&s->claims, &c->node);
		return c;
	}
	c->purge_ns = now > INT64_MAX - e->retention_ns ? INT64_MAX - 1 : now + e->retention_ns;
	quota__deadline_note(e, s, c->purge_ns);
	return NULL;
}

/* End a reservation whose TTL, or a pending claim whose queue deadline,
 * has passed; tell deciders that capacity may have come back. */
static quota__claim *expire_held(quota_engine *e, quota__claim *c, int64_t now)
{
	c->flags |= CLAIM_EXPIRED;
	if (c->state == QUOTA_CLAIM_PENDING)
		c->flags |= CLAIM_EXPIRED_QUEUED;
	/* It ended when its time ran out, whenever that is noticed: so the
	 * state never depends on when a sweep ran (replay relies on it). */
	if (c->expires_ns && c->expires_ns < now)
		now = c->expires_ns;
	quota__claim *gone = release_held(e, c, now);
	atomic_fetch_add_explicit(&e->expiry_epoch, 1, memory_order_release);
	quota__count(e, QC_EXPIRED);
	return gone;
}

/*
 * With home held, take the stripes of ls below it without waiting; 1 when
 * all were free, else 0 with none of them held. Safe against the stripe
 * order: a thread only ever waits for a stripe above every one it holds,
 * so no cycle of waiters can form.
 */
static int lock_below(quota_engine *e, const quota__lockset *ls, uint32_t home)
{
	uint32_t i = 0;
	for (; i < ls->n && ls->idx[i] < home; i++)
		if (!quota__lock_try(&e->stripes[ls->idx[i]].lock))
			break;
	if (i < ls->n && ls->idx[i] < home) {
		while (i-- > 0)
			quota__lock_release(&e->stripes[ls->idx[i]].lock);
		return 0;
	}
	return 1;
}

int quota__claim_lock(quota_engine *e, const char *key, size_t len, int64_t now,
		      quota__lockset *ls, quota__claim **out)
{
	uint64_t hash = quota__hash(e, key, len);
	uint32_t home = quota__stripe_of(e, hash);
	quota__stripe *s = &e->stripes[home];
	for (;;) {
		quota__lock_take(&s->lock);
		quota__claim *c = quota__claim_find(s, hash, key, len, now);
		if (!c) {
			quota__lock_release(&s->lock);
			return QUOTA_ERR_NOT_FOUND;
		}
		ls->n = 0;
		quota__lockset_add(ls, home);
		int below = 0;
		for (uint32_t i = 0; i < c->req_count; i++)
			for (uint32_t l = 0; l < c->req[i].charged_count; l++) {
				uint32_t stripe = c->req[i].charged[l]->stripe;
				quota__lockset_add(ls, stripe);
				below |= stripe < home;
			}
		if (!below || lock_below(e, ls, home)) {
			/* Everything else sorts after home: take it in order. */
			for (uint32_t i = 0; i < ls->n; i++)
				if (ls->idx[i] > home)
					quota__lock_take(&e->stripes[ls->idx[i]].lock);
			*out = c;
			return QUOTA_OK;
		}
		uint64_t id = c->id;
		quota__lock_release(&s->lock);
		quota__lockset_lock(e, ls);
		c = quota__claim_find(s, hash, key, len, now);
		if (c && c->id == id) {
			*out = c;
			return QUOTA_OK;
		}
		quota__lockset_unlock(e, ls);
	}
}

static int not_found(const char *ns, const char *name)
{
	return quota__fail(QUOTA_ERR_NOT_FOUND, "claim %s/%s: not found", quota__str(ns), name);
}

int quota__claim_expire_due(quota_engine *e, const char *key, size_t len, int64_t now)
{
	quota__lockset ls;
	quota__claim *c, *gone = NULL;
	quota__event *ev;
	/* Without memory for its event the claim waits for the next sweep. */
	if (quota__event_prepare(e, key, len, &ev))
		return 0;
	if (quota__claim_lock(e, key, len, now, &ls, &c)) {
		quota__free(ev);
		return 0;
	}
	int prev = c->state;
	int due = (prev == QUOTA_CLAIM_RESERVED || prev == QUOTA_CLAIM_PENDING) &&
		  c->expires_ns && c->expires_ns <= now;
	if (due) {
		gone = expire_held(e, c, now);
		quota__event_post(e, ev, QUOTA_EVENT_EXPIRED, prev, QUOTA_CLAIM_RELEASED);
		ev = NULL;
	}
	quota__lockset_unlock(e, &ls);
	quota__free(ev);
	quota__free(gone);
	return due;
}

/* A rate limit that denies a pending claim says when to look again. */
static void note_rate_wake(quota_engine *e, int rc, const quota__verdict *v, int64_t now)
{
	if (rc == QUOTA_ERR_RATE_LIMITED && v->view.retry_after_ns >= 0)
		quota__rate_wake_note(e, now + v->view.retry_after_ns);
}

/* Whether every request of c fits at every level it charges. */
static int fits_everywhere(quota_engine *e, const quota__claim *c, int64_t now)
{
	quota__bucket *tb[QUOTA__TARGETS_MAX];
	for (uint32_t i = 0; i < c->req_count; i++)
		for (uint32_t k = 0, n = quota__req_targets(&c->req[i], tb); k < n; k++) {
			quota__verdict v;
			int rc = quota__bucket_decide(tb[k], c->req[i].amount, now, &v);
			if (rc) {
				note_rate_wake(e, rc, &v, now);
				return 0;
			}
		}
	return 1;
}

/* Charge a claim's amounts: reserved, or allocated when granted; rate
 * limits are taken from (and stay taken). */
static void charge(quota__claim *c, int granted, int64_t now, int take)
{
	quota__bucket *tb[QUOTA__TARGETS_MAX];
	for (uint32_t i = 0; i < c->req_count; i++)
		for (uint32_t k = 0, n = quota__req_targets(&c->req[i], tb); k < n; k++) {
			quota__bucket *b = tb[k];
			if (take)
				quota__bucket_take(b, c->req[i].amount, now);
			if (granted) {
				b->allocated += c->req[i].amount;
				b->claim_count++;
			} else {
				b->reserved += c->req[i].amount;
				b->reserved_count++;
			}
		}
}

void quota__claim_charge_held(quota__claim *c, int granted, int64_t now)
{
	charge(c, granted, now, 1);
}

/* Count c as waiting (delta 1) or no longer (-1) at every bucket it charges. */
static void pending_add(quota__claim *c, int delta)
{
	quota__bucket *tb[QUOTA__TARGETS_MAX];
	for (uint32_t i = 0; i < c->req_count; i++)
		for (uint32_t k = 0, n = quota__req_targets(&c->req[i], tb); k < n; k++)
			tb[k]->pending += delta;
}

/* The reservation TTL starts at admission. */
void quota__claim_start_ttl(quota_engine *e, quota__claim *c, int64_t now)
{
	if (c->state != QUOTA_CLAIM_RESERVED || !c->ttl_ns)
		return;
	c->expires_ns = now > INT64_MAX - 1 - c->ttl_ns ? INT64_MAX - 1 : now + c->ttl_ns;
	quota__deadline_note(e, quota__claim_stripe(e, c), c->expires_ns);
}

int quota__claim_admit_pending(quota_engine *e, quota__claim *c, int64_t now)
{
	quota__event *ev;
	if (!fits_everywhere(e, c, now) ||
	    quota__event_prepare(e, c->node.key, c->node.key_len, &ev))
		return 0;
	int granted = (c->flags & CLAIM_GRANT_ON_ADMIT) != 0;
	pending_add(c, -1);
	atomic_fetch_sub(&e->pending_count, 1);
	quota__count(e, QC_ADMITTED);
	quota__claim_charge_held(c, granted, now);
	c->state = granted ? QUOTA_CLAIM_GRANTED : QUOTA_CLAIM_RESERVED;
	c->expires_ns = 0;
	c->updated_ns = now;
	quota__claim_start_ttl(e, c, now);
	quota__event_post(e, ev, granted ? QUOTA_EVENT_GRANTED : QUOTA_EVENT_RESERVED,
			  QUOTA_CLAIM_PENDING, c->state);
	return 1;
}


/* The levels of c's chain for t's type into t, their stripes into ls;
 * len: the lengths of c's strings. */
static void resolve_levels(quota_engine *e, const quota_claim *c, const claim_lens *len,
			   target *t, quota__lockset *ls)
{
	t->levels = quota__chain(e, &c->consumer, len->consumer, t->lv);
	for (uint32_t l = 0; l < t->levels; l++)
		quota__lockset_add(ls, quota__level_stripe(e, &t->lv[l], t->reg));
}

int quota__claim_resolve(quota_engine *e, const quota_claim *c, const claim_lens *len, target *t,
			 quota__lockset *ls)
{
	int rc;
	for (uint32_t i = 0; i < c->request_count; i++) {
		const quota_request *r = quota__elem(c->requests, i);
		t[i].reg = quota__reg_find_len(e, r->resource_type, len->type[i]);
		if (!t[i].reg)
			return quota__fail(QUOTA_ERR_UNREGISTERED,
					   "claim.requests[%u].resourceType: %s is not registered", i,
					   r->resource_type);
		if ((rc = quota__reg_check_consumer(t[i].reg, &c->consumer, "claim.consumerRef")) ||
		    (rc = quota__reg_may_claim(t[i].reg, &c->resource, i)))
			return rc;
		if (r->dimension_count) {
			char f[48];
			snprintf(f, sizeof f, "claim.requests[%u].dimensions", i);
			if ((rc = quota__check_dimensions_allowed(f, t[i].reg->pub, r->dimensions,
								  r->dimension_count)))
				return rc;
		}
		resolve_levels(e, c, len, &t[i], ls);
	}
	return QUOTA_OK;
}


int quota__claim_bind(quota_engine *e, const quota_claim *c, target *t, charge_set *cs)
{
	for (uint32_t i = 0; i < c->request_count; i++) {
		for (uint32_t l = 0; l < t[i].levels; l++) {
			quota__bucket *b = quota__level_bucket(e, t[i].reg, &t[i].lv[l], 0);
			if (!b) {
				b = quota__level_bucket(e, t[i].reg, &t[i].lv[l], 1);
				if (!b)
					return quota__fail(QUOTA_ERR_NOMEM, "claim: out of memory");
				cs->made[cs->made_count++] = b;
			}
			cs->b[i][l] = b;
		}
	}
	return QUOTA_OK;
}

void quota__claim_unbind(quota_engine *e, charge_set *cs)
{
	for (uint32_t k = cs->made_count; k-- > 0;) {
		quota__bucket *b = cs->made[k];
		quota__table_remove(&e->stripes[b->stripe].buckets, &b->node);
		quota__bucket_free(b);
	}
	cs->made_count = 0;
}

/* The decision for every request at every level; the first that fails
 * binds, and *fail tells its verdict. */
int quota__claim_decide_all(const quota_claim *c, const target *t, const charge_set *cs, int64_t now,
		      quota_answer *ans, quota__verdict *fail)
{
	int warned_any = 0;
	quota__bucket *tb[QUOTA__TARGETS_MAX];
	for (uint32_t i = 0; i < c->request_count; i++) {
		const quota_request *r = quota__elem(c->requests, i);
		uint32_t n = 0;
		for (uint32_t l = 0; l < t[i].levels; l++)
			n += quota__level_targets(cs->b[i][l], r->dimensions, r->dimension_count,
						  tb + n);
		for (uint32_t k = 0; k < n; k++) {
			quota__bucket *b = tb[k];
			quota__verdict v;
			int rc = quota__bucket_decide(b, r->amount, now, &v);
			if (rc) {
				char field[40];
				snprintf(field, sizeof field, "claim.requests[%u].amount", i);
				quota__answer_verdict(ans, rc, (int)i, b, r->amount, &v);
				*fail = v;
				return quota__fail_decision(rc, b, &v, field, r->amount);
			}
			if (v.warned && !warned_any && ans) {
				quota__answer_verdict(ans, QUOTA_OK, (int)i, b, r->amount, &v);
				warned_any = 1;
			}
		}
	}
	if (warned_any && ans)
		ans->flags |= QUOTA_ANSWER_WARNED;
	return QUOTA_OK;
}

/* Whether some request asks for more than a limit it is charged at, even
 * with nothing else held (a Warn-mode limit never binds). */
static int above_a_limit(const quota_claim *c, const target *t, const charge_set *cs)
{
	quota__bucket *tb[QUOTA__SELS_MAX + 1];
	for (uint32_t i = 0; i < c->request_count; i++) {
		const quota_request *r = quota__elem(c->requests, i);
		for (uint32_t l = 0; l < t[i].levels; l++)
			for (uint32_t k = 0, n = quota__level_targets(cs->b[i][l], r->dimensions,
								      r->dimension_count, tb);
			     k < n; k++)
				if (!tb[k]->rate && tb[k]->limit >= 0 && r->amount > tb[k]->limit &&
				    quota__bucket_action(tb[k], NULL) != QUOTA_ACTION_WARN)
					return 1;
	}
	return 0;
}

/* With queued claims waiting on any bucket of the request, a new queued
 * claim waits behind them; the answer names the first such bucket. */
static int others_waiting(const quota_claim *c, const target *t, const charge_set *cs,
			  quota_answer *ans)
{
	quota__bucket *tb[QUOTA__SELS_MAX + 1];
	for (uint32_t i = 0; i < c->request_count; i++) {
		const quota_request *r = quota__elem(c->requests, i);
		for (uint32_t l = 0; l < t[i].levels; l++)
			for (uint32_t k = 0, n = quota__level_targets(cs->b[i][l], r->dimensions,
								      r->dimension_count, tb);
			     k < n; k++)
				if (tb[k]->pending > 0) {
					quota__answer_deny(ans, QUOTA_OK, (int)i, tb[k], r->amount);
					return 1;
				}
	}
	return 0;
}

void quota__claim_attach(quota__claim *rec, const quota_claim *c, const target *t,
			 const charge_set *cs)
{
	for (uint32_t i = 0; i < c->request_count; i++) {
		for (uint32_t l = 0; l < t[i].levels; l++)
			rec->req[i].charged[l] = cs->b[i][l];
		rec->req[i].charged_count = t[i].levels;
		const quota__bucket *first = cs->b[i][0];
		const quota_request *r = quota__elem(c->requests, i);
		for (uint32_t k = 0; k < quota__bucket_sel_count(first) && !rec->req[i].alloc; k++)
			if (quota__selector_match(first->ext->sels[k]->ext->selector, r->dimensions,
						  r->dimension_count))
				rec->req[i].alloc = first->ext->sels[k];
	}
}

/* Before a claim joins the queue, once per call: when a deadline is due
 * (or a sweep is running), let go of the buckets and stripes, sweep, and
 * return 1 so that the caller decides again; else 0. */
static int sweep_first(quota_engine *e, charge_set *cs, quota__lockset *ls, quota_answer *ans,
		       int64_t now, int *swept)
{
	if (*swept || !(quota__deadline_due(e, now) || atomic_load(&e->sweeping)))
		return 0;
	quota__claim_unbind(e, cs);
	quota__lockset_unlock(e, ls);
	quota__sweep(e, now);
	quota__answer_reset(ans);
	*swept = 1;
	return 1;
}

static int claim_admit(quota_engine *e, const quota_claim *in, enum admit_mode mode,
		       quota_answer *ans)
{
	quota_answer local;
	if (!ans) {
		local.size = sizeof local;
		ans = &local;
	}
	quota_claim c;
	claim_lens len;
	target t[QUOTA_MAX_REQUESTS];
	uint32_t levels[QUOTA_MAX_REQUESTS];
	charge_set cs;
	quota__claim *rec = NULL, *gone = NULL;
	quota__event *ev = NULL;
	quota__lockset ls;
	int rc, queue_held = 0;

	ls.n = 0; /* not zeroed whole: the indices past n are never read */
	if ((rc = quota__answer_reset(ans)))
		return rc;
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	if ((rc = quota__claim_check_in(in, &c, &len)))
		goto out_nolock;
	char key[QUOTA__NAME_KEY_MAX + 1];
	size_t klen = quota__name_key_len(key, c.ns, len.ns, c.name, len.name);
	uint64_t khash = quota__hash(e, key, klen);
	quota__stripe *home = &e->stripes[quota__stripe_of(e, khash)];
	quota__lockset_add(&ls, quota__stripe_of(e, khash));
	int queued = mode != ADMIT_CHECK && (c.flags & QUOTA_CLAIM_QUEUE);

	quota__rw_read(&e->config);
	if ((rc = quota__claim_resolve(e, &c, &len, t, &ls)))
		goto out_config;
	for (uint32_t i = 0; i < c.request_count; i++)
		levels[i] = t[i].levels;
	if (mode != ADMIT_CHECK) {
		if (!(rec = quota__claim_new(e, &c, &len, levels, khash))) {
			rc = quota__fail(QUOTA_ERR_NOMEM, "claim: out of memory");
			goto out_config;
		}
		if ((rc = quota__event_prepare(e, key, klen, &ev)))
			goto out_config;
		rec->flags = c.flags;
		if (mode == ADMIT_ACQUIRE || (c.flags & QUOTA_CLAIM_AUTO_COMMIT))
			rec->flags |= CLAIM_GRANT_ON_ADMIT;
		rec->ttl_ns = mode == ADMIT_RESERVE ? c.ttl_ms * 1000000 : 0;
	}
	if (queued) {
		/* Deciding and joining the queue must be one step for kicks. */
		pthread_mutex_lock(&e->queue_lock);
		queue_held = 1;
	}

	/* One sweep of expired reservations may come between attempts; turning
	 * into a queued claim (below) is another attempt, not a second sweep. */
	for (int swept = 0;;) {
		int64_t now = quota__now(e);
		uint64_t epoch = quota__epoch(e);
		quota__lockset_lock(e, &ls);
		quota__claim *old = NULL;
		if (mode != ADMIT_CHECK) {
			old = quota__claim_find(home, khash, key, klen, now);
			if (old && old->state != QUOTA_CLAIM_GRANTED && old->expires_ns &&
			    old->expires_ns <= now) {
				/* Expired but not swept: sweep, then look again. A sweep
				 * that expires nothing had no memory for the event. */
				quota__lockset_unlock(e, &ls);
				quota__sweep(e, now);
				if (quota__epoch(e) == epoch) {
					rc = quota__fail(QUOTA_ERR_NOMEM,
							 "claim %s/%s: out of memory expiring the "
							 "previous claim of that name",
							 quota__str(c.ns), c.name);
					break;
				}
				continue;
			}
		}
		if (old && old->state != QUOTA_CLAIM_RELEASED) {
			if (!quota__claim_same_spec(old, &c)) {
				rc = quota__fail(QUOTA_ERR_CONFLICT,
						 "claim %s/%s: exists with a different spec",
						 quota__str(c.ns), c.name);
			} else {
				rc = QUOTA_OK; /* not a denial left from an earlier attempt */
				/* The same spec charges the same buckets: all locked. */
				if (mode == ADMIT_ACQUIRE && old->state == QUOTA_CLAIM_RESERVED) {
					quota__claim_commit_held(old, now);
					quota__event_post(e, ev, QUOTA_EVENT_GRANTED,
							  QUOTA_CLAIM_RESERVED, old->state);
					ev = NULL;
				}
				if (ans) {
					ans->state = old->state;
					ans->flags |= QUOTA_ANSWER_EXISTED;
				}
			}
			quota__lockset_unlock(e, &ls);
			break;
		}
		cs.made_count = 0;
		rc = quota__claim_bind(e, &c, t, &cs);
		int to_queue = 0;
		quota__verdict fail = {0};
		/* A claim above a limit is denied, never queued behind others. */
		if (!rc && queued && !above_a_limit(&c, t, &cs) && others_waiting(&c, t, &cs, ans)) {
			/* Those it would wait behind may have timed out. */
			if (sweep_first(e, &cs, &ls, ans, now, &swept))
				continue;
			to_queue = 1;
		} else if (!rc)
			rc = quota__claim_decide_all(&c, t, &cs, now, ans, &fail);
		/* A denial that time or releases can lift; a request above a rate
		 * limit's burst never fits and is not worth waiting for. */
		int denied = rc == QUOTA_ERR_EXCEEDED ||
			     (rc == QUOTA_ERR_RATE_LIMITED && fail.view.retry_after_ns >= 0);
		if (denied && !queued && mode != ADMIT_CHECK && fail.action == QUOTA_ACTION_QUEUE) {
			/* The limit's action queues: decide again as a queued claim,
			 * with the queue locked. */
			quota__claim_unbind(e, &cs);
			quota__lockset_unlock(e, &ls);
			pthread_mutex_lock(&e->queue_lock);
			queue_held = queued = 1;
			quota__answer_reset(ans);
			continue;
		}
		if (denied && queued && rc == QUOTA_ERR_EXCEEDED && above_a_limit(&c, t, &cs)) {
			/* Above a limit, not just above what is free: queued, it would
			 * hold every later claim on that bucket back for good. */
			denied = 0;
		}
		if (denied && queued) {
			note_rate_wake(e, rc, &fail, now);
			/* Expired reservations may make room. */
			if (sweep_first(e, &cs, &ls, ans, now, &swept))
				continue;
			to_queue = 1;
			rc = QUOTA_OK;
		}
		if (!rc && to_queue)
			rc = quota__queue_append(e, key, klen, rec->id);
		if (rc || mode == ADMIT_CHECK) {
			quota__claim_unbind(e, &cs); /* a denial or a dry run leaves nothing */
			quota__lockset_unlock(e, &ls);
			if (!swept && quota__expired_may_help(e, rc, epoch)) {
				quota__answer_reset(ans);
				swept = 1;
				continue;
			}
			if (!rc && ans)
				ans->state = QUOTA_CLAIM_GRANTED;
			break;
		}
		quota__claim_attach(rec, &c, t, &cs);
		if (to_queue)
			pending_add(rec, 1);
		if (old) {
			quota__table_remove(&home->claims, &old->node);
			gone = old;
		}
		rec->created_ns = rec->updated_ns = now;
		if (to_queue) {
			rec->state = QUOTA_CLAIM_PENDING;
			atomic_fetch_add(&e->pending_count, 1);
			if (c.queue_timeout_ms) {
				int64_t wait = c.queue_timeout_ms * 1000000;
				rec->expires_ns = now > INT64_MAX - 1 - wait ? INT64_MAX - 1 : now + wait;
				quota__deadline_note(e, home, rec->expires_ns);
			}
			quota__event_post(e, ev, QUOTA_EVENT_QUEUED, 0, rec->state);
			if (ans)
				ans->flags |= QUOTA_ANSWER_QUEUED;
		} else {
			int granted = (rec->flags & CLAIM_GRANT_ON_ADMIT) != 0;
			quota__claim_charge_held(rec, granted, now);
			rec->state = granted ? QUOTA_CLAIM_GRANTED : QUOTA_CLAIM_RESERVED;
			quota__claim_start_ttl(e, rec, now);
			quota__event_post(e, ev, granted ? QUOTA_EVENT_GRANTED : QUOTA_EVENT_RESERVED, 0,
					  rec->state);
		}
		ev = NULL;
		quota__table_insert(&home->claims, &rec->node);
		if (ans)
			ans->state = rec->state;
		rec = NULL;
		quota__lockset_unlock(e, &ls);
		break;
	}
out_config:
	if (queue_held)
		pthread_mutex_unlock(&e->queue_lock);
	quota__rw_read_done(&e->config);
	quota__free(rec);
	quota__free(gone);
	quota__free(ev);
	ans->status = rc;
	if (!(ans->flags & QUOTA_ANSWER_EXISTED))
		quota__count_decision(e, rc, ans, key);
	quota__after(e);
out_nolock:
	ans->status = rc;
	return rc;
}

/* Whether charging c's held amounts keeps every bucket's sums in range. */
static int restore_fits(quota__claim *c)
{
	quota__bucket *tb[QUOTA__TARGETS_MAX];
	int64_t v;
	for (uint32_t i = 0; i < c->req_count; i++)
		for (uint32_t k = 0, n = quota__req_targets(&c->req[i], tb); k < n; k++)
			if (__builtin_add_overflow(tb[k]->allocated, c->req[i].amount, &v) ||
			    __builtin_add_overflow(tb[k]->reserved, c->req[i].amount, &v))
				return 0;
	return 1;
}

int quota__claim_restore(quota_engine *e, const quota_claim *in, const quota__claim_saved *s)
{
	quota_claim c;
	claim_lens len;
	target t[QUOTA_MAX_REQUESTS];
	uint32_t levels[QUOTA_MAX_REQUESTS] = {0};
	charge_set cs = {.made_count = 0};
	quota__lockset ls = {0};
	int rc;
	if ((rc = quota__claim_check_in(in, &c, &len)))
		return rc;
	if (s->state < QUOTA_CLAIM_RESERVED || s->state > QUOTA_CLAIM_PENDING)
		return quota__fail(QUOTA_ERR_CORRUPT, "claim %s/%s: state %d is unknown",
				   quota__str(c.ns), c.name, s->state);
	for (uint32_t i = 0; i < c.request_count; i++)
		if (s->held[i] < 0)
			return quota__fail(QUOTA_ERR_CORRUPT,
					   "claim %s/%s: holds a negative amount", quota__str(c.ns),
					   c.name);
	char key[QUOTA__NAME_KEY_MAX + 1];
	size_t klen = quota__name_key_len(key, c.ns, len.ns, c.name, len.name);
	uint64_t khash = quota__hash(e, key, klen);
	quota__stripe *home = &e->stripes[quota__stripe_of(e, khash)];
	quota__lockset_add(&ls, quota__stripe_of(e, khash));
	/* A released claim charges nothing: its types may be gone. */
	int held = s->state != QUOTA_CLAIM_RELEASED;
	int pending = s->state == QUOTA_CLAIM_PENDING;
	quota__rw_read(&e->config);
	for (uint32_t i = 0; held && i < c.request_count; i++) {
		const char *type =
			((const quota_request *)quota__elem(c.requests, i))->resource_type;
		if (!(t[i].reg = quota__reg_find(e, type))) {
			rc = quota__fail(QUOTA_ERR_CORRUPT,
					 "claim %s/%s: type %s is not registered", quota__str(c.ns),
					 c.name, type);
			goto out_config;
		}
		resolve_levels(e, &c, &len, &t[i], &ls);
		levels[i] = t[i].levels;
	}
	quota__claim *rec = quota__claim_new(e, &c, &len, levels, khash);
	if (!rec) {
		rc = quota__fail(QUOTA_ERR_NOMEM, "claim: out of memory");
		goto out_config;
	}
	if (pending)
		pthread_mutex_lock(&e->queue_lock);
	quota__lockset_lock(e, &ls);
	if (quota__table_find(&home->claims, khash, key, klen))
		rc = quota__fail(QUOTA_ERR_CORRUPT, "claim %s/%s: twice", quota__str(c.ns), c.name);
	if (!rc && held)
		rc = quota__claim_bind(e, &c, t, &cs);
	if (!rc && held) {
		quota__claim_attach(rec, &c, t, &cs);
		for (uint32_t i = 0; i < c.request_count; i++)
			rec->req[i].amount = s->held[i];
		if (!restore_fits(rec))
			rc = quota__fail(QUOTA_ERR_CORRUPT, "claim %s/%s: usage out of range",
					 quota__str(c.ns), c.name);
	}
	if (!rc && pending)
		rc = quota__queue_append(e, key, klen, s->id);
	if (rc) {
		quota__claim_unbind(e, &cs);
		quota__free(rec);
	} else {
		rec->id = s->id;
		rec->state = s->state;
		rec->flags = s->flags;
		rec->created_ns = s->created_ns;
		rec->updated_ns = s->updated_ns;
		rec->expires_ns = s->expires_ns;
		rec->purge_ns = s->purge_ns;
		rec->ttl_ns = s->ttl_ns;
		for (uint32_t i = 0; !held && i < c.request_count; i++)
			rec->req[i].amount = s->held[i];
		if (pending) {
			pending_add(rec, 1);
			atomic_fetch_add(&e->pending_count, 1);
		} else if (held) {
			charge(rec, s->state == QUOTA_CLAIM_GRANTED, 0, 0);
		}
		int64_t due = held ? rec->expires_ns : rec->purge_ns;
		if (due)
			quota__deadline_note(e, home, due);
		quota__table_insert(&home->claims, &rec->node);
	}
	quota__lockset_unlock(e, &ls);
	if (pending)
		pthread_mutex_unlock(&e->queue_lock);
out_config:
	quota__rw_read_done(&e->config);
	return rc;
}

int quota__impl_claim_reserve(quota_engine *e, const quota_claim *c, quota_answer *ans)
{
	return claim_admit(e, c, ADMIT_RESERVE, ans);
}

int quota__impl_claim_acquire(quota_engine *e, const quota_claim *c, quota_answer *ans)
{
	return claim_admit(e, c, ADMIT_ACQUIRE, ans);
}

int quota__impl_claim_check(quota_engine *e, const quota_claim *c, quota_answer *ans)
{
	return claim_admit(e, c, ADMIT_CHECK, ans);
}

/* Index of type in c's requests, or -1. */
static int req_index(const quota__claim *c, const char *type)
{
	for (uint32_t i = 0; i < c->req_count; i++)
		if (strcmp(c->req[i].type, type) == 0)
			return (int)i;
	return -1;
}

/* Map each of reqs to the claim's request; fail naming field when one is
 * not in the claim or (for a settlement) above what is held. */
static int map_requests(const quota__claim *c, const char *field, const quota_request *reqs,
			uint32_t n, int cap_at_held, int *idx)
{
	for (uint32_t i = 0; i < n; i++) {
		const quota_request *r = quota__elem(reqs, i);
		idx[i] = req_index(c, r->resource_type);
		if (idx[i] < 0)
			return quota__fail(QUOTA_ERR_INVALID,
					   "%s[%u].resourceType: %s is not requested by claim %s/%s",
					   field, i, r->resource_type, c->ns, c->name);
		if (cap_at_held && r->amount > c->req[idx[i]].amount)
			return quota__fail(QUOTA_ERR_INVALID,
					   "%s[%u].amount: %lld is more than the %lld reserved",
					   field, i, (long long)r->amount,
					   (long long)c->req[idx[i]].amount);
	}
	return QUOTA_OK;
}

/* Check the target of a call by name and put its key (ns \0 name) in key
 * (QUOTA__NAME_KEY_MAX + 1), its length in *len. */
static int check_target(quota_engine *e, const char *ns, const char *name, char *key, size_t *len)
{
	int rc;
	size_t ns_len, name_len;
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	if ((rc = check_ns_name(ns, name, &ns_len, &name_len)))
		return rc;
	*len = quota__name_key_len(key, ns, ns_len, name, name_len);
	return QUOTA_OK;
}

int quota__impl_claim_commit(quota_engine *e, const char *ns, const char *name,
				 const quota_request *actual, uint32_t actual_count)
{
	int rc, idx[QUOTA_MAX_REQUESTS];
	quota__lockset ls;
	quota__claim *c, *gone = NULL;
	quota__event *ev;
	char key[QUOTA__NAME_KEY_MAX + 1];
	size_t len, type_len[QUOTA_MAX_REQUESTS];
	if ((rc = check_target(e, ns, name, key, &len)) ||
	    (rc = check_requests("actual", actual, actual_count, 0, type_len)))
		return rc;
	if ((rc = quota__event_prepare(e, key, len, &ev)))
		return rc;
	int64_t now = quota__now(e);
	if (quota__claim_lock(e, key, len, now, &ls, &c)) {
		quota__free(ev);
		return not_found(ns, name);
	}
	int prev = c->state;
	if (prev != QUOTA_CLAIM_GRANTED && prev != QUOTA_CLAIM_RELEASED && c->expires_ns &&
	    c->expires_ns <= now) {
		gone = expire_held(e, c, now);
		quota__event_post(e, ev, QUOTA_EVENT_EXPIRED, prev, QUOTA_CLAIM_RELEASED);
		ev = NULL;
	}
	if (c->state == QUOTA_CLAIM_RELEASED) {
		rc = quota__fail(QUOTA_ERR_WRONG_STATE, "claim %s/%s: %s", quota__str(ns), name,
				 !(c->flags & CLAIM_EXPIRED)          ? "released"
				 : c->flags & CLAIM_EXPIRED_QUEUED ? "its queue deadline passed"
								   : "expired before it was committed");
	} else if (c->state == QUOTA_CLAIM_PENDING) {
		rc = quota__fail(QUOTA_ERR_WRONG_STATE,
				 "claim %s/%s: still pending in the queue, nothing to commit",
				 quota__str(ns), name);
	} else if (c->state == QUOTA_CLAIM_RESERVED &&
		   !(rc = map_requests(c, "actual", actual, actual_count, 1, idx))) {
		for (uint32_t i = 0; i < actual_count; i++) {
			int64_t used = ((const quota_request *)quota__elem(actual, i))->amount;
			if (used < c->req[idx[i]].amount)
				quota__capacity_freed(e);
			c->req[idx[i]].amount = used;
		}
		quota__claim_commit_held(c, now);
		quota__event_post(e, ev, QUOTA_EVENT_GRANTED, prev, c->state);
		ev = NULL;
	}
	quota__lockset_unlock(e, &ls);
	quota__free(gone);
	quota__free(ev);
	quota__after(e);
	return rc;
}

int quota__impl_claim_release(quota_engine *e, const char *ns, const char *name)
{
	int rc;
	quota__lockset ls;
	quota__claim *c, *gone = NULL;
	quota__event *ev;
	char key[QUOTA__NAME_KEY_MAX + 1];
	size_t len;
	if ((rc = check_target(e, ns, name, key, &len)))
		return rc;
	if ((rc = quota__event_prepare(e, key, len, &ev)))
		return rc;
	int64_t now = quota__now(e);
	if (quota__claim_lock(e, key, len, now, &ls, &c)) {
		quota__free(ev);
		return not_found(ns, name);
	}
	int prev = c->state;
	if (prev != QUOTA_CLAIM_RELEASED) {
		quota__count(e, prev == QUOTA_CLAIM_PENDING ? QC_DEQUEUED : QC_RELEASED);
		gone = release_held(e, c, now);
		quota__event_post(e, ev,
				  prev == QUOTA_CLAIM_PENDING ? QUOTA_EVENT_DEQUEUED
							      : QUOTA_EVENT_RELEASED,
				  prev, QUOTA_CLAIM_RELEASED);
		ev = NULL;
	}
	quota__lockset_unlock(e, &ls);
	quota__free(gone);
	quota__free(ev);
	quota__after(e);
	return QUOTA_OK;
}

int quota__impl_claim_resize(quota_engine *e, const char *ns, const char *name,
				 const quota_request *reqs, uint32_t n, quota_answer *ans)
{
	int rc, idx[QUOTA_MAX_REQUESTS];
	quota__lockset ls;
	quota__claim *c;
	quota_answer local;
	int grew = 0;
	if (!ans) {
		local.size = sizeof local;
		ans = &local;
	}
	if ((rc = quota__answer_reset(ans)))
		return rc;
	char key[QUOTA__NAME_KEY_MAX + 1];
	size_t len, type_len[QUOTA_MAX_REQUESTS];
	if ((rc = check_target(e, ns, name, key, &len)) ||
	    (rc = check_requests("requests", reqs, n, 0, type_len)))
		goto out;
	for (int attempt = 0;; attempt++) {
		uint64_t epoch = quota__epoch(e);
		int64_t now = quota__now(e);
		if (quota__claim_lock(e, key, len, now, &ls, &c)) {
			rc = not_found(ns, name);
			goto out;
		}
		if (c->state != QUOTA_CLAIM_GRANTED) {
			rc = quota__fail(QUOTA_ERR_WRONG_STATE, "claim %s/%s: only a granted claim can be resized",
					 quota__str(ns), name);
		} else if (!(rc = map_requests(c, "requests", reqs, n, 0, idx))) {
			for (uint32_t i = 0; i < n && !rc; i++) {
				const quota_request *r = quota__elem(reqs, i);
				quota__claim_req *q = &c->req[idx[i]];
				int64_t more = r->amount - q->amount;
				grew |= more > 0;
				quota__bucket *tb[QUOTA__TARGETS_MAX];
				uint32_t nt = more > 0 ? quota__req_targets(q, tb) : 0;
				for (uint32_t k = 0; k < nt && !rc; k++) {
					quota__bucket *b = tb[k];
					quota__verdict v;
					rc = quota__bucket_decide(b, more, now, &v);
					if (rc) {
						char field[32];
						snprintf(field, sizeof field, "requests[%u].amount", i);
						quota__answer_verdict(ans, rc, (int)i, b, more, &v);
						rc = quota__fail_decision(rc, b, &v, field, more);
					} else if (v.warned && ans) {
						ans->flags |= QUOTA_ANSWER_WARNED;
					}
				}
			}
			for (uint32_t i = 0; i < n && !rc; i++) {
				quota__claim_req *q = &c->req[idx[i]];
				int64_t next = ((const quota_request *)quota__elem(reqs, i))->amount;
				if (next < q->amount)
					quota__capacity_freed(e);
				quota__bucket *tb[QUOTA__TARGETS_MAX];
				for (uint32_t k = 0, nt = quota__req_targets(q, tb); k < nt; k++) {
					if (next > q->amount)
						quota__bucket_take(tb[k], next - q->amount, now);
					tb[k]->allocated += next - q->amount;
				}
				q->amount = next;
			}
			if (!rc)
				c->updated_ns = now;
		}
		if (ans)
			ans->state = c->state;
		quota__lockset_unlock(e, &ls);
		if (attempt || !quota__expired_may_help(e, rc, epoch))
			break;
		quota__answer_reset(ans);
	}
	if (grew) {
		ans->status = rc;
		quota__count_decision(e, rc, ans, key);
	}
	quota__after(e);
out:
	if (ans)
		ans->status = rc;
	return rc;
}

/* "Kind/ns/name:type", packed. */
static const char *pack_bucket_id(quota__pack *p, const quota_ref *c, const quota__claim_req *q)
{
	const char *sel = q->alloc ? q->alloc->ext->selector->text : NULL;
	int n = snprintf(NULL, 0, "%s/%s/%s:%s%s%s%s", c->kind, c->ns, c->name, q->type,
			 sel ? "[" : "", sel ? sel : "", sel ? "]" : "");
	char *d = quota__pack_take(p, (size_t)n + 1);
	if (d)
		snprintf(d, (size_t)n + 1, "%s/%s/%s:%s%s%s%s", c->kind, c->ns, c->name, q->type,
			 sel ? "[" : "", sel ? sel : "", sel ? "]" : "");
	return d;
}

static quota_claim_info *pack_info(quota__pack *p, const quota__claim *c)
{
	quota_claim_info info = {.size = sizeof info};
	quota_claim_info *dst = quota__pack_take(p, sizeof info);
	info.ns = quota__pack_str(p, c->ns);
	info.name = quota__pack_str(p, c->name);
	const quota_ref *from[2] = {&c->consumer, &c->resource};
	quota_ref *to[2] = {&info.consumer, &info.resource};
	for (int i = 0; i < 2; i++) {
		to[i]->api_group = quota__pack_str(p, from[i]->api_group);
		to[i]->kind = quota__pack_str(p, from[i]->kind);
		to[i]->ns = quota__pack_str(p, from[i]->ns);
		to[i]->name = quota__pack_str(p, from[i]->name);
	}
	info.state = c->state;
	info.flags = c->flags & CLAIM_PUBLIC_FLAGS;
	info.created_ns = c->created_ns;
	info.updated_ns = c->updated_ns;
	info.expires_ns = c->expires_ns;
	info.allocation_count = c->req_count;
	quota_allocation **al = quota__pack_take(p, c->req_count * sizeof *al);
	for (uint32_t i = 0; i < c->req_count; i++) {
		quota_allocation *a = quota__pack_take(p, sizeof *a);
		quota_allocation v = {sizeof v,
				      quota__pack_str(p, c->req[i].type),
				      c->req[i].requested,
				      c->state == QUOTA_CLAIM_RELEASED ||
						      c->state == QUOTA_CLAIM_PENDING
					      ? 0
					      : c->req[i].amount,
				      pack_bucket_id(p, &c->consumer, &c->req[i]),
				      NULL,
				      0,
				      0};
		const quota__claim_req *q = &c->req[i];
		quota_label *dims = quota__pack_take(p, q->label_count * sizeof *dims);
		for (uint32_t k = 0; k < q->label_count; k++) {
			quota_label l = {quota__pack_str(p, q->labels[k].key),
					 quota__pack_str(p, q->labels[k].value)};
			if (dims)
				dims[k] = l;
		}
		v.dimensions = q->label_count ? dims : NULL;
		v.dimension_count = q->label_count;
		if (a)
			*a = v;
		if (al)
			al[i] = a;
	}
	info.allocations = al;
	if (dst)
		*dst = info;
	return dst;
}

QUOTA_API int quota_claim_get(quota_engine *e, const char *ns, const char *name,
			      quota_claim_info **out)
{
	int rc;
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "out: must not be NULL");
	*out = NULL;
	char key[QUOTA__NAME_KEY_MAX + 1];
	size_t len;
	if ((rc = check_target(e, ns, name, key, &len)))
		return rc;
	uint64_t hash = quota__hash(e, key, len);
	quota__stripe *s = &e->stripes[quota__stripe_of(e, hash)];
	int64_t now = quota__now(e);
	quota__lock_take(&s->lock);
	quota__claim *c = quota__claim_find(s, hash, key, len, now);
	if (!c) {
		rc = not_found(ns, name);
	} else {
		quota__pack p = {0};
		pack_info(&p, c);
		if (quota__pack_begin_write(&p))
			rc = quota__fail(QUOTA_ERR_NOMEM, "claim: out of memory");
		else
			*out = pack_info(&p, c);
	}
	quota__lock_release(&s->lock);
	return rc;
}

static size_t collect_claims(const quota__iter *it, const quota__stripe *s, quota__pack *p,
			     void ***items)
{
	const quota__table *t = &s->claims;
	for (int pass = 0; pass < 2; pass++) {
		size_t n = 0;
		for (size_t i = 0; i <= t->mask; i++)
			for (quota__node *node = t->slots[i]; node; node = node->next) {
				const quota__claim *c = (const quota__claim *)node;
				if ((it->state && c->state != it->state) ||
				    !quota__iter_match_consumer(it, c->consumer.kind, c->consumer.ns,
								c->consumer.name))
					continue;
				if (pass == 1) {
					quota_claim_info *info = pack_info(p, c);
					if (*items)
						(*items)[n] = info;
				}
				n++;
			}
		if (pass == 0)
			*items = quota__pack_take(p, n * sizeof **items);
		else
			return n;
	}
	return 0;
}

QUOTA_API int quota_claim_iter_new(quota_engine *e, const quota_ref *consumer, int32_t state,
				   quota_claim_iter **out)
{
	int rc;
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "out: must not be NULL");
	*out = NULL;
	if (state < 0 || state > QUOTA_CLAIM_PENDING)
		return quota__fail(QUOTA_ERR_INVALID, "state: %d is not a claim state", state);
	quota__iter *it = quota__iter_new(e, collect_claims, consumer, NULL, &rc);
	if (it)
		it->state = state;
	*out = (quota_claim_iter *)it;
	return rc;
}

QUOTA_API int quota_claim_iter_next(quota_claim_iter *it, const quota_claim_info **out)
{
	return quota__iter_next((quota__iter *)it, (const void **)out);
}

QUOTA_API void quota_claim_iter_free(quota_claim_iter *it)
{
	quota__iter_free((quota__iter *)it);
}

void quota__claims_free(quota_engine *e)
{
	for (uint32_t i = 0; i < e->stripe_count; i++)
		quota__table_clear(&e->stripes[i].claims, quota__node_free);
}
