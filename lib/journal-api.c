/*
 * The public calls that change an engine: each runs as a journaled call
 * on a durable engine (journal.h), and straight through on one in memory.
 * Replay reads each record back into the same call.
 * SPDX-License-Identifier: MIT
 */
#include "api.h"
#include "error.h"
#include "journal.h"

/*
 * The body of a wrapper: engine e, record op, the statement that writes
 * the arguments to c.w, and the call.
 */
#define JOURNALED(e, op, write_args, call)                                                         \
	do {                                                                                       \
		if (!(e) || !(e)->journal)                                                         \
			return call;                                                               \
		quota__jcall c;                                                                    \
		quota__jbegin((e), &c, (op));                                                      \
		if (!c.j)                                                                          \
			return call;                                                               \
		write_args;                                                                        \
		int rc_ = quota__jstart((e), &c);                                                  \
		if (rc_)                                                                           \
			return rc_;                                                                \
		return quota__jend((e), &c, call);                                                 \
	} while (0)

#define NO_ARGS ((void)0)

/* The hot entry points keep their journaled path in a function of its own
 * (named after them, with _journaled), so that an engine without a journal
 * pays one test and a jump: JOURNALED's frame is large. */
#define HOT(e, journaled, call)                                                                    \
	do {                                                                                       \
		if (__builtin_expect(!(e) || !(e)->journal, 1))                                    \
			return call;                                                               \
		return journaled;                                                                  \
	} while (0)
#define COLD __attribute__((noinline, cold))

static void w_target(quota__wbuf *w, const quota_ref *consumer, const char *type, int64_t n)
{
	quota__put_struct(w, &quota__shape_ref, consumer);
	quota__put_str(w, type);
	quota__put_i64(w, n);
}

/* The target of handle h, only read when the call is journaled. */
static void w_handle(quota__wbuf *w, const quota_bucket_handle *h, int64_t n)
{
	quota_ref consumer;
	const char *type;
	quota__handle_target(h, &consumer, &type);
	w_target(w, &consumer, type, n);
}

static void w_name(quota__wbuf *w, const char *ns, const char *name)
{
	quota__put_str(w, ns);
	quota__put_str(w, name);
}

/* ---- configuration ---- */

QUOTA_API int quota_registration_create(quota_engine *e, const quota_registration *r)
{
	JOURNALED(e, JOP_REG_CREATE, quota__put_struct(&c.w, &quota__shape_registration, r),
		  quota__impl_registration_create(e, r));
}

QUOTA_API int quota_registration_update(quota_engine *e, const quota_registration *r)
{
	JOURNALED(e, JOP_REG_UPDATE, quota__put_struct(&c.w, &quota__shape_registration, r),
		  quota__impl_registration_update(e, r));
}

QUOTA_API int quota_registration_delete(quota_engine *e, const char *resource_type)
{
	JOURNALED(e, JOP_REG_DELETE, quota__put_str(&c.w, resource_type),
		  quota__impl_registration_delete(e, resource_type));
}

QUOTA_API int quota_grant_apply(quota_engine *e, const quota_grant *g, int64_t *generation)
{
	JOURNALED(e, JOP_GRANT_APPLY, quota__put_struct(&c.w, &quota__shape_grant, g),
		  quota__impl_grant_apply(e, g, generation));
}

QUOTA_API int quota_grant_delete(quota_engine *e, const char *ns, const char *name)
{
	JOURNALED(e, JOP_GRANT_DELETE, w_name(&c.w, ns, name),
		  quota__impl_grant_delete(e, ns, name));
}

QUOTA_API int quota_consumer_set_parent(quota_engine *e, const quota_ref *child,
					const quota_ref *parent)
{
	JOURNALED(e, JOP_SET_PARENT,
		  (quota__put_struct(&c.w, &quota__shape_ref, child),
		   quota__put_struct(&c.w, &quota__shape_ref, parent)),
		  quota__impl_consumer_set_parent(e, child, parent));
}

QUOTA_API int quota_claim_policy_apply(quota_engine *e, const quota_claim_policy *p,
				       int64_t *generation)
{
	JOURNALED(e, JOP_CLAIM_POLICY_APPLY, quota__put_struct(&c.w, &quota__shape_claim_policy, p),
		  quota__impl_claim_policy_apply(e, p, generation));
}

QUOTA_API int quota_claim_policy_delete(quota_engine *e, const char *name)
{
	JOURNALED(e, JOP_CLAIM_POLICY_DELETE, quota__put_str(&c.w, name),
		  quota__impl_claim_policy_delete(e, name));
}

QUOTA_API int quota_grant_policy_apply(quota_engine *e, const quota_grant_policy *p,
				       int64_t *generation)
{
	JOURNALED(e, JOP_GRANT_POLICY_APPLY, quota__put_struct(&c.w, &quota__shape_grant_policy, p),
		  quota__impl_grant_policy_apply(e, p, generation));
}

QUOTA_API int quota_grant_policy_delete(quota_engine *e, const char *name)
{
	JOURNALED(e, JOP_GRANT_POLICY_DELETE, quota__put_str(&c.w, name),
		  quota__impl_grant_policy_delete(e, name));
}

QUOTA_API int quota_grant_policies_sync(quota_engine *e, const quota_doc *trigger, int32_t event,
					quota_grant_change ***changes, size_t *count)
{
	JOURNALED(e, JOP_GRANT_POLICY_SYNC,
		  (quota__put_doc(&c.w, trigger), quota__put_u32(&c.w, (uint32_t)event)),
		  quota__impl_grant_policies_sync(e, trigger, event, changes, count));
}

QUOTA_API int quota_json_load_doc(quota_engine *e, const quota_doc *doc,
				  const quota_json_options *opts, quota_json_result **out)
{
	JOURNALED(e, JOP_JSON_LOAD_DOC,
		  (quota__put_doc(&c.w, doc),
		   quota__put_struct(&c.w, &quota__shape_json_options, opts)),
		  quota__impl_json_load_doc(e, doc, opts, out));
}

QUOTA_API int quota_json_load(quota_engine *e, const char *text, size_t len,
			      const quota_json_options *opts, quota_json_result **out)
{
	if (!e || !e->journal)
		return quota__impl_json_load(e, text, len, opts, out);
	/* Recorded as the document it parses to: replay needs no parser. */
	quota_doc *doc;
	if (out)
		*out = NULL;
	int rc = quota_doc_parse_json(text, len, &doc);
	if (rc)
		return rc;
	rc = quota_json_load_doc(e, doc, opts, out);
	quota_doc_unref(doc);
	return rc;
}

/* ---- claims ---- */

QUOTA_API int quota_claim_reserve(quota_engine *e, const quota_claim *c_, quota_answer *answer)
{
	JOURNALED(e, JOP_RESERVE, quota__put_struct(&c.w, &quota__shape_claim, c_),
		  quota__impl_claim_reserve(e, c_, answer));
}

static COLD int claim_acquire_journaled(quota_engine *e, const quota_claim *c_,
					quota_answer *answer)
{
	JOURNALED(e, JOP_ACQUIRE, quota__put_struct(&c.w, &quota__shape_claim, c_),
		  quota__impl_claim_acquire(e, c_, answer));
}

QUOTA_API int quota_claim_acquire(quota_engine *e, const quota_claim *c_, quota_answer *answer)
{
	HOT(e, claim_acquire_journaled(e, c_, answer), quota__impl_claim_acquire(e, c_, answer));
}

QUOTA_API int quota_claim_check(quota_engine *e, const quota_claim *c_, quota_answer *answer)
{
	JOURNALED(e, JOP_CHECK, NO_ARGS, quota__impl_claim_check(e, c_, answer));
}

QUOTA_API int quota_claim_commit(quota_engine *e, const char *ns, const char *name,
				 const quota_request *actual, uint32_t actual_count)
{
	JOURNALED(e, JOP_COMMIT,
		  (w_name(&c.w, ns, name),
		   quota__put_array(&c.w, &quota__shape_request, actual, actual_count)),
		  quota__impl_claim_commit(e, ns, name, actual, actual_count));
}

static COLD int claim_release_journaled(quota_engine *e, const char *ns, const char *name)
{
	JOURNALED(e, JOP_RELEASE, w_name(&c.w, ns, name), quota__impl_claim_release(e, ns, name));
}

QUOTA_API int quota_claim_release(quota_engine *e, const char *ns, const char *name)
{
	HOT(e, claim_release_journaled(e, ns, name), quota__impl_claim_release(e, ns, name));
}

QUOTA_API int quota_claim_resize(quota_engine *e, const char *ns, const char *name,
				 const quota_request *requests, uint32_t request_count,
				 quota_answer *answer)
{
	JOURNALED(e, JOP_RESIZE,
		  (w_name(&c.w, ns, name),
		   quota__put_array(&c.w, &quota__shape_request, requests, request_count)),
		  quota__impl_claim_resize(e, ns, name, requests, request_count, answer));
}

QUOTA_API int quota_claim_set_reserve(quota_engine *e, const quota_claim *claims, uint32_t count,
				      quota_answer *answer)
{
	JOURNALED(e, JOP_SET_RESERVE, quota__put_array(&c.w, &quota__shape_claim, claims, count),
		  quota__impl_claim_set_reserve(e, claims, count, answer));
}

QUOTA_API int quota_claim_set_acquire(quota_engine *e, const quota_claim *claims, uint32_t count,
				      quota_answer *answer)
{
	JOURNALED(e, JOP_SET_ACQUIRE, quota__put_array(&c.w, &quota__shape_claim, claims, count),
		  quota__impl_claim_set_acquire(e, claims, count, answer));
}

QUOTA_API int quota_claim_set_check(quota_engine *e, const quota_claim *claims, uint32_t count,
				    quota_answer *answer)
{
	JOURNALED(e, JOP_CHECK, NO_ARGS, quota__impl_claim_set_check(e, claims, count, answer));
}

QUOTA_API int quota_admit(quota_engine *e, const quota_admission *a, quota_admission_result **out)
{
	JOURNALED(e, JOP_ADMIT, quota__put_struct(&c.w, &quota__shape_admission, a),
		  quota__impl_admit(e, a, out));
}

/* ---- usage and rates ---- */

static COLD int consume_journaled(quota_engine *e, const quota_ref *consumer, const char *type,
				  int64_t amount, quota_answer *answer)
{
	JOURNALED(e, JOP_CONSUME, w_target(&c.w, consumer, type, amount),
		  quota__impl_consume(e, consumer, type, amount, answer));
}

QUOTA_API int quota_consume(quota_engine *e, const quota_ref *consumer, const char *resource_type,
			    int64_t amount, quota_answer *answer)
{
	HOT(e, consume_journaled(e, consumer, resource_type, amount, answer),
	    quota__impl_consume(e, consumer, resource_type, amount, answer));
}

static COLD int give_back_journaled(quota_engine *e, const quota_ref *consumer, const char *type,
				    int64_t amount)
{
	JOURNALED(e, JOP_GIVE_BACK, w_target(&c.w, consumer, type, amount),
		  quota__impl_give_back(e, consumer, type, amount));
}

QUOTA_API int quota_give_back(quota_engine *e, const quota_ref *consumer, const char *resource_type,
			      int64_t amount)
{
	HOT(e, give_back_journaled(e, consumer, resource_type, amount),
	    quota__impl_give_back(e, consumer, resource_type, amount));
}

QUOTA_API int quota_usage_observe(quota_engine *e, const quota_ref *consumer,
				  const char *resource_type, int64_t value)
{
	JOURNALED(e, JOP_OBSERVE, w_target(&c.w, consumer, resource_type, value),
		  quota__impl_usage_observe(e, consumer, resource_type, value));
}

static COLD int rate_take_journaled(quota_engine *e, const quota_ref *consumer, const char *type,
				    int64_t n, quota_answer *answer)
{
	JOURNALED(e, JOP_RATE_TAKE, w_target(&c.w, consumer, type, n),
		  quota__impl_rate_take(e, consumer, type, n, answer));
}

QUOTA_API int quota_rate_take(quota_engine *e, const quota_ref *consumer, const char *resource_type,
			      int64_t n, quota_answer *answer)
{
	HOT(e, rate_take_journaled(e, consumer, resource_type, n, answer),
	    quota__impl_rate_take(e, consumer, resource_type, n, answer));
}

/* A handle's change is recorded as the same change by name. */
static COLD int handle_consume_journaled(quota_bucket_handle *h, int64_t amount,
					 quota_answer *answer)
{
	JOURNALED(h->e, JOP_CONSUME, w_handle(&c.w, h, amount),
		  quota__impl_handle_consume(h, amount, answer));
}

QUOTA_API int quota_handle_consume(quota_bucket_handle *h, int64_t amount, quota_answer *answer)
{
	quota_engine *e = h ? h->e : NULL;
	HOT(e, handle_consume_journaled(h, amount, answer),
	    quota__impl_handle_consume(h, amount, answer));
}

static COLD int handle_give_back_journaled(quota_bucket_handle *h, int64_t amount)
{
	JOURNALED(h->e, JOP_GIVE_BACK, w_handle(&c.w, h, amount),
		  quota__impl_handle_give_back(h, amount));
}

QUOTA_API int quota_handle_give_back(quota_bucket_handle *h, int64_t amount)
{
	quota_engine *e = h ? h->e : NULL;
	HOT(e, handle_give_back_journaled(h, amount), quota__impl_handle_give_back(h, amount));
}

QUOTA_API int quota_engine_tick(quota_engine *e, int64_t now_ns, uint64_t *expired)
{
	JOURNALED(e, JOP_TICK, quota__put_i64(&c.w, now_ns),
		  quota__impl_engine_tick(e, now_ns, expired));
}

/* ---- replay ---- */

int quota__jreplay_call(quota_engine *e, int op, quota__rbuf *r)
{
	const char *s1, *s2;
	const void *p1, *p2;
	const quota_doc *doc;
	uint32_t n;
	int64_t v;
	void *out = NULL;
	size_t count;
	int rc;

#define READ(...)                                                                                  \
	do {                                                                                       \
		__VA_ARGS__;                                                                       \
		if (r->status)                                                                     \
			return QUOTA_OK; /* the caller reports it */                               \
	} while (0)

	switch (op) {
	case JOP_REG_CREATE:
		READ(p1 = quota__get_struct(r, &quota__shape_registration));
		return quota__impl_registration_create(e, p1);
	case JOP_REG_UPDATE:
		READ(p1 = quota__get_struct(r, &quota__shape_registration));
		return quota__impl_registration_update(e, p1);
	case JOP_REG_DELETE:
		READ(s1 = quota__get_str(r));
		return quota__impl_registration_delete(e, s1);
	case JOP_GRANT_APPLY:
		READ(p1 = quota__get_struct(r, &quota__shape_grant));
		return quota__impl_grant_apply(e, p1, NULL);
	case JOP_GRANT_DELETE:
		READ((s1 = quota__get_str(r), s2 = quota__get_str(r)));
		return quota__impl_grant_delete(e, s1, s2);
	case JOP_SET_PARENT:
		READ((p1 = quota__get_struct(r, &quota__shape_ref),
		      p2 = quota__get_struct(r, &quota__shape_ref)));
		return quota__impl_consumer_set_parent(e, p1, p2);
	case JOP_CLAIM_POLICY_APPLY:
		READ(p1 = quota__get_struct(r, &quota__shape_claim_policy));
		return quota__impl_claim_policy_apply(e, p1, NULL);
	case JOP_CLAIM_POLICY_DELETE:
		READ(s1 = quota__get_str(r));
		return quota__impl_claim_policy_delete(e, s1);
	case JOP_GRANT_POLICY_APPLY:
		READ(p1 = quota__get_struct(r, &quota__shape_grant_policy));
		return quota__impl_grant_policy_apply(e, p1, NULL);
	case JOP_GRANT_POLICY_DELETE:
		READ(s1 = quota__get_str(r));
		return quota__impl_grant_policy_delete(e, s1);
	case JOP_GRANT_POLICY_SYNC:
		READ((doc = quota__get_doc(r), n = quota__get_u32(r)));
		rc = quota__impl_grant_policies_sync(e, doc, (int32_t)n,
						     (quota_grant_change ***)&out, &count);
		quota_free(out);
		return rc;
	case JOP_JSON_LOAD_DOC:
		READ((doc = quota__get_doc(r), p1 = quota__get_struct(r, &quota__shape_json_options)));
		rc = quota__impl_json_load_doc(e, doc, p1, (quota_json_result **)&out);
		quota_free(out);
		return rc;
	case JOP_RESERVE:
		READ(p1 = quota__get_struct(r, &quota__shape_claim));
		return quota__impl_claim_reserve(e, p1, NULL);
	case JOP_ACQUIRE:
		READ(p1 = quota__get_struct(r, &quota__shape_claim));
		return quota__impl_claim_acquire(e, p1, NULL);
	case JOP_COMMIT:
		READ((s1 = quota__get_str(r), s2 = quota__get_str(r),
		      p1 = quota__get_array(r, &quota__shape_request, &n)));
		return quota__impl_claim_commit(e, s1, s2, p1, n);
	case JOP_RELEASE:
		READ((s1 = quota__get_str(r), s2 = quota__get_str(r)));
		return quota__impl_claim_release(e, s1, s2);
	case JOP_RESIZE:
		READ((s1 = quota__get_str(r), s2 = quota__get_str(r),
		      p1 = quota__get_array(r, &quota__shape_request, &n)));
		return quota__impl_claim_resize(e, s1, s2, p1, n, NULL);
	case JOP_SET_RESERVE:
		READ(p1 = quota__get_array(r, &quota__shape_claim, &n));
		return quota__impl_claim_set_reserve(e, p1, n, NULL);
	case JOP_SET_ACQUIRE:
		READ(p1 = quota__get_array(r, &quota__shape_claim, &n));
		return quota__impl_claim_set_acquire(e, p1, n, NULL);
	case JOP_ADMIT:
		READ(p1 = quota__get_struct(r, &quota__shape_admission));
		rc = quota__impl_admit(e, p1, (quota_admission_result **)&out);
		quota_free(out);
		return rc;
	case JOP_CONSUME:
	case JOP_GIVE_BACK:
	case JOP_OBSERVE:
	case JOP_RATE_TAKE:
		READ((p1 = quota__get_struct(r, &quota__shape_ref), s1 = quota__get_str(r),
		      v = quota__get_i64(r)));
		return op == JOP_CONSUME     ? quota__impl_consume(e, p1, s1, v, NULL)
		       : op == JOP_GIVE_BACK ? quota__impl_give_back(e, p1, s1, v)
		       : op == JOP_OBSERVE   ? quota__impl_usage_observe(e, p1, s1, v)
					     : quota__impl_rate_take(e, p1, s1, v, NULL);
	case JOP_TICK:
		READ(v = quota__get_i64(r));
		return quota__impl_engine_tick(e, v, NULL);
	default:
		return quota__fail(QUOTA_ERR_UNSUPPORTED,
				   "operation %d is unknown (written by a newer libquota?)", op);
	}
#undef READ
}
