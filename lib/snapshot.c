/*
 * Snapshots (snapshot.h): the state of an engine written as records that
 * rebuild it exactly, and read back.
 *
 * The records, in the order they are written and applied:
 *   REG           a registration, with its generation
 *   PARENT        a consumer and its parent
 *   CLAIM_POLICY, GRANT_POLICY  a policy, with its generation
 *   GRANT         a grant, with its generation and its owner (or none)
 *   OWNER         a trigger object's owner record: the grants its grant
 *                 policies made for it
 *   BUCKET        a bucket (or selector bucket) as its grants and claims do
 *                 not make it: anonymous use, observed usage, observed
 *                 generation, last reconciliation, rate limiter state
 *   CLAIM         a claim in its state: spec, id, flags, times, what each
 *                 request holds; pending claims last, in queue order
 *   ENGINE        counters, the next claim id, the last time seen, when a
 *                 rate lets a pending claim pass
 *   END           the number of records before it
 * Restoring goes through the modules' own code in restore mode (txn.h
 * restoring, quota__bucket_restore, quota__claim_restore): generations are
 * kept, and claims are put in their state without a decision. Options
 * (stripes, retention, clock, callbacks) are the engine's, not the
 * snapshot's.
 * SPDX-License-Identifier: MIT
 */
#include "snapshot.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "api.h"
#include "claim.h"
#include "crc32c.h"
#include "error.h"
#include "io.h"
#include "journal.h"
#include "policy.h"
#include "txn.h"

#define SNAP_MAGIC "LQSNAPS1"
#define SNAP_VERSION 1u
#define SNAP_HEADER 32

/* ---- writing ---- */

typedef struct writer {
	quota__wbuf *w;
	uint64_t seq; /* records written */
	int64_t now;
	size_t at; /* where the open record starts */
} writer;

static void rec_begin(writer *x, int op)
{
	x->at = x->w->n;
	quota__frame_begin(x->w, op, x->now);
}

static void rec_end(writer *x)
{
	if (!x->w->status)
		quota__frame_seal(x->w, x->at, ++x->seq);
}

#define TABLE_EACH(t, n)                                                                           \
	for (size_t s_ = 0; s_ <= (t)->mask; s_++)                                                 \
		for (quota__node *n = (t)->slots[s_]; n; n = n->next)

static void put_ref(quota__wbuf *w, const char *kind, const char *ns, const char *name)
{
	quota_ref r = {NULL, kind, ns, name};
	quota__put_struct(w, &quota__shape_ref, &r);
}

static void write_policies(writer *x, const quota__policy_set *set, int op)
{
	for (uint32_t i = 0; i < set->n; i++) {
		rec_begin(x, op);
		quota__put_struct(x->w,
				  op == JOP_SNAP_CLAIM_POLICY ? &quota__shape_claim_policy
							      : &quota__shape_grant_policy,
				  set->v[i]->pub.claim);
		rec_end(x);
	}
}

static void write_bucket(writer *x, const quota__bucket *b)
{
	rec_begin(x, JOP_SNAP_BUCKET);
	put_ref(x->w, quota__bucket_kind(b), quota__bucket_ns(b), quota__bucket_name(b));
	quota__put_str(x->w, quota__bucket_type(b));
	const quota__bucket_ext none = {0}, *ext = b->ext ? b->ext : &none;
	quota__put_str(x->w, ext->selector ? ext->selector->text : NULL);
	quota__put_i64(x->w, b->anonymous);
	quota__put_i64(x->w, ext->observed);
	quota__put_u32(x->w, (uint32_t)ext->has_observed);
	quota__put_i64(x->w, b->observed_generation);
	quota__put_i64(x->w, b->last_reconciliation_ns);
	quota__put_u32(x->w, b->limiter_count);
	for (uint32_t i = 0; i < b->limiter_count; i++) {
		const quota__limiter *l = &b->limiters[i];
		quota__put_i64(x->w, l->period_ns);
		quota__put_u32(x->w, (uint32_t)l->window);
		quota__put_u64(x->w, (uint64_t)((unsigned __int128)l->tat >> 64));
		quota__put_u64(x->w, (uint64_t)l->tat);
		quota__put_i64(x->w, l->win_index);
		quota__put_i64(x->w, l->win_used);
	}
	rec_end(x);
}

static void write_claim(writer *x, const quota__claim *c)
{
	quota_request reqs[QUOTA_MAX_REQUESTS];
	quota_claim spec;
	quota_claim_init(&spec, sizeof spec);
	spec.ns = c->ns;
	spec.name = c->name;
	spec.consumer = c->consumer;
	spec.resource = c->resource;
	spec.flags = c->flags & CLAIM_PUBLIC_FLAGS;
	spec.requests = reqs;
	spec.request_count = c->req_count;
	for (uint32_t i = 0; i < c->req_count; i++) {
		quota_request_init(&reqs[i], sizeof reqs[i]);
		reqs[i].resource_type = c->req[i].type;
		reqs[i].amount = c->req[i].requested;
		reqs[i].dimensions = c->req[i].labels;
		reqs[i].dimension_count = c->req[i].label_count;
	}
	rec_begin(x, JOP_SNAP_CLAIM);
	quota__put_struct(x->w, &quota__shape_claim, &spec);
	quota__put_u64(x->w, c->id);
	quota__put_u32(x->w, (uint32_t)c->state);
	quota__put_u32(x->w, c->flags);
	quota__put_i64(x->w, c->created_ns);
	quota__put_i64(x->w, c->updated_ns);
	quota__put_i64(x->w, c->expires_ns);
	quota__put_i64(x->w, c->purge_ns);
	quota__put_i64(x->w, c->ttl_ns);
	for (uint32_t i = 0; i < c->req_count; i++)
		quota__put_i64(x->w, c->req[i].amount);
	rec_end(x);
}

/* Every record but END; caller holds every lock the state is under. */
static void write_state(quota_engine *e, writer *x)
{
	TABLE_EACH(&e->regs, n)
	{
		rec_begin(x, JOP_SNAP_REG);
		quota__put_struct(x->w, &quota__shape_registration, ((quota__reg *)n)->pub);
		rec_end(x);
	}
	TABLE_EACH(&e->consumers, n)
	{
		const quota__consumer *c = (const quota__consumer *)n;
		if (!c->parent)
			continue;
		rec_begin(x, JOP_SNAP_PARENT);
		put_ref(x->w, c->kind, c->ns, c->name);
		put_ref(x->w, c->parent->kind, c->parent->ns, c->parent->name);
		rec_end(x);
	}
	write_policies(x, &e->policies->claims, JOP_SNAP_CLAIM_POLICY);
	write_policies(x, &e->policies->grants, JOP_SNAP_GRANT_POLICY);
	TABLE_EACH(&e->grants, n)
	{
		const quota__grant *g = (const quota__grant *)n;
		rec_begin(x, JOP_SNAP_GRANT);
		quota__put_struct(x->w, &quota__shape_grant, g->pub);
		quota__put_str(x->w, g->owner);
		rec_end(x);
	}
	TABLE_EACH(&e->policies->owners, n)
	{
		const quota__owner_rec *o = (const quota__owner_rec *)n;
		rec_begin(x, JOP_SNAP_OWNER);
		quota__put_strn(x->w, o->node.key, o->node.key_len);
		quota__put_u32(x->w, o->n);
		for (uint32_t i = 0; i < o->n; i++) {
			quota__put_str(x->w, o->g[i].policy);
			quota__put_str(x->w, o->g[i].ns);
			quota__put_str(x->w, o->g[i].name);
		}
		rec_end(x);
	}
	for (uint32_t i = 0; i < e->stripe_count; i++)
		TABLE_EACH(&e->stripes[i].buckets, n)
		{
			const quota__bucket *b = (const quota__bucket *)n;
			write_bucket(x, b);
			for (uint32_t k = 0; k < quota__bucket_sel_count(b); k++)
				write_bucket(x, b->ext->sels[k]);
		}
	for (uint32_t i = 0; i < e->stripe_count; i++)
		TABLE_EACH(&e->stripes[i].claims, n)
		{
			const quota__claim *c = (const quota__claim *)n;
			if (c->state != QUOTA_CLAIM_PENDING)
				write_claim(x, c);
		}
	/* Pending claims in queue order; a record whose claim is gone or no
	 * longer waits is stale (the queue drops it). */
	for (const quota__waiter *wt = e->queue_head; wt; wt = wt->next) {
		uint64_t hash = quota__hash(e, wt->key, wt->key_len);
		const quota__claim *c = (const quota__claim *)quota__table_find(
			&e->stripes[quota__stripe_of(e, hash)].claims, hash, wt->key, wt->key_len);
		if (c && c->id == wt->claim_id && c->state == QUOTA_CLAIM_PENDING)
			write_claim(x, c);
	}
	rec_begin(x, JOP_SNAP_ENGINE);
	quota__put_i64(x->w, atomic_load(&e->last_now));
	quota__put_i64(x->w, atomic_load(&e->rate_wake));
	quota__put_u64(x->w, atomic_load(&e->next_claim_id));
	quota__put_u32(x->w, QC_COUNT);
	uint64_t sum[QC_COUNT];
	quota__counters_sum(e, sum);
	for (int c = 0; c < QC_COUNT; c++)
		quota__put_u64(x->w, sum[c]);
	rec_end(x);
}

int quota__snapshot_build(quota_engine *e, uint64_t seq, quota__wbuf *w)
{
	writer x = {w, 0, atomic_load(&e->last_now), 0};
	quota__put_bytes(w, SNAP_MAGIC, 8);
	quota__put_u32(w, SNAP_VERSION);
	quota__put_u32(w, 0);
	quota__put_u64(w, seq);
	quota__put_u32(w, 0);
	if (!w->status)
		quota__put_u32(w, quota__crc32c(0, w->p, 28));
	/* Everything holds still: the store, config, the queue, every stripe
	 * (lock order of engine.h). */
	quota__rw_read(&e->policies->lock);
	quota__rw_read(&e->config);
	pthread_mutex_lock(&e->queue_lock);
	quota__lock_all(e);
	write_state(e, &x);
	quota__unlock_all(e);
	pthread_mutex_unlock(&e->queue_lock);
	quota__rw_read_done(&e->config);
	quota__rw_read_done(&e->policies->lock);
	rec_begin(&x, JOP_SNAP_END);
	quota__put_u64(w, x.seq);
	rec_end(&x);
	if (w->status) {
		int rc = w->status;
		quota__put_free(w);
		return rc == QUOTA_ERR_NOMEM
			       ? quota__fail(rc, "snapshot: out of memory")
			       : quota__fail(QUOTA_ERR_INTERNAL,
					     "snapshot: the state could not be written");
	}
	return QUOTA_OK;
}

/* ---- reading ---- */

static int unreadable(void)
{
	return quota__fail(QUOTA_ERR_CORRUPT, "its bytes do not read back");
}

/* A change to the configuration through a transaction in restore mode. */
static int txn_restore(quota_engine *e, int op, const void *obj, const char *owner)
{
	quota__txn t;
	int policy = op == JOP_SNAP_CLAIM_POLICY || op == JOP_SNAP_GRANT_POLICY;
	if (!obj)
		return unreadable();
	if (policy)
		quota__rw_write(&e->policies->lock);
	quota__txn_begin(e, &t);
	t.restoring = 1;
	t.defer_after = 1; /* nothing to deliver, and no queue kick mid-restore */
	int rc = op == JOP_SNAP_REG     ? quota__txn_registration(&t, obj, 0)
		 : op == JOP_SNAP_GRANT ? quota__txn_grant(&t, obj, owner, NULL)
		 : op == JOP_SNAP_CLAIM_POLICY
			 ? quota__txn_policy(&t, QUOTA__CLAIM_POLICY, obj, NULL)
			 : quota__txn_policy(&t, QUOTA__GRANT_POLICY, obj, NULL);
	rc = quota__txn_end(&t, rc);
	if (policy)
		quota__rw_write_done(&e->policies->lock);
	return rc;
}

static int apply_owner(quota_engine *e, quota__rbuf *r)
{
	const char *identity = quota__get_str(r);
	uint32_t n = quota__get_u32(r);
	if (r->status || !identity || n == 0 || n > r->n - r->off)
		return unreadable();
	quota__owned *g = quota__calloc(n, sizeof *g);
	if (!g)
		return quota__fail(QUOTA_ERR_NOMEM, "snapshot: out of memory");
	for (uint32_t i = 0; i < n && !r->status; i++) {
		g[i].policy = quota__get_str(r);
		g[i].ns = quota__get_str(r);
		g[i].name = quota__get_str(r);
		if (!g[i].policy || !g[i].ns || !g[i].name)
			r->status = QUOTA_ERR_CORRUPT;
	}
	int rc = r->status ? unreadable() : quota__owner_restore(e, identity, g, n);
	quota__free(g);
	return rc;
}

static int apply_bucket(quota_engine *e, quota__rbuf *r)
{
	quota__bucket_saved s = {0};
	const quota_ref *ref = quota__get_struct(r, &quota__shape_ref);
	const char *type = quota__get_str(r);
	const char *sel = quota__get_str(r);
	s.anonymous = quota__get_i64(r);
	s.observed = quota__get_i64(r);
	s.has_observed = (int32_t)quota__get_u32(r);
	s.observed_generation = quota__get_i64(r);
	s.last_reconciliation_ns = quota__get_i64(r);
	s.limiter_count = quota__get_u32(r);
	if (r->status || s.limiter_count > (r->n - r->off) / 40)
		return unreadable();
	quota__limiter *lim = s.limiter_count ? quota__calloc(s.limiter_count, sizeof *lim) : NULL;
	if (s.limiter_count && !lim)
		return quota__fail(QUOTA_ERR_NOMEM, "snapshot: out of memory");
	for (uint32_t i = 0; i < s.limiter_count; i++) {
		lim[i].period_ns = quota__get_i64(r);
		lim[i].window = (int32_t)quota__get_u32(r);
		uint64_t hi = quota__get_u64(r), lo = quota__get_u64(r);
		lim[i].tat = (quota__wide)(((unsigned __int128)hi << 64) | lo);
		lim[i].win_index = quota__get_i64(r);
		lim[i].win_used = quota__get_i64(r);
	}
	s.limiters = lim;
	int rc = r->status || !ref ? unreadable() : quota__bucket_restore(e, ref, type, sel, &s);
	quota__free(lim);
	return rc;
}

static int apply_claim(quota_engine *e, quota__rbuf *r)
{
	int64_t held[QUOTA_MAX_REQUESTS];
	quota__claim_saved s = {0};
	const quota_claim *spec = quota__get_struct(r, &quota__shape_claim);
	s.id = quota__get_u64(r);
	s.state = (int32_t)quota__get_u32(r);
	s.flags = quota__get_u32(r);
	s.created_ns = quota__get_i64(r);
	s.updated_ns = quota__get_i64(r);
	s.expires_ns = quota__get_i64(r);
	s.purge_ns = quota__get_i64(r);
	s.ttl_ns = quota__get_i64(r);
	if (r->status || !spec || spec->request_count > QUOTA_MAX_REQUESTS)
		return unreadable();
	for (uint32_t i = 0; i < spec->request_count; i++)
		held[i] = quota__get_i64(r);
	s.held = held;
	if (r->status)
		return unreadable();
	return quota__claim_restore(e, spec, &s);
}

static int apply_engine(quota_engine *e, quota__rbuf *r)
{
	int64_t last_now = quota__get_i64(r), rate_wake = quota__get_i64(r);
	uint64_t next_id = quota__get_u64(r);
	uint32_t n = quota__get_u32(r);
	uint64_t v[QC_COUNT] = {0};
	if (r->status || n > r->n - r->off)
		return unreadable();
	for (uint32_t i = 0; i < n; i++) {
		uint64_t x = quota__get_u64(r);
		if (i < QC_COUNT)
			v[i] = x; /* counters a newer library keeps are dropped */
	}
	if (r->status)
		return unreadable();
	if (last_now > atomic_load(&e->last_now))
		atomic_store(&e->last_now, last_now);
	atomic_store(&e->rate_wake, rate_wake);
	if (next_id > atomic_load(&e->next_claim_id))
		atomic_store(&e->next_claim_id, next_id);
	quota__counters_set(e, v);
	return QUOTA_OK;
}

/* Apply one record. */
static int apply(quota_engine *e, int op, quota__rbuf *r)
{
	const void *p1, *p2;
	const char *s1;
	switch (op) {
	case JOP_SNAP_REG:
	case JOP_SNAP_CLAIM_POLICY:
	case JOP_SNAP_GRANT_POLICY:
		p1 = quota__get_struct(r, op == JOP_SNAP_REG ? &quota__shape_registration
					  : op == JOP_SNAP_CLAIM_POLICY
						  ? &quota__shape_claim_policy
						  : &quota__shape_grant_policy);
		return r->status ? unreadable() : txn_restore(e, op, p1, NULL);
	case JOP_SNAP_GRANT:
		p1 = quota__get_struct(r, &quota__shape_grant);
		s1 = quota__get_str(r);
		return r->status ? unreadable() : txn_restore(e, op, p1, s1);
	case JOP_SNAP_PARENT:
		p1 = quota__get_struct(r, &quota__shape_ref);
		p2 = quota__get_struct(r, &quota__shape_ref);
		if (r->status || !p2)
			return unreadable();
		return quota__impl_consumer_set_parent(e, p1, p2);
	case JOP_SNAP_OWNER: return apply_owner(e, r);
	case JOP_SNAP_BUCKET: return apply_bucket(e, r);
	case JOP_SNAP_CLAIM: return apply_claim(e, r);
	case JOP_SNAP_ENGINE: return apply_engine(e, r);
	default:
		return quota__fail(QUOTA_ERR_UNSUPPORTED,
				   "record type %d is unknown (written by a newer libquota?)", op);
	}
}

/* Check buf[0..n) whole: header, every record, END; *seq, *records. */
static int verify(const unsigned char *buf, size_t n, const char *path, uint64_t *seq,
		  size_t *records)
{
	quota__rbuf r = {buf, n, 0, 0, NULL};
	if (n < SNAP_HEADER || memcmp(buf, SNAP_MAGIC, 8) != 0)
		return quota__fail(QUOTA_ERR_INVALID, "snapshot %s: not a libquota snapshot", path);
	r.off = 8;
	uint32_t version = quota__get_u32(&r);
	r.off = 16;
	*seq = quota__get_u64(&r);
	r.off = 28;
	if (quota__get_u32(&r) != quota__crc32c(0, buf, 28))
		return quota__fail(QUOTA_ERR_CORRUPT, "snapshot %s: header checksum fails", path);
	if (version > SNAP_VERSION)
		return quota__fail(QUOTA_ERR_UNSUPPORTED,
				   "snapshot %s: format version %u is newer than this library's %u",
				   path, version, SNAP_VERSION);
	uint64_t expect = 1;
	for (size_t off = SNAP_HEADER; off < n; expect++) {
		quota__frame f;
		if (quota__frame_next(buf, n, off, &f))
			return quota__fail(QUOTA_ERR_CORRUPT,
					   "snapshot %s: record %llu at byte %zu is damaged", path,
					   (unsigned long long)expect, off);
		if (f.seq != expect)
			return quota__fail(QUOTA_ERR_CORRUPT,
					   "snapshot %s: record at byte %zu is numbered %llu, "
					   "expected %llu",
					   path, off, (unsigned long long)f.seq,
					   (unsigned long long)expect);
		off += f.size;
		if (f.op != JOP_SNAP_END)
			continue;
		quota__rbuf end = {f.args, f.args_len, 0, 0, NULL};
		uint64_t count = quota__get_u64(&end);
		if (end.status || end.off != end.n || count != expect - 1 || off != n)
			return quota__fail(QUOTA_ERR_CORRUPT,
					   "snapshot %s: record %llu: a bad end (count, or bytes "
					   "after it)",
					   path, (unsigned long long)expect);
		*records = (size_t)count;
		return QUOTA_OK;
	}
	return quota__fail(QUOTA_ERR_CORRUPT, "snapshot %s: ends without its last record", path);
}

int quota__snapshot_read(quota_engine *e, const char *path, int missing_ok, uint64_t *seq)
{
	unsigned char *buf;
	size_t n, records = 0;
	*seq = 0;
	int err = quota__io_read_file(path, &buf, &n);
	if (err == ENOENT && missing_ok)
		return QUOTA_OK;
	if (err)
		return quota__fail(err == ENOMEM ? QUOTA_ERR_NOMEM : QUOTA_ERR_IO,
				   "snapshot: read %s: %s", path, strerror(err));
	int rc = verify(buf, n, path, seq, &records);
	size_t off = SNAP_HEADER;
	for (size_t i = 1; !rc && i <= records; i++) {
		quota__frame f;
		quota__frame_next(buf, n, off, &f); /* verified */
		off += f.size;
		quota__rmem mem = {0};
		quota__rbuf r = {f.args, f.args_len, 0, 0, &mem};
		rc = apply(e, f.op, &r);
		if (!rc && r.off != r.n)
			rc = unreadable();
		quota__rmem_free(&mem);
		if (rc) /* whatever the call said, the snapshot does not hold */
			rc = quota__fail_prefix(rc == QUOTA_ERR_NOMEM ? rc : QUOTA_ERR_CORRUPT,
						"snapshot %s: record %zu", path, i);
	}
	quota__free(buf);
	return rc;
}

/* Whether e holds nothing a snapshot could hold. */
static int engine_empty(quota_engine *e)
{
	int empty = e->regs.count == 0 && e->grants.count == 0 && e->consumers.count == 0 &&
		    e->policies->claims.n == 0 && e->policies->grants.n == 0 &&
		    e->policies->owners.count == 0;
	for (uint32_t i = 0; empty && i < e->stripe_count; i++)
		empty = e->stripes[i].buckets.count == 0 && e->stripes[i].claims.count == 0;
	return empty;
}

int quota__snapshot_load(quota_engine *e, const char *path)
{
	uint64_t seq;
	quota__rw_read(&e->policies->lock);
	quota__rw_read(&e->config);
	int empty = engine_empty(e);
	quota__rw_read_done(&e->config);
	quota__rw_read_done(&e->policies->lock);
	if (!empty)
		return quota__fail(QUOTA_ERR_WRONG_STATE,
				   "engine: a snapshot loads into an engine that holds nothing");
	return quota__snapshot_read(e, path, 0, &seq);
}

/* ---- the public calls ---- */

static int check_call(quota_engine *e, const char *path)
{
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	int rc = quota__check_text("path", path, 1, 4096);
	if (rc)
		return rc;
	if (quota__jinside(e))
		return quota__fail(QUOTA_ERR_WRONG_STATE, "engine: called from inside a change");
	return QUOTA_OK;
}

QUOTA_API int quota_engine_save(quota_engine *e, const char *path)
{
	quota__wbuf w = {0};
	int rc = check_call(e, path);
	if (rc)
		return rc;
	rc = e->journal ? quota__journal_snapshot(e, e->journal, &w)
			: quota__snapshot_build(e, 0, &w);
	if (rc)
		return rc;
	int err = quota__io_replace(path, w.p, w.n, NULL);
	quota__put_free(&w);
	if (err)
		return quota__fail(err == ENOMEM ? QUOTA_ERR_NOMEM : QUOTA_ERR_IO,
				   "snapshot: write %s: %s", path, strerror(err));
	return QUOTA_OK;
}

QUOTA_API int quota_engine_load(quota_engine *e, const char *path)
{
	int rc = check_call(e, path);
	if (rc)
		return rc;
	return e->journal ? quota__journal_load(e, e->journal, path)
			  : quota__snapshot_load(e, path);
}
