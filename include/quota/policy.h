/*
 * libquota: claim and grant creation policies (Milo ClaimCreationPolicy,
 * GrantCreationPolicy), admission (Pattern 1) and grant provisioning.
 *
 * A policy reacts to objects of one apiVersion and kind (the trigger). Its
 * constraints, expressions of the CEL subset of expr.h that must all yield
 * true, say whether it applies to a given object: a constraint that yields
 * false means "not for this object", never a denial. Its template renders
 * the claim (or grant) to make, with {{ }} templates (template.h) in the
 * fields Milo templates; amounts are static. Expressions and templates are
 * compiled once, when the policy is applied, and evaluated by any number of
 * threads at once.
 *
 * Variables: `trigger` (the object) in every policy; claim policies also
 * see `user` and `requestInfo` (null when the admission gives none).
 *
 * The C structs below are the single source of truth for policies: a
 * loader of Milo objects (JSON, YAML) fills them in. Error details name
 * fields with Milo's spelling under "policy.", e.g.
 * "policy.trigger.constraints[2].expression: column 7: ...".
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_POLICY_H
#define QUOTA_POLICY_H

#include "claim.h"
#include "doc.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most constraints in one policy. */
#define QUOTA_MAX_CONSTRAINTS 10
/** Longest constraint message, in bytes. */
#define QUOTA_CONSTRAINT_MESSAGE_MAX 256

/**
 * A constraint: an expression over the policy's variables that must yield
 * a bool (1-1024 bytes), and an optional message (at most 256 bytes) that
 * says what it checks. A constraint that yields false makes the policy
 * skip the object; the message is quoted when the expression fails to
 * evaluate. In an array every element must carry the same size.
 */
typedef struct quota_constraint {
	size_t size;
	const char *expression;
	const char *message;
} quota_constraint;

/**
 * The objects a policy reacts to (Milo trigger.resource). Frozen value
 * type.
 *
 * - api_version: a version alone for the core group ("v1"), or
 *   "group/version" ("resourcemanager.miloapis.com/v1alpha1"): the group a
 *   DNS subdomain (lower-case letters, digits, '-' and '.', at most 253),
 *   the version v<digits> optionally followed by alpha<digits> or
 *   beta<digits>.
 * - kind: [A-Z][A-Za-z0-9]*, at most 63 characters.
 *
 * Both are compared exactly with the trigger object's "apiVersion" and
 * "kind".
 */
typedef struct quota_trigger_ref {
	const char *api_version;
	const char *kind;
} quota_trigger_ref;

/** Policy flags. */
typedef enum quota_policy_flag {
	QUOTA_POLICY_DISABLED = 1 << 0, /**< kept, but never evaluated (Milo spec.disabled) */
	QUOTA_POLICY_FAIL_OPEN = 1 << 1 /**< claim policies only: an evaluation error
					   allows the admission (outcome
					   QUOTA_ADMIT_FAILED_OPEN) instead of denying it */
} quota_policy_flag;

/**
 * One request of a claim template.
 *
 * - resource_type: a template (a literal one must be registered when the
 *   policy is applied; a rendered one is checked at each admission).
 * - amount: static, > 0.
 * - dimensions, dimension_count: up to 16 labels; keys literal, values
 *   templates.
 *
 * In an array every element must carry the same size.
 */
typedef struct quota_request_template {
	size_t size;
	const char *resource_type;
	int64_t amount;
	const quota_label *dimensions;
	uint32_t dimension_count;
	uint32_t reserved_flags; /**< must be 0 */
} quota_request_template;

/**
 * What a claim policy renders (Milo resourceClaimTemplate).
 *
 * - name, or generate_name: templates; exactly one is set. With
 *   generate_name the rendered prefix gets a 12-character suffix derived
 *   from the policy's name and the trigger's identity (its metadata.uid,
 *   else its kind, namespace and name), so that a retried admission
 *   renders the same name and never charges twice.
 * - ns: template; NULL or "" means the trigger's metadata.namespace.
 * - consumer: who is charged (Milo spec.consumerRef): api_group and kind
 *   literal (kind required), ns and name templates (name required).
 * - resource: the resourceRef. kind NULL or "" means the trigger itself
 *   (the group of its apiVersion, its kind, metadata.namespace and
 *   metadata.name); otherwise api_group and kind are literal and ns and
 *   name templates.
 * - requests, request_count: 1-QUOTA_MAX_REQUESTS, no literal type twice.
 */
typedef struct quota_claim_template {
	size_t size;
	const char *name;
	const char *generate_name;
	const char *ns;
	quota_ref consumer;
	quota_ref resource;
	const quota_request_template *requests;
	uint32_t request_count;
	uint32_t reserved_flags; /**< must be 0 */
} quota_claim_template;

/**
 * A ClaimCreationPolicy: input of quota_claim_policy_apply(), output of
 * _get and _list.
 *
 * - name: identity, 1-253 bytes of printable UTF-8.
 * - trigger: the objects it admits.
 * - constraints, constraint_count: 0-QUOTA_MAX_CONSTRAINTS, ANDed.
 * - flags: QUOTA_POLICY_*.
 * - claim: the template (required).
 * - generation: output only: 1 when created, +1 whenever an apply changes
 *   the policy (an identical apply keeps it).
 */
typedef struct quota_claim_policy {
	size_t size;
	const char *name;
	quota_trigger_ref trigger;
	const quota_constraint *constraints;
	uint32_t constraint_count;
	uint32_t flags;
	const quota_claim_template *claim;
	int64_t generation;
} quota_claim_policy;

/**
 * What a grant policy renders (Milo resourceGrantTemplate).
 *
 * - name: template (required); ns: template, NULL or "" for a
 *   cluster-wide grant.
 * - consumer: api_group and kind literal, ns and name templates.
 * - allowances, allowance_count: static, as in quota_grant (literal
 *   resource types, registered when the policy is applied).
 */
typedef struct quota_grant_template {
	size_t size;
	const char *name;
	const char *ns;
	quota_ref consumer;
	const quota_allowance *allowances;
	uint32_t allowance_count;
	uint32_t reserved_flags; /**< must be 0 */
} quota_grant_template;

/**
 * Where a rendered grant belongs (Milo parentContext): api_group and kind
 * literal, name_expression an expression over `trigger` that yields the
 * parent's name. libquota evaluates it and reports the result in
 * quota_grant_change; the host decides what to do with it. Frozen value
 * type; all NULL when unused (kind and name_expression go together).
 */
typedef struct quota_parent_context {
	const char *api_group;
	const char *kind;
	const char *name_expression;
} quota_parent_context;

/**
 * A GrantCreationPolicy: input of quota_grant_policy_apply(), output of
 * _get and _list. Fields as quota_claim_policy; flags may only hold
 * QUOTA_POLICY_DISABLED; grant is the template (required).
 */
typedef struct quota_grant_policy {
	size_t size;
	const char *name;
	quota_trigger_ref trigger;
	const quota_constraint *constraints;
	uint32_t constraint_count;
	uint32_t flags;
	const quota_grant_template *grant;
	quota_parent_context parent_context;
	int64_t generation;
} quota_grant_policy;

/** Initialise a constraint (empty). QUOTA_OK or QUOTA_ERR_INVALID. */
QUOTA_API int quota_constraint_init(quota_constraint *c, size_t size);
/** Initialise a request template (empty, amount 0). QUOTA_OK or QUOTA_ERR_INVALID. */
QUOTA_API int quota_request_template_init(quota_request_template *r, size_t size);
/** Initialise a claim template (empty). QUOTA_OK or QUOTA_ERR_INVALID. */
QUOTA_API int quota_claim_template_init(quota_claim_template *t, size_t size);
/** Initialise a claim policy (empty, enabled). QUOTA_OK or QUOTA_ERR_INVALID. */
QUOTA_API int quota_claim_policy_init(quota_claim_policy *p, size_t size);
/** Initialise a grant template (empty). QUOTA_OK or QUOTA_ERR_INVALID. */
QUOTA_API int quota_grant_template_init(quota_grant_template *t, size_t size);
/** Initialise a grant policy (empty, enabled). QUOTA_OK or QUOTA_ERR_INVALID. */
QUOTA_API int quota_grant_policy_init(quota_grant_policy *p, size_t size);

/**
 * Create or replace a claim policy (by name). Everything is checked before
 * anything changes: the name, the trigger's patterns, the constraints
 * (they compile with the variables trigger, user and requestInfo; messages
 * at most 256 bytes), the templates (they compile), the literal parts of
 * the template (kinds, amounts, dimension keys) and its literal resource
 * types (registered, held by the consumer kind). The detail names the
 * field, e.g. "policy.target.resourceClaimTemplate.spec.requests[0]
 * .resourceType: example.com/x is not registered". A refused policy
 * changes nothing (a policy of that name stays as it was).
 *
 * @param p                the policy; copied, strings may be freed after.
 * @param[out] generation  the policy's generation after the call; may be NULL.
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_PARSE (an expression or a
 *         template does not compile); QUOTA_ERR_UNREGISTERED;
 *         QUOTA_ERR_NOT_ALLOWED (the consumer kind does not hold a literal
 *         type); QUOTA_ERR_NOMEM. Thread-safe.
 */
QUOTA_API int quota_claim_policy_apply(quota_engine *e, const quota_claim_policy *p,
				       int64_t *generation);

/**
 * Delete a claim policy. Admissions already past their evaluation are not
 * affected; claims it rendered stay.
 *
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOT_FOUND. Thread-safe.
 */
QUOTA_API int quota_claim_policy_delete(quota_engine *e, const char *name);

/**
 * Read one claim policy.
 *
 * @param[out] out  a copy in one allocation (template included); quota_free().
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOT_FOUND; QUOTA_ERR_NOMEM.
 * Thread-safe.
 */
QUOTA_API int quota_claim_policy_get(quota_engine *e, const char *name, quota_claim_policy **out);

/**
 * List the claim policies, sorted by name.
 *
 * @param[out] out    array of *count pointers, one allocation; quota_free().
 * @param[out] count  number of policies.
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOMEM. Thread-safe.
 */
QUOTA_API int quota_claim_policy_list(quota_engine *e, quota_claim_policy ***out, size_t *count);

/**
 * Create or replace a grant policy (by name), checked as
 * quota_claim_policy_apply() is: constraints and the parent context's
 * name_expression compile with the variable trigger, the templates
 * compile, and the static allowances pass every check of
 * quota_grant_apply() (registered types, consumer kind, amounts, rate
 * fields, selectors). Grants already made stay until their triggers are
 * synced again (quota_grant_policies_sync()).
 *
 * @return as quota_claim_policy_apply(); also QUOTA_ERR_OVERFLOW (an
 *         allowance's amounts add up past INT64_MAX). Thread-safe.
 */
QUOTA_API int quota_grant_policy_apply(quota_engine *e, const quota_grant_policy *p,
				       int64_t *generation);

/**
 * Delete a grant policy. The grants it made stay (their owner record too)
 * until their trigger is deleted (QUOTA_TRIGGER_DELETED) or the host
 * deletes them.
 *
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOT_FOUND. Thread-safe.
 */
QUOTA_API int quota_grant_policy_delete(quota_engine *e, const char *name);

/** Read one grant policy; as quota_claim_policy_get(). */
QUOTA_API int quota_grant_policy_get(quota_engine *e, const char *name, quota_grant_policy **out);

/** List the grant policies, sorted by name; as quota_claim_policy_list(). */
QUOTA_API int quota_grant_policy_list(quota_engine *e, quota_grant_policy ***out, size_t *count);

/** Admission flags. */
typedef enum quota_admit_flag {
	QUOTA_ADMIT_DRY_RUN = 1 << 0,     /**< evaluate and decide (quota_claim_set_check()),
					     charge nothing */
	QUOTA_ADMIT_RESERVE_ONLY = 1 << 1 /**< two-phase create: leave the claims RESERVED for
					     the host to commit or release by name */
} quota_admit_flag;

/**
 * An admission request. Initialise with quota_admission_init().
 *
 * - trigger: the object being created (required): a map with string
 *   "apiVersion" and "kind", and usually "metadata" with "name",
 *   "namespace" and "uid".
 * - user, request_info: the variables `user` and `requestInfo` (Milo's
 *   user info and request info); NULL makes them null. When request_info
 *   has string "resource" and "apiGroup" keys, denial messages use them.
 * - flags: QUOTA_ADMIT_* (not both).
 * - ttl_ms: with QUOTA_ADMIT_RESERVE_ONLY, the reservations' TTL
 *   (quota_claim.ttl_ms); 0 means none.
 */
typedef struct quota_admission {
	size_t size;
	const quota_doc *trigger;
	const quota_doc *user;
	const quota_doc *request_info;
	uint32_t flags;
	uint32_t reserved_flags; /**< must be 0 */
	int64_t ttl_ms;
} quota_admission;

/** Initialise an admission (no trigger, no flags). QUOTA_OK or QUOTA_ERR_INVALID. */
QUOTA_API int quota_admission_init(quota_admission *a, size_t size);

/** How an admission ended. Values never change. */
typedef enum quota_admit_outcome {
	QUOTA_ADMIT_NO_POLICY = 1,     /**< no enabled policy applies (none for the
					  apiVersion and kind, or their constraints do not
					  hold): allowed, nothing charged */
	QUOTA_ADMIT_ALLOWED = 2,       /**< every rendered claim fits: held (or, in a dry
					  run, would be) */
	QUOTA_ADMIT_DENIED = 3,        /**< the claims do not fit together, or one of them
					  exists with another spec: nothing charged */
	QUOTA_ADMIT_FAILED_CLOSED = 4, /**< a policy failed (an expression or template, or
					  a claim it rendered that is not valid): denied,
					  nothing charged */
	QUOTA_ADMIT_FAILED_OPEN = 5    /**< a fail-open policy failed and was left out;
					  the claims of the others fit: allowed */
} quota_admit_outcome;

/**
 * The answer to an admission, one allocation (quota_free()).
 *
 * - allowed: 1 or 0. outcome: a quota_admit_outcome.
 * - message: for a denial, Milo's shape, "<resource>.<group> \"<name>\" is
 *   forbidden: <reason>" ("<resource> \"<name>\"..." for the core group;
 *   resource and group from request_info when it has them, else the
 *   trigger's kind lower-cased and its apiVersion's group). The reason of
 *   QUOTA_ADMIT_DENIED is "You've reached your quota for this resource
 *   type (<type>): requested N, available M, limit L" (rate limits and
 *   conflicts say so instead); of QUOTA_ADMIT_FAILED_CLOSED, the failure
 *   with the policy, the field and, for an expression, its column. For
 *   QUOTA_ADMIT_FAILED_OPEN, the failure that was let through; "" when
 *   simply allowed.
 * - policy: the policy whose claim bound (denied) or that failed; "" otherwise.
 * - answer: the claim set's answer: binding_claim indexes claims, with
 *   binding_request, bucket, requested (the set's total at that bucket),
 *   available and limit; flags QUOTA_ANSWER_EXISTED when every claim
 *   existed already (a retried admission: nothing was charged again).
 * - claims, claim_count: the claims rendered (also in a dry run, and on a
 *   denial), in the order of their policies' names; ns and name say what
 *   to commit or release after QUOTA_ADMIT_RESERVE_ONLY.
 */
typedef struct quota_admission_result {
	size_t size;
	int32_t allowed;
	int32_t outcome;
	const char *message;
	const char *policy;
	quota_answer answer;
	uint32_t claim_count;
	uint32_t reserved0;
	quota_claim *const *claims;
} quota_admission_result;

/**
 * Admit a trigger object (Pattern 1). Every enabled claim policy whose
 * trigger is the object's apiVersion and kind and whose constraints all
 * hold renders its claim; all rendered claims (at most
 * QUOTA_MAX_CLAIM_SET) are acquired as one claim set
 * (quota_claim_set_acquire(): all fit together, or nothing is charged),
 * reserved with QUOTA_ADMIT_RESERVE_ONLY, or checked with
 * QUOTA_ADMIT_DRY_RUN (quota_claim_set_check(), which does not look at
 * existing claims). Claim names are deterministic, so a retried admission
 * of the same object finds its claims and charges nothing twice.
 *
 * A constraint that fails to evaluate, a template that fails to render, or
 * a rendered claim that is not valid (a bad name, an unregistered type, a
 * consumer kind that does not hold it) fails the policy: the admission is
 * denied (QUOTA_ADMIT_FAILED_CLOSED), unless the policy has
 * QUOTA_POLICY_FAIL_OPEN, in which case its claim is left out
 * (QUOTA_ADMIT_FAILED_OPEN). Expressions run with no engine lock held.
 *
 * @param a         the admission.
 * @param[out] out  the result, whenever the admission was decided (every
 *                  status below but INVALID and NOMEM); NULL otherwise.
 * @return QUOTA_OK (allowed: NO_POLICY, ALLOWED or FAILED_OPEN);
 *         QUOTA_ERR_EXCEEDED, QUOTA_ERR_RATE_LIMITED, QUOTA_ERR_CONFLICT (a
 *         claim of a rendered name exists with another spec),
 *         QUOTA_ERR_OVERFLOW (all DENIED); QUOTA_ERR_EVAL (FAILED_CLOSED);
 *         QUOTA_ERR_INVALID (a bad admission: no trigger, a trigger without
 *         string apiVersion and kind, bad flags); QUOTA_ERR_NOMEM. On a
 *         denial quota_last_error() holds the message. Thread-safe.
 */
QUOTA_API int quota_admit(quota_engine *e, const quota_admission *a, quota_admission_result **out);

/** What happened to a trigger object (grant policies). Values never change. */
typedef enum quota_trigger_event {
	QUOTA_TRIGGER_ADDED = 1,
	QUOTA_TRIGGER_UPDATED = 2,
	QUOTA_TRIGGER_DELETED = 3
} quota_trigger_event;

/**
 * One grant that a grant policy holds or removed for a trigger, as
 * reported by quota_grant_policies_sync().
 *
 * - policy: the grant policy; ns, name: the grant.
 * - removed: 1 when the sync removed it, 0 when the grant stands as the
 *   policy renders it (applied now, or already so).
 * - generation: the grant's generation after the sync (it moves only when
 *   the sync changed the grant); 0 when removed.
 * - parent_kind, parent_api_group, parent_name: the policy's parent
 *   context, parent_name its nameExpression's value; "" when it has none
 *   and for removed grants.
 */
typedef struct quota_grant_change {
	size_t size;
	const char *policy;
	const char *ns;
	const char *name;
	int32_t removed;
	int32_t reserved0;
	int64_t generation;
	const char *parent_kind;
	const char *parent_api_group;
	const char *parent_name;
} quota_grant_change;

/**
 * Tell the grant policies what happened to a trigger object; they bring
 * its grants up to date, all at once.
 *
 * On QUOTA_TRIGGER_ADDED or _UPDATED, every enabled grant policy for the
 * object's apiVersion and kind whose constraints hold renders its grant
 * and applies it (several policies add up); a policy whose constraints do
 * not hold (any more) removes the grant it made for this object, as does
 * one that now renders another grant name. On QUOTA_TRIGGER_DELETED every
 * grant made for the object is removed. The engine remembers which grants
 * a policy made for which object, by the object's identity (metadata.uid,
 * else its group, kind, namespace and name), and removes only those:
 * grants of disabled or deleted policies stay until their object is
 * deleted. Applying or removing all the grants is one change: the bucket
 * limits move together, or nothing changes.
 *
 * A rendered grant that exists but was made by the host or for another
 * object is a conflict. The host may still change or delete a policy's
 * grant with quota_grant_apply() and quota_grant_delete(); the next sync
 * of its object renders it again.
 *
 * @param trigger          the object (as for quota_admit()); it needs a uid
 *                         or a name.
 * @param event            a quota_trigger_event.
 * @param[out] changes     array of *count pointers: the grants the
 *                         object's policies hold after the sync and those
 *                         removed, in the order of the policies' names;
 *                         one allocation, quota_free(). May be NULL (then
 *                         count too).
 * @param[out] count       the number of changes.
 * @return QUOTA_OK; QUOTA_ERR_EVAL (a constraint, template or
 *         nameExpression failed to evaluate); QUOTA_ERR_INVALID (a bad
 *         argument, or a rendered grant that is not valid);
 *         QUOTA_ERR_CONFLICT (a rendered grant exists and is not this
 *         object's, or two policies render one grant);
 *         QUOTA_ERR_UNREGISTERED, QUOTA_ERR_NOT_ALLOWED, QUOTA_ERR_OVERFLOW
 *         (as quota_grant_apply()); QUOTA_ERR_NOMEM. On error nothing
 *         changed, and the detail names the policy. Thread-safe;
 *         expressions run under no engine lock but the policy store's.
 */
QUOTA_API int quota_grant_policies_sync(quota_engine *e, const quota_doc *trigger, int32_t event,
					quota_grant_change ***changes, size_t *count);

#ifdef __cplusplus
}
#endif

#endif /* QUOTA_POLICY_H */
