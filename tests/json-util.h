/*
 * Helpers for the JSON object tests: documents written with single quotes
 * (built through tdoc(), so that they work without cJSON), Lists of
 * objects, loads, and a snapshot of everything an engine holds.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_TESTS_JSON_UTIL_H
#define QUOTA_TESTS_JSON_UTIL_H

#include <stdarg.h>

#include "check.h"
#include "doc-util.h"

#define API "'apiVersion':'quota.miloapis.com/v1alpha1'"
#define VCPU "compute.example.com/vcpus"
#define MEM "compute.example.com/memory"
#define REQS "ai.example.com/requests"

static inline int have_json(void)
{
	return (quota_features() & QUOTA_FEATURE_JSON) != 0;
}

/* JSON with ' for " (no ' inside strings in these tests). */
static inline char *jtext(const char *s)
{
	char *t = strdup(s);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

static inline quota_doc *jd(const char *s)
{
	char *t = jtext(s);
	quota_doc *d = tdoc(t);
	free(t);
	return d;
}

/* "{'apiVersion':'v1','kind':'List','items':[a, b, ...]}", NULL-ended. */
static inline char *jlist(const char *first, ...)
{
	static char buf[65536];
	size_t n = (size_t)snprintf(buf, sizeof buf, "{'apiVersion':'v1','kind':'List','items':[");
	va_list ap;
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", s == first ? "" : ",", s);
	va_end(ap);
	snprintf(buf + n, sizeof buf - n, "]}");
	return buf;
}

static inline int jload_opts(quota_engine *e, const char *json, const quota_json_options *o,
			     quota_json_result **out)
{
	quota_doc *d = jd(json);
	int rc = quota_json_load_doc(e, d, o, out);
	quota_doc_unref(d);
	return rc;
}

static inline int jload(quota_engine *e, const char *json, quota_json_result **out)
{
	return jload_opts(e, json, NULL, out);
}

/* Everything an engine holds, as text (malloc'd). */
static inline char *jsnap(quota_engine *e)
{
	static char lines[1 << 16];
	size_t len = 0;
	char *dump = NULL;
	int rc = quota_json_dump_text(e, QUOTA_JSON_ALL, &dump, NULL);
	lines[0] = '\0';
	test_snapshot_buckets_claims(e, lines, sizeof lines, &len);
	size_t n = (dump ? strlen(dump) : 16) + len + 2;
	char *s = malloc(n);
	snprintf(s, n, "%s\n%s", rc == QUOTA_OK ? dump : "(dump failed)", lines);
	quota_free(dump);
	return s;
}

/* A load that must fail with code, an error containing fragment, no
 * result, and the engine as it was. */
static inline void jfail_(const char *file, int line, quota_engine *e, const char *json, int code,
			  const char *fragment)
{
	char *before = jsnap(e);
	quota_json_result *res = (quota_json_result *)&res;
	int rc = jload(e, json, &res);
	check_failure_(file, line, "load", rc, code, fragment, res != NULL);
	char *after = jsnap(e);
	if (strcmp(before, after) != 0)
		check_fail_(file, line, "a failed load changed the engine:\n%s\n----\n%s", before,
			    after);
	free(before);
	free(after);
}

#define JFAIL(e, json, code, fragment) jfail_(__FILE__, __LINE__, (e), (json), (code), (fragment))

/* The JSON text of a document (malloc'd). */
static inline char *jstr(const quota_doc *d)
{
	char *t = NULL;
	if (!d || quota_doc_to_json(d, &t, NULL) != QUOTA_OK)
		return strdup("(none)");
	char *s = strdup(t);
	quota_free(t);
	return s;
}

#endif /* QUOTA_TESTS_JSON_UTIL_H */
