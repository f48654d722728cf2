/*
 * libquota: Milo-compatible JSON objects in and out.
 *
 * In: quota.miloapis.com/v1alpha1 ResourceRegistration, ResourceGrant,
 * ResourceClaim, ClaimCreationPolicy and GrantCreationPolicy objects, one,
 * an array of them, or a List with items; and the older design's
 * ServiceQuotaRegistration, ResourceQuotaGrant and ResourceQuotaClaim with
 * Kubernetes quantities. libquota's extensions (selectors, rate periods,
 * violation actions, claim TTLs, a policy's failOpen, ...) are extra spec
 * fields. Loading is all or nothing: every object is read, checked and
 * prepared before any is applied, and a failure anywhere, including
 * running out of memory, leaves the engine as it was. Registrations,
 * grants and policies are applied; claims are handed back, ready for the
 * claim calls, because reserving one is a decision with an answer, not
 * configuration.
 *
 * Out: the same objects with Milo-shaped status (grants with the Active
 * condition, claims with allocations and the Granted condition, policies
 * with the Ready condition), allowance buckets in the AllowanceBucket
 * shape, and a flat {name, limit, usage, scope} quota view.
 *
 * Documents work in every build. Reading JSON text needs cJSON
 * (QUOTA_FEATURE_JSON in quota_features()); without it the calls that take
 * text return QUOTA_ERR_UNSUPPORTED. doc/json.md describes every shape.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_JSON_H
#define QUOTA_JSON_H

#include "claim.h"
#include "doc.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How quota_quantity_parse() treats a value that is not a whole number
 * of base units. */
typedef enum quota_rounding {
	QUOTA_ROUND_EXACT = 0, /**< refuse it (QUOTA_ERR_INVALID) */
	QUOTA_ROUND_UP = 1,    /**< to the next whole unit up (ceiling) */
	QUOTA_ROUND_DOWN = 2   /**< to the next whole unit down (floor) */
} quota_rounding;

/**
 * Read a Kubernetes quantity ("32Gi", "500m", "1.5", "8", "1e3", "2Ki") as
 * a whole number of base units.
 *
 * The quantity is a count of display units: the result is the quantity
 * times factor (a registration's unitConversionFactor: base units per
 * display unit), computed exactly (no floating point) and then rounded as
 * asked. Syntax: an optional sign, digits with an optional fraction (".5"
 * and "5." too), then one suffix: none; n u m k M G T P E (powers of ten);
 * Ki Mi Gi Ti Pi Ei (powers of 1024; KiB .. EiB are accepted for the same,
 * as the older design wrote them); or e/E with a signed integer exponent.
 * At most 19 significant digits and 64 bytes in all; no spaces.
 *
 * @param text      the quantity (need not be NUL-terminated).
 * @param len       its length in bytes.
 * @param factor    base units per unit of the quantity, >= 1.
 * @param rounding  a quota_rounding value.
 * @param[out] out  the number of base units.
 * @return QUOTA_OK; QUOTA_ERR_PARSE (not a quantity; the detail says where);
 *         QUOTA_ERR_INVALID (NULL out or text, factor < 1, unknown rounding,
 *         or QUOTA_ROUND_EXACT and not a whole number); QUOTA_ERR_OVERFLOW
 *         (outside the int64 range). Works without cJSON. Thread-safe.
 */
QUOTA_API int quota_quantity_parse(const char *text, size_t len, int64_t factor, int32_t rounding,
				   int64_t *out);

/** Flags of quota_json_options.flags. */
typedef enum quota_json_flag {
	/** Read and check everything (against the engine too) but apply
	 * nothing; the result still carries the claims. */
	QUOTA_JSON_DRY_RUN = 1 << 0
} quota_json_flag;

/** The deepest nesting quota_json_load() accepts by default. */
#define QUOTA_JSON_MAX_DEPTH 16

/**
 * Options of quota_json_load(). Initialise with quota_json_options_init().
 *
 * - flags: QUOTA_JSON_* bits.
 * - max_depth: how deeply lists and maps may nest in one object (an
 *   object with a spec with a list of maps is 4 deep); 0 means
 *   QUOTA_JSON_MAX_DEPTH; at most QUOTA_DOC_MAX_DEPTH.
 * - legacy_consumer_type: the consumer type of the older design's
 *   ServiceQuotaRegistration, which names none (unless its spec has the
 *   consumerType extension), and the kind of the consumer of an older
 *   ResourceQuotaClaim without a consumerRef (its metadata.namespace names
 *   it). Default {NULL, "Project"}: Project, of no api group, so that a
 *   consumer of any group fits (the older design gives none).
 */
typedef struct quota_json_options {
	size_t size;
	uint32_t flags;
	uint32_t max_depth;
	quota_kind_ref legacy_consumer_type;
} quota_json_options;

/** Fill options with the defaults. QUOTA_OK or QUOTA_ERR_INVALID. */
QUOTA_API int quota_json_options_init(quota_json_options *o, size_t size);

/**
 * What a load read, as quota_json_load() hands it back (one allocation,
 * freed with quota_free()).
 *
 * - registration_count, grant_count: how many of each the input held (each
 *   created, changed, or found equal to what the engine has).
 * - claim_count, claims: the claims of the input, in input order, ready for
 *   quota_claim_reserve(), quota_claim_acquire(), quota_claim_check() or the
 *   claim set calls (their flags, ttl_ms and queue_timeout_ms come from the
 *   spec's queue, autoCommit, ttl and queueTimeout extensions). Their
 *   strings and arrays live in the same allocation.
 * - claim_paths: where each claim was in the input ("items[4]", or "" for a
 *   single object), to name it in messages.
 * - claim_policy_count, grant_policy_count: how many ClaimCreationPolicy
 *   and GrantCreationPolicy objects the input held (each created,
 *   replaced, or found equal to the engine's policy of that name). Check
 *   size before reading them: a library older than the header has none.
 */
typedef struct quota_json_result {
	size_t size;
	uint32_t registration_count;
	uint32_t grant_count;
	uint32_t claim_count;
	uint32_t reserved0;
	const quota_claim *claims;
	const char *const *claim_paths;
	uint32_t claim_policy_count;
	uint32_t grant_policy_count;
} quota_json_result;

/**
 * Load JSON text holding one object, an array of objects, or a List
 * ({"kind": "List", "items": [...]}).
 *
 * Every object is read and checked first: its apiVersion and kind, the
 * type and range of every field, unknown fields, references to other
 * objects of the input (a grant may name a type registered anywhere in the
 * same input) and to the engine's registrations, and the quantities of the
 * older shapes. Then the registrations, grants and policies are prepared
 * into one change and committed at once: concurrent calls see all of it or
 * none. On any failure, running out of memory included, nothing is
 * applied. A policy's errors name the object and the field: "items[3]
 * (ClaimCreationPolicy cpu): spec.trigger.constraints[1].expression:
 * column 7: ...".
 *
 * @param e         the engine.
 * @param text      the JSON text (need not be NUL-terminated).
 * @param len       its length in bytes.
 * @param opts      options, or NULL for the defaults.
 * @param[out] out  the result (free with quota_free()), or NULL when the
 *                  caller wants none; set to NULL on failure.
 * @return QUOTA_OK; QUOTA_ERR_PARSE (not JSON); QUOTA_ERR_INVALID (a field
 *         is missing, unknown, of the wrong type or out of range; an
 *         unknown apiVersion or kind; nesting too deep; the detail names
 *         the path, e.g. "items[3].spec.requests[2].amount: must be > 0");
 *         QUOTA_ERR_PARSE also for a policy's expression or template that
 *         does not compile; QUOTA_ERR_UNREGISTERED (a type neither the
 *         input nor the engine registers); QUOTA_ERR_NOT_ALLOWED;
 *         QUOTA_ERR_CONFLICT (a registration that changes an immutable
 *         field); QUOTA_ERR_OVERFLOW;
 *         QUOTA_ERR_NOMEM; QUOTA_ERR_UNSUPPORTED when built without cJSON
 *         (use quota_json_load_doc()).
 * Thread-safe.
 */
QUOTA_API int quota_json_load(quota_engine *e, const char *text, size_t len,
			      const quota_json_options *opts, quota_json_result **out);

/**
 * quota_json_load() from a document (works without cJSON).
 *
 * @param doc  one object (a map), a list of them, or a List map.
 * Return codes as quota_json_load(), without QUOTA_ERR_PARSE and
 * QUOTA_ERR_UNSUPPORTED. Thread-safe.
 */
QUOTA_API int quota_json_load_doc(quota_engine *e, const quota_doc *doc,
				  const quota_json_options *opts, quota_json_result **out);

/** The kinds quota_json_dump() writes (bits). */
typedef enum quota_json_kind {
	QUOTA_JSON_REGISTRATIONS = 1 << 0,
	QUOTA_JSON_GRANTS = 1 << 1,
	QUOTA_JSON_CLAIMS = 1 << 2,         /**< live ones: reserved, granted, pending */
	QUOTA_JSON_BUCKETS = 1 << 3,        /**< AllowanceBuckets, selector buckets included */
	QUOTA_JSON_CLAIM_POLICIES = 1 << 4, /**< ClaimCreationPolicy objects */
	QUOTA_JSON_GRANT_POLICIES = 1 << 5, /**< GrantCreationPolicy objects */
	QUOTA_JSON_ALL = 63
} quota_json_kind;

/**
 * Write the engine's objects as one List: {"apiVersion": "v1", "kind":
 * "List", "items": [...]}, registrations first (by type), then grants (by
 * namespace and name), claim policies and grant policies (by name),
 * claims, buckets. quota_json_load() reads it back (buckets and status are
 * output only and skipped there).
 *
 * @param kinds     QUOTA_JSON_* bits (0 writes an empty List).
 * @param[out] out  the document, owned by the caller (quota_doc_unref()).
 * @return QUOTA_OK; QUOTA_ERR_INVALID (NULL argument, unknown bits);
 *         QUOTA_ERR_NOMEM. Thread-safe; each object is one consistent
 *         reading, the List as a whole is not a snapshot.
 */
QUOTA_API int quota_json_dump(quota_engine *e, uint32_t kinds, quota_doc **out);

/**
 * quota_json_dump() as compact JSON text (works without cJSON).
 *
 * @param[out] text  NUL-terminated; free with quota_free().
 * @param[out] len   its length, or NULL.
 */
QUOTA_API int quota_json_dump_text(quota_engine *e, uint32_t kinds, char **text, size_t *len);

/**
 * One registration as a ResourceRegistration object.
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOT_FOUND; QUOTA_ERR_NOMEM.
 */
QUOTA_API int quota_json_registration(quota_engine *e, const char *resource_type, quota_doc **out);

/**
 * One grant as a ResourceGrant object, with the condition Active.
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOT_FOUND; QUOTA_ERR_NOMEM.
 */
QUOTA_API int quota_json_grant(quota_engine *e, const char *ns, const char *name, quota_doc **out);

/**
 * One claim policy as a ClaimCreationPolicy object: metadata name and
 * generation; spec trigger (resource, constraints), target
 * (resourceClaimTemplate with its metadata and spec), disabled, and the
 * extension failOpen when set; status observedGeneration and the
 * condition Ready. quota_json_load() reads it back into an equal policy.
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOT_FOUND; QUOTA_ERR_NOMEM.
 * Works without cJSON. Thread-safe.
 */
QUOTA_API int quota_json_claim_policy(quota_engine *e, const char *name, quota_doc **out);

/**
 * One grant policy as a GrantCreationPolicy object: as
 * quota_json_claim_policy(), with target resourceGrantTemplate (its
 * allowances as a ResourceGrant's) and parentContext when set.
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOT_FOUND; QUOTA_ERR_NOMEM.
 * Works without cJSON. Thread-safe.
 */
QUOTA_API int quota_json_grant_policy(quota_engine *e, const char *name, quota_doc **out);

/**
 * One claim as a ResourceClaim object with Milo status: allocations
 * (resourceType, status Granted | Pending, allocatedAmount,
 * allocatingBucket, lastTransitionTime) and the condition Granted.
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOT_FOUND; QUOTA_ERR_NOMEM.
 */
QUOTA_API int quota_json_claim(quota_engine *e, const char *ns, const char *name, quota_doc **out);

/**
 * A claim decision as a ResourceClaim object: what the Milo controller
 * would write after deciding. status and answer are what a claim call
 * (reserve, acquire, check, or a claim set call) returned for c.
 *
 * - QUOTA_OK: the stored claim (as quota_json_claim()), or for a check,
 *   which stores nothing, allocations Granted and reason QuotaAvailable.
 * - QUOTA_ERR_EXCEEDED, QUOTA_ERR_RATE_LIMITED: allocations Denied, the
 *   binding one with "Resource quota exceeded: requested N, available M";
 *   reason QuotaExceeded.
 * - QUOTA_ERR_INVALID, _UNREGISTERED, _NOT_ALLOWED, _CONFLICT: reason
 *   ValidationFailed with quota_last_error() as the message (read it before
 *   any other call on the thread fails).
 * - a queued claim (state PENDING): allocations Pending, reason
 *   PendingEvaluation.
 *
 * @param answer  the answer of the call (may be NULL: then nothing names
 *                the binding bucket).
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOMEM. Thread-safe.
 */
QUOTA_API int quota_json_claim_answer(quota_engine *e, const quota_claim *c, int status,
				      const quota_answer *answer, quota_doc **out);

/**
 * One bucket as an AllowanceBucket object (spec consumerRef, resourceType;
 * status limit, allocated, available, claimCount, grantCount,
 * contributingGrantRefs, lastReconciliation, observedGeneration, and the
 * extensions reserved, reservedCount and, where they apply, selector,
 * pending, observed, drift, rates).
 *
 * @param selector  "" or NULL for the base bucket, else a canonical
 *                  selector as quota_bucket_get_selector() takes it.
 * @return as quota_bucket_get_selector().
 */
QUOTA_API int quota_json_bucket(quota_engine *e, const quota_ref *consumer,
				const char *resource_type, const char *selector, quota_doc **out);

/**
 * The flat quota view of the REST quota API: a list of {"name", "limit",
 * "usage", "scope"}, one per bucket (name: the resource type, followed by
 * "[selector]" for a selector bucket; limit -1 when unlimited; usage:
 * what admission counts, max(allocated, observed) + reserved; scope: the
 * consumer as "Kind/namespace/name").
 *
 * @param consumer  only this consumer's buckets, or NULL for all.
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOMEM. Thread-safe.
 */
QUOTA_API int quota_json_quotas(quota_engine *e, const quota_ref *consumer, quota_doc **out);

#ifdef __cplusplus
}
#endif

#endif /* QUOTA_JSON_H */
