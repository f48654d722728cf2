/*
 * doc.h: building and reading documents, sharing rules, limits, JSON in
 * and out, and allocation failures.
 *
 * SPDX-License-Identifier: MIT
 */
#include <locale.h>
#include <math.h>

#include <quota/quota.h>

#include "alloc-hook.h"
#include "check.h"
#include "doc-util.h"

static int have_json(void)
{
	return (quota_features() & QUOTA_FEATURE_JSON) != 0;
}

static void test_scalars(void)
{
	quota_doc *d = NULL;
	int32_t b;
	int64_t i;
	double x;
	const char *s;
	size_t n;

	CHECK_RC(quota_doc_new_null(&d), QUOTA_OK);
	CHECK_EQ_INT(quota_doc_get_type(d), QUOTA_DOC_NULL);
	quota_doc_unref(d);

	CHECK_RC(quota_doc_new_bool(7, &d), QUOTA_OK);
	CHECK_EQ_INT(quota_doc_get_type(d), QUOTA_DOC_BOOL);
	CHECK_RC(quota_doc_get_bool(d, &b), QUOTA_OK);
	CHECK_EQ_INT(b, 1);
	CHECK_RC(quota_doc_get_int(d, &i), QUOTA_ERR_INVALID);
	quota_doc_unref(d);
	CHECK_RC(quota_doc_new_bool(0, &d), QUOTA_OK);
	CHECK_RC(quota_doc_get_bool(d, &b), QUOTA_OK);
	CHECK_EQ_INT(b, 0);
	quota_doc_unref(d);

	CHECK_RC(quota_doc_new_int(INT64_MIN, &d), QUOTA_OK);
	CHECK_EQ_INT(quota_doc_get_type(d), QUOTA_DOC_INT);
	CHECK_RC(quota_doc_get_int(d, &i), QUOTA_OK);
	CHECK(i == INT64_MIN);
	CHECK_RC(quota_doc_get_double(d, &x), QUOTA_ERR_INVALID); /* no silent conversion */
	quota_doc_unref(d);

	CHECK_RC(quota_doc_new_double(-2.5, &d), QUOTA_OK);
	CHECK_EQ_INT(quota_doc_get_type(d), QUOTA_DOC_DOUBLE);
	CHECK_RC(quota_doc_get_double(d, &x), QUOTA_OK);
	CHECK(x == -2.5);
	CHECK_RC(quota_doc_get_int(d, &i), QUOTA_ERR_INVALID);
	quota_doc_unref(d);

	/* strings are length-counted, may hold NUL, and are NUL-terminated */
	CHECK_RC(quota_doc_new_string("a\0b", 3, &d), QUOTA_OK);
	CHECK_EQ_INT(quota_doc_get_type(d), QUOTA_DOC_STRING);
	CHECK_RC(quota_doc_get_string(d, &s, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 3);
	CHECK(memcmp(s, "a\0b", 4) == 0);
	CHECK_RC(quota_doc_get_string(d, &s, NULL), QUOTA_OK);
	quota_doc_unref(d);
	CHECK_RC(quota_doc_new_string(NULL, 0, &d), QUOTA_OK);
	CHECK_RC(quota_doc_get_string(d, &s, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 0);
	CHECK_STR_EQ(s, "");
	quota_doc_unref(d);

	/* bad UTF-8: a lone continuation byte, an overlong form, a surrogate,
	 * a truncated sequence */
	static const char *const bad[] = {"a\x80", "\xC0\xAF", "\xED\xA0\x80", "ok\xE2\x82"};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		d = NULL;
		CHECK_RC(quota_doc_new_string(bad[k], strlen(bad[k]), &d), QUOTA_ERR_INVALID);
		CHECK(d == NULL);
		CHECK_ERR_CONTAINS("UTF-8");
	}
	CHECK_RC(quota_doc_new_string("\xF0\x9F\x98\x80", 4, &d), QUOTA_OK); /* U+1F600 */
	quota_doc_unref(d);

	/* NULL arguments */
	CHECK_RC(quota_doc_new_null(NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_doc_new_int(1, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_doc_new_string(NULL, 2, &d), QUOTA_ERR_INVALID);
	CHECK_RC(quota_doc_get_type(NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_doc_get_int(NULL, &i), QUOTA_ERR_INVALID);
	CHECK(quota_doc_ref(NULL) == NULL);
	quota_doc_unref(NULL);
}

static void test_list(void)
{
	quota_doc *l = NULL, *item = NULL;
	const quota_doc *at = NULL;
	size_t n = 99;
	int64_t v;

	CHECK_RC(quota_doc_new_list(&l), QUOTA_OK);
	CHECK_EQ_INT(quota_doc_get_type(l), QUOTA_DOC_LIST);
	CHECK_RC(quota_doc_list_size(l, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 0);
	for (int k = 0; k < 100; k++) {
		quota_doc_new_int(k * 10, &item);
		CHECK_RC(quota_doc_list_append(l, item), QUOTA_OK);
	}
	CHECK_RC(quota_doc_list_size(l, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 100);
	CHECK_RC(quota_doc_list_at(l, 42, &at), QUOTA_OK);
	CHECK_RC(quota_doc_get_int(at, &v), QUOTA_OK);
	CHECK_EQ_INT(v, 420);
	CHECK_RC(quota_doc_list_at(l, 100, &at), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_doc_map_size(l, &n), QUOTA_ERR_INVALID);

	/* a list cannot hold itself */
	CHECK_RC(quota_doc_list_append(l, l), QUOTA_ERR_INVALID);
	CHECK_RC(quota_doc_list_size(l, &n), QUOTA_OK); /* and still exists */

	/* a shared list is immutable; the item is released all the same */
	quota_doc *shared = quota_doc_ref(l);
	CHECK(shared == l);
	quota_doc_new_int(1, &item);
	CHECK_RC(quota_doc_list_append(l, item), QUOTA_ERR_WRONG_STATE);
	quota_doc_unref(shared);
	quota_doc_new_int(1, &item);
	CHECK_RC(quota_doc_list_append(l, item), QUOTA_OK);

	/* a list placed inside another is immutable even with one reference */
	quota_doc *outer = NULL, *inner = NULL;
	quota_doc_new_list(&outer);
	quota_doc_new_list(&inner);
	CHECK_RC(quota_doc_list_append(outer, inner), QUOTA_OK);
	quota_doc_new_int(1, &item);
	CHECK_RC(quota_doc_list_append(inner, item), QUOTA_ERR_WRONG_STATE);
	quota_doc_unref(outer);

	CHECK_RC(quota_doc_list_append(NULL, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_doc_list_append(l, NULL), QUOTA_ERR_INVALID);
	quota_doc *map = NULL;
	quota_doc_new_map(&map);
	quota_doc_new_int(1, &item);
	CHECK_RC(quota_doc_list_append(map, item), QUOTA_ERR_INVALID); /* not a list */
	quota_doc_unref(map);
	quota_doc_unref(l);
}

static void test_map(void)
{
	quota_doc *m = NULL, *v = NULL;
	const quota_doc *got = NULL;
	const char *key;
	size_t n, klen;
	int64_t i;
	char k[32];

	CHECK_RC(quota_doc_new_map(&m), QUOTA_OK);
	/* enough keys to need the index; insertion order is kept */
	for (int j = 0; j < 300; j++) {
		snprintf(k, sizeof k, "key-%d", 299 - j);
		quota_doc_new_int(j, &v);
		CHECK_RC(quota_doc_map_set(m, k, strlen(k), v), QUOTA_OK);
	}
	CHECK_RC(quota_doc_map_size(m, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 300);
	for (int j = 0; j < 300; j++) {
		snprintf(k, sizeof k, "key-%d", 299 - j);
		CHECK_RC(quota_doc_map_get(m, k, strlen(k), &got), QUOTA_OK);
		CHECK_RC(quota_doc_get_int(got, &i), QUOTA_OK);
		CHECK_EQ_INT(i, j);
		CHECK_RC(quota_doc_map_entry(m, (size_t)j, &key, &klen, &got), QUOTA_OK);
		CHECK_STR_EQ(key, k);
		CHECK_EQ_INT(klen, strlen(k));
	}
	CHECK_RC(quota_doc_map_get(m, "key-300", 7, &got), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_doc_map_entry(m, 300, &key, NULL, NULL), QUOTA_ERR_NOT_FOUND);

	/* setting a key again replaces the value and keeps the place */
	quota_doc_new_int(-1, &v);
	CHECK_RC(quota_doc_map_set(m, "key-150", 7, v), QUOTA_OK);
	CHECK_RC(quota_doc_map_size(m, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 300);
	CHECK_RC(quota_doc_map_entry(m, 149, &key, NULL, &got), QUOTA_OK);
	CHECK_STR_EQ(key, "key-150");
	CHECK_RC(quota_doc_get_int(got, &i), QUOTA_OK);
	CHECK_EQ_INT(i, -1);
	quota_doc_unref(m);

	/* small maps: keys with NUL bytes and the empty key are keys too */
	quota_doc_new_map(&m);
	quota_doc_new_int(1, &v);
	CHECK_RC(quota_doc_map_set(m, "a\0b", 3, v), QUOTA_OK);
	quota_doc_new_int(2, &v);
	CHECK_RC(quota_doc_map_set(m, NULL, 0, v), QUOTA_OK);
	CHECK_RC(quota_doc_map_get(m, "a", 1, &got), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_doc_map_get(m, "a\0b", 3, &got), QUOTA_OK);
	CHECK_RC(quota_doc_map_get(m, "", 0, &got), QUOTA_OK);
	CHECK_RC(quota_doc_get_int(got, &i), QUOTA_OK);
	CHECK_EQ_INT(i, 2);

	/* bad keys and shared maps are refused, and the value released */
	quota_doc_new_int(3, &v);
	CHECK_RC(quota_doc_map_set(m, "\xFF", 1, v), QUOTA_ERR_INVALID);
	quota_doc *again = quota_doc_ref(m);
	quota_doc_new_int(3, &v);
	CHECK_RC(quota_doc_map_set(m, "c", 1, v), QUOTA_ERR_WRONG_STATE);
	quota_doc_unref(again);
	CHECK_RC(quota_doc_map_set(m, "self", 4, m), QUOTA_ERR_INVALID);
	CHECK_RC(quota_doc_map_get(m, NULL, 1, &got), QUOTA_ERR_INVALID);
	quota_doc_unref(m);
}

/* A list nested depth levels deep: [[[...]]]. */
static int nest(int depth, quota_doc **out)
{
	quota_doc *d = NULL, *outer;
	int rc = quota_doc_new_list(&d);
	for (int k = 1; k < depth && rc == QUOTA_OK; k++) {
		if ((rc = quota_doc_new_list(&outer)))
			break;
		rc = quota_doc_list_append(outer, d);
		d = outer;
	}
	if (rc != QUOTA_OK) {
		quota_doc_unref(d);
		return rc;
	}
	*out = d;
	return QUOTA_OK;
}

static void test_depth(void)
{
	quota_doc *d = NULL, *wrap = NULL;
	CHECK_RC(nest(QUOTA_DOC_MAX_DEPTH, &d), QUOTA_OK);
	quota_doc_new_list(&wrap);
	CHECK_RC(quota_doc_list_append(wrap, d), QUOTA_ERR_INVALID);
	CHECK_ERR_CONTAINS("deeper than 64");
	quota_doc_unref(wrap);
	CHECK_RC(nest(QUOTA_DOC_MAX_DEPTH, &d), QUOTA_OK);
	quota_doc_new_map(&wrap);
	CHECK_RC(quota_doc_map_set(wrap, "k", 1, d), QUOTA_ERR_INVALID);
	quota_doc_unref(wrap);
}

static void test_to_json(void)
{
	quota_doc *d = tdoc(
		"{\"s\": \"q\\\"b\\\\n\\n\\t\\u0001\\u00e9\", \"i\": -9223372036854775808, "
		"\"d\": [1.0, 0.5, 1e+20, -0.0, 1e-07, 123456.0], \"n\": null, "
		"\"b\": [true, false], \"e\": {}, \"l\": []}");
	CHECK_JSON(d, "{\"s\":\"q\\\"b\\\\n\\n\\t\\u0001\xC3\xA9\",\"i\":-9223372036854775808,"
		      "\"d\":[1.0,0.5,1e+20,-0.0,1e-07,123456.0],\"n\":null,"
		      "\"b\":[true,false],\"e\":{},\"l\":[]}");
	size_t len = 0;
	char *text = NULL;
	CHECK_RC(quota_doc_to_json(d, &text, &len), QUOTA_OK);
	CHECK_EQ_INT(len, strlen(text));
	quota_free(text);
	quota_doc_unref(d);

	/* JSON cannot say NaN or infinity */
	quota_doc_new_double(NAN, &d);
	CHECK_RC(quota_doc_to_json(d, &text, NULL), QUOTA_ERR_INVALID);
	quota_doc_unref(d);
	quota_doc_new_double(-INFINITY, &d);
	CHECK_RC(quota_doc_to_json(d, &text, NULL), QUOTA_ERR_INVALID);
	quota_doc_unref(d);
	CHECK_RC(quota_doc_to_json(NULL, &text, NULL), QUOTA_ERR_INVALID);

	/* the decimal point is '.' whatever the program's locale says */
	const char *const locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8"};
	int switched = 0;
	for (size_t k = 0; k < 4 && !switched; k++)
		switched = setlocale(LC_NUMERIC, locales[k]) != NULL;
	if (switched) {
		quota_doc_new_double(1.5, &d);
		CHECK_JSON(d, "1.5");
		quota_doc_unref(d);
		setlocale(LC_NUMERIC, "C");
	} else {
		printf("   (no comma-decimal locale installed: locale check skipped)\n");
	}
}

/* Parse, check the code and (on success) the written form. */
static void check_parse_(const char *file, int line, const char *json, int code, const char *want)
{
	quota_doc *d = (quota_doc *)&d;
	int rc = quota_doc_parse_json(json, strlen(json), &d);
	if (rc != code) {
		check_fail_(file, line, "parse %s: %s, want %s", json, quota_strerror(rc),
			    quota_strerror(code));
	} else if (rc == QUOTA_OK) {
		check_json_(file, line, d, want);
	} else if (d != NULL) {
		check_fail_(file, line, "parse %s failed but set the output", json);
	} else if (want && !strstr(quota_last_error(), want)) {
		check_fail_(file, line, "parse %s: error should contain \"%s\"", json, want);
	}
	if (rc == QUOTA_OK)
		quota_doc_unref(d);
}

#define CHECK_PARSE(json, want) check_parse_(__FILE__, __LINE__, (json), QUOTA_OK, (want))
#define CHECK_PARSE_FAILS(json, fragment)                                                          \
	check_parse_(__FILE__, __LINE__, (json), QUOTA_ERR_PARSE, (fragment))

static void test_parse_json(void)
{
	quota_doc *d = NULL;
	if (!have_json()) {
		CHECK_RC(quota_doc_parse_json("1", 1, &d), QUOTA_ERR_UNSUPPORTED);
		return;
	}
	CHECK_PARSE(" {\"a\": [1, -2, 3.5, \"x\", true, null, {}]} \n",
		    "{\"a\":[1,-2,3.5,\"x\",true,null,{}]}");
	/* integers that fit int64 stay exact; others become doubles */
	CHECK_PARSE("9007199254740993", "9007199254740993");
	CHECK_PARSE("9223372036854775807", "9223372036854775807");
	CHECK_PARSE("-9223372036854775808", "-9223372036854775808");
	CHECK_PARSE("9223372036854775808", "9.223372036854776e+18");
	CHECK_PARSE("-0", "0");
	CHECK_PARSE("1.0", "1.0");
	CHECK_PARSE("1e2", "100.0");
	CHECK_PARSE("[1E-2, 2.5e+3]", "[0.01,2500.0]");
	/* escapes, including a surrogate pair */
	CHECK_PARSE("\"\\u00e9\\ud83d\\ude00\\n\\/\"", "\"\xC3\xA9\xF0\x9F\x98\x80\\n/\"");
	/* a repeated key: the last value, at the first place */
	CHECK_PARSE("{\"a\": 1, \"b\": 2, \"a\": 3}", "{\"a\":3,\"b\":2}");

	int64_t i;
	CHECK_RC(quota_doc_parse_json("12", 2, &d), QUOTA_OK);
	CHECK_EQ_INT(quota_doc_get_type(d), QUOTA_DOC_INT);
	CHECK_RC(quota_doc_get_int(d, &i), QUOTA_OK);
	CHECK_EQ_INT(i, 12);
	quota_doc_unref(d);
	/* the length counts, not a NUL */
	CHECK_RC(quota_doc_parse_json("[1]garbage", 3, &d), QUOTA_OK);
	quota_doc_unref(d);

	CHECK_PARSE_FAILS("{\"a\": }", "line 1, column 7");
	CHECK_PARSE_FAILS("[1,\n 2,,]", "line 2");
	CHECK_PARSE_FAILS("[1] [2]", "text after the value");
	CHECK_PARSE_FAILS("", "no value");
	CHECK_PARSE_FAILS("   ", NULL);
	CHECK_PARSE_FAILS("\"\xC3\"", "invalid UTF-8");
	CHECK_PARSE_FAILS("\"a\tb\"", "control character");
	CHECK_PARSE_FAILS("01", "malformed number");
	CHECK_PARSE_FAILS("[1.]", NULL);
	CHECK_PARSE_FAILS("1e400", "out of the range");
	CHECK_PARSE_FAILS("\"\\ud800\"", NULL);
	CHECK_PARSE_FAILS("{\"a\" 1}", NULL);
	CHECK_PARSE_FAILS("nul", NULL);
	CHECK_RC(quota_doc_parse_json(NULL, 1, &d), QUOTA_ERR_INVALID);
	CHECK_RC(quota_doc_parse_json("1", 1, NULL), QUOTA_ERR_INVALID);

	/* nesting: 64 levels parse, 65 do not, and 5000 fail cleanly */
	static char deep[10002];
	static const int depths[] = {64, 65, 5000};
	for (size_t k = 0; k < 3; k++) {
		int depth = depths[k];
		memset(deep, '[', (size_t)depth);
		memset(deep + depth, ']', (size_t)depth);
		int rc = quota_doc_parse_json(deep, 2 * (size_t)depth, &d);
		CHECK_RC(rc, depth == 64 ? QUOTA_OK : QUOTA_ERR_PARSE);
		if (rc == QUOTA_OK)
			quota_doc_unref(d);
	}
}

/* Documents from tdoc() and from the JSON reader write the same. */
static void test_round_trip(void)
{
	static const char *const texts[] = {
		"{\"kind\":\"Project\",\"metadata\":{\"name\":\"p1\",\"labels\":{\"tier\":\"gold\"}},"
		"\"spec\":{\"replicas\":3,\"ratio\":0.25,\"tags\":[\"a\",\"b\"],\"none\":null,"
		"\"on\":true}}",
		"[[],{},[{}],\"\",0,-1,1.5,1e+300]",
		"\"\\u0000 inside\"",
	};
	for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
		quota_doc *built = tdoc(texts[k]), *parsed = NULL, *again = NULL;
		char *text = NULL;
		CHECK_RC(quota_doc_to_json(built, &text, NULL), QUOTA_OK);
		if (have_json() && text) {
			CHECK_RC(quota_doc_parse_json(text, strlen(text), &parsed), QUOTA_OK);
			if (k < 2)
				CHECK_JSON(parsed, text);
			char *text2 = NULL;
			CHECK_RC(quota_doc_to_json(parsed, &text2, NULL), QUOTA_OK);
			if (text2)
				CHECK_RC(quota_doc_parse_json(text2, strlen(text2), &again),
					 QUOTA_OK);
			CHECK_JSON(again, text2);
			quota_free(text2);
		}
		quota_free(text);
		quota_doc_unref(built);
		quota_doc_unref(parsed);
		quota_doc_unref(again);
	}
}

/* ---- allocation failures -------------------------------------------------- */

static int op_build(void *arg)
{
	(void)arg;
	quota_doc *m = NULL, *v = NULL;
	int rc = quota_doc_new_map(&m);
	for (int j = 0; j < 20 && rc == QUOTA_OK; j++) {
		char k[16];
		snprintf(k, sizeof k, "k%d", j);
		if ((rc = j % 2 ? quota_doc_new_string(k, strlen(k), &v) : nest(3, &v)))
			break;
		rc = quota_doc_map_set(m, k, strlen(k), v);
	}
	if (rc == QUOTA_OK && (rc = quota_doc_new_double(0.5, &v)) == QUOTA_OK)
		rc = quota_doc_map_set(m, "d", 1, v);
	quota_doc_unref(m);
	return rc;
}

static int op_parse(void *arg)
{
	const char *json = arg;
	quota_doc *d = NULL;
	int rc = quota_doc_parse_json(json, strlen(json), &d);
	quota_doc_unref(d);
	return rc;
}

static int op_write(void *arg)
{
	char *text = NULL;
	int rc = quota_doc_to_json(arg, &text, NULL);
	quota_free(text);
	return rc;
}

static void test_allocation_failures(void)
{
	struct counting c;
	static char json[] = "{\"a\":[1,2.5,\"three\",{\"four\":null}],\"b\":{\"c\":true},"
			     "\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,"
			     "\"k7\":7,\"k8\":8,\"k9\":9}";
	if (counting_install(&c) != QUOTA_OK) {
		CHECK(0);
		return;
	}
	FAULT_SWEEP(&c, op_build, NULL);
	if (have_json())
		FAULT_SWEEP(&c, op_parse, json);
	quota_doc *d = tdoc(json);
	FAULT_SWEEP(&c, op_write, d);
	quota_doc_unref(d);
	CHECK_EQ_INT(live(&c), 0);
	quota_set_allocator(NULL);
}

int main(void)
{
	RUN(test_scalars);
	RUN(test_list);
	RUN(test_map);
	RUN(test_depth);
	RUN(test_to_json);
	RUN(test_parse_json);
	RUN(test_round_trip);
	RUN(test_allocation_failures);
	return check_exit();
}
