/*
 * What the expression tests share: the variables trigger and user, a
 * trigger document, and checks that compile and evaluate an expression and
 * compare its value (as JSON) or its error.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_TESTS_EXPR_UTIL_H
#define QUOTA_TESTS_EXPR_UTIL_H

#include <quota/quota.h>

#include "check.h"
#include "doc-util.h"

static const char *const VARS[] = {"trigger", "user"};
static quota_doc *trigger, *user;

static const char TRIGGER[] =
	"{\"kind\": \"Project\", \"metadata\": {\"name\": \"web-1\", \"namespace\": \"acme\", "
	"\"labels\": {\"tier\": \"gold\", \"team\": \"core\"}}, "
	"\"spec\": {\"replicas\": 3, \"ratio\": 0.5, \"tags\": [\"a\", \"b\", \"c\"], "
	"\"nums\": [1, 2, 3, 4], \"empty\": [], \"none\": null, \"on\": true, "
	"\"big\": 9223372036854775807, \"small\": -9223372036854775808, "
	"\"text\": \"h\\u00e9llo w\\u00f6rld\", \"nested\": {\"x\": {\"y\": 1}}, \"key\": \"tier\"}}";

/* Compile and evaluate src against trigger and user. */
static inline int run(const char *src, const quota_expr_options *o, quota_doc **out)
{
	quota_expr *x = NULL;
	const quota_doc *values[] = {trigger, user};
	*out = NULL;
	int rc = quota_expr_compile(src, VARS, 2, &x);
	if (rc == QUOTA_OK)
		rc = quota_expr_eval(x, values, 2, o, out);
	quota_expr_free(x);
	return rc;
}

/* The same with one variable of another name. */
static inline int run_with(const char *var, const quota_doc *value, const char *src,
			   const quota_expr_options *o, quota_doc **out)
{
	quota_expr *x = NULL;
	*out = NULL;
	int rc = quota_expr_compile(src, &var, 1, &x);
	if (rc == QUOTA_OK)
		rc = quota_expr_eval(x, &value, 1, o, out);
	quota_expr_free(x);
	return rc;
}

static inline void check_eval_(const char *file, int line, const char *src, const char *want)
{
	quota_doc *d = NULL;
	int rc = run(src, NULL, &d);
	if (rc != QUOTA_OK)
		check_fail_(file, line, "%s: %s", src, quota_strerror(rc));
	else
		check_json_(file, line, d, want);
	quota_doc_unref(d);
}

/* The call fails with code, and quota_last_error() contains fragment. */
static inline void check_fails_(const char *file, int line, const char *src, int code,
				const char *fragment)
{
	quota_doc *d = NULL;
	int rc = run(src, NULL, &d);
	check_failure_(file, line, src, rc, code, fragment, d != NULL);
	quota_doc_unref(d);
}

#define CHECK_EVAL(src, want) check_eval_(__FILE__, __LINE__, (src), (want))
#define CHECK_PARSE_ERROR(src, fragment)                                                           \
	check_fails_(__FILE__, __LINE__, (src), QUOTA_ERR_PARSE, (fragment))
#define CHECK_EVAL_ERROR(src, fragment)                                                            \
	check_fails_(__FILE__, __LINE__, (src), QUOTA_ERR_EVAL, (fragment))

struct ok_case {
	const char *src, *want;
};

struct error_case {
	const char *src;
	int code;
	const char *fragment;
};

static inline void run_tables(const struct ok_case *ok, size_t n_ok, const struct error_case *bad,
			      size_t n_bad)
{
	for (size_t i = 0; i < n_ok; i++)
		CHECK_EVAL(ok[i].src, ok[i].want);
	for (size_t i = 0; i < n_bad; i++)
		check_fails_(__FILE__, __LINE__, bad[i].src, bad[i].code, bad[i].fragment);
}

#define RUN_TABLES(ok, bad)                                                                        \
	run_tables(ok, sizeof ok / sizeof ok[0], bad, sizeof bad / sizeof bad[0])

#define TEST_USER "{\"name\": \"alice\", \"groups\": [\"admins\", \"dev\"]}"

#endif /* QUOTA_TESTS_EXPR_UTIL_H */
