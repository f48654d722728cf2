/*
 * The loader: find the objects of the input, read each through its kind,
 * resolve quantities, check references, prepare everything into one
 * transaction, and commit it only when all of that worked.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "../alloc.h"
#include "../api.h"
#include "../error.h"
#include "../pack.h"
#include "../policy.h"
#include "../util.h"
#include "objects.h"

#define LEGACY_KIND "Project"

QUOTA_API int quota_json_options_init(quota_json_options *o, size_t size)
{
	if (!o || size < sizeof *o)
		return quota__fail(QUOTA_ERR_INVALID, "JSON options: NULL or size %zu too small",
				   size);
	memset(o, 0, sizeof *o);
	o->size = sizeof *o;
	o->max_depth = QUOTA_JSON_MAX_DEPTH;
	o->legacy_consumer_type.kind = LEGACY_KIND;
	return QUOTA_OK;
}

static int options_in(quota__load *ld, const quota_json_options *in)
{
	int rc;
	quota_json_options_init(&ld->opts, sizeof ld->opts);
	if (!in)
		return QUOTA_OK;
	if ((rc = quota__copy_in("options", &ld->opts, sizeof ld->opts, in, sizeof ld->opts)))
		return rc;
	quota_json_options *o = &ld->opts;
	if (o->flags & ~(uint32_t)QUOTA_JSON_DRY_RUN)
		return quota__fail(QUOTA_ERR_INVALID, "options.flags: unknown bits 0x%x",
				   o->flags & ~(uint32_t)QUOTA_JSON_DRY_RUN);
	if (o->max_depth == 0)
		o->max_depth = QUOTA_JSON_MAX_DEPTH;
	if (o->max_depth > QUOTA_DOC_MAX_DEPTH)
		return quota__fail(QUOTA_ERR_INVALID, "options.max_depth: at most %d, got %u",
				   QUOTA_DOC_MAX_DEPTH, o->max_depth);
	if (!o->legacy_consumer_type.kind)
		o->legacy_consumer_type.kind = LEGACY_KIND;
	if ((rc = quota__check_kind("options.legacy_consumer_type.kind",
				    o->legacy_consumer_type.kind)) ||
	    (rc = quota__check_text("options.legacy_consumer_type.api_group",
				    o->legacy_consumer_type.api_group, 0, QUOTA__GROUP_MAX)))
		return rc;
	return QUOTA_OK;
}

/* ---- finding the objects ---------------------------------------------------- */

static const quota__kind *kind_of(const char *name)
{
	for (size_t i = 0; i < quota__kind_count; i++)
		if (strcmp(quota__kinds[i].kind, name) == 0)
			return &quota__kinds[i];
	return NULL;
}

static int is_list_kind(const char *kind)
{
	size_t n = strlen(kind);
	return n >= 4 && strcmp(kind + n - 4, "List") == 0;
}

/* apiVersion (or, for the older shapes, apiGroup) of object m. */
static int api_check(quota__rd *rd, const quota_doc *m, const quota__kind *k)
{
	const char *version = NULL, *group = NULL;
	int rc;
	if ((rc = quota__rd_string(rd, m, "apiVersion", 0, 1, 253, &version)) ||
	    (rc = quota__rd_string(rd, m, "apiGroup", 0, 1, 253, &group)))
		return rc;
	if (version && strcmp(version, QUOTA__API_VERSION) != 0) {
		size_t back = quota__rd_key(rd, "apiVersion");
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "unknown \"%s\" for %s (want %s)",
				    version, k->kind, QUOTA__API_VERSION);
		quota__rd_back(rd, back);
		return rc;
	}
	if (group && (!k->legacy || strcmp(group, QUOTA__API_GROUP) != 0)) {
		size_t back = quota__rd_key(rd, "apiGroup");
		rc = k->legacy ? quota__rd_fail(rd, QUOTA_ERR_INVALID, "unknown \"%s\" (want %s)",
						group, QUOTA__API_GROUP)
			       : quota__rd_fail(rd, QUOTA_ERR_INVALID,
						"%s takes apiVersion %s, not apiGroup", k->kind,
						QUOTA__API_VERSION);
		quota__rd_back(rd, back);
		return rc;
	}
	if (!version && !group) {
		size_t back = quota__rd_key(rd, "apiVersion");
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "required (%s)", QUOTA__API_VERSION);
		quota__rd_back(rd, back);
	}
	return rc;
}

/* "unknown kind", with the kinds that are known: Milo's, then the older
 * design's. */
static int unknown_kind(quota__rd *rd, const char *kind)
{
	char want[512];
	size_t n = 0;
	for (int legacy = 0; legacy < 2; legacy++)
		for (size_t i = 0; i < quota__kind_count; i++) {
			const quota__kind *k = &quota__kinds[i];
			if (k->legacy != legacy || k->slot == QUOTA__SLOT_OUTPUT)
				continue;
			const char *sep = n == 0                             ? ""
					  : legacy && !strstr(want, "older") ? ", or the older "
									     : ", ";
			n += (size_t)snprintf(want + n, n < sizeof want ? sizeof want - n : 0,
					      "%s%s", sep, k->kind);
		}
	return quota__rd_fail(rd, QUOTA_ERR_INVALID, "unknown kind \"%s\" (want %s)", kind, want);
}

/* The name (or namespace, at offset at) of an item; NULL when its kind has
 * none or it was not read. */
static const char *item_field(const quota__item *it, size_t at)
{
	return at ? *(const char *const *)((const char *)it + at) : NULL;
}

/* Maps a policy field as the engine names it to its place in the object. */
static const struct {
	const char *engine, *object;
} policy_fields[] = {
	{"policy.name", "metadata.name"},
	{"policy.trigger.apiVersion", "spec.trigger.resource.apiVersion"},
	{"policy.trigger.kind", "spec.trigger.resource.kind"},
	{"policy.flags", "spec"},
	{"policy", "spec"},
};

/* Say which object a failure of a step of item it is about: the detail
 * "items[3].spec.x: ..." (or, from the engine, "policy.x: ...") becomes
 * "items[3] (Kind name): spec.x: ...". */
static int name_object(const quota__item *it, int rc)
{
	char detail[QUOTA__ERROR_MAX];
	if (rc == QUOTA_ERR_NOMEM)
		return rc;
	snprintf(detail, sizeof detail, "%s", quota_last_error());
	const char *rest = detail, *field = "";
	size_t n = strlen(it->path);
	if (n && strncmp(rest, it->path, n) == 0 && (rest[n] == '.' || rest[n] == ':'))
		rest += n + (rest[n] == '.' ? 1 : 2);
	else if (strncmp(rest, "(top): ", 7) == 0)
		rest += 7;
	for (size_t i = 0; i < sizeof policy_fields / sizeof policy_fields[0]; i++) {
		size_t k = strlen(policy_fields[i].engine);
		if (strncmp(rest, policy_fields[i].engine, k) == 0 && strchr(".:[", rest[k])) {
			field = policy_fields[i].object;
			rest += k;
			break;
		}
	}
	const char *name = item_field(it, it->kind->name_at);
	return quota__fail(rc, "%s%s%s%s%s%s%s%s", it->path, n ? " (" : "", it->kind->kind,
			   name ? " " : "", name ? name : "", n ? "): " : ": ", field, rest);
}

static int item_add(quota__load *ld, const quota_doc *m)
{
	static const char *const keys[] = {"apiVersion", "apiGroup", "kind",   "metadata",
					   "spec",       "status",   "Status", NULL};
	quota__rd *rd = &ld->rd;
	const char *kind;
	const quota_doc *meta;
	int rc;
	if (m->type != QUOTA_DOC_MAP)
		return quota__rd_fail(rd, QUOTA_ERR_INVALID, "must be an object (a map), got %s",
				      quota__doc_type_name(m));
	if (m->depth > ld->opts.max_depth)
		return quota__rd_fail(rd, QUOTA_ERR_INVALID, "nesting deeper than %u levels",
				      ld->opts.max_depth);
	if ((rc = quota__rd_string(rd, m, "kind", 1, 1, 63, &kind)))
		return rc;
	const quota__kind *k = kind_of(kind);
	if (!k) {
		size_t back = quota__rd_key(rd, "kind");
		rc = is_list_kind(kind)
			     ? quota__rd_fail(rd, QUOTA_ERR_INVALID, "a %s inside a list", kind)
			     : unknown_kind(rd, kind);
		quota__rd_back(rd, back);
		return rc;
	}
	if ((rc = quota__rd_known(rd, m, keys)) || (rc = api_check(rd, m, k)))
		return rc;
	rc = quota__rd_get(rd, m, "metadata", 0, QUOTA_DOC_MAP, &meta);
	if (rc && rc != QUOTA_ERR_NOT_FOUND)
		return rc;
	if (ld->count == ld->cap) {
		size_t cap = ld->cap ? ld->cap * 2 : 8;
		quota__item *items = quota__calloc(cap, sizeof *items);
		if (!items)
			return quota__fail(QUOTA_ERR_NOMEM, "JSON objects: out of memory");
		if (ld->count)
			memcpy(items, ld->items, ld->count * sizeof *items);
		quota__free(ld->items);
		ld->items = items;
		ld->cap = cap;
	}
	char *path = quota__rd_alloc(rd, rd->len + 1);
	if (!path)
		return QUOTA_ERR_NOMEM;
	memcpy(path, rd->path, rd->len + 1);
	quota__item *it = &ld->items[ld->count++];
	memset(it, 0, sizeof *it);
	it->kind = k;
	it->path = path;
	it->doc = m;
	rc = k->read(ld, it);
	return rc && k->named ? name_object(it, rc) : rc;
}

static int collect(quota__load *ld, const quota_doc *doc)
{
	quota__rd *rd = &ld->rd;
	const quota_doc *items = doc;
	int rc = QUOTA_OK;
	if (doc->type == QUOTA_DOC_MAP) {
		const quota__entry *k = quota__doc_find(doc, "kind", 4);
		if (!k || k->value->type != QUOTA_DOC_STRING || !is_list_kind(k->value->u.s.ptr) ||
		    kind_of(k->value->u.s.ptr))
			return item_add(ld, doc);
		static const char *const keys[] = {"apiVersion", "kind", "metadata", "items", NULL};
		if ((rc = quota__rd_known(rd, doc, keys)) ||
		    (rc = quota__rd_get(rd, doc, "items", 1, QUOTA_DOC_LIST, &items)))
			return rc;
		quota__rd_key(rd, "items");
	} else if (doc->type != QUOTA_DOC_LIST) {
		return quota__rd_fail(rd, QUOTA_ERR_INVALID,
				      "must be an object, a list of objects, or a List, got %s",
				      quota__doc_type_name(doc));
	}
	for (size_t i = 0; i < items->u.l.n && !rc; i++) {
		size_t back = quota__rd_index(rd, i);
		rc = item_add(ld, items->u.l.items[i]);
		quota__rd_back(rd, back);
	}
	quota__rd_back(rd, 0);
	return rc;
}

/* ---- references between objects --------------------------------------------- */

const quota_registration *quota__load_registration(quota__load *ld, const char *type, int *rc)
{
	*rc = QUOTA_OK;
	for (size_t i = 0; i < ld->count; i++)
		if (ld->items[i].kind->slot == QUOTA__SLOT_REGISTRATION &&
		    strcmp(ld->items[i].u.reg.resource_type, type) == 0)
			return &ld->items[i].u.reg;
	/* The engine's: the load holds the config lock from here on. */
	const quota__reg *r = quota__reg_find(ld->e, type);
	return r ? r->pub : NULL;
}

const quota_registration *quota__load_type(quota__load *ld, const char *list_key, size_t i,
					   const char *type_key, const char *type, int *rc)
{
	const quota_registration *r = quota__load_registration(ld, type, rc);
	if (r || *rc)
		return r;
	quota__rd *rd = &ld->rd;
	size_t back = quota__rd_key(rd, list_key);
	quota__rd_index(rd, i);
	quota__rd_key(rd, type_key);
	*rc = quota__rd_fail(rd, QUOTA_ERR_UNREGISTERED, "%s is not registered", type);
	quota__rd_back(rd, back);
	return NULL;
}

/* Two objects of one kind with one identity: which would win? Neither. */
static int duplicates(quota__load *ld)
{
	for (size_t i = 0; i < ld->count; i++) {
		const quota__item *a = &ld->items[i];
		const quota__kind *k = a->kind;
		if (!k->name_at)
			continue;
		const char *name = item_field(a, k->name_at), *ns = item_field(a, k->ns_at);
		for (size_t j = 0; j < i; j++) {
			const quota__item *b = &ld->items[j];
			if (b->kind->slot != k->slot ||
			    strcmp(name, item_field(b, k->name_at)) != 0 ||
			    !quota__streq(ns, item_field(b, k->ns_at)))
				continue;
			return quota__fail(QUOTA_ERR_INVALID, "%s: %s%s%s also at %s", a->path,
					   quota__str(ns), k->ns_at ? "/" : "", name, b->path);
		}
	}
	return QUOTA_OK;
}

int quota__load_quantity(quota__load *ld, quota__item *it, const quota_doc *m, const char *key,
			 const char *type, int32_t rounding, int limit, int64_t *dst)
{
	quota__rd *rd = &ld->rd;
	const quota__entry *e = quota__doc_find(m, key, strlen(key));
	size_t back = quota__rd_key(rd, key);
	int rc = QUOTA_OK;
	if (!e || e->value->type == QUOTA_DOC_NULL)
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "required");
	else if (e->value->type != QUOTA_DOC_STRING && e->value->type != QUOTA_DOC_INT)
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID,
				    "must be a quantity (a string like \"32Gi\" or an integer), "
				    "got %s",
				    quota__doc_type_name(e->value));
	quota__qty *q = rc ? NULL : quota__rd_alloc(rd, sizeof *q + rd->len + 1);
	if (!rc && !q)
		rc = QUOTA_ERR_NOMEM;
	if (!rc) {
		char *path = (char *)(q + 1);
		memcpy(path, rd->path, rd->len + 1);
		*q = (quota__qty){it->qty, path, type, e->value, dst, rounding, limit};
		it->qty = q;
	}
	quota__rd_back(rd, back);
	return rc;
}

static int quantity_resolve(quota__load *ld, const quota__qty *q)
{
	const quota_doc *v = q->value;
	int rc;
	const quota_registration *r = quota__load_registration(ld, q->type, &rc);
	int64_t factor = r ? r->unit_conversion_factor : 1, out;
	if (v->type == QUOTA_DOC_INT) {
		if (q->limit && v->u.i == QUOTA_UNLIMITED) {
			*q->dst = QUOTA_UNLIMITED;
			return QUOTA_OK;
		}
		if (__builtin_mul_overflow(v->u.i, factor, &out))
			return quota__fail(QUOTA_ERR_OVERFLOW,
					   "%s: %lld times %lld is out of range", q->path,
					   (long long)v->u.i, (long long)factor);
	} else {
		const char *s = v->u.s.ptr;
		if (q->limit && strcmp(s, "-1") == 0) {
			*q->dst = QUOTA_UNLIMITED;
			return QUOTA_OK;
		}
		rc = quota_quantity_parse(s, v->u.s.len, factor, q->rounding, &out);
		if (rc) {
			char detail[QUOTA__ERROR_MAX];
			snprintf(detail, sizeof detail, "%s", quota_last_error());
			return quota__fail(rc, "%s: %s", q->path, detail);
		}
		int64_t up;
		if (q->limit && out == 0 &&
		    quota_quantity_parse(s, v->u.s.len, factor, QUOTA_ROUND_UP, &up) == QUOTA_OK &&
		    up > 0)
			return quota__fail(QUOTA_ERR_INVALID,
					   "%s: \"%s\" rounds down to 0 base units (a limit rounds "
					   "down); write 0 to grant nothing",
					   q->path, s);
	}
	if (out < 0)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must be >= 0%s, got %lld", q->path,
				   q->limit ? " or -1 (unlimited)" : "", (long long)out);
	*q->dst = out;
	return QUOTA_OK;
}

/* ---- the result -------------------------------------------------------------- */

static void pack_ref(quota__pack *p, quota_ref *to, const quota_ref *from)
{
	to->api_group = quota__pack_str(p, from->api_group);
	to->kind = quota__pack_str(p, from->kind);
	to->ns = quota__pack_str(p, from->ns);
	to->name = quota__pack_str(p, from->name);
}

static quota_json_result *pack_result(quota__pack *p, const quota__load *ld)
{
	quota_json_result res = {.size = sizeof res};
	quota_json_result *dst = quota__pack_take(p, sizeof res);
	uint32_t counts[QUOTA__SLOTS] = {0};
	for (size_t i = 0; i < ld->count; i++)
		counts[ld->items[i].kind->slot]++;
	uint32_t n = counts[QUOTA__SLOT_CLAIM];
	res.registration_count = counts[QUOTA__SLOT_REGISTRATION];
	res.grant_count = counts[QUOTA__SLOT_GRANT];
	res.claim_policy_count = counts[QUOTA__SLOT_CLAIM_POLICY];
	res.grant_policy_count = counts[QUOTA__SLOT_GRANT_POLICY];
	quota_claim *claims = quota__pack_take(p, n * sizeof *claims);
	const char **paths = quota__pack_take(p, n * sizeof *paths);
	uint32_t k = 0;
	for (size_t i = 0; i < ld->count; i++) {
		const quota__item *it = &ld->items[i];
		if (it->kind->slot != QUOTA__SLOT_CLAIM)
			continue;
		quota_claim c = it->u.claim;
		c.ns = quota__pack_str(p, c.ns);
		c.name = quota__pack_str(p, c.name);
		pack_ref(p, &c.consumer, &it->u.claim.consumer);
		pack_ref(p, &c.resource, &it->u.claim.resource);
		quota_request *reqs = quota__pack_take(p, c.request_count * sizeof *reqs);
		for (uint32_t j = 0; j < c.request_count; j++) {
			quota_request q = it->u.claim.requests[j];
			q.resource_type = quota__pack_str(p, q.resource_type);
			quota_label *l = quota__pack_take(p, q.dimension_count * sizeof *l);
			for (uint32_t d = 0; d < q.dimension_count; d++) {
				quota_label x = {quota__pack_str(p, q.dimensions[d].key),
						 quota__pack_str(p, q.dimensions[d].value)};
				if (l)
					l[d] = x;
			}
			q.dimensions = q.dimension_count ? l : NULL;
			if (reqs)
				reqs[j] = q;
		}
		c.requests = reqs;
		const char *path = quota__pack_str(p, it->path);
		if (claims) {
			claims[k] = c;
			paths[k] = path;
		}
		k++;
	}
	res.claim_count = n;
	res.claims = n ? claims : NULL;
	res.claim_paths = n ? paths : NULL;
	if (dst)
		*dst = res;
	return dst;
}

/* ---- the load ------------------------------------------------------------------ */

/* Run one step of every item, slot by slot. */
static int each_item(quota__load *ld, int step)
{
	for (int slot = 0; slot < QUOTA__SLOTS; slot++)
		for (size_t i = 0; i < ld->count; i++) {
			quota__item *it = &ld->items[i];
			if (it->kind->slot != slot)
				continue;
			int (*fn)(quota__load *, quota__item *) = step == 0 ? it->kind->check
									    : it->kind->prepare;
			if (!fn)
				continue;
			quota__rd_back(&ld->rd, 0);
			size_t n = strlen(it->path);
			memcpy(ld->rd.path, it->path, n + 1);
			ld->rd.len = n;
			int rc = fn(ld, it);
			quota__rd_back(&ld->rd, 0);
			if (rc == QUOTA_OK)
				continue;
			if (it->kind->named) {
				rc = name_object(it, rc);
			} else if (step == 1 && *it->path) {
				/* The engine names fields its own way: say whose they are. */
				char detail[QUOTA__ERROR_MAX];
				snprintf(detail, sizeof detail, "%s", quota_last_error());
				quota__fail(rc, "%s: %s", it->path, detail);
			}
			return rc;
		}
	return QUOTA_OK;
}

static int load(quota_engine *e, const quota_doc *doc, const quota_json_options *opts,
		quota_json_result **out)
{
	quota__load ld;
	memset(&ld, 0, sizeof ld);
	ld.e = e;
	int rc = options_in(&ld, opts);
	if (!rc)
		rc = collect(&ld, doc);
	if (!rc)
		rc = duplicates(&ld);
	quota_json_result *res = NULL;
	/* Policies are prepared under the policy store's lock, which comes
	 * before config; a load without any leaves admissions alone. */
	int policies = 0;
	for (size_t i = 0; i < ld.count; i++)
		policies |= ld.items[i].kind->slot == QUOTA__SLOT_CLAIM_POLICY ||
			    ld.items[i].kind->slot == QUOTA__SLOT_GRANT_POLICY;
	if (!rc) {
		if (policies)
			quota__rw_write(&e->policies->lock);
		quota__txn_begin(e, &ld.txn);
		ld.txn.defer_after = policies;
		for (size_t i = 0; i < ld.count && !rc; i++)
			for (const quota__qty *q = ld.items[i].qty; q && !rc; q = q->next)
				rc = quantity_resolve(&ld, q);
		if (!rc)
			rc = each_item(&ld, 0);
		if (!rc)
			rc = each_item(&ld, 1);
		if (!rc && out) {
			quota__pack p = {0};
			pack_result(&p, &ld);
			if (quota__pack_begin_write(&p))
				rc = quota__fail(QUOTA_ERR_NOMEM, "JSON objects: out of memory");
			else
				res = pack_result(&p, &ld);
		}
		if (rc || (ld.opts.flags & QUOTA_JSON_DRY_RUN))
			quota__txn_abort(&ld.txn);
		else
			quota__txn_commit(&ld.txn);
		if (policies) {
			quota__rw_write_done(&e->policies->lock);
			quota__after(e);
		}
	}
	if (rc == QUOTA_ERR_NOMEM && !strstr(quota_last_error(), "memory"))
		quota__fail(rc, "JSON objects: out of memory");
	quota__free(ld.items);
	quota__rd_free(&ld.rd);
	if (out)
		*out = rc ? NULL : res;
	if (rc)
		quota_free(res);
	return rc;
}

int quota__impl_json_load_doc(quota_engine *e, const quota_doc *doc,
				  const quota_json_options *opts, quota_json_result **out)
{
	if (out)
		*out = NULL;
	if (!e || !doc)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL",
				   e ? "document" : "engine");
	return load(e, doc, opts, out);
}

int quota__impl_json_load(quota_engine *e, const char *text, size_t len,
			      const quota_json_options *opts, quota_json_result **out)
{
	quota_doc *doc;
	if (out)
		*out = NULL;
	if (!e)
		return quota__fail(QUOTA_ERR_INVALID, "engine: must not be NULL");
	int rc = quota_doc_parse_json(text, len, &doc);
	if (rc)
		return rc;
	rc = load(e, doc, opts, out);
	quota_doc_unref(doc);
	return rc;
}
