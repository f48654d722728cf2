/*
 * Admission (Pattern 1): the claim policies for a trigger are evaluated
 * and their claims rendered under the store's read lock, which is released
 * before the claims are decided as one claim set, so that no expression
 * runs under an engine lock and the event callback that the set may call
 * can use the engine. The answer is allowed, or denied with a message in
 * Milo's shape.
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "api.h"
#include "claim.h"
#include "doc.h"
#include "engine.h"
#include "error.h"
#include "pack.h"
#include "policy.h"

#define ADMIT_FLAGS (QUOTA_ADMIT_DRY_RUN | QUOTA_ADMIT_RESERVE_ONLY)

/* A policy that failed: its name and the detail. */
typedef struct failure {
	int rc; /* 0: none */
	char policy[QUOTA__NAME_MAX + 1];
	char detail[QUOTA__ERROR_MAX];
} failure;

/* A rendered claim and the policy it came from. */
typedef struct member {
	quota_claim *claim;
	char *policy;
	int fail_open;
} member;

typedef struct admission {
	quota_admission a;
	quota__trigger t;
	const quota_doc *vars[QUOTA__CLAIM_VARS];
	member m[QUOTA_MAX_CLAIM_SET];
	uint32_t n;
	failure closed, open; /* the first of each */
	quota_answer ans;
	int32_t which;   /* the member a CONFLICT is about */
	size_t reserved; /* the room result_alloc() made */
	char set_detail[QUOTA__ERROR_MAX];
} admission;

/* Policy name failed with status rc (the detail says how). */
static void policy_failed(admission *st, const char *name, int fail_open, int rc)
{
	failure *f = fail_open ? &st->open : &st->closed;
	if (f->rc)
		return;
	f->rc = rc;
	snprintf(f->policy, sizeof f->policy, "%s", name);
	snprintf(f->detail, sizeof f->detail, "%s", quota_last_error());
}

/* Evaluate the claim policies of the trigger's apiVersion and kind, in the
 * order of their names, and render the claims of those that apply. Stops
 * at the first policy that fails closed. */
static int evaluate(quota_engine *e, admission *st)
{
	quota__policies *s = e->policies;
	int rc = QUOTA_OK;
	quota__rw_read(&s->lock);
	uint32_t first,
		count = quota__policy_range(&s->claims, st->t.api_version, st->t.kind, &first);
	for (uint32_t i = first; i < first + count && !st->closed.rc && !rc; i++) {
		const quota__policy *p = s->claims.v[i];
		if (p->flags & QUOTA_POLICY_DISABLED)
			continue;
		quota_claim *c = NULL;
		int r = quota__policy_applies(p, st->vars, QUOTA__CLAIM_VARS);
		if (r == 0)
			continue;
		if (r == 1 && st->n == QUOTA_MAX_CLAIM_SET)
			r = quota__fail(
				QUOTA_ERR_INVALID,
				"policy %s: more than %d claim policies apply to one object",
				p->name, QUOTA_MAX_CLAIM_SET);
		else if (r == 1)
			r = quota__claim_render(p, &st->t, st->vars, &c);
		if (r == QUOTA_ERR_NOMEM) {
			rc = r; /* not the policy's fault: the admission fails */
		} else if (r != QUOTA_OK) {
			policy_failed(st, p->name, (p->flags & QUOTA_POLICY_FAIL_OPEN) != 0, r);
		} else if (!(st->m[st->n].policy = quota__strdup(p->name))) {
			quota__free(c);
			rc = quota__fail(QUOTA_ERR_NOMEM, "admission: out of memory");
		} else {
			member *m = &st->m[st->n++];
			m->claim = c;
			m->fail_open = (p->flags & QUOTA_POLICY_FAIL_OPEN) != 0;
		}
	}
	quota__rw_read_done(&s->lock);
	return rc;
}

/* The detail of a claim set error without its "claims[i]: " prefix. */
static const char *member_detail(void)
{
	const char *d = quota_last_error();
	const char *end = strncmp(d, "claims[", 7) == 0 ? strstr(d, "]: ") : NULL;
	return end ? end + 3 : d;
}

/* Decide the rendered claims as one set. A member that is not a valid
 * claim fails its policy: a fail-open one is left out and the rest
 * decided again. */
static int decide(quota_engine *e, admission *st)
{
	enum admit_mode mode = (st->a.flags & QUOTA_ADMIT_DRY_RUN)        ? ADMIT_CHECK
			       : (st->a.flags & QUOTA_ADMIT_RESERVE_ONLY) ? ADMIT_RESERVE
									  : ADMIT_ACQUIRE;
	quota_claim claims[QUOTA_MAX_CLAIM_SET];
	while (st->n > 0) {
		/* The rendered claim carries the TTL so the answer shows it. */
		for (uint32_t i = 0; i < st->n; i++) {
			st->m[i].claim->ttl_ms = mode == ADMIT_RESERVE ? st->a.ttl_ms : 0;
			claims[i] = *st->m[i].claim;
		}
		int rc = quota__claim_set_decide(e, claims, st->n, mode, &st->ans, &st->which);
		if (rc)
			snprintf(st->set_detail, sizeof st->set_detail, "%s", quota_last_error());
		if (!((rc == QUOTA_ERR_INVALID || rc == QUOTA_ERR_UNREGISTERED ||
		       rc == QUOTA_ERR_NOT_ALLOWED) &&
		      st->which >= 0))
			return rc;
		member *m = &st->m[st->which];
		char detail[QUOTA__ERROR_MAX];
		snprintf(detail, sizeof detail, "%s", member_detail());
		quota__fail(rc, "policy %s: the claim it renders: %s", m->policy, detail);
		policy_failed(st, m->policy, m->fail_open, rc);
		if (!m->fail_open)
			return QUOTA_ERR_EVAL;
		quota__free(m->claim);
		quota__free(m->policy);
		memmove(m, m + 1, (st->n - (uint32_t)st->which - 1) * sizeof *m);
		st->n--;
	}
	quota__answer_reset(&st->ans);
	return QUOTA_OK;
}

/* The longest message: the 403 prefix (resource, group and name) and a
 * reason or a failure's detail. */
#define MESSAGE_MAX (3 * QUOTA__NAME_MAX + 64 + QUOTA__ERROR_MAX + 256)

/* Append to a fixed buffer; what does not fit is cut. */
__attribute__((format(printf, 2, 3))) static void put(char *msg, const char *fmt, ...)
{
	size_t n = strlen(msg);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + n, MESSAGE_MAX - n, fmt, ap);
	va_end(ap);
}

/* "<resource>.<group> "<name>" is forbidden: " (no ".<group>" for the
 * core group), with resource and group from requestInfo when it has them. */
static void put_forbidden(char *msg, const admission *st)
{
	const char *resource = quota__doc_string_at(st->a.request_info, "resource");
	const char *group = quota__doc_string_at(st->a.request_info, "apiGroup");
	char lower[QUOTA__NAME_MAX + 1];
	if (quota__empty(resource)) {
		size_t i = 0;
		for (; st->t.kind[i] && i < sizeof lower - 1; i++)
			lower[i] = st->t.kind[i] >= 'A' && st->t.kind[i] <= 'Z'
					   ? (char)(st->t.kind[i] - 'A' + 'a')
					   : st->t.kind[i];
		lower[i] = '\0';
		resource = lower;
	}
	if (!group)
		group = st->t.group;
	put(msg, "%.253s%s%.253s \"%.253s\" is forbidden: ", resource, *group ? "." : "", group,
	    st->t.name ? st->t.name : quota__str(st->t.generate_name));
}

/* The resource type of the request that binds, or "". */
static const char *binding_type(const admission *st)
{
	const quota_answer *a = &st->ans;
	if (a->binding_claim < 0 || (uint32_t)a->binding_claim >= st->n || a->binding_request < 0)
		return "";
	const quota_claim *c = st->m[a->binding_claim].claim;
	if ((uint32_t)a->binding_request >= c->request_count)
		return "";
	return c->requests[a->binding_request].resource_type;
}

/* Why the claims were denied, as Milo words it where it has words. */
static void put_reason(char *msg, int rc, const admission *st)
{
	const quota_answer *a = &st->ans;
	const char *type = binding_type(st);
	if (rc == QUOTA_ERR_EXCEEDED) {
		put(msg,
		    "You've reached your quota for this resource type (%s): requested %lld, "
		    "available %lld, limit %lld",
		    type, (long long)a->requested, (long long)a->available, (long long)a->limit);
	} else if (rc == QUOTA_ERR_RATE_LIMITED && a->retry_after_ms < 0) {
		put(msg,
		    "You've reached your rate limit for this resource type (%s): requested %lld, "
		    "more than %lld per %lld ms ever lets through",
		    type, (long long)a->requested, (long long)a->limit, (long long)a->period_ms);
	} else if (rc == QUOTA_ERR_RATE_LIMITED) {
		put(msg,
		    "You've reached your rate limit for this resource type (%s): requested %lld, "
		    "available %lld of %lld per %lld ms; retry after %lld ms",
		    type, (long long)a->requested, (long long)a->available, (long long)a->limit,
		    (long long)a->period_ms, (long long)a->retry_after_ms);
	} else if (rc == QUOTA_ERR_CONFLICT && st->which >= 0) {
		const quota_claim *c = st->m[st->which].claim;
		put(msg, "quota claim %s/%s exists with a different spec", c->ns, c->name);
	} else {
		put(msg, "%s", st->set_detail);
	}
}

static quota_admission_result *pack_result(quota__pack *p, const admission *st, int outcome,
					   const char *message, size_t message_len,
					   const char *policy, size_t policy_len)
{
	quota_admission_result *r = quota__pack_take(p, sizeof *r);
	quota_admission_result x = {0};
	x.size = sizeof x;
	x.outcome = outcome;
	x.allowed = outcome != QUOTA_ADMIT_DENIED && outcome != QUOTA_ADMIT_FAILED_CLOSED;
	x.message = quota__pack_strn(p, message, message_len);
	x.policy = quota__pack_strn(p, policy, policy_len);
	x.answer = st->ans;
	x.claim_count = st->n;
	quota_claim **claims = quota__pack_take(p, st->n * sizeof *claims);
	for (uint32_t i = 0; i < st->n; i++) {
		quota_claim *c = quota__pack_claim(p, st->m[i].claim);
		if (claims)
			claims[i] = c;
	}
	x.claims = claims;
	if (r)
		*r = x;
	return r;
}

/* The longest message of an admission that was allowed. */
#define OPEN_PREFIX "the quota policy failed and was left out (fail open): "
#define ALLOWED_MESSAGE_MAX (sizeof OPEN_PREFIX + QUOTA__ERROR_MAX)

/* Allocate the result before the claims are decided, as large as the
 * result of any allowed admission can be (fewer claims and shorter
 * strings only take less), so that nothing can fail once they are
 * charged. A denial, which charges nothing, may need more: finish()
 * allocates again then. */
static int result_alloc(admission *st, quota__pack *p)
{
	/* Measuring reads no string, only lengths. */
	pack_result(p, st, 0, "", ALLOWED_MESSAGE_MAX - 1, "", QUOTA__NAME_MAX);
	st->reserved = p->off;
	if (quota__pack_begin_write(p))
		return quota__fail(QUOTA_ERR_NOMEM, "admission: out of memory");
	return QUOTA_OK;
}

/* The result of a decided admission (rc: the decision's status), written
 * into the block result_alloc() made. */
static int finish(quota_engine *e, admission *st, int rc, quota__pack *p,
		  quota_admission_result **out)
{
	int outcome;
	const char *policy = "";
	char msg[MESSAGE_MAX] = "";
	if (st->closed.rc) {
		outcome = QUOTA_ADMIT_FAILED_CLOSED;
		policy = st->closed.policy;
		put_forbidden(msg, st);
		put(msg, "the quota policy failed: %s", st->closed.detail);
		rc = QUOTA_ERR_EVAL;
	} else if (rc != QUOTA_OK) {
		outcome = QUOTA_ADMIT_DENIED;
		int32_t who = rc == QUOTA_ERR_CONFLICT ? st->which : st->ans.binding_claim;
		if (who >= 0 && (uint32_t)who < st->n)
			policy = st->m[who].policy;
		put_forbidden(msg, st);
		put_reason(msg, rc, st);
	} else if (st->open.rc) {
		outcome = QUOTA_ADMIT_FAILED_OPEN;
		policy = st->open.policy;
		snprintf(msg, ALLOWED_MESSAGE_MAX, OPEN_PREFIX "%s", st->open.detail);
	} else {
		outcome = st->n ? QUOTA_ADMIT_ALLOWED : QUOTA_ADMIT_NO_POLICY;
	}
	quota__pack need = {0};
	pack_result(&need, st, outcome, msg, strlen(msg), policy, strlen(policy));
	if (need.off > st->reserved) {
		/* a denial: nothing is held, so running out of memory is harmless */
		quota__free(p->base);
		p->base = NULL;
		p->off = need.off;
		if (quota__pack_begin_write(p))
			return quota__fail(QUOTA_ERR_NOMEM, "admission: out of memory");
	}
	*out = pack_result(p, st, outcome, msg, strlen(msg), policy, strlen(policy));
	if (!(st->a.flags & QUOTA_ADMIT_DRY_RUN)) {
		static const enum quota__counter counters[] = {
			[QUOTA_ADMIT_NO_POLICY] = QC_ADMIT_NO_POLICY,
			[QUOTA_ADMIT_ALLOWED] = QC_ADMIT_ALLOWED,
			[QUOTA_ADMIT_DENIED] = QC_ADMIT_DENIED,
			[QUOTA_ADMIT_FAILED_CLOSED] = QC_ADMIT_FAILED_CLOSED,
			[QUOTA_ADMIT_FAILED_OPEN] = QC_ADMIT_FAILED_OPEN};
		quota__count(e, counters[outcome]);
	}
	p->base = NULL; /* the caller's now */
	if (rc != QUOTA_OK)
		quota__fail(rc, "%s", msg);
	return rc;
}

/* Whether status rc of a decision is an answer (with a result), rather
 * than a failure to decide. */
static int decided(int rc, const admission *st)
{
	return rc == QUOTA_OK || rc == QUOTA_ERR_EXCEEDED || rc == QUOTA_ERR_RATE_LIMITED ||
	       rc == QUOTA_ERR_CONFLICT || rc == QUOTA_ERR_OVERFLOW ||
	       (rc == QUOTA_ERR_EVAL && st->closed.rc);
}

static int check_admission(const quota_admission *in, admission *st)
{
	int rc;
	if ((rc = quota__copy_in("admission", &st->a, sizeof st->a, in, sizeof st->a)))
		return rc;
	if (st->a.flags & ~(uint32_t)ADMIT_FLAGS)
		return quota__fail(QUOTA_ERR_INVALID, "admission.flags: unknown bits 0x%x",
				   st->a.flags & ~(uint32_t)ADMIT_FLAGS);
	if ((st->a.flags & ADMIT_FLAGS) == ADMIT_FLAGS)
		return quota__fail(QUOTA_ERR_INVALID,
				   "admission.flags: a dry run reserves nothing (DRY_RUN and "
				   "RESERVE_ONLY exclude each other)");
	if (st->a.reserved_flags)
		return quota__fail(QUOTA_ERR_INVALID, "admission.reserved_flags: must be 0");
	if (st->a.ttl_ms < 0)
		return quota__fail(QUOTA_ERR_INVALID, "admission.ttl_ms: must be >= 0, got %lld",
				   (long long)st->a.ttl_ms);
	if ((rc = quota__trigger_read(st->a.trigger, &st->t)))
		return quota__fail_prefix(rc, "admission");
	st->vars[0] = st->a.trigger;
	st->vars[1] = st->a.user ? st->a.user : &quota__doc_null;
	st->vars[2] = st->a.request_info ? st->a.request_info : &quota__doc_null;
	return QUOTA_OK;
}

int quota__impl_admit(quota_engine *e, const quota_admission *a, quota_admission_result **out)
{
	if (!e || !out)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL", e ? "out" : "engine");
	*out = NULL;
	/* On the stack, not zeroed: what is read is set first. */
	admission state, *st = &state;
	st->n = 0;
	st->closed.rc = st->open.rc = 0;
	st->which = -1;
	st->ans.size = sizeof st->ans;
	quota__answer_reset(&st->ans);
	quota__pack p = {0};
	int rc = check_admission(a, st);
	if (!rc)
		rc = evaluate(e, st);
	if (!rc)
		rc = result_alloc(st, &p);
	if (!rc) {
		rc = st->closed.rc ? QUOTA_ERR_EVAL : decide(e, st);
		if (decided(rc, st))
			rc = finish(e, st, rc, &p, out);
	}
	quota__free(p.base);
	for (uint32_t i = 0; i < st->n; i++) {
		quota__free(st->m[i].claim);
		quota__free(st->m[i].policy);
	}
	return rc;
}
