/*
 * Claims, internal: what claim.c and claimset.c share.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_CLAIM_H
#define QUOTA_LIB_CLAIM_H

#include "engine.h"

/* Internal claim flags, above the public QUOTA_CLAIM_* bits. */
#define CLAIM_EXPIRED (1u << 31)     /* ended by a TTL or a queue deadline */
#define CLAIM_GRANT_ON_ADMIT (1u << 30) /* queued through acquire or AUTO_COMMIT */
#define CLAIM_EXPIRED_QUEUED (1u << 29) /* ended by its queue deadline */
#define CLAIM_PUBLIC_FLAGS (QUOTA_CLAIM_QUEUE | QUOTA_CLAIM_AUTO_COMMIT)

enum admit_mode { ADMIT_RESERVE, ADMIT_ACQUIRE, ADMIT_CHECK };

/* The levels a request is charged at, resolved under config before locking. */
typedef struct target {
	const quota__reg *reg;
	uint32_t levels;
	quota__level lv[QUOTA_MAX_DEPTH];
} target;

/* The buckets of every level of every request; made ones are inserted and
 * listed in made[] so that a denial or a dry run can take them out again.
 * Caller holds config (read) and every stripe involved. */
typedef struct charge_set {
	quota__bucket *b[QUOTA_MAX_REQUESTS][QUOTA_MAX_DEPTH];
	quota__bucket *made[QUOTA_MAX_REQUESTS * QUOTA_MAX_DEPTH];
	uint32_t made_count;
} charge_set;

/* The lengths of a checked claim's strings (NULL counts as ""), measured
 * once by the checks for the key, the record and the bucket keys. */
typedef struct claim_lens {
	size_t ns, name;
	size_t consumer[4], resource[4]; /* api_group, kind, ns, name */
	size_t type[QUOTA_MAX_REQUESTS];
} claim_lens;

/* Copy a caller's claim into c (our size) and check it, measuring its
 * strings into len; detail names the field. */
int quota__claim_check_in(const quota_claim *in, quota_claim *c, claim_lens *len);
/* Whether resource res may claim registration r (its claimingResources);
 * i is the request, for the detail. */
int quota__reg_may_claim(const quota__reg *r, const quota_ref *res, uint32_t i);
/* Under config (read): the registration and levels of every request, and
 * their stripes added to ls; len: the lengths of c's strings. */
int quota__claim_resolve(quota_engine *e, const quota_claim *c, const claim_lens *len, target *t,
			 quota__lockset *ls);
/* Under config (read) and every stripe: the bucket of every level of every
 * request, made when missing (listed in cs->made). */
int quota__claim_bind(quota_engine *e, const quota_claim *c, target *t, charge_set *cs);
/* Take out again the buckets quota__claim_bind() made. */
void quota__claim_unbind(quota_engine *e, charge_set *cs);
/* The decision for every request at every bucket it charges, alone. */
int quota__claim_decide_all(const quota_claim *c, const target *t, const charge_set *cs,
			    int64_t now, quota_answer *ans, quota__verdict *fail);
/* A new claim record (not inserted) of checked claim src; hash: of its
 * key. NULL on no memory. */
quota__claim *quota__claim_new(quota_engine *e, const quota_claim *src, const claim_lens *len,
			       const uint32_t *levels, uint64_t hash);
/* Same consumer, resource, and set of (type, amount, dimensions). */
int quota__claim_same_spec(const quota__claim *c, const quota_claim *in);
/* The claim key in stripe s (caller holds it), forgetting a released one
 * past its retention. */
quota__claim *quota__claim_find(quota__stripe *s, uint64_t hash, const char *key, size_t len,
				int64_t now);
quota__stripe *quota__claim_stripe(quota_engine *e, const quota__claim *c);
/* Point a new record at the buckets it charges (and its most specific
 * selector bucket); caller holds their stripes. */
void quota__claim_attach(quota__claim *rec, const quota_claim *c, const target *t,
			 const charge_set *cs);
/* RESERVED -> GRANTED. */
void quota__claim_commit_held(quota__claim *c, int64_t now);
/* Charge a claim's amounts (reserved, or allocated when granted). */
void quota__claim_charge_held(quota__claim *c, int granted, int64_t now);
/* Start a reservation's TTL at admission. */
void quota__claim_start_ttl(quota_engine *e, quota__claim *c, int64_t now);
/* quota_claim_set_reserve / _acquire / _check by mode; *which (may be
 * NULL) names the member that an error other than a decision is about (a
 * bad field, an unregistered type, a consumer or resource kind not
 * allowed, a name taken by another spec), else -1. */
int quota__claim_set_decide(quota_engine *e, const quota_claim *claims, uint32_t count,
			    enum admit_mode mode, quota_answer *ans, int32_t *which);

/* What a snapshot keeps of a claim beyond its spec (snapshot.c). */
typedef struct quota__claim_saved {
	uint64_t id;
	int32_t state;
	uint32_t flags; /* with the internal bits */
	int64_t created_ns, updated_ns, expires_ns, purge_ns, ttl_ns;
	const int64_t *held; /* per request: the amount held now */
} quota__claim_saved;
/* Put claim spec in its saved state as it was, with no decision: its
 * buckets are charged what it holds (rate limits untouched: the bucket
 * records carry them), a pending claim joins the end of the queue. */
int quota__claim_restore(quota_engine *e, const quota_claim *spec, const quota__claim_saved *s);

#endif
