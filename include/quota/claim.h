/*
 * libquota: claims (ResourceClaim) with atomic reserve / commit / release.
 *
 * A claim asks for amounts of one or more resource types for a consumer.
 * Every operation on it is all-or-nothing across all its requests: either
 * every bucket holds its share or nothing changed.
 *
 * States: RESERVED (held, not committed; may carry a TTL) -> GRANTED
 * (committed) -> RELEASED. Release works from any state. A denial is an
 * answer, not a state: denied claims are not stored.
 *
 * Claims are idempotent by (ns, name): repeating reserve or acquire with the
 * same spec (consumer, resource, and the set of (type, amount) requests)
 * never charges twice; with another spec it is QUOTA_ERR_CONFLICT.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_CLAIM_H
#define QUOTA_CLAIM_H

#include "bucket.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most requests in one claim. */
#define QUOTA_MAX_REQUESTS 20

/** Claim states. */
typedef enum quota_claim_state {
	QUOTA_CLAIM_RESERVED = 1,
	QUOTA_CLAIM_GRANTED = 2,
	QUOTA_CLAIM_RELEASED = 3,
	QUOTA_CLAIM_PENDING = 4 /**< queued, waiting for capacity (QUOTA_CLAIM_QUEUE) */
} quota_claim_state;

/**
 * Claim flags.
 *
 * QUOTA_CLAIM_QUEUE: a claim that does not fit is stored as PENDING instead
 * of being denied (Pattern 2, deferred provisioning). Pending claims wait in
 * strict FIFO order on every bucket they would charge: a pending claim is
 * admitted only when it fits everywhere and no older pending claim waits on
 * any of its buckets; a new queued claim also waits behind them. Capacity
 * freed by a release, a settlement, a resize, a give-back, an expiry or a
 * raised limit goes to the queue before the call that freed it returns.
 * Requests without the flag are decided on the capacity that is free and
 * are not held back by the queue. Admission makes the claim RESERVED (its
 * TTL starts then), or GRANTED with QUOTA_CLAIM_AUTO_COMMIT or when it
 * came through quota_claim_acquire(); the same holds for a claim that fits
 * at once. A claim that asks for more than a limit (not just more than is
 * free) is denied, not queued: waiting, it would hold back every later
 * claim on that bucket until the limit rose.
 */
typedef enum quota_claim_flag {
	QUOTA_CLAIM_QUEUE = 1 << 0,
	QUOTA_CLAIM_AUTO_COMMIT = 1 << 1
} quota_claim_flag;

/**
 * One request: an amount of a registered type, each type once per list.
 * In a claim the amount must be > 0; in a settlement (commit) or a resize
 * it is the new amount and may be 0. In an array every element must carry
 * the same size.
 *
 * dimensions, dimension_count: up to 16 labels with distinct keys, each
 * key an allowed dimension of the type (claims only; settlements and
 * resizes carry none). The request is charged to the consumer's base bucket
 * and to every selector bucket whose selector the labels match, at every
 * level, and must fit all of them. They are part of the claim's spec.
 */
typedef struct quota_request {
	size_t size;
	const char *resource_type;
	int64_t amount;
	const quota_label *dimensions;
	uint32_t dimension_count;
	uint32_t reserved_flags; /**< must be 0 */
} quota_request;

/**
 * A claim.
 *
 * - ns, name: identity (ns may be NULL/""; name 1-253).
 * - consumer: who is charged. Its kind must be each registration's
 *   consumer kind; its api_group, when set, must match.
 * - resource: the object that consumes (resourceRef). Optional (kind NULL),
 *   but a registration with a claiming_resources list only admits claims
 *   whose resource kind is on it.
 * - requests, request_count: 1-20 requests, no type twice.
 * - flags: QUOTA_CLAIM_* bits.
 * - ttl_ms: a reservation not committed within this time expires and its
 *   capacity returns; 0 means no TTL. Ignored by acquire.
 * - queue_timeout_ms: with QUOTA_CLAIM_QUEUE, a pending claim not admitted
 *   within this time ends (released, event QUOTA_EVENT_EXPIRED); 0 waits
 *   until it is admitted or released.
 */
typedef struct quota_claim {
	size_t size;
	const char *ns;
	const char *name;
	quota_ref consumer;
	quota_ref resource;
	const quota_request *requests;
	uint32_t request_count;
	uint32_t flags;
	int64_t ttl_ms;
	int64_t queue_timeout_ms;
} quota_claim;

/** Initialise a request. QUOTA_OK or QUOTA_ERR_INVALID. */
QUOTA_API int quota_request_init(quota_request *r, size_t size);
/** Initialise a claim. QUOTA_OK or QUOTA_ERR_INVALID. */
QUOTA_API int quota_claim_init(quota_claim *c, size_t size);

/**
 * Reserve every request of a claim, atomically.
 *
 * @param answer  optional; says the resulting state, and on denial (or
 *                queueing) which request and bucket bind, with requested
 *                and available.
 * @return QUOTA_OK (state RESERVED; or PENDING with QUOTA_ANSWER_QUEUED
 *         when queued; or the existing state of an identical claim with
 *         QUOTA_ANSWER_EXISTED); QUOTA_ERR_EXCEEDED (nothing held, nothing
 *         stored); QUOTA_ERR_INVALID; QUOTA_ERR_UNREGISTERED;
 *         QUOTA_ERR_NOT_ALLOWED; QUOTA_ERR_CONFLICT (name taken by another
 *         spec); QUOTA_ERR_OVERFLOW; QUOTA_ERR_NOMEM.
 * Thread-safe. The claim is copied.
 */
QUOTA_API int quota_claim_reserve(quota_engine *e, const quota_claim *c, quota_answer *answer);

/**
 * Reserve and commit in one step (state GRANTED). An identical claim that is
 * still RESERVED is committed; one that is GRANTED is returned as is.
 * Return codes as quota_claim_reserve().
 */
QUOTA_API int quota_claim_acquire(quota_engine *e, const quota_claim *c, quota_answer *answer);

/**
 * Dry run: would quota_claim_acquire() succeed now? Changes nothing and
 * stores nothing. An existing claim of that name is not considered, so
 * QUOTA_ERR_CONFLICT is never returned; otherwise the return codes are
 * those of quota_claim_reserve().
 */
QUOTA_API int quota_claim_check(quota_engine *e, const quota_claim *c, quota_answer *answer);

/** Most claims in one claim set. */
#define QUOTA_MAX_CLAIM_SET 16

/**
 * Reserve a set of claims as one: either every request of every claim
 * fits, counted together where claims share a bucket (or a level, a
 * selector bucket, a rate limit), and every claim is RESERVED, or nothing
 * is held and nothing stored. What a policy admission renders is reserved
 * this way.
 *
 * @param claims  1-QUOTA_MAX_CLAIM_SET claims with distinct (ns, name), all
 *                elements of one size; QUOTA_CLAIM_QUEUE is not allowed (a
 *                set is decided at once).
 * @param answer  optional; on denial binding_claim and binding_request name
 *                the first request that charges the binding bucket, and
 *                requested is what the whole set needs there.
 *
 * Idempotency works per claim: a claim of the set that exists with the same
 * spec (not released) is taken as it is and charges nothing more; the
 * others are decided together. If every one existed the answer carries
 * QUOTA_ANSWER_EXISTED. A claim that exists with another spec is
 * QUOTA_ERR_CONFLICT for the whole set.
 *
 * @return as quota_claim_reserve(), with the detail of a claim's invalid
 *         field prefixed "claims[i]: ". Thread-safe.
 */
QUOTA_API int quota_claim_set_reserve(quota_engine *e, const quota_claim *claims, uint32_t count,
				      quota_answer *answer);

/** quota_claim_set_reserve(), ending GRANTED (reserved members are committed). */
QUOTA_API int quota_claim_set_acquire(quota_engine *e, const quota_claim *claims, uint32_t count,
				      quota_answer *answer);

/**
 * Dry run of quota_claim_set_acquire(): would the whole set fit now?
 * Existing claims are not considered (as quota_claim_check()).
 */
QUOTA_API int quota_claim_set_check(quota_engine *e, const quota_claim *claims, uint32_t count,
				    quota_answer *answer);

/**
 * Commit a reservation: RESERVED -> GRANTED.
 *
 * @param actual, actual_count  optional settlement: for the types listed,
 *        the amount actually used, 0 <= actual <= reserved; the difference
 *        returns to the buckets at once. Types not listed commit in full.
 * @return QUOTA_OK (also when already GRANTED: a no-op, settlement
 *         ignored); QUOTA_ERR_NOT_FOUND; QUOTA_ERR_WRONG_STATE (released,
 *         expired, or still PENDING); QUOTA_ERR_INVALID (bad settlement,
 *         field named).
 * Thread-safe.
 */
QUOTA_API int quota_claim_commit(quota_engine *e, const char *ns, const char *name,
				 const quota_request *actual, uint32_t actual_count);

/**
 * Release a claim from any state; its capacity returns at once.
 *
 * @return QUOTA_OK (also when already released: a no-op);
 *         QUOTA_ERR_NOT_FOUND; QUOTA_ERR_INVALID. Thread-safe.
 */
QUOTA_API int quota_claim_release(quota_engine *e, const char *ns, const char *name);

/**
 * Change the amounts of a GRANTED claim, atomically. Each request names one
 * of the claim's types with its new amount (>= 0); types not listed keep
 * theirs. Increases must fit; decreases always succeed.
 *
 * @return QUOTA_OK; QUOTA_ERR_EXCEEDED (nothing changed); QUOTA_ERR_NOT_FOUND;
 *         QUOTA_ERR_WRONG_STATE (not GRANTED); QUOTA_ERR_INVALID;
 *         QUOTA_ERR_OVERFLOW. Thread-safe.
 */
QUOTA_API int quota_claim_resize(quota_engine *e, const char *ns, const char *name,
				 const quota_request *requests, uint32_t request_count,
				 quota_answer *answer);

/** One request's allocation (Milo status.allocations[]). */
typedef struct quota_allocation {
	size_t size;
	const char *resource_type;
	int64_t requested; /**< the amount asked for at creation */
	int64_t amount;    /**< held now: reserved or allocated per the state */
	const char *bucket; /**< allocating bucket id: the most specific bucket of
			       the consumer's own level that the request's
			       dimensions match ("...:type[selector]"), else its
			       base bucket */
	const quota_label *dimensions; /**< the request's dimensions (NULL when none) */
	uint32_t dimension_count;
	uint32_t reserved0;
} quota_allocation;

/** A claim as read by quota_claim_get() and the claim iterator. */
typedef struct quota_claim_info {
	size_t size;
	const char *ns;
	const char *name;
	quota_ref consumer;
	quota_ref resource;
	int32_t state;
	uint32_t flags;
	int64_t created_ns;
	int64_t updated_ns;
	int64_t expires_ns; /**< TTL deadline of a reservation, or queue deadline of
			       a pending claim; 0 if none */
	uint32_t allocation_count;
	uint32_t reserved0;
	quota_allocation *const *allocations;
} quota_claim_info;

/**
 * Read a claim (including a released one within its retention).
 *
 * @param[out] out  a copy in one allocation; free with quota_free().
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOT_FOUND; QUOTA_ERR_NOMEM.
 * Thread-safe.
 */
QUOTA_API int quota_claim_get(quota_engine *e, const char *ns, const char *name,
			      quota_claim_info **out);

/** A claim iterator. Opaque. */
typedef struct quota_claim_iter quota_claim_iter;

/**
 * List claims, weakly consistent like quota_bucket_iter_new().
 *
 * @param consumer  only claims of this consumer (kind, ns, name), or NULL.
 * @param state     only claims in this state (QUOTA_CLAIM_*), or 0 for all.
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOMEM.
 */
QUOTA_API int quota_claim_iter_new(quota_engine *e, const quota_ref *consumer, int32_t state,
				   quota_claim_iter **out);

/**
 * Next claim, owned by the iterator until the next call or its free.
 * @return QUOTA_OK; QUOTA_ITER_DONE (*out = NULL); QUOTA_ERR_INVALID;
 *         QUOTA_ERR_NOMEM (call again to retry).
 */
QUOTA_API int quota_claim_iter_next(quota_claim_iter *it, const quota_claim_info **out);

/** Free a claim iterator. NULL is a no-op. */
QUOTA_API void quota_claim_iter_free(quota_claim_iter *it);

#ifdef __cplusplus
}
#endif

#endif /* QUOTA_CLAIM_H */
