/*
 * ResourceClaim (and the older ResourceQuotaClaim) in and out.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "../error.h"
#include "../selector.h"
#include "../util.h"
#include "objects.h"

#define TTL_MAX QUOTA_PERIOD_MAX

/* requests (Milo: resourceType, amount) or resources (older: name,
 * quantity), each with the dimensions extension. */
static int requests_read(quota__load *ld, quota__item *it, const quota_doc *spec, int legacy)
{
	static const char *const keys[] = {"resourceType", "amount", "dimensions", NULL};
	static const char *const legacy_keys[] = {"name", "quantity", "dimensions", NULL};
	const char *list_key = legacy ? "resources" : "requests";
	const char *type_key = legacy ? "name" : "resourceType";
	quota__rd *rd = &ld->rd;
	quota_claim *c = &it->u.claim;
	const quota_doc *list;
	size_t n;
	int rc = quota__rd_list(rd, spec, list_key, 1, QUOTA_MAX_REQUESTS, &list, &n);
	if (rc)
		return rc;
	size_t back = quota__rd_key(rd, list_key);
	quota_request *r = n ? quota__rd_alloc(rd, n * sizeof *r) : NULL;
	if (n == 0)
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "needs 1-%d entries",
				    QUOTA_MAX_REQUESTS);
	else if (!r)
		rc = QUOTA_ERR_NOMEM;
	for (size_t i = 0; i < n && !rc; i++) {
		size_t at = quota__rd_index(rd, i);
		const quota_doc *q = list->u.l.items[i];
		quota_request_init(&r[i], sizeof r[i]);
		if (q->type != QUOTA_DOC_MAP) {
			rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "must be a map, got %s",
					    quota__doc_type_name(q));
		} else if (!(rc = quota__rd_known(rd, q, legacy ? legacy_keys : keys)) &&
			   !(rc = quota__rd_string(rd, q, type_key, 1, 1, QUOTA__NAME_MAX,
						   &r[i].resource_type)) &&
			   !(rc = legacy ? quota__load_quantity(ld, it, q, "quantity",
								r[i].resource_type, QUOTA_ROUND_UP,
								0, &r[i].amount)
					 : quota__rd_int(rd, q, "amount", 1, 1, INT64_MAX,
							 &r[i].amount))) {
			rc = quota__rd_labels(rd, q, "dimensions", &r[i].dimensions,
					      &r[i].dimension_count);
			for (size_t k = 0; k < i && !rc; k++)
				if (strcmp(r[k].resource_type, r[i].resource_type) == 0) {
					size_t t = quota__rd_key(rd, type_key);
					rc = quota__rd_fail(rd, QUOTA_ERR_INVALID,
							    "%s also in %s[%zu]",
							    r[i].resource_type, list_key, k);
					quota__rd_back(rd, t);
				}
		}
		quota__rd_back(rd, at);
	}
	quota__rd_back(rd, back);
	c->requests = r;
	c->request_count = (uint32_t)n;
	return rc;
}

static int claim_read(quota__load *ld, quota__item *it, int legacy)
{
	static const char *const keys[] = {"consumerRef", "resourceRef", "requests",     "ttl",
					   "queue",       "autoCommit",  "queueTimeout", NULL};
	static const char *const legacy_keys[] = {"consumerRef",  "resourceRef", "resources",
						  "ttl",          "queue",       "autoCommit",
						  "queueTimeout", NULL};
	quota__rd *rd = &ld->rd;
	quota_claim *c = &it->u.claim;
	const quota_doc *spec, *meta;
	int32_t queue = 0, auto_commit = 0;
	int rc;
	quota_claim_init(c, sizeof *c);
	if ((rc = quota__rd_get(rd, it->doc, "metadata", 1, QUOTA_DOC_MAP, &meta)))
		return rc;
	size_t back = quota__rd_key(rd, "metadata");
	if (!(rc = quota__rd_string(rd, meta, "name", 1, 1, QUOTA__NAME_MAX, &c->name)))
		rc = quota__rd_string(rd, meta, "namespace", 0, 0, QUOTA__NS_MAX, &c->ns);
	quota__rd_back(rd, back);
	if (rc || (rc = quota__rd_get(rd, it->doc, "spec", 1, QUOTA_DOC_MAP, &spec)))
		return rc;
	back = quota__rd_key(rd, "spec");
	if ((rc = quota__rd_known(rd, spec, legacy ? legacy_keys : keys)) ||
	    (rc = quota__rd_ref(rd, spec, "consumerRef", !legacy, 1, &c->consumer)) ||
	    (rc = quota__rd_ref(rd, spec, "resourceRef", legacy, 1, &c->resource)) ||
	    (rc = requests_read(ld, it, spec, legacy)) ||
	    (rc = quota__rd_duration(rd, spec, "ttl", 0, TTL_MAX, &c->ttl_ms)) ||
	    (rc = quota__rd_bool(rd, spec, "queue", &queue)) ||
	    (rc = quota__rd_bool(rd, spec, "autoCommit", &auto_commit)) ||
	    (rc = quota__rd_duration(rd, spec, "queueTimeout", 0, TTL_MAX, &c->queue_timeout_ms)))
		goto out;
	c->flags = (queue ? QUOTA_CLAIM_QUEUE : 0) | (auto_commit ? QUOTA_CLAIM_AUTO_COMMIT : 0);
	if (!c->consumer.kind) {
		/* The older shape names no consumer: the Project of its namespace. */
		if (quota__empty(c->ns)) {
			quota__rd_key(rd, "consumerRef");
			rc = quota__rd_fail(rd, QUOTA_ERR_INVALID,
					    "required when metadata.namespace does not name the "
					    "consumer");
			goto out;
		}
		c->consumer.api_group = ld->opts.legacy_consumer_type.api_group;
		c->consumer.kind = ld->opts.legacy_consumer_type.kind;
		c->consumer.name = c->ns;
	}
out:
	quota__rd_back(rd, back);
	return rc;
}

int quota__claim_read(quota__load *ld, quota__item *it)
{
	return claim_read(ld, it, 0);
}

int quota__claim_read_legacy(quota__load *ld, quota__item *it)
{
	return claim_read(ld, it, 1);
}

static int kind_listed(const quota_registration *r, const quota_ref *res)
{
	for (uint32_t i = 0; i < r->claiming_resource_count; i++) {
		const quota_kind_ref *k = &r->claiming_resources[i];
		if (strcmp(k->kind, res->kind) == 0 &&
		    (quota__empty(k->api_group) || quota__streq(k->api_group, res->api_group)))
			return 1;
	}
	return 0;
}

int quota__claim_check(quota__load *ld, quota__item *it)
{
	quota__rd *rd = &ld->rd;
	const quota_claim *c = &it->u.claim;
	int legacy = it->kind->legacy, rc = QUOTA_OK;
	const char *list_key = legacy ? "resources" : "requests";
	size_t back = quota__rd_key(rd, "spec");
	for (uint32_t i = 0; i < c->request_count && !rc; i++) {
		const quota_request *q = &c->requests[i];
		const quota_registration *r = quota__load_type(ld, list_key, i,
							       legacy ? "name" : "resourceType",
							       q->resource_type, &rc);
		if (rc)
			break;
		size_t at = quota__rd_key(rd, list_key);
		quota__rd_index(rd, i);
		if (q->amount <= 0) {
			quota__rd_key(rd, legacy ? "quantity" : "amount");
			rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "must be > 0, got %lld",
					    (long long)q->amount);
		} else if (q->dimension_count) {
			quota__rd_key(rd, "dimensions");
			rc = quota__check_dimensions_allowed(rd->path, r, q->dimensions,
							     q->dimension_count);
		}
		quota__rd_back(rd, at);
		if (rc)
			break;
		/* An older claim without consumerRef: its namespace named it. */
		int derived = legacy && c->consumer.name == c->ns;
		if (strcmp(c->consumer.kind, r->consumer_type.kind) != 0 ||
		    (!quota__empty(c->consumer.api_group) &&
		     !quota__empty(r->consumer_type.api_group) &&
		     strcmp(c->consumer.api_group, r->consumer_type.api_group) != 0)) {
			size_t k = derived ? back : quota__rd_key(rd, "consumerRef");
			if (derived) { /* the path leaves spec for metadata */
				quota__rd_back(rd, back);
				quota__rd_key(rd, "metadata");
				quota__rd_key(rd, "namespace");
			}
			rc = quota__rd_fail(rd, QUOTA_ERR_NOT_ALLOWED,
					    "%s%s%s may not hold %s (registered for %s%s%s)%s",
					    quota__str(c->consumer.api_group),
					    quota__empty(c->consumer.api_group) ? "" : "/",
					    c->consumer.kind, r->resource_type,
					    quota__str(r->consumer_type.api_group),
					    quota__empty(r->consumer_type.api_group) ? "" : "/",
					    r->consumer_type.kind,
					    derived ? "; the consumer comes from metadata.namespace"
						    : "");
			quota__rd_back(rd, k);
		} else if (r->claiming_resource_count &&
			   (!c->resource.kind || !kind_listed(r, &c->resource))) {
			size_t k = quota__rd_key(rd, "resourceRef");
			if (c->resource.kind)
				rc = quota__rd_fail(rd, QUOTA_ERR_NOT_ALLOWED,
						    "%s may not claim %s (not in its "
						    "claimingResources)",
						    c->resource.kind, r->resource_type);
			else
				rc = quota__rd_fail(rd, QUOTA_ERR_NOT_ALLOWED,
						    "required: only the claimingResources of %s "
						    "may claim it",
						    r->resource_type);
			quota__rd_back(rd, k);
		}
	}
	quota__rd_back(rd, back);
	return rc;
}

/* ---- writing ---------------------------------------------------------------- */

static const char *const phases[] = {"", "Reserved", "Granted", "Released", "Pending"};

/* spec of a claim from its parts. */
static void claim_spec(quota__w *w, const quota_ref *consumer, const quota_ref *resource,
		       uint32_t flags)
{
	quota__w_ref(w, "consumerRef", consumer);
	if (!quota__empty(resource->kind))
		quota__w_ref(w, "resourceRef", resource);
	if (flags & QUOTA_CLAIM_QUEUE)
		quota__w_bool(w, "queue", 1);
	if (flags & QUOTA_CLAIM_AUTO_COMMIT)
		quota__w_bool(w, "autoCommit", 1);
}

static void request_doc(quota__w *list, const char *type, int64_t amount, const quota_label *l,
			uint32_t n)
{
	quota__w q = quota__w_map();
	quota__w_str(&q, "resourceType", type);
	quota__w_int(&q, "amount", amount);
	if (n)
		quota__w_labels(&q, "dimensions", l, n);
	quota__w_push_child(list, &q);
}

/* One status.allocations[] entry. */
static void allocation_doc(quota__w *list, const char *type, const char *status, const char *reason,
			   const char *message, int64_t amount, const char *bucket, int64_t when_ns)
{
	char when[32];
	quota__w a = quota__w_map();
	quota__w_str(&a, "resourceType", type);
	quota__w_str(&a, "status", status);
	quota__w_opt(&a, "reason", reason);
	quota__w_opt(&a, "message", message);
	quota__w_int(&a, "allocatedAmount", amount);
	quota__w_opt(&a, "allocatingBucket", bucket);
	if (when_ns > 0) {
		quota__time_format(when_ns, when);
		quota__w_str(&a, "lastTransitionTime", when);
	}
	quota__w_push_child(list, &a);
}

quota_doc *quota__claim_doc(const quota_claim_info *c, int *rc)
{
	static const char *const alloc_status[] = {"", "Granted", "Granted", "Released", "Pending"};
	static const char *const alloc_reason[] = {"", "Reserved", "", "Released", "Queued"};
	char when[32], msg[160];
	quota__w w = quota__w_object("ResourceClaim", c->ns, c->name, 0, 0);
	quota__w spec = quota__w_map(), reqs = quota__w_list(), status = quota__w_map(),
		 allocs = quota__w_list(), conds = quota__w_list();
	claim_spec(&spec, &c->consumer, &c->resource, c->flags);
	for (uint32_t i = 0; i < c->allocation_count; i++) {
		const quota_allocation *a = c->allocations[i];
		request_doc(&reqs, a->resource_type, a->requested, a->dimensions,
			    a->dimension_count);
		allocation_doc(&allocs, a->resource_type, alloc_status[c->state],
			       alloc_reason[c->state], NULL, a->amount, a->bucket, c->updated_ns);
	}
	quota__w_child(&spec, "requests", &reqs);
	quota__w_child(&w, "spec", &spec);
	quota__w_str(&status, "phase", phases[c->state]);
	quota__w_child(&status, "allocations", &allocs);
	int ok = c->state == QUOTA_CLAIM_GRANTED || c->state == QUOTA_CLAIM_RESERVED;
	const char *reason = ok                                ? "QuotaAvailable"
			     : c->state == QUOTA_CLAIM_PENDING ? "PendingEvaluation"
							       : "Released";
	if (c->state == QUOTA_CLAIM_GRANTED)
		snprintf(msg, sizeof msg, "Every request was granted.");
	else if (c->state == QUOTA_CLAIM_RESERVED)
		snprintf(msg, sizeof msg, "Every request is reserved; not committed yet.");
	else if (c->state == QUOTA_CLAIM_PENDING)
		snprintf(msg, sizeof msg, "Queued until every request fits.");
	else
		snprintf(msg, sizeof msg, "Released; the claim holds nothing.");
	quota__w_condition(&conds, "Granted", ok, reason, msg, c->updated_ns);
	quota__w_child(&status, "conditions", &conds);
	if (c->expires_ns > 0) {
		quota__time_format(c->expires_ns, when);
		quota__w_str(&status, "expiresAt", when);
	}
	quota__w_child(&w, "status", &status);
	return quota__w_end(&w, rc);
}

int quota__claim_dump(quota_engine *e, quota__w *list)
{
	quota_claim_iter *it;
	const quota_claim_info *c;
	quota__sorted sorted = {0};
	int rc = quota_claim_iter_new(e, NULL, 0, &it);
	while (!rc && (rc = quota_claim_iter_next(it, &c)) == QUOTA_OK) {
		if (c->state == QUOTA_CLAIM_RELEASED)
			continue;
		quota_doc *d = quota__claim_doc(c, &rc);
		const char *key[] = {c->ns, c->name};
		if (!rc)
			quota__sorted_add(&sorted, d, key, 2);
	}
	quota_claim_iter_free(it);
	if (rc == QUOTA_ITER_DONE)
		rc = QUOTA_OK;
	int flushed = quota__sorted_flush(&sorted, list);
	return rc ? rc : flushed;
}

/* A decision the engine did not store: denied, or a dry run. */
static quota_doc *decision_doc(const quota_claim *c, int status, const quota_answer *a,
			       const char *detail, int64_t now, int *rc)
{
	char msg[QUOTA_BUCKET_ID_MAX + 160];
	int exceeded = status == QUOTA_ERR_EXCEEDED || status == QUOTA_ERR_RATE_LIMITED;
	int binding = a ? a->binding_request : -1;
	quota__w w = quota__w_object("ResourceClaim", c->ns, c->name, 0, 0);
	quota__w spec = quota__w_map(), reqs = quota__w_list(), st = quota__w_map(),
		 allocs = quota__w_list(), conds = quota__w_list();
	claim_spec(&spec, &c->consumer, &c->resource, c->flags);
	if (status == QUOTA_OK)
		snprintf(msg, sizeof msg, "Every request fits.");
	else if (exceeded && a && status == QUOTA_ERR_RATE_LIMITED)
		snprintf(msg, sizeof msg,
			 "Resource quota exceeded: requested %lld, available %lld (rate limit of "
			 "%s, retry after %lld ms)",
			 (long long)a->requested, (long long)a->available, a->bucket,
			 (long long)a->retry_after_ms);
	else if (exceeded && a)
		snprintf(msg, sizeof msg,
			 "Resource quota exceeded: requested %lld, available %lld (bucket %s)",
			 (long long)a->requested, (long long)a->available, a->bucket);
	else if (exceeded)
		snprintf(msg, sizeof msg, "Resource quota exceeded");
	else
		snprintf(msg, sizeof msg, "%s", detail);
	const char *reason = status == QUOTA_OK ? "QuotaAvailable"
			     : exceeded         ? "QuotaExceeded"
						: "ValidationFailed";
	for (uint32_t i = 0; i < c->request_count; i++) {
		const quota_request *q = quota__elem(c->requests, i);
		request_doc(&reqs, q->resource_type, q->amount, q->dimensions, q->dimension_count);
		if (status == QUOTA_OK)
			allocation_doc(&allocs, q->resource_type, "Granted", reason, NULL,
				       q->amount, NULL, now);
		else if ((int)i == binding || !exceeded)
			allocation_doc(&allocs, q->resource_type, "Denied", reason, msg, 0,
				       exceeded && a ? a->bucket : NULL, now);
		else
			allocation_doc(&allocs, q->resource_type, "Denied", "ClaimDenied",
				       "Not granted: claims are all or nothing.", 0, NULL, now);
	}
	quota__w_child(&spec, "requests", &reqs);
	quota__w_child(&w, "spec", &spec);
	quota__w_str(&st, "phase", status == QUOTA_OK ? "Granted" : "Denied");
	quota__w_child(&st, "allocations", &allocs);
	quota__w_condition(&conds, "Granted", status == QUOTA_OK, reason, msg, now);
	quota__w_child(&st, "conditions", &conds);
	quota__w_child(&w, "status", &st);
	return quota__w_end(&w, rc);
}

QUOTA_API int quota_json_claim_answer(quota_engine *e, const quota_claim *c, int status,
				      const quota_answer *answer, quota_doc **out)
{
	char detail[QUOTA__ERROR_MAX];
	int rc;
	/* The caller's detail explains status: keep it before anything fails. */
	snprintf(detail, sizeof detail, "%s", quota_last_error());
	if (!e || !c || !out)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL",
				   !e   ? "engine"
				   : !c ? "claim"
					: "out");
	*out = NULL;
	if (*(const size_t *)c < sizeof(quota_claim) ||
	    (c->request_count &&
	     (rc = quota__check_array("claim.requests", c->requests, c->request_count,
				      sizeof(quota_request)))))
		return quota__fail(QUOTA_ERR_INVALID, "claim: initialise it with quota_claim_init");
	if ((rc = quota__check_text("claim.name", c->name, 1, QUOTA__NAME_MAX)) ||
	    (rc = quota__check_text("claim.namespace", c->ns, 0, QUOTA__NS_MAX)) ||
	    (rc = quota__check_ref("claim.consumerRef", &c->consumer)))
		return rc;
	for (uint32_t i = 0; i < c->request_count; i++) {
		const quota_request *q = quota__elem(c->requests, i);
		if ((rc = quota__check_text_at("claim.requests", i, ".resourceType",
					       q->resource_type, 1, QUOTA__NAME_MAX)) ||
		    (rc = quota__check_labels("claim.requests", q->dimensions, q->dimension_count)))
			return rc;
	}
	if (!quota__empty(c->resource.kind) &&
	    (rc = quota__check_ref("claim.resourceRef", &c->resource)))
		return rc;
	if (status == QUOTA_OK) { /* stored, unless it was a dry run */
		quota_claim_info *ci = NULL;
		rc = quota_claim_get(e, c->ns, c->name, &ci);
		if (rc == QUOTA_OK && ci->state != QUOTA_CLAIM_RELEASED) {
			*out = quota__claim_doc(ci, &rc);
			quota_free(ci);
			return quota__w_result(rc, "claim");
		}
		quota_free(ci);
		if (rc == QUOTA_ERR_NOMEM)
			return rc;
	}
	int64_t now = 0;
	quota_engine_now(e, &now);
	*out = decision_doc(c, status, answer, detail, now, &rc);
	return quota__w_result(rc, "claim");
}
