/*
 * ResourceGrant (and the older ResourceQuotaGrant) in and out.
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "../alloc.h"
#include "../engine.h"
#include "../error.h"
#include "../selector.h"
#include "../util.h"
#include "objects.h"

#define ALLOWANCES_MAX 64
#define BUCKETS_MAX 16

static const int32_t action_values[] = {QUOTA_ACTION_REJECT, QUOTA_ACTION_THROTTLE,
					QUOTA_ACTION_WARN, QUOTA_ACTION_QUEUE};
static const int32_t window_values[] = {QUOTA_WINDOW_ROLLING, QUOTA_WINDOW_CALENDAR};

/* The extensions of a grant bucket: selector, period, burst, window,
 * violationAction. */
static int bucket_extensions(quota__rd *rd, const quota_doc *m, quota_grant_bucket *b)
{
	int rc;
	if ((rc = quota__rd_selector(rd, m, "selector", b)) ||
	    (rc = quota__rd_duration(rd, m, "period", 1, QUOTA_PERIOD_MAX, &b->period_ms)) ||
	    (rc = quota__rd_int(rd, m, "burst", 0, 0, INT64_MAX, &b->burst)) ||
	    (rc = quota__rd_enum(rd, m, "window", 0, quota__window_names, window_values,
				 &b->window)) ||
	    (rc = quota__rd_enum(rd, m, "violationAction", 0, quota__action_names + 1,
				 action_values, &b->violation_action)))
		return rc;
	if (b->window == QUOTA_WINDOW_CALENDAR && b->burst) {
		size_t back = quota__rd_key(rd, "burst");
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID,
				    "a Calendar window has no burst (its amount is all a window "
				    "holds)");
		quota__rd_back(rd, back);
	}
	return rc;
}

/* One bucket of an allowance; legacy: the older shape ({value, selector}). */
static int bucket_read(quota__load *ld, quota__item *it, const quota_doc *m, const char *type,
		       int legacy, quota_grant_bucket *b)
{
	static const char *const keys[] = {"amount", "selector",        "period", "burst",
					   "window", "violationAction", NULL};
	static const char *const legacy_keys[] = {"value",  "selector",        "period", "burst",
						  "window", "violationAction", NULL};
	quota__rd *rd = &ld->rd;
	int rc;
	quota_grant_bucket_init(b, sizeof *b);
	if (m->type != QUOTA_DOC_MAP)
		return quota__rd_fail(rd, QUOTA_ERR_INVALID, "must be a map, got %s",
				      quota__doc_type_name(m));
	if ((rc = quota__rd_known(rd, m, legacy ? legacy_keys : keys)))
		return rc;
	if (!legacy) {
		rc = quota__rd_int(rd, m, "amount", 1, QUOTA_UNLIMITED, INT64_MAX, &b->amount);
	} else {
		rc = quota__load_quantity(ld, it, m, "value", type, QUOTA_ROUND_DOWN, 1,
					  &b->amount);
	}
	return rc ? rc : bucket_extensions(rd, m, b);
}

int quota__allowances_read(quota__load *ld, quota__item *it, const quota_doc *spec, int legacy,
			   const quota_allowance **out, uint32_t *count)
{
	static const char *const keys[] = {"resourceType", "buckets", NULL};
	static const char *const legacy_keys[] = {"name", "dimensionLabels", "buckets", NULL};
	const char *list_key = legacy ? "limits" : "allowances";
	const char *type_key = legacy ? "name" : "resourceType";
	quota__rd *rd = &ld->rd;
	const quota_doc *list;
	size_t n;
	int rc = quota__rd_list(rd, spec, list_key, 1, ALLOWANCES_MAX, &list, &n);
	if (rc)
		return rc;
	size_t back = quota__rd_key(rd, list_key);
	quota_allowance *al = n ? quota__rd_alloc(rd, n * sizeof *al) : NULL;
	if (n == 0)
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "needs 1-%d entries", ALLOWANCES_MAX);
	else if (!al)
		rc = QUOTA_ERR_NOMEM;
	for (size_t i = 0; i < n && !rc; i++) {
		size_t at = quota__rd_index(rd, i);
		const quota_doc *a = list->u.l.items[i], *buckets, *labels;
		size_t nb, nl;
		quota_allowance_init(&al[i], sizeof al[i]);
		if (a->type != QUOTA_DOC_MAP) {
			rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "must be a map, got %s",
					    quota__doc_type_name(a));
		} else if (!(rc = quota__rd_known(rd, a, legacy ? legacy_keys : keys)) &&
			   !(rc = quota__rd_string(rd, a, type_key, 1, 1, QUOTA__NAME_MAX,
						   &al[i].resource_type)) &&
			   !(rc = quota__rd_list(rd, a, "dimensionLabels", 0, 32, &labels, &nl)) &&
			   !(rc = quota__rd_list(rd, a, "buckets", 1, BUCKETS_MAX, &buckets,
						 &nb))) {
			for (size_t k = 0; k < i && !rc; k++)
				if (strcmp(al[k].resource_type, al[i].resource_type) == 0) {
					size_t t = quota__rd_key(rd, type_key);
					rc = quota__rd_fail(rd, QUOTA_ERR_INVALID,
							    "%s also in %s[%zu]",
							    al[i].resource_type, list_key, k);
					quota__rd_back(rd, t);
				}
			size_t bk = quota__rd_key(rd, "buckets");
			quota_grant_bucket *b = nb ? quota__rd_alloc(rd, nb * sizeof *b) : NULL;
			if (!rc && nb == 0)
				rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "needs 1-%d entries",
						    BUCKETS_MAX);
			else if (!rc && !b)
				rc = QUOTA_ERR_NOMEM;
			for (size_t j = 0; j < nb && !rc; j++) {
				size_t bj = quota__rd_index(rd, j);
				rc = bucket_read(ld, it, buckets->u.l.items[j], al[i].resource_type,
						 legacy, &b[j]);
				quota__rd_back(rd, bj);
			}
			for (size_t j = 0; j < nl && !rc; j++) {
				const char *s;
				size_t lj = quota__rd_key(rd, "dimensionLabels");
				quota__rd_index(rd, j);
				rc = quota__rd_string_at(rd, labels->u.l.items[j], 1, 253, &s);
				quota__rd_back(rd, lj);
			}
			quota__rd_back(rd, bk);
			al[i].buckets = b;
			al[i].bucket_count = (uint32_t)nb;
		}
		quota__rd_back(rd, at);
	}
	quota__rd_back(rd, back);
	*out = al;
	*count = (uint32_t)n;
	return rc;
}

static int grant_read(quota__load *ld, quota__item *it, int legacy)
{
	static const char *const keys[] = {"consumerRef", "allowances", NULL};
	static const char *const legacy_keys[] = {"resourceRef", "limits", NULL};
	quota__rd *rd = &ld->rd;
	quota_grant *g = &it->u.grant;
	const quota_doc *spec, *meta;
	int rc;
	quota_grant_init(g, sizeof *g);
	if ((rc = quota__rd_get(rd, it->doc, "metadata", 1, QUOTA_DOC_MAP, &meta)))
		return rc;
	size_t back = quota__rd_key(rd, "metadata");
	if (!(rc = quota__rd_string(rd, meta, "name", 1, 1, QUOTA__NAME_MAX, &g->name)))
		rc = quota__rd_string(rd, meta, "namespace", 0, 0, QUOTA__NS_MAX, &g->ns);
	quota__rd_back(rd, back);
	if (rc || (rc = quota__rd_get(rd, it->doc, "spec", 1, QUOTA_DOC_MAP, &spec)))
		return rc;
	back = quota__rd_key(rd, "spec");
	if (!(rc = quota__rd_known(rd, spec, legacy ? legacy_keys : keys)) &&
	    !(rc = quota__rd_ref(rd, spec, legacy ? "resourceRef" : "consumerRef", 1, 1,
				 &g->consumer)))
		rc = quota__allowances_read(ld, it, spec, legacy, &g->allowances,
					    &g->allowance_count);
	quota__rd_back(rd, back);
	return rc;
}

int quota__grant_read(quota__load *ld, quota__item *it)
{
	return grant_read(ld, it, 0);
}

int quota__grant_read_legacy(quota__load *ld, quota__item *it)
{
	return grant_read(ld, it, 1);
}

/* Bucket j of allowance i against its registration r. */
static int bucket_check(quota__rd *rd, const quota_grant_bucket *b, const quota_registration *r)
{
	int rate = r->resource_class == QUOTA_RESOURCE_RATE, rc = QUOTA_OK;
	if (rate && b->period_ms == 0)
		return quota__rd_fail(rd, QUOTA_ERR_INVALID,
				      "%s is a Rate type: its amounts need a period",
				      r->resource_type);
	const char *field = rate                                           ? NULL
			    : b->period_ms                                 ? "period"
			    : b->burst                                     ? "burst"
			    : b->window                                    ? "window"
			    : b->violation_action == QUOTA_ACTION_THROTTLE ? "violationAction"
									   : NULL;
	if (field) {
		size_t back = quota__rd_key(rd, field);
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID,
				    "only Rate types have periods, bursts, windows and throttling; "
				    "%s is not one",
				    r->resource_type);
		quota__rd_back(rd, back);
		return rc;
	}
	if (!quota__has_selector(b))
		return QUOTA_OK;
	quota__selector *sel = NULL; /* the field it names is the bucket's */
	rc = quota__selector_compile(rd->path, b, r, &sel);
	quota__free(sel);
	return rc;
}

/* Whether consumer may hold the type of r: its kind, or a kind above it. */
static int consumer_check(quota__load *ld, const quota_ref *c, const char *key,
			  const quota_registration *r)
{
	quota__rd *rd = &ld->rd;
	int rc = QUOTA_OK;
	size_t back = quota__rd_key(rd, key);
	if (strcmp(c->kind, r->consumer_type.kind) != 0 &&
	    !quota__kind_is_ancestor(ld->e, c->kind, r->consumer_type.kind)) {
		quota__rd_key(rd, "kind");
		rc = quota__rd_fail(rd, QUOTA_ERR_NOT_ALLOWED,
				    "%s may not hold %s (registered for %s)", c->kind,
				    r->resource_type, r->consumer_type.kind);
	} else if (strcmp(c->kind, r->consumer_type.kind) == 0 && !quota__empty(c->api_group) &&
		   !quota__empty(r->consumer_type.api_group) &&
		   strcmp(c->api_group, r->consumer_type.api_group) != 0) {
		quota__rd_key(rd, "apiGroup");
		rc = quota__rd_fail(rd, QUOTA_ERR_NOT_ALLOWED, "%s does not match %s of %s",
				    c->api_group, r->consumer_type.api_group, r->resource_type);
	}
	quota__rd_back(rd, back);
	return rc;
}

int quota__allowances_check(quota__load *ld, const quota_ref *consumer, const char *consumer_key,
			    const quota_allowance *al, uint32_t n, int legacy)
{
	quota__rd *rd = &ld->rd;
	const char *list_key = legacy ? "limits" : "allowances";
	int rc = QUOTA_OK;
	for (uint32_t i = 0; i < n && !rc; i++) {
		const quota_allowance *a = &al[i];
		const quota_registration *r = quota__load_type(ld, list_key, i,
							       legacy ? "name" : "resourceType",
							       a->resource_type, &rc);
		if (rc)
			break;
		size_t at = quota__rd_key(rd, list_key);
		quota__rd_index(rd, i);
		for (uint32_t j = 0; j < a->bucket_count && !rc; j++) {
			size_t bj = quota__rd_key(rd, "buckets");
			quota__rd_index(rd, j);
			rc = bucket_check(rd, &a->buckets[j], r);
			quota__rd_back(rd, bj);
		}
		quota__rd_back(rd, at);
		if (!rc)
			rc = consumer_check(ld, consumer, consumer_key, r);
	}
	return rc;
}

int quota__grant_check(quota__load *ld, quota__item *it)
{
	const quota_grant *g = &it->u.grant;
	int legacy = it->kind->legacy;
	size_t back = quota__rd_key(&ld->rd, "spec");
	int rc = quota__allowances_check(ld, &g->consumer, legacy ? "resourceRef" : "consumerRef",
					 g->allowances, g->allowance_count, legacy);
	quota__rd_back(&ld->rd, back);
	return rc;
}

int quota__grant_prepare(quota__load *ld, quota__item *it)
{
	return quota__txn_grant(&ld->txn, &it->u.grant, NULL, NULL);
}

void quota__w_allowances(quota__w *w, const quota_allowance *al, uint32_t n)
{
	char period[32];
	quota__w list = quota__w_list();
	for (uint32_t i = 0; i < n; i++) {
		const quota_allowance *a = &al[i];
		quota__w item = quota__w_map(), buckets = quota__w_list();
		quota__w_str(&item, "resourceType", a->resource_type);
		for (uint32_t j = 0; j < a->bucket_count; j++) {
			const quota_grant_bucket *b = &a->buckets[j];
			quota__w bk = quota__w_map();
			quota__w_int(&bk, "amount", b->amount);
			quota__w_selector(&bk, b);
			if (b->period_ms) {
				quota__duration_format(b->period_ms, 1, period);
				quota__w_str(&bk, "period", period);
				if (b->burst)
					quota__w_int(&bk, "burst", b->burst);
				quota__w_str(&bk, "window", quota__window_names[b->window]);
			}
			if (b->violation_action)
				quota__w_str(&bk, "violationAction",
					     quota__action_names[b->violation_action]);
			quota__w_push_child(&buckets, &bk);
		}
		quota__w_child(&item, "buckets", &buckets);
		quota__w_push_child(&list, &item);
	}
	quota__w_child(w, "allowances", &list);
}

quota_doc *quota__grant_doc(const quota_grant *g, int *rc)
{
	quota__w w = quota__w_object("ResourceGrant", g->ns, g->name, 0, g->generation);
	quota__w spec = quota__w_map(), status = quota__w_map(), conds = quota__w_list();
	quota__w_ref(&spec, "consumerRef", &g->consumer);
	quota__w_allowances(&spec, g->allowances, g->allowance_count);
	quota__w_child(&w, "spec", &spec);
	quota__w_int(&status, "observedGeneration", g->generation);
	quota__w_condition(&conds, "Active", 1, "GrantActive",
			   "The grant is active and its allowances count toward bucket limits.", 0);
	quota__w_child(&status, "conditions", &conds);
	quota__w_child(&w, "status", &status);
	return quota__w_end(&w, rc);
}

int quota__grant_dump(quota_engine *e, quota__w *list)
{
	quota_grant **grants = NULL;
	size_t n;
	int rc = quota_grant_list(e, NULL, &grants, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		quota_doc *d = quota__grant_doc(grants[i], &rc);
		if (!rc) {
			quota__w_push(list, d);
			rc = list->rc;
		}
	}
	quota_free(grants);
	return rc;
}
