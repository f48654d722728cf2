/*
 * libFuzzer target: the expression language and templates. The input is
 * compiled as an expression and as a template over the variables trigger,
 * user and requestInfo, and whatever compiles is evaluated (rendered)
 * against a fixed trigger with a small cost budget. Nothing may crash,
 * leak or report anything but a status; a compiled expression must
 * evaluate the same way twice.
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <quota/quota.h>

static const char *const vars[] = {"trigger", "user", "requestInfo"};

static quota_doc *str(const char *s)
{
	quota_doc *d = NULL;
	quota_doc_new_string(s, strlen(s), &d);
	return d;
}

/* {"metadata": {"name": "web", "namespace": "acme", "labels": {"tier":
 * "pro"}}, "spec": {"replicas": 3, "tags": ["a", "b"], "ratio": 0.5}} */
static quota_doc *trigger(void)
{
	quota_doc *t = NULL, *meta = NULL, *labels = NULL, *spec = NULL, *tags = NULL, *n = NULL,
		  *r = NULL;
	quota_doc_new_map(&t);
	quota_doc_new_map(&meta);
	quota_doc_new_map(&labels);
	quota_doc_new_map(&spec);
	quota_doc_new_list(&tags);
	quota_doc_map_set(labels, "tier", 4, str("pro"));
	quota_doc_map_set(meta, "name", 4, str("web"));
	quota_doc_map_set(meta, "namespace", 9, str("acme"));
	quota_doc_map_set(meta, "labels", 6, labels);
	quota_doc_new_int(3, &n);
	quota_doc_map_set(spec, "replicas", 8, n);
	quota_doc_list_append(tags, str("a"));
	quota_doc_list_append(tags, str("b"));
	quota_doc_map_set(spec, "tags", 4, tags);
	quota_doc_new_double(0.5, &r);
	quota_doc_map_set(spec, "ratio", 5, r);
	quota_doc_map_set(t, "metadata", 8, meta);
	quota_doc_map_set(t, "spec", 4, spec);
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static quota_doc *values[3];
	if (!values[0]) {
		values[0] = trigger();
		quota_doc_new_null(&values[1]);
		quota_doc_new_null(&values[2]);
	}
	char *src = malloc(size + 1);
	if (!src)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	quota_expr_options o;
	quota_expr_options_init(&o, sizeof o);
	o.cost_limit = 20000;

	quota_expr *x = NULL;
	if (quota_expr_compile(src, vars, 3, &x) == QUOTA_OK) {
		quota_doc *a = NULL, *b = NULL;
		int ra = quota_expr_eval(x, (const quota_doc *const *)values, 3, &o, &a);
		int rb = quota_expr_eval(x, (const quota_doc *const *)values, 3, &o, &b);
		if (ra != rb)
			abort(); /* evaluation must be deterministic */
		if (ra == QUOTA_OK) {
			char *ja = NULL, *jb = NULL;
			size_t la = 0, lb = 0;
			int wa = quota_doc_to_json(a, &ja, &la), wb = quota_doc_to_json(b, &jb, &lb);
			if (wa != wb || (wa == QUOTA_OK && (la != lb || memcmp(ja, jb, la) != 0)))
				abort();
			quota_free(ja);
			quota_free(jb);
		}
		quota_doc_unref(a);
		quota_doc_unref(b);
		quota_expr_free(x);
	}
	quota_template *t = NULL;
	if (quota_template_compile(src, vars, 3, &t) == QUOTA_OK) {
		char *out = NULL;
		size_t len = 0;
		quota_template_render(t, (const quota_doc *const *)values, 3, &o, &out, &len);
		quota_free(out);
		quota_template_free(t);
	}
	free(src);
	return 0;
}
