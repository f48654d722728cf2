/*
 * The engine's private structures.
 *
 * Locking, outermost first:
 *  0. policies->lock (quota__rwlock, lib/policy.h): the claim and grant policies.
 *     Writers: policy apply and delete (which read the registrations under
 *     config while they hold it). Readers: admission, only while it
 *     evaluates and renders; it lets go before the claim set is decided,
 *     so no expression ever runs under config or a stripe lock. A grant
 *     policy sync evaluates under it, then begins a transaction (which
 *     takes config for writing, once) to apply what it rendered.
 *  1. config (quota__rwlock, lib/lock.h): registrations and grants, with each grant's owner,
 *     and the record of which grants grant policies made
 *     (policies->owners). Writers: transactions (lib/txn.h: registration
 *     and grant changes, JSON loads, grant policy syncs), which hold it
 *     from quota__txn_begin() to their commit or abort. Readers: claims
 *     and the slow path of first use.
 *  2. stripe locks, always taken in ascending index order: stripe i guards
 *     the buckets and claims whose hash maps to i, and every counter of
 *     those buckets. The hot path (consume on an existing bucket, handles)
 *     takes one stripe lock and nothing else.
 * A bucket is inserted only under config (read or write) plus its stripe,
 * and removed only under config write plus every stripe, so a holder of
 * the config write lock may read the bucket tables without stripe locks.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_ENGINE_H
#define QUOTA_LIB_ENGINE_H

#include <pthread.h>
#include <quota/quota.h>
#include <stdatomic.h>

#include "hash.h"
#include "lock.h"
#include "rate.h"
#include "selector.h"
#include "table.h"
#include "util.h"

/* Longest bucket key: kind, ns, name, type and three separators. */
#define QUOTA__KEY_MAX (QUOTA__KIND_MAX + QUOTA__NS_MAX + 2 * QUOTA__NAME_MAX + 3)
/* Longest claim or grant key: ns, name and a separator. */
#define QUOTA__NAME_KEY_MAX (QUOTA__NS_MAX + QUOTA__NAME_MAX + 1)

typedef struct quota__reg {
	quota__node node; /* key: resource_type */
	quota_registration *pub; /* packed copy; immutable fields never change */
	int64_t grant_uses;      /* allowances of grants naming this type */
} quota__reg;

typedef struct quota__grant {
	quota__node node; /* key: ns \0 name */
	quota_grant *pub; /* packed copy */
	char *owner;      /* who made it (a grant policy for a trigger), or NULL */
} quota__grant;

/* A grant's contribution to one bucket. Strings point into the array's
 * block; allowance into the grant's packed copy, which lives as long as the
 * contribution (a grant change rebuilds its contributions). */
typedef struct quota__contrib {
	const char *ns;
	const char *name;
	int64_t amount;
	int64_t generation;
	const quota_allowance *allowance;
	uint32_t mask; /* the allowance's buckets that give to this bucket */
} quota__contrib;

/* Most selector buckets beside one base bucket. */
#define QUOTA__SELS_MAX 16

/* What only buckets of rarely used features have: observed usage and
 * selectors. Allocated at first use; every field starts at zero. */
typedef struct quota__bucket_ext {
	int64_t observed;             /* external usage, when has_observed */
	int32_t has_observed;
	/* Selectors. A selector bucket is not in a table: it hangs off its
	 * base bucket, in the base's stripe, and is freed with it. */
	uint32_t sel_count;
	quota__selector *selector;    /* a selector bucket's own; NULL for a base */
	struct quota__bucket *base;   /* a selector bucket's base */
	struct quota__bucket **sels;  /* a base's, most specific first; room for
				       * QUOTA__SELS_MAX */
} quota__bucket_ext;

typedef struct quota__bucket {
	/* What decisions read comes first: 128 bytes, two cache lines. */
	quota__node node;       /* key: kind \0 ns \0 name \0 type */
	const quota__reg *reg;  /* read only its immutable fields without config */
	uint32_t stripe;
	uint32_t up_count;      /* buckets of the same type at the levels above */
	uint32_t contrib_count;
	uint32_t limiter_count;
	uint8_t ns_at, name_at; /* where the parts of node.key start (kind at 0) */
	uint16_t type_at;
	int8_t enforcement;     /* copied from reg under the stripe lock */
	uint8_t ancestor;       /* kind above the registration's: no default limit */
	uint8_t rate;           /* a Rate type: limiters decide, not limit */
	int8_t action;          /* QUOTA_ACTION_* its grant buckets name; 0 none */
	uint64_t chain_version; /* engine chain_version when up was set */
	int64_t limit;
	int64_t allocated;      /* granted claims + anonymous */
	int64_t reserved;
	int64_t anonymous;      /* the part of allocated without a claim */
	quota__bucket_ext *ext; /* NULL until observed usage or a selector */
	struct quota__bucket **up;
	quota__limiter *limiters; /* Rate types; sorted by (period, window) */
	/* Bookkeeping of claims, handles and grants. */
	int64_t claim_count;
	int64_t reserved_count;
	int64_t pending;        /* queued claims waiting on this bucket */
	uint64_t blocked_gen;   /* queue kick that found an older claim waiting here */
	int64_t handles;
	int64_t observed_generation;    /* bumped by every change of the limit */
	int64_t last_reconciliation_ns; /* and when */
	quota__contrib *contribs; /* one block; sorted by (ns, name) */
} quota__bucket;

_Static_assert(QUOTA__KIND_MAX + QUOTA__NS_MAX + 2 <= UINT8_MAX, "name_at is a byte");
_Static_assert(QUOTA__KEY_MAX <= UINT16_MAX, "type_at fits 16 bits");

/* The bucket of key in a stripe's table. A bucket's key lies right after
 * it, so the compare does not wait for node.key to load: on a cold bucket
 * that is one cache miss fewer in a row. */
static inline struct quota__bucket *quota__bucket_lookup(const quota__table *t, uint64_t hash,
							  const char *key, size_t len)
{
	for (quota__node *n = t->slots[hash & t->mask]; n; n = n->next)
		if (n->hash == hash && n->key_len == len &&
		    memcmp((const struct quota__bucket *)n + 1, key, len) == 0)
			return (struct quota__bucket *)n;
	return NULL;
}

/* The parts of a bucket's key. */
static inline const char *quota__bucket_kind(const quota__bucket *b)
{
	return b->node.key;
}
static inline const char *quota__bucket_ns(const quota__bucket *b)
{
	return b->node.key + b->ns_at;
}
static inline const char *quota__bucket_name(const quota__bucket *b)
{
	return b->node.key + b->name_at;
}
static inline const char *quota__bucket_type(const quota__bucket *b)
{
	return b->node.key + b->type_at;
}
/* The consumer of a bucket (without its api_group). */
static inline quota_ref quota__bucket_consumer(const quota__bucket *b)
{
	return (quota_ref){NULL, quota__bucket_kind(b), quota__bucket_ns(b), quota__bucket_name(b)};
}

/* A selector bucket's selector, NULL for a base. */
static inline const quota__selector *quota__bucket_selector(const quota__bucket *b)
{
	return b->ext ? b->ext->selector : NULL;
}
/* How many selector buckets hang off b (0 for a selector bucket). */
static inline uint32_t quota__bucket_sel_count(const quota__bucket *b)
{
	return b->ext ? b->ext->sel_count : 0;
}
/* What admission counts as used: allocated, or the observed usage when it
 * is higher. */
static inline int64_t quota__bucket_usage(const quota__bucket *b)
{
	const quota__bucket_ext *x = b->ext;
	return x && x->has_observed && x->observed > b->allocated ? x->observed : b->allocated;
}
/* b's side block, allocated if it has none; caller holds b's stripe (or b
 * is not visible yet). -1 on no memory, b unchanged. */
int quota__bucket_ext_need(quota__bucket *b);

typedef struct quota__claim_req {
	const char *type; /* into the claim's block */
	const quota_label *labels; /* dimensions, into the claim's block */
	uint32_t label_count;
	int64_t requested;
	int64_t amount;   /* held now */
	quota__bucket **charged; /* every level charged, [0] the consumer's own */
	uint32_t charged_count;  /* 0 once released */
	/* The most specific selector bucket of charged[0] that the labels
	 * match, NULL for none or once released; written under the claim's
	 * stripe and its buckets'. */
	const struct quota__bucket *alloc;
} quota__claim_req;

typedef struct quota__claim {
	quota__node node; /* key: ns \0 name */
	uint64_t id;
	int32_t state;
	uint32_t flags;
	int64_t created_ns, updated_ns;
	int64_t expires_ns; /* reservation TTL or queue deadline, 0 = none */
	int64_t purge_ns;   /* when a released claim is forgotten */
	int64_t ttl_ns;     /* a queued claim's TTL, applied on admission */
	const char *ns, *name;
	quota_ref consumer, resource;
	uint32_t req_count;
	quota__claim_req req[];
} quota__claim;

/* Counters. Decisions are the sum of their outcomes (allowed, denied,
 * queued), so a decision costs one relaxed increment. */
enum quota__counter {
	QC_ALLOWED,
	QC_DENIED_EXCEEDED,
	QC_DENIED_RATE,
	QC_THROTTLED,
	QC_WARNINGS,
	QC_QUEUED,
	QC_ADMITTED,
	QC_EXPIRED,
	QC_RELEASED,
	QC_DEQUEUED,
	/* Admissions (quota_admit, not dry runs) by outcome: */
	QC_ADMIT_NO_POLICY,
	QC_ADMIT_ALLOWED,
	QC_ADMIT_DENIED,
	QC_ADMIT_FAILED_CLOSED,
	QC_ADMIT_FAILED_OPEN,
	QC_COUNT
};

/* One cache line apart (QUOTA__CACHE_LINE, lock.h), so that two threads on
 * two stripes do not share one. */
typedef struct quota__stripe {
	quota__lock lock; /* lock.h: spins briefly, then sleeps */
	/* Allowances the flat fast path counted here (QC_ALLOWED): only the
	 * holder of the lock writes it, with a plain load and store, and it
	 * shares the lock's cache line, so counting moves no other line
	 * between cores. Readers add it up with the counter slots. */
	_Atomic uint64_t allowed;
	quota__table buckets;
	quota__table claims;
	int64_t next_deadline; /* earliest expires_ns / purge_ns here */
} __attribute__((aligned(QUOTA__CACHE_LINE))) quota__stripe;

/* Counter slots, which readers add up (quota__counters_sum), with the
 * stripes' allowances: a thread adds atomically to the slot its stack
 * address picks, so threads rarely share a line. */
#define QUOTA__COUNTER_SLOTS 16
typedef struct quota__counters {
	_Atomic uint64_t c[QC_COUNT];
} __attribute__((aligned(QUOTA__CACHE_LINE))) quota__counters;

/* A consumer known to the hierarchy (it has a parent or children). */
typedef struct quota__consumer {
	quota__node node; /* key: kind \0 ns \0 name */
	const char *kind, *ns, *name;
	struct quota__consumer *parent;
	uint32_t children;
} quota__consumer;

/* "Some consumer of kind child has a parent of kind parent", counted. */
typedef struct quota__kind_edge {
	char *child, *parent;
	uint32_t count;
} quota__kind_edge;

/* A claim event waiting for delivery; allocated before its transition. */
typedef struct quota__event {
	struct quota__event *next;
	int32_t type, prev_state, state;
	size_t key_len; /* key: ns \0 name */
	char key[];
} quota__event;

/* A queued claim's place in the FIFO; the claim is found again by key. */
typedef struct quota__waiter {
	struct quota__waiter *next;
	uint64_t claim_id;
	size_t key_len;
	char key[];
} quota__waiter;

/* One level of a consumer's chain; strings stay valid under config, and
 * their lengths are known, so that keys are built without measuring.
 * hash: of the level's bucket key for the type at hand, once computed
 * (quota__level_stripe), 0 before. */
typedef struct quota__level {
	const char *kind, *ns, *name;
	size_t kind_len, ns_len, name_len;
	uint64_t hash;
} quota__level;

/* Slots of quota_engine.reg_hint (quota__reg_find picks one with the top
 * four bits of a 32-bit digest). */
#define QUOTA__REG_HINTS 16

struct quota_engine {
	quota__rwlock config;
	quota__table regs;
	/* Registrations found lately, by a digest of their type: a hint that
	 * quota__reg_find() checks against the type, so that most lookups need
	 * no keyed hash. Readers of config write it; a registration leaves it
	 * before it is freed (under config held for writing). */
	_Atomic(quota__reg *) reg_hint[QUOTA__REG_HINTS];
	quota__table grants;
	quota__table consumers;
	quota__kind_edge *kind_edges;
	uint32_t kind_edge_count, kind_edge_cap;
	_Atomic uint64_t chain_version; /* bumped whenever a parent changes */
	quota__hash_keys hash; /* of every table */
	uint32_t stripe_count;
	uint32_t stripe_shift;
	quota__stripe *stripes; /* aligned within stripes_block */
	void *stripes_block;
	quota_clock_fn clock;
	void *clock_payload;
	int64_t retention_ns;
	/* Written by most calls: the clock's high-water mark (quota__now) by
	 * every call that reads the clock, the next id by every new claim. A
	 * write makes the line miss in every other thread, so nothing else may
	 * share it: the padding covers a line on either side however the engine
	 * lies (its memory is aligned for any type, to 8 bytes at least). */
	char hot_before[QUOTA__CACHE_LINE - 8];
	_Atomic int64_t last_now;
	_Atomic uint64_t next_claim_id;
	char hot_after[QUOTA__CACHE_LINE - 8];
	_Atomic int64_t rate_wake;     /* when a rate that holds a pending claim
					* back lets it pass; QUOTA__NO_DEADLINE */
	_Atomic int64_t next_deadline; /* never later than any stripe's, but
					* "none" while a sweep rebuilds it */
	pthread_mutex_t sweep_lock;    /* one sweep at a time; under config, over stripes */
	atomic_int sweeping;
	_Atomic uint64_t expiry_epoch; /* bumped by every expiry */
	/* The queue: lock order config, queue_lock, sweep_lock, stripes. */
	pthread_mutex_t queue_lock;
	quota__waiter *queue_head, **queue_tail;
	_Atomic int64_t pending_count;
	uint64_t kick_gen; /* under queue_lock */
	atomic_int kick_wanted;
	quota__counters *counters; /* QUOTA__COUNTER_SLOTS, in counters_block */
	void *counters_block;
	/* The audit ring of recent denials (allocated at the first one). */
	pthread_mutex_t audit_lock;
	quota_denial *audit;
	uint64_t audit_seq;
	/* Events: event_lock is a leaf; one thread delivers at a time. */
	quota_event_fn event_fn;
	void *event_payload;
	pthread_mutex_t event_lock;
	quota__event *event_head, **event_tail;
	int delivering;
	struct quota__policies *policies; /* lib/policy.h */
	/* The journal of a durable engine (lib/journal.h), or NULL. Its
	 * change lock comes before every lock above. */
	struct quota__journal *journal;
};

#define QUOTA__NO_DEADLINE INT64_MAX

static inline uint64_t quota__hash(const quota_engine *e, const char *key, size_t len)
{
	return quota__hash_with(&e->hash, key, len);
}
static inline uint32_t quota__stripe_of(const quota_engine *e, uint64_t hash)
{
	return e->stripe_shift >= 64 ? 0 : (uint32_t)(hash >> e->stripe_shift);
}
int64_t quota__now(quota_engine *e);

/* Note when a rate limit lets a pending claim pass: the queue gets a look
 * then (at the end of a call, or at a tick). */
void quota__rate_wake_note(quota_engine *e, int64_t when);
/* Note a new deadline in stripe s (caller holds its lock). */
void quota__deadline_note(quota_engine *e, quota__stripe *s, int64_t when);
/* Whether some deadline may have passed at now. */
static inline int quota__deadline_due(quota_engine *e, int64_t now)
{
	return now >= atomic_load_explicit(&e->next_deadline, memory_order_acquire);
}
/* Expire and purge what is due at now (takes locks itself; hold none). */
uint64_t quota__sweep(quota_engine *e, int64_t now);

/* A set of stripe indices locked in ascending order. */
/* Enough for every level of every request of a claim and its own stripe,
 * and for the buckets of a grant change (two per allowance). */
#define QUOTA__LOCKSET_MAX (QUOTA_MAX_REQUESTS * QUOTA_MAX_DEPTH + 1)
typedef struct quota__lockset {
	uint32_t n;
	uint32_t idx[QUOTA__LOCKSET_MAX];
} quota__lockset;
/* Add a stripe; returns -1 when the set is full. Inline: a claim adds a
 * few on every call, most of them in ascending order. */
static inline int quota__lockset_add(quota__lockset *ls, uint32_t stripe)
{
	uint32_t i = ls->n;
	while (i > 0 && ls->idx[i - 1] > stripe)
		i--;
	if (i > 0 && ls->idx[i - 1] == stripe)
		return 0;
	if (ls->n == QUOTA__LOCKSET_MAX)
		return -1;
	if (i < ls->n)
		memmove(&ls->idx[i + 1], &ls->idx[i], (ls->n - i) * sizeof ls->idx[0]);
	ls->idx[i] = stripe;
	ls->n++;
	return 0;
}
void quota__lockset_lock(quota_engine *e, const quota__lockset *ls);
void quota__lockset_unlock(quota_engine *e, const quota__lockset *ls);
void quota__lock_all(quota_engine *e);
void quota__unlock_all(quota_engine *e);

/* Registrations (registration.c); callers hold config. */
quota__reg *quota__reg_find(quota_engine *e, const char *type);
/* The same for a type whose length is known. */
quota__reg *quota__reg_find_len(quota_engine *e, const char *type, size_t len);
void quota__regs_free(quota_engine *e);
/* Check that consumer may hold type (kind and api_group). */
int quota__reg_check_consumer(const quota__reg *r, const quota_ref *consumer, const char *field);

/* Consumers (consumer.c); callers hold config. */
/* The levels of c's chain, c first; returns their number (1..QUOTA_MAX_DEPTH). */
uint32_t quota__chain(quota_engine *e, const quota_ref *c, const size_t *len, quota__level *lv);
/* The level of consumer c (checked), whose strings' lengths (api_group,
 * kind, ns, name) are len, or measured here when len is NULL. */
quota__level quota__level_of(const quota_ref *c, const size_t *len);
/* Whether kind is an ancestor kind of of_kind through known parents. */
int quota__kind_is_ancestor(const quota_engine *e, const char *kind, const char *of_kind);
void quota__consumers_free(quota_engine *e);

/* Grants (grant.c). */
void quota__grants_free(quota_engine *e);
/* A checked copy of a caller's grant, in one allocation; the detail names
 * the field. */
int quota__grant_copy(const quota_grant *in, quota_grant **out);
/* Deep copies of n allowances (see pack.h), and whether two lists of n
 * are the same, written the same way. */
struct quota__pack;
const quota_allowance *quota__pack_allowances(struct quota__pack *p, const quota_allowance *src,
					     uint32_t n);
int quota__allowances_same(const quota_allowance *a, const quota_allowance *b, uint32_t n);
/* Whether g's types are registered and may be held by its consumer, with
 * fields that fit each type's class; caller holds config. */
int quota__grant_check_regs(quota_engine *e, const quota_grant *g);
/* Several grant changes as one: a transaction (txn.h), whose
 * quota__txn_grant() records the owner of each grant it applies. */
/* The owner recorded with grant (ns, name), NULL for none; *exists says
 * whether the grant exists (as committed: not what a transaction under way
 * prepared). Caller holds config. */
const char *quota__grant_owner(quota_engine *e, const char *ns, const char *name, int *exists);

/* Buckets (bucket.c). */
/* Build the bucket key of (consumer, type) into buf (QUOTA__KEY_MAX + 1);
 * returns its length, or 0 when a part is missing or too long. */
size_t quota__bucket_key(char *buf, const quota_ref *consumer, const char *type);
quota__bucket *quota__bucket_find(quota_engine *e, const char *key, size_t len, uint64_t hash);
/* A new bucket (not inserted) for a registered type; NULL on no memory. */
quota__bucket *quota__bucket_new(quota_engine *e, const quota__reg *r, const char *key,
				 size_t len, uint64_t hash);
void quota__bucket_free(quota__bucket *b);
/* The limit of a bucket no grant contributes to: the registration's
 * default at its own consumer kind, unlimited at the levels above and for
 * selector buckets. */
static inline int64_t quota__bucket_default(const quota__bucket *b)
{
	return b->ancestor || quota__bucket_selector(b) ? QUOTA_UNLIMITED
							: b->reg->pub->default_limit;
}
/* A selector bucket beside base (not attached yet); takes sel. NULL on no
 * memory. */
quota__bucket *quota__selector_bucket_new(quota__bucket *base, quota__selector *sel);
/* Whether selector bucket a is more specific than b (NULL: a base). */
int quota__selector_bucket_before(const quota__bucket *a, const quota__bucket *b);
/* Attach a new selector bucket to its base (which has room), in order. */
void quota__selector_bucket_attach(quota__bucket *sb);
/* Detach a selector bucket from its base. */
void quota__selector_bucket_detach(quota__bucket *sb);
/* Find the selector bucket of base with canonical text, or NULL. */
quota__bucket *quota__selector_bucket_find(const quota__bucket *base, const char *text);
/* The buckets that labels l are charged at beside level bucket b: its
 * matching selector buckets, most specific first, then b. Returns how
 * many were written to out (room for QUOTA__SELS_MAX + 1). */
static inline uint32_t quota__level_targets(quota__bucket *b, const quota_label *l, uint32_t n,
					    quota__bucket **out)
{
	uint32_t k = 0, m = quota__bucket_sel_count(b);
	for (uint32_t i = 0; i < m; i++)
		if (quota__selector_match(b->ext->sels[i]->ext->selector, l, n))
			out[k++] = b->ext->sels[i];
	out[k++] = b;
	return k;
}
/* Room for every bucket one request is charged at. */
#define QUOTA__TARGETS_MAX (QUOTA_MAX_DEPTH * (QUOTA__SELS_MAX + 1))
/* Every bucket a claim's request is charged at (see
 * quota__level_targets); caller holds their stripes. */
static inline uint32_t quota__req_targets(const quota__claim_req *q, quota__bucket **out)
{
	uint32_t n = 0;
	for (uint32_t l = 0; l < q->charged_count; l++)
		n += quota__level_targets(q->charged[l], q->labels, q->label_count, out + n);
	return n;
}
void quota__bucket_reset_limit(quota__bucket *b, int64_t now);
/* Level key of (lv, r's type) into buf (QUOTA__KEY_MAX + 1); its length. */
size_t quota__level_key(char *buf, const quota__level *lv, const quota__reg *r);
/* The stripe of level lv's bucket for r's type, computing and keeping its
 * hash. */
uint32_t quota__level_stripe(quota_engine *e, quota__level *lv, const quota__reg *r);
/* Find the bucket of level lv for r's type, or with insert make a new one
 * and insert it; caller holds config (read) and the level's stripe. NULL
 * when missing, or on no memory. */
quota__bucket *quota__level_bucket(quota_engine *e, const quota__reg *r, quota__level *lv,
				   int insert);
/* Point base at the buckets above it (lv[1..n-1]); caller holds config
 * (read) and every stripe of the chain. -1 on no memory. */
int quota__chain_link(quota_engine *e, quota__bucket *base, quota__bucket **above, uint32_t n);
/* The outcome of a decision at one bucket. */
typedef struct quota__verdict {
	int warned;                /* a WARN action let a limit be passed */
	int action;                /* of the limit that failed (QUOTA_ACTION_*) */
	const quota__limiter *lim; /* the rate limit that failed or warned */
	quota__rate_view view;     /* of lim */
} quota__verdict;
/* Whether amount more may be charged at now: QUOTA_OK (v->warned set when
 * a WARN action let a limit be passed), QUOTA_ERR_EXCEEDED,
 * QUOTA_ERR_RATE_LIMITED, or QUOTA_ERR_OVERFLOW when the usage could not
 * be represented. Read v->action, v->view only after a failure or a
 * warning. */
int quota__bucket_decide(const quota__bucket *b, int64_t amount, int64_t now, quota__verdict *v);
/* Charge amount to b's rate limits at now (a no-op for stock types);
 * after a decision that allowed it. */
void quota__bucket_take(quota__bucket *b, int64_t amount, int64_t now);
/* The stricter of two QUOTA_ACTION_* (REJECT, THROTTLE, QUEUE, WARN; 0
 * loses to any). */
int quota__action_stricter(int a, int b);
/* The QUOTA_ACTION_* that applies at b when a limit (lim, or the stock
 * limit when NULL) does not fit. */
int quota__bucket_action(const quota__bucket *b, const quota__limiter *lim);
/* Record the detail of a failed decision and return rc. */
int quota__fail_decision(int rc, const quota__bucket *b, const quota__verdict *v,
			 const char *field, int64_t amount);
/* Check and clear an answer; QUOTA_ERR_INVALID when its size is too small. */
int quota__answer_reset(quota_answer *a);
int64_t quota__bucket_available(const quota__bucket *b);
/* 1 when nothing holds the bucket: no usage, claims or handles. */
int quota__bucket_idle(const quota__bucket *b);
/* Note: observed usage does not make a bucket busy; it is a reading. */
void quota__bucket_describe(const quota__bucket *b, char *buf, size_t n);
void quota__answer_deny(quota_answer *a, int status, int req, const quota__bucket *b,
			int64_t amount);
/* The same with the verdict: a rate limit's numbers, the throttle flag. */
void quota__answer_verdict(quota_answer *a, int status, int req, const quota__bucket *b,
			   int64_t amount, const quota__verdict *v);
void quota__buckets_free(quota_engine *e);
/* What a snapshot keeps of a bucket beyond what its grants and claims
 * make: anonymous use, observed usage, bookkeeping and rate state. */
typedef struct quota__bucket_saved {
	int64_t anonymous, observed, observed_generation, last_reconciliation_ns;
	int32_t has_observed;
	uint32_t limiter_count;
	const quota__limiter *limiters; /* matched by (period, window) */
} quota__bucket_saved;
/* Find or make the bucket of (consumer, type), or its selector bucket of
 * canonical text sel (NULL: the base), and give it s (snapshot.c). */
int quota__bucket_restore(quota_engine *e, const quota_ref *consumer, const char *type,
			  const char *sel, const quota__bucket_saved *s);
/* The expiry epoch to pass to quota__expired_may_help(); read it before
 * deciding. */
static inline uint64_t quota__epoch(quota_engine *e)
{
	return atomic_load_explicit(&e->expiry_epoch, memory_order_acquire);
}
/* After a denial (rc QUOTA_ERR_EXCEEDED or _OVERFLOW): sweep what is due, waiting for a
 * sweep in progress, and say whether any reservation expired since epoch,
 * so that the decision is worth retrying. Hold no locks but config (read).
 * The check of rc is inline, the rest (quota__expired_recheck) is not. */
int quota__expired_recheck(quota_engine *e, uint64_t epoch);
static inline int quota__expired_may_help(quota_engine *e, int rc, uint64_t epoch)
{
	/* Expired reservations still counted can make a request not fit, or
	 * make usage plus the request overflow; nothing else is worth a look. */
	return (rc == QUOTA_ERR_EXCEEDED || rc == QUOTA_ERR_OVERFLOW) &&
	       quota__expired_recheck(e, epoch);
}

/* Metrics (metrics.c). */
/*
 * The slot comes from the caller's stack address: threads run on distinct
 * stacks, so they mostly hit distinct slots, without the call that
 * thread-local storage costs in a shared library.
 */
static inline void quota__count(quota_engine *e, enum quota__counter c)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	uint32_t slot = (uint32_t)(((sp >> 20) * UINT64_C(0x9E3779B97F4A7C15)) >> 60) %
			QUOTA__COUNTER_SLOTS;
	atomic_fetch_add_explicit(&e->counters[slot].c[c], 1, memory_order_relaxed);
}
/* Count an allowance in stripe s, whose lock the caller holds. */
static inline void quota__count_allowed_locked(quota__stripe *s)
{
	atomic_store_explicit(&s->allowed,
			      atomic_load_explicit(&s->allowed, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}
/* Every counter: the slots and the stripes' allowances added up. */
void quota__counters_sum(quota_engine *e, uint64_t sum[QC_COUNT]);
/* Set the counters to v (a snapshot's): slot 0 holds them, the rest is 0. */
void quota__counters_set(quota_engine *e, const uint64_t v[QC_COUNT]);
/* quota__count_decision() for every outcome but a plain allowance. */
void quota__count_other(quota_engine *e, int rc, const quota_answer *a, const char *claim_key);
/* Count a decision's outcome from its status and answer, and record a
 * denial in the audit ring (message: the thread's last error; claim_key:
 * ns \0 name, or NULL). The audit is best effort: a ring that cannot be
 * allocated records nothing. */
static inline void quota__count_decision(quota_engine *e, int rc, const quota_answer *a,
					 const char *claim_key)
{
	if (rc == QUOTA_OK && a->state != QUOTA_CLAIM_PENDING && !(a->flags & QUOTA_ANSWER_WARNED))
		quota__count(e, QC_ALLOWED);
	else
		quota__count_other(e, rc, a, claim_key);
}

/* Events (event.c). */
/* Allocate the record of an event about claim key, before the transition;
 * *out stays NULL when the engine has no callback. QUOTA_ERR_NOMEM. */
int quota__event_prepare(quota_engine *e, const char *key, size_t len, quota__event **out);
/* Queue a prepared event (any locks may be held); NULL is a no-op. */
void quota__event_post(quota_engine *e, quota__event *ev, int type, int prev_state, int state);
/* Free the records of engine e (at engine free). */
void quota__events_free(quota_engine *e);
/* Note that capacity returned: the queue gets a look before the call ends. */
static inline void quota__capacity_freed(quota_engine *e)
{
	if (atomic_load_explicit(&e->pending_count, memory_order_relaxed))
		atomic_store_explicit(&e->kick_wanted, 1, memory_order_relaxed);
}
/* quota__after() when there may be something to do. */
void quota__after_work(quota_engine *e);
/* The end of every public call that may change claims: admit what the
 * queue can, then deliver events. Hold no lock. Inline, reading before
 * writing: the common case makes no call and dirties no shared line. */
static inline void quota__after(quota_engine *e)
{
	if (e && (e->journal || e->event_fn ||
		  atomic_load_explicit(&e->rate_wake, memory_order_relaxed) != QUOTA__NO_DEADLINE ||
		  atomic_load_explicit(&e->kick_wanted, memory_order_relaxed)))
		quota__after_work(e);
}

/* The queue (queue.c). */
/* Append claim (ns \0 name, id) to the FIFO; caller holds queue_lock. */
int quota__queue_append(quota_engine *e, const char *key, size_t len, uint64_t id);
/* Admit what fits, oldest first, and drop stale records; takes queue_lock. */
void quota__queue_kick(quota_engine *e);
void quota__queue_free(quota_engine *e);

/* Claims (claim.c). */
void quota__claims_free(quota_engine *e);
/* Expire claim key if its TTL or queue deadline has passed; 1 if it did. */
int quota__claim_expire_due(quota_engine *e, const char *key, size_t len, int64_t now);
/* Find claim key and lock it with every stripe it charges; on QUOTA_OK the
 * caller holds *ls and unlocks it. QUOTA_ERR_NOT_FOUND otherwise. */
int quota__claim_lock(quota_engine *e, const char *key, size_t len, int64_t now,
		      quota__lockset *ls, quota__claim **out);
/* Admit a pending claim if it fits everywhere (caller holds its locks);
 * 1 if admitted. A rate limit that holds it back notes its rate_wake. */
int quota__claim_admit_pending(quota_engine *e, quota__claim *c, int64_t now);

#endif
