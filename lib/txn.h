/*
 * Changes of registrations, grants and policies applied as one.
 *
 * A transaction holds the config lock for writing from begin to its end.
 * The prepare calls (quota__txn_registration, quota__txn_grant,
 * quota__txn_grant_delete) check everything and make every allocation the
 * change needs, seeing what the transaction prepared before them (a grant
 * may name a type registered earlier in the same transaction). Commit
 * cannot fail: it swaps the prepared state in under the stripe locks, so
 * that no decision sees half of it. Abort leaves the engine exactly as it
 * was. After a failed prepare the transaction is only fit for abort (commit
 * aborts it).
 *
 * The single-object calls (quota_registration_create, quota_grant_apply,
 * quota_grant_delete, ...) are transactions of one change.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_TXN_H
#define QUOTA_LIB_TXN_H

#include "engine.h"

/* One bucket touched by the grant changes of a transaction. */
typedef struct quota__change {
	quota__bucket *bucket; /* existing, or new when fresh */
	int fresh;
	uint32_t added_by; /* 1 + the grant op whose new spec last gave to it; 0 none */
	quota__contrib *contribs;
	uint32_t contrib_count;
	int64_t limit;
	int32_t action;
	uint32_t limiter_count;
	quota__limiter *limiters;
	quota__bucket **sels_block;   /* room for a base's first selector buckets */
	quota__bucket_ext *ext_block; /* and its side block, when it has none */
	quota__bucket *dropped;       /* a selector bucket left empty: freed after */
} quota__change;

/* A registration the transaction creates (reg fresh, inserted into the
 * table while the transaction lasts) or updates (next: its new spec). */
typedef struct quota__reg_op {
	quota__reg *reg;
	quota_registration *next;
	int fresh;
} quota__reg_op;

/* A grant the transaction creates (rec: its fresh record), replaces (old)
 * or deletes (next NULL); or, owner_only, leaves as it is but for its
 * owner. owner: who made it, recorded at commit (NULL: unchanged). */
typedef struct quota__grant_op {
	quota__grant *old;
	quota__grant *rec;
	quota_grant *next;
	char *owner;
	int owner_only;
} quota__grant_op;

/* A claim or grant policy the transaction creates or replaces: p
 * compiled, with the generation it will have; old: the one it replaced,
 * set by commit and freed by finish. */
struct quota__policy;
typedef struct quota__policy_op {
	struct quota__policy *p;
	struct quota__policy *old;
} quota__policy_op;

typedef struct quota__txn {
	quota_engine *e;
	int broken; /* a prepare failed: only abort remains */
	quota__reg_op *regs;
	uint32_t reg_count, reg_cap;
	quota__grant_op *grants;
	uint32_t grant_count, grant_cap;
	quota__change *changes;
	uint32_t change_count, change_cap;
	quota__policy_op *policies;
	uint32_t policy_count, policy_cap;
	/* Set by a caller that holds a lock above config (policies->lock):
	 * commit and abort leave quota__after() to it, to run once it has let
	 * go, so that no event handler runs under that lock. */
	int defer_after;
	/* Restoring a snapshot (snapshot.c): new registrations, grants and
	 * policies keep the generation their spec carries (when > 0) instead
	 * of starting at 1. */
	int restoring;
} quota__txn;

/* Take the config lock for writing. A caller holding policies->lock takes
 * it first (engine.h); nothing else may be held. */
void quota__txn_begin(quota_engine *e, quota__txn *t);
/* Create or update a registration (must_exist: update only). */
int quota__txn_registration(quota__txn *t, const quota_registration *r, int must_exist);
/* Create or replace a grant; *generation (may be NULL) gets the
 * generation it will have. owner: recorded as who made the grant (a grant
 * policy, for a trigger object; see quota__grant_owner()), also when the
 * grant itself does not change; NULL keeps what was recorded. */
int quota__txn_grant(quota__txn *t, const quota_grant *g, const char *owner,
		     int64_t *generation);
/* Delete a grant. */
int quota__txn_grant_delete(quota__txn *t, const char *ns, const char *name);
/* Create or replace a policy of kind (QUOTA__CLAIM_POLICY or
 * QUOTA__GRANT_POLICY, policy.h; in: a quota_claim_policy or a
 * quota_grant_policy): checked and compiled as an apply does, and checked
 * against the registrations as the transaction leaves them. The caller
 * took policies->lock for writing before begin, and sets defer_after.
 * *generation (may be NULL) gets the generation it will have. */
int quota__txn_policy(quota__txn *t, int kind, const void *in, int64_t *generation);
/* Apply what was prepared, release the lock, deliver what follows (unless
 * defer_after). */
void quota__txn_commit(quota__txn *t);
/* Drop what was prepared and release the lock. */
void quota__txn_abort(quota__txn *t);
/* End with rc: commit when it is QUOTA_OK, else abort; returns rc. */
int quota__txn_end(quota__txn *t, int rc);

/* Grow an array of *cap elements of the given size to hold want; 0, or
 * QUOTA_ERR_NOMEM (the array unchanged). */
int quota__txn_reserve(void **arr, uint32_t *cap, uint32_t want, size_t each);

/* The spec a registration has once the transaction commits. */
const quota_registration *quota__txn_reg_spec(const quota__txn *t, const quota__reg *r);

/* The parts each module does (registration.c, grant.c, policy.c). The commit parts
 * run with every stripe the changes touch locked (all of them when
 * quota__txn_regs_update is set); the finish parts after. */
int quota__txn_regs_update(const quota__txn *t);
void quota__txn_regs_commit(quota__txn *t, int64_t now);
void quota__txn_regs_finish(quota__txn *t);
void quota__txn_regs_abort(quota__txn *t);
/* Whether committing the grant changes needs every stripe, else fill ls. */
int quota__txn_grants_lock_all(const quota__txn *t, quota__lockset *ls);
void quota__txn_grants_commit(quota__txn *t, int64_t now);
void quota__txn_grants_finish(quota__txn *t);
void quota__txn_grants_abort(quota__txn *t);
/* The policies (policy.c): commit puts them in the store (no stripe lock
 * needed: the caller holds policies->lock), finish frees those replaced. */
void quota__txn_policies_commit(quota__txn *t);
void quota__txn_policies_finish(quota__txn *t);
void quota__txn_policies_abort(quota__txn *t);

#endif
