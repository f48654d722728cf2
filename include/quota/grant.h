/*
 * libquota: grants (ResourceGrant).
 *
 * A grant gives a consumer an amount of one or more resource types. The
 * limit of a bucket is the sum of what the grants give it.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_GRANT_H
#define QUOTA_GRANT_H

#include "registration.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How a rate limit counts time. */
typedef enum quota_window {
	QUOTA_WINDOW_ROLLING = 0, /**< GCRA: capacity returns continuously */
	QUOTA_WINDOW_CALENDAR = 1 /**< aligned UTC windows, all back at the boundary */
} quota_window;

/** Periods, in milliseconds, for quota_grant_bucket.period_ms. */
#define QUOTA_PERIOD_SECOND INT64_C(1000)
#define QUOTA_PERIOD_MINUTE INT64_C(60000)
#define QUOTA_PERIOD_HOUR INT64_C(3600000)
#define QUOTA_PERIOD_DAY INT64_C(86400000)
/** The longest period: 366 days. */
#define QUOTA_PERIOD_MAX INT64_C(31622400000)

/** Operators of a selector requirement. */
typedef enum quota_selector_op {
	QUOTA_SELECTOR_IN = 1,            /**< the key is set to one of the values */
	QUOTA_SELECTOR_NOT_IN = 2,        /**< the key is unset or set to none of them */
	QUOTA_SELECTOR_EXISTS = 3,        /**< the key is set (no values) */
	QUOTA_SELECTOR_DOES_NOT_EXIST = 4 /**< the key is unset (no values) */
} quota_selector_op;

/**
 * One requirement of a selector's matchExpressions: key, operator, and 1-16
 * values for In and NotIn (none for the others). Frozen value type.
 */
typedef struct quota_selector_requirement {
	const char *key;
	int32_t op;
	uint32_t value_count;
	const char *const *values;
} quota_selector_requirement;

/**
 * One bucket of an allowance: amount >= 0, or QUOTA_UNLIMITED (-1).
 * In an array every element must carry the same size.
 *
 * For a Rate type the amount is per period and these apply (for other
 * types they must stay 0):
 * - period_ms: 1..QUOTA_PERIOD_MAX (QUOTA_PERIOD_* or any count of ms).
 * - window: QUOTA_WINDOW_ROLLING (default) or QUOTA_WINDOW_CALENDAR;
 *   calendar windows start at multiples of the period since the Unix
 *   epoch, so days start at 00:00 UTC.
 * - burst: rolling windows only: the most that may be taken at once from
 *   a rested limiter; 0 means amount (one period's worth). Must be >= 0.
 * Buckets of one type with the same (period_ms, window), from one grant or
 * several, form one limiter: their amounts and bursts add up. Every limiter
 * of a type must pass.
 * - violation_action: QUOTA_ACTION_*, 0 for the registration's. When the
 *   grant buckets behind one limit name several, the strictest holds
 *   (REJECT, then THROTTLE, QUEUE, WARN).
 * - match_labels, match_expressions: a selector (Kubernetes label selector
 *   semantics; all terms must hold, at most 16 in all; keys must be
 *   allowed dimensions of the type). A bucket with a selector limits only
 *   the requests whose dimensions it matches, in a bucket of its own
 *   beside the consumer's base bucket; equal selectors (in any order or
 *   spelling: matchLabels k: v is k In (v)) share that bucket and their
 *   amounts add up. No selector: the base bucket.
 */
typedef struct quota_grant_bucket {
	size_t size;
	int64_t amount;
	int64_t period_ms;
	int64_t burst;
	int32_t window;
	int32_t violation_action;
	const quota_label *match_labels;
	uint32_t match_label_count;
	uint32_t match_expression_count;
	const quota_selector_requirement *match_expressions;
} quota_grant_bucket;

/**
 * What a grant gives for one resource type: 1-16 buckets whose amounts add
 * up (any -1 makes the contribution unlimited). In an array every element
 * must carry the same size.
 */
typedef struct quota_allowance {
	size_t size;
	const char *resource_type;
	const quota_grant_bucket *buckets;
	uint32_t bucket_count;
	uint32_t reserved_flags; /**< must be 0 */
} quota_allowance;

/**
 * A grant, as input to quota_grant_apply() and as output of _get / _list.
 *
 * - ns, name: identity; ns may be NULL/"" (cluster-wide), name 1-253.
 * - consumer: who receives the allowances; its kind must be the
 *   registration's consumer kind, and its api_group, when set, must match.
 * - allowances, allowance_count: 1-64 allowances with distinct types.
 * - generation: output only; 1 at creation, +1 whenever apply changes the
 *   spec (an identical apply keeps it).
 */
typedef struct quota_grant {
	size_t size;
	const char *ns;
	const char *name;
	quota_ref consumer;
	const quota_allowance *allowances;
	uint32_t allowance_count;
	uint32_t reserved_flags; /**< must be 0 */
	int64_t generation;
} quota_grant;

/** Initialise a grant bucket (amount 0). QUOTA_OK or QUOTA_ERR_INVALID. */
QUOTA_API int quota_grant_bucket_init(quota_grant_bucket *b, size_t size);
/** Initialise an allowance (empty). QUOTA_OK or QUOTA_ERR_INVALID. */
QUOTA_API int quota_allowance_init(quota_allowance *a, size_t size);
/** Initialise a grant (empty). QUOTA_OK or QUOTA_ERR_INVALID. */
QUOTA_API int quota_grant_init(quota_grant *g, size_t size);

/**
 * Create or replace a grant. Bucket limits change at once and atomically:
 * no claim decision sees half a grant. Lowering a limit never revokes
 * granted or reserved claims; the bucket then reports it is over its limit
 * and denies new requests.
 *
 * @param[out] generation  the grant's generation after the call; may be NULL.
 * @return QUOTA_OK; QUOTA_ERR_INVALID (field named); QUOTA_ERR_UNREGISTERED
 *         (an allowance names an unknown type); QUOTA_ERR_NOT_ALLOWED (the
 *         consumer kind or group does not fit the registration);
 *         QUOTA_ERR_OVERFLOW (the finite amounts giving to a bucket would
 *         add up past INT64_MAX, counted even beside a -1, so that deleting
 *         a grant always fits);
 *         QUOTA_ERR_NOMEM. On error nothing changed.
 * Thread-safe. Everything is copied.
 */
QUOTA_API int quota_grant_apply(quota_engine *e, const quota_grant *g, int64_t *generation);

/**
 * Delete a grant; its contributions leave the bucket limits at once.
 *
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOT_FOUND. Thread-safe.
 */
QUOTA_API int quota_grant_delete(quota_engine *e, const char *ns, const char *name);

/**
 * Read one grant.
 *
 * @param[out] out  a copy in one allocation; free with quota_free().
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOT_FOUND; QUOTA_ERR_NOMEM.
 * Thread-safe.
 */
QUOTA_API int quota_grant_get(quota_engine *e, const char *ns, const char *name, quota_grant **out);

/**
 * List grants, sorted by (ns, name).
 *
 * @param consumer  only grants for this consumer (kind, ns, name), or NULL
 *                  for all.
 * @param[out] out    array of *count pointers, one allocation; quota_free().
 * @param[out] count  number of grants.
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOMEM. Thread-safe.
 */
QUOTA_API int quota_grant_list(quota_engine *e, const quota_ref *consumer, quota_grant ***out,
			       size_t *count);

#ifdef __cplusplus
}
#endif

#endif /* QUOTA_GRANT_H */
