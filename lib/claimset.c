/*
 * Claim sets: several claims reserved (or acquired) as one.
 *
 * Every member is resolved and allocated first; then, under the locks of
 * every stripe any member touches, the set is decided on what it needs in
 * total at each bucket (members may share buckets, levels, selector
 * buckets and rate limits), and either every member is charged or none.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "api.h"
#include "claim.h"
#include "error.h"

/* One bucket the set charges and what the whole set needs there; claim and
 * request name the first request that charges it. */
typedef struct need {
	quota__bucket *b;
	int64_t total;
	uint32_t claim, request;
} need;

typedef struct member {
	quota_claim c; /* the checked copy */
	claim_lens len;
	char key[QUOTA__NAME_KEY_MAX + 1];
	size_t klen;
	uint64_t khash;
	quota__stripe *home;
	target t[QUOTA_MAX_REQUESTS];
	uint32_t levels[QUOTA_MAX_REQUESTS];
	charge_set cs;
	quota__claim *rec;      /* the new record, ours until inserted */
	quota__claim *old;      /* a live claim of that name and spec: taken as is */
	quota__claim *replaced; /* a released claim of that name, to be replaced */
	quota__event *ev;
} member;

/* Say which member a member's own error is about (also to *which). */
static int prefix(int rc, uint32_t i, int32_t *which)
{
	*which = (int32_t)i;
	return quota__fail_prefix(rc, "claims[%u]", i);
}

static int check_members(quota_engine *e, const quota_claim *in, uint32_t n, member *m,
			 quota__lockset *ls, int32_t *which)
{
	int rc;
	for (uint32_t i = 0; i < n; i++) {
		member *x = &m[i];
		if ((rc = quota__claim_check_in(quota__elem(in, i), &x->c, &x->len)))
			return prefix(rc, i, which);
		*which = (int32_t)i;
		if (x->c.flags & QUOTA_CLAIM_QUEUE)
			return quota__fail(QUOTA_ERR_INVALID,
					   "claims[%u].flags: a claim set is decided at once and "
					   "cannot queue",
					   i);
		x->klen = quota__name_key_len(x->key, x->c.ns, x->len.ns, x->c.name, x->len.name);
		for (uint32_t k = 0; k < i; k++)
			if (m[k].klen == x->klen && memcmp(m[k].key, x->key, x->klen) == 0)
				return quota__fail(QUOTA_ERR_INVALID,
						   "claims[%u]: %s/%s is also claims[%u]", i,
						   quota__str(x->c.ns), x->c.name, k);
		*which = -1;
		x->khash = quota__hash(e, x->key, x->klen);
		x->home = &e->stripes[quota__stripe_of(e, x->khash)];
		quota__lockset_add(ls, quota__stripe_of(e, x->khash));
	}
	return QUOTA_OK;
}

/* Whether member i takes part in the decision (a dry run decides all). */
static int deciding(const member *x, enum admit_mode mode)
{
	return mode == ADMIT_CHECK || !x->old;
}

/* Add amount at every bucket request j of member i charges. */
static int add_needs(const member *x, uint32_t i, uint32_t j, need *nd, uint32_t *count)
{
	const quota_request *r = quota__elem(x->c.requests, j);
	quota__bucket *tb[QUOTA__SELS_MAX + 1];
	for (uint32_t l = 0; l < x->t[j].levels; l++)
		for (uint32_t k = 0, nt = quota__level_targets(x->cs.b[j][l], r->dimensions,
							       r->dimension_count, tb);
		     k < nt; k++) {
			uint32_t at = 0;
			while (at < *count && nd[at].b != tb[k])
				at++;
			if (at == *count)
				nd[(*count)++] = (need){tb[k], 0, i, j};
			if (__builtin_add_overflow(nd[at].total, r->amount, &nd[at].total))
				return quota__fail(QUOTA_ERR_OVERFLOW,
						   "claims[%u].requests[%u].amount: the set's "
						   "amounts add up past INT64_MAX",
						   i, j);
		}
	return QUOTA_OK;
}

/* The decision for the whole set, on its totals; caller holds every lock. */
static int decide_set(const member *m, uint32_t n, enum admit_mode mode, int64_t now,
		      quota_answer *ans)
{
	uint32_t room = 0, count = 0;
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; deciding(&m[i], mode) && j < m[i].c.request_count; j++)
			for (uint32_t l = 0; l < m[i].t[j].levels; l++)
				room += 1 + quota__bucket_sel_count(m[i].cs.b[j][l]);
	if (room == 0)
		return QUOTA_OK;
	need *nd = quota__malloc(room * sizeof *nd);
	if (!nd)
		return quota__fail(QUOTA_ERR_NOMEM, "claims: out of memory");
	int rc = QUOTA_OK, warned = 0;
	for (uint32_t i = 0; i < n && !rc; i++)
		for (uint32_t j = 0; deciding(&m[i], mode) && j < m[i].c.request_count && !rc; j++)
			rc = add_needs(&m[i], i, j, nd, &count);
	for (uint32_t k = 0; k < count && !rc; k++) {
		quota__verdict v;
		rc = quota__bucket_decide(nd[k].b, nd[k].total, now, &v);
		if (rc) {
			char field[48];
			snprintf(field, sizeof field, "claims[%u].requests[%u].amount", nd[k].claim,
				 nd[k].request);
			quota__answer_verdict(ans, rc, (int)nd[k].request, nd[k].b, nd[k].total, &v);
			ans->binding_claim = (int32_t)nd[k].claim;
			rc = quota__fail_decision(rc, nd[k].b, &v, field, nd[k].total);
		} else if (v.warned && !warned) {
			quota__answer_verdict(ans, QUOTA_OK, (int)nd[k].request, nd[k].b, nd[k].total,
					      &v);
			ans->binding_claim = (int32_t)nd[k].claim;
			ans->flags |= QUOTA_ANSWER_WARNED;
			warned = 1;
		}
	}
	quota__free(nd);
	return rc;
}

/* Look for existing claims of the members' names. 1 when one has expired
 * but not been swept yet (the caller sweeps and tries again). */
static int find_existing(member *m, uint32_t n, int64_t now, int *rc, int32_t *which)
{
	for (uint32_t i = 0; i < n; i++) {
		member *x = &m[i];
		quota__claim *old = quota__claim_find(x->home, x->khash, x->key, x->klen, now);
		x->old = x->replaced = NULL;
		if (old && old->state != QUOTA_CLAIM_GRANTED && old->state != QUOTA_CLAIM_RELEASED &&
		    old->expires_ns && old->expires_ns <= now)
			return 1;
		if (old && old->state == QUOTA_CLAIM_RELEASED) {
			x->replaced = old;
		} else if (old && !quota__claim_same_spec(old, &x->c)) {
			*which = (int32_t)i;
			*rc = quota__fail(QUOTA_ERR_CONFLICT,
					  "claims[%u]: claim %s/%s exists with a different spec", i,
					  quota__str(x->c.ns), x->c.name);
			return 0;
		} else {
			x->old = old;
		}
	}
	return 0;
}

static void unbind_all(quota_engine *e, member *m, uint32_t n)
{
	for (uint32_t i = n; i-- > 0;)
		quota__claim_unbind(e, &m[i].cs);
}

/* Charge every member that is new, commit existing reservations when
 * acquiring; returns the state all members share, or 0. */
static int32_t apply_set(quota_engine *e, member *m, uint32_t n, enum admit_mode mode,
			 int64_t now, quota__claim **gone)
{
	int32_t state = -1;
	int granted = mode == ADMIT_ACQUIRE;
	for (uint32_t i = 0; i < n; i++) {
		member *x = &m[i];
		if (x->old) {
			if (granted && x->old->state == QUOTA_CLAIM_RESERVED) {
				quota__claim_commit_held(x->old, now);
				quota__event_post(e, x->ev, QUOTA_EVENT_GRANTED, QUOTA_CLAIM_RESERVED,
						  x->old->state);
				x->ev = NULL;
			}
		} else {
			quota__claim *rec = x->rec;
			quota__claim_attach(rec, &x->c, x->t, &x->cs);
			if (x->replaced) {
				quota__table_remove(&x->home->claims, &x->replaced->node);
				gone[i] = x->replaced;
			}
			rec->created_ns = rec->updated_ns = now;
			quota__claim_charge_held(rec, granted, now);
			rec->state = granted ? QUOTA_CLAIM_GRANTED : QUOTA_CLAIM_RESERVED;
			quota__claim_start_ttl(e, rec, now);
			quota__event_post(e, x->ev, granted ? QUOTA_EVENT_GRANTED : QUOTA_EVENT_RESERVED,
					  0, rec->state);
			x->ev = NULL;
			quota__table_insert(&x->home->claims, &rec->node);
			x->rec = NULL;
		}
		int32_t s = x->old ? x->old->state : granted ? QUOTA_CLAIM_GRANTED : QUOTA_CLAIM_RESERVED;
		state = state == -1 || state == s ? s : 0;
	}
	return state;
}

static int prepare_records(quota_engine *e, member *m, uint32_t n, enum admit_mode mode)
{
	int rc;
	for (uint32_t i = 0; mode != ADMIT_CHECK && i < n; i++) {
		member *x = &m[i];
		if (!(x->rec = quota__claim_new(e, &x->c, &x->len, x->levels, x->khash)))
			return quota__fail(QUOTA_ERR_NOMEM, "claims: out of memory");
		x->rec->flags = x->c.flags;
		x->rec->ttl_ns = mode == ADMIT_RESERVE ? x->c.ttl_ms * 1000000 : 0;
		if ((rc = quota__event_prepare(e, x->key, x->klen, &x->ev)))
			return rc;
	}
	return QUOTA_OK;
}

int quota__claim_set_decide(quota_engine *e, const quota_claim *in, uint32_t n,
			    enum admit_mode mode, quota_answer *ans, int32_t *which)
{
	quota_answer local;
	int32_t which_local;
	quota__claim *gone[QUOTA_MAX_CLAIM_SET] = {0};
	quota__lockset ls = {0};
	int rc, all;
	if (!ans) {
		local.size = sizeof local;
		ans = &local;
	}
	if (!which)
		which = &which_local;
	*which = -1;
	if ((rc = quota__answer_reset(ans)))
		return rc;
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	if (n < 1 || n > QUOTA_MAX_CLAIM_SET)
		return quota__fail(QUOTA_ERR_INVALID, "claims: %u claims, need 1-%d", n,
				   QUOTA_MAX_CLAIM_SET);
	if ((rc = quota__check_array("claims", in, n, sizeof(quota_claim))))
		return rc;
	member *m = quota__calloc(n, sizeof *m);
	if (!m)
		return quota__fail(QUOTA_ERR_NOMEM, "claims: out of memory");
	if ((rc = check_members(e, in, n, m, &ls, which)))
		goto out_free;

	quota__rw_read(&e->config);
	for (uint32_t i = 0; i < n && !rc; i++) {
		if ((rc = quota__claim_resolve(e, &m[i].c, &m[i].len, m[i].t, &ls)))
			rc = prefix(rc, i, which);
		for (uint32_t j = 0; j < m[i].c.request_count; j++)
			m[i].levels[j] = m[i].t[j].levels;
	}
	/* A set whose stripes do not fit one lock set takes them all. */
	all = ls.n == QUOTA__LOCKSET_MAX;
	if (!rc)
		rc = prepare_records(e, m, n, mode);
	for (int attempt = 0; !rc; attempt++) {
		int64_t now = quota__now(e);
		uint64_t epoch = quota__epoch(e);
		if (all)
			quota__lock_all(e);
		else
			quota__lockset_lock(e, &ls);
		int expired = mode != ADMIT_CHECK && find_existing(m, n, now, &rc, which);
		if (expired || rc) {
			if (all)
				quota__unlock_all(e);
			else
				quota__lockset_unlock(e, &ls);
			if (!expired)
				break;
			/* An expired reservation of a member's name: sweep it, then
			 * look again (a sweep that ends nothing had no memory). */
			quota__sweep(e, now);
			if (quota__epoch(e) == epoch)
				rc = quota__fail(QUOTA_ERR_NOMEM,
						 "claims: out of memory expiring an earlier claim");
			continue;
		}
		uint32_t existed = 0;
		for (uint32_t i = 0; i < n && !rc; i++) {
			m[i].cs.made_count = 0;
			if (deciding(&m[i], mode))
				rc = quota__claim_bind(e, &m[i].c, m[i].t, &m[i].cs);
			else
				existed++;
		}
		if (!rc)
			rc = decide_set(m, n, mode, now, ans);
		if (rc || mode == ADMIT_CHECK) {
			unbind_all(e, m, n); /* a denial or a dry run leaves nothing */
			if (all)
				quota__unlock_all(e);
			else
				quota__lockset_unlock(e, &ls);
			if (attempt == 0 && quota__expired_may_help(e, rc, epoch)) {
				quota__answer_reset(ans);
				rc = QUOTA_OK;
				continue;
			}
			if (!rc)
				ans->state = QUOTA_CLAIM_GRANTED;
			break;
		}
		ans->state = apply_set(e, m, n, mode, now, gone);
		if (existed == n)
			ans->flags |= QUOTA_ANSWER_EXISTED;
		if (all)
			quota__unlock_all(e);
		else
			quota__lockset_unlock(e, &ls);
		break;
	}
	quota__rw_read_done(&e->config);
	ans->status = rc;
	if (!(ans->flags & QUOTA_ANSWER_EXISTED))
		quota__count_decision(e, rc, ans, m[ans->binding_claim > 0 ? ans->binding_claim : 0].key);
out_free:
	for (uint32_t i = 0; i < n; i++) {
		quota__free(m[i].rec);
		quota__free(m[i].ev);
		quota__free(gone[i]);
	}
	quota__free(m);
	quota__after(e);
	ans->status = rc;
	return rc;
}

int quota__impl_claim_set_reserve(quota_engine *e, const quota_claim *claims, uint32_t count,
				      quota_answer *answer)
{
	return quota__claim_set_decide(e, claims, count, ADMIT_RESERVE, answer, NULL);
}

int quota__impl_claim_set_acquire(quota_engine *e, const quota_claim *claims, uint32_t count,
				      quota_answer *answer)
{
	return quota__claim_set_decide(e, claims, count, ADMIT_ACQUIRE, answer, NULL);
}

int quota__impl_claim_set_check(quota_engine *e, const quota_claim *claims, uint32_t count,
				    quota_answer *answer)
{
	return quota__claim_set_decide(e, claims, count, ADMIT_CHECK, answer, NULL);
}
