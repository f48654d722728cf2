/*
 * quotactl: output for people (aligned tables, amounts, durations) and for
 * programs (indented JSON of the library's documents).
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "quotactl.h"

const char *amount_text(int64_t v, char *buf, size_t len)
{
	if (v == QUOTA_UNLIMITED)
		snprintf(buf, len, "unlimited");
	else
		snprintf(buf, len, "%" PRId64, v);
	return buf;
}

const char *duration_text(int64_t ms, char *buf, size_t len)
{
	static const struct {
		int64_t ms;
		const char *unit;
	} units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
	size_t used = 0;

	/* "1s", "1h30m", "23h50m34s407ms": exact, largest units first. */
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof units / sizeof units[0] && used < len; i++) {
		if (ms >= units[i].ms || (used == 0 && units[i].ms == 1))
			used += (size_t)snprintf(buf + used, len - used, "%" PRId64 "%s",
						 ms / units[i].ms, units[i].unit);
		ms %= units[i].ms;
	}
	return buf;
}

const char *ref_text(const quota_ref *r, char *buf, size_t len)
{
	if (r->ns && *r->ns)
		snprintf(buf, len, "%s/%s/%s", r->kind, r->ns, r->name);
	else
		snprintf(buf, len, "%s/%s", r->kind, r->name);
	return buf;
}

const char *claim_state_text(int32_t state)
{
	switch (state) {
	case QUOTA_CLAIM_RESERVED: return "Reserved";
	case QUOTA_CLAIM_GRANTED: return "Granted";
	case QUOTA_CLAIM_RELEASED: return "Released";
	case QUOTA_CLAIM_PENDING: return "Pending";
	default: return "Unknown";
	}
}

/* --- tables --- */

int table_init(struct table *t, size_t columns, const char *const *header)
{
	*t = (struct table){.columns = columns};
	return table_add(t, header);
}

int table_add(struct table *t, const char *const *cells)
{
	if (t->lines == t->capacity) {
		size_t cap = t->capacity ? t->capacity * 2 : 8;
		char **grown = realloc(t->cells, cap * t->columns * sizeof *grown);
		if (!grown)
			return -1;
		t->cells = grown;
		t->capacity = cap;
	}
	char **row = t->cells + t->lines * t->columns;
	for (size_t i = 0; i < t->columns; i++) {
		row[i] = strdup(cells[i] ? cells[i] : "");
		if (!row[i]) {
			while (i > 0)
				free(row[--i]);
			return -1;
		}
	}
	t->lines++;
	return 0;
}

/* qsort has no payload: rows are compared through a small header of their own. */
struct sort_row {
	size_t keys;
	char **cells;
};

static int compare_rows(const void *a, const void *b)
{
	const struct sort_row *x = a, *y = b;
	for (size_t i = 0; i < x->keys; i++) {
		int c = strcmp(x->cells[i], y->cells[i]);
		if (c)
			return c;
	}
	return 0;
}

void table_sort(struct table *t, size_t key_columns)
{
	size_t rows = t->lines - 1;
	struct sort_row *order = rows ? calloc(rows, sizeof *order) : NULL;
	char **sorted = rows ? malloc(rows * t->columns * sizeof *sorted) : NULL;
	if (!order || !sorted) { /* out of memory: print unsorted rather than fail */
		free(order);
		free(sorted);
		return;
	}
	for (size_t r = 0; r < rows; r++)
		order[r] = (struct sort_row){key_columns, t->cells + (r + 1) * t->columns};
	qsort(order, rows, sizeof *order, compare_rows);
	for (size_t r = 0; r < rows; r++)
		memcpy(sorted + r * t->columns, order[r].cells, t->columns * sizeof *sorted);
	memcpy(t->cells + t->columns, sorted, rows * t->columns * sizeof *sorted);
	free(order);
	free(sorted);
}

/* Columns on a terminal: UTF-8 continuation bytes take none. */
static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

void table_print(const struct table *t, FILE *f)
{
	size_t widths[16] = {0};
	for (size_t l = 0; l < t->lines; l++)
		for (size_t c = 0; c < t->columns && c < 16; c++) {
			size_t w = text_width(t->cells[l * t->columns + c]);
			if (w > widths[c])
				widths[c] = w;
		}
	for (size_t l = 0; l < t->lines; l++) {
		for (size_t c = 0; c < t->columns; c++) {
			const char *cell = t->cells[l * t->columns + c];
			if (c + 1 == t->columns) {
				fprintf(f, "%s\n", cell);
				break;
			}
			fprintf(f, "%s%*s", cell, (int)(widths[c] - text_width(cell) + 3), "");
		}
	}
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->lines * t->columns; i++)
		free(t->cells[i]);
	free(t->cells);
	*t = (struct table){0};
}

/* --- JSON --- */

static void indent(FILE *f, int depth)
{
	fprintf(f, "%*s", depth * 2, "");
}

/* Write a scalar, or a string given as bytes, in the library's JSON spelling. */
static int print_scalar(FILE *f, const quota_doc *d)
{
	char *text;
	int rc = quota_doc_to_json(d, &text, NULL);
	if (rc != QUOTA_OK)
		return rc;
	fputs(text, f);
	quota_free(text);
	return QUOTA_OK;
}

static int print_key(FILE *f, const char *key, size_t len)
{
	quota_doc *s;
	int rc = quota_doc_new_string(key, len, &s);
	if (rc == QUOTA_OK)
		rc = print_scalar(f, s);
	quota_doc_unref(s);
	return rc;
}

static int print_value(FILE *f, const quota_doc *d, int depth)
{
	int type = quota_doc_get_type(d), rc = QUOTA_OK;
	size_t n = 0;

	if (type == QUOTA_DOC_LIST)
		rc = quota_doc_list_size(d, &n);
	else if (type == QUOTA_DOC_MAP)
		rc = quota_doc_map_size(d, &n);
	else
		return print_scalar(f, d);
	if (rc != QUOTA_OK)
		return rc;
	if (n == 0) {
		fputs(type == QUOTA_DOC_LIST ? "[]" : "{}", f);
		return QUOTA_OK;
	}
	fputs(type == QUOTA_DOC_LIST ? "[\n" : "{\n", f);
	for (size_t i = 0; i < n && rc == QUOTA_OK; i++) {
		const quota_doc *item;
		indent(f, depth + 1);
		if (type == QUOTA_DOC_LIST) {
			rc = quota_doc_list_at(d, i, &item);
		} else {
			const char *key;
			size_t key_len;
			rc = quota_doc_map_entry(d, i, &key, &key_len, &item);
			if (rc == QUOTA_OK)
				rc = print_key(f, key, key_len);
			fputs(": ", f);
		}
		if (rc == QUOTA_OK)
			rc = print_value(f, item, depth + 1);
		fputs(i + 1 < n ? ",\n" : "\n", f);
	}
	indent(f, depth);
	fputc(type == QUOTA_DOC_LIST ? ']' : '}', f);
	return rc;
}

int print_json(FILE *f, const quota_doc *d)
{
	int rc = print_value(f, d, 0);
	fputc('\n', f);
	return rc;
}

/* Set a string value of a map under construction. */
static int map_set_string(quota_doc *map, const char *key, const char *value)
{
	quota_doc *v;
	int rc = quota_doc_new_string(value, strlen(value), &v);
	if (rc != QUOTA_OK)
		return rc;
	return quota_doc_map_set(map, key, strlen(key), v);
}

int list_doc(quota_doc *items, quota_doc **out)
{
	quota_doc *list;
	int rc = quota_doc_new_map(&list);
	if (rc != QUOTA_OK) {
		quota_doc_unref(items);
		return rc;
	}
	rc = map_set_string(list, "apiVersion", "v1");
	if (rc == QUOTA_OK)
		rc = map_set_string(list, "kind", "List");
	if (rc == QUOTA_OK)
		rc = quota_doc_map_set(list, "items", 5, items);
	else
		quota_doc_unref(items);
	if (rc != QUOTA_OK) {
		quota_doc_unref(list);
		return rc;
	}
	*out = list;
	return QUOTA_OK;
}
