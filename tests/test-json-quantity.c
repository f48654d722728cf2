/*
 * quota_quantity_parse(): Kubernetes quantities to base units, exactly,
 * with the three roundings; syntax errors, range errors, bad arguments.
 * Needs no cJSON.
 *
 * SPDX-License-Identifier: MIT
 */
#include <quota/quota.h>

#include "check.h"

#define OK_ QUOTA_OK
#define PARSE QUOTA_ERR_PARSE
#define INVAL QUOTA_ERR_INVALID
#define OVER QUOTA_ERR_OVERFLOW
#define UP QUOTA_ROUND_UP
#define DOWN QUOTA_ROUND_DOWN
#define EXACT QUOTA_ROUND_EXACT

static const struct {
	const char *text;
	int64_t factor;
	int32_t rounding;
	int rc;
	int64_t want;
} cases[] = {
	/* plain numbers */
	{"8", 1, EXACT, OK_, 8},
	{"0", 1, EXACT, OK_, 0},
	{"000012", 1, EXACT, OK_, 12},
	{"+5", 1, EXACT, OK_, 5},
	{"5.", 1, EXACT, OK_, 5},
	{"-1", 1, EXACT, OK_, -1},
	{"9223372036854775807", 1, EXACT, OK_, INT64_MAX},
	{"-9223372036854775808", 1, EXACT, OK_, INT64_MIN},
	/* decimal suffixes */
	{"1k", 1, EXACT, OK_, 1000},
	{"1M", 1, EXACT, OK_, 1000000},
	{"1G", 1, EXACT, OK_, 1000000000},
	{"1T", 1, EXACT, OK_, INT64_C(1000000000000)},
	{"1P", 1, EXACT, OK_, INT64_C(1000000000000000)},
	{"1E", 1, EXACT, OK_, INT64_C(1000000000000000000)},
	{"9E", 1, EXACT, OK_, INT64_C(9000000000000000000)},
	{"500m", 1000, EXACT, OK_, 500},
	{"1m", 1000, EXACT, OK_, 1},
	{"1u", 1000000, EXACT, OK_, 1},
	{"1n", 1, UP, OK_, 1},
	{"1n", 1, DOWN, OK_, 0},
	/* binary suffixes, and the older design's spelling */
	{"2Ki", 1, EXACT, OK_, 2048},
	{"1Mi", 1, EXACT, OK_, 1048576},
	{"32Gi", 1, EXACT, OK_, INT64_C(34359738368)},
	{"32GiB", 1, EXACT, OK_, INT64_C(34359738368)},
	{"1Ti", 1, EXACT, OK_, INT64_C(1099511627776)},
	{"1Pi", 1, EXACT, OK_, INT64_C(1125899906842624)},
	{"1Ei", 1, EXACT, OK_, INT64_C(1152921504606846976)},
	{"7Ei", 1, EXACT, OK_, INT64_C(8070450532247928832)},
	{"1.25Ki", 1, EXACT, OK_, 1280},
	{"0.5Ki", 1, EXACT, OK_, 512},
	{"2Gi", 1000, EXACT, OK_, INT64_C(2147483648000)},
	/* exponents */
	{"1e3", 1, EXACT, OK_, 1000},
	{"1E3", 1, EXACT, OK_, 1000},
	{"12e2", 1, EXACT, OK_, 1200},
	{"1e+2", 1, EXACT, OK_, 100},
	{"1e-3", 1000, EXACT, OK_, 1},
	{"1e-3", 1, DOWN, OK_, 0},
	{"1e-400", 1, UP, OK_, 1},
	/* fractions and the conversion factor */
	{"1.5", 1000, EXACT, OK_, 1500},
	{"0.1", 10, EXACT, OK_, 1},
	{".5", 2, EXACT, OK_, 1},
	{"1.5", 1, UP, OK_, 2},
	{"1.5", 1, DOWN, OK_, 1},
	{"1.5", 1, EXACT, INVAL, 0},
	{"500m", 1, UP, OK_, 1},
	{"500m", 1, DOWN, OK_, 0},
	{"-1.5", 1, UP, OK_, -1},
	{"-1.5", 1, DOWN, OK_, -2},
	{"1.0000000001Gi", 1, UP, OK_, INT64_C(1073741825)},
	{"1.0000000001Gi", 1, DOWN, OK_, INT64_C(1073741824)},
	{"0.000000000000000000001", 1, UP, OK_, 1},
	{"0.000000000000000000001", 1, DOWN, OK_, 0},
	{"1.2300000000000000000000", 100, EXACT, OK_, 123}, /* zeros past 19 digits */
	{"1", INT64_MAX, EXACT, OK_, INT64_MAX},
	/* out of range */
	{"8Ei", 1, EXACT, OVER, 0},
	{"10E", 1, EXACT, OVER, 0},
	{"9223372036854775808", 1, EXACT, OVER, 0},
	{"-9223372036854775809", 1, EXACT, OVER, 0},
	{"100000000000000000000", 1, EXACT, OVER, 0},
	{"1e400", 1, EXACT, OVER, 0},
	{"2", INT64_MAX, EXACT, OVER, 0},
	{"16Ei", 1024, EXACT, OVER, 0},
	/* not quantities */
	{"", 1, EXACT, PARSE, 0},
	{"abc", 1, EXACT, PARSE, 0},
	{"1.2.3", 1, EXACT, PARSE, 0},
	{"1Kb", 1, EXACT, PARSE, 0},
	{"1ki", 1, EXACT, PARSE, 0},
	{"1 Gi", 1, EXACT, PARSE, 0},
	{" 1", 1, EXACT, PARSE, 0},
	{"Gi", 1, EXACT, PARSE, 0},
	{"1e", 1, EXACT, PARSE, 0},
	{"1e+", 1, EXACT, PARSE, 0},
	{"1e3Gi", 1, EXACT, PARSE, 0},
	{"--1", 1, EXACT, PARSE, 0},
	{"+", 1, EXACT, PARSE, 0},
	{".", 1, EXACT, PARSE, 0},
	{"0x10", 1, EXACT, PARSE, 0},
	{"1GB", 1, EXACT, PARSE, 0},
	{"12345678901234567891", 1, EXACT, PARSE, 0}, /* 20 significant digits */
	{"00000000000000000000000000000000000000000000000000000000000000001", 1, EXACT, PARSE, 0},
};

static void test_table(void)
{
	size_t n = sizeof cases / sizeof cases[0];
	CHECK(n >= 40);
	for (size_t i = 0; i < n; i++) {
		int64_t got = 12345;
		int rc = quota_quantity_parse(cases[i].text, strlen(cases[i].text), cases[i].factor,
					      cases[i].rounding, &got);
		if (rc != cases[i].rc)
			check_fail_(__FILE__, __LINE__,
				    "\"%s\" (factor %lld, rounding %d): %s, want %s", cases[i].text,
				    (long long)cases[i].factor, cases[i].rounding,
				    quota_strerror(rc), quota_strerror(cases[i].rc));
		else if (rc == QUOTA_OK && got != cases[i].want)
			check_fail_(__FILE__, __LINE__,
				    "\"%s\" (factor %lld, rounding %d): %lld, want %lld",
				    cases[i].text, (long long)cases[i].factor, cases[i].rounding,
				    (long long)got, (long long)cases[i].want);
		else if (rc != QUOTA_OK && got != 0)
			check_fail_(__FILE__, __LINE__, "\"%s\": failed but left %lld in out",
				    cases[i].text, (long long)got);
	}
}

static void test_messages(void)
{
	int64_t v;
	CHECK_RC(quota_quantity_parse("12x", 3, 1, UP, &v), PARSE);
	CHECK(strstr(quota_last_error(), "\"12x\"") && strstr(quota_last_error(), "byte 2"));
	CHECK_RC(quota_quantity_parse("0.5", 3, 1, EXACT, &v), INVAL);
	CHECK(strstr(quota_last_error(), "whole number"));
	CHECK_RC(quota_quantity_parse("8Ei", 3, 1, EXACT, &v), OVER);
	CHECK(strstr(quota_last_error(), "int64"));
	/* the text need not end with NUL: only len bytes count */
	CHECK_RC(quota_quantity_parse("32Gi and more", 4, 1, EXACT, &v), OK_);
	CHECK_EQ_INT(v, INT64_C(34359738368));
}

static void test_arguments(void)
{
	int64_t v;
	CHECK_RC(quota_quantity_parse("1", 1, 1, EXACT, NULL), INVAL);
	CHECK_RC(quota_quantity_parse(NULL, 2, 1, EXACT, &v), INVAL);
	CHECK_RC(quota_quantity_parse(NULL, 0, 1, EXACT, &v), PARSE); /* empty */
	CHECK_RC(quota_quantity_parse("1", 1, 0, EXACT, &v), INVAL);
	CHECK_ERR_MENTIONS("factor");
	CHECK_RC(quota_quantity_parse("1", 1, -5, EXACT, &v), INVAL);
	CHECK_RC(quota_quantity_parse("1", 1, 1, 3, &v), INVAL);
	CHECK_ERR_MENTIONS("rounding");
	CHECK_RC(quota_quantity_parse("1", 1, 1, -1, &v), INVAL);
}

int main(void)
{
	RUN(test_table);
	RUN(test_messages);
	RUN(test_arguments);
	return check_exit();
}
