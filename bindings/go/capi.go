package quota

// The C boundary. Every call into libquota goes through a wrapper here or
// in shim.c that makes the call and, in the same cgo call, copies the
// thread-local error detail (see shim.h). Go strings are passed as
// _GoString_ values and copied into NUL-terminated C strings on the C
// stack, so the calls that take only names and references allocate
// nothing on either side. Engines, handles and iterators are passed as
// void *: with Go 1.19 a pointer to an incomplete C type costs an
// allocation per cgo call (its pointer check), a void * does not.

/*
#cgo pkg-config: quota
#include <string.h>
#include "shim.h"

enum { GQ_CONSUME, GQ_GIVE_BACK, GQ_OBSERVE, GQ_RATE_TAKE };
enum { GQ_RESERVE, GQ_ACQUIRE, GQ_CHECK };

// Up to 10 Go strings as C strings, in one block: on the stack when they
// fit, which valid names always do.
typedef struct gq_strs {
	char *mem;
	char stack[2048];
} gq_strs;

static int gq_strs_make(gq_strs *t, const _GoString_ *in, const char **out, int n)
{
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += _GoStringLen(in[i]) + 1;
	t->mem = total <= sizeof t->stack ? t->stack : malloc(total);
	if (!t->mem)
		return QUOTA_ERR_NOMEM;
	char *p = t->mem;
	for (int i = 0; i < n; i++) {
		size_t len = _GoStringLen(in[i]);
		if (len)
			memcpy(p, _GoStringPtr(in[i]), len);
		p[len] = '\0';
		out[i] = p;
		p += len + 1;
	}
	return QUOTA_OK;
}

static void gq_strs_free(gq_strs *t)
{
	if (t->mem != t->stack)
		free(t->mem);
}

#define GQ_STRS(...)                                                                     \
	_GoString_ in_[] = {__VA_ARGS__};                                               \
	const char *s[sizeof in_ / sizeof in_[0]];                                      \
	gq_strs t_;                                                                     \
	int rc = gq_strs_make(&t_, in_, s, (int)(sizeof in_ / sizeof in_[0]))
#define GQ_REF(i) ((quota_ref){s[i], s[(i) + 1], s[(i) + 2], s[(i) + 3]})
#define GQ_DONE() gq_strs_free(&t_)
#define GQ_NOMEM "go bindings: out of memory copying strings"

static gq_status gq_failed(int rc)
{
	gq_status st = {rc, rc == QUOTA_ERR_NOMEM ? strdup(GQ_NOMEM) : NULL};
	return st;
}

static gq_decision gq_decision_failed(int rc)
{
	gq_status f = gq_failed(rc);
	gq_decision d = {.rc = rc, .binding_request = -1, .binding_claim = -1, .text = f.text};
	d.detail_len = f.text ? (uint32_t)strlen(f.text) : 0;
	return d;
}

static gq_decision gq_keyed(int op, void *e, _GoString_ g, _GoString_ k, _GoString_ ns,
			    _GoString_ name, _GoString_ type, int64_t n)
{
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	GQ_STRS(g, k, ns, name, type);
	if (rc != QUOTA_OK)
		return gq_decision_failed(rc);
	quota_ref c = GQ_REF(0);
	switch (op) {
	case GQ_CONSUME: rc = quota_consume(e, &c, s[4], n, &a); break;
	case GQ_GIVE_BACK: rc = quota_give_back(e, &c, s[4], n); break;
	case GQ_OBSERVE: rc = quota_usage_observe(e, &c, s[4], n); break;
	default: rc = quota_rate_take(e, &c, s[4], n, &a); break;
	}
	GQ_DONE();
	return gq_decision_of(rc, &a);
}

static gq_decision gq_handle_consume(void *h, int64_t n)
{
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	return gq_decision_of(quota_handle_consume(h, n, &a), &a);
}

static gq_status gq_handle_give_back(void *h, int64_t n)
{
	return gq_status_of(quota_handle_give_back(h, n));
}

static gq_status gq_handle_open(void *e, _GoString_ g, _GoString_ k, _GoString_ ns,
				_GoString_ name, _GoString_ type, quota_bucket_handle **out)
{
	GQ_STRS(g, k, ns, name, type);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	quota_ref c = GQ_REF(0);
	rc = quota_bucket_handle_open(e, &c, s[4], out);
	GQ_DONE();
	return gq_status_of(rc);
}

static gq_status gq_bucket_get(void *e, _GoString_ g, _GoString_ k, _GoString_ ns,
			       _GoString_ name, _GoString_ type, int with_selector,
			       _GoString_ selector, quota_bucket_info **out)
{
	GQ_STRS(g, k, ns, name, type, selector);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	quota_ref c = GQ_REF(0);
	rc = with_selector ? quota_bucket_get_selector(e, &c, s[4], s[5], out)
			   : quota_bucket_get(e, &c, s[4], out);
	GQ_DONE();
	return gq_status_of(rc);
}

static gq_status gq_bucket_iter_new(void *e, int with_consumer, _GoString_ g,
				    _GoString_ k, _GoString_ ns, _GoString_ name,
				    _GoString_ type, quota_bucket_iter **out)
{
	GQ_STRS(g, k, ns, name, type);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	quota_ref c = GQ_REF(0);
	rc = quota_bucket_iter_new(e, with_consumer ? &c : NULL, *s[4] ? s[4] : NULL, out);
	GQ_DONE();
	return gq_status_of(rc);
}

static gq_status gq_bucket_iter_next(void *it, const quota_bucket_info **out)
{
	return gq_status_of(quota_bucket_iter_next(it, out));
}

static gq_status gq_claim_iter_new(void *e, int with_consumer, _GoString_ g,
				   _GoString_ k, _GoString_ ns, _GoString_ name, int32_t state,
				   quota_claim_iter **out)
{
	GQ_STRS(g, k, ns, name);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	quota_ref c = GQ_REF(0);
	rc = quota_claim_iter_new(e, with_consumer ? &c : NULL, state, out);
	GQ_DONE();
	return gq_status_of(rc);
}

static gq_status gq_claim_iter_next(void *it, const quota_claim_info **out)
{
	return gq_status_of(quota_claim_iter_next(it, out));
}

static gq_decision gq_claim_decide(int op, void *e, const quota_claim *c)
{
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	int rc;
	switch (op) {
	case GQ_RESERVE: rc = quota_claim_reserve(e, c, &a); break;
	case GQ_ACQUIRE: rc = quota_claim_acquire(e, c, &a); break;
	default: rc = quota_claim_check(e, c, &a); break;
	}
	return gq_decision_of(rc, &a);
}

static gq_decision gq_claim_set_decide(int op, void *e, const quota_claim *c, uint32_t n)
{
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	int rc;
	switch (op) {
	case GQ_RESERVE: rc = quota_claim_set_reserve(e, c, n, &a); break;
	case GQ_ACQUIRE: rc = quota_claim_set_acquire(e, c, n, &a); break;
	default: rc = quota_claim_set_check(e, c, n, &a); break;
	}
	return gq_decision_of(rc, &a);
}

static gq_status gq_claim_commit(void *e, _GoString_ ns, _GoString_ name,
				 const quota_request *actual, uint32_t n)
{
	GQ_STRS(ns, name);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	rc = quota_claim_commit(e, s[0], s[1], actual, n);
	GQ_DONE();
	return gq_status_of(rc);
}

static gq_status gq_claim_release(void *e, _GoString_ ns, _GoString_ name)
{
	GQ_STRS(ns, name);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	rc = quota_claim_release(e, s[0], s[1]);
	GQ_DONE();
	return gq_status_of(rc);
}

static gq_decision gq_claim_resize(void *e, _GoString_ ns, _GoString_ name,
				   const quota_request *req, uint32_t n)
{
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	GQ_STRS(ns, name);
	if (rc != QUOTA_OK)
		return gq_decision_failed(rc);
	rc = quota_claim_resize(e, s[0], s[1], req, n, &a);
	GQ_DONE();
	return gq_decision_of(rc, &a);
}

static gq_status gq_claim_get(void *e, _GoString_ ns, _GoString_ name,
			      quota_claim_info **out)
{
	GQ_STRS(ns, name);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	rc = quota_claim_get(e, s[0], s[1], out);
	GQ_DONE();
	return gq_status_of(rc);
}

static gq_status gq_registration_put(void *e, int update, const quota_registration *r)
{
	return gq_status_of(update ? quota_registration_update(e, r)
				   : quota_registration_create(e, r));
}

static gq_status gq_registration_delete(void *e, _GoString_ type)
{
	GQ_STRS(type);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	rc = quota_registration_delete(e, s[0]);
	GQ_DONE();
	return gq_status_of(rc);
}

static gq_status gq_registration_get(void *e, _GoString_ type, quota_registration **out)
{
	GQ_STRS(type);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	rc = quota_registration_get(e, s[0], out);
	GQ_DONE();
	return gq_status_of(rc);
}

static gq_status gq_registration_list(void *e, quota_registration ***out, size_t *n)
{
	return gq_status_of(quota_registration_list(e, out, n));
}

static gq_status gq_grant_apply(void *e, const quota_grant *g, int64_t *generation)
{
	return gq_status_of(quota_grant_apply(e, g, generation));
}

static gq_status gq_grant_delete(void *e, _GoString_ ns, _GoString_ name)
{
	GQ_STRS(ns, name);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	rc = quota_grant_delete(e, s[0], s[1]);
	GQ_DONE();
	return gq_status_of(rc);
}

static gq_status gq_grant_get(void *e, _GoString_ ns, _GoString_ name, quota_grant **out)
{
	GQ_STRS(ns, name);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	rc = quota_grant_get(e, s[0], s[1], out);
	GQ_DONE();
	return gq_status_of(rc);
}

static gq_status gq_grant_list(void *e, int with_consumer, _GoString_ g, _GoString_ k,
			       _GoString_ ns, _GoString_ name, quota_grant ***out, size_t *n)
{
	GQ_STRS(g, k, ns, name);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	quota_ref c = GQ_REF(0);
	rc = quota_grant_list(e, with_consumer ? &c : NULL, out, n);
	GQ_DONE();
	return gq_status_of(rc);
}

static gq_status gq_set_parent(void *e, _GoString_ g, _GoString_ k, _GoString_ ns,
			       _GoString_ name, int with_parent, _GoString_ pg, _GoString_ pk,
			       _GoString_ pns, _GoString_ pname)
{
	GQ_STRS(g, k, ns, name, pg, pk, pns, pname);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	quota_ref child = GQ_REF(0), parent = GQ_REF(4);
	rc = quota_consumer_set_parent(e, &child, with_parent ? &parent : NULL);
	GQ_DONE();
	return gq_status_of(rc);
}

static gq_status gq_get_parent(void *e, _GoString_ g, _GoString_ k, _GoString_ ns,
			       _GoString_ name, quota_ref **out)
{
	GQ_STRS(g, k, ns, name);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	quota_ref child = GQ_REF(0);
	rc = quota_consumer_get_parent(e, &child, out);
	GQ_DONE();
	return gq_status_of(rc);
}

// The claim (grant == 0) or grant policy calls.
static gq_status gq_policy_apply(void *e, int grant, const void *p, int64_t *generation)
{
	return gq_status_of(grant ? quota_grant_policy_apply(e, p, generation)
				  : quota_claim_policy_apply(e, p, generation));
}

static gq_status gq_policy_delete(void *e, int grant, _GoString_ name)
{
	GQ_STRS(name);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	rc = grant ? quota_grant_policy_delete(e, s[0]) : quota_claim_policy_delete(e, s[0]);
	GQ_DONE();
	return gq_status_of(rc);
}

static gq_status gq_policy_get(void *e, int grant, _GoString_ name, void **out)
{
	GQ_STRS(name);
	if (rc != QUOTA_OK)
		return gq_failed(rc);
	rc = grant ? quota_grant_policy_get(e, s[0], (quota_grant_policy **)out)
		   : quota_claim_policy_get(e, s[0], (quota_claim_policy **)out);
	GQ_DONE();
	return gq_status_of(rc);
}

static gq_status gq_policy_list(void *e, int grant, void **out, size_t *n)
{
	return gq_status_of(grant ? quota_grant_policy_list(e, (quota_grant_policy ***)out, n)
				  : quota_claim_policy_list(e, (quota_claim_policy ***)out, n));
}

static gq_status gq_tick(void *e, int64_t now, uint64_t *expired)
{
	return gq_status_of(quota_engine_tick(e, now, expired));
}

static gq_status gq_now(void *e, int64_t *now)
{
	return gq_status_of(quota_engine_now(e, now));
}

static gq_status gq_stats(void *e, quota_stats *out)
{
	int rc = quota_stats_init(out, sizeof *out);
	return gq_status_of(rc ? rc : quota_stats_get(e, out));
}

static gq_status gq_journal_stats(void *e, quota_journal_stats *out)
{
	int rc = quota_journal_stats_init(out, sizeof *out);
	return gq_status_of(rc ? rc : quota_journal_stats_get(e, out));
}

static gq_status gq_sync(void *e)
{
	return gq_status_of(quota_engine_sync(e));
}

static gq_status gq_compact(void *e)
{
	return gq_status_of(quota_engine_compact(e));
}

static gq_status gq_prometheus(void *e, char **text, size_t *len)
{
	return gq_status_of(quota_metrics_prometheus(e, text, len));
}

static gq_status gq_audit(void *e, quota_denial ***out, size_t *n)
{
	return gq_status_of(quota_audit_list(e, out, n));
}
*/
import "C"

import (
	"time"
	"unsafe"
)

// status turns a wrapper's status into an error (nil for QUOTA_OK and
// for the positive QUOTA_ITER_DONE) and frees its detail.
func status(op string, s C.gq_status) error {
	if s.rc >= 0 {
		return nil
	}
	detail := ""
	if s.text != nil {
		detail = C.GoString(s.text)
		C.free(unsafe.Pointer(s.text))
	}
	return &Error{Code: Code(s.rc), Op: op, Detail: detail}
}

// decision turns a wrapper's decision into an Answer and, when it
// failed, an *Error carrying that answer. It frees the decision's strings.
func decision(op string, d C.gq_decision) (Answer, error) {
	a := Answer{
		State:          ClaimState(d.state),
		Flags:          AnswerFlags(d.flags),
		BindingRequest: int(d.binding_request),
		BindingClaim:   int(d.binding_claim),
		Requested:      int64(d.requested),
		Available:      int64(d.available),
		Limit:          int64(d.limit),
		Period:         msDuration(int64(d.period_ms)),
		RetryAfter:     msDuration(int64(d.retry_after_ms)),
		ResetAfter:     msDuration(int64(d.reset_after_ms)),
	}
	detail := ""
	if d.text != nil {
		detail = C.GoStringN(d.text, C.int(d.detail_len))
		if d.bucket_len > 0 {
			bucket := (*C.char)(unsafe.Add(unsafe.Pointer(d.text), d.detail_len+1))
			a.Bucket = C.GoStringN(bucket, C.int(d.bucket_len))
		}
		C.free(unsafe.Pointer(d.text))
	}
	if d.rc >= 0 {
		return a, nil
	}
	copied := a // taking a's address would move every answer to the heap
	err := &Error{Code: Code(d.rc), Op: op, Detail: detail, Answer: &copied}
	if err.Code == codeRateLimited {
		err.RetryAfter = a.RetryAfter
	}
	return a, err
}

// msDuration converts the library's milliseconds; -1 ("never") stays
// negative.
func msDuration(ms int64) time.Duration {
	if ms < 0 {
		return -1
	}
	return time.Duration(ms) * time.Millisecond
}

type keyedOp C.int

const (
	opConsume  keyedOp = C.GQ_CONSUME
	opGiveBack keyedOp = C.GQ_GIVE_BACK
	opObserve  keyedOp = C.GQ_OBSERVE
	opRateTake keyedOp = C.GQ_RATE_TAKE
)

func cKeyed(e unsafe.Pointer, op keyedOp, r Ref, typ string, n int64) C.gq_decision {
	return C.gq_keyed(C.int(op), e, r.APIGroup, r.Kind, r.Namespace, r.Name, typ, C.int64_t(n))
}

func cHandleConsume(h unsafe.Pointer, n int64) C.gq_decision {
	return C.gq_handle_consume(h, C.int64_t(n))
}

func cHandleGiveBack(h unsafe.Pointer, n int64) C.gq_status {
	return C.gq_handle_give_back(h, C.int64_t(n))
}

func cHandleOpen(e unsafe.Pointer, r Ref, typ string, out **C.quota_bucket_handle) C.gq_status {
	return C.gq_handle_open(e, r.APIGroup, r.Kind, r.Namespace, r.Name, typ, out)
}

func cBucketGet(e unsafe.Pointer, r Ref, typ string, withSelector bool, selector string,
	out **C.quota_bucket_info) C.gq_status {
	return C.gq_bucket_get(e, r.APIGroup, r.Kind, r.Namespace, r.Name, typ, cBool(withSelector),
		selector, out)
}

func cBucketIterNew(e unsafe.Pointer, consumer *Ref, typ string, out **C.quota_bucket_iter) C.gq_status {
	r, with := optionalRef(consumer)
	return C.gq_bucket_iter_new(e, with, r.APIGroup, r.Kind, r.Namespace, r.Name, typ, out)
}

func cBucketIterNext(it unsafe.Pointer, out **C.quota_bucket_info) C.gq_status {
	return C.gq_bucket_iter_next(it, out)
}

func cClaimIterNew(e unsafe.Pointer, consumer *Ref, state ClaimState, out **C.quota_claim_iter) C.gq_status {
	r, with := optionalRef(consumer)
	return C.gq_claim_iter_new(e, with, r.APIGroup, r.Kind, r.Namespace, r.Name, C.int32_t(state), out)
}

func cClaimIterNext(it unsafe.Pointer, out **C.quota_claim_info) C.gq_status {
	return C.gq_claim_iter_next(it, out)
}

type claimOp C.int

const (
	opReserve claimOp = C.GQ_RESERVE
	opAcquire claimOp = C.GQ_ACQUIRE
	opCheck   claimOp = C.GQ_CHECK
)

func cClaimDecide(e unsafe.Pointer, op claimOp, c *C.quota_claim) C.gq_decision {
	return C.gq_claim_decide(C.int(op), e, c)
}

func cClaimSetDecide(e unsafe.Pointer, op claimOp, c *C.quota_claim, n int) C.gq_decision {
	return C.gq_claim_set_decide(C.int(op), e, c, C.uint32_t(n))
}

func cClaimCommit(e unsafe.Pointer, ns, name string, actual *C.quota_request, n int) C.gq_status {
	return C.gq_claim_commit(e, ns, name, actual, C.uint32_t(n))
}

func cClaimRelease(e unsafe.Pointer, ns, name string) C.gq_status {
	return C.gq_claim_release(e, ns, name)
}

func cClaimResize(e unsafe.Pointer, ns, name string, req *C.quota_request, n int) C.gq_decision {
	return C.gq_claim_resize(e, ns, name, req, C.uint32_t(n))
}

func cClaimGet(e unsafe.Pointer, ns, name string, out **C.quota_claim_info) C.gq_status {
	return C.gq_claim_get(e, ns, name, out)
}

func cRegistrationPut(e unsafe.Pointer, update bool, r *C.quota_registration) C.gq_status {
	return C.gq_registration_put(e, cBool(update), r)
}

func cRegistrationDelete(e unsafe.Pointer, typ string) C.gq_status {
	return C.gq_registration_delete(e, typ)
}

func cRegistrationGet(e unsafe.Pointer, typ string, out **C.quota_registration) C.gq_status {
	return C.gq_registration_get(e, typ, out)
}

func cRegistrationList(e unsafe.Pointer, out ***C.quota_registration, n *C.size_t) C.gq_status {
	return C.gq_registration_list(e, out, n)
}

func cGrantApply(e unsafe.Pointer, g *C.quota_grant, gen *C.int64_t) C.gq_status {
	return C.gq_grant_apply(e, g, gen)
}

func cGrantDelete(e unsafe.Pointer, ns, name string) C.gq_status {
	return C.gq_grant_delete(e, ns, name)
}

func cGrantGet(e unsafe.Pointer, ns, name string, out **C.quota_grant) C.gq_status {
	return C.gq_grant_get(e, ns, name, out)
}

func cGrantList(e unsafe.Pointer, consumer *Ref, out ***C.quota_grant, n *C.size_t) C.gq_status {
	r, with := optionalRef(consumer)
	return C.gq_grant_list(e, with, r.APIGroup, r.Kind, r.Namespace, r.Name, out, n)
}

func cSetParent(e unsafe.Pointer, child Ref, parent *Ref) C.gq_status {
	p, with := optionalRef(parent)
	return C.gq_set_parent(e, child.APIGroup, child.Kind, child.Namespace, child.Name, with,
		p.APIGroup, p.Kind, p.Namespace, p.Name)
}

func cGetParent(e unsafe.Pointer, child Ref, out **C.quota_ref) C.gq_status {
	return C.gq_get_parent(e, child.APIGroup, child.Kind, child.Namespace, child.Name, out)
}

func cPolicyApply(e unsafe.Pointer, kind policyKind, p unsafe.Pointer, gen *C.int64_t) C.gq_status {
	return C.gq_policy_apply(e, C.int(kind), p, gen)
}

func cPolicyDelete(e unsafe.Pointer, kind policyKind, name string) C.gq_status {
	return C.gq_policy_delete(e, C.int(kind), name)
}

func cPolicyGet(e unsafe.Pointer, kind policyKind, name string, out *unsafe.Pointer) C.gq_status {
	return C.gq_policy_get(e, C.int(kind), name, out)
}

func cPolicyList(e unsafe.Pointer, kind policyKind, out *unsafe.Pointer, n *C.size_t) C.gq_status {
	return C.gq_policy_list(e, C.int(kind), out, n)
}

func cAdmit(e unsafe.Pointer, docs *docEncoder, flags uint32, ttlMS int64,
	out **C.quota_admission_result) C.gq_decision {
	p, n := docs.bytes()
	return C.gq_admit(e, p, n, C.uint32_t(flags), C.int64_t(ttlMS), out)
}

func cGrantSync(e unsafe.Pointer, trigger *docEncoder, event TriggerEvent,
	out ***C.quota_grant_change, n *C.size_t) C.gq_status {
	p, size := trigger.bytes()
	return C.gq_grant_sync(e, p, size, C.int32_t(event), out, n)
}

func cTick(e unsafe.Pointer, now int64, expired *C.uint64_t) C.gq_status {
	return C.gq_tick(e, C.int64_t(now), expired)
}

func cNow(e unsafe.Pointer, now *C.int64_t) C.gq_status {
	return C.gq_now(e, now)
}

func cStats(e unsafe.Pointer, out *C.quota_stats) C.gq_status {
	return C.gq_stats(e, out)
}

func cJournalStats(e unsafe.Pointer, out *C.quota_journal_stats) C.gq_status {
	return C.gq_journal_stats(e, out)
}

func cSync(e unsafe.Pointer) C.gq_status { return C.gq_sync(e) }

func cCompact(e unsafe.Pointer) C.gq_status { return C.gq_compact(e) }

func cPrometheus(e unsafe.Pointer, text **C.char, n *C.size_t) C.gq_status {
	return C.gq_prometheus(e, text, n)
}

func cAudit(e unsafe.Pointer, out ***C.quota_denial, n *C.size_t) C.gq_status {
	return C.gq_audit(e, out, n)
}

func optionalRef(r *Ref) (Ref, C.int) {
	if r == nil {
		return Ref{}, 0
	}
	return *r, 1
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
