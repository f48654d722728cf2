/*
 * quota_doc_parse_json: every grammar rule and error with its place,
 * numbers at the edges of int64 and double, escapes and UTF-8, nesting at
 * the limit, repeated keys, the locale, allocation failures, and a
 * differential check against cJSON (with the checks the reader made
 * before it had its own parser) over the fuzz corpus and mutations of it.
 *
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <quota/quota.h>

#include "alloc-hook.h"
#include "check.h"

/* The text's parse as compact JSON, or "ERR: " and the detail. */
static char *parsed(const char *text, size_t len)
{
	quota_doc *d = (quota_doc *)&d;
	char *out = NULL, buf[600];
	int rc = quota_doc_parse_json(text, len, &d);
	if (rc != QUOTA_OK) {
		if (d != NULL || rc != QUOTA_ERR_PARSE)
			snprintf(buf, sizeof buf, "BAD: %s, output %s", quota_strerror(rc),
				 d ? "set" : "NULL");
		else
			snprintf(buf, sizeof buf, "ERR: %s", quota_last_error());
		return strdup(buf);
	}
	rc = quota_doc_to_json(d, &out, NULL);
	quota_doc_unref(d);
	char *copy = strdup(rc == QUOTA_OK ? out : "BAD: no JSON form");
	quota_free(out);
	return copy;
}

/* Each text with what it reads as (its compact JSON) or the error detail's
 * fragment (after "ERR: "). */
static const struct {
	const char *text, *want;
} cases[] = {
	/* values and whitespace */
	{"null", "null"},
	{"true", "true"},
	{"false", "false"},
	{" \t\r\n1 \t\r\n", "1"},
	{"\"\"", "\"\""},
	{"[]", "[]"},
	{"{}", "{}"},
	{"[ ]", "[]"},
	{"{ }", "{}"},
	{"[1,[2,[3]],{\"a\":{}}]", "[1,[2,[3]],{\"a\":{}}]"},
	{"{ \"a\" : 1 , \"b\" : [ true , null ] }", "{\"a\":1,\"b\":[true,null]}"},
	{"", "ERR: JSON: no value at line 1, column 1 (byte 0)"},
	{" \n ", "ERR: JSON: no value at line 2, column 2 (byte 3)"},
	{"\f1", "ERR: syntax error: expected a value at line 1, column 1"},
	{"\v1", "ERR: expected a value"},
	{"1\f", "ERR: text after the value at line 1, column 2"},
	{"1 2", "ERR: text after the value at line 1, column 3 (byte 2)"},
	{"[1]]", "ERR: text after the value at line 1, column 4"},
	{"nul", "ERR: expected a value at line 1, column 1"},
	{"nulll", "ERR: text after the value at line 1, column 5"},
	{"True", "ERR: expected a value"},
	{"'a'", "ERR: expected a value"},
	{"[1,]", "ERR: expected a value at line 1, column 4"},
	{"[,1]", "ERR: expected a value at line 1, column 2"},
	{"[1 2]", "ERR: expected ',' or ']' at line 1, column 4"},
	{"[1", "ERR: the text ends early at line 1, column 3"},
	{"[", "ERR: the text ends early"},
	{"{\"a\":1,}", "ERR: expected a string key at line 1, column 8"},
	{"{\"a\" 1}", "ERR: expected ':' at line 1, column 6"},
	{"{\"a\":}", "ERR: expected a value at line 1, column 6"},
	{"{1:2}", "ERR: expected a string key at line 1, column 2"},
	{"{\"a\":1 \"b\":2}", "ERR: expected ',' or '}' at line 1, column 8"},
	{"{\"a\":1", "ERR: the text ends early"},
	{"]", "ERR: expected a value"},
	{"[1}", "ERR: expected ',' or ']'"},
	{"{\"a\":1]", "ERR: expected ',' or '}'"},
	{"[1,\n 2,,]", "ERR: expected a value at line 2, column 4 (byte 7)"},
	{"1\0", "ERR: text after the value"}, /* (the length counts the NUL) */
	/* numbers */
	{"0", "0"},
	{"-0", "0"},
	{"-0.0", "-0.0"},
	{"0e0", "0.0"},
	{"1E+2", "100.0"},
	{"1e-2", "0.01"},
	{"2.5", "2.5"},
	{"9223372036854775807", "9223372036854775807"},
	{"9223372036854775808", "9.223372036854776e+18"},
	{"-9223372036854775808", "-9223372036854775808"},
	{"-9223372036854775809", "-9.223372036854776e+18"},
	{"18446744073709551616", "1.8446744073709552e+19"},
	{"100000000000000000000000000000", "1e+29"},
	{"1.7976931348623157e308", "1.7976931348623157e+308"},
	{"1e400", "ERR: number out of the range of a double at line 1, column 1"},
	{"-1e400", "ERR: out of the range"},
	{"[1,\n 1e309]", "ERR: out of the range of a double at line 2, column 2"},
	{"1.5e-400", "0.0"},
	{"-1.5e-400", "-0.0"},
	{"5e-324", "5e-324"},
	{"01", "ERR: malformed number at line 1, column 1"},
	{"-01", "ERR: malformed number"},
	{"00", "ERR: malformed number"},
	{"1.", "ERR: malformed number"},
	{"1.e2", "ERR: malformed number"},
	{".5", "ERR: expected a value"},
	{"-", "ERR: malformed number"},
	{"-a", "ERR: malformed number"},
	{"-.5", "ERR: malformed number"},
	{"+1", "ERR: expected a value"},
	{"1e", "ERR: malformed number"},
	{"1e+", "ERR: malformed number"},
	{"1E-x", "ERR: malformed number"},
	{"0x10", "ERR: text after the value at line 1, column 2"},
	{"Infinity", "ERR: expected a value"},
	{"NaN", "ERR: expected a value"},
	{"1.5.5", "ERR: text after the value"},
	/* strings and escapes */
	{"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\\"\\\\/\\b\\f\\n\\r\\t\""},
	{"\"\\u0041\\u00e9\\u20AC\"", "\"A\xC3\xA9\xE2\x82\xAC\""},
	{"\"\\ud83d\\ude00\"", "\"\xF0\x9F\x98\x80\""},
	{"\"\\uDBFF\\uDFFF\"", "\"\xF4\x8F\xBF\xBF\""},
	{"\"a\\u0000b\"", "\"a\\u0000b\""},
	{"\"\\u001f\"", "\"\\u001f\""},
	{"\"\x7f\"", "\"\x7f\""},
	{"\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"", "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\""},
	{"\"abcdefghijklmnopqrstuvwxyz\\n0123456789\"",
	 "\"abcdefghijklmnopqrstuvwxyz\\n0123456789\""},
	{"\"\\ud800\"", "ERR: invalid escape in a string at line 1, column 2"},
	{"\"\\udc00\"", "ERR: invalid escape"},
	{"\"\\ud800\\u0041\"", "ERR: invalid escape"},
	{"\"\\ud800\\ud800\"", "ERR: invalid escape"},
	{"\"\\ud800x\"", "ERR: invalid escape"},
	{"\"\\u12\"", "ERR: invalid escape"},
	{"\"\\u12g4\"", "ERR: invalid escape"},
	{"\"\\x\"", "ERR: invalid escape in a string at line 1, column 2"},
	{"\"\\U0041\"", "ERR: invalid escape"},
	{"\"\\'\"", "ERR: invalid escape"},
	{"\"\\", "ERR: invalid escape"},
	{"\"abc", "ERR: unterminated string at line 1, column 5"},
	{"\"abcdefghijklmnop", "ERR: unterminated string"},
	{"\"a\tb\"", "ERR: control character in a string at line 1, column 3"},
	{"\"a\nb\"", "ERR: control character in a string"},
	{"\"abcdefghij\x01\"", "ERR: control character in a string at line 1, column 12"},
	{"\"\xC3\"", "ERR: invalid UTF-8 at line 1, column 2"},
	{"\"\xC0\xAF\"", "ERR: invalid UTF-8"},         /* overlong '/' */
	{"\"\xE0\x80\xAF\"", "ERR: invalid UTF-8"},     /* overlong */
	{"\"\xF0\x80\x80\xAF\"", "ERR: invalid UTF-8"}, /* overlong */
	{"\"\xED\xA0\x80\"", "ERR: invalid UTF-8"},     /* U+D800 */
	{"\"\xED\xBF\xBF\"", "ERR: invalid UTF-8"},     /* U+DFFF */
	{"\"\xF4\x90\x80\x80\"", "ERR: invalid UTF-8"}, /* U+110000 */
	{"\"\xF5\x80\x80\x80\"", "ERR: invalid UTF-8"},
	{"\"\xFF\"", "ERR: invalid UTF-8"},
	{"\"\x80\"", "ERR: invalid UTF-8"},
	{"\"\xE2\x82\"", "ERR: invalid UTF-8"},     /* truncated */
	{"\"\xF0\x9F\x98\"", "ERR: invalid UTF-8"}, /* truncated */
	{"\"abcdefgh\xE2\x82", "ERR: invalid UTF-8 at line 1, column 10"},
	{"\"\xC3\xA9\xC3\"", "ERR: invalid UTF-8 at line 1, column 3 (byte 3)"},
	{"\xEF\xBB\xBF {}", "{}"}, /* a byte order mark, first only */
	{" \xEF\xBB\xBF{}", "ERR: expected a value at line 1, column 2"},
	{"[\xEF\xBB\xBF]", "ERR: expected a value"},
	/* repeated keys: the last value, at the first place */
	{"{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":3,\"b\":2}"},
	{"{\"a\":1,\"a\":{\"x\":[]},\"a\":null}", "{\"a\":null}"},
	{"{\"\":1,\"\\u0061\":2,\"a\":3}", "{\"\":1,\"a\":3}"},
	{"{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,"
	 "\"k9\":9,\"k1\":10,\"k9\":11}",
	 "{\"k0\":0,\"k1\":10,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,"
	 "\"k9\":11}"},
};

static void test_table(void)
{
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const char *text = cases[k].text, *want = cases[k].want;
		size_t len = strlen(text);
		if (strcmp(text, "1") == 0)
			len = 2; /* "1\0" */
		char *got = parsed(text, len);
		int ok = strncmp(want, "ERR: ", 5) == 0
				 ? strncmp(got, "ERR: ", 5) == 0 && strstr(got, want + 5) != NULL
				 : strcmp(got, want) == 0;
		if (!ok)
			check_fail_(__FILE__, __LINE__, "parse %s: got %s, want %s", text, got,
				    want);
		free(got);
	}
	/* ints stay ints, the rest doubles */
	quota_doc *d = NULL;
	CHECK_RC(quota_doc_parse_json("[-0, 1.0, 1e0, 9223372036854775808]", 35, &d), QUOTA_OK);
	static const int types[] = {QUOTA_DOC_INT, QUOTA_DOC_DOUBLE, QUOTA_DOC_DOUBLE,
				    QUOTA_DOC_DOUBLE};
	for (size_t i = 0; i < 4; i++) {
		const quota_doc *item = NULL;
		CHECK_RC(quota_doc_list_at(d, i, &item), QUOTA_OK);
		CHECK_EQ_INT(quota_doc_get_type(item), types[i]);
	}
	quota_doc_unref(d);
	/* a NUL inside a string counts */
	const char *s;
	size_t n;
	CHECK_RC(quota_doc_parse_json("\"a\\u0000b\"", 10, &d), QUOTA_OK);
	CHECK_RC(quota_doc_get_string(d, &s, &n), QUOTA_OK);
	CHECK_EQ_INT(n, 3);
	CHECK(memcmp(s, "a\0b", 4) == 0);
	quota_doc_unref(d);
	/* the text need not end after a number */
	CHECK_RC(quota_doc_parse_json("1.25e1xyz", 6, &d), QUOTA_OK);
	double x = 0;
	CHECK_RC(quota_doc_get_double(d, &x), QUOTA_OK);
	CHECK(x == 12.5);
	quota_doc_unref(d);
	/* a number longer than any buffer of the reader's own */
	char big[700];
	memset(big, '1', 600);
	memcpy(big + 600, ".5e-590", 8);
	CHECK_RC(quota_doc_parse_json(big, strlen(big), &d), QUOTA_OK);
	CHECK_RC(quota_doc_get_double(d, &x), QUOTA_OK);
	CHECK(x > 1.1e9 && x < 1.2e9);
	quota_doc_unref(d);
}

/* 64 levels parse, 65 do not, and very deep input fails without
 * recursing that deep. */
static void test_depth(void)
{
	static char deep[200002];
	static const int depths[] = {1, 63, 64, 65, 100000};
	for (size_t k = 0; k < sizeof depths / sizeof depths[0]; k++) {
		int depth = depths[k];
		for (int map = 0; map < 2; map++) {
			size_t len = 0;
			for (int i = 0; i < depth; i++) {
				if (map)
					deep[len++] = '{', deep[len++] = '"', deep[len++] = '"',
					deep[len++] = ':';
				else
					deep[len++] = '[';
				if (len > sizeof deep - 8)
					break;
			}
			deep[len++] = '0';
			for (int i = 0; i < depth && len < sizeof deep - 1; i++)
				deep[len++] = map ? '}' : ']';
			quota_doc *d = NULL;
			int rc = quota_doc_parse_json(deep, len, &d);
			CHECK_RC(rc, depth <= QUOTA_DOC_MAX_DEPTH ? QUOTA_OK : QUOTA_ERR_PARSE);
			if (rc == QUOTA_OK)
				quota_doc_unref(d);
			else
				CHECK(strstr(quota_last_error(), "nesting deeper than 64 levels"));
		}
	}
	/* the error is at the bracket that is one too deep */
	memset(deep, '[', 65);
	char *got = parsed(deep, 65);
	CHECK(strstr(got, "line 1, column 65 (byte 64)"));
	free(got);
}

/* The decimal point is '.' whatever the thread's or program's locale. */
static void test_locale(void)
{
	static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
					    "ru_RU.UTF-8"};
	locale_t comma = (locale_t)0;
	for (size_t k = 0; k < 4 && !comma; k++)
		comma = newlocale(LC_NUMERIC_MASK, names[k], (locale_t)0);
	if (!comma) {
		printf("   (no comma-decimal locale installed: locale check skipped)\n");
		return;
	}
	locale_t old = uselocale(comma);
	CHECK(strcmp(localeconv()->decimal_point, ",") == 0);
	char *got = parsed("[1.5, 2.5e3, 0.125]", 19);
	CHECK_STR_EQ(got, "[1.5,2500.0,0.125]");
	free(got);
	uselocale(old);
	freelocale(comma);
}

static int op_parse(void *arg)
{
	const char *json = arg;
	quota_doc *d = NULL;
	int rc = quota_doc_parse_json(json, strlen(json), &d);
	quota_doc_unref(d);
	return rc;
}

/* Every allocation of a parse may fail: QUOTA_ERR_NOMEM, nothing left. */
static void test_allocation_failures(void)
{
	static char json[4000];
	struct counting c;
	size_t n = (size_t)
		snprintf(json, sizeof json,
			 "{\"a\":[1,2.5,\"thr\\u00e9e\",{\"four\":null}],\"b\":{\"c\":true},"
			 "\"long\":1%s5,",
			 "0.00000000000000000000000000000000000000000000000000000000000000"
			 "000000000000000");
	for (int k = 0; k < 12; k++)
		n += (size_t)snprintf(json + n, sizeof json - n, "\"k%d\":%d,\"k%d\":[],", k, k, k);
	/* more members than the reader's first stack holds */
	n += (size_t)snprintf(json + n, sizeof json - n, "\"l\":[");
	for (int k = 0; k < 300; k++)
		n += (size_t)snprintf(json + n, sizeof json - n, "%s%d", k ? "," : "", k);
	snprintf(json + n, sizeof json - n, "]}");
	if (counting_install(&c) != QUOTA_OK) {
		CHECK(0);
		return;
	}
	FAULT_SWEEP(&c, op_parse, json);
	/* and a failing parse frees what it built */
	json[strlen(json) - 2] = ',';
	CHECK_RC(op_parse(json), QUOTA_ERR_PARSE);
	CHECK_EQ_INT(live(&c), 0);
	quota_set_allocator(NULL);
}

/* ---- the differential check ------------------------------------------------ */

/*
 * What the reader did when it went through cJSON: the text had to be valid
 * UTF-8 without raw control characters in strings, cJSON had to accept it
 * whole (up to whitespace; cJSON also skips other bytes below 0x21, which
 * JSON does not allow), numbers had to follow JSON's grammar (cJSON
 * takes "01" and "1."), \u escapes of surrogates had to pair, and nesting
 * had to stay within 64. Its document is built here through the public
 * calls, strings and numbers read from the text as the reader did.
 */
typedef struct ref {
	const char *t;
	size_t len, pos;
	int long_number; /* cJSON cut numbers at 63 characters */
} ref;

static size_t ref_string_end(const ref *r, size_t i)
{
	for (i++; i < r->len && r->t[i] != '"'; i++)
		if (r->t[i] == '\\')
			i++;
	return i + 1;
}

static int ref_token(ref *r, size_t *start, size_t *end)
{
	for (; r->pos < r->len; r->pos++) {
		char c = r->t[r->pos];
		if (c == '"' || c == '-' || (c >= '0' && c <= '9')) {
			*start = r->pos;
			if (c == '"')
				r->pos = ref_string_end(r, r->pos);
			else
				while (r->pos < r->len && r->t[r->pos] &&
				       strchr("0123456789+-.eE", r->t[r->pos]))
					r->pos++;
			*end = r->pos;
			return 1;
		}
	}
	return 0;
}

static int ref_hex4(const char *s, unsigned long *v)
{
	char buf[5], *end;
	memcpy(buf, s, 4);
	buf[4] = '\0';
	if (strspn(buf, "0123456789abcdefABCDEF") != 4)
		return -1;
	*v = strtoul(buf, &end, 16);
	return 0;
}

static size_t ref_utf8(unsigned long cp, char *out)
{
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	if (cp < 0x80)
		return out[0] = (char)cp, 1;
	if (cp < 0x800)
		return out[0] = (char)(0xC0 | cp >> 6), out[1] = (char)(0x80 | (cp & 63)), 2;
	if (cp < 0x10000)
		return out[0] = (char)(0xE0 | cp >> 12), out[1] = (char)(0x80 | (cp >> 6 & 63)),
		       out[2] = (char)(0x80 | (cp & 63)), 3;
	return out[0] = (char)(0xF0 | cp >> 18), out[1] = (char)(0x80 | (cp >> 12 & 63)),
	       out[2] = (char)(0x80 | (cp >> 6 & 63)), out[3] = (char)(0x80 | (cp & 63)), 4;
}

static quota_doc *ref_string(ref *r)
{
	size_t start, end;
	if (!ref_token(r, &start, &end) || r->t[start] != '"')
		return NULL;
	char *buf = malloc(end - start + 1);
	size_t n = 0;
	for (size_t i = start + 1; i < end - 1;) {
		if (r->t[i] != '\\') {
			buf[n++] = r->t[i++];
			continue;
		}
		const char *simple = strchr("\"\"\\\\//b\bf\fn\nr\rt\t", r->t[i + 1]);
		unsigned long cp, low;
		if (r->t[i + 1] != 'u' && simple &&
		    (simple - "\"\"\\\\//b\bf\fn\nr\rt\t") % 2 == 0) {
			buf[n++] = simple[1];
			i += 2;
			continue;
		}
		size_t k = 0;
		if (r->t[i + 1] == 'u' && i + 6 <= end - 1 && ref_hex4(r->t + i + 2, &cp) == 0) {
			i += 6;
			if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= end - 1 && r->t[i] == '\\' &&
			    r->t[i + 1] == 'u' && ref_hex4(r->t + i + 2, &low) == 0 &&
			    low >= 0xDC00 && low <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
				i += 6;
			}
			k = ref_utf8(cp, buf + n);
		}
		if (k == 0) {
			free(buf);
			return NULL;
		}
		n += k;
	}
	quota_doc *d = NULL;
	quota_doc_new_string(buf, n, &d);
	free(buf);
	return d;
}

static int ref_number_ok(const char *s, size_t n, int *is_int)
{
	size_t i = s[0] == '-';
	*is_int = 1;
	/* (the old reader forgot the digit after '-' and took "-.5") */
	if (i >= n || s[i] < '0' || s[i] > '9' ||
	    (s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9'))
		return 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i < n && s[i] == '.') {
		size_t digits = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == digits)
			return 0;
		*is_int = 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t digits = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == digits)
			return 0;
		*is_int = 0;
	}
	return i == n;
}

static quota_doc *ref_convert(ref *r, const cJSON *j, int depth)
{
	quota_doc *d = NULL;
	if (cJSON_IsNull(j))
		quota_doc_new_null(&d);
	else if (cJSON_IsBool(j))
		quota_doc_new_bool(cJSON_IsTrue(j), &d);
	else if (cJSON_IsString(j))
		d = ref_string(r);
	else if (cJSON_IsNumber(j)) {
		size_t start, end;
		int is_int;
		if (!ref_token(r, &start, &end) ||
		    !ref_number_ok(r->t + start, end - start, &is_int))
			return NULL;
		char buf[64];
		long long v = 0;
		if (is_int && end - start < sizeof buf) {
			memcpy(buf, r->t + start, end - start);
			buf[end - start] = '\0';
			errno = 0;
			v = strtoll(buf, NULL, 10);
		}
		if (is_int && end - start < sizeof buf && errno == 0)
			quota_doc_new_int(v, &d);
		else if (j->valuedouble - j->valuedouble == 0)
			quota_doc_new_double(j->valuedouble, &d);
	} else if (depth <= QUOTA_DOC_MAX_DEPTH) {
		int is_map = cJSON_IsObject(j);
		is_map ? quota_doc_new_map(&d) : quota_doc_new_list(&d);
		for (const cJSON *c = j->child; c && d; c = c->next) {
			quota_doc *key = is_map ? ref_string(r) : NULL, *item = NULL;
			if (!is_map || key)
				item = ref_convert(r, c, depth + 1);
			if (!item || (is_map && !key)) {
				quota_doc_unref(key);
				quota_doc_unref(item);
				quota_doc_unref(d);
				return NULL;
			}
			if (is_map) {
				const char *k;
				size_t kn;
				quota_doc_get_string(key, &k, &kn);
				quota_doc_map_set(d, k, kn, item);
				quota_doc_unref(key);
			} else {
				quota_doc_list_append(d, item);
			}
		}
	}
	return d;
}

/* The old reader's verdict: its document as JSON, or "ERR". */
static char *ref_parse(const char *t, size_t len, int *long_number)
{
	quota_doc *probe = NULL;
	*long_number = 0;
	if (quota_doc_new_string(t, len, &probe) != QUOTA_OK)
		return strdup("ERR"); /* invalid UTF-8 */
	quota_doc_unref(probe);
	ref r = {t, len, 0, 0};
	for (size_t i = 0; i < len; i++) {
		if (t[i] == '"') {
			size_t end = ref_string_end(&r, i);
			for (size_t k = i + 1; k < end - 1 && k < len; k++)
				if ((unsigned char)t[k] < 0x20)
					return strdup("ERR");
			i = end - 1;
		} else if ((unsigned char)t[i] < 0x20 && (!t[i] || !strchr(" \t\r\n", t[i]))) {
			return strdup("ERR"); /* cJSON took every byte below 0x21 for space */
		} else if ((t[i] >= '0' && t[i] <= '9') || t[i] == '-') {
			size_t k = i;
			while (k < len && strchr("0123456789+-.eE", t[k]) && t[k])
				k++;
			*long_number |= k - i > 63;
			i = k - 1;
		}
	}
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(t, len, &end, 0);
	if (!j)
		return strdup("ERR");
	size_t tail = (size_t)(end - t);
	while (tail < len && t[tail] && strchr(" \t\r\n", t[tail]))
		tail++;
	quota_doc *d = tail < len ? NULL : ref_convert(&r, j, 1);
	cJSON_Delete(j);
	char *out = NULL;
	if (!d || quota_doc_to_json(d, &out, NULL) != QUOTA_OK) {
		quota_doc_unref(d);
		return strdup("ERR");
	}
	quota_doc_unref(d);
	char *copy = strdup(out);
	quota_free(out);
	return copy;
}

static long differences;

static void differential(const char *t, size_t len)
{
	int long_number;
	char *want = ref_parse(t, len, &long_number), *got = parsed(t, len);
	int same = strcmp(want, "ERR") == 0 ? strncmp(got, "ERR: ", 5) == 0
					    : strcmp(want, got) == 0;
	/* numbers of 64 characters and more were cJSON's limit, not JSON's */
	if (!same && long_number && strcmp(want, "ERR") == 0 && strncmp(got, "ERR", 3) != 0)
		same = 1;
	if (!same && differences++ < 5)
		check_fail_(__FILE__, __LINE__, "differs on %.*s: parse %s, cJSON %s", (int)len, t,
			    got, want);
	free(want);
	free(got);
}

static uint64_t rng = 88172645463325252u;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A mutation of text: bytes changed, inserted, removed, the text cut. */
static size_t mutate(const char *in, size_t n, char *out, size_t cap)
{
	static const char *const pieces[] = {"\"",
					     "\\",
					     "\\u",
					     "\\ud83d",
					     "\\ude00",
					     "\\u0000",
					     "[",
					     "]",
					     "{",
					     "}",
					     ",",
					     ":",
					     "-",
					     "0",
					     "1e400",
					     "9223372036854775808",
					     ".",
					     "e",
					     "E+",
					     " ",
					     "\n",
					     "\t",
					     "\x01",
					     "\xC3",
					     "\xC3\xA9",
					     "\xED\xA0\x80",
					     "\xF4\x90\x80\x80",
					     "\xFF",
					     "true",
					     "nul",
					     "null",
					     "\"a\":1",
					     "\"a\":2"};
	size_t len = n < cap ? n : cap;
	memcpy(out, in, len);
	for (int edits = 1 + (int)(next() % 4); edits > 0 && len > 0; edits--) {
		size_t at = next() % len;
		switch (next() % 4) {
		case 0: out[at] = (char)next(); break;
		case 1: {
			const char *p = pieces[next() % (sizeof pieces / sizeof pieces[0])];
			size_t pn = strlen(p);
			if (len + pn <= cap) {
				memmove(out + at + pn, out + at, len - at);
				memcpy(out + at, p, pn);
				len += pn;
			}
			break;
		}
		case 2: {
			size_t cut = 1 + next() % 8;
			cut = cut < len - at ? cut : len - at;
			memmove(out + at, out + at + cut, len - at - cut);
			len -= cut;
			break;
		}
		default: len = at; break;
		}
	}
	return len;
}

static char *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	*n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

static void test_differential(void)
{
	static const char *const seeds[] = {
		"{\"a\":[1,-2,3.5,\"x\\n\\u00e9\",true,null,{}],\"b\":{\"c\":1e-3,\"d\":[[]]}}",
		"[\"\\ud83d\\ude00\",\"\xC3\xA9\",0,-0,12345678901234567890,1.5e300]",
		"{\"k\":1,\"k\":2,\"l\":{\"k\":3}}",
	};
	char *files[16] = {0};
	size_t sizes[16] = {0}, nfiles = 0;
	DIR *dp = opendir(SOURCE_ROOT "/tests/fuzz/corpus/json-load");
	for (struct dirent *de; dp && (de = readdir(dp)) && nfiles < 13;) {
		char path[4096];
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", SOURCE_ROOT "/tests/fuzz/corpus/json-load",
			 de->d_name);
		if ((files[nfiles] = read_all(path, &sizes[nfiles])))
			nfiles++;
	}
	if (dp)
		closedir(dp);
	CHECK(nfiles >= 5);
	for (size_t k = 0; k < 3; k++) {
		sizes[nfiles] = strlen(seeds[k]);
		files[nfiles++] = strdup(seeds[k]);
	}
	for (size_t k = 0; k < nfiles; k++)
		differential(files[k], sizes[k]);
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
		differential(cases[k].text, strlen(cases[k].text));
	static char buf[1 << 16];
	long runs = getenv("QUOTA_DIFF_RUNS") ? atol(getenv("QUOTA_DIFF_RUNS")) : 20000;
	for (long i = 0; i < runs; i++) {
		size_t k = next() % nfiles;
		size_t n = mutate(files[k], sizes[k], buf, sizeof buf);
		differential(buf, n);
	}
	for (size_t k = 0; k < nfiles; k++)
		free(files[k]);
	CHECK_EQ_INT(differences, 0);
}

int main(void)
{
	RUN(test_table);
	RUN(test_depth);
	RUN(test_locale);
	RUN(test_allocation_failures);
	RUN(test_differential);
	return check_exit();
}
