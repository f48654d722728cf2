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
			int with_events)
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
