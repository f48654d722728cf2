/*
 * Allowance buckets: arithmetic, reading, iteration, and the hot path
 * (anonymous consume / give-back and prepared handles).
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "engine.h"
#include "api.h"
#include "error.h"
#include "iter.h"
#include "pack.h"

QUOTA_API int quota_answer_init(quota_answer *a, size_t size)
{
	if (!a || size < sizeof *a)
		return quota__fail(QUOTA_ERR_INVALID, "answer: NULL or size %zu too small", size);
	memset(a, 0, sizeof *a);
	a->size = sizeof *a;
	a->binding_request = -1;
	a->binding_claim = -1;
	return QUOTA_OK;
}

/* Inline in the hot path (anon_keyed), a call elsewhere. */
static inline size_t bucket_key(char *buf, const quota_ref *c, const char *type)
{
	const char *kind = c->kind, *ns = quota__str(c->ns), *name = c->name;
	if (!kind || !name || !type)
		return 0;
	size_t a = strnlen(kind, QUOTA__KIND_MAX + 1), b = *ns ? strnlen(ns, QUOTA__NS_MAX + 1) : 0;
	size_t n = strnlen(name, QUOTA__NAME_MAX + 1), t = strnlen(type, QUOTA__NAME_MAX + 1);
	/* Unsigned: a length of 0 wraps around and fails too. */
	if (a - 1 >= QUOTA__KIND_MAX || b > QUOTA__NS_MAX || n - 1 >= QUOTA__NAME_MAX ||
	    t - 1 >= QUOTA__NAME_MAX)
		return 0;
	/* Each part with its terminating zero byte, the separator. */
	char *p = quota__put_part(buf, kind, a);
	p = quota__put_part(p, ns, b);
	p = quota__put_part(p, name, n);
	return (size_t)(quota__put_part(p, type, t) - buf) - 1;
}

size_t quota__bucket_key(char *buf, const quota_ref *c, const char *type)
{
	return bucket_key(buf, c, type);
}

quota__bucket *quota__bucket_find(quota_engine *e, const char *key, size_t len, uint64_t hash)
{
	quota__stripe *s = &e->stripes[quota__stripe_of(e, hash)];
	return quota__bucket_lookup(&s->buckets, hash, key, len);
}

/* Point b's identity at key (kind \0 ns \0 name \0 type). */
static void bucket_ident(quota_engine *e, quota__bucket *b, const quota__reg *r, const char *key,
			 size_t len, uint64_t hash)
{
	b->node.key = key;
	b->node.key_len = len;
	b->node.hash = hash;
	b->reg = r;
	size_t ns_at = strlen(key) + 1, name_at = ns_at + strlen(key + ns_at) + 1;
	b->ns_at = (uint8_t)ns_at;
	b->name_at = (uint8_t)name_at;
	b->type_at = (uint16_t)(name_at + strlen(key + name_at) + 1);
	b->stripe = quota__stripe_of(e, hash);
	b->enforcement = (int8_t)r->pub->enforcement;
	b->rate = r->pub->resource_class == QUOTA_RESOURCE_RATE;
	b->ancestor = strcmp(quota__bucket_kind(b), r->pub->consumer_type.kind) != 0;
	b->limit = quota__bucket_default(b);
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

int quota__bucket_ext_need(quota__bucket *b)
{
	if (!b->ext && !(b->ext = quota__calloc(1, sizeof *b->ext)))
		return -1;
	return 0;
}

quota__bucket *quota__selector_bucket_new(quota__bucket *base, quota__selector *sel)
{
	quota__bucket *b = quota__calloc(1, sizeof *b + base->node.key_len + 1);
	if (!b || quota__bucket_ext_need(b)) {
		quota__free(b);
		quota__free(sel);
		return NULL;
	}
	char *k = (char *)(b + 1);
	memcpy(k, base->node.key, base->node.key_len + 1);
	b->node.key = k;
	b->node.key_len = base->node.key_len;
	b->node.hash = base->node.hash;
	b->reg = base->reg;
	b->ns_at = base->ns_at;
	b->name_at = base->name_at;
	b->type_at = base->type_at;
	b->stripe = base->stripe;
	b->enforcement = base->enforcement;
	b->ancestor = base->ancestor;
	b->rate = base->rate;
	b->ext->selector = sel;
	b->ext->base = base;
	b->limit = QUOTA_UNLIMITED;
	return b;
}

/* More specific first; then by text, for a stable order. */
static int sel_before(const quota__bucket *a, const quota__bucket *b)
{
	if (!b)
		return 1;
	const quota__selector *x = a->ext->selector, *y = b->ext->selector;
	if (x->specificity != y->specificity)
		return x->specificity > y->specificity;
	return strcmp(x->text, y->text) < 0;
}

int quota__selector_bucket_before(const quota__bucket *a, const quota__bucket *b)
{
	return sel_before(a, b);
}

void quota__selector_bucket_attach(quota__bucket *sb)
{
	quota__bucket_ext *x = sb->ext->base->ext;
	uint32_t at = 0;
	while (at < x->sel_count && sel_before(x->sels[at], sb))
		at++;
	memmove(&x->sels[at + 1], &x->sels[at], (x->sel_count - at) * sizeof sb);
	x->sels[at] = sb;
	x->sel_count++;
}

void quota__selector_bucket_detach(quota__bucket *sb)
{
	quota__bucket_ext *x = sb->ext->base->ext;
	for (uint32_t i = 0; i < x->sel_count; i++)
		if (x->sels[i] == sb) {
			memmove(&x->sels[i], &x->sels[i + 1], (x->sel_count - i - 1) * sizeof sb);
			x->sel_count--;
			return;
		}
}

quota__bucket *quota__selector_bucket_find(const quota__bucket *base, const char *text)
{
	for (uint32_t i = 0; i < quota__bucket_sel_count(base); i++)
		if (strcmp(base->ext->sels[i]->ext->selector->text, text) == 0)
			return base->ext->sels[i];
	return NULL;
}

void quota__bucket_free(quota__bucket *b)
{
	if (!b)
		return;
	if (b->ext) {
		for (uint32_t i = 0; i < b->ext->sel_count; i++)
			quota__bucket_free(b->ext->sels[i]);
		quota__free(b->ext->sels);
		quota__free(b->ext->selector);
		quota__free(b->ext);
	}
	quota__free(b->contribs);
	quota__free(b->limiters);
	quota__free(b->up);
	quota__free(b);
}

void quota__bucket_reset_limit(quota__bucket *b, int64_t now)
{
	b->limit = quota__bucket_default(b);
	b->observed_generation++;
	b->last_reconciliation_ns = now;
}

int64_t quota__bucket_available(const quota__bucket *b)
{
	int64_t used, left;
	if (b->limit < 0)
		return QUOTA_UNLIMITED;
	if (__builtin_add_overflow(quota__bucket_usage(b), b->reserved, &used) ||
	    __builtin_sub_overflow(b->limit, used, &left) || left < 0)
		return 0;
	return left;
}

/* How strict an action is: REJECT, THROTTLE, QUEUE, WARN. */
static int action_rank(int action)
{
	static const int rank[] = {[QUOTA_ACTION_REJECT] = 4, [QUOTA_ACTION_THROTTLE] = 3,
				   [QUOTA_ACTION_QUEUE] = 2, [QUOTA_ACTION_WARN] = 1};
	return action > 0 && action <= QUOTA_ACTION_QUEUE ? rank[action] : 0;
}

int quota__action_stricter(int a, int b)
{
	return action_rank(a) >= action_rank(b) ? a : b;
}

int quota__bucket_action(const quota__bucket *b, const quota__limiter *lim)
{
	if (b->enforcement == QUOTA_WARN)
		return QUOTA_ACTION_WARN;
	int named = lim ? lim->action : b->action;
	if (named)
		return named;
	int reg = b->reg->pub->violation_action;
	return reg ? reg : QUOTA_ACTION_REJECT;
}

static int decide_rate(const quota__bucket *b, int64_t amount, int64_t now, quota__verdict *v)
{
	if (b->limiter_count == 0) {
		if (b->limit < 0)
			return QUOTA_OK;
		v->view = (quota__rate_view){0, -1, 0}; /* nothing granted */
		v->action = quota__bucket_action(b, NULL);
		if (v->action != QUOTA_ACTION_WARN)
			return QUOTA_ERR_RATE_LIMITED;
		v->warned = 1;
		return QUOTA_OK;
	}
	for (uint32_t i = 0; i < b->limiter_count; i++) {
		const quota__limiter *l = &b->limiters[i];
		quota__rate_view view;
		if (quota__limiter_check(l, amount, now, &view) == QUOTA_OK)
			continue;
		int action = quota__bucket_action(b, l);
		if (action == QUOTA_ACTION_WARN && v->warned)
			continue;
		v->lim = l;
		v->view = view;
		v->action = action;
		if (action != QUOTA_ACTION_WARN)
			return QUOTA_ERR_RATE_LIMITED;
		v->warned = 1;
	}
	return QUOTA_OK;
}

/* The decision of a stock (not Rate) bucket; the hot path inlines it. */
static inline int decide_stock(const quota__bucket *b, int64_t amount, quota__verdict *v)
{
	int64_t used;
	int overflow = __builtin_add_overflow(quota__bucket_usage(b), b->reserved, &used) ||
		       __builtin_add_overflow(used, amount, &used);
	if (!overflow && (b->limit < 0 || used <= b->limit))
		return QUOTA_OK;
	v->action = quota__bucket_action(b, NULL);
	if (b->limit < 0 || (overflow && v->action == QUOTA_ACTION_WARN))
		return QUOTA_ERR_OVERFLOW; /* cannot be counted at all */
	if (v->action == QUOTA_ACTION_WARN) {
		v->warned = 1;
		return QUOTA_OK;
	}
	return QUOTA_ERR_EXCEEDED;
}

static inline int decide(const quota__bucket *b, int64_t amount, int64_t now, quota__verdict *v)
{
	/* Only what callers read on success is set here; the rest is written
	 * where a limit fails or warns. */
	v->warned = 0;
	v->lim = NULL;
	return b->rate ? decide_rate(b, amount, now, v) : decide_stock(b, amount, v);
}

int quota__bucket_decide(const quota__bucket *b, int64_t amount, int64_t now, quota__verdict *v)
{
	return decide(b, amount, now, v);
}

void quota__bucket_take(quota__bucket *b, int64_t amount, int64_t now)
{
	for (uint32_t i = 0; i < b->limiter_count; i++)
		quota__limiter_take(&b->limiters[i], amount, now);
}

int quota__bucket_idle(const quota__bucket *b)
{
	return b->allocated == 0 && b->reserved == 0 && b->claim_count == 0 &&
	       b->reserved_count == 0 && b->pending == 0 && b->handles == 0;
}

void quota__bucket_describe(const quota__bucket *b, char *buf, size_t n)
{
	const quota__selector *sel = quota__bucket_selector(b);
	snprintf(buf, n, "%s/%s/%s:%s%s%s%s", quota__bucket_kind(b), quota__bucket_ns(b),
		 quota__bucket_name(b), quota__bucket_type(b), sel ? "[" : "", sel ? sel->text : "",
		 sel ? "]" : "");
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

/* Nanoseconds to milliseconds, rounded up; -1 stays -1. */
static int64_t ms_up(int64_t ns)
{
	return ns < 0 ? -1 : ns / 1000000 + (ns % 1000000 != 0);
}

void quota__answer_verdict(quota_answer *a, int status, int req, const quota__bucket *b,
			   int64_t amount, const quota__verdict *v)
{
	if (!a)
		return;
	quota__answer_deny(a, status, req, b, amount);
	if (!b->rate)
		return;
	a->limit = v->lim ? v->lim->amount : b->limit;
	a->available = v->view.remaining;
	a->period_ms = v->lim ? v->lim->period_ns / 1000000 : 0;
	a->retry_after_ms = ms_up(v->view.retry_after_ns);
	a->reset_after_ms = ms_up(v->view.reset_after_ns);
	/* Throttling promises a time after which the request passes: a
	 * request that never can (above the burst, a zero limit) is rejected. */
	if (status == QUOTA_ERR_RATE_LIMITED && v->action != QUOTA_ACTION_REJECT &&
	    v->view.retry_after_ns >= 0)
		a->flags |= QUOTA_ANSWER_THROTTLED;
}

int quota__fail_decision(int rc, const quota__bucket *b, const quota__verdict *v,
			 const char *field, int64_t amount)
{
	char id[QUOTA_BUCKET_ID_MAX];
	const char *type = quota__bucket_type(b);
	quota__bucket_describe(b, id, sizeof id);
	if (rc == QUOTA_ERR_OVERFLOW)
		return quota__fail(rc, "%s: %lld more would overflow the usage of bucket %s", field,
				   (long long)amount, id);
	if (rc == QUOTA_ERR_RATE_LIMITED && !v->lim)
		return quota__fail(rc, "Rate limit exceeded for %s on %s: requested %lld, no rate "
				   "granted", type, id, (long long)amount);
	if (rc == QUOTA_ERR_RATE_LIMITED) {
		char retry[64] = "; more than it ever lets through at once";
		if (v->view.retry_after_ns >= 0)
			snprintf(retry, sizeof retry, "; retry after %lld ms",
				 (long long)ms_up(v->view.retry_after_ns));
		return quota__fail(rc,
				   "Rate limit exceeded for %s on %s: requested %lld, remaining %lld "
				   "of %lld per %lld ms (%s window)%s",
				   type, id, (long long)amount, (long long)v->view.remaining,
				   (long long)v->lim->amount, (long long)(v->lim->period_ns / 1000000),
				   v->lim->window == QUOTA_WINDOW_CALENDAR ? "calendar" : "rolling",
				   retry);
	}
	return quota__fail(rc,
			   "Resource quota exceeded for %s on %s: requested %lld, available %lld, "
			   "limit %lld",
			   type, id, (long long)amount, (long long)quota__bucket_available(b),
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
	a->period_ms = a->retry_after_ms = a->reset_after_ms = 0;
	a->binding_claim = -1;
	return QUOTA_OK;
}

/* An anonymous change (no claim) to the buckets of one (consumer, type). */
enum anon_kind { ANON_CONSUME, ANON_GIVE_BACK, ANON_PIN };
typedef struct anon_op {
	enum anon_kind kind;
	int rate_only; /* quota_rate_take: the type must be a Rate type */
	int64_t amount;
	quota_answer *ans;
	int report; /* the caller asked for the answer: fill it on success too */
	int counted; /* an allowance counted under the stripe lock */
} anon_op;

static quota__bucket *level_at(quota__bucket *base, uint32_t i)
{
	return i ? base->up[i - 1] : base;
}

/* For an allowed rate take: the limit with the least left, after it. */
static void answer_tightest(quota_answer *a, quota__bucket *const *tb, uint32_t n, int64_t now)
{
	quota__verdict best = {0};
	const quota__bucket *at = tb[0];
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t k = 0; k < tb[i]->limiter_count; k++) {
			quota__rate_view view;
			quota__limiter_check(&tb[i]->limiters[k], 0, now, &view);
			if (view.remaining >= 0 &&
			    (!best.lim || view.remaining < best.view.remaining)) {
				best.lim = &tb[i]->limiters[k];
				best.view = view;
				at = tb[i];
			}
		}
	}
	if (best.lim)
		quota__answer_verdict(a, QUOTA_OK, -1, at, 0, &best);
}

/* Every bucket anonymous use of base is charged at: each level, and the
 * selector buckets there that match no labels at all. */
static uint32_t anon_targets(quota__bucket *base, quota__bucket **out)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i <= base->up_count; i++)
		n += quota__level_targets(level_at(base, i), NULL, 0, out + n);
	return n;
}

#define ANON_SLOW 1 /* anon_flat() leaves it to the general path */

/* The hot path: a flat stock bucket (no level above, no selector) and
 * nothing unusual. Anything else, a denial included, is ANON_SLOW. */
static inline int anon_flat(quota_engine *e, quota__bucket *b, const anon_op *op)
{
	int64_t amount = op->amount, used;
	if (op->kind == ANON_GIVE_BACK) {
		if (amount > b->anonymous)
			return ANON_SLOW;
		b->allocated -= amount;
		b->anonymous -= amount;
		quota__capacity_freed(e);
		return QUOTA_OK;
	}
	if (__builtin_add_overflow(quota__bucket_usage(b), b->reserved, &used) ||
	    __builtin_add_overflow(used, amount, &used) || (b->limit >= 0 && used > b->limit))
		return ANON_SLOW;
	b->allocated += amount;
	b->anonymous += amount;
	return QUOTA_OK;
}

/* Whether op on b may take anon_flat(). */
static inline int anon_is_flat(const quota__bucket *b, const anon_op *op)
{
	return op->kind != ANON_PIN && !op->rate_only && !b->rate && !b->up_count &&
	       !quota__bucket_sel_count(b);
}

/* Apply op to base and every level above it, all or nothing; caller
 * holds every stripe of the chain. */
static int anon_apply(quota_engine *e, quota__bucket *base, const anon_op *op)
{
	if (anon_is_flat(base, op) && anon_flat(e, base, op) == QUOTA_OK)
		return QUOTA_OK;
	quota__bucket *many[QUOTA__TARGETS_MAX], **tb = &base;
	int64_t amount = op->amount;
	if (op->kind == ANON_PIN) {
		base->handles++;
		return QUOTA_OK;
	}
	if (op->rate_only && !base->rate)
		return quota__fail(QUOTA_ERR_INVALID, "resourceType: %s is not a Rate type",
				   quota__bucket_type(base));
	uint32_t n = 1; /* a flat bucket: no list to build */
	if (base->up_count || quota__bucket_sel_count(base)) {
		n = anon_targets(base, many);
		tb = many;
	}
	if (op->kind == ANON_GIVE_BACK) {
		if (base->rate)
			return quota__fail(QUOTA_ERR_INVALID,
					   "resourceType: %s is a Rate type; what its limits let "
					   "through is spent, not given back",
					   quota__bucket_type(base));
		if (amount > base->anonymous) {
			char id[QUOTA_BUCKET_ID_MAX];
			quota__bucket_describe(base, id, sizeof id);
			return quota__fail(QUOTA_ERR_INVALID,
					   "amount: %lld is more than the %lld consumed anonymously "
					   "from %s",
					   (long long)amount, (long long)base->anonymous, id);
		}
		for (uint32_t i = 0; i < n; i++) {
			tb[i]->allocated -= amount;
			tb[i]->anonymous -= amount;
		}
		quota__capacity_freed(e);
		return QUOTA_OK;
	}
	int64_t now = base->rate ? quota__now(e) : 0;
	quota__bucket *warned_at = NULL;
	quota__verdict warned_v = {0};
	for (uint32_t i = 0; i < n; i++) {
		quota__verdict v;
		int rc = decide(tb[i], amount, now, &v);
		if (rc) {
			quota__answer_verdict(op->ans, rc, -1, tb[i], amount, &v);
			return quota__fail_decision(rc, tb[i], &v, "amount", amount);
		}
		if (v.warned && !warned_at) {
			warned_at = tb[i];
			warned_v = v;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		if (tb[i]->rate) {
			quota__bucket_take(tb[i], amount, now);
			continue;
		}
		tb[i]->allocated += amount;
		tb[i]->anonymous += amount;
	}
	if (warned_at && op->ans) {
		quota__answer_verdict(op->ans, QUOTA_OK, -1, warned_at, amount, &warned_v);
		op->ans->flags |= QUOTA_ANSWER_WARNED;
	} else if (base->rate && op->report) {
		answer_tightest(op->ans, tb, n, now);
	}
	return QUOTA_OK;
}

/* anon_apply() with its common case inline, for the hot callers; that
 * case counts an allowance in the stripe, whose lock the caller holds. */
static inline int anon_apply_hot(quota_engine *e, quota__bucket *base, anon_op *op)
{
	if (anon_is_flat(base, op) && anon_flat(e, base, op) == QUOTA_OK) {
		if (op->kind == ANON_CONSUME) {
			quota__count_allowed_locked(&e->stripes[base->stripe]);
			op->counted = 1;
		}
		return QUOTA_OK;
	}
	return anon_apply(e, base, op);
}

/* Whether base may be charged under its own stripe lock alone: no level
 * above it, and its chain is current. Caller holds base's stripe. */
static int single_level(quota_engine *e, const quota__bucket *base)
{
	return base->up_count == 0 &&
	       base->chain_version == atomic_load_explicit(&e->chain_version, memory_order_acquire);
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

/* The registration of type; consumer c must be of its kind, or with
 * ancestors_too of a kind above it. Caller holds config. */
static int find_reg(quota_engine *e, const quota_ref *c, const char *type, int ancestors_too,
		    quota__reg **out)
{
	*out = quota__reg_find(e, type);
	if (!*out)
		return quota__fail(QUOTA_ERR_UNREGISTERED, "resourceType: %s is not registered",
				   type);
	if (ancestors_too && quota__kind_is_ancestor(e, c->kind, (*out)->pub->consumer_type.kind))
		return QUOTA_OK;
	return quota__reg_check_consumer(*out, c, "consumer");
}

/* The registration names the group of its own consumer kind only; kinds
 * above it are matched by kind. */
static int group_fits(const quota__bucket *b, const quota_ref *c)
{
	if (b->ancestor)
		return 1;
	const char *want = b->reg->pub->consumer_type.api_group;
	return quota__empty(c->api_group) || !*want || strcmp(c->api_group, want) == 0;
}

size_t quota__level_key(char *buf, const quota__level *lv, const quota__reg *r)
{
	/* Each part with its terminating zero byte, the separator. */
	char *p = quota__put_part(buf, lv->kind, lv->kind_len);
	p = quota__put_part(p, lv->ns, lv->ns_len);
	p = quota__put_part(p, lv->name, lv->name_len);
	return (size_t)(quota__put_part(p, r->node.key, r->node.key_len) - buf) - 1;
}

uint32_t quota__level_stripe(quota_engine *e, quota__level *lv, const quota__reg *r)
{
	if (!lv->hash) {
		char key[QUOTA__KEY_MAX + 1];
		size_t len = quota__level_key(key, lv, r);
		lv->hash = quota__hash(e, key, len);
	}
	return quota__stripe_of(e, lv->hash);
}

quota__bucket *quota__level_bucket(quota_engine *e, const quota__reg *r, quota__level *lv,
				   int insert)
{
	char key[QUOTA__KEY_MAX + 1];
	size_t len = quota__level_key(key, lv, r);
	uint64_t hash = lv->hash ? lv->hash : (lv->hash = quota__hash(e, key, len));
	quota__bucket *b = quota__bucket_find(e, key, len, hash);
	if (b || !insert)
		return b;
	b = quota__bucket_new(e, r, key, len, hash);
	if (b)
		quota__table_insert(&e->stripes[b->stripe].buckets, &b->node);
	return b;
}

int quota__chain_link(quota_engine *e, quota__bucket *base, quota__bucket **above, uint32_t n)
{
	uint64_t version = atomic_load_explicit(&e->chain_version, memory_order_acquire);
	if (base->up_count != n || (n && memcmp(base->up, above, n * sizeof *above) != 0)) {
		quota__bucket **up = NULL;
		if (n && !(up = quota__malloc(n * sizeof *up)))
			return -1;
		if (n)
			memcpy(up, above, n * sizeof *up);
		quota__free(base->up);
		base->up = up;
		base->up_count = n;
	}
	base->chain_version = version;
	return 0;
}

/* Unlink and free the buckets made by this call. */
static void drop_fresh(quota_engine *e, quota__bucket **b, const int *fresh, uint32_t n)
{
	for (uint32_t i = n; i-- > 0;)
		if (fresh[i]) {
			quota__table_remove(&e->stripes[b[i]->stripe].buckets, &b[i]->node);
			quota__bucket_free(b[i]);
		}
}

/* The bucket of level lv for type, made when missing, with its side block
 * when ext is set; NULL on no memory, and then nothing made. Caller holds
 * config (read) and the level's stripe. */
static quota__bucket *level_bucket_ext(quota_engine *e, const quota__reg *r, quota__level *lv,
				       int ext)
{
	quota__bucket *b = quota__level_bucket(e, r, lv, 0);
	int fresh = !b;
	if (fresh && !(b = quota__level_bucket(e, r, lv, 1)))
		return NULL;
	if (!ext || quota__bucket_ext_need(b) == 0)
		return b;
	if (fresh)
		drop_fresh(e, &b, &fresh, 1);
	return NULL;
}

/*
 * The slow path of an anonymous change: under config, resolve the chain of
 * levels, find or make their buckets, link the consumer's bucket to the
 * ones above, and apply. With must_exist, a consumer without a bucket is
 * QUOTA_ERR_NOT_FOUND.
 */
static int anon_slow(quota_engine *e, const quota_ref *c, const char *type, const anon_op *op,
		     int must_exist)
{
	quota__level lv[QUOTA_MAX_DEPTH];
	quota__bucket *b[QUOTA_MAX_DEPTH];
	int fresh[QUOTA_MAX_DEPTH] = {0};
	quota__lockset ls = {0};
	quota__reg *r;
	int rc;
	if ((rc = check_key_args(e, c, type)))
		return rc;
	quota__rw_read(&e->config);
	if ((rc = find_reg(e, c, type, 0, &r)))
		goto out;
	uint32_t n = quota__chain(e, c, NULL, lv);
	for (uint32_t i = 0; i < n; i++)
		quota__lockset_add(&ls, quota__level_stripe(e, &lv[i], r));
	quota__lockset_lock(e, &ls);
	for (uint32_t i = 0; i < n && !rc; i++) {
		b[i] = quota__level_bucket(e, r, &lv[i], 0);
		if (b[i])
			continue;
		if (i == 0 && must_exist)
			rc = quota__fail(QUOTA_ERR_NOT_FOUND, "bucket %s/%s/%s:%s: does not exist",
					 c->kind, quota__str(c->ns), c->name, type);
		else if (!(b[i] = quota__level_bucket(e, r, &lv[i], 1)))
			rc = quota__fail(QUOTA_ERR_NOMEM, "bucket: out of memory");
		else
			fresh[i] = 1;
	}
	if (!rc && !group_fits(b[0], c))
		rc = quota__reg_check_consumer(r, c, "consumer");
	if (!rc && quota__chain_link(e, b[0], b + 1, n - 1))
		rc = quota__fail(QUOTA_ERR_NOMEM, "bucket: out of memory");
	if (!rc)
		rc = anon_apply(e, b[0], op);
	/* A denied request leaves no bucket behind; buckets above an existing
	 * one stay, since it may point at them now. */
	if (rc && fresh[0])
		drop_fresh(e, b, fresh, n);
	quota__lockset_unlock(e, &ls);
out:
	quota__rw_read_done(&e->config);
	return rc;
}

/*
 * An anonymous change by (consumer, type): one stripe lock and no
 * allocation when the consumer's bucket exists and has no level above it.
 */
static int anon_keyed(quota_engine *e, const quota_ref *c, const char *type, anon_op *op,
		      int must_exist)
{
	char key[QUOTA__KEY_MAX + 1];
	size_t len = e && c && type ? bucket_key(key, c, type) : 0;
	if (len) {
		uint64_t hash = quota__hash(e, key, len);
		quota__stripe *s = &e->stripes[quota__stripe_of(e, hash)];
		quota__lock_take(&s->lock);
		quota__bucket *b = quota__bucket_lookup(&s->buckets, hash, key, len);
		if (b && single_level(e, b)) {
			int rc = group_fits(b, c)
					 ? anon_apply_hot(e, b, op)
					 : quota__reg_check_consumer(b->reg, c, "consumer");
			quota__lock_release(&s->lock);
			return rc;
		}
		quota__lock_release(&s->lock);
	}
	return anon_slow(e, c, type, op, must_exist);
}

int quota__expired_recheck(quota_engine *e, uint64_t epoch)
{
	if (quota__epoch(e) != epoch)
		return 1;
	/* "No deadline" may only mean that another sweep is rebuilding it. */
	if (atomic_load_explicit(&e->next_deadline, memory_order_acquire) == QUOTA__NO_DEADLINE &&
	    !atomic_load(&e->sweeping))
		return 0;
	int64_t now = quota__now(e);
	if (quota__deadline_due(e, now) || atomic_load(&e->sweeping))
		quota__sweep(e, now);
	return quota__epoch(e) != epoch;
}

static int check_amount(int64_t amount)
{
	if (amount <= 0)
		return quota__fail(QUOTA_ERR_INVALID, "amount: must be > 0, got %lld",
				   (long long)amount);
	return QUOTA_OK;
}

static int consume(quota_engine *e, const quota_ref *consumer, const char *type, int64_t amount,
		   quota_answer *ans, int rate_only)
{
	quota_answer local;
	int rc, report = ans != NULL;
	if (!ans) {
		local.size = sizeof local;
		ans = &local;
	}
	if ((rc = quota__answer_reset(ans)) || (rc = check_amount(amount)))
		return rc;
	anon_op op = {ANON_CONSUME, rate_only, amount, ans, report, 0};
	uint64_t epoch = e ? quota__epoch(e) : 0;
	rc = anon_keyed(e, consumer, type, &op, 0);
	if (e && quota__expired_may_help(e, rc, epoch)) {
		quota__answer_reset(ans);
		rc = anon_keyed(e, consumer, type, &op, 0);
	}
	ans->status = rc;
	if (e && !op.counted)
		quota__count_decision(e, rc, ans, NULL);
	quota__after(e);
	return rc;
}

int quota__impl_consume(quota_engine *e, const quota_ref *consumer, const char *type,
			    int64_t amount, quota_answer *ans)
{
	return consume(e, consumer, type, amount, ans, 0);
}

int quota__impl_rate_take(quota_engine *e, const quota_ref *consumer, const char *type,
			      int64_t n, quota_answer *ans)
{
	return consume(e, consumer, type, n, ans, 1);
}

int quota__impl_usage_observe(quota_engine *e, const quota_ref *c, const char *type,
				  int64_t value)
{
	char key[QUOTA__KEY_MAX + 1];
	quota__reg *r;
	int rc;
	if ((rc = check_key_args(e, c, type)))
		return rc;
	if (value < 0)
		return quota__fail(QUOTA_ERR_INVALID, "value: observed usage must be >= 0, got %lld",
				   (long long)value);
	quota__rw_read(&e->config);
	if ((rc = find_reg(e, c, type, 1, &r)))
		goto out;
	quota__level lv = quota__level_of(c, NULL);
	size_t len = quota__level_key(key, &lv, r);
	quota__stripe *s = &e->stripes[quota__stripe_of(e, quota__hash(e, key, len))];
	quota__lock_take(&s->lock);
	/* find_reg checked kind and group: a bucket made here is wanted. */
	quota__bucket *b = level_bucket_ext(e, r, &lv, 1);
	if (!b) {
		rc = quota__fail(QUOTA_ERR_NOMEM, "bucket: out of memory");
	} else {
		if (b->ext->has_observed && value < b->ext->observed)
			quota__capacity_freed(e);
		b->ext->observed = value;
		b->ext->has_observed = 1;
	}
	quota__lock_release(&s->lock);
out:
	quota__rw_read_done(&e->config);
	quota__after(e);
	return rc;
}

int quota__impl_give_back(quota_engine *e, const quota_ref *consumer, const char *type,
			      int64_t amount)
{
	int rc;
	if ((rc = check_amount(amount)))
		return rc;
	anon_op op = {ANON_GIVE_BACK, 0, amount, NULL, 0, 0};
	rc = anon_keyed(e, consumer, type, &op, 1);
	quota__after(e);
	return rc;
}

static void limiters_restore(quota__bucket *b, const quota__bucket_saved *s)
{
	for (uint32_t i = 0; i < s->limiter_count; i++)
		for (uint32_t k = 0; k < b->limiter_count; k++)
			if (quota__limiter_cmp(&b->limiters[k], &s->limiters[i]) == 0) {
				b->limiters[k].tat = s->limiters[i].tat;
				b->limiters[k].win_index = s->limiters[i].win_index;
				b->limiters[k].win_used = s->limiters[i].win_used;
			}
}

int quota__bucket_restore(quota_engine *e, const quota_ref *consumer, const char *type,
			  const char *sel, const quota__bucket_saved *s)
{
	char key[QUOTA__KEY_MAX + 1];
	quota__reg *r;
	int rc;
	if ((rc = check_key_args(e, consumer, type)))
		return rc;
	if (s->anonymous < 0 || s->observed < 0)
		return quota__fail(QUOTA_ERR_CORRUPT, "bucket: negative usage");
	quota__rw_read(&e->config);
	if (!(r = quota__reg_find(e, type))) {
		quota__rw_read_done(&e->config);
		return quota__fail(QUOTA_ERR_CORRUPT, "bucket: type %s is not registered", type);
	}
	quota__level lv = quota__level_of(consumer, NULL);
	size_t len = quota__level_key(key, &lv, r);
	quota__stripe *st = &e->stripes[quota__stripe_of(e, quota__hash(e, key, len))];
	quota__lock_take(&st->lock);
	/* A base bucket without a side block has no observed usage. */
	quota__bucket *b = level_bucket_ext(e, r, &lv, !sel && (s->has_observed || s->observed));
	if (b && sel)
		b = quota__selector_bucket_find(b, sel);
	int64_t allocated;
	if (!b)
		rc = sel ? QUOTA_OK /* a selector no grant names any more: see durability.md */
			 : quota__fail(QUOTA_ERR_NOMEM, "bucket: out of memory");
	else if (__builtin_add_overflow(b->allocated - b->anonymous, s->anonymous, &allocated))
		rc = quota__fail(QUOTA_ERR_CORRUPT, "bucket: usage out of range");
	if (b && !rc) {
		b->allocated = allocated;
		b->anonymous = s->anonymous;
		if (b->ext) {
			b->ext->observed = s->observed;
			b->ext->has_observed = s->has_observed != 0;
		}
		b->observed_generation = s->observed_generation;
		b->last_reconciliation_ns = s->last_reconciliation_ns;
		limiters_restore(b, s);
	}
	quota__lock_release(&st->lock);
	quota__rw_read_done(&e->config);
	return rc;
}

static int64_t ms_of(int64_t ns)
{
	return ns / 1000000;
}

static quota_rate_info **pack_rates(quota__pack *p, const quota__bucket *b, int64_t now)
{
	quota_rate_info **rates = quota__pack_take(p, b->limiter_count * sizeof *rates);
	for (uint32_t i = 0; i < b->limiter_count; i++) {
		const quota__limiter *l = &b->limiters[i];
		quota__rate_view view;
		quota__limiter_check(l, 0, now, &view);
		quota_rate_info *r = quota__pack_take(p, sizeof *r);
		quota_rate_info v = {sizeof v,
				     ms_of(l->period_ns),
				     l->window,
				     quota__bucket_action(b, l),
				     l->amount,
				     l->window == QUOTA_WINDOW_CALENDAR ? l->amount : l->burst,
				     view.remaining,
				     ms_up(view.reset_after_ns)};
		if (r)
			*r = v;
		if (rates)
			rates[i] = r;
	}
	return rates;
}

static int64_t utilization_ppm(const quota__bucket *b)
{
	__int128 used = (__int128)quota__bucket_usage(b) + b->reserved;
	if (b->limit < 0)
		return -1;
	if (b->limit == 0)
		return used > 0 ? INT64_MAX : 0;
	__int128 ppm = used * 1000000 / b->limit;
	return ppm > INT64_MAX ? INT64_MAX : (int64_t)ppm;
}

static quota_bucket_info *pack_bucket(quota__pack *p, const quota__bucket *b, int64_t now)
{
	quota_bucket_info info = {.size = sizeof info};
	quota_bucket_info *dst = quota__pack_take(p, sizeof info);
	info.consumer.api_group = quota__pack_str(p, b->reg->pub->consumer_type.api_group);
	info.consumer.kind = quota__pack_str(p, quota__bucket_kind(b));
	info.consumer.ns = quota__pack_str(p, quota__bucket_ns(b));
	info.consumer.name = quota__pack_str(p, quota__bucket_name(b));
	info.resource_type = quota__pack_str(p, quota__bucket_type(b));
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
	int64_t used = quota__bucket_usage(b);
	if (b->limit >= 0 && quota__bucket_available(b) == 0 &&
	    (used > b->limit || b->reserved > b->limit - used))
		info.flags |= QUOTA_BUCKET_OVER_LIMIT;
	info.pending = b->pending;
	if (b->ext && b->ext->has_observed) {
		info.flags |= QUOTA_BUCKET_OBSERVED;
		info.observed = b->ext->observed;
		info.drift = b->ext->observed - b->allocated;
	}
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
	info.rate_count = b->limiter_count;
	info.rates = pack_rates(p, b, now);
	const quota__selector *sel = quota__bucket_selector(b);
	info.selector = quota__pack_str(p, sel ? sel->text : "");
	info.utilization_ppm = utilization_ppm(b);
	if (dst)
		*dst = info;
	return dst;
}

static int get_packed(const quota__bucket *b, int64_t now, quota_bucket_info **out)
{
	quota__pack p = {0};
	pack_bucket(&p, b, now);
	if (quota__pack_begin_write(&p))
		return quota__fail(QUOTA_ERR_NOMEM, "bucket: out of memory");
	*out = pack_bucket(&p, b, now);
	return QUOTA_OK;
}

static int bucket_get(quota_engine *e, const quota_ref *c, const char *type, const char *selector,
		      quota_bucket_info **out)
{
	char key[QUOTA__KEY_MAX + 1];
	int rc;
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "out: must not be NULL");
	*out = NULL;
	if ((rc = check_key_args(e, c, type)))
		return rc;
	if (!selector)
		return quota__fail(QUOTA_ERR_INVALID, "selector: must not be NULL");
	size_t len = quota__bucket_key(key, c, type);
	uint64_t hash = quota__hash(e, key, len);
	quota__stripe *s = &e->stripes[quota__stripe_of(e, hash)];
	int64_t now = quota__now(e);
	quota__lock_take(&s->lock);
	const quota__bucket *b = quota__bucket_lookup(&s->buckets, hash, key, len);
	const quota__bucket *sb = b && *selector ? quota__selector_bucket_find(b, selector) : b;
	if (b && !group_fits(b, c))
		rc = quota__reg_check_consumer(b->reg, c, "consumer");
	else if (sb)
		rc = get_packed(sb, now, out);
	quota__lock_release(&s->lock);
	if (b || *selector) {
		if (!rc && !sb)
			rc = quota__fail(QUOTA_ERR_NOT_FOUND, "bucket %s/%s/%s:%s[%s]: does not exist",
					 c->kind, quota__str(c->ns), c->name, type, selector);
		return rc;
	}

	/* No bucket yet: report what the registration gives this consumer. */
	quota__reg *r;
	quota__rw_read(&e->config);
	if (!(rc = find_reg(e, c, type, 1, &r))) {
		quota__bucket *temp = quota__bucket_new(e, r, key, len, hash);
		rc = temp ? get_packed(temp, now, out) : quota__fail(QUOTA_ERR_NOMEM, "bucket: out of memory");
		quota__bucket_free(temp);
	}
	quota__rw_read_done(&e->config);
	return rc;
}

QUOTA_API int quota_bucket_get(quota_engine *e, const quota_ref *c, const char *type,
			       quota_bucket_info **out)
{
	return bucket_get(e, c, type, "", out);
}

QUOTA_API int quota_bucket_get_selector(quota_engine *e, const quota_ref *c, const char *type,
					const char *selector, quota_bucket_info **out)
{
	return bucket_get(e, c, type, selector, out);
}

static size_t collect_buckets(const quota__iter *it, const quota__stripe *s, quota__pack *p,
			      void ***items)
{
	const quota__table *t = &s->buckets;
	int64_t now = quota__now(it->e);
	for (int pass = 0; pass < 2; pass++) {
		size_t n = 0;
		for (size_t i = 0; i <= t->mask; i++)
			for (quota__node *node = t->slots[i]; node; node = node->next) {
				const quota__bucket *b = (const quota__bucket *)node;
				if ((it->type && strcmp(it->type, quota__bucket_type(b)) != 0) ||
				    !quota__iter_match_consumer(it, quota__bucket_kind(b),
							       quota__bucket_ns(b),
							       quota__bucket_name(b)))
					continue;
				for (uint32_t k = 0; k <= quota__bucket_sel_count(b); k++) {
					if (pass == 1) {
						const quota__bucket *x = k ? b->ext->sels[k - 1] : b;
						quota_bucket_info *info = pack_bucket(p, x, now);
						if (*items)
							(*items)[n] = info;
					}
					n++;
				}
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
	anon_op pin = {ANON_PIN, 0, 0, NULL, 0, 0};
	int rc = anon_slow(e, consumer, type, &pin, 0);
	if (rc) {
		quota__free(h);
		return rc;
	}
	/* The pin keeps the bucket from going away; find it again. */
	char key[QUOTA__KEY_MAX + 1];
	size_t len = quota__bucket_key(key, consumer, type);
	uint64_t hash = quota__hash(e, key, len);
	quota__stripe *s = &e->stripes[quota__stripe_of(e, hash)];
	quota__lock_take(&s->lock);
	h->b = quota__bucket_lookup(&s->buckets, hash, key, len);
	quota__lock_release(&s->lock);
	*out = h;
	return QUOTA_OK;
}

QUOTA_API void quota_bucket_handle_close(quota_bucket_handle *h)
{
	if (!h)
		return;
	quota__stripe *s = &h->e->stripes[h->b->stripe];
	quota__lock_take(&s->lock);
	h->b->handles--;
	quota__lock_release(&s->lock);
	quota__free(h);
}

void quota__handle_target(const quota_bucket_handle *h, quota_ref *consumer, const char **type)
{
	*consumer = quota__bucket_consumer(h->b);
	*type = quota__bucket_type(h->b);
}

/* A change through a handle: the bucket is pinned, so it is still there
 * when the chain needs the slow path. */
static int handle_apply(quota_bucket_handle *h, anon_op *op)
{
	quota__bucket *b = h->b;
	quota__stripe *s = &h->e->stripes[b->stripe];
	quota__lock_take(&s->lock);
	if (single_level(h->e, b)) {
		int rc = anon_apply_hot(h->e, b, op);
		quota__lock_release(&s->lock);
		return rc;
	}
	quota__lock_release(&s->lock);
	quota_ref c = quota__bucket_consumer(b);
	return anon_slow(h->e, &c, quota__bucket_type(b), op, 1);
}

int quota__impl_handle_consume(quota_bucket_handle *h, int64_t amount, quota_answer *ans)
{
	quota_answer local;
	int rc, report = ans != NULL;
	if (!ans) {
		local.size = sizeof local;
		ans = &local;
	}
	if ((rc = quota__answer_reset(ans)))
		return rc;
	if (!h)
		return quota__fail(QUOTA_ERR_INVALID, "handle: must not be NULL");
	if ((rc = check_amount(amount)))
		return rc;
	anon_op op = {ANON_CONSUME, 0, amount, ans, report, 0};
	uint64_t epoch = quota__epoch(h->e);
	rc = handle_apply(h, &op);
	if (quota__expired_may_help(h->e, rc, epoch)) {
		quota__answer_reset(ans);
		rc = handle_apply(h, &op);
	}
	ans->status = rc;
	if (!op.counted)
		quota__count_decision(h->e, rc, ans, NULL);
	quota__after(h->e);
	return rc;
}

int quota__impl_handle_give_back(quota_bucket_handle *h, int64_t amount)
{
	int rc;
	if (!h)
		return quota__fail(QUOTA_ERR_INVALID, "handle: must not be NULL");
	if ((rc = check_amount(amount)))
		return rc;
	anon_op op = {ANON_GIVE_BACK, 0, amount, NULL, 0, 0};
	rc = handle_apply(h, &op);
	quota__after(h->e);
	return rc;
}

static void bucket_node_free(quota__node *n)
{
	quota__bucket_free((quota__bucket *)n);
}

void quota__buckets_free(quota_engine *e)
{
	for (uint32_t i = 0; i < e->stripe_count; i++)
		quota__table_clear(&e->stripes[i].buckets, bucket_node_free);
}
