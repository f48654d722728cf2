/*
 * Dimension labels and label selectors.
 * SPDX-License-Identifier: MIT
 */
#include "selector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pack.h"
#include "util.h"

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* min..63 characters of alnum or extra, alphanumeric at both ends. */
static int check_label(const char *field, const char *what, const char *s, size_t min,
		       const char *extra)
{
	if (!s)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL", field);
	size_t n = strnlen(s, QUOTA__LABEL_MAX + 1);
	if (n < min || n > QUOTA__LABEL_MAX)
		return quota__fail(QUOTA_ERR_INVALID, "%s: a %s has %zu-%d characters, got %s%zu",
				   field, what, min, QUOTA__LABEL_MAX, n > QUOTA__LABEL_MAX ? "over " : "",
				   n > QUOTA__LABEL_MAX ? (size_t)QUOTA__LABEL_MAX : n);
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && (!strchr(extra, s[i]) || i == 0 || i == n - 1))
			return quota__fail(QUOTA_ERR_INVALID,
					   "%s: \"%s\" is not a %s (letters, digits and %s, a "
					   "letter or digit at each end)",
					   field, s, what, extra);
	return QUOTA_OK;
}

int quota__check_label_key(const char *field, const char *s)
{
	return check_label(field, "label key", s, 1, "._/-");
}

int quota__check_label_value(const char *field, const char *s)
{
	return check_label(field, "label value", s, 0, "._-");
}

int quota__check_labels(const char *field, const quota_label *l, uint32_t n)
{
	char f[160];
	int rc;
	if (n > QUOTA__LABELS_MAX)
		return quota__fail(QUOTA_ERR_INVALID, "%s: %u labels, at most %d", field, n,
				   QUOTA__LABELS_MAX);
	if (n && !l)
		return quota__fail(QUOTA_ERR_INVALID, "%s: NULL with count %u", field, n);
	for (uint32_t i = 0; i < n; i++) {
		snprintf(f, sizeof f, "%s[%u].key", field, i);
		if ((rc = quota__check_label_key(f, l[i].key)))
			return rc;
		snprintf(f, sizeof f, "%s[%u].value", field, i);
		if ((rc = quota__check_label_value(f, l[i].value)))
			return rc;
		for (uint32_t k = 0; k < i; k++)
			if (strcmp(l[i].key, l[k].key) == 0)
				return quota__fail(QUOTA_ERR_INVALID, "%s[%u].key: %s also in %s[%u]",
						   field, i, l[i].key, field, k);
	}
	return QUOTA_OK;
}

static int key_allowed(const quota_registration *r, const char *key)
{
	for (uint32_t i = 0; i < r->allowed_dimension_count; i++)
		if (strcmp(r->allowed_dimensions[i], key) == 0)
			return 1;
	return 0;
}

static int not_allowed(const char *field, const quota_registration *r, const char *key)
{
	return quota__fail(QUOTA_ERR_INVALID, "%s: \"%s\" is not an allowed dimension of %s",
			   field, key, r->resource_type);
}

int quota__check_dimensions_allowed(const char *field, const quota_registration *r,
				    const quota_label *l, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (!key_allowed(r, l[i].key)) {
			char f[160];
			snprintf(f, sizeof f, "%s[%u].key", field, i);
			return not_allowed(f, r, l[i].key);
		}
	return QUOTA_OK;
}

int quota__has_selector(const quota_grant_bucket *b)
{
	return b->match_label_count || b->match_expression_count;
}

/* ---- compiling ---------------------------------------------------------- */

/* A requirement being built: values point into the caller's strings. */
typedef struct draft {
	const char *key;
	int32_t op;
	uint32_t value_count;
	const char *values[QUOTA__SEL_VALUES_MAX];
} draft;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_draft(const draft *a, const draft *b)
{
	int d = strcmp(a->key, b->key);
	if (d || a->op != b->op)
		return d ? d : (a->op > b->op) - (a->op < b->op);
	for (uint32_t i = 0; i < a->value_count && i < b->value_count; i++)
		if ((d = strcmp(a->values[i], b->values[i])))
			return d;
	return (a->value_count > b->value_count) - (a->value_count < b->value_count);
}

static int cmp_draft_qsort(const void *a, const void *b)
{
	return cmp_draft(a, b);
}

static int check_expression(const char *field, const quota_selector_requirement *x,
			    draft *d)
{
	char f[320];
	int rc;
	snprintf(f, sizeof f, "%s.key", field);
	if ((rc = quota__check_label_key(f, x->key)))
		return rc;
	int needs_values = x->op == QUOTA_SELECTOR_IN || x->op == QUOTA_SELECTOR_NOT_IN;
	if (!needs_values && x->op != QUOTA_SELECTOR_EXISTS &&
	    x->op != QUOTA_SELECTOR_DOES_NOT_EXIST)
		return quota__fail(QUOTA_ERR_INVALID,
				   "%s.operator: %d is not In (1), NotIn (2), Exists (3) or "
				   "DoesNotExist (4)",
				   field, x->op);
	if (needs_values && (x->value_count == 0 || x->value_count > QUOTA__SEL_VALUES_MAX))
		return quota__fail(QUOTA_ERR_INVALID, "%s.values: In and NotIn need 1-%d values, got %u",
				   field, QUOTA__SEL_VALUES_MAX, x->value_count);
	if (!needs_values && x->value_count)
		return quota__fail(QUOTA_ERR_INVALID,
				   "%s.values: Exists and DoesNotExist take no values, got %u", field,
				   x->value_count);
	if (x->value_count && !x->values)
		return quota__fail(QUOTA_ERR_INVALID, "%s.values: NULL with count %u", field,
				   x->value_count);
	*d = (draft){x->key, x->op, 0, {0}};
	for (uint32_t i = 0; i < x->value_count; i++) {
		snprintf(f, sizeof f, "%s.values[%u]", field, i);
		if ((rc = quota__check_label_value(f, x->values[i])))
			return rc;
		d->values[d->value_count++] = x->values[i];
	}
	/* Sorted and distinct: "a, b, a" is "a, b". */
	qsort(d->values, d->value_count, sizeof d->values[0], cmp_str);
	uint32_t k = 0;
	for (uint32_t i = 0; i < d->value_count; i++)
		if (k == 0 || strcmp(d->values[k - 1], d->values[i]) != 0)
			d->values[k++] = d->values[i];
	d->value_count = k;
	return QUOTA_OK;
}

/* The canonical text of one requirement, appended at buf + *len. */
static void print_req(const draft *d, char *buf, size_t cap, size_t *len)
{
	static const char *const ops[] = {"", " in (", " notin ("};
	size_t n = *len;
#define PUT(...) (n += (size_t)snprintf(buf ? buf + n : NULL, buf ? cap - n : 0, __VA_ARGS__))
	if (n)
		PUT(",");
	if (d->op == QUOTA_SELECTOR_DOES_NOT_EXIST)
		PUT("!%s", d->key);
	else if (d->op == QUOTA_SELECTOR_EXISTS)
		PUT("%s", d->key);
	else if (d->op == QUOTA_SELECTOR_IN && d->value_count == 1)
		PUT("%s=%s", d->key, d->values[0]);
	else {
		PUT("%s%s", d->key, ops[d->op]);
		for (uint32_t i = 0; i < d->value_count; i++)
			PUT("%s%s", i ? "," : "", d->values[i]);
		PUT(")");
	}
#undef PUT
	*len = n;
}

static quota__selector *pack_selector(quota__pack *p, const draft *d, uint32_t n)
{
	quota__selector *s = quota__pack_take(p, sizeof *s);
	quota__sel_req *req = quota__pack_take(p, n * sizeof *req);
	size_t total = 0, len = 0;
	for (uint32_t i = 0; i < n; i++)
		print_req(&d[i], NULL, 0, &total);
	char *text = quota__pack_take(p, total + 1);
	for (uint32_t i = 0; i < n; i++) {
		const char **values = quota__pack_take(p, d[i].value_count * sizeof *values);
		for (uint32_t k = 0; k < d[i].value_count; k++) {
			const char *v = quota__pack_str(p, d[i].values[k]);
			if (values)
				values[k] = v;
		}
		const char *key = quota__pack_str(p, d[i].key);
		if (req)
			req[i] = (quota__sel_req){key, d[i].op, d[i].value_count, values};
		if (text)
			print_req(&d[i], text, total + 1, &len);
	}
	if (s)
		*s = (quota__selector){n, n, req, text};
	return s;
}

int quota__selector_compile(const char *field, const quota_grant_bucket *b,
			    const quota_registration *r, quota__selector **out)
{
	draft d[QUOTA__SEL_REQ_MAX];
	char f[256];
	int rc;
	*out = NULL;
	uint32_t total = b->match_label_count + b->match_expression_count;
	if (total == 0)
		return QUOTA_OK;
	if (b->match_label_count > QUOTA__SEL_REQ_MAX ||
	    b->match_expression_count > QUOTA__SEL_REQ_MAX || total > QUOTA__SEL_REQ_MAX)
		return quota__fail(QUOTA_ERR_INVALID, "%s.selector: %u terms, at most %d", field,
				   total, QUOTA__SEL_REQ_MAX);
	if ((b->match_label_count && !b->match_labels) ||
	    (b->match_expression_count && !b->match_expressions))
		return quota__fail(QUOTA_ERR_INVALID, "%s.selector: %s is NULL with a count", field,
				   b->match_label_count && !b->match_labels ? "matchLabels"
									   : "matchExpressions");
	snprintf(f, sizeof f, "%s.selector.matchLabels", field);
	if ((rc = quota__check_labels(f, b->match_labels, b->match_label_count)))
		return rc;
	uint32_t n = 0;
	for (uint32_t i = 0; i < b->match_label_count; i++) {
		d[n] = (draft){b->match_labels[i].key, QUOTA_SELECTOR_IN, 1, {0}};
		d[n++].values[0] = b->match_labels[i].value;
	}
	for (uint32_t i = 0; i < b->match_expression_count; i++) {
		snprintf(f, sizeof f, "%s.selector.matchExpressions[%u]", field, i);
		if ((rc = check_expression(f, &b->match_expressions[i], &d[n])))
			return rc;
		n++;
	}
	for (uint32_t i = 0; r && i < n; i++)
		if (!key_allowed(r, d[i].key)) {
			snprintf(f, sizeof f, "%s.selector", field);
			return not_allowed(f, r, d[i].key);
		}
	qsort(d, n, sizeof d[0], cmp_draft_qsort);
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++)
		if (k == 0 || cmp_draft(&d[k - 1], &d[i]) != 0)
			d[k++] = d[i];
	quota__pack p = {0};
	pack_selector(&p, d, k);
	if (quota__pack_begin_write(&p))
		return quota__fail(QUOTA_ERR_NOMEM, "grant: out of memory");
	*out = pack_selector(&p, d, k);
	return QUOTA_OK;
}

static const char *label_of(const quota_label *l, uint32_t n, const char *key)
{
	for (uint32_t i = 0; i < n; i++)
		if (strcmp(l[i].key, key) == 0)
			return l[i].value;
	return NULL;
}

static int one_of(const quota__sel_req *r, const char *v)
{
	for (uint32_t i = 0; i < r->value_count; i++)
		if (strcmp(r->values[i], v) == 0)
			return 1;
	return 0;
}

int quota__selector_match(const quota__selector *s, const quota_label *l, uint32_t n)
{
	for (uint32_t i = 0; i < s->count; i++) {
		const quota__sel_req *r = &s->req[i];
		const char *v = label_of(l, n, r->key);
		int ok = r->op == QUOTA_SELECTOR_IN	       ? v && one_of(r, v)
			 : r->op == QUOTA_SELECTOR_NOT_IN  ? !v || !one_of(r, v)
			 : r->op == QUOTA_SELECTOR_EXISTS  ? v != NULL
							   : v == NULL;
		if (!ok)
			return 0;
	}
	return 1;
}
