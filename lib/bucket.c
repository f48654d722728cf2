/*
 * Allowance buckets: arithmetic, reading, iteration, and the hot path
 * (anonymous consume / give-back and prepared handles).
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "engine.h"
#include "error.h"
#include "iter.h"
#include "pack.h"

struct quota_bucket_handle {
	quota_engine *e;
	quota__bucket *b;
};

QUOTA_API int quota_answer_init(quota_answer *a, size_t size)
{
	if (!a || size < sizeof *a)
		return quota__fail(QUOTA_ERR_INVALID, "answer: NULL or size %zu too small", size);
	memset(a, 0, sizeof *a);
	a->size = sizeof *a;
	a->binding_request = -1;
	return QUOTA_OK;
}

size_t quota__bucket_key(char *buf, const quota_ref *c, const char *type)
{
	const char *part[4] = {c->kind, quota__str(c->ns), c->name, type};
	static const size_t max[4] = {QUOTA__KIND_MAX, QUOTA__NS_MAX, QUOTA__NAME_MAX,
				      QUOTA__NAME_MAX};
	size_t len = 0;
	for (int i = 0; i < 4; i++) {
		if (!part[i])
			return 0;
		size_t n = strnlen(part[i], max[i] + 1);
		if (n > max[i] || (n == 0 && i != 1))
			return 0;
		memcpy(buf + len, part[i], n);
		len += n;
		buf[len++] = '\0';
	}
	return len - 1;
}

quota__bucket *quota__bucket_find(quota_engine *e, const char *key, size_t len, uint64_t hash)
{
	quota__stripe *s = &e->stripes[quota__stripe_of(e, hash)];
	return (quota__bucket *)quota__table_find(&s->buckets, hash, key, len);
}

/* Point b's identity at key (kind \0 ns \0 name \0 type). */
static void bucket_ident(quota_engine *e, quota__bucket *b, const quota__reg *r, const char *key,
			 size_t len, uint64_t hash)
{
	b->node.key = key;
	b->node.key_len = len;
	b->node.hash = hash;
	b->reg = r;
	b->kind = key;
	b->ns = b->kind + strlen(b->kind) + 1;
	b->name = b->ns + strlen(b->ns) + 1;
	b->type = b->name + strlen(b->name) + 1;
	b->stripe = quota__stripe_of(e, hash);
	b->enforcement = r->pub->enforcement;
	b->limit = r->pub->default_limit;
}

quota__bucket *quota__bucket_new(quota_engine *e, const quota__reg *r, const char *key,
				 size_t len, uint64_t hash)
{
	quota__bucket *b = quota__calloc(1, sizeof *b + len + 1);
	if (!b)
		return NULL;
	char *k = (char *)(b + 1);
	memcpy(k, key, len);
	k[len] = '\0';
	bucket_ident(e, b, r, k, len, hash);
	return b;
}

void quota__bucket_free(quota__bucket *b)
{
	if (!b)
		return;
	quota__free(b->contribs);
	quota__free(b);
}

void quota__bucket_reset_limit(quota__bucket *b, int64_t now)
{
	b->limit = b->reg->pub->default_limit;
	b->observed_generation++;
	b->last_reconciliation_ns = now;
}

int64_t quota__bucket_available(const quota__bucket *b)
{
	int64_t used, left;
	if (b->limit < 0)
		return QUOTA_UNLIMITED;
	if (__builtin_add_overflow(b->allocated, b->reserved, &used) ||
	    __builtin_sub_overflow(b->limit, used, &left) || left < 0)
		return 0;
	return left;
}

int quota__bucket_decide(const quota__bucket *b, int64_t amount, int *warned)
{
	int64_t used;
	int overflow = __builtin_add_overflow(b->allocated, b->reserved, &used) ||
		       __builtin_add_overflow(used, amount, &used);
	if (!overflow && (b->limit < 0 || used <= b->limit))
		return QUOTA_OK;
	if (b->limit < 0 || (overflow && b->enforcement == QUOTA_WARN))
		return QUOTA_ERR_OVERFLOW; /* cannot be counted at all */
	if (b->enforcement == QUOTA_WARN) {
		*warned = 1;
		return QUOTA_OK;
	}
	return QUOTA_ERR_EXCEEDED;
}

int quota__bucket_idle(const quota__bucket *b)
{
	return b->allocated == 0 && b->reserved == 0 && b->claim_count == 0 &&
	       b->reserved_count == 0 && b->handles == 0;
}

void quota__bucket_describe(const quota__bucket *b, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s/%s:%s", b->kind, b->ns, b->name, b->type);
}

void quota__answer_deny(quota_answer *a, int status, int req, const quota__bucket *b,
			int64_t amount)
{
	if (!a)
		return;
	a->status = status;
	a->binding_request = req;
	a->requested = amount;
	a->available = quota__bucket_available(b);
	a->limit = b->limit;
	quota__bucket_describe(b, a->bucket, sizeof a->bucket);
}

int quota__fail_decision(int rc, const quota__bucket *b, const char *field, int64_t amount)
{
	char id[QUOTA_BUCKET_ID_MAX];
	quota__bucket_describe(b, id, sizeof id);
	if (rc == QUOTA_ERR_OVERFLOW)
		return quota__fail(rc, "%s: %lld more would overflow the usage of bucket %s", field,
				   (long long)amount, id);
	return quota__fail(rc,
			   "Resource quota exceeded for %s on %s: requested %lld, available %lld, "
			   "limit %lld",
			   b->type, id, (long long)amount, (long long)quota__bucket_available(b),
			   (long long)b->limit);
}

/* Reset an answer the caller passed, field by field: the hot path should
 * not clear a kilobyte of bucket id on every call. Fields appended to
 * quota_answer later must only be written when a->size covers them. */
int quota__answer_reset(quota_answer *a)
{
	if (!a)
		return QUOTA_OK;
	if (a->size < sizeof *a)
		return quota__fail(QUOTA_ERR_INVALID,
				   "answer.size: %zu is too small (initialise it with quota_answer_init)",
				   a->size);
	a->status = QUOTA_OK;
	a->state = 0;
	a->flags = 0;
	a->binding_request = -1;
	a->requested = a->available = a->limit = 0;
	a->bucket[0] = '\0';
	return QUOTA_OK;
}

/* Charge amount anonymously; caller holds b's stripe. */
static int charge(quota__bucket *b, int64_t amount, quota_answer *ans)
{
	int warned = 0;
	int rc = quota__bucket_decide(b, amount, &warned);
	if (rc) {
		quota__answer_deny(ans, rc, -1, b, amount);
		return quota__fail_decision(rc, b, "amount", amount);
	}
	b->allocated += amount;
	b->anonymous += amount;
	if (warned && ans) {
		quota__answer_deny(ans, QUOTA_OK, -1, b, amount);
		ans->flags |= QUOTA_ANSWER_WARNED;
	}
	return QUOTA_OK;
}

/* Full validation of (consumer, type), for the slow paths. */
static int check_key_args(quota_engine *e, const quota_ref *c, const char *type)
{
	int rc;
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	if ((rc = quota__check_ref("consumer", c)) ||
	    (rc = quota__check_text("resourceType", type, 1, QUOTA__NAME_MAX)))
		return rc;
	return QUOTA_OK;
}

/* The registration of type for consumer c; caller holds config. */
static int find_reg(quota_engine *e, const quota_ref *c, const char *type, quota__reg **out)
{
	*out = quota__reg_find(e, type);
	if (!*out)
		return quota__fail(QUOTA_ERR_UNREGISTERED, "resourceType: %s is not registered",
				   type);
	return quota__reg_check_consumer(*out, c, "consumer");
}

static int group_fits(const quota__bucket *b, const quota_ref *c)
{
	const char *want = b->reg->pub->consumer_type.api_group;
	return quota__empty(c->api_group) || !*want || strcmp(c->api_group, want) == 0;
}

/* What with_bucket() does when the bucket does not exist yet. */
enum bucket_mode {
	BUCKET_EXISTING,   /* fail with QUOTA_ERR_NOT_FOUND */
	BUCKET_PEEK,       /* run fn on a default bucket, keep nothing */
	BUCKET_ON_SUCCESS, /* create it, keep it when fn succeeds */
	BUCKET_ALWAYS      /* create it and keep it */
};

/* Find (or make, per mode) the bucket of (c, type) and run fn on it under
 * its stripe lock. */
typedef int (*bucket_fn)(quota__bucket *b, void *arg);

static int with_bucket(quota_engine *e, const quota_ref *c, const char *type,
		       enum bucket_mode mode, bucket_fn fn, void *arg)
{
	char key[QUOTA__KEY_MAX + 1];
	size_t len = e && c && type ? quota__bucket_key(key, c, type) : 0;
	int rc;
	if (len) {
		uint64_t hash = quota__hash(e, key, len);
		quota__stripe *s = &e->stripes[quota__stripe_of(e, hash)];
		pthread_mutex_lock(&s->lock);
		quota__bucket *b = (quota__bucket *)quota__table_find(&s->buckets, hash, key, len);
		if (b) {
			if (!group_fits(b, c))
				rc = quota__reg_check_consumer(b->reg, c, "consumer");
			else
				rc = fn(b, arg);
			pthread_mutex_unlock(&s->lock);
			return rc;
		}
		pthread_mutex_unlock(&s->lock);
	}
	if ((rc = check_key_args(e, c, type)))
		return rc;

	quota__reg *r;
	pthread_rwlock_rdlock(&e->config);
	if ((rc = find_reg(e, c, type, &r)))
		goto out;
	if (mode == BUCKET_EXISTING) {
		rc = quota__fail(QUOTA_ERR_NOT_FOUND, "bucket %s/%s/%s:%s: does not exist", c->kind,
				 quota__str(c->ns), c->name, type);
		goto out;
	}
	uint64_t hash = quota__hash(e, key, len);
	quota__bucket *fresh = quota__bucket_new(e, r, key, len, hash);
	if (!fresh) {
		rc = quota__fail(QUOTA_ERR_NOMEM, "bucket: out of memory");
		goto out;
	}
	quota__stripe *s = &e->stripes[fresh->stripe];
	pthread_mutex_lock(&s->lock);
	quota__bucket *b = (quota__bucket *)quota__table_find(&s->buckets, hash, key, len);
	if (b) {
		rc = fn(b, arg);
	} else {
		rc = fn(fresh, arg);
		if (mode == BUCKET_ALWAYS || (mode == BUCKET_ON_SUCCESS && rc == QUOTA_OK)) {
			quota__table_insert(&s->buckets, &fresh->node);
			fresh = NULL;
		}
	}
	pthread_mutex_unlock(&s->lock);
	quota__bucket_free(fresh);
out:
	pthread_rwlock_unlock(&e->config);
	return rc;
}

struct consume_arg {
	int64_t amount;
	quota_answer *ans;
};

static int consume_fn(quota__bucket *b, void *arg)
{
	struct consume_arg *a = arg;
	return charge(b, a->amount, a->ans);
}

/* A denial may be owed to reservations that have expired but are not yet
 * swept: sweep and decide once more. */
int quota__expired_may_help(quota_engine *e, int rc)
{
	if (rc != QUOTA_ERR_EXCEEDED)
		return 0;
	if (atomic_load_explicit(&e->next_deadline, memory_order_relaxed) == QUOTA__NO_DEADLINE)
		return 0;
	int64_t now = quota__now(e);
	if (!quota__deadline_due(e, now))
		return 0;
	return quota__sweep(e, now) > 0;
}

QUOTA_API int quota_consume(quota_engine *e, const quota_ref *consumer, const char *type,
			    int64_t amount, quota_answer *ans)
{
	int rc = quota__answer_reset(ans);
	if (rc)
		return rc;
	if (amount <= 0)
		return quota__fail(QUOTA_ERR_INVALID, "amount: must be > 0, got %lld",
				   (long long)amount);
	struct consume_arg arg = {amount, ans};
	rc = with_bucket(e, consumer, type, BUCKET_ON_SUCCESS, consume_fn, &arg);
	if (quota__expired_may_help(e, rc)) {
		quota__answer_reset(ans);
		rc = with_bucket(e, consumer, type, BUCKET_ON_SUCCESS, consume_fn, &arg);
	}
	if (ans)
		ans->status = rc;
	return rc;
}

static int give_back_fn(quota__bucket *b, void *arg)
{
	int64_t amount = *(int64_t *)arg;
	if (amount > b->anonymous) {
		char id[QUOTA_BUCKET_ID_MAX];
		quota__bucket_describe(b, id, sizeof id);
		return quota__fail(QUOTA_ERR_INVALID,
				   "amount: %lld is more than the %lld consumed anonymously from %s",
				   (long long)amount, (long long)b->anonymous, id);
	}
	b->allocated -= amount;
	b->anonymous -= amount;
	return QUOTA_OK;
}

QUOTA_API int quota_give_back(quota_engine *e, const quota_ref *consumer, const char *type,
			      int64_t amount)
{
	if (amount <= 0)
		return quota__fail(QUOTA_ERR_INVALID, "amount: must be > 0, got %lld",
				   (long long)amount);
	return with_bucket(e, consumer, type, BUCKET_EXISTING, give_back_fn, &amount);
}

static quota_bucket_info *pack_bucket(quota__pack *p, const quota__bucket *b)
{
	quota_bucket_info info = {.size = sizeof info};
	quota_bucket_info *dst = quota__pack_take(p, sizeof info);
	info.consumer.api_group = quota__pack_str(p, b->reg->pub->consumer_type.api_group);
	info.consumer.kind = quota__pack_str(p, b->kind);
	info.consumer.ns = quota__pack_str(p, b->ns);
	info.consumer.name = quota__pack_str(p, b->name);
	info.resource_type = quota__pack_str(p, b->type);
	info.limit = b->limit;
	info.allocated = b->allocated;
	info.reserved = b->reserved;
	info.available = quota__bucket_available(b);
	info.claim_count = b->claim_count;
	info.reserved_count = b->reserved_count;
	info.grant_count = b->contrib_count;
	info.observed_generation = b->observed_generation;
	info.last_reconciliation_ns = b->last_reconciliation_ns;
	if (b->contrib_count == 0)
		info.flags |= QUOTA_BUCKET_DEFAULT_LIMIT;
	if (b->limit >= 0 && quota__bucket_available(b) == 0 &&
	    (b->allocated > b->limit || b->reserved > b->limit - b->allocated))
		info.flags |= QUOTA_BUCKET_OVER_LIMIT;
	info.grant_ref_count = b->contrib_count;
	quota_grant_ref **refs = quota__pack_take(p, b->contrib_count * sizeof *refs);
	for (uint32_t i = 0; i < b->contrib_count; i++) {
		quota_grant_ref *r = quota__pack_take(p, sizeof *r);
		quota_grant_ref v = {sizeof v, quota__pack_str(p, b->contribs[i].ns),
				     quota__pack_str(p, b->contribs[i].name), b->contribs[i].amount,
				     b->contribs[i].generation};
		if (r)
			*r = v;
		if (refs)
			refs[i] = r;
	}
	info.grant_refs = refs;
	if (dst)
		*dst = info;
	return dst;
}

static int get_fn(quota__bucket *b, void *arg)
{
	quota__pack p = {0};
	pack_bucket(&p, b);
	if (quota__pack_begin_write(&p))
		return quota__fail(QUOTA_ERR_NOMEM, "bucket: out of memory");
	*(quota_bucket_info **)arg = pack_bucket(&p, b);
	return QUOTA_OK;
}

QUOTA_API int quota_bucket_get(quota_engine *e, const quota_ref *consumer, const char *type,
			       quota_bucket_info **out)
{
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "out: must not be NULL");
	*out = NULL;
	return with_bucket(e, consumer, type, BUCKET_PEEK, get_fn, out);
}

static size_t collect_buckets(const quota__iter *it, const quota__stripe *s, quota__pack *p,
			      void ***items)
{
	const quota__table *t = &s->buckets;
	for (int pass = 0; pass < 2; pass++) {
		size_t n = 0;
		for (size_t i = 0; i <= t->mask; i++)
			for (quota__node *node = t->slots[i]; node; node = node->next) {
				const quota__bucket *b = (const quota__bucket *)node;
				if ((it->type && strcmp(it->type, b->type) != 0) ||
				    !quota__iter_match_consumer(it, b->kind, b->ns, b->name))
					continue;
				if (pass == 1) {
					quota_bucket_info *info = pack_bucket(p, b);
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

QUOTA_API int quota_bucket_iter_new(quota_engine *e, const quota_ref *consumer, const char *type,
				    quota_bucket_iter **out)
{
	int rc;
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "out: must not be NULL");
	*out = (quota_bucket_iter *)quota__iter_new(e, collect_buckets, consumer, type, &rc);
	return rc;
}

QUOTA_API int quota_bucket_iter_next(quota_bucket_iter *it, const quota_bucket_info **out)
{
	return quota__iter_next((quota__iter *)it, (const void **)out);
}

QUOTA_API void quota_bucket_iter_free(quota_bucket_iter *it)
{
	quota__iter_free((quota__iter *)it);
}

static int open_fn(quota__bucket *b, void *arg)
{
	quota_bucket_handle *h = arg;
	b->handles++;
	h->b = b;
	return QUOTA_OK;
}

QUOTA_API int quota_bucket_handle_open(quota_engine *e, const quota_ref *consumer,
				       const char *type, quota_bucket_handle **out)
{
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "out: must not be NULL");
	*out = NULL;
	quota_bucket_handle *h = quota__calloc(1, sizeof *h);
	if (!h)
		return quota__fail(QUOTA_ERR_NOMEM, "handle: out of memory");
	h->e = e;
	int rc = with_bucket(e, consumer, type, BUCKET_ALWAYS, open_fn, h);
	if (rc)
		quota__free(h);
	else
		*out = h;
	return rc;
}

QUOTA_API void quota_bucket_handle_close(quota_bucket_handle *h)
{
	if (!h)
		return;
	quota__stripe *s = &h->e->stripes[h->b->stripe];
	pthread_mutex_lock(&s->lock);
	h->b->handles--;
	pthread_mutex_unlock(&s->lock);
	quota__free(h);
}

QUOTA_API int quota_handle_consume(quota_bucket_handle *h, int64_t amount, quota_answer *ans)
{
	int rc = quota__answer_reset(ans);
	if (rc)
		return rc;
	if (!h)
		return quota__fail(QUOTA_ERR_INVALID, "handle: must not be NULL");
	if (amount <= 0)
		return quota__fail(QUOTA_ERR_INVALID, "amount: must be > 0, got %lld",
				   (long long)amount);
	quota__stripe *s = &h->e->stripes[h->b->stripe];
	for (int attempt = 0;; attempt++) {
		pthread_mutex_lock(&s->lock);
		rc = charge(h->b, amount, ans);
		pthread_mutex_unlock(&s->lock);
		if (attempt || !quota__expired_may_help(h->e, rc))
			break;
		quota__answer_reset(ans);
	}
	if (ans)
		ans->status = rc;
	return rc;
}

QUOTA_API int quota_handle_give_back(quota_bucket_handle *h, int64_t amount)
{
	if (!h)
		return quota__fail(QUOTA_ERR_INVALID, "handle: must not be NULL");
	if (amount <= 0)
		return quota__fail(QUOTA_ERR_INVALID, "amount: must be > 0, got %lld",
				   (long long)amount);
	quota__stripe *s = &h->e->stripes[h->b->stripe];
	pthread_mutex_lock(&s->lock);
	int rc = give_back_fn(h->b, &amount);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void quota__buckets_free(quota_engine *e)
{
	for (uint32_t i = 0; i < e->stripe_count; i++) {
		quota__table *t = &e->stripes[i].buckets;
		for (size_t s = 0; s <= t->mask; s++) {
			quota__node *n = t->slots[s];
			while (n) {
				quota__node *next = n->next;
				quota__bucket_free((quota__bucket *)n);
				n = next;
			}
			t->slots[s] = NULL;
		}
		t->count = 0;
	}
}
