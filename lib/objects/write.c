/*
 * Building documents: a builder whose first failure sticks, and the parts
 * every object has (the frame, references, conditions, selectors).
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc.h"
#include "../error.h"
#include "objects.h"

const char *const quota__class_names[] = {NULL, "Entity", "Allocation", "Feature", "Rate", NULL};
const char *const quota__action_names[] = {NULL, "Reject", "Throttle", "Warn", "Queue", NULL};
const char *const quota__window_names[] = {"Rolling", "Calendar", NULL};

quota_doc *quota__w_string(const char *s)
{
	s = s ? s : "";
	return quota__doc_string(s, strlen(s));
}

quota__w quota__w_map(void)
{
	quota__w w = {quota__doc_map(0), QUOTA_OK};
	if (!w.doc)
		w.rc = QUOTA_ERR_NOMEM;
	return w;
}

quota__w quota__w_list(void)
{
	quota__w w = {quota__doc_list(0), QUOTA_OK};
	if (!w.doc)
		w.rc = QUOTA_ERR_NOMEM;
	return w;
}

void quota__w_put(quota__w *w, const char *key, quota_doc *v)
{
	quota_doc *k = NULL;
	if (w->rc || !v || !(k = quota__w_string(key))) {
		quota_doc_unref(v);
		if (!w->rc)
			w->rc = QUOTA_ERR_NOMEM;
		return;
	}
	w->rc = quota__doc_put(w->doc, k, v);
}

void quota__w_str(quota__w *w, const char *key, const char *s)
{
	quota__w_put(w, key, quota__w_string(s));
}

void quota__w_opt(quota__w *w, const char *key, const char *s)
{
	if (s && *s)
		quota__w_str(w, key, s);
}

void quota__w_int(quota__w *w, const char *key, int64_t v)
{
	quota__w_put(w, key, quota__doc_int(v));
}

void quota__w_bool(quota__w *w, const char *key, int v)
{
	quota__w_put(w, key, quota__doc_bool(v));
}

quota_doc *quota__w_end(quota__w *w, int *rc)
{
	quota_doc *d = w->doc;
	*rc = w->rc;
	if (w->rc) {
		quota_doc_unref(d);
		d = NULL;
	}
	w->doc = NULL;
	return d;
}

void quota__w_child(quota__w *w, const char *key, quota__w *c)
{
	int rc;
	quota_doc *d = quota__w_end(c, &rc);
	if (rc && !w->rc)
		w->rc = rc;
	quota__w_put(w, key, d);
}

void quota__w_push(quota__w *w, quota_doc *v)
{
	if (w->rc || !v) {
		quota_doc_unref(v);
		if (!w->rc)
			w->rc = QUOTA_ERR_NOMEM;
		return;
	}
	w->rc = quota__doc_push(w->doc, v);
}

void quota__w_push_child(quota__w *w, quota__w *c)
{
	int rc;
	quota_doc *d = quota__w_end(c, &rc);
	if (rc && !w->rc)
		w->rc = rc;
	quota__w_push(w, d);
}

quota__w quota__w_object(const char *kind, const char *ns, const char *name, int derived,
			 int64_t generation)
{
	quota__w w = quota__w_map(), meta = quota__w_map();
	quota__w_str(&w, "apiVersion", QUOTA__API_VERSION);
	quota__w_str(&w, "kind", kind);
	quota__w_put(&meta, "name", derived ? quota__w_dns_name(name) : quota__w_string(name));
	quota__w_opt(&meta, "namespace", ns);
	if (generation > 0)
		quota__w_int(&meta, "generation", generation);
	quota__w_child(&w, "metadata", &meta);
	return w;
}

void quota__w_ref(quota__w *w, const char *key, const quota_ref *r)
{
	quota__w c = quota__w_map();
	quota__w_opt(&c, "apiGroup", r->api_group);
	quota__w_str(&c, "kind", r->kind);
	quota__w_opt(&c, "name", r->name);
	quota__w_opt(&c, "namespace", r->ns);
	quota__w_child(w, key, &c);
}

void quota__w_condition(quota__w *w, const char *type, int ok, const char *reason,
			const char *message, int64_t when_ns)
{
	char when[32];
	quota__w c = quota__w_map();
	quota__w_str(&c, "type", type);
	quota__w_str(&c, "status", ok ? "True" : "False");
	quota__w_str(&c, "reason", reason);
	quota__w_str(&c, "message", message);
	if (when_ns > 0) {
		quota__time_format(when_ns, when);
		quota__w_str(&c, "lastTransitionTime", when);
	}
	quota__w_push_child(w, &c);
}

void quota__w_labels(quota__w *w, const char *key, const quota_label *l, uint32_t n)
{
	quota__w m = quota__w_map();
	for (uint32_t i = 0; i < n; i++)
		quota__w_str(&m, l[i].key, l[i].value);
	quota__w_child(w, key, &m);
}

void quota__w_selector(quota__w *w, const quota_grant_bucket *b)
{
	static const char *const ops[] = {NULL, "In", "NotIn", "Exists", "DoesNotExist"};
	if (!b->match_label_count && !b->match_expression_count)
		return;
	quota__w sel = quota__w_map();
	if (b->match_label_count)
		quota__w_labels(&sel, "matchLabels", b->match_labels, b->match_label_count);
	if (b->match_expression_count) {
		quota__w list = quota__w_list();
		for (uint32_t i = 0; i < b->match_expression_count; i++) {
			const quota_selector_requirement *r = &b->match_expressions[i];
			quota__w x = quota__w_map();
			quota__w_str(&x, "key", r->key);
			quota__w_str(&x, "operator", ops[r->op]);
			if (r->value_count) {
				quota__w v = quota__w_list();
				for (uint32_t k = 0; k < r->value_count; k++)
					quota__w_push(&v, quota__w_string(r->values[k]));
				quota__w_child(&x, "values", &v);
			}
			quota__w_push_child(&list, &x);
		}
		quota__w_child(&sel, "matchExpressions", &list);
	}
	quota__w_child(w, "selector", &sel);
}

quota_doc *quota__w_dns_name(const char *s)
{
	s = s ? s : "";
	size_t n = strlen(s);
	quota_doc *d = quota__doc_string(NULL, n);
	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
			   c == '-'))
			c = '-';
		d->u.s.ptr[i] = c;
	}
	return d;
}

int quota__w_result(int rc, const char *what)
{
	if (rc == QUOTA_ERR_NOMEM)
		return quota__fail(rc, "%s: out of memory", what);
	return rc;
}

void quota__sorted_add(quota__sorted *s, quota_doc *doc, const char *const *parts, size_t n)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(parts[i] ? parts[i] : "") + 1;
	char *key = doc && !s->rc ? quota__malloc(len) : NULL;
	if (key && s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		quota__sorted_item *items = quota__calloc(cap, sizeof *items);
		if (items && s->n)
			memcpy(items, s->items, s->n * sizeof *items);
		if (items) {
			quota__free(s->items);
			s->items = items;
			s->cap = cap;
		} else {
			quota__free(key);
			key = NULL;
		}
	}
	if (!key) {
		quota_doc_unref(doc);
		if (!s->rc)
			s->rc = QUOTA_ERR_NOMEM;
		return;
	}
	char *p = key;
	for (size_t i = 0; i < n; i++) {
		const char *part = parts[i] ? parts[i] : "";
		size_t k = strlen(part);
		memcpy(p, part, k);
		p[k] = '\1';
		p += k + 1;
	}
	*p = '\0';
	s->items[s->n++] = (quota__sorted_item){key, doc};
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const quota__sorted_item *)a)->key, ((const quota__sorted_item *)b)->key);
}

int quota__sorted_flush(quota__sorted *s, quota__w *list)
{
	if (!s->rc && s->n)
		qsort(s->items, s->n, sizeof *s->items, by_key);
	for (size_t i = 0; i < s->n; i++) {
		if (!s->rc)
			quota__w_push(list, s->items[i].doc);
		else
			quota_doc_unref(s->items[i].doc);
		quota__free(s->items[i].key);
	}
	quota__free(s->items);
	int rc = s->rc ? s->rc : list->rc;
	*s = (quota__sorted){0};
	return rc;
}
