/*
 * The C side of the Go bindings; see shim.h.
 * SPDX-License-Identifier: MIT
 */
#include <stdatomic.h>
#include <string.h>

#include "_cgo_export.h"
#include "shim.h"

/* One block: "detail\0" when failed, then "bucket\0" when named. */
static char *texts(int failed, uint32_t *dlen, const char *bucket, uint32_t *blen)
{
	const char *detail = failed ? quota_last_error() : "";
	size_t d = strlen(detail), b = bucket ? strlen(bucket) : 0;
	*dlen = *blen = 0;
	if (!failed && b == 0)
		return NULL;
	char *t = malloc(d + 1 + b + 1);
	if (!t)
		return NULL; /* the Go side reads an empty detail */
	memcpy(t, detail, d + 1);
	if (b)
		memcpy(t + d + 1, bucket, b);
	t[d + 1 + b] = '\0';
	*dlen = (uint32_t)d;
	*blen = (uint32_t)b;
	return t;
}

gq_status gq_status_of(int rc)
{
	gq_status s = {rc, NULL};
	uint32_t d, b;
	if (rc < 0)
		s.text = texts(1, &d, NULL, &b);
	return s;
}

gq_decision gq_decision_of(int rc, const quota_answer *a)
{
	gq_decision r = {
		.rc = rc,
		.state = a->state,
		.flags = a->flags,
		.binding_request = a->binding_request,
		.binding_claim = a->binding_claim,
		.requested = a->requested,
		.available = a->available,
		.limit = a->limit,
		.period_ms = a->period_ms,
		.retry_after_ms = a->retry_after_ms,
		.reset_after_ms = a->reset_after_ms,
	};
	r.text = texts(rc < 0, &r.detail_len, a->bucket, &r.bucket_len);
	return r;
}

/* ---- documents (document.go) ---- */

/* A malformed encoding: a bug of the Go side, never a library status. */
#define GQ_BAD_DOC 1
#define GQ_BAD_DOC_TEXT "go bindings: malformed document encoding"

typedef struct gq_reader {
	const unsigned char *p, *end;
} gq_reader;

static int take(gq_reader *r, size_t n, const unsigned char **out)
{
	if ((size_t)(r->end - r->p) < n)
		return 0;
	*out = r->p;
	r->p += n;
	return 1;
}

static int take_u32(gq_reader *r, uint32_t *v)
{
	const unsigned char *b;
	if (!take(r, 4, &b))
		return 0;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 1;
}

static int take_u64(gq_reader *r, uint64_t *v)
{
	uint32_t lo, hi;
	if (!take_u32(r, &lo) || !take_u32(r, &hi))
		return 0;
	*v = (uint64_t)hi << 32 | lo;
	return 1;
}

/* One document; level is the number of containers around it. */
static int read_doc(gq_reader *r, int level, quota_doc **out)
{
	const unsigned char *b, *key = NULL;
	uint32_t n, key_len = 0;
	uint64_t v;
	double d;
	*out = NULL;
	if (!take(r, 1, &b))
		return GQ_BAD_DOC;
	switch (*b) {
	case GQ_DOC_ABSENT: return level == 0 ? QUOTA_OK : GQ_BAD_DOC;
	case GQ_DOC_NULL: return quota_doc_new_null(out);
	case GQ_DOC_FALSE: return quota_doc_new_bool(0, out);
	case GQ_DOC_TRUE: return quota_doc_new_bool(1, out);
	case GQ_DOC_INT: return take_u64(r, &v) ? quota_doc_new_int((int64_t)v, out) : GQ_BAD_DOC;
	case GQ_DOC_DOUBLE:
		if (!take_u64(r, &v))
			return GQ_BAD_DOC;
		memcpy(&d, &v, sizeof d);
		return quota_doc_new_double(d, out);
	case GQ_DOC_STRING:
		if (!take_u32(r, &n) || !take(r, n, &b))
			return GQ_BAD_DOC;
		return quota_doc_new_string((const char *)b, n, out);
	case GQ_DOC_LIST:
	case GQ_DOC_MAP: break;
	default: return GQ_BAD_DOC;
	}
	int map = *b == GQ_DOC_MAP;
	if (level >= QUOTA_DOC_MAX_DEPTH || !take_u32(r, &n))
		return GQ_BAD_DOC;
	int rc = map ? quota_doc_new_map(out) : quota_doc_new_list(out);
	for (uint32_t i = 0; rc == QUOTA_OK && i < n; i++) {
		quota_doc *item;
		if (map && (!take_u32(r, &key_len) || !take(r, key_len, &key))) {
			rc = GQ_BAD_DOC;
			break;
		}
		rc = read_doc(r, level + 1, &item);
		if (rc == QUOTA_OK && !item)
			rc = GQ_BAD_DOC;
		if (rc == QUOTA_OK) /* both take over item, also when they fail */
			rc = map ? quota_doc_map_set(*out, (const char *)key, key_len, item)
				 : quota_doc_list_append(*out, item);
	}
	if (rc != QUOTA_OK) {
		quota_doc_unref(*out);
		*out = NULL;
	}
	return rc;
}

static gq_status doc_status(int rc)
{
	if (rc != GQ_BAD_DOC)
		return gq_status_of(rc);
	gq_status s = {QUOTA_ERR_INTERNAL, strdup(GQ_BAD_DOC_TEXT)};
	return s;
}

gq_status gq_docs_build(const unsigned char *buf, size_t len, quota_doc **out, int n)
{
	gq_reader r = {buf, buf + len};
	int rc = QUOTA_OK;
	for (int i = 0; i < n; i++)
		out[i] = NULL;
	for (int i = 0; i < n && rc == QUOTA_OK; i++)
		rc = read_doc(&r, 0, &out[i]);
	if (rc == QUOTA_OK && r.p != r.end)
		rc = GQ_BAD_DOC;
	gq_status s = doc_status(rc);
	if (rc != QUOTA_OK)
		for (int i = 0; i < n; i++) {
			quota_doc_unref(out[i]);
			out[i] = NULL;
		}
	return s;
}

static void docs_unref(quota_doc **d, int n)
{
	for (int i = 0; i < n; i++)
		quota_doc_unref(d[i]);
}

gq_decision gq_admit(void *e, const unsigned char *docs, size_t len, uint32_t flags,
		     int64_t ttl_ms, quota_admission_result **out)
{
	quota_answer none;
	quota_answer_init(&none, sizeof none);
	quota_doc *d[3];
	*out = NULL;
	gq_status s = gq_docs_build(docs, len, d, 3);
	if (s.rc != QUOTA_OK) {
		gq_decision r = gq_decision_of(QUOTA_OK, &none);
		r.rc = s.rc;
		r.text = s.text;
		r.detail_len = s.text ? (uint32_t)strlen(s.text) : 0;
		return r;
	}
	quota_admission a;
	int rc = quota_admission_init(&a, sizeof a);
	if (rc == QUOTA_OK) {
		a.trigger = d[0];
		a.user = d[1];
		a.request_info = d[2];
		a.flags = flags;
		a.ttl_ms = ttl_ms;
		rc = quota_admit(e, &a, out);
	}
	gq_decision r = gq_decision_of(rc, *out ? &(*out)->answer : &none);
	docs_unref(d, 3);
	return r;
}

gq_status gq_grant_sync(void *e, const unsigned char *doc, size_t len, int32_t event,
			quota_grant_change ***changes, size_t *count)
{
	quota_doc *d;
	gq_status s = gq_docs_build(doc, len, &d, 1);
	if (s.rc == QUOTA_OK) {
		s = gq_status_of(quota_grant_policies_sync(e, d, event, changes, count));
		quota_doc_unref(d);
	}
	return s;
}

gq_status gq_doc_json(const unsigned char *doc, size_t len, char **text, size_t *text_len)
{
	quota_doc *d;
	gq_status s = gq_docs_build(doc, len, &d, 1);
	if (s.rc == QUOTA_OK) {
		s = gq_status_of(quota_doc_to_json(d, text, text_len));
		quota_doc_unref(d);
	}
	return s;
}

/* The engine's hooks, calling the exported Go functions (events.go). */
static int64_t clock_hook(void *payload)
{
	return goquotaClock((uintptr_t)payload);
}

static void event_hook(const quota_event *ev, void *payload)
{
	goquotaEvent((quota_event *)ev, (uintptr_t)payload);
}

gq_status gq_engine_new(quota_engine **out, uint32_t stripes, int64_t retention_ms,
			uint64_t key0, uint64_t key1, uintptr_t handle, int with_clock,
			int with_events, const char *journal_path, int32_t sync_mode,
			uint32_t sync_interval_ms)
{
	quota_engine_options o;
	int rc = quota_engine_options_init(&o, sizeof o);
	if (rc == QUOTA_OK) {
		o.stripes = stripes;
		if (retention_ms >= 0)
			o.released_retention_ms = retention_ms;
		o.hash_key[0] = key0;
		o.hash_key[1] = key1;
		if (with_clock) {
			o.clock = clock_hook;
			o.clock_payload = (void *)handle;
		}
		if (with_events) {
			o.event_fn = event_hook;
			o.event_payload = (void *)handle;
		}
		o.journal_path = journal_path;
		o.sync_mode = sync_mode;
		o.sync_interval_ms = sync_interval_ms;
		rc = quota_engine_new(out, &o);
	}
	return gq_status_of(rc);
}

/* The counting, failing allocator of the tests. */
static atomic_int_fast64_t live;
static atomic_int limited;
static atomic_int_fast64_t budget; /* allocations left while limited */

static void *counting_malloc(size_t n, void *payload)
{
	(void)payload;
	if (atomic_load(&limited) && atomic_fetch_sub(&budget, 1) <= 0)
		return NULL;
	void *p = malloc(n);
	if (p)
		atomic_fetch_add(&live, 1);
	return p;
}

static void counting_free(void *p, void *payload)
{
	(void)payload;
	atomic_fetch_sub(&live, 1);
	free(p);
}

void gq_test_fail_after(int64_t n)
{
	atomic_store(&budget, n);
	atomic_store(&limited, n >= 0);
}

gq_status gq_test_allocator(int enable)
{
	if (!enable)
		return gq_status_of(quota_set_allocator(NULL));
	quota_allocator a;
	int rc = quota_allocator_init(&a, sizeof a);
	if (rc == QUOTA_OK) {
		a.malloc_fn = counting_malloc;
		a.free_fn = counting_free;
		rc = quota_set_allocator(&a);
	}
	return gq_status_of(rc);
}

int64_t gq_test_allocations_live(void)
{
	return atomic_load(&live);
}
