/*
 * expr.h: the expression language (literals, operators and precedence,
 * CEL's error absorption, fields), errors and their columns, limits, the
 * cost budget, argument checks and allocation failures. Functions and
 * macros are in test-expr-functions.c.
 *
 * SPDX-License-Identifier: MIT
 */
#include <quota/quota.h>

#include "alloc-hook.h"
#include "expr-util.h"

static void test_literals(void)
{
	static const struct ok_case ok[] = {
		{"null", "null"},
		{"true", "true"},
		{"false", "false"},
		{"0", "0"},
		{"42", "42"},
		{"0x1F", "31"},
		{"0XfF", "255"},
		{"9223372036854775807", "9223372036854775807"},
		{"-9223372036854775808", "-9223372036854775808"},
		{"0x7fffffffffffffff", "9223372036854775807"},
		{"-0x8000000000000000", "-9223372036854775808"},
		{"1.5", "1.5"},
		{".5", "0.5"},
		{"1e3", "1000.0"},
		{"2.5E-1", "0.25"},
		{"-1.5", "-1.5"},
		{"'single'", "\"single\""},
		{"\"double\"", "\"double\""},
		{"\"a\\nb\\tc\\\\d\\\"e\\'f\\rg\"", "\"a\\nb\\tc\\\\d\\\"e'f\\rg\""},
		{"'\\u00e9\\U0001F600'", "\"\xC3\xA9\xF0\x9F\x98\x80\""},
		{"'\\x41\\101\\a\\b\\f\\v\\?\\`'", "\"AA\\u0007\\b\\f\\u000b?`\""},
		{"r'\\d+\\n'", "\"\\\\d+\\\\n\""},
		{"R\"a\\\"", "\"a\\\\\""},
		{"'''one\ntwo's'''", "\"one\\ntwo's\""},
		{"\"\"\"x\"\"\"", "\"x\""},
		{"'\\u0000'", "\"\\u0000\""},
		{"[]", "[]"},
		{"[1, 'two', [3.0], {}]", "[1,\"two\",[3.0],{}]"},
		{"[1, 2,]", "[1,2]"},
		{"{'b': 1, 'a': [true]}", "{\"b\":1,\"a\":[true]}"},
		{"{'a': 1,}", "{\"a\":1}"},
		{"{}", "{}"},
		{" \t\n 1 \n", "1"},
	};
	static const struct error_case bad[] = {
		{"9223372036854775808", QUOTA_ERR_PARSE, "column 1: integer literal out of range"},
		{"-9223372036854775809", QUOTA_ERR_PARSE, "out of range"},
		{"0x10000000000000000", QUOTA_ERR_PARSE, "out of range"},
		{"0x", QUOTA_ERR_PARSE, "without digits"},
		{"1u", QUOTA_ERR_PARSE, "unsigned integers are not supported"},
		{"1e", QUOTA_ERR_PARSE, "exponent without digits"},
		{"12abc", QUOTA_ERR_PARSE, "malformed number"},
		{"b'bytes'", QUOTA_ERR_PARSE, "bytes literals are not supported"},
		{"'\\q'", QUOTA_ERR_PARSE, "column 2: unknown escape"},
		{"'\\u12'", QUOTA_ERR_PARSE, "malformed escape"},
		{"'\\uD800'", QUOTA_ERR_PARSE, "invalid code point"},
		{"'\\U00110000'", QUOTA_ERR_PARSE, "invalid code point"},
		{"'open", QUOTA_ERR_PARSE, "column 1: unterminated string"},
		{"'a\nb'", QUOTA_ERR_PARSE, "newline in a string"},
		{"'''never", QUOTA_ERR_PARSE, "unterminated string"},
		{"{1: 2}", QUOTA_ERR_PARSE, "column 2: map keys must be strings"},
		{"{'a': 1, 'a': 2}", QUOTA_ERR_PARSE, "column 10: duplicate key 'a'"},
		{"[1, 2", QUOTA_ERR_PARSE, "expected ',' or ']'"},
		{"[1,,2]", QUOTA_ERR_PARSE, "expected an expression"},
		{"", QUOTA_ERR_PARSE, "empty expression"},
		{"   ", QUOTA_ERR_PARSE, "empty expression"},
		{"1 2", QUOTA_ERR_PARSE, "column 3: expected an operator"},
		{"@", QUOTA_ERR_PARSE, "column 1: unexpected character"},
		{"1 # 2", QUOTA_ERR_PARSE, "column 3: unexpected character"},
		{"'\xC3\xA9' + \x01", QUOTA_ERR_PARSE, "column 7: control character"},
		{"'\xC3'", QUOTA_ERR_PARSE, "column 2: invalid UTF-8"},
		{"if", QUOTA_ERR_PARSE, "'if' is a reserved word"},
		{"1 + namespace", QUOTA_ERR_PARSE, "column 5: 'namespace' is a reserved word"},
		{"[1].map(var, var)", QUOTA_ERR_PARSE, "column 9: 'var' is a reserved word"},
		{".trigger", QUOTA_ERR_PARSE, "leading '.'"},
	};
	RUN_TABLES(ok, bad);
}

static void test_arithmetic(void)
{
	static const struct ok_case ok[] = {
		{"1 + 2", "3"},
		{"10 - 15", "-5"},
		{"6 * 7", "42"},
		{"7 / 2", "3"},
		{"-7 / 2", "-3"},
		{"7 % 3", "1"},
		{"-7 % 3", "-1"},
		{"7 % -3", "1"},
		{"1.5 + 2.25", "3.75"},
		{"1.0 - 0.5", "0.5"},
		{"1.5 * 2.0", "3.0"},
		{"1.0 / 4.0", "0.25"},
		{"1.0 / 0.0 > 1e308", "true"},
		{"-1.0 / 0.0 < -1e308", "true"},
		{"-trigger.spec.replicas", "-3"},
		{"-(-5)", "5"},
		{"- -5", "5"},
		{"-trigger.spec.ratio", "-0.5"},
		{"'ab' + 'cd' + ''", "\"abcd\""},
		{"[1] + [2, 3] + []", "[1,2,3]"},
		{"trigger.spec.tags + ['d']", "[\"a\",\"b\",\"c\",\"d\"]"},
		{"trigger.spec.big - 1", "9223372036854775806"},
		{"trigger.spec.small + 1", "-9223372036854775807"},
		{"trigger.spec.small / 1", "-9223372036854775808"},
		{"trigger.spec.small % 1", "0"},
		{"-9223372036854775807 - 1", "-9223372036854775808"},
	};
	static const struct error_case bad[] = {
		{"9223372036854775807 + 1", QUOTA_ERR_EVAL, "column 21: integer overflow in '+'"},
		{"trigger.spec.big + 1", QUOTA_ERR_EVAL, "integer overflow in '+'"},
		{"trigger.spec.small - 1", QUOTA_ERR_EVAL, "integer overflow in '-'"},
		{"trigger.spec.big * 2", QUOTA_ERR_EVAL, "integer overflow in '*'"},
		{"-trigger.spec.small", QUOTA_ERR_EVAL, "column 1: integer overflow in '-'"},
		{"-(-9223372036854775808)", QUOTA_ERR_EVAL, "integer overflow in '-'"},
		{"trigger.spec.small / -1", QUOTA_ERR_EVAL, "integer overflow in '/'"},
		{"trigger.spec.small % -1", QUOTA_ERR_EVAL, "integer overflow in '%'"},
		{"1 / 0", QUOTA_ERR_EVAL, "column 3: division by zero"},
		{"1 % 0", QUOTA_ERR_EVAL, "column 3: modulus by zero"},
		{"1 + 1.0", QUOTA_ERR_EVAL, "no operator '+' for int and double"},
		{"1.0 * 2", QUOTA_ERR_EVAL, "no operator '*' for double and int"},
		{"5.0 % 2.0", QUOTA_ERR_EVAL, "no operator '%' for double and double"},
		{"'a' + 1", QUOTA_ERR_EVAL, "no operator '+' for string and int"},
		{"'a' - 'b'", QUOTA_ERR_EVAL, "no operator '-' for string and string"},
		{"[1] + {}", QUOTA_ERR_EVAL, "no operator '+' for list and map"},
		{"null + null", QUOTA_ERR_EVAL, "for null and null"},
		{"-'a'", QUOTA_ERR_EVAL, "no operator '-' for string"},
		{"-true", QUOTA_ERR_EVAL, "for bool"},
		{"!1", QUOTA_ERR_EVAL, "'!' needs a bool, got int"},
	};
	RUN_TABLES(ok, bad);
}

static void test_comparison(void)
{
	static const struct ok_case ok[] = {
		{"1 < 2", "true"},
		{"2 <= 2", "true"},
		{"3 > 2", "true"},
		{"2 >= 3", "false"},
		{"1.5 < 2.5", "true"},
		{"1 < 1.5", "true"},
		{"2 > 1.5", "true"},
		{"1.5 >= 2", "false"},
		{"9223372036854775807 < 9223372036854775808.0", "true"},
		{"9007199254740993 > 9007199254740992.0", "true"},
		{"-1 > -1.5", "true"},
		{"'a' < 'b'", "true"},
		{"'ab' < 'a'", "false"},
		{"'' < 'a'", "true"},
		{"'z' > '\xC3\xA9'", "false"},
		{"false < true", "true"},
		{"true <= true", "true"},
		{"1 == 1", "true"},
		{"1 == 1.0", "true"},
		{"1.0 != 1", "false"},
		{"2 == 2.5", "false"},
		{"9007199254740993 == 9007199254740992.0", "false"},
		{"1 == '1'", "false"},
		{"null == false", "false"},
		{"null == null", "true"},
		{"null != 0", "true"},
		{"'abc' == 'abc'", "true"},
		{"[1, 2] == [1, 2]", "true"},
		{"[1, 2] == [2, 1]", "false"},
		{"[1, [2.0]] == [1.0, [2]]", "true"},
		{"[] == {}", "false"},
		{"{'a': 1, 'b': 2} == {'b': 2, 'a': 1}", "true"},
		{"{'a': 1} == {'a': 2}", "false"},
		{"{'a': 1} == {'b': 1}", "false"},
		{"trigger.spec.nums == [1, 2, 3, 4]", "true"},
		{"trigger.metadata.labels == {'tier': 'gold', 'team': 'core'}", "true"},
		{"1.0 / 0.0 == 1.0 / 0.0", "true"},
		{"double('nan') == double('nan')", "false"},
		{"double('nan') != double('nan')", "true"},
		{"double('nan') < 1.0", "false"},
		{"double('nan') >= 1", "false"},
		{"2 in [1, 2, 3]", "true"},
		{"2.0 in [1, 2, 3]", "true"},
		{"5 in [1, 2, 3]", "false"},
		{"'b' in trigger.spec.tags", "true"},
		{"[1] in [[1], [2]]", "true"},
		{"1 in []", "false"},
		{"'tier' in trigger.metadata.labels", "true"},
		{"'size' in trigger.metadata.labels", "false"},
		{"1 in {'1': 1}", "false"},
	};
	static const struct error_case bad[] = {
		{"1 < 'a'", QUOTA_ERR_EVAL, "column 3: no operator '<' for int and string"},
		{"null < null", QUOTA_ERR_EVAL, "no operator '<' for null and null"},
		{"[1] <= [2]", QUOTA_ERR_EVAL, "no operator '<=' for list and list"},
		{"true > 1", QUOTA_ERR_EVAL, "no operator '>' for bool and int"},
		{"double('nan') > 'a'", QUOTA_ERR_EVAL, "no operator '>' for double and string"},
		{"1 in 1", QUOTA_ERR_EVAL, "no operator 'in' for int and int"},
		{"'a' in 'abc'", QUOTA_ERR_EVAL, "no operator 'in' for string and string"},
	};
	RUN_TABLES(ok, bad);
}

static void test_precedence(void)
{
	static const struct ok_case ok[] = {
		{"1 + 2 * 3", "7"},
		{"(1 + 2) * 3", "9"},
		{"10 - 4 - 3", "3"},
		{"100 / 10 / 5", "2"},
		{"2 * 3 % 4", "2"},
		{"7 % 4 * 2", "6"},
		{"-2 * 3", "-6"},
		{"-(2 * 3) + 1", "-5"},
		{"1 + 2 == 3", "true"},
		{"1 < 2 == true", "true"},
		{"(2 > 1) == (1 > 2)", "false"},
		{"1 + 1 in [2]", "true"},
		{"!true || true", "true"},
		{"!(true || true)", "false"},
		{"!!true", "true"},
		{"true || false && false", "true"},
		{"false && true || true", "true"},
		{"(true || false) && false", "false"},
		{"1 < 2 && 2 < 3", "true"},
		{"true ? 1 : 2", "1"},
		{"false ? 1 : true ? 2 : 3", "2"},
		{"false ? 1 : false ? 2 : 3", "3"},
		{"true ? (false ? 1 : 2) : 3", "2"},
		{"false || true ? 'y' : 'n'", "\"y\""},
		{"1 + 1 == 2 ? 'two' : 'other'", "\"two\""},
		{"[1, 2][0] + {'a': 5}['a'] * 2", "11"},
		{"-trigger.spec.nums[1]", "-2"},
		{"!trigger.spec.on", "false"},
	};
	static const struct error_case bad[] = {
		{"1 ? 2 : 3", QUOTA_ERR_EVAL, "column 3: '?:' needs a bool condition, got int"},
		{"true ? 1", QUOTA_ERR_PARSE, "expected ':'"},
		{"true ? false ? 1 : 2 : 3", QUOTA_ERR_PARSE, "column 14: expected ':'"},
		{"(1 + 2", QUOTA_ERR_PARSE, "column 7: expected ')'"},
		{"1 +", QUOTA_ERR_PARSE, "column 4: expected an expression"},
		{"* 2", QUOTA_ERR_PARSE, "column 1: expected an expression, found '*'"},
		{"1 <", QUOTA_ERR_PARSE, "found the end of the expression"},
	};
	RUN_TABLES(ok, bad);
}

/* && and || as CEL defines them, with E an expression that fails. */
static void test_logic_truth_tables(void)
{
	static const struct {
		const char *name, *src;
	} operands[] = {{"T", "true"}, {"F", "false"}, {"E", "(1 / 0 == 1)"}, {"N", "1"}};
	/* rows: left operand T F E N; columns: right operand T F E N;
	 * t, f = result, e = evaluation error */
	static const char and_table[4][5] = {"tfee", "ffff", "efee", "efee"};
	static const char or_table[4][5] = {"tttt", "tfee", "teee", "teee"};
	for (int op = 0; op < 2; op++) {
		for (int l = 0; l < 4; l++) {
			for (int r = 0; r < 4; r++) {
				char src[128];
				char want = op == 0 ? and_table[l][r] : or_table[l][r];
				snprintf(src, sizeof src, "%s %s %s", operands[l].src,
					 op == 0 ? "&&" : "||", operands[r].src);
				if (want == 'e')
					CHECK_EVAL_ERROR(src, "column");
				else
					CHECK_EVAL(src, want == 't' ? "true" : "false");
			}
		}
	}
	/* both sides fail: the left error is the one reported */
	CHECK_EVAL_ERROR("(1 / 0 == 1) && (2 % 0 == 1)", "column 4: division by zero");
	CHECK_EVAL_ERROR("(1 % 0 == 1) || (2 / 0 == 1)", "column 4: modulus by zero");
	/* the right side's own error when the left is the neutral value */
	CHECK_EVAL_ERROR("true && trigger.nope", "column 17: no such key 'nope'");
	CHECK_EVAL_ERROR("false || 'x'", "column 10: '||' needs bool operands, got string");
	/* a long chain: one deciding operand anywhere absorbs every error */
	CHECK_EVAL("1/0 == 1 || 2/0 == 1 || trigger.x || true || 3/0 == 1", "true");
	CHECK_EVAL("1/0 == 1 && 2/0 == 1 && false && trigger.x", "false");
	CHECK_EVAL_ERROR("1/0 == 1 || false || false", "column 2: division by zero");
	/* ?: evaluates the branch it takes, and only that one */
	CHECK_EVAL("true ? 1 : 1 / 0", "1");
	CHECK_EVAL("false ? 1 / 0 : 2", "2");
	CHECK_EVAL_ERROR("true ? 1 / 0 : 2", "division by zero");

	/* short circuit: with a budget of exactly the left side and the
	 * operator, a right side that is never evaluated cannot exceed it */
	quota_expr_options o;
	quota_doc *d = NULL;
	quota_expr_options_init(&o, sizeof o);
	o.cost_limit = 2;
	CHECK_RC(run("false && [1, 2, 3].all(x, x > 0)", &o, &d), QUOTA_OK);
	CHECK_JSON(d, "false");
	quota_doc_unref(d);
	CHECK_RC(run("true || 1 + 2 + 3 == 6", &o, &d), QUOTA_OK);
	quota_doc_unref(d);
	CHECK_RC(run("true && 1 + 2 + 3 == 6", &o, &d), QUOTA_ERR_EVAL);
	CHECK_ERR_CONTAINS("cost budget of 2 steps exceeded");
}

static void test_fields(void)
{
	static const struct ok_case ok[] = {
		{"trigger.kind", "\"Project\""},
		{"trigger.metadata.labels.tier", "\"gold\""},
		{"trigger['metadata']['name']", "\"web-1\""},
		{"trigger.metadata.labels[trigger.spec.key]", "\"gold\""},
		{"trigger.spec.tags[2]", "\"c\""},
		{"trigger.spec.nested.x.y", "1"},
		{"trigger.metadata.namespace", "\"acme\""},
		{"{'if': 1}.if + {'while': 2}['while']", "3"},
		{"trigger.spec.none", "null"},
		{"user.groups[0]", "\"admins\""},
		{"{'a': {'b': [10, 20]}}.a.b[1]", "20"},
		{"[[1, 2], [3]][1][0]", "3"},
		{"has(trigger.spec)", "true"},
		{"has(trigger.spec.none)", "true"},
		{"has(trigger.nope)", "false"},
		{"has(trigger.metadata.labels.tier)", "true"},
		{"has(trigger.metadata.labels.zone)", "false"},
		{"has({'a': 1}.a)", "true"},
		{"!has(trigger.spec.nested.x.z) && has(trigger.spec.nested.x.y)", "true"},
	};
	static const struct error_case bad[] = {
		{"trigger.nope", QUOTA_ERR_EVAL, "column 9: no such key 'nope'"},
		{"trigger.metadata.labels.zone.x", QUOTA_ERR_EVAL, "column 25: no such key 'zone'"},
		{"trigger.kind.name", QUOTA_ERR_EVAL,
		 "column 14: cannot select field 'name' from string"},
		{"trigger['nope']", QUOTA_ERR_EVAL, "column 8: no such key 'nope'"},
		{"trigger.spec.tags[3]", QUOTA_ERR_EVAL,
		 "column 18: index 3 out of range (size 3)"},
		{"trigger.spec.tags[-1]", QUOTA_ERR_EVAL, "index -1 out of range"},
		{"trigger.spec.tags['0']", QUOTA_ERR_EVAL, "cannot index list with string"},
		{"trigger.spec.tags[1.0]", QUOTA_ERR_EVAL, "cannot index list with double"},
		{"trigger[0]", QUOTA_ERR_EVAL, "cannot index map with int"},
		{"'abc'[0]", QUOTA_ERR_EVAL, "cannot index string with int"},
		{"has(trigger.spec.tags.x)", QUOTA_ERR_EVAL,
		 "column 1: has() needs a map, got list"},
		{"has(trigger.nope.x)", QUOTA_ERR_EVAL, "no such key 'nope'"},
		{"has(trigger)", QUOTA_ERR_PARSE, "has() takes one field selection"},
		{"has(trigger['a'])", QUOTA_ERR_PARSE, "has() takes one field selection"},
		{"has(trigger.a, trigger.b)", QUOTA_ERR_PARSE, "has() takes one field selection"},
		{"trigger.has(a)", QUOTA_ERR_PARSE, "has() takes one field selection"},
		{"trigger.", QUOTA_ERR_PARSE, "expected a field name after '.'"},
		{"nobody", QUOTA_ERR_PARSE, "column 1: undeclared reference to 'nobody'"},
		{"trigger.kind + usr.name", QUOTA_ERR_PARSE,
		 "column 16: undeclared reference to 'usr'"},
		{"{'tier': 1, trigger.spec.key: 2}", QUOTA_ERR_EVAL,
		 "duplicate key 'tier' in a map"},
		{"{trigger.spec.replicas: 1}", QUOTA_ERR_EVAL, "map keys must be strings, got int"},
	};
	RUN_TABLES(ok, bad);
	/* non-constant lists and maps are built at evaluation */
	CHECK_EVAL("[trigger.kind, 1 + 1]", "[\"Project\",2]");
	CHECK_EVAL("{trigger.spec.key: trigger.metadata.labels.tier, 'n': null}",
		   "{\"tier\":\"gold\",\"n\":null}");
}

static void test_columns(void)
{
	CHECK_EVAL_ERROR("trigger.spec.nums[0] + trigger.spec.missing", "column 37: no such key");
	CHECK_EVAL_ERROR("'\xC3\xA9\xC3\xA9' + 1", "column 6: no operator '+'");
	CHECK_EVAL_ERROR("1 +\n  trigger.x", "line 2, column 11: no such key 'x'");
	CHECK_PARSE_ERROR("true &&\n\n   (", "line 3, column 5: expected an expression");
	CHECK_EVAL_ERROR("[1, 2].map(x,\n x / 0)", "line 2, column 4: division by zero");
}

static void test_limits(void)
{
	static char src[4096];
	quota_doc *d = NULL;

	/* 1024 bytes are accepted, 1025 are not */
	memset(src, ' ', 1023);
	src[1023] = '1';
	src[1024] = '\0';
	CHECK_RC(run(src, NULL, &d), QUOTA_OK);
	quota_doc_unref(d);
	src[1024] = ' ';
	src[1025] = '\0';
	CHECK_RC(run(src, NULL, &d), QUOTA_ERR_PARSE);
	CHECK_ERR_CONTAINS("column 1: expression is longer than 1024 bytes");

	/* 32 levels of anything nest fine */
	static const char *const openers[] = {"(", "[", "-", "!", "size(", "{'k': "};
	static const char *const closers[] = {")", "]", "", "", ")", "}"};
	for (size_t k = 0; k < 6; k++) {
		size_t n = 0;
		for (int i = 0; i < 32; i++)
			n += (size_t)snprintf(src + n, sizeof src - n, "%s", openers[k]);
		n += (size_t)snprintf(src + n, sizeof src - n,
				      k == 3   ? "true"
				      : k == 4 ? "[1]"
					       : "1");
		for (int i = 0; i < 32; i++)
			n += (size_t)snprintf(src + n, sizeof src - n, "%s", closers[k]);
		int rc = run(src, NULL, &d);
		if (k == 4)
			CHECK_RC(rc, QUOTA_ERR_EVAL); /* size(size([1])) is size(1) */
		else
			CHECK_RC(rc, QUOTA_OK);
		quota_doc_unref(d);
	}
	/* deeper nesting is refused with an error, never a crash */
	static const char *const deep[] = {"(", "[", "!", "-", "a.", "size(", "[1].map(x, "};
	for (size_t k = 0; k < sizeof deep / sizeof deep[0]; k++) {
		size_t n = 0, w = strlen(deep[k]);
		while (n + w < 1000) {
			memcpy(src + n, deep[k], w);
			n += w;
		}
		src[n] = '\0';
		CHECK_RC(run(src, NULL, &d), QUOTA_ERR_PARSE);
		CHECK_ERR_CONTAINS("nested deeper than 64 levels");
	}
	/* a long chain of member selections is as deep as it is long */
	size_t n = (size_t)snprintf(src, sizeof src, "trigger");
	for (int i = 0; i < 70; i++)
		n += (size_t)snprintf(src + n, sizeof src - n, ".a");
	CHECK_RC(run(src, NULL, &d), QUOTA_ERR_PARSE);
	CHECK_ERR_CONTAINS("nested deeper than 64 levels");
	/* but long && and || chains are balanced, not nested */
	n = (size_t)snprintf(src, sizeof src, "false");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(src + n, sizeof src - n, " || %s",
				      i == 99 ? "true" : "false");
	CHECK_RC(run(src, NULL, &d), QUOTA_OK);
	CHECK_JSON(d, "true");
	quota_doc_unref(d);
	/* a value nested deeper than documents may be is an evaluation error */
	n = 0;
	for (int i = 0; i < 60; i++)
		src[n++] = '[';
	for (int i = 0; i < 60; i++)
		src[n++] = ']';
	src[n] = '\0';
	quota_doc *deep_doc = tdoc(src);
	CHECK_RC(run_with("deep", deep_doc, "[[[[deep]]]]", NULL, &d), QUOTA_OK);
	quota_doc_unref(d);
	CHECK_RC(run_with("deep", deep_doc, "[[[[[deep]]]]]", NULL, &d), QUOTA_ERR_EVAL);
	CHECK_ERR_CONTAINS("column 1: value nested deeper than 64 levels");
	CHECK_RC(run_with("deep", deep_doc, "[1].map(x, [[[[deep]]]])", NULL, &d), QUOTA_ERR_EVAL);
	quota_doc_unref(deep_doc);
}

static void test_cost(void)
{
	quota_expr_options o;
	quota_doc *d = NULL;
	CHECK_RC(quota_expr_options_init(&o, sizeof o), QUOTA_OK);
	CHECK_EQ_INT(o.cost_limit, 1000000);

	/* every node is a step: 1 + 2 is three */
	o.cost_limit = 3;
	CHECK_RC(run("1 + 2", &o, &d), QUOTA_OK);
	quota_doc_unref(d);
	o.cost_limit = 2;
	CHECK_RC(run("1 + 2", &o, &d), QUOTA_ERR_EVAL);
	CHECK_ERR_CONTAINS("column 5: cost budget of 2 steps exceeded");
	/* and every round of a comprehension: 2 + 3 rounds of 2 */
	o.cost_limit = 7;
	CHECK_RC(run("[1, 2, 3].map(x, x)", &o, &d), QUOTA_ERR_EVAL);
	CHECK_ERR_CONTAINS("cost budget of 7 steps exceeded");
	o.cost_limit = 8;
	CHECK_RC(run("[1, 2, 3].map(x, x)", &o, &d), QUOTA_OK);
	quota_doc_unref(d);

	/* a blow-up stops at the default budget, and errors in all() cannot
	 * absorb it */
	static const char *const bombs[] = {
		"[1,2,3,4,5,6,7,8,9,10].map(a, [1,2,3,4,5,6,7,8,9,10].map(b, "
		"[1,2,3,4,5,6,7,8,9,10].map(c, [1,2,3,4,5,6,7,8,9,10].map(d, "
		"[1,2,3,4,5,6,7,8,9,10].map(e, [1,2,3,4,5,6,7,8,9,10].map(f, a))))))",
		"[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, "
		"[1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, "
		"[1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f, true))))))",
		"[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, "
		"[1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, "
		"[1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f, true)))))) || true",
		"[1, 2].exists(z, [1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, "
		"[1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, "
		"[1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f, z == 1)))))))",
	};
	for (size_t k = 0; k < sizeof bombs / sizeof bombs[0]; k++) {
		CHECK_RC(run(bombs[k], NULL, &d), QUOTA_ERR_EVAL);
		CHECK_ERR_CONTAINS("cost budget of 1000000 steps exceeded");
	}
	/* work on long strings costs by their length: a 64 KiB string copied
	 * twice takes 2048 steps, while only counting it takes 4 */
	static char text[65537];
	memset(text, 'x', 65536);
	quota_doc *long_text = NULL;
	quota_doc_new_string(text, 65536, &long_text);
	o.cost_limit = 1000;
	CHECK_RC(run_with("s", long_text, "[s, s].size()", &o, &d), QUOTA_OK);
	quota_doc_unref(d);
	CHECK_RC(run_with("s", long_text, "s + s", &o, &d), QUOTA_ERR_EVAL);
	CHECK_ERR_CONTAINS("cost budget of 1000 steps exceeded");
	CHECK_RC(run_with("s", long_text, "s.contains('y')", &o, &d), QUOTA_ERR_EVAL);
	CHECK_RC(run_with("s", long_text, "s == s + ''", &o, &d), QUOTA_ERR_EVAL);
	o.cost_limit = 3000;
	CHECK_RC(run_with("s", long_text, "s + s", &o, &d), QUOTA_OK);
	quota_doc_unref(d);
	quota_doc_unref(long_text);

	/* bad options */
	o.cost_limit = 0;
	CHECK_RC(run("1", &o, &d), QUOTA_ERR_INVALID);
	o.cost_limit = 5;
	o.size = 0;
	CHECK_RC(run("1", &o, &d), QUOTA_ERR_INVALID);
	CHECK_RC(quota_expr_options_init(NULL, sizeof o), QUOTA_ERR_INVALID);
	CHECK_RC(quota_expr_options_init(&o, 1), QUOTA_ERR_INVALID);
}

static void test_api(void)
{
	quota_expr *x = NULL;
	quota_doc *d = NULL;
	const quota_doc *values[] = {trigger, user};
	int32_t b = -1;

	/* variable names */
	static const char *const dup[] = {"a", "a"}, *const num[] = {"1a"}, *const kw[] = {"in"},
				 *const res[] = {"while"}, *const nul[] = {NULL},
				 *const dash[] = {"a-b"}, *const ok[] = {"_x9", "Y"};
	CHECK_RC(quota_expr_compile("1", dup, 2, &x), QUOTA_ERR_INVALID);
	CHECK_ERR_CONTAINS("repeats");
	CHECK_RC(quota_expr_compile("1", num, 1, &x), QUOTA_ERR_INVALID);
	CHECK_RC(quota_expr_compile("1", kw, 1, &x), QUOTA_ERR_INVALID);
	CHECK_RC(quota_expr_compile("1", res, 1, &x), QUOTA_ERR_INVALID);
	CHECK_RC(quota_expr_compile("1", nul, 1, &x), QUOTA_ERR_INVALID);
	CHECK_RC(quota_expr_compile("1", dash, 1, &x), QUOTA_ERR_INVALID);
	CHECK_RC(quota_expr_compile("1", NULL, 1, &x), QUOTA_ERR_INVALID);
	CHECK_RC(quota_expr_compile("_x9 + Y", ok, 2, &x), QUOTA_OK);
	quota_expr_free(x);
	static const char *many[QUOTA_EXPR_MAX_VARS + 1];
	static char names[QUOTA_EXPR_MAX_VARS + 1][8];
	for (int i = 0; i <= QUOTA_EXPR_MAX_VARS; i++) {
		snprintf(names[i], sizeof names[i], "v%d", i);
		many[i] = names[i];
	}
	CHECK_RC(quota_expr_compile("v0", many, QUOTA_EXPR_MAX_VARS, &x), QUOTA_OK);
	quota_expr_free(x);
	CHECK_RC(quota_expr_compile("v0", many, QUOTA_EXPR_MAX_VARS + 1, &x), QUOTA_ERR_INVALID);
	CHECK_RC(quota_expr_compile(NULL, VARS, 2, &x), QUOTA_ERR_INVALID);
	CHECK_RC(quota_expr_compile("1", VARS, 2, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_expr_compile("@", VARS, 2, &x), QUOTA_ERR_PARSE);
	CHECK(x == NULL);
	quota_expr_free(NULL);

	CHECK_RC(quota_expr_compile("trigger.metadata", VARS, 2, &x), QUOTA_OK);
	/* values must match the variables */
	CHECK_RC(quota_expr_eval(x, values, 1, NULL, &d), QUOTA_ERR_INVALID);
	CHECK_RC(quota_expr_eval(x, NULL, 2, NULL, &d), QUOTA_ERR_INVALID);
	const quota_doc *with_null[] = {trigger, NULL};
	CHECK_RC(quota_expr_eval(x, with_null, 2, NULL, &d), QUOTA_ERR_INVALID);
	CHECK_RC(quota_expr_eval(NULL, values, 2, NULL, &d), QUOTA_ERR_INVALID);
	CHECK_RC(quota_expr_eval(x, values, 2, NULL, NULL), QUOTA_ERR_INVALID);
	/* the result shares the input's parts instead of copying them, and
	 * a shared document cannot be changed */
	const quota_doc *meta = NULL;
	quota_doc_map_get(trigger, "metadata", 8, &meta);
	CHECK_RC(quota_expr_eval(x, values, 2, NULL, &d), QUOTA_OK);
	CHECK(d == meta);
	quota_doc *one = NULL;
	quota_doc_new_int(1, &one);
	CHECK_RC(quota_doc_map_set(d, "x", 1, one), QUOTA_ERR_WRONG_STATE);
	quota_doc_unref(d);
	CHECK_RC(quota_expr_eval_bool(x, values, 2, NULL, &b), QUOTA_ERR_EVAL);
	CHECK_ERR_CONTAINS("expected bool, got map");
	quota_expr_free(x);

	CHECK_RC(quota_expr_compile("trigger.kind == 'Project'", VARS, 2, &x), QUOTA_OK);
	CHECK_RC(quota_expr_eval_bool(x, values, 2, NULL, &b), QUOTA_OK);
	CHECK_EQ_INT(b, 1);
	CHECK_RC(quota_expr_eval_bool(x, values, 2, NULL, NULL), QUOTA_ERR_INVALID);
	quota_expr_free(x);
	CHECK_RC(quota_expr_compile("trigger.kind", VARS, 2, &x), QUOTA_OK);
	CHECK_RC(quota_expr_eval_bool(x, values, 2, NULL, &b), QUOTA_ERR_EVAL);
	CHECK_ERR_CONTAINS("expected bool, got string");
	quota_expr_free(x);
	CHECK_RC(quota_expr_compile("trigger.spec.tags.exists(t, t == 'q')", VARS, 2, &x),
		 QUOTA_OK);
	CHECK_RC(quota_expr_eval_bool(x, values, 2, NULL, &b), QUOTA_OK);
	CHECK_EQ_INT(b, 0);
	quota_expr_free(x);

	/* an expression without variables */
	CHECK_RC(quota_expr_compile("[1, 2].size()", NULL, 0, &x), QUOTA_OK);
	CHECK_RC(quota_expr_eval(x, NULL, 0, NULL, &d), QUOTA_OK);
	CHECK_JSON(d, "2");
	quota_doc_unref(d);
	quota_expr_free(x);

	/* one compiled expression, evaluated again and again, gives the
	 * same (a constant list is built once and shared) */
	CHECK_RC(quota_expr_compile("['a', 'b']", NULL, 0, &x), QUOTA_OK);
	quota_doc *first = NULL, *second = NULL;
	CHECK_RC(quota_expr_eval(x, NULL, 0, NULL, &first), QUOTA_OK);
	CHECK_RC(quota_expr_eval(x, NULL, 0, NULL, &second), QUOTA_OK);
	CHECK(first != NULL && first == second);
	quota_doc_unref(first);
	quota_doc_unref(second);
	quota_expr_free(x);
}

/* ---- allocation failures -------------------------------------------------- */

static const char *const FAULT_SOURCES[] = {
	"trigger.metadata.name.startsWith('web') && trigger.spec.replicas <= 5",
	"trigger.spec.tags.map(t, t + '-' + trigger.metadata.name)",
	"trigger.metadata.labels.filter(k, k.matches('^t')).map(k, {k: [k.upperAscii()]})",
	"string(trigger.spec.ratio) + string(trigger.spec.replicas) + 'x'.lowerAscii()",
	"[trigger.kind, [1, 2] + trigger.spec.nums, {'a': trigger.spec.key}]",
	"trigger.spec.text.matches(trigger.metadata.name) || size('abc') == 3",
	"[1/0 == 1 || true, trigger.spec.nums.exists(n, 1 / (n - 1) >= 1)]",
};

static int op_compile(void *arg)
{
	quota_expr *x = NULL;
	int rc = quota_expr_compile(arg, VARS, 2, &x);
	quota_expr_free(x);
	return rc;
}

static int op_eval(void *arg)
{
	quota_doc *d = NULL;
	const quota_doc *values[] = {trigger, user};
	int rc = quota_expr_eval(arg, values, 2, NULL, &d);
	quota_doc_unref(d);
	return rc;
}

static void test_allocation_failures(void)
{
	struct counting c;
	quota_doc *t = trigger, *u = user;
	if (counting_install(&c) != QUOTA_OK) {
		CHECK(0);
		return;
	}
	/* inputs made with the counting allocator, so that refcounts on them
	 * are seen as well */
	trigger = tdoc(TRIGGER);
	user = tdoc(TEST_USER);
	for (size_t k = 0; k < sizeof FAULT_SOURCES / sizeof FAULT_SOURCES[0]; k++) {
		quota_expr *x = NULL;
		FAULT_SWEEP(&c, op_compile, (void *)FAULT_SOURCES[k]);
		CHECK_RC(quota_expr_compile(FAULT_SOURCES[k], VARS, 2, &x), QUOTA_OK);
		if (k > 0)
			FAULT_SWEEP(&c, op_eval, x);
		quota_expr_free(x);
	}
	quota_doc_unref(trigger);
	quota_doc_unref(user);
	CHECK_EQ_INT(live(&c), 0);
	quota_set_allocator(NULL);
	trigger = t;
	user = u;
}

int main(void)
{
	trigger = tdoc(TRIGGER);
	user = tdoc(TEST_USER);
	RUN(test_literals);
	RUN(test_arithmetic);
	RUN(test_comparison);
	RUN(test_precedence);
	RUN(test_logic_truth_tables);
	RUN(test_fields);
	RUN(test_columns);
	RUN(test_limits);
	RUN(test_cost);
	RUN(test_api);
	RUN(test_allocation_failures);
	quota_doc_unref(trigger);
	quota_doc_unref(user);
	return check_exit();
}
