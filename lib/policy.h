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

#include "lock.h"
#include "table.h"
#include "util.h"

/* A field that may be a template: compiled, unless it is plain text,
 * which is used as it is (text points into the policy's copy). */
typedef struct quota__tfield {
	quota_template *t; /* NULL when literal */
	const char *text;
	const char *field; /* its name in details */
} quota__tfield;

/* One request template, compiled: its type and its dimension values. */
typedef struct quota__creq {
	quota__tfield type;
	quota__tfield *values; /* one per dimension, into the policy's block */
} quota__creq;

enum {
	QUOTA__CLAIM_POLICY,
	QUOTA__GRANT_POLICY
};

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

/* Policies of one kind, sorted by (apiVersion, kind, name); v has room
 * for cap. */
typedef struct quota__policy_set {
	quota__policy **v;
	uint32_t n, cap;
} quota__policy_set;

typedef struct quota__policies {
	quota__rwlock lock; /* lib/lock.h */
	quota__policy_set claims, grants;
	/* Trigger identity -> the grants its grant policies made (policy-grant.c);
	 * guarded by the engine's config lock, not by lock. */
	quota__table owners;
} quota__policies;

/* One grant an object's grant policy made; an owner record (in
 * quota__policies.owners) lists them for the object. */
typedef struct quota__owned {
	const char *policy, *ns, *name;
} quota__owned;

typedef struct quota__owner_rec {
	quota__node node; /* key: the trigger's identity */
	uint32_t n;
	quota__owned *g;
} quota__owner_rec;

/* Put the owner record of identity (n entries, copied) in place, as a
 * snapshot holds it (policy-grant.c). */
int quota__owner_restore(quota_engine *e, const char *identity, const quota__owned *g, uint32_t n);

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
/* What must hold of the registrations the policy names, as transaction t
 * (may be NULL) leaves them; caller holds config. */
struct quota__txn;
int quota__policy_check_regs(quota_engine *e, const struct quota__txn *t, const quota__policy *p);
void quota__policy_free(quota__policy *p);

/* The policies of set for (api_version, kind): *first and the count. */
uint32_t quota__policy_range(const quota__policy_set *set, const char *api_version,
			     const char *kind, uint32_t *first);

/* ---- evaluating (policy-eval.c) ---- */

/* Room for a trigger's identity: "uid:" and a uid, or "ref:" and group,
 * kind, namespace and name. */
#define QUOTA__IDENTITY_MAX                                                                        \
	(4 + QUOTA__GROUP_MAX + QUOTA__KIND_MAX + QUOTA__NS_MAX + QUOTA__NAME_MAX + 3)
/* Characters a generateName suffix adds. */
#define QUOTA__SUFFIX_LEN 12

/* What policies read of a trigger object. Strings are borrowed from the
 * document (NULL when absent), except group and identity. */
typedef struct quota__trigger {
	const quota_doc *doc;
	const char *api_version, *kind, *ns, *name, *generate_name, *uid;
	char group[QUOTA__GROUP_MAX + 1];       /* of api_version; "" for the core group */
	char identity[QUOTA__IDENTITY_MAX + 1]; /* "" when it has neither uid nor name */
} quota__trigger;

/* Read a trigger: a map with string apiVersion and kind; the detail names
 * what is wrong ("trigger.kind: ..."). */
int quota__trigger_read(const quota_doc *d, quota__trigger *t);
/* QUOTA_OK when the trigger has an identity, else QUOTA_ERR_INVALID. */
int quota__trigger_need_identity(const quota__trigger *t);
/* The string at key of map d, or NULL (also for a string with a NUL in it). */
const char *quota__doc_string_at(const quota_doc *d, const char *key);

/* 1 when every constraint of p holds, 0 when one yields false, or the
 * status of an evaluation that failed (the detail names the policy, the
 * constraint, its message and the column). Holds no lock. */
int quota__policy_applies(const quota__policy *p, const quota_doc *const *vars, uint32_t nvars);

/* Strings rendered for one use, freed together. */
typedef struct quota__strs {
	char **v;
	uint32_t n, cap;
} quota__strs;
void quota__strs_free(quota__strs *s);

/* The value of field f of policy p: its text when literal, else what it
 * renders (kept in *keep). */
int quota__tfield_render(const quota__policy *p, const quota__tfield *f,
			 const quota_doc *const *vars, uint32_t nvars, quota__strs *keep,
			 const char **out);

/* ---- claims (policy-claim.c) ---- */

/* The claim claim policy p renders for trigger t, in one allocation that
 * owns its strings (the claim set checks it as a claim). The detail names
 * the policy and the field. Holds no lock but what the caller holds. */
int quota__claim_render(const quota__policy *p, const quota__trigger *t,
			const quota_doc *const *vars, quota_claim **out);
/* A deep copy of a claim (pack.h). */
struct quota__pack;
quota_claim *quota__pack_claim(struct quota__pack *p, const quota_claim *src);

/* The suffix a generateName gets for policy and trigger identity: the same
 * in every engine and process. */
void quota__name_suffix(const char *policy, const char *identity, char out[QUOTA__SUFFIX_LEN + 1]);

#endif
