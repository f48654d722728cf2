/*
 * The binary form of records (codec.h).
 * SPDX-License-Identifier: MIT
 */
#include "codec.h"

#include <stddef.h>
#include <string.h>

#include "alloc.h"

/* ---- writing ---- */

unsigned char *quota__put_grow(quota__wbuf *w, size_t n)
{
	if (w->status)
		return NULL;
	if (n > SIZE_MAX / 2 - w->n) {
		w->status = QUOTA_ERR_INVALID;
		return NULL;
	}
	if (w->n + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->n + n)
			cap *= 2;
		unsigned char *p = quota__malloc(cap);
		if (!p) {
			w->status = QUOTA_ERR_NOMEM;
			return NULL;
		}
		if (w->n)
			memcpy(p, w->p, w->n);
		if (!w->borrowed)
			quota__free(w->p);
		w->p = p;
		w->cap = cap;
		w->borrowed = 0;
	}
	unsigned char *at = w->p + w->n;
	w->n += n;
	return at;
}

void quota__put_free(quota__wbuf *w)
{
	if (!w->borrowed)
		quota__free(w->p);
	memset(w, 0, sizeof *w);
}

/* Strings: u32 length, then the bytes; UINT32_MAX stands for NULL. */
void quota__put_strn(quota__wbuf *w, const char *s, size_t n)
{
	if (n > QUOTA__CODEC_MAX_STR) {
		if (!w->status)
			w->status = QUOTA_ERR_INVALID;
		return;
	}
	quota__put_u32(w, (uint32_t)n);
	quota__put_bytes(w, s, n);
}

void quota__put_str(quota__wbuf *w, const char *s)
{
	if (!s) {
		quota__put_u32(w, UINT32_MAX);
		return;
	}
	quota__put_strn(w, s, strnlen(s, QUOTA__CODEC_MAX_STR + 1));
}

/* ---- memory of what is read ---- */

void quota__rmem_free(quota__rmem *m)
{
	quota__arena_free(m->arena);
	for (size_t i = 0; i < m->doc_count; i++)
		quota_doc_unref(m->docs[i]);
	quota__free(m->docs);
	memset(m, 0, sizeof *m);
}

/* ---- reading ---- */

static const unsigned char *take(quota__rbuf *r, size_t n)
{
	if (r->status)
		return NULL;
	if (n > r->n - r->off) {
		r->status = QUOTA_ERR_CORRUPT;
		return NULL;
	}
	const unsigned char *p = r->p + r->off;
	r->off += n;
	return p;
}

uint8_t quota__get_u8(quota__rbuf *r)
{
	const unsigned char *p = take(r, 1);
	return p ? *p : 0;
}

uint32_t quota__get_u32(quota__rbuf *r)
{
	const unsigned char *p = take(r, 4);
	uint32_t v = 0;
	for (int i = 0; p && i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

uint64_t quota__get_u64(quota__rbuf *r)
{
	const unsigned char *p = take(r, 8);
	uint64_t v = 0;
	for (int i = 0; p && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void *r_alloc(quota__rbuf *r, size_t n)
{
	if (r->status)
		return NULL;
	void *p = quota__arena_alloc(&r->mem->arena, n);
	if (!p)
		r->status = QUOTA_ERR_NOMEM;
	return p;
}

const char *quota__get_strn(quota__rbuf *r, size_t *len)
{
	uint32_t n = quota__get_u32(r);
	if (len)
		*len = 0;
	if (r->status || n == UINT32_MAX)
		return NULL;
	const unsigned char *p = take(r, n);
	char *s = p ? r_alloc(r, (size_t)n + 1) : NULL;
	if (!s)
		return NULL;
	memcpy(s, p, n);
	if (len)
		*len = n;
	return s;
}

/* ---- shapes ---- */

enum field_kind {
	F_END,
	F_I32,
	F_U32,
	F_I64,
	F_STR,
	F_INLINE, /* a struct inside this one */
	F_ARRAY,  /* pointer + uint32_t count; sized elements when sub is */
	F_STRS,   /* const char *const * + uint32_t count */
	F_PTR,    /* pointer to one (sized) struct, or NULL */
	F_DOC     /* const quota_doc * */
};

typedef struct field {
	uint8_t kind;
	uint16_t off;
	uint16_t count_off;
	const quota__shape *sub;
} field;

struct quota__shape {
	uint16_t size;
	uint8_t sized; /* starts with size_t size */
	const field *fields;
};

#define SCALAR(k, T, m) {k, (uint16_t)offsetof(T, m), 0, NULL}
#define I32(T, m) SCALAR(F_I32, T, m)
#define U32(T, m) SCALAR(F_U32, T, m)
#define I64(T, m) SCALAR(F_I64, T, m)
#define STR(T, m) SCALAR(F_STR, T, m)
#define DOC(T, m) SCALAR(F_DOC, T, m)
#define INLINE(T, m, s) {F_INLINE, (uint16_t)offsetof(T, m), 0, &s}
#define PTR(T, m, s) {F_PTR, (uint16_t)offsetof(T, m), 0, &s}
#define ARRAY(T, m, c, s) {F_ARRAY, (uint16_t)offsetof(T, m), (uint16_t)offsetof(T, c), &s}
#define STRS(T, m, c) {F_STRS, (uint16_t)offsetof(T, m), (uint16_t)offsetof(T, c), NULL}
#define END {F_END, 0, 0, NULL}
#define SHAPE(name, T, sized_, ...)                                                               \
	static const field name##_fields[] = {__VA_ARGS__, END};                                  \
	const quota__shape name = {sizeof(T), sized_, name##_fields}

SHAPE(quota__shape_ref, quota_ref, 0, STR(quota_ref, api_group), STR(quota_ref, kind),
      STR(quota_ref, ns), STR(quota_ref, name));
SHAPE(shape_kind_ref, quota_kind_ref, 0, STR(quota_kind_ref, api_group),
      STR(quota_kind_ref, kind));
SHAPE(shape_label, quota_label, 0, STR(quota_label, key), STR(quota_label, value));
SHAPE(shape_selector, quota_selector_requirement, 0, STR(quota_selector_requirement, key),
      I32(quota_selector_requirement, op),
      STRS(quota_selector_requirement, values, value_count));
SHAPE(quota__shape_request, quota_request, 1, STR(quota_request, resource_type),
      I64(quota_request, amount), ARRAY(quota_request, dimensions, dimension_count, shape_label),
      U32(quota_request, reserved_flags));
SHAPE(quota__shape_claim, quota_claim, 1, STR(quota_claim, ns), STR(quota_claim, name),
      INLINE(quota_claim, consumer, quota__shape_ref), INLINE(quota_claim, resource, quota__shape_ref),
      ARRAY(quota_claim, requests, request_count, quota__shape_request), U32(quota_claim, flags),
      I64(quota_claim, ttl_ms), I64(quota_claim, queue_timeout_ms));
SHAPE(quota__shape_registration, quota_registration, 1, STR(quota_registration, resource_type),
      INLINE(quota_registration, consumer_type, shape_kind_ref),
      I32(quota_registration, resource_class), I32(quota_registration, enforcement),
      STR(quota_registration, base_unit), STR(quota_registration, display_unit),
      STR(quota_registration, description), I64(quota_registration, unit_conversion_factor),
      ARRAY(quota_registration, claiming_resources, claiming_resource_count, shape_kind_ref),
      STRS(quota_registration, allowed_dimensions, allowed_dimension_count),
      I64(quota_registration, default_limit), I64(quota_registration, generation),
      I32(quota_registration, violation_action), U32(quota_registration, reserved_flags));
SHAPE(shape_grant_bucket, quota_grant_bucket, 1, I64(quota_grant_bucket, amount),
      I64(quota_grant_bucket, period_ms), I64(quota_grant_bucket, burst),
      I32(quota_grant_bucket, window), I32(quota_grant_bucket, violation_action),
      ARRAY(quota_grant_bucket, match_labels, match_label_count, shape_label),
      ARRAY(quota_grant_bucket, match_expressions, match_expression_count, shape_selector));
SHAPE(shape_allowance, quota_allowance, 1, STR(quota_allowance, resource_type),
      ARRAY(quota_allowance, buckets, bucket_count, shape_grant_bucket),
      U32(quota_allowance, reserved_flags));
SHAPE(quota__shape_grant, quota_grant, 1, STR(quota_grant, ns), STR(quota_grant, name),
      INLINE(quota_grant, consumer, quota__shape_ref),
      ARRAY(quota_grant, allowances, allowance_count, shape_allowance),
      U32(quota_grant, reserved_flags), I64(quota_grant, generation));
SHAPE(shape_constraint, quota_constraint, 1, STR(quota_constraint, expression),
      STR(quota_constraint, message));
SHAPE(shape_trigger, quota_trigger_ref, 0, STR(quota_trigger_ref, api_version),
      STR(quota_trigger_ref, kind));
SHAPE(shape_request_template, quota_request_template, 1,
      STR(quota_request_template, resource_type), I64(quota_request_template, amount),
      ARRAY(quota_request_template, dimensions, dimension_count, shape_label),
      U32(quota_request_template, reserved_flags));
SHAPE(shape_claim_template, quota_claim_template, 1, STR(quota_claim_template, name),
      STR(quota_claim_template, generate_name), STR(quota_claim_template, ns),
      INLINE(quota_claim_template, consumer, quota__shape_ref),
      INLINE(quota_claim_template, resource, quota__shape_ref),
      ARRAY(quota_claim_template, requests, request_count, shape_request_template),
      U32(quota_claim_template, reserved_flags));
SHAPE(quota__shape_claim_policy, quota_claim_policy, 1, STR(quota_claim_policy, name),
      INLINE(quota_claim_policy, trigger, shape_trigger),
      ARRAY(quota_claim_policy, constraints, constraint_count, shape_constraint),
      U32(quota_claim_policy, flags), PTR(quota_claim_policy, claim, shape_claim_template),
      I64(quota_claim_policy, generation));
SHAPE(shape_grant_template, quota_grant_template, 1, STR(quota_grant_template, name),
      STR(quota_grant_template, ns), INLINE(quota_grant_template, consumer, quota__shape_ref),
      ARRAY(quota_grant_template, allowances, allowance_count, shape_allowance),
      U32(quota_grant_template, reserved_flags));
SHAPE(shape_parent_context, quota_parent_context, 0, STR(quota_parent_context, api_group),
      STR(quota_parent_context, kind), STR(quota_parent_context, name_expression));
SHAPE(quota__shape_grant_policy, quota_grant_policy, 1, STR(quota_grant_policy, name),
      INLINE(quota_grant_policy, trigger, shape_trigger),
      ARRAY(quota_grant_policy, constraints, constraint_count, shape_constraint),
      U32(quota_grant_policy, flags), PTR(quota_grant_policy, grant, shape_grant_template),
      INLINE(quota_grant_policy, parent_context, shape_parent_context),
      I64(quota_grant_policy, generation));
SHAPE(quota__shape_admission, quota_admission, 1, DOC(quota_admission, trigger),
      DOC(quota_admission, user), DOC(quota_admission, request_info),
      U32(quota_admission, flags), U32(quota_admission, reserved_flags),
      I64(quota_admission, ttl_ms));
SHAPE(quota__shape_json_options, quota_json_options, 1, U32(quota_json_options, flags),
      U32(quota_json_options, max_depth),
      INLINE(quota_json_options, legacy_consumer_type, shape_kind_ref));

/* The largest shape, for the local copy of a caller's sized struct. */
#define LOCAL_MAX 256

static void invalid(quota__wbuf *w)
{
	if (!w->status)
		w->status = QUOTA_ERR_INVALID;
}

static void write_fields(quota__wbuf *w, const quota__shape *s, const unsigned char *o);

/* One element of stride bytes at p, copied into a zeroed struct of ours
 * when it is sized (it may be an older, smaller struct). */
static void write_elem(quota__wbuf *w, const quota__shape *s, const void *p, size_t stride)
{
	if (!s->sized) {
		write_fields(w, s, p);
		return;
	}
	_Alignas(max_align_t) unsigned char local[LOCAL_MAX];
	if (stride < sizeof(size_t) || s->size > sizeof local) {
		invalid(w);
		return;
	}
	memset(local, 0, s->size);
	memcpy(local, p, stride < s->size ? stride : s->size);
	write_fields(w, s, local);
}

static void write_array(quota__wbuf *w, const quota__shape *s, const void *arr, uint32_t count)
{
	if (count > QUOTA__CODEC_MAX_COUNT || (count && !arr)) {
		invalid(w);
		return;
	}
	quota__put_u32(w, count);
	size_t stride = count && s->sized ? *(const size_t *)arr : s->size;
	for (uint32_t i = 0; i < count && !w->status; i++)
		write_elem(w, s, (const unsigned char *)arr + i * stride, stride);
}

static void write_fields(quota__wbuf *w, const quota__shape *s, const unsigned char *o)
{
	for (const field *f = s->fields; f->kind != F_END && !w->status; f++) {
		const void *at = o + f->off;
		const void *ptr;
		uint32_t count;
		memcpy(&ptr, at, sizeof ptr);
		switch (f->kind) {
		case F_I32:
		case F_U32: {
			uint32_t v;
			memcpy(&v, at, 4);
			quota__put_u32(w, v);
			break;
		}
		case F_I64: {
			uint64_t v;
			memcpy(&v, at, 8);
			quota__put_u64(w, v);
			break;
		}
		case F_STR:
			quota__put_str(w, ptr);
			break;
		case F_INLINE:
			write_fields(w, f->sub, at);
			break;
		case F_PTR:
			quota__put_struct(w, f->sub, ptr);
			break;
		case F_DOC:
			quota__put_doc(w, ptr);
			break;
		case F_ARRAY:
			memcpy(&count, o + f->count_off, 4);
			write_array(w, f->sub, ptr, count);
			break;
		case F_STRS:
			memcpy(&count, o + f->count_off, 4);
			if (count > QUOTA__CODEC_MAX_COUNT || (count && !ptr)) {
				invalid(w);
				break;
			}
			quota__put_u32(w, count);
			for (uint32_t i = 0; i < count; i++)
				quota__put_str(w, ((const char *const *)ptr)[i]);
			break;
		}
	}
}

void quota__put_struct(quota__wbuf *w, const quota__shape *s, const void *obj)
{
	quota__put_u8(w, obj != NULL);
	if (obj)
		write_elem(w, s, obj, s->sized ? *(const size_t *)obj : s->size);
}

void quota__put_array(quota__wbuf *w, const quota__shape *s, const void *arr, uint32_t count)
{
	write_array(w, s, arr, count);
}

/* Documents: a type byte (QUOTA_DOC_*, or 0xFF for none), then the value. */
#define DOC_NONE 0xFF
#define DOC_DEPTH_MAX 128

static void write_doc(quota__wbuf *w, const quota_doc *d, int depth)
{
	if (!d) {
		quota__put_u8(w, DOC_NONE);
		return;
	}
	if (depth > DOC_DEPTH_MAX) {
		invalid(w);
		return;
	}
	int type = quota_doc_get_type(d);
	quota__put_u8(w, (uint8_t)type);
	size_t n, len;
	const char *s;
	switch (type) {
	case QUOTA_DOC_BOOL: {
		int32_t b = 0;
		quota_doc_get_bool(d, &b);
		quota__put_u8(w, b != 0);
		break;
	}
	case QUOTA_DOC_INT: {
		int64_t v = 0;
		quota_doc_get_int(d, &v);
		quota__put_i64(w, v);
		break;
	}
	case QUOTA_DOC_DOUBLE: {
		double v = 0;
		uint64_t bits;
		quota_doc_get_double(d, &v);
		memcpy(&bits, &v, 8);
		quota__put_u64(w, bits);
		break;
	}
	case QUOTA_DOC_STRING:
		quota_doc_get_string(d, &s, &len);
		quota__put_strn(w, s, len);
		break;
	case QUOTA_DOC_LIST:
		quota_doc_list_size(d, &n);
		quota__put_u32(w, (uint32_t)n);
		for (size_t i = 0; i < n && !w->status; i++) {
			const quota_doc *item = NULL;
			quota_doc_list_at(d, i, &item);
			write_doc(w, item, depth + 1);
		}
		break;
	case QUOTA_DOC_MAP:
		quota_doc_map_size(d, &n);
		quota__put_u32(w, (uint32_t)n);
		for (size_t i = 0; i < n && !w->status; i++) {
			const quota_doc *v = NULL;
			quota_doc_map_entry(d, i, &s, &len, &v);
			quota__put_strn(w, s, len);
			write_doc(w, v, depth + 1);
		}
		break;
	default:
		break;
	}
}

void quota__put_doc(quota__wbuf *w, const quota_doc *d)
{
	write_doc(w, d, 0);
}

/* ---- reading structs ---- */

static void read_fields(quota__rbuf *r, const quota__shape *s, unsigned char *o);

static void *read_array(quota__rbuf *r, const quota__shape *s, uint32_t *count)
{
	uint32_t n = quota__get_u32(r);
	*count = 0;
	if (r->status || n == 0)
		return NULL;
	if (n > QUOTA__CODEC_MAX_COUNT || n > r->n - r->off) {
		r->status = QUOTA_ERR_CORRUPT;
		return NULL;
	}
	unsigned char *arr = r_alloc(r, (size_t)n * s->size);
	for (uint32_t i = 0; arr && i < n && !r->status; i++)
		read_fields(r, s, arr + (size_t)i * s->size);
	*count = n;
	return arr;
}

static void read_fields(quota__rbuf *r, const quota__shape *s, unsigned char *o)
{
	if (s->sized) {
		size_t size = s->size;
		memcpy(o, &size, sizeof size);
	}
	for (const field *f = s->fields; f->kind != F_END && !r->status; f++) {
		unsigned char *at = o + f->off;
		const void *ptr = NULL;
		uint32_t count = 0;
		switch (f->kind) {
		case F_I32:
		case F_U32: {
			uint32_t v = quota__get_u32(r);
			memcpy(at, &v, 4);
			continue;
		}
		case F_I64: {
			uint64_t v = quota__get_u64(r);
			memcpy(at, &v, 8);
			continue;
		}
		case F_INLINE:
			read_fields(r, f->sub, at);
			continue;
		case F_STR:
			ptr = quota__get_str(r);
			break;
		case F_PTR:
			ptr = quota__get_struct(r, f->sub);
			break;
		case F_DOC:
			ptr = quota__get_doc(r);
			break;
		case F_ARRAY:
			ptr = read_array(r, f->sub, &count);
			memcpy(o + f->count_off, &count, 4);
			break;
		case F_STRS: {
			uint32_t n = quota__get_u32(r);
			if (n > QUOTA__CODEC_MAX_COUNT || n > r->n - r->off) {
				r->status = QUOTA_ERR_CORRUPT;
				break;
			}
			const char **v = n ? r_alloc(r, n * sizeof *v) : NULL;
			for (uint32_t i = 0; v && i < n; i++)
				v[i] = quota__get_str(r);
			ptr = v;
			count = v ? n : 0;
			memcpy(o + f->count_off, &count, 4);
			break;
		}
		}
		memcpy(at, &ptr, sizeof ptr);
	}
}

const void *quota__get_struct(quota__rbuf *r, const quota__shape *s)
{
	uint8_t present = quota__get_u8(r);
	if (r->status || !present)
		return NULL;
	if (present != 1) {
		r->status = QUOTA_ERR_CORRUPT;
		return NULL;
	}
	unsigned char *o = r_alloc(r, s->size);
	if (o)
		read_fields(r, s, o);
	return o;
}

const void *quota__get_array(quota__rbuf *r, const quota__shape *s, uint32_t *count)
{
	return read_array(r, s, count);
}

static quota_doc *read_doc(quota__rbuf *r, int depth)
{
	uint8_t type = quota__get_u8(r);
	if (r->status || type == DOC_NONE)
		return NULL;
	if (depth > DOC_DEPTH_MAX) {
		r->status = QUOTA_ERR_CORRUPT;
		return NULL;
	}
	quota_doc *d = NULL;
	int rc = QUOTA_OK;
	switch (type) {
	case QUOTA_DOC_NULL:
		rc = quota_doc_new_null(&d);
		break;
	case QUOTA_DOC_BOOL:
		rc = quota_doc_new_bool(quota__get_u8(r) != 0, &d);
		break;
	case QUOTA_DOC_INT:
		rc = quota_doc_new_int(quota__get_i64(r), &d);
		break;
	case QUOTA_DOC_DOUBLE: {
		uint64_t bits = quota__get_u64(r);
		double v;
		memcpy(&v, &bits, 8);
		rc = quota_doc_new_double(v, &d);
		break;
	}
	case QUOTA_DOC_STRING: {
		size_t len;
		const char *s = quota__get_strn(r, &len);
		rc = r->status ? r->status : quota_doc_new_string(s ? s : "", len, &d);
		break;
	}
	case QUOTA_DOC_LIST:
	case QUOTA_DOC_MAP: {
		uint32_t n = quota__get_u32(r);
		if (r->status || n > r->n - r->off) {
			r->status = QUOTA_ERR_CORRUPT;
			return NULL;
		}
		rc = type == QUOTA_DOC_LIST ? quota_doc_new_list(&d) : quota_doc_new_map(&d);
		for (uint32_t i = 0; !rc && i < n; i++) {
			size_t len = 0;
			const char *key = type == QUOTA_DOC_MAP ? quota__get_strn(r, &len) : NULL;
			quota_doc *item = r->status ? NULL : read_doc(r, depth + 1);
			if (r->status || !item) {
				quota_doc_unref(item);
				rc = r->status ? r->status : QUOTA_ERR_CORRUPT;
				break;
			}
			rc = type == QUOTA_DOC_LIST ? quota_doc_list_append(d, item)
						    : quota_doc_map_set(d, key, len, item);
		}
		break;
	}
	default:
		rc = QUOTA_ERR_CORRUPT;
	}
	if (rc) {
		quota_doc_unref(d);
		if (!r->status)
			r->status = rc == QUOTA_ERR_NOMEM ? rc : QUOTA_ERR_CORRUPT;
		return NULL;
	}
	return d;
}

const quota_doc *quota__get_doc(quota__rbuf *r)
{
	quota__rmem *a = r->mem;
	if (a->doc_count == a->doc_cap) {
		size_t cap = a->doc_cap ? a->doc_cap * 2 : 8;
		quota_doc **docs = quota__malloc(cap * sizeof *docs);
		if (!docs) {
			r->status = QUOTA_ERR_NOMEM;
			return NULL;
		}
		if (a->doc_count)
			memcpy(docs, a->docs, a->doc_count * sizeof *docs);
		quota__free(a->docs);
		a->docs = docs;
		a->doc_cap = cap;
	}
	quota_doc *d = read_doc(r, 0);
	if (d)
		a->docs[a->doc_count++] = d;
	return d;
}
