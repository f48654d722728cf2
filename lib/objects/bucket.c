/*
 * AllowanceBuckets out, and the flat quota view of the REST quota API.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "../error.h"
#include "../util.h"
#include "objects.h"

quota_doc *quota__bucket_doc(const quota_bucket_info *b, int *rc)
{
	char name[QUOTA_BUCKET_ID_MAX], when[32], period[32];
	const quota_ref *c = &b->consumer;
	snprintf(name, sizeof name, "%s-%s-%s%s%s", c->kind, c->name, b->resource_type,
		 b->selector[0] ? "-" : "", b->selector);
	quota__w w = quota__w_object("AllowanceBucket", c->ns, name, 1, 0);
	quota__w spec = quota__w_map(), st = quota__w_map(), refs = quota__w_list();
	quota__w_ref(&spec, "consumerRef", c);
	quota__w_str(&spec, "resourceType", b->resource_type);
	quota__w_opt(&spec, "selector", b->selector);
	quota__w_child(&w, "spec", &spec);
	/* The reference fields, in its order. */
	quota__w_int(&st, "limit", b->limit);
	quota__w_int(&st, "allocated", b->allocated);
	quota__w_int(&st, "available", b->available);
	quota__w_int(&st, "claimCount", b->claim_count);
	quota__w_int(&st, "grantCount", b->grant_count);
	for (uint32_t i = 0; i < b->grant_ref_count; i++) {
		const quota_grant_ref *g = b->grant_refs[i];
		quota__w r = quota__w_map();
		quota__w_str(&r, "name", g->name);
		quota__w_opt(&r, "namespace", g->ns);
		quota__w_int(&r, "amount", g->amount);
		quota__w_int(&r, "lastObservedGeneration", g->last_observed_generation);
		quota__w_push_child(&refs, &r);
	}
	quota__w_child(&st, "contributingGrantRefs", &refs);
	if (b->last_reconciliation_ns > 0) {
		quota__time_format(b->last_reconciliation_ns, when);
		quota__w_str(&st, "lastReconciliation", when);
	}
	quota__w_int(&st, "observedGeneration", b->observed_generation);
	/* libquota's own. */
	quota__w_int(&st, "reserved", b->reserved);
	quota__w_int(&st, "reservedCount", b->reserved_count);
	if (b->pending)
		quota__w_int(&st, "pending", b->pending);
	if (b->flags & QUOTA_BUCKET_OBSERVED) {
		quota__w_int(&st, "observed", b->observed);
		quota__w_int(&st, "drift", b->drift);
	}
	if (b->rate_count) {
		quota__w rates = quota__w_list();
		for (uint32_t i = 0; i < b->rate_count; i++) {
			const quota_rate_info *r = b->rates[i];
			quota__w x = quota__w_map();
			quota__duration_format(r->period_ms, 1, period);
			quota__w_str(&x, "period", period);
			quota__w_str(&x, "window", quota__window_names[r->window]);
			quota__w_int(&x, "limit", r->limit);
			quota__w_int(&x, "burst", r->burst);
			quota__w_int(&x, "remaining", r->remaining);
			quota__w_int(&x, "resetAfterMs", r->reset_after_ms);
			quota__w_push_child(&rates, &x);
		}
		quota__w_child(&st, "rates", &rates);
	}
	quota__w_child(&w, "status", &st);
	return quota__w_end(&w, rc);
}

/* {name, limit, usage, scope} of one bucket. */
static quota_doc *quota_view(const quota_bucket_info *b, int *rc)
{
	char name[QUOTA_BUCKET_ID_MAX], scope[QUOTA_BUCKET_ID_MAX];
	const quota_ref *c = &b->consumer;
	int64_t used = b->flags & QUOTA_BUCKET_OBSERVED && b->observed > b->allocated
			       ? b->observed
			       : b->allocated;
	if (__builtin_add_overflow(used, b->reserved, &used))
		used = INT64_MAX;
	snprintf(name, sizeof name, "%s%s%s%s", b->resource_type, b->selector[0] ? "[" : "",
		 b->selector, b->selector[0] ? "]" : "");
	snprintf(scope, sizeof scope, "%s/%s/%s", c->kind, quota__str(c->ns), c->name);
	quota__w w = quota__w_map();
	quota__w_str(&w, "name", name);
	quota__w_int(&w, "limit", b->limit);
	quota__w_int(&w, "usage", used);
	quota__w_str(&w, "scope", scope);
	return quota__w_end(&w, rc);
}

/* Every bucket (of consumer, or all) through fn into list, sorted by
 * consumer, type and selector (the base bucket first). */
static int each_bucket(quota_engine *e, const quota_ref *consumer, quota__w *list,
		       quota_doc *(*fn)(const quota_bucket_info *, int *))
{
	quota_bucket_iter *it;
	const quota_bucket_info *b;
	quota__sorted sorted = {0};
	int rc = quota_bucket_iter_new(e, consumer, NULL, &it);
	while (!rc && (rc = quota_bucket_iter_next(it, &b)) == QUOTA_OK) {
		quota_doc *d = fn(b, &rc);
		const char *key[] = {b->consumer.kind, b->consumer.ns, b->consumer.name,
				     b->resource_type, b->selector};
		if (!rc)
			quota__sorted_add(&sorted, d, key, 5);
	}
	quota_bucket_iter_free(it);
	if (rc == QUOTA_ITER_DONE)
		rc = QUOTA_OK;
	int flushed = quota__sorted_flush(&sorted, list);
	return rc ? rc : flushed;
}

int quota__bucket_dump(quota_engine *e, quota__w *list)
{
	return each_bucket(e, NULL, list, quota__bucket_doc);
}

QUOTA_API int quota_json_bucket(quota_engine *e, const quota_ref *consumer,
				const char *resource_type, const char *selector, quota_doc **out)
{
	quota_bucket_info *b;
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "out: must not be NULL");
	*out = NULL;
	int rc = quota_bucket_get_selector(e, consumer, resource_type, selector ? selector : "",
					   &b);
	if (rc)
		return rc;
	*out = quota__bucket_doc(b, &rc);
	quota_free(b);
	return quota__w_result(rc, "bucket");
}

QUOTA_API int quota_json_quotas(quota_engine *e, const quota_ref *consumer, quota_doc **out)
{
	int rc;
	if (!e || !out)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL", e ? "out" : "engine");
	*out = NULL;
	quota__w list = quota__w_list();
	if (list.rc)
		return quota__w_result(list.rc, "quotas");
	rc = each_bucket(e, consumer, &list, quota_view);
	if (rc) {
		quota_doc_unref(quota__w_end(&list, &(int){0}));
		return quota__w_result(rc, "quotas");
	}
	*out = quota__w_end(&list, &rc);
	return quota__w_result(rc, "quotas");
}
