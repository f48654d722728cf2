/*
 * expr.h: every function (size, startsWith, endsWith, contains, matches,
 * lowerAscii, upperAscii, int, double, string) and every macro (all,
 * exists, exists_one, map, filter) over lists and maps, with their errors.
 *
 * SPDX-License-Identifier: MIT
 */
#include <quota/quota.h>

#include "expr-util.h"

static void test_functions(void)
{
	static const struct ok_case ok[] = {
		{"size('')", "0"},
		{"size('h\xC3\xA9llo')", "5"},
		{"size('\xF0\x9F\x98\x80')", "1"},
		{"trigger.spec.text.size()", "11"},
		{"size(trigger.spec.tags)", "3"},
		{"trigger.spec.empty.size()", "0"},
		{"size(trigger.metadata.labels)", "2"},
		{"{'a': 1}.size()", "1"},
		{"'web-1'.startsWith('web')", "true"},
		{"'a+'.matches('a[+*]+')", "true"},
		{"'a+'.matches('a\\\\++')", "true"},
		{"'web-1'.startsWith('')", "true"},
		{"'web'.startsWith('web-1')", "false"},
		{"trigger.metadata.name.endsWith('-1')", "true"},
		{"'abc'.endsWith('ab')", "false"},
		{"'abc'.contains('bc')", "true"},
		{"'abc'.contains('')", "true"},
		{"'abc'.contains('cd')", "false"},
		{"'a\\u0000b'.contains('\\u0000b')", "true"},
		{"'web-1'.matches('^web-[0-9]+$')", "true"},
		{"'web-1'.matches('eb')", "true"},
		{"'web-x'.matches('^web-[0-9]+$')", "false"},
		{"matches('abc', 'b+')", "true"},
		{"'\xC3\xA9'.matches('^.$')", "true"},
		{"'a1b22'.matches('^([a-z][0-9]{1,2})+$')", "true"},
		{"trigger.metadata.name.matches(trigger.metadata.name)", "true"},
		{"'a.c'.matches('a' + '\\\\.' + 'c')", "true"},
		{"'abc'.matches('a' + '\\\\.' + 'c')", "false"},
		{"'MiXed \xC3\x89'.lowerAscii()", "\"mixed \xC3\x89\""},
		{"'MiXed \xC3\xA9'.upperAscii()", "\"MIXED \xC3\xA9\""},
		{"int(42)", "42"},
		{"int(3.99)", "3"},
		{"int(-3.99)", "-3"},
		{"int('-17')", "-17"},
		{"int('+5')", "5"},
		{"int('9223372036854775807')", "9223372036854775807"},
		{"int(-9223372036854775808.0)", "-9223372036854775808"},
		{"double(2)", "2.0"},
		{"double(2.5)", "2.5"},
		{"double('1e3')", "1000.0"},
		{"double(' 1') == 1.0 || true", "true"},
		{"string('s')", "\"s\""},
		{"string(-12)", "\"-12\""},
		{"string(1.5)", "\"1.5\""},
		{"string(100.0)", "\"100\""},
		{"string(1e20)", "\"1e+20\""},
		{"string(true) + string(false)", "\"truefalse\""},
		{"string(int('7')) + '!'", "\"7!\""},
	};
	static const struct error_case bad[] = {
		{"size(1)", QUOTA_ERR_EVAL,
		 "column 1: size() needs a string, list or map, got int"},
		{"size(1, 2)", QUOTA_ERR_PARSE, "size() is called as size(x) or x.size()"},
		{"'a'.size(1)", QUOTA_ERR_PARSE, "size() is called as"},
		{"startsWith('a', 'b')", QUOTA_ERR_PARSE, "startsWith() is called as s.startsWith"},
		{"'a'.startsWith(1)", QUOTA_ERR_EVAL,
		 "startsWith() needs strings, got string and int"},
		{"trigger.spec.tags.contains('a')", QUOTA_ERR_EVAL, "contains() needs strings"},
		{"'a'.matches('(')", QUOTA_ERR_PARSE, "column 13: invalid regular expression"},
		{"'a'.matches('(' + '')", QUOTA_ERR_EVAL, "invalid regular expression"},
		{"'aa'.matches('(a)\\\\1')", QUOTA_ERR_PARSE, "back-references are not supported"},
		{"'a'.matches('((a{1,100}){1,100}){1,100}')", QUOTA_ERR_PARSE, "repeats too much"},
		{"'a'.matches(trigger.metadata.name + '{1,9999}')", QUOTA_ERR_EVAL,
		 "repeats too much"},
		{"'a'.matches('a++++++++++++++++++++++++++++++++++++++++')", QUOTA_ERR_PARSE,
		 "repetition of a repetition"}, /* found by the fuzzer */
		{"'a'.matches('a+*+')", QUOTA_ERR_PARSE, "offset 2 is not allowed"},
		{"'a'.matches('((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)')", QUOTA_ERR_PARSE,
		 "repeats too much"},
		{"'a'.matches('\\u0000')", QUOTA_ERR_PARSE, "NUL"},
		{"1.matches('a')", QUOTA_ERR_EVAL, "matches() needs strings, got int and string"},
		{"1.lowerAscii()", QUOTA_ERR_EVAL, "lowerAscii() needs a string, got int"},
		{"lowerAscii('A')", QUOTA_ERR_PARSE, "lowerAscii() is called as s.lowerAscii()"},
		{"int('abc')", QUOTA_ERR_EVAL, "int() cannot parse 'abc'"},
		{"int('')", QUOTA_ERR_EVAL, "int() cannot parse"},
		{"int('9223372036854775808')", QUOTA_ERR_EVAL, "is out of range"},
		{"int(1e19)", QUOTA_ERR_EVAL, "int() of 1e+19 is out of range"},
		{"int(double('nan'))", QUOTA_ERR_EVAL, "out of range"},
		{"int(true)", QUOTA_ERR_EVAL, "int() needs an int, double or string, got bool"},
		{"1.int()", QUOTA_ERR_PARSE, "int() is called as int(x)"},
		{"double('x')", QUOTA_ERR_EVAL, "double() cannot parse 'x'"},
		{"double(null)", QUOTA_ERR_EVAL, "double() needs"},
		{"string(null)", QUOTA_ERR_EVAL,
		 "string() needs an int, double, bool or string, got null"},
		{"string([1])", QUOTA_ERR_EVAL, "got list"},
		{"nosuch(1)", QUOTA_ERR_PARSE, "column 1: unknown function 'nosuch'"},
		{"'a'.nosuch()", QUOTA_ERR_PARSE, "column 5: unknown function 'nosuch'"},
	};
	RUN_TABLES(ok, bad);
	/* a pattern longer than the limit */
	char src[700];
	snprintf(src, sizeof src, "'a'.matches('%0600d')", 0);
	CHECK_PARSE_ERROR(src, "pattern is 600 bytes long");
}

static void test_macros(void)
{
	static const struct ok_case ok[] = {
		{"trigger.spec.nums.all(n, n > 0)", "true"},
		{"trigger.spec.nums.all(n, n > 1)", "false"},
		{"[].all(x, false)", "true"},
		{"trigger.spec.nums.exists(n, n == 3)", "true"},
		{"trigger.spec.nums.exists(n, n > 9)", "false"},
		{"[].exists(x, true)", "false"},
		{"trigger.spec.nums.exists_one(n, n > 3)", "true"},
		{"trigger.spec.nums.exists_one(n, n > 2)", "false"},
		{"[].exists_one(x, true)", "false"},
		{"trigger.spec.nums.map(n, n * n)", "[1,4,9,16]"},
		{"trigger.spec.nums.map(n, n % 2 == 0, n * 10)", "[20,40]"},
		{"trigger.spec.nums.filter(n, n % 2 == 1)", "[1,3]"},
		{"trigger.spec.tags.filter(t, t != 'b').map(t, t + '!')", "[\"a!\",\"c!\"]"},
		{"[].map(x, x)", "[]"},
		/* over maps: the keys, in order */
		{"trigger.metadata.labels.map(k, k)", "[\"tier\",\"team\"]"},
		{"trigger.metadata.labels.map(k, trigger.metadata.labels[k])",
		 "[\"gold\",\"core\"]"},
		{"trigger.metadata.labels.all(k, k.size() == 4)", "true"},
		{"trigger.metadata.labels.exists(k, k == 'team')", "true"},
		{"trigger.metadata.labels.exists_one(k, k.startsWith('t'))", "false"},
		{"trigger.metadata.labels.filter(k, k.endsWith('r'))", "[\"tier\"]"},
		{"{'a': 1, 'b': 2}.map(k, k == 'b', k + k)", "[\"bb\"]"},
		/* nesting, shadowing, and the outer variable seen from inside */
		{"[1, 2].map(x, [10, 20].map(y, x * y))", "[[10,20],[20,40]]"},
		{"[1, 2].map(x, [3].map(x, x))", "[[3],[3]]"},
		{"[1, 2].all(x, [1, 2].exists(y, y == x))", "true"},
		{"[[1, 2], [3]].map(l, l.size())", "[2,1]"},
		{"['trigger'].map(trigger, trigger + '!')", "[\"trigger!\"]"},
		/* a map comprehension keeps (shares) the items it filters */
		{"[[1], [2]].filter(l, l[0] > 1)", "[[2]]"},
		/* errors inside all() and exists() give way to a deciding round */
		{"[1, 0, -1].all(x, 1 / x > 0)", "false"},
		{"[0, 1].exists(x, 1 / x > 0)", "true"},
		{"[1, 'a', 2].exists(x, x == 2)", "true"},
	};
	static const struct error_case bad[] = {
		{"[1, 0].all(x, 1 / x > 0)", QUOTA_ERR_EVAL, "column 17: division by zero"},
		{"[0, -1].exists(x, 1 / x > 0)", QUOTA_ERR_EVAL, "division by zero"},
		{"[0, 1].exists_one(x, 1 / x > 0)", QUOTA_ERR_EVAL, "division by zero"},
		{"[0].map(x, 1 / x)", QUOTA_ERR_EVAL, "division by zero"},
		{"[0].filter(x, 1 / x == 1)", QUOTA_ERR_EVAL, "division by zero"},
		{"[1].all(x, x)", QUOTA_ERR_EVAL,
		 "the predicate of all() must give a bool, got int"},
		{"[1].filter(x, 'y')", QUOTA_ERR_EVAL,
		 "the predicate of filter() must give a bool"},
		{"[1].map(x, x, x)", QUOTA_ERR_EVAL, "the predicate of map() must give a bool"},
		{"'abc'.all(c, true)", QUOTA_ERR_EVAL,
		 "column 7: all() needs a list or a map, got string"},
		{"trigger.spec.replicas.map(x, x)", QUOTA_ERR_EVAL, "map() needs a list or a map"},
		{"[1].all(1, true)", QUOTA_ERR_PARSE,
		 "column 9: the first argument of all() must be a simple name"},
		{"[1].all(x.y, true)", QUOTA_ERR_PARSE, "must be a simple name"},
		{"[1].all(x)", QUOTA_ERR_PARSE, "all() is called as e.all(x, predicate)"},
		{"[1].map(x, 1, 2, 3)", QUOTA_ERR_PARSE, "map() is called as"},
		{"exists([1], x, true)", QUOTA_ERR_PARSE, "exists() is called as e.exists"},
		{"exists()", QUOTA_ERR_PARSE, "exists() is called as e.exists"},
		{"map()", QUOTA_ERR_PARSE, "map() is called as"},
		{"[1].filter()", QUOTA_ERR_PARSE, "filter() is called as"},
		{"[1].exists_one(x)", QUOTA_ERR_PARSE, "exists_one() is called as"},
		{"has()", QUOTA_ERR_PARSE, "has() takes one field selection"},
		{"size()", QUOTA_ERR_PARSE, "size() is called as"},
		{"[1].map(x, y)", QUOTA_ERR_PARSE, "column 12: undeclared reference to 'y'"},
		{"[1].map(x, x) + [x]", QUOTA_ERR_PARSE, "column 18: undeclared reference to 'x'"},
	};
	RUN_TABLES(ok, bad);
}

/* Errors report where, on later lines too, in characters not bytes. */

int main(void)
{
	trigger = tdoc(TRIGGER);
	user = tdoc(TEST_USER);
	RUN(test_functions);
	RUN(test_macros);
	quota_doc_unref(trigger);
	quota_doc_unref(user);
	return check_exit();
}
