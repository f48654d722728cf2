/*
 * Changes of registrations, grants and policies applied as one: the frame
 * that registration.c, grant.c and policy.c fill.
 * SPDX-License-Identifier: MIT
 */
#include "txn.h"

#include <string.h>

#include "alloc.h"
#include "error.h"

void quota__txn_begin(quota_engine *e, quota__txn *t)
{
	memset(t, 0, sizeof *t);
	t->e = e;
	quota__rw_write(&e->config);
}

int quota__txn_reserve(void **arr, uint32_t *cap, uint32_t want, size_t each)
{
	if (want <= *cap)
		return QUOTA_OK;
	uint32_t grown = *cap ? *cap : 4;
	while (grown < want)
		grown = grown > UINT32_MAX / 2 ? want : grown * 2;
	void *p = quota__calloc(grown, each);
	if (!p)
		return QUOTA_ERR_NOMEM;
	if (*cap)
		memcpy(p, *arr, *cap * each);
	quota__free(*arr);
	*arr = p;
	*cap = grown;
	return QUOTA_OK;
}

const quota_registration *quota__txn_reg_spec(const quota__txn *t, const quota__reg *r)
{
	for (uint32_t i = 0; i < t->reg_count; i++)
		if (t->regs[i].reg == r && t->regs[i].next)
			return t->regs[i].next;
	return r->pub;
}

static void txn_free(quota__txn *t)
{
	quota__free(t->regs);
	quota__free(t->grants);
	quota__free(t->changes);
	quota__free(t->policies);
	t->regs = NULL;
	t->grants = NULL;
	t->changes = NULL;
	t->policies = NULL;
}

void quota__txn_commit(quota__txn *t)
{
	quota_engine *e = t->e;
	if (t->broken) {
		quota__txn_abort(t);
		return;
	}
	quota__lockset ls = {0};
	int all = quota__txn_regs_update(t) || quota__txn_grants_lock_all(t, &ls);
	int64_t now = quota__now(e);
	if (all)
		quota__lock_all(e);
	else
		quota__lockset_lock(e, &ls);
	quota__txn_grants_commit(t, now);
	quota__txn_regs_commit(t, now);
	if (all)
		quota__unlock_all(e);
	else
		quota__lockset_unlock(e, &ls);
	quota__txn_policies_commit(t);
	quota__txn_grants_finish(t);
	quota__txn_regs_finish(t);
	quota__txn_policies_finish(t);
	int after = !t->defer_after;
	txn_free(t);
	quota__rw_write_done(&e->config);
	if (after)
		quota__after(e);
}

void quota__txn_abort(quota__txn *t)
{
	quota_engine *e = t->e;
	quota__txn_policies_abort(t);
	quota__txn_grants_abort(t);
	quota__txn_regs_abort(t);
	int after = !t->defer_after;
	txn_free(t);
	quota__rw_write_done(&e->config);
	if (after)
		quota__after(e);
}

int quota__txn_end(quota__txn *t, int rc)
{
	if (rc == QUOTA_OK)
		quota__txn_commit(t);
	else
		quota__txn_abort(t);
	return rc;
}
