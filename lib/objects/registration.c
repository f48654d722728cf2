/*
 * ResourceRegistration (and the older ServiceQuotaRegistration) in and out.
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "../error.h"
#include "../selector.h"
#include "../util.h"
#include "objects.h"

#define UNIT_MAX 50
#define DESCRIPTION_MAX 500
#define CLAIMING_MAX 20
#define DIMENSIONS_MAX 32

static const int32_t class_values[] = {QUOTA_RESOURCE_ENTITY, QUOTA_RESOURCE_ALLOCATION,
				       QUOTA_RESOURCE_FEATURE, QUOTA_RESOURCE_RATE};
static const char *const enforcement_names[] = {"Enforce", "Warn", NULL};
static const int32_t enforcement_values[] = {QUOTA_ENFORCE, QUOTA_WARN};
static const int32_t action_values[] = {QUOTA_ACTION_REJECT, QUOTA_ACTION_THROTTLE,
					QUOTA_ACTION_WARN, QUOTA_ACTION_QUEUE};

/* consumerType {apiGroup, kind}. */
static int kind_ref(quota__rd *rd, const quota_doc *m, const char *key, int required,
		    quota_kind_ref *out)
{
	static const char *const keys[] = {"apiGroup", "kind", NULL};
	const quota_doc *r;
	int rc = quota__rd_get(rd, m, key, required, QUOTA_DOC_MAP, &r);
	if (rc)
		return rc == QUOTA_ERR_NOT_FOUND ? QUOTA_OK : rc;
	size_t back = quota__rd_key(rd, key);
	if (!(rc = quota__rd_known(rd, r, keys)) &&
	    !(rc = quota__rd_string(rd, r, "apiGroup", 0, 0, QUOTA__GROUP_MAX, &out->api_group)) &&
	    !(rc = quota__rd_string(rd, r, "kind", 1, 1, QUOTA__KIND_MAX, &out->kind))) {
		size_t at = quota__rd_key(rd, "kind");
		rc = quota__check_kind(rd->path, out->kind);
		quota__rd_back(rd, at);
	}
	quota__rd_back(rd, back);
	return rc;
}

static int claiming(quota__rd *rd, const quota_doc *spec, quota_registration *r)
{
	const quota_doc *list;
	size_t n;
	int rc = quota__rd_list(rd, spec, "claimingResources", 0, CLAIMING_MAX, &list, &n);
	if (rc || n == 0)
		return rc;
	quota_kind_ref *k = quota__rd_alloc(rd, n * sizeof *k);
	if (!k)
		return QUOTA_ERR_NOMEM;
	size_t back = quota__rd_key(rd, "claimingResources");
	for (size_t i = 0; i < n && !rc; i++) {
		size_t at = quota__rd_index(rd, i);
		const quota_doc *item = list->u.l.items[i];
		/* kind_ref reads a field: wrap the item in its own step. */
		if (item->type != QUOTA_DOC_MAP) {
			rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "must be a map, got %s",
					    quota__doc_type_name(item));
		} else {
			static const char *const keys[] = {"apiGroup", "kind", NULL};
			if (!(rc = quota__rd_known(rd, item, keys)) &&
			    !(rc = quota__rd_string(rd, item, "apiGroup", 0, 0, QUOTA__GROUP_MAX,
						    &k[i].api_group)) &&
			    !(rc = quota__rd_string(rd, item, "kind", 1, 1, QUOTA__KIND_MAX,
						    &k[i].kind))) {
				size_t kk = quota__rd_key(rd, "kind");
				rc = quota__check_kind(rd->path, k[i].kind);
				quota__rd_back(rd, kk);
			}
		}
		quota__rd_back(rd, at);
	}
	quota__rd_back(rd, back);
	r->claiming_resources = k;
	r->claiming_resource_count = (uint32_t)n;
	return rc;
}

static int dimensions(quota__rd *rd, const quota_doc *spec, quota_registration *r)
{
	const quota_doc *list;
	size_t n;
	int rc = quota__rd_list(rd, spec, "allowedDimensions", 0, DIMENSIONS_MAX, &list, &n);
	if (rc || n == 0)
		return rc;
	const char **d = quota__rd_alloc(rd, n * sizeof *d);
	if (!d)
		return QUOTA_ERR_NOMEM;
	size_t back = quota__rd_key(rd, "allowedDimensions");
	for (size_t i = 0; i < n && !rc; i++) {
		size_t at = quota__rd_index(rd, i);
		if (!(rc = quota__rd_string_at(rd, list->u.l.items[i], 1, QUOTA__LABEL_MAX,
					       &d[i])) &&
		    !(rc = quota__check_label_key(rd->path, d[i])))
			for (size_t j = 0; j < i && !rc; j++)
				if (strcmp(d[i], d[j]) == 0)
					rc = quota__rd_fail(rd, QUOTA_ERR_INVALID,
							    "\"%s\" listed twice", d[i]);
		quota__rd_back(rd, at);
	}
	quota__rd_back(rd, back);
	r->allowed_dimensions = d;
	r->allowed_dimension_count = (uint32_t)n;
	return rc;
}

/* The fields both shapes share (Milo's, and the older one's extensions). */
static int common_fields(quota__rd *rd, const quota_doc *spec, quota_registration *r)
{
	int rc;
	if ((rc = quota__rd_enum(rd, spec, "type", 0, quota__class_names + 1, class_values,
				 &r->resource_class)) ||
	    (rc = quota__rd_string(rd, spec, "description", 0, 0, DESCRIPTION_MAX,
				   &r->description)) ||
	    (rc = quota__rd_int(rd, spec, "unitConversionFactor", 0, 1, INT64_MAX,
				&r->unit_conversion_factor)) ||
	    (rc = claiming(rd, spec, r)) || (rc = dimensions(rd, spec, r)) ||
	    (rc = quota__rd_enum(rd, spec, "enforcement", 0, enforcement_names, enforcement_values,
				 &r->enforcement)) ||
	    (rc = quota__rd_enum(rd, spec, "violationAction", 0, quota__action_names + 1,
				 action_values, &r->violation_action)))
		return rc;
	if (r->violation_action == QUOTA_ACTION_THROTTLE &&
	    r->resource_class != QUOTA_RESOURCE_RATE) {
		size_t back = quota__rd_key(rd, "violationAction");
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "Throttle needs type Rate");
		quota__rd_back(rd, back);
	}
	return rc;
}

int quota__registration_read(quota__load *ld, quota__item *it)
{
	static const char *const keys[] = {"resourceType",
					   "consumerType",
					   "type",
					   "description",
					   "baseUnit",
					   "displayUnit",
					   "unitConversionFactor",
					   "claimingResources",
					   "defaultLimit",
					   "allowedDimensions",
					   "enforcement",
					   "violationAction",
					   NULL};
	quota__rd *rd = &ld->rd;
	quota_registration *r = &it->u.reg;
	const quota_doc *spec;
	int rc;
	quota_registration_init(r, sizeof *r);
	if ((rc = quota__rd_get(rd, it->doc, "spec", 1, QUOTA_DOC_MAP, &spec)))
		return rc;
	size_t back = quota__rd_key(rd, "spec");
	if (!(rc = quota__rd_known(rd, spec, keys)) &&
	    !(rc = quota__rd_string(rd, spec, "resourceType", 1, 1, QUOTA__NAME_MAX,
				    &r->resource_type)) &&
	    !(rc = kind_ref(rd, spec, "consumerType", 1, &r->consumer_type)) &&
	    !(rc = quota__rd_get(rd, spec, "type", 1, QUOTA_DOC_STRING, &(const quota_doc *){0})) &&
	    !(rc = common_fields(rd, spec, r)) &&
	    !(rc = quota__rd_string(rd, spec, "baseUnit", 0, 0, UNIT_MAX, &r->base_unit)) &&
	    !(rc = quota__rd_string(rd, spec, "displayUnit", 0, 0, UNIT_MAX, &r->display_unit)))
		rc = quota__rd_int(rd, spec, "defaultLimit", 0, QUOTA_UNLIMITED, INT64_MAX,
				   &r->default_limit);
	quota__rd_back(rd, back);
	return rc;
}

int quota__registration_read_legacy(quota__load *ld, quota__item *it)
{
	static const char *const keys[] = {"serviceRef",
					   "resourceName",
					   "description",
					   "defaultLimit",
					   "unit",
					   "allowedDimensions",
					   "consumerType",
					   "type",
					   "unitConversionFactor",
					   "claimingResources",
					   "enforcement",
					   "violationAction",
					   NULL};
	static const char *const limit_keys[] = {"value", NULL};
	quota__rd *rd = &ld->rd;
	quota_registration *r = &it->u.reg;
	const quota_doc *spec, *limit;
	quota_ref service;
	int rc;
	quota_registration_init(r, sizeof *r);
	r->consumer_type = ld->opts.legacy_consumer_type;
	if ((rc = quota__rd_get(rd, it->doc, "spec", 1, QUOTA_DOC_MAP, &spec)))
		return rc;
	size_t back = quota__rd_key(rd, "spec");
	if ((rc = quota__rd_known(rd, spec, keys)) ||
	    (rc = quota__rd_ref(rd, spec, "serviceRef", 0, 1, &service)) ||
	    (rc = quota__rd_string(rd, spec, "resourceName", 1, 1, QUOTA__NAME_MAX,
				   &r->resource_type)) ||
	    (rc = kind_ref(rd, spec, "consumerType", 0, &r->consumer_type)) ||
	    (rc = common_fields(rd, spec, r)) ||
	    (rc = quota__rd_string(rd, spec, "unit", 0, 0, UNIT_MAX, &r->base_unit)))
		goto out;
	r->display_unit = r->base_unit;
	rc = quota__rd_get(rd, spec, "defaultLimit", 0, QUOTA_DOC_MAP, &limit);
	if (rc) {
		rc = rc == QUOTA_ERR_NOT_FOUND ? QUOTA_OK : rc;
		goto out;
	}
	size_t at = quota__rd_key(rd, "defaultLimit");
	if (!(rc = quota__rd_known(rd, limit, limit_keys)))
		rc = quota__load_quantity(ld, it, limit, "value", r->resource_type,
					  QUOTA_ROUND_DOWN, 1, &r->default_limit);
	quota__rd_back(rd, at);
out:
	quota__rd_back(rd, back);
	return rc;
}

int quota__registration_prepare(quota__load *ld, quota__item *it)
{
	return quota__txn_registration(&ld->txn, &it->u.reg, 0);
}

quota_doc *quota__registration_doc(const quota_registration *r, int *rc)
{
	static const char *const enforcement[] = {"Enforce", "Warn"};
	quota__w w = quota__w_object("ResourceRegistration", NULL, r->resource_type, 1,
				     r->generation);
	quota__w spec = quota__w_map(), ct = quota__w_map(), status = quota__w_map(),
		 conds = quota__w_list();
	quota__w_str(&spec, "resourceType", r->resource_type);
	quota__w_opt(&ct, "apiGroup", r->consumer_type.api_group);
	quota__w_str(&ct, "kind", r->consumer_type.kind);
	quota__w_child(&spec, "consumerType", &ct);
	quota__w_str(&spec, "type", quota__class_names[r->resource_class]);
	quota__w_opt(&spec, "description", r->description);
	quota__w_opt(&spec, "baseUnit", r->base_unit);
	quota__w_opt(&spec, "displayUnit", r->display_unit);
	quota__w_int(&spec, "unitConversionFactor", r->unit_conversion_factor);
	if (r->claiming_resource_count) {
		quota__w list = quota__w_list();
		for (uint32_t i = 0; i < r->claiming_resource_count; i++) {
			quota__w k = quota__w_map();
			quota__w_opt(&k, "apiGroup", r->claiming_resources[i].api_group);
			quota__w_str(&k, "kind", r->claiming_resources[i].kind);
			quota__w_push_child(&list, &k);
		}
		quota__w_child(&spec, "claimingResources", &list);
	}
	quota__w_int(&spec, "defaultLimit", r->default_limit);
	if (r->allowed_dimension_count) {
		quota__w list = quota__w_list();
		for (uint32_t i = 0; i < r->allowed_dimension_count; i++)
			quota__w_push(&list, quota__w_string(r->allowed_dimensions[i]));
		quota__w_child(&spec, "allowedDimensions", &list);
	}
	quota__w_str(&spec, "enforcement", enforcement[r->enforcement]);
	if (r->violation_action)
		quota__w_str(&spec, "violationAction", quota__action_names[r->violation_action]);
	quota__w_child(&w, "spec", &spec);
	quota__w_int(&status, "observedGeneration", r->generation);
	quota__w_condition(&conds, "Active", 1, "RegistrationActive", "The registration is active.",
			   0);
	quota__w_child(&status, "conditions", &conds);
	quota__w_child(&w, "status", &status);
	return quota__w_end(&w, rc);
}

int quota__registration_dump(quota_engine *e, quota__w *list)
{
	quota_registration **regs;
	size_t n;
	int rc = quota_registration_list(e, &regs, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		quota_doc *d = quota__registration_doc(regs[i], &rc);
		if (!rc) {
			quota__w_push(list, d);
			rc = list->rc;
		}
	}
	if (regs)
		quota_free(regs);
	return rc;
}
