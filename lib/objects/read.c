/*
 * Reading documents with a path: typed fields, unknown-field checks, and
 * the parts several kinds share (references, selectors, dimensions).
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../alloc.h"
#include "../error.h"
#include "../selector.h"
#include "../util.h"
#include "objects.h"

/* ---- the arena and the path --------------------------------------------- */

void *quota__rd_alloc(quota__rd *rd, size_t n)
{
	size_t head = sizeof(max_align_t);
	if (n > SIZE_MAX - head) {
		quota__fail(QUOTA_ERR_NOMEM, "JSON objects: out of memory");
		return NULL;
	}
	quota__arena_block *b = quota__calloc(1, head + n);
	if (!b) {
		quota__fail(QUOTA_ERR_NOMEM, "JSON objects: out of memory");
		return NULL;
	}
	b->next = rd->blocks;
	rd->blocks = b;
	return (char *)b + head;
}

void quota__rd_free(quota__rd *rd)
{
	while (rd->blocks) {
		quota__arena_block *b = rd->blocks;
		rd->blocks = b->next;
		quota__free(b);
	}
}

/* Append text to the path; returns the length to go back to. A path too
 * long is cut: the message still says where. */
static size_t step(quota__rd *rd, const char *text)
{
	size_t at = rd->len, n = strlen(text);
	if (n > sizeof rd->path - 1 - at)
		n = sizeof rd->path - 1 - at;
	memcpy(rd->path + at, text, n);
	rd->len = at + n;
	rd->path[rd->len] = '\0';
	return at;
}

size_t quota__rd_key(quota__rd *rd, const char *key)
{
	size_t at = rd->len;
	if (rd->len)
		step(rd, ".");
	step(rd, key);
	return at;
}

size_t quota__rd_index(quota__rd *rd, size_t i)
{
	char buf[32];
	snprintf(buf, sizeof buf, "[%zu]", i);
	return step(rd, buf);
}

int quota__rd_fail(quota__rd *rd, int code, const char *fmt, ...)
{
	char msg[QUOTA__ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return quota__fail(code, "%s: %s", rd->len ? rd->path : "(top)", msg);
}

const char *quota__doc_type_name(const quota_doc *d)
{
	static const char *const names[] = {"null",     "a bool", "an int", "a double",
					    "a string", "a list", "a map"};
	return names[d->type];
}

/* ---- fields --------------------------------------------------------------- */

int quota__rd_known(quota__rd *rd, const quota_doc *m, const char *const *keys)
{
	for (size_t i = 0; i < m->u.m.n; i++) {
		const quota_doc *k = m->u.m.e[i].key;
		size_t j = 0;
		while (keys[j] && !(strlen(keys[j]) == k->u.s.len &&
				    memcmp(keys[j], k->u.s.ptr, k->u.s.len) == 0))
			j++;
		if (keys[j])
			continue;
		size_t back = rd->len;
		if (memchr(k->u.s.ptr, '\0', k->u.s.len) || k->u.s.len > 64)
			quota__rd_key(rd, "(a key)");
		else
			quota__rd_key(rd, k->u.s.ptr);
		int rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "unknown field");
		quota__rd_back(rd, back);
		return rc;
	}
	return QUOTA_OK;
}

static const char *type_word(int type)
{
	static const char *const words[] = {"null",     "a bool", "an integer", "a number",
					    "a string", "a list", "a map"};
	return words[type];
}

int quota__rd_get(quota__rd *rd, const quota_doc *m, const char *key, int required, int type,
		  const quota_doc **out)
{
	const quota__entry *e = quota__doc_find(m, key, strlen(key));
	*out = NULL;
	if (!e || e->value->type == QUOTA_DOC_NULL) {
		if (!required)
			return QUOTA_ERR_NOT_FOUND;
		size_t back = quota__rd_key(rd, key);
		int rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "required");
		quota__rd_back(rd, back);
		return rc;
	}
	if (e->value->type != type) {
		size_t back = quota__rd_key(rd, key);
		int rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "must be %s, got %s",
					type_word(type), quota__doc_type_name(e->value));
		quota__rd_back(rd, back);
		return rc;
	}
	*out = e->value;
	return QUOTA_OK;
}

/* Absent and optional: not an error. */
static int absent(int rc)
{
	return rc == QUOTA_ERR_NOT_FOUND;
}

int quota__rd_string_at(quota__rd *rd, const quota_doc *v, size_t min, size_t max, const char **out)
{
	if (v->type != QUOTA_DOC_STRING)
		return quota__rd_fail(rd, QUOTA_ERR_INVALID, "must be a string, got %s",
				      quota__doc_type_name(v));
	if (memchr(v->u.s.ptr, '\0', v->u.s.len))
		return quota__rd_fail(rd, QUOTA_ERR_INVALID, "contains a NUL character");
	int rc = quota__check_text(rd->path, v->u.s.ptr, min, max);
	if (rc)
		return rc;
	*out = v->u.s.ptr;
	return QUOTA_OK;
}

int quota__rd_string(quota__rd *rd, const quota_doc *m, const char *key, int required, size_t min,
		     size_t max, const char **out)
{
	const quota_doc *v;
	int rc = quota__rd_get(rd, m, key, required, QUOTA_DOC_STRING, &v);
	if (rc)
		return absent(rc) ? QUOTA_OK : rc;
	size_t back = quota__rd_key(rd, key);
	rc = quota__rd_string_at(rd, v, min, max, out);
	quota__rd_back(rd, back);
	return rc;
}

int quota__rd_int(quota__rd *rd, const quota_doc *m, const char *key, int required, int64_t lo,
		  int64_t hi, int64_t *out)
{
	const quota_doc *v;
	int rc = quota__rd_get(rd, m, key, required, QUOTA_DOC_INT, &v);
	if (rc)
		return absent(rc) ? QUOTA_OK : rc;
	if (v->u.i < lo || v->u.i > hi) {
		size_t back = quota__rd_key(rd, key);
		if (lo == 1 && hi == INT64_MAX)
			rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "must be > 0, got %lld",
					    (long long)v->u.i);
		else if (hi == INT64_MAX)
			rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "must be >= %lld, got %lld",
					    (long long)lo, (long long)v->u.i);
		else
			rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "must be %lld-%lld, got %lld",
					    (long long)lo, (long long)hi, (long long)v->u.i);
		quota__rd_back(rd, back);
		return rc;
	}
	*out = v->u.i;
	return QUOTA_OK;
}

int quota__rd_bool(quota__rd *rd, const quota_doc *m, const char *key, int32_t *out)
{
	const quota_doc *v;
	int rc = quota__rd_get(rd, m, key, 0, QUOTA_DOC_BOOL, &v);
	if (rc)
		return absent(rc) ? QUOTA_OK : rc;
	*out = v->u.b;
	return QUOTA_OK;
}

int quota__rd_enum(quota__rd *rd, const quota_doc *m, const char *key, int required,
		   const char *const *names, const int32_t *values, int32_t *out)
{
	const char *s = NULL;
	int rc = quota__rd_string(rd, m, key, required, 1, 64, &s);
	if (rc || !s)
		return rc;
	char list[256] = "";
	size_t k = 0;
	for (size_t i = 0; names[i]; i++) {
		if (strcmp(names[i], s) == 0) {
			*out = values[i];
			return QUOTA_OK;
		}
		k += (size_t)snprintf(list + k, k < sizeof list ? sizeof list - k : 0, "%s%s",
				      i ? ", " : "", names[i]);
	}
	size_t back = quota__rd_key(rd, key);
	rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "\"%s\" is not one of %s", s, list);
	quota__rd_back(rd, back);
	return rc;
}

int quota__rd_list(quota__rd *rd, const quota_doc *m, const char *key, int required, size_t max,
		   const quota_doc **out, size_t *n)
{
	int rc = quota__rd_get(rd, m, key, required, QUOTA_DOC_LIST, out);
	*n = 0;
	if (rc)
		return absent(rc) ? QUOTA_OK : rc;
	*n = (*out)->u.l.n;
	if (*n > max) {
		size_t back = quota__rd_key(rd, key);
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "%zu entries, at most %zu", *n, max);
		quota__rd_back(rd, back);
	}
	return rc;
}

int quota__rd_duration(quota__rd *rd, const quota_doc *m, const char *key, int named, int64_t max,
		       int64_t *out)
{
	const char *s = NULL;
	int rc = quota__rd_string(rd, m, key, 0, 1, 64, &s);
	if (rc || !s)
		return rc;
	int64_t ms;
	int bad = quota__duration_parse(s, strlen(s), named, &ms);
	if (!bad && ms >= 1 && ms <= max) {
		*out = ms;
		return QUOTA_OK;
	}
	size_t back = quota__rd_key(rd, key);
	if (bad == -1)
		rc = quota__rd_fail(
			rd, QUOTA_ERR_INVALID,
			"\"%s\" is not a duration (like \"250ms\", \"90s\", \"1h30m\"%s)", s,
			named ? ", or second, minute, hour, day" : "");
	else
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID,
				    "\"%s\" must be a whole number of milliseconds from 1ms to "
				    "%lldms",
				    s, (long long)max);
	quota__rd_back(rd, back);
	return rc;
}

/* ---- shared parts ----------------------------------------------------------- */

/* A reference whose name and namespace are at most name_max and ns_max
 * bytes. */
static int ref_read(quota__rd *rd, const quota_doc *m, const char *key, int required, int with_name,
		    size_t name_max, size_t ns_max, quota_ref *out)
{
	static const char *const keys[] = {"apiGroup", "kind", "name", "namespace", "uid", NULL};
	const quota_doc *r;
	memset(out, 0, sizeof *out);
	int rc = quota__rd_get(rd, m, key, required, QUOTA_DOC_MAP, &r);
	if (rc)
		return absent(rc) ? QUOTA_OK : rc;
	size_t back = quota__rd_key(rd, key);
	const char *uid = NULL;
	if (!(rc = quota__rd_known(rd, r, keys)) &&
	    !(rc = quota__rd_string(rd, r, "apiGroup", 0, 0, QUOTA__GROUP_MAX, &out->api_group)) &&
	    !(rc = quota__rd_string(rd, r, "kind", 1, 1, QUOTA__KIND_MAX, &out->kind)) &&
	    !(rc = quota__rd_string(rd, r, "namespace", 0, 0, ns_max, &out->ns)) &&
	    !(rc = quota__rd_string(rd, r, "uid", 0, 0, QUOTA__NAME_MAX, &uid)) &&
	    !(rc = quota__rd_string(rd, r, "name", with_name, 1, name_max, &out->name))) {
		size_t at = quota__rd_key(rd, "kind");
		rc = quota__check_kind(rd->path, out->kind);
		quota__rd_back(rd, at);
	}
	quota__rd_back(rd, back);
	return rc;
}

int quota__rd_ref(quota__rd *rd, const quota_doc *m, const char *key, int required, int with_name,
		  quota_ref *out)
{
	return ref_read(rd, m, key, required, with_name, QUOTA__NAME_MAX, QUOTA__NS_MAX, out);
}

int quota__rd_template_ref(quota__rd *rd, const quota_doc *m, const char *key, int required,
			   quota_ref *out)
{
	return ref_read(rd, m, key, required, 1, QUOTA_TEMPLATE_MAX_LENGTH,
			QUOTA_TEMPLATE_MAX_LENGTH, out);
}

/* A label key or value at the current path. */
static int label_part(quota__rd *rd, const quota_doc *v, int key, const char **out)
{
	int rc = quota__rd_string_at(rd, v, key ? 1 : 0, QUOTA__LABEL_MAX, out);
	if (rc)
		return rc;
	return key ? quota__check_label_key(rd->path, *out)
		   : quota__check_label_value(rd->path, *out);
}

/* The map at m.key as labels (a selector's matchLabels, or dimensions). */
static int labels_of(quota__rd *rd, const quota_doc *m, const char *key, uint32_t max,
		     quota_label **out, uint32_t *n)
{
	const quota_doc *map;
	*out = NULL;
	*n = 0;
	int rc = quota__rd_get(rd, m, key, 0, QUOTA_DOC_MAP, &map);
	if (rc)
		return absent(rc) ? QUOTA_OK : rc;
	size_t back = quota__rd_key(rd, key);
	if (map->u.m.n > max) {
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "%zu labels, at most %u", map->u.m.n,
				    max);
		goto out;
	}
	quota_label *l = map->u.m.n ? quota__rd_alloc(rd, map->u.m.n * sizeof *l) : NULL;
	if (map->u.m.n && !l) {
		rc = QUOTA_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < map->u.m.n && !rc; i++) {
		const quota__entry *e = &map->u.m.e[i];
		size_t at = rd->len;
		if ((rc = label_part(rd, e->key, 1, &l[i].key)))
			break;
		quota__rd_key(rd, l[i].key);
		rc = label_part(rd, e->value, 0, &l[i].value);
		quota__rd_back(rd, at);
	}
	*out = l;
	*n = (uint32_t)map->u.m.n;
out:
	quota__rd_back(rd, back);
	return rc;
}

int quota__rd_labels(quota__rd *rd, const quota_doc *m, const char *key, const quota_label **out,
		     uint32_t *n)
{
	quota_label *l;
	int rc = labels_of(rd, m, key, QUOTA__LABELS_MAX, &l, n);
	*out = l;
	return rc;
}

int quota__rd_string_map(quota__rd *rd, const quota_doc *m, const char *key, uint32_t max_n,
			 size_t max, const quota_label **out, uint32_t *n)
{
	const quota_doc *map;
	*out = NULL;
	*n = 0;
	int rc = quota__rd_get(rd, m, key, 0, QUOTA_DOC_MAP, &map);
	if (rc)
		return absent(rc) ? QUOTA_OK : rc;
	size_t back = quota__rd_key(rd, key);
	quota_label *l = NULL;
	if (map->u.m.n > max_n)
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "%zu entries, at most %u", map->u.m.n,
				    max_n);
	else if (map->u.m.n && !(l = quota__rd_alloc(rd, map->u.m.n * sizeof *l)))
		rc = QUOTA_ERR_NOMEM;
	for (size_t i = 0; i < map->u.m.n && !rc; i++) {
		size_t at = rd->len;
		if ((rc = quota__rd_string_at(rd, map->u.m.e[i].key, 1, max, &l[i].key)))
			break;
		quota__rd_key(rd, l[i].key);
		rc = quota__rd_string_at(rd, map->u.m.e[i].value, 0, max, &l[i].value);
		quota__rd_back(rd, at);
	}
	*out = l;
	*n = rc ? 0 : (uint32_t)map->u.m.n;
	quota__rd_back(rd, back);
	return rc;
}

static int requirement(quota__rd *rd, const quota_doc *x, quota_selector_requirement *r)
{
	static const char *const keys[] = {"key", "operator", "values", NULL};
	static const char *const ops[] = {"In", "NotIn", "Exists", "DoesNotExist", NULL};
	static const int32_t op_values[] = {QUOTA_SELECTOR_IN, QUOTA_SELECTOR_NOT_IN,
					    QUOTA_SELECTOR_EXISTS, QUOTA_SELECTOR_DOES_NOT_EXIST};
	const quota_doc *vals;
	size_t n;
	int rc;
	if (x->type != QUOTA_DOC_MAP)
		return quota__rd_fail(rd, QUOTA_ERR_INVALID, "must be a map, got %s",
				      quota__doc_type_name(x));
	if ((rc = quota__rd_known(rd, x, keys)) ||
	    (rc = quota__rd_string(rd, x, "key", 1, 1, QUOTA__LABEL_MAX, &r->key)) ||
	    (rc = quota__rd_enum(rd, x, "operator", 1, ops, op_values, &r->op)) ||
	    (rc = quota__rd_list(rd, x, "values", 0, QUOTA__SEL_VALUES_MAX, &vals, &n)))
		return rc;
	size_t back = quota__rd_key(rd, "key");
	rc = quota__check_label_key(rd->path, r->key);
	quota__rd_back(rd, back);
	if (rc)
		return rc;
	int needs = r->op == QUOTA_SELECTOR_IN || r->op == QUOTA_SELECTOR_NOT_IN;
	back = quota__rd_key(rd, "values");
	if (needs && n == 0)
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID, "In and NotIn need 1-%d values",
				    QUOTA__SEL_VALUES_MAX);
	else if (!needs && n)
		rc = quota__rd_fail(rd, QUOTA_ERR_INVALID,
				    "Exists and DoesNotExist take no values");
	const char **v = n && !rc ? quota__rd_alloc(rd, n * sizeof *v) : NULL;
	if (n && !rc && !v)
		rc = QUOTA_ERR_NOMEM;
	for (size_t i = 0; i < n && !rc; i++) {
		size_t at = quota__rd_index(rd, i);
		rc = label_part(rd, vals->u.l.items[i], 0, &v[i]);
		quota__rd_back(rd, at);
	}
	quota__rd_back(rd, back);
	r->values = v;
	r->value_count = (uint32_t)n;
	return rc;
}

int quota__rd_selector(quota__rd *rd, const quota_doc *m, const char *key, quota_grant_bucket *b)
{
	static const char *const keys[] = {"matchLabels", "matchExpressions", NULL};
	const quota_doc *sel, *exprs;
	quota_label *l;
	size_t n;
	int rc = quota__rd_get(rd, m, key, 0, QUOTA_DOC_MAP, &sel);
	if (rc)
		return absent(rc) ? QUOTA_OK : rc;
	size_t back = quota__rd_key(rd, key);
	if ((rc = quota__rd_known(rd, sel, keys)) ||
	    (rc = labels_of(rd, sel, "matchLabels", QUOTA__SEL_REQ_MAX, &l,
			    &b->match_label_count)) ||
	    (rc = quota__rd_list(rd, sel, "matchExpressions", 0, QUOTA__SEL_REQ_MAX, &exprs, &n)))
		goto out;
	b->match_labels = l;
	quota_selector_requirement *r = n ? quota__rd_alloc(rd, n * sizeof *r) : NULL;
	if (n && !r) {
		rc = QUOTA_ERR_NOMEM;
		goto out;
	}
	size_t at = quota__rd_key(rd, "matchExpressions");
	for (size_t i = 0; i < n && !rc; i++) {
		size_t item = quota__rd_index(rd, i);
		rc = requirement(rd, exprs->u.l.items[i], &r[i]);
		quota__rd_back(rd, item);
	}
	quota__rd_back(rd, at);
	b->match_expressions = r;
	b->match_expression_count = (uint32_t)n;
out:
	quota__rd_back(rd, back);
	return rc;
}
