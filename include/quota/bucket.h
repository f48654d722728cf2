/*
 * libquota: allowance buckets, the answer to a decision, and the hot path
 * (anonymous consume / give-back, prepared bucket handles).
 *
 * A bucket exists per (consumer, resource type). It is created by the
 * first grant for the pair, or by the first use of a type whose default
 * limit lets the consumer use it. Its numbers:
 *   limit      sum of contributing grant amounts; -1 (unlimited) if any is
 *              -1; the registration's default_limit if no grant contributes.
 *   allocated  committed amounts: granted claims plus anonymous consumption.
 *   reserved   amounts held by reservations not yet committed.
 *   available  max(0, limit - allocated - reserved), or -1 when unlimited.
 * No decision lets allocated + reserved rise past the limit.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_BUCKET_H
#define QUOTA_BUCKET_H

#include "grant.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Room for a bucket's printable id in quota_answer. */
#define QUOTA_BUCKET_ID_MAX 1024

/** Flags of quota_answer.flags. */
typedef enum quota_answer_flag {
	QUOTA_ANSWER_WARNED = 1 << 0,  /**< over a Warn-mode limit; allowed anyway */
	QUOTA_ANSWER_EXISTED = 1 << 1, /**< an idempotent repeat of an existing claim */
	QUOTA_ANSWER_QUEUED = 1 << 2,   /**< did not fit (or others wait): now PENDING */
	QUOTA_ANSWER_THROTTLED = 1 << 3 /**< a rate limit throttled: retry after retry_after_ms */
} quota_answer_flag;

/**
 * The answer to a decision (consume, reserve, acquire, check, resize).
 * Optional: pass NULL when you only need the status. On a denial
 * (QUOTA_ERR_EXCEEDED) it names the first binding constraint.
 *
 * - status: the same value the call returned.
 * - state: the claim's state after the call (QUOTA_CLAIM_*), 0 for
 *   anonymous consumption; for a dry run (check), the state acquiring
 *   would reach (GRANTED) when it would succeed.
 * - flags: QUOTA_ANSWER_* bits.
 * - binding_request: index of the binding request in the claim, or -1.
 * - requested, available, limit: of the binding bucket (the first bucket in
 *   request order that would not fit; for a Warn-mode allow, the first
 *   bucket that was over).
 * - bucket: printable id of that bucket, "Kind/ns/name:resourceType" with
 *   the ns part empty for cluster-wide consumers, followed by
 *   "[selector]" for a selector bucket; "" when none. When several buckets
 *   of one level deny, the most specific one is named.
 * - period_ms: when a rate limit binds (or, for an allowed quota_rate_take,
 *   the limit with the least left): its period; 0 otherwise. limit is then
 *   its amount per period and available what is left of it now.
 * - retry_after_ms: after a rate denial, how long until the same request
 *   would pass (rounded up); -1 when it never can (it exceeds the burst or
 *   a zero limit). 0 otherwise.
 * - reset_after_ms: for a rate limit, how long until it is back to full
 *   (rolling) or its window ends (calendar). 0 otherwise.
 * - binding_claim: for a claim set, the index of the claim whose request
 *   binding_request names; -1 otherwise.
 */
typedef struct quota_answer {
	size_t size;
	int32_t status;
	int32_t state;
	uint32_t flags;
	int32_t binding_request;
	int64_t requested;
	int64_t available;
	int64_t limit;
	char bucket[QUOTA_BUCKET_ID_MAX];
	int64_t period_ms;
	int64_t retry_after_ms;
	int64_t reset_after_ms;
	int32_t binding_claim;
	int32_t reserved0;
} quota_answer;

/** Initialise an answer. QUOTA_OK or QUOTA_ERR_INVALID. */
QUOTA_API int quota_answer_init(quota_answer *a, size_t size);

/** Flags of quota_bucket_info.flags. */
typedef enum quota_bucket_flag {
	QUOTA_BUCKET_DEFAULT_LIMIT = 1 << 0, /**< no grant contributes: default limit */
	QUOTA_BUCKET_OVER_LIMIT = 1 << 1,    /**< usage + reserved > limit (after a lowered limit) */
	QUOTA_BUCKET_OBSERVED = 1 << 2       /**< external usage has been reported */
} quota_bucket_flag;

/** One grant contributing to a bucket (AllowanceBucket contributingGrantRefs). */
typedef struct quota_grant_ref {
	size_t size;
	const char *ns;
	const char *name;
	int64_t amount; /**< this grant's contribution; -1 unlimited */
	int64_t last_observed_generation;
} quota_grant_ref;

/**
 * One rate limit of a Rate-type bucket, as read now.
 *
 * - period_ms, window: which limit (QUOTA_WINDOW_*).
 * - limit: amount per period; -1 unlimited.
 * - burst: the most at once (rolling; equals limit for calendar windows).
 * - remaining: what could be taken now; -1 unlimited.
 * - reset_after_ms: until the limiter is full again (rolling) or the
 *   window ends (calendar).
 * - violation_action: the QUOTA_ACTION_* that applies.
 */
typedef struct quota_rate_info {
	size_t size;
	int64_t period_ms;
	int32_t window;
	int32_t violation_action;
	int64_t limit;
	int64_t burst;
	int64_t remaining;
	int64_t reset_after_ms;
} quota_rate_info;

/**
 * A bucket as read by quota_bucket_get() and the iterator.
 *
 * - consumer, resource_type: identity.
 * - limit, allocated, reserved, available: as described at the top.
 * - claim_count: granted claims charged to this bucket.
 * - reserved_count: reservations (not yet committed) charged to it.
 * - grant_count, grant_refs: the contributing grants, sorted by (ns, name).
 * - observed_generation: bumped each time the limit is recomputed from a
 *   changed grant set or registration.
 * - last_reconciliation_ns: when that last happened (engine clock).
 * - flags: QUOTA_BUCKET_* bits.
 * - observed: the last externally measured usage (quota_usage_observe()),
 *   0 unless QUOTA_BUCKET_OBSERVED is set.
 * - drift: observed - allocated when observed, else 0. Admission counts
 *   max(allocated, observed) + reserved against the limit, and available
 *   is computed from the same usage.
 * - pending: queued claims waiting on this bucket.
 * - utilization_ppm: (max(allocated, observed) + reserved) per million of
 *   the limit (1000000 = full; more when over the limit); -1 when the
 *   limit is unlimited, INT64_MAX for usage against a limit of 0.
 * - selector: "" for a consumer's base bucket; for a selector bucket its
 *   canonical selector, e.g. "region in (eu,us),tier=gold,!spot" (In with
 *   one value is written k=v; Exists k; DoesNotExist !k). A selector bucket
 *   exists while a grant gives it an amount or a claim holds it.
 * - rate_count, rates: the rate limits of a Rate-type bucket, sorted by
 *   (period_ms, window). Such a bucket's limit is -1 while it has rate
 *   limits (its allocated and reserved count what live claims hold, for
 *   information), else its registration's default.
 */
typedef struct quota_bucket_info {
	size_t size;
	quota_ref consumer;
	const char *resource_type;
	int64_t limit;
	int64_t allocated;
	int64_t reserved;
	int64_t available;
	int64_t claim_count;
	int64_t reserved_count;
	int64_t grant_count;
	int64_t observed_generation;
	int64_t last_reconciliation_ns;
	uint32_t flags;
	uint32_t grant_ref_count;
	quota_grant_ref *const *grant_refs;
	int64_t observed;
	int64_t drift;
	int64_t pending;
	uint32_t rate_count;
	uint32_t reserved0;
	quota_rate_info *const *rates;
	const char *selector;
	int64_t utilization_ppm;
} quota_bucket_info;

/**
 * Read a bucket: the base bucket of (consumer, type), or with
 * quota_bucket_get_selector() one of its selector buckets. A registered
 * (consumer, type) pair that has no bucket yet
 * is reported as its registration's default: limit default_limit, nothing
 * used, flag QUOTA_BUCKET_DEFAULT_LIMIT.
 *
 * @param[out] out  a copy in one allocation; free with quota_free().
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_UNREGISTERED;
 *         QUOTA_ERR_NOT_ALLOWED (consumer kind does not fit); QUOTA_ERR_NOMEM.
 * Thread-safe; the numbers are one consistent reading.
 */
QUOTA_API int quota_bucket_get(quota_engine *e, const quota_ref *consumer, const char *resource_type,
			       quota_bucket_info **out);

/**
 * Read the selector bucket of (consumer, type) whose canonical selector is
 * selector (as quota_bucket_info.selector prints it; "" reads the base
 * bucket).
 *
 * @return as quota_bucket_get(), and QUOTA_ERR_NOT_FOUND when no such
 *         selector bucket exists. Thread-safe.
 */
QUOTA_API int quota_bucket_get_selector(quota_engine *e, const quota_ref *consumer,
					const char *resource_type, const char *selector,
					quota_bucket_info **out);

/** A bucket iterator. Opaque. The iteration includes selector buckets,
 * each right after its base bucket. */
typedef struct quota_bucket_iter quota_bucket_iter;

/**
 * Start iterating over buckets.
 *
 * @param consumer       only this consumer's buckets (kind, ns, name), or NULL.
 * @param resource_type  only this type, or NULL.
 * @param[out] out       the iterator; free with quota_bucket_iter_free().
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOMEM.
 *
 * The iteration is weakly consistent: each bucket is returned at most once,
 * every bucket that exists for the whole iteration is returned, and each
 * item is a consistent reading of its bucket. Other threads may work on
 * the engine meanwhile. One iterator must not be used by two threads at once.
 */
QUOTA_API int quota_bucket_iter_new(quota_engine *e, const quota_ref *consumer,
				    const char *resource_type, quota_bucket_iter **out);

/**
 * Next bucket.
 *
 * @param[out] out  the bucket, owned by the iterator and valid until the
 *                  next call on it or its free.
 * @return QUOTA_OK; QUOTA_ITER_DONE at the end (*out = NULL);
 *         QUOTA_ERR_INVALID; QUOTA_ERR_NOMEM (call again to retry).
 */
QUOTA_API int quota_bucket_iter_next(quota_bucket_iter *it, const quota_bucket_info **out);

/** Free an iterator. NULL is a no-op. */
QUOTA_API void quota_bucket_iter_free(quota_bucket_iter *it);

/**
 * Anonymous consumption: charge amount to the (consumer, type) bucket
 * without a claim, if it fits. Allocates nothing once the bucket exists.
 * On a Rate type this is quota_rate_take().
 *
 * @param answer  optional; filled on denial and on Warn-mode overage.
 * @return QUOTA_OK; QUOTA_ERR_EXCEEDED; QUOTA_ERR_INVALID (amount <= 0, bad
 *         ref); QUOTA_ERR_UNREGISTERED; QUOTA_ERR_NOT_ALLOWED;
 *         QUOTA_ERR_OVERFLOW; QUOTA_ERR_NOMEM (first use only).
 * Thread-safe.
 */
QUOTA_API int quota_consume(quota_engine *e, const quota_ref *consumer, const char *resource_type,
			    int64_t amount, quota_answer *answer);

/**
 * Return anonymously consumed capacity.
 *
 * @return QUOTA_OK; QUOTA_ERR_INVALID (amount <= 0, more than the
 *         bucket's anonymous consumption, which is left unchanged, or a
 *         Rate type: what rate limits let through is spent);
 *         QUOTA_ERR_NOT_FOUND (no bucket); QUOTA_ERR_UNREGISTERED;
 *         QUOTA_ERR_NOT_ALLOWED (consumer kind or group does not fit).
 * Thread-safe.
 */
QUOTA_API int quota_give_back(quota_engine *e, const quota_ref *consumer, const char *resource_type,
			      int64_t amount);

/**
 * Report externally measured usage of (consumer, type): metering, memory
 * actually in use. From then on admission at this bucket counts
 * max(allocated, observed) + reserved, so usage that the engine did not
 * see still limits new requests; the bucket reports observed and the drift
 * (observed - allocated). Each call replaces the previous value. The
 * consumer may be of the registration's kind or of a kind above it; other
 * levels are not changed.
 *
 * @param value  the measured usage, >= 0.
 * @return QUOTA_OK; QUOTA_ERR_INVALID (value < 0, bad ref);
 *         QUOTA_ERR_UNREGISTERED; QUOTA_ERR_NOT_ALLOWED; QUOTA_ERR_NOMEM.
 * Thread-safe.
 */
QUOTA_API int quota_usage_observe(quota_engine *e, const quota_ref *consumer,
				  const char *resource_type, int64_t value);

/**
 * Take n from the rate limits of (consumer, type), a Rate type, and from
 * those of every level above it: all of them or none. This is
 * quota_consume() for rate types, named for what it does.
 *
 * @param answer  optional; on success: limit, available (remaining),
 *                period_ms and reset_after_ms of the limit with the least
 *                left; on denial the binding limit with retry_after_ms.
 * @return QUOTA_OK (also when a WARN action let it pass:
 *         QUOTA_ANSWER_WARNED); QUOTA_ERR_RATE_LIMITED; QUOTA_ERR_INVALID
 *         (n <= 0, bad ref, or the type is not a Rate type);
 *         QUOTA_ERR_UNREGISTERED; QUOTA_ERR_NOT_ALLOWED; QUOTA_ERR_OVERFLOW;
 *         QUOTA_ERR_NOMEM (first use only). Thread-safe.
 *
 * Taken amounts are spent: quota_give_back() does not return them.
 */
QUOTA_API int quota_rate_take(quota_engine *e, const quota_ref *consumer, const char *resource_type,
			      int64_t n, quota_answer *answer);

/** A prepared bucket handle: one lookup, then consume many times. Opaque. */
typedef struct quota_bucket_handle quota_bucket_handle;

/**
 * Open a handle on the (consumer, type) bucket, creating the bucket if the
 * type is registered for the consumer's kind. While a handle is open the
 * type cannot be unregistered (QUOTA_ERR_IN_USE).
 *
 * @param[out] out  the handle; close with quota_bucket_handle_close()
 *                  before the engine is freed.
 * @return as quota_bucket_get(). Thread-safe.
 */
QUOTA_API int quota_bucket_handle_open(quota_engine *e, const quota_ref *consumer,
				       const char *resource_type, quota_bucket_handle **out);

/** Close a handle. NULL is a no-op. Thread-safe. */
QUOTA_API void quota_bucket_handle_close(quota_bucket_handle *h);

/**
 * quota_consume() through a handle: no lookup, no allocation.
 * @return as quota_consume(). Thread-safe (many threads may share a handle).
 */
QUOTA_API int quota_handle_consume(quota_bucket_handle *h, int64_t amount, quota_answer *answer);

/**
 * quota_give_back() through a handle.
 * @return as quota_give_back(). Thread-safe.
 */
QUOTA_API int quota_handle_give_back(quota_bucket_handle *h, int64_t amount);

#ifdef __cplusplus
}
#endif

#endif /* QUOTA_BUCKET_H */
