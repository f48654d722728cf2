/*
 * libquota: resource registrations (ResourceRegistration).
 *
 * A registration declares a resource type that can be granted and claimed,
 * which kind of consumer holds it, which kinds of objects may claim it, and
 * the limit of consumers that no grant covers.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_REGISTRATION_H
#define QUOTA_REGISTRATION_H

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a resource type measures. Immutable once registered. */
typedef enum quota_resource_class {
	QUOTA_RESOURCE_ENTITY = 1,     /**< countable objects (projects, instances) */
	QUOTA_RESOURCE_ALLOCATION = 2, /**< capacity (vCPU, bytes) */
	QUOTA_RESOURCE_FEATURE = 3,    /**< a switch: limit 0 or more */
	QUOTA_RESOURCE_RATE = 4        /**< amounts per period */
} quota_resource_class;

/** What happens when a request does not fit. */
typedef enum quota_enforcement {
	QUOTA_ENFORCE = 0, /**< deny */
	QUOTA_WARN = 1     /**< shadow mode: allow, count, flag the answer */
} quota_enforcement;

/**
 * What happens when a request does not fit a limit: set per registration,
 * and per grant bucket (0 there means the registration's).
 *
 * - REJECT: deny (QUOTA_ERR_EXCEEDED, or QUOTA_ERR_RATE_LIMITED for a rate).
 * - THROTTLE: rate types only: deny with QUOTA_ERR_RATE_LIMITED, the
 *   answer flagged QUOTA_ANSWER_THROTTLED and carrying retry_after_ms, the
 *   time after which the same request would pass.
 * - WARN: allow, count a warning, flag the answer QUOTA_ANSWER_WARNED
 *   (shadow mode). Registration enforcement QUOTA_WARN means the same.
 * - QUEUE: a claim that does not fit becomes PENDING as if it carried
 *   QUOTA_CLAIM_QUEUE; a call without a claim (consume, rate_take) is
 *   throttled instead, since it cannot wait.
 */
typedef enum quota_violation_action {
	QUOTA_ACTION_DEFAULT = 0,
	QUOTA_ACTION_REJECT = 1,
	QUOTA_ACTION_THROTTLE = 2,
	QUOTA_ACTION_WARN = 3,
	QUOTA_ACTION_QUEUE = 4
} quota_violation_action;

/**
 * A dimension label of a request (key and value), or one term of a
 * selector's matchLabels. Frozen value type. Keys: 1-63 characters of
 * [A-Za-z0-9._/-]; values: 0-63 of [A-Za-z0-9._-]; both start and end with
 * a letter or digit.
 */
typedef struct quota_label {
	const char *key;
	const char *value;
} quota_label;

/** A kind of object: apiGroup (optional) and kind. Frozen value type. */
typedef struct quota_kind_ref {
	const char *api_group;
	const char *kind;
} quota_kind_ref;

/**
 * A registration, used both as input and as the output of
 * quota_registration_get() / _list().
 *
 * - resource_type: 1-253 chars of printable UTF-8. Immutable. Identity.
 * - consumer_type: the kind of consumer that holds this type; kind
 *   required, api_group optional. Immutable.
 * - resource_class: QUOTA_RESOURCE_*. Immutable.
 * - enforcement: QUOTA_ENFORCE (default) or QUOTA_WARN.
 * - base_unit, display_unit: optional (NULL or ""), at most 50 chars.
 * - description: optional, at most 500 chars.
 * - unit_conversion_factor: >= 1 (default 1).
 * - claiming_resources, claiming_resource_count: the kinds that may claim
 *   this type (an allow-list of at most 20). Empty lets any kind claim.
 *   An entry's api_group, when set, must match too.
 * - default_limit: the limit of a bucket no grant covers; >= 0, or
 *   QUOTA_UNLIMITED (-1). Default 0. For a Rate type only 0 (nothing
 *   without a grant) or -1 (no limit without a grant).
 * - allowed_dimensions, allowed_dimension_count: label keys a claim's
 *   requests may carry and grant selectors may name (at most 32, each a
 *   label key).
 * - generation: output only; 1 at creation, +1 on each change.
 * - violation_action: QUOTA_ACTION_* (0 = REJECT); THROTTLE only for Rate
 *   types. Grant buckets may override it. Mutable.
 * - reserved_flags: must be 0.
 */
typedef struct quota_registration {
	size_t size;
	const char *resource_type;
	quota_kind_ref consumer_type;
	int32_t resource_class;
	int32_t enforcement;
	const char *base_unit;
	const char *display_unit;
	const char *description;
	int64_t unit_conversion_factor;
	const quota_kind_ref *claiming_resources;
	uint32_t claiming_resource_count;
	uint32_t allowed_dimension_count;
	const char *const *allowed_dimensions;
	int64_t default_limit;
	int64_t generation;
	int32_t violation_action;
	uint32_t reserved_flags;
} quota_registration;

/**
 * Fill a registration with defaults (class Allocation, Enforce, factor 1,
 * default limit 0, everything else empty).
 *
 * @return QUOTA_OK, or QUOTA_ERR_INVALID (NULL, or size too small).
 */
QUOTA_API int quota_registration_init(quota_registration *r, size_t size);

/**
 * Register a resource type, or update it when it exists with the same
 * immutable fields (resource_type, consumer_type, resource_class): then the
 * mutable fields are replaced and the generation bumped (unless nothing
 * changed). A changed default_limit or enforcement applies to existing
 * buckets at once; a lowered limit never revokes what is allocated.
 *
 * @return QUOTA_OK; QUOTA_ERR_INVALID (the detail names the field);
 *         QUOTA_ERR_CONFLICT (exists with other immutable fields);
 *         QUOTA_ERR_NOMEM. On error the engine is unchanged.
 * Thread-safe. The strings and arrays are copied.
 */
QUOTA_API int quota_registration_create(quota_engine *e, const quota_registration *r);

/**
 * Update an existing registration's mutable fields. Same rules as
 * quota_registration_create() but QUOTA_ERR_NOT_FOUND if the type is not
 * registered.
 */
QUOTA_API int quota_registration_update(quota_engine *e, const quota_registration *r);

/**
 * Unregister a resource type.
 *
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOT_FOUND;
 *         QUOTA_ERR_IN_USE while any grant names the type, or any bucket of
 *         it has allocations, reservations, claims or open handles.
 * Thread-safe. Empty buckets of the type are removed with it.
 */
QUOTA_API int quota_registration_delete(quota_engine *e, const char *resource_type);

/**
 * Read one registration.
 *
 * @param[out] out  a copy in one allocation; free with quota_free().
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOT_FOUND; QUOTA_ERR_NOMEM.
 * Thread-safe.
 */
QUOTA_API int quota_registration_get(quota_engine *e, const char *resource_type,
				     quota_registration **out);

/**
 * List all registrations, sorted by resource_type.
 *
 * @param[out] out    an array of *count pointers; the array and the objects
 *                    are one allocation, freed with quota_free(*out).
 *                    Never NULL on success, even when *count is 0.
 * @param[out] count  number of registrations.
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOMEM. Thread-safe.
 */
QUOTA_API int quota_registration_list(quota_engine *e, quota_registration ***out, size_t *count);

#ifdef __cplusplus
}
#endif

#endif /* QUOTA_REGISTRATION_H */
