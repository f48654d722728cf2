/*
 * Claim and grant creation policies inside the library: the compiled form
 * of a policy, the store, and what the admission and grant files share.
 *
 * The store (quota__policies) has a lock of its own, taken before the
 * engine's config lock (see engine.h). Compiled policies are immutable;
 * an apply or delete swaps the store's arrays under the write lock and
 * frees what it replaced after, so a reader may use any policy it found
 * for as long as it holds the read lock.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_POLICY_H
#define QUOTA_LIB_POLICY_H

#include <pthread.h>
#include <quota/quota.h>

#include "table.h"

/* A field that may be a template: compiled, unless it is plain text,
 * which is used as it is (text points into the policy's copy). */
typedef struct quota__tfield {
	quota_template *t; /* NULL when literal */
	const char *text;
	const char *field; /* its name in details; NULL for request fields */
} quota__tfield;

/* One request template, compiled: its type and its dimension values. */
typedef struct quota__creq {
	quota__tfield type;
	quota__tfield *values; /* one per dimension, into the policy's block */
} quota__creq;

enum { QUOTA__CLAIM_POLICY, QUOTA__GRANT_POLICY };

/* The variables each kind of policy sees, in this order. */
#define QUOTA__CLAIM_VARS 3 /* trigger, user, requestInfo */
#define QUOTA__GRANT_VARS 1 /* trigger */
extern const char *const quota__policy_vars[QUOTA__CLAIM_VARS];

typedef struct quota__policy {
	int kind;
	union {
		quota_claim_policy *claim;
		quota_grant_policy *grant;
	} pub; /* the packed copy, which get and list return */
	const char *name, *api_version, *trigger_kind; /* into pub */
	uint32_t flags;
	uint32_t constraint_count;
	quota_expr *constraints[QUOTA_MAX_CONSTRAINTS];
	/* Both kinds: the object's name (claims: or its generateName prefix),
	 * namespace, and its consumer's namespace and name. */
	quota__tfield meta_name, meta_ns, consumer_ns, consumer_name;
	int generate; /* meta_name is a generateName prefix */
	/* Claim policies: the resourceRef's namespace and name (when the
	 * template names a resource) and the requests. */
	quota__tfield resource_ns, resource_name;
	uint32_t request_count;
	quota__creq *requests; /* one block with their values */
	/* Grant policies: the parent context's name. */
	quota_expr *parent_name;
} quota__policy;

/* Policies of one kind, sorted by (apiVersion, kind, name). */
typedef struct quota__policy_set {
	quota__policy **v;
	uint32_t n;
} quota__policy_set;

typedef struct quota__policies {
	pthread_rwlock_t lock;
	quota__policy_set claims, grants;
	/* Trigger identity -> the grants its grant policies made (policy-grant.c);
	 * guarded by the engine's config lock, not by lock. */
	quota__table owners;
} quota__policies;

/* The store's lifetime (engine.c). */
int quota__policies_new(quota_engine *e);
void quota__policies_free(quota_engine *e);

/* Copies (policy.c). Deep copies of checked policies into one allocation
 * each, with strings never NULL; NULL when out of memory. */
quota_claim_policy *quota__claim_policy_copy(const quota_claim_policy *p);
quota_grant_policy *quota__grant_policy_copy(const quota_grant_policy *p);

/* Checking and compiling (policy-check.c). The detail names the field. */
int quota__claim_policy_check(const quota_claim_policy *in, quota_claim_policy *p);
int quota__grant_policy_check(const quota_grant_policy *in, quota_grant_policy *p);
/* Compile a checked copy; the policy takes copy, also on failure. */
int quota__policy_compile(int kind, void *copy, quota__policy **out);
/* What must hold of the registrations the policy names; caller holds
 * config (read). */
int quota__policy_check_regs(quota_engine *e, const quota__policy *p);
void quota__policy_free(quota__policy *p);

/* The policies of set for (api_version, kind): *first and the count. */
uint32_t quota__policy_range(const quota__policy_set *set, const char *api_version,
			     const char *kind, uint32_t *first);

#endif
