/*
 * Registrations: which resource types exist and who may hold and claim them.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "api.h"
#include "engine.h"
#include "error.h"
#include "pack.h"
#include "txn.h"

#define MAX_CLAIMING 20
#define MAX_DIMENSIONS 32
#define UNIT_MAX 50
#define DESCRIPTION_MAX 500

QUOTA_API int quota_registration_init(quota_registration *r, size_t size)
{
	if (!r || size < sizeof *r)
		return quota__fail(QUOTA_ERR_INVALID, "registration: NULL or size %zu too small",
				   size);
	memset(r, 0, sizeof *r);
	r->size = sizeof *r;
	r->resource_class = QUOTA_RESOURCE_ALLOCATION;
	r->enforcement = QUOTA_ENFORCE;
	r->unit_conversion_factor = 1;
	return QUOTA_OK;
}

static quota_registration *pack_registration(quota__pack *p, const quota_registration *src)
{
	quota_registration r = *src;
	quota_registration *dst = quota__pack_take(p, sizeof r);
	r.size = sizeof r;
	r.resource_type = quota__pack_str(p, src->resource_type);
	r.consumer_type.api_group = quota__pack_str(p, quota__str(src->consumer_type.api_group));
	r.consumer_type.kind = quota__pack_str(p, src->consumer_type.kind);
	r.base_unit = quota__pack_str(p, quota__str(src->base_unit));
	r.display_unit = quota__pack_str(p, quota__str(src->display_unit));
	r.description = quota__pack_str(p, quota__str(src->description));
	quota_kind_ref *cl = quota__pack_take(p, src->claiming_resource_count * sizeof *cl);
	for (uint32_t i = 0; i < src->claiming_resource_count; i++) {
		quota_kind_ref k = {
			quota__pack_str(p, quota__str(src->claiming_resources[i].api_group)),
			quota__pack_str(p, src->claiming_resources[i].kind)};
		if (cl)
			cl[i] = k;
	}
	r.claiming_resources = src->claiming_resource_count ? cl : NULL;
	const char **dims = quota__pack_take(p, src->allowed_dimension_count * sizeof *dims);
	for (uint32_t i = 0; i < src->allowed_dimension_count; i++) {
		const char *d = quota__pack_str(p, src->allowed_dimensions[i]);
		if (dims)
			dims[i] = d;
	}
	r.allowed_dimensions = src->allowed_dimension_count ? dims : NULL;
	if (dst)
		*dst = r;
	return dst;
}

/* A packed copy in one allocation, or NULL when out of memory. */
static quota_registration *copy_registration(const quota_registration *src)
{
	quota__pack p = {0};
	pack_registration(&p, src);
	if (quota__pack_begin_write(&p))
		return NULL;
	return pack_registration(&p, src);
}

static int check_registration(const quota_registration *r)
{
	char field[64];
	int rc;
	if ((rc = quota__check_text("registration.resourceType", r->resource_type, 1,
				    QUOTA__NAME_MAX)) ||
	    (rc = quota__check_text("registration.consumerType.apiGroup",
				    r->consumer_type.api_group, 0, QUOTA__GROUP_MAX)) ||
	    (rc = quota__check_kind("registration.consumerType.kind", r->consumer_type.kind)))
		return rc;
	if (r->resource_class < QUOTA_RESOURCE_ENTITY || r->resource_class > QUOTA_RESOURCE_RATE)
		return quota__fail(QUOTA_ERR_INVALID,
				   "registration.type: %d is not Entity, Allocation, Feature or Rate",
				   r->resource_class);
	if (r->enforcement != QUOTA_ENFORCE && r->enforcement != QUOTA_WARN)
		return quota__fail(QUOTA_ERR_INVALID,
				   "registration.enforcement: %d is not Enforce or Warn",
				   r->enforcement);
	if ((rc = quota__check_text("registration.baseUnit", r->base_unit, 0, UNIT_MAX)) ||
	    (rc = quota__check_text("registration.displayUnit", r->display_unit, 0, UNIT_MAX)) ||
	    (rc = quota__check_text("registration.description", r->description, 0,
				    DESCRIPTION_MAX)))
		return rc;
	if (r->unit_conversion_factor < 1)
		return quota__fail(QUOTA_ERR_INVALID,
				   "registration.unitConversionFactor: must be >= 1, got %lld",
				   (long long)r->unit_conversion_factor);
	if (r->default_limit < QUOTA_UNLIMITED)
		return quota__fail(QUOTA_ERR_INVALID,
				   "registration.defaultLimit: must be >= 0 or -1, got %lld",
				   (long long)r->default_limit);
	int rate = r->resource_class == QUOTA_RESOURCE_RATE;
	if (rate && r->default_limit > 0)
		return quota__fail(QUOTA_ERR_INVALID,
				   "registration.defaultLimit: a Rate type's is 0 (nothing without a "
				   "grant) or -1 (no limit without a grant), got %lld",
				   (long long)r->default_limit);
	if (r->violation_action < QUOTA_ACTION_DEFAULT || r->violation_action > QUOTA_ACTION_QUEUE)
		return quota__fail(QUOTA_ERR_INVALID,
				   "registration.violationAction: %d is not a QUOTA_ACTION_*",
				   r->violation_action);
	if (!rate && r->violation_action == QUOTA_ACTION_THROTTLE)
		return quota__fail(QUOTA_ERR_INVALID,
				   "registration.violationAction: throttling needs a Rate type");
	if (r->reserved_flags)
		return quota__fail(QUOTA_ERR_INVALID, "registration.reserved_flags: must be 0");
	if (r->claiming_resource_count > MAX_CLAIMING)
		return quota__fail(QUOTA_ERR_INVALID,
				   "registration.claimingResources: %u entries, at most %d",
				   r->claiming_resource_count, MAX_CLAIMING);
	if (r->claiming_resource_count && !r->claiming_resources)
		return quota__fail(QUOTA_ERR_INVALID,
				   "registration.claimingResources: NULL with count %u",
				   r->claiming_resource_count);
	for (uint32_t i = 0; i < r->claiming_resource_count; i++) {
		snprintf(field, sizeof field, "registration.claimingResources[%u].apiGroup", i);
		if ((rc = quota__check_text(field, r->claiming_resources[i].api_group, 0,
					    QUOTA__GROUP_MAX)))
			return rc;
		snprintf(field, sizeof field, "registration.claimingResources[%u].kind", i);
		if ((rc = quota__check_kind(field, r->claiming_resources[i].kind)))
			return rc;
	}
	if (r->allowed_dimension_count > MAX_DIMENSIONS)
		return quota__fail(QUOTA_ERR_INVALID,
				   "registration.allowedDimensions: %u entries, at most %d",
				   r->allowed_dimension_count, MAX_DIMENSIONS);
	if (r->allowed_dimension_count && !r->allowed_dimensions)
		return quota__fail(QUOTA_ERR_INVALID,
				   "registration.allowedDimensions: NULL with count %u",
				   r->allowed_dimension_count);
	for (uint32_t i = 0; i < r->allowed_dimension_count; i++) {
		snprintf(field, sizeof field, "registration.allowedDimensions[%u]", i);
		if ((rc = quota__check_label_key(field, r->allowed_dimensions[i])))
			return rc;
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(r->allowed_dimensions[i], r->allowed_dimensions[j]) == 0)
				return quota__fail(QUOTA_ERR_INVALID, "%s: \"%s\" listed twice",
						   field, r->allowed_dimensions[i]);
	}
	return QUOTA_OK;
}

/* The hint slot of a type, from its length, first, middle and last bytes
 * mixed by a multiplication: cheap and unkeyed, since a collision only
 * costs a lookup through the table. */
static _Atomic(quota__reg *) *reg_hint(quota_engine *e, const char *type, size_t len)
{
	const unsigned char *p = (const unsigned char *)type;
	uint32_t w = len ? (uint32_t)len | (uint32_t)p[len - 1] << 8 | (uint32_t)p[len / 2] << 16 |
				   (uint32_t)p[0] << 24
			 : 0;
	return &e->reg_hint[(w * UINT32_C(0x9E3779B1)) >> 28];
}

quota__reg *quota__reg_find_len(quota_engine *e, const char *type, size_t len)
{
	_Atomic(quota__reg *) *hint = reg_hint(e, type, len);
	quota__reg *r = atomic_load_explicit(hint, memory_order_relaxed);
	if (r && r->node.key_len == len && memcmp(r->node.key, type, len) == 0)
		return r;
	r = (quota__reg *)quota__table_find(&e->regs, quota__hash(e, type, len), type, len);
	if (r)
		atomic_store_explicit(hint, r, memory_order_relaxed);
	return r;
}

quota__reg *quota__reg_find(quota_engine *e, const char *type)
{
	return quota__reg_find_len(e, type, strlen(type));
}

/* Take r out of the hints before it is freed; caller holds config for
 * writing. */
static void reg_forget(quota_engine *e, const quota__reg *r)
{
	_Atomic(quota__reg *) *hint = reg_hint(e, r->node.key, r->node.key_len);
	if (atomic_load_explicit(hint, memory_order_relaxed) == r)
		atomic_store_explicit(hint, NULL, memory_order_relaxed);
}

int quota__reg_check_consumer(const quota__reg *r, const quota_ref *consumer, const char *field)
{
	const quota_kind_ref *ct = &r->pub->consumer_type;
	if (strcmp(consumer->kind, ct->kind) != 0)
		return quota__fail(QUOTA_ERR_NOT_ALLOWED,
				   "%s.kind: %s may not hold %s (registered for %s)", field,
				   consumer->kind, r->pub->resource_type, ct->kind);
	if (!quota__empty(consumer->api_group) && !quota__empty(ct->api_group) &&
	    strcmp(consumer->api_group, ct->api_group) != 0)
		return quota__fail(QUOTA_ERR_NOT_ALLOWED,
				   "%s.apiGroup: %s does not match %s of %s", field,
				   consumer->api_group, ct->api_group, r->pub->resource_type);
	return QUOTA_OK;
}

static int same_immutable(const quota_registration *a, const quota_registration *b)
{
	return quota__streq(a->consumer_type.kind, b->consumer_type.kind) &&
	       quota__streq(a->consumer_type.api_group, b->consumer_type.api_group) &&
	       a->resource_class == b->resource_class;
}

static int same_mutable(const quota_registration *a, const quota_registration *b)
{
	if (a->enforcement != b->enforcement || a->default_limit != b->default_limit ||
	    a->violation_action != b->violation_action ||
	    a->unit_conversion_factor != b->unit_conversion_factor ||
	    !quota__streq(a->base_unit, b->base_unit) ||
	    !quota__streq(a->display_unit, b->display_unit) ||
	    !quota__streq(a->description, b->description) ||
	    a->claiming_resource_count != b->claiming_resource_count ||
	    a->allowed_dimension_count != b->allowed_dimension_count)
		return 0;
	for (uint32_t i = 0; i < a->claiming_resource_count; i++)
		if (!quota__streq(a->claiming_resources[i].kind, b->claiming_resources[i].kind) ||
		    !quota__streq(a->claiming_resources[i].api_group,
				  b->claiming_resources[i].api_group))
			return 0;
	for (uint32_t i = 0; i < a->allowed_dimension_count; i++)
		if (strcmp(a->allowed_dimensions[i], b->allowed_dimensions[i]) != 0)
			return 0;
	return 1;
}

/* Give r the spec next (owned); existing buckets follow at once. Returns
 * the spec it had. Caller holds config and every stripe. */
static quota_registration *reg_install(quota_engine *e, quota__reg *r, quota_registration *next,
				       int64_t now)
{
	quota_registration *old = r->pub;
	next->generation = old->generation + 1;
	r->pub = next;
	r->node.key = next->resource_type; /* the key lives in the spec */
	for (uint32_t i = 0; i < e->stripe_count; i++) {
		quota__table *t = &e->stripes[i].buckets;
		for (size_t s = 0; s <= t->mask; s++)
			for (quota__node *n = t->slots[s]; n; n = n->next) {
				quota__bucket *b = (quota__bucket *)n;
				if (b->reg != r)
					continue;
				b->enforcement = (int8_t)next->enforcement;
				for (uint32_t k = 0; k < quota__bucket_sel_count(b); k++)
					b->ext->sels[k]->enforcement = (int8_t)next->enforcement;
				if (b->contrib_count == 0 && b->limit != quota__bucket_default(b)) {
					quota__bucket_reset_limit(b, now);
					quota__capacity_freed(e);
				}
				if (next->enforcement == QUOTA_WARN ||
				    next->violation_action != old->violation_action)
					quota__capacity_freed(e);
			}
	}
	return old;
}

static quota__reg_op *reg_op_of(quota__txn *t, const char *type)
{
	for (uint32_t i = 0; i < t->reg_count; i++)
		if (strcmp(t->regs[i].reg->pub->resource_type, type) == 0)
			return &t->regs[i];
	return NULL;
}

int quota__txn_registration(quota__txn *t, const quota_registration *in, int must_exist)
{
	quota_engine *e = t->e;
	quota_registration r;
	int rc;
	t->broken = 1;
	if ((rc = quota__copy_in("registration", &r, sizeof r, in, sizeof r)) ||
	    (rc = check_registration(&r)))
		return rc;
	if (reg_op_of(t, r.resource_type))
		return quota__fail(QUOTA_ERR_INVALID, "registration %s: changed twice in one batch",
				   r.resource_type);
	quota__reg *cur = quota__reg_find(e, r.resource_type);
	if (!cur && must_exist)
		return quota__fail(QUOTA_ERR_NOT_FOUND, "registration %s: not registered",
				   r.resource_type);
	if (cur && !same_immutable(cur->pub, &r))
		return quota__fail(
			QUOTA_ERR_CONFLICT,
			"registration %s: consumerType and type are immutable (have %s %s/%d)",
			r.resource_type, quota__str(cur->pub->consumer_type.api_group),
			cur->pub->consumer_type.kind, cur->pub->resource_class);
	if (cur && same_mutable(cur->pub, &r)) {
		t->broken = 0;
		return QUOTA_OK;
	}
	void *ops = t->regs;
	if (quota__txn_reserve(&ops, &t->reg_cap, t->reg_count + 1, sizeof *t->regs))
		return quota__fail(QUOTA_ERR_NOMEM, "registration: out of memory");
	t->regs = ops;
	quota_registration *copy = copy_registration(&r);
	quota__reg *fresh = NULL;
	if (!copy || (!cur && !(fresh = quota__calloc(1, sizeof *fresh)))) {
		quota__free(copy);
		return quota__fail(QUOTA_ERR_NOMEM, "registration: out of memory");
	}
	if (cur) {
		t->regs[t->reg_count++] = (quota__reg_op){cur, copy, 0};
	} else {
		copy->generation = t->restoring && r.generation > 0 ? r.generation : 1;
		fresh->pub = copy;
		fresh->node.key = copy->resource_type;
		fresh->node.key_len = strlen(copy->resource_type);
		fresh->node.hash = quota__hash(e, fresh->node.key, fresh->node.key_len);
		/* In the table from now on, so that the rest of the batch sees it;
		 * nothing outside the config lock looks there. */
		quota__table_insert(&e->regs, &fresh->node);
		t->regs[t->reg_count++] = (quota__reg_op){fresh, NULL, 1};
	}
	t->broken = 0;
	return QUOTA_OK;
}

int quota__txn_regs_update(const quota__txn *t)
{
	for (uint32_t i = 0; i < t->reg_count; i++)
		if (!t->regs[i].fresh)
			return 1;
	return 0;
}

void quota__txn_regs_commit(quota__txn *t, int64_t now)
{
	for (uint32_t i = 0; i < t->reg_count; i++)
		if (!t->regs[i].fresh) /* next becomes the spec; the old one is freed later */
			t->regs[i].next = reg_install(t->e, t->regs[i].reg, t->regs[i].next, now);
}

void quota__txn_regs_finish(quota__txn *t)
{
	for (uint32_t i = 0; i < t->reg_count; i++)
		quota__free(t->regs[i].next);
	t->reg_count = 0;
}

void quota__txn_regs_abort(quota__txn *t)
{
	for (uint32_t i = t->reg_count; i-- > 0;) {
		quota__reg_op *op = &t->regs[i];
		if (op->fresh) {
			reg_forget(t->e, op->reg);
			quota__table_remove(&t->e->regs, &op->reg->node);
			quota__free(op->reg->pub);
			quota__free(op->reg);
		}
		quota__free(op->next);
	}
	t->reg_count = 0;
}

static int registration_put(quota_engine *e, const quota_registration *in, int must_exist)
{
	quota__txn t;
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	quota__txn_begin(e, &t);
	return quota__txn_end(&t, quota__txn_registration(&t, in, must_exist));
}

int quota__impl_registration_create(quota_engine *e, const quota_registration *r)
{
	return registration_put(e, r, 0);
}

int quota__impl_registration_update(quota_engine *e, const quota_registration *r)
{
	return registration_put(e, r, 1);
}

int quota__impl_registration_delete(quota_engine *e, const char *type)
{
	int rc;
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	if ((rc = quota__check_text("resourceType", type, 1, QUOTA__NAME_MAX)))
		return rc;
	quota__rw_write(&e->config);
	quota__reg *r = quota__reg_find(e, type);
	if (!r) {
		rc = quota__fail(QUOTA_ERR_NOT_FOUND, "registration %s: not registered", type);
		goto out;
	}
	if (r->grant_uses) {
		rc = quota__fail(QUOTA_ERR_IN_USE, "registration %s: named by %lld grant(s)", type,
				 (long long)r->grant_uses);
		goto out;
	}
	quota__lock_all(e);
	for (uint32_t i = 0; i < e->stripe_count && !rc; i++) {
		quota__table *t = &e->stripes[i].buckets;
		for (size_t s = 0; s <= t->mask && !rc; s++)
			for (quota__node *n = t->slots[s]; n; n = n->next) {
				quota__bucket *b = (quota__bucket *)n;
				if (b->reg == r && !quota__bucket_idle(b)) {
					char id[QUOTA_BUCKET_ID_MAX];
					quota__bucket_describe(b, id, sizeof id);
					rc = quota__fail(QUOTA_ERR_IN_USE,
							 "registration %s: bucket %s is in use", type, id);
					break;
				}
			}
	}
	if (!rc) {
		for (uint32_t i = 0; i < e->stripe_count; i++) {
			quota__table *t = &e->stripes[i].buckets;
			for (size_t s = 0; s <= t->mask; s++) {
				quota__node *n = t->slots[s];
				while (n) {
					quota__node *next = n->next;
					if (((quota__bucket *)n)->reg == r) {
						quota__table_remove(t, n);
						quota__bucket_free((quota__bucket *)n);
					}
					n = next;
				}
			}
		}
		reg_forget(e, r);
		quota__table_remove(&e->regs, &r->node);
	}
	quota__unlock_all(e);
	if (!rc) {
		quota__free(r->pub);
		quota__free(r);
	}
out:
	quota__rw_write_done(&e->config);
	return rc;
}

QUOTA_API int quota_registration_get(quota_engine *e, const char *type, quota_registration **out)
{
	int rc;
	if (!e || !out)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL", e ? "out" : "engine");
	*out = NULL;
	if ((rc = quota__check_text("resourceType", type, 1, QUOTA__NAME_MAX)))
		return rc;
	quota__rw_read(&e->config);
	quota__reg *r = quota__reg_find(e, type);
	if (!r)
		rc = quota__fail(QUOTA_ERR_NOT_FOUND, "registration %s: not registered", type);
	else if (!(*out = copy_registration(r->pub)))
		rc = quota__fail(QUOTA_ERR_NOMEM, "registration: out of memory");
	quota__rw_read_done(&e->config);
	return rc;
}

static int by_type(const void *a, const void *b)
{
	const quota__reg *x = *(quota__reg *const *)a, *y = *(quota__reg *const *)b;
	return strcmp(x->pub->resource_type, y->pub->resource_type);
}

QUOTA_API int quota_registration_list(quota_engine *e, quota_registration ***out, size_t *count)
{
	if (!e || !out || !count)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL",
				   !e ? "engine" : !out ? "out" : "count");
	*out = NULL;
	*count = 0;
	int rc = QUOTA_OK;
	quota__rw_read(&e->config);
	size_t n = e->regs.count;
	quota__reg **sorted = quota__calloc(n ? n : 1, sizeof *sorted);
	if (!sorted) {
		rc = quota__fail(QUOTA_ERR_NOMEM, "registration list: out of memory");
		goto out;
	}
	size_t k = 0;
	for (size_t s = 0; s <= e->regs.mask; s++)
		for (quota__node *node = e->regs.slots[s]; node; node = node->next)
			sorted[k++] = (quota__reg *)node;
	qsort(sorted, n, sizeof *sorted, by_type);

	quota__pack p = {0};
	for (int pass = 0; pass < 2; pass++) {
		quota_registration **items = quota__pack_take(&p, n * sizeof *items);
		for (size_t i = 0; i < n; i++) {
			quota_registration *r = pack_registration(&p, sorted[i]->pub);
			if (items)
				items[i] = r;
		}
		if (pass == 0 && quota__pack_begin_write(&p)) {
			rc = quota__fail(QUOTA_ERR_NOMEM, "registration list: out of memory");
			break;
		}
		if (pass == 1) {
			*out = items;
			*count = n;
		}
	}
	quota__free(sorted);
out:
	quota__rw_read_done(&e->config);
	return rc;
}

static void reg_node_free(quota__node *n)
{
	quota__free(((quota__reg *)n)->pub);
	quota__free(n);
}

void quota__regs_free(quota_engine *e)
{
	quota__table_clear(&e->regs, reg_node_free);
}
