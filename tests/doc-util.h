/*
 * Documents for tests, built through the public constructors from a
 * JSON-like text, so that tests run the same with and without cJSON, and
 * a check that compares a document with its expected JSON text.
 *
 * tdoc() reads the JSON the tests write (no error recovery: a malformed
 * text is a bug in the test and stops the program). Numbers with a '.' or
 * an exponent are doubles, others ints; strings know \" \\ \/ \n \t \r
 * and \uXXXX (no surrogate pairs).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_TESTS_DOC_UTIL_H
#define QUOTA_TESTS_DOC_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <quota/quota.h>

#include "check.h"

static inline void tdoc_die_(const char *s, const char *why)
{
	fprintf(stderr, "tdoc: %s at \"%.40s\"\n", why, s);
	exit(2);
}

static inline void tdoc_space_(const char **s)
{
	while (**s == ' ' || **s == '\n' || **s == '\t')
		(*s)++;
}

/* A string literal at *s into buf (room for 4096), its length in *len. */
static inline void tdoc_string_(const char **s, char *buf, size_t *len)
{
	size_t n = 0;
	for ((*s)++; **s != '"'; (*s)++) {
		if (!**s || n > 4090)
			tdoc_die_(*s, "unterminated or long string");
		if (**s != '\\') {
			buf[n++] = **s;
			continue;
		}
		char e = *++(*s);
		if (e == 'u') {
			unsigned cp = (unsigned)strtoul((char[5]){(*s)[1], (*s)[2], (*s)[3],
								  (*s)[4], 0},
							NULL, 16);
			*s += 4;
			if (cp < 0x80) {
				buf[n++] = (char)cp;
			} else if (cp < 0x800) {
				buf[n++] = (char)(0xC0 | (cp >> 6));
				buf[n++] = (char)(0x80 | (cp & 0x3F));
			} else {
				buf[n++] = (char)(0xE0 | (cp >> 12));
				buf[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
				buf[n++] = (char)(0x80 | (cp & 0x3F));
			}
			continue;
		}
		buf[n++] = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
	}
	(*s)++;
	*len = n;
}

static inline quota_doc *tdoc_value_(const char **s)
{
	quota_doc *d = NULL;
	char buf[4096];
	size_t len;
	int rc = QUOTA_OK;
	tdoc_space_(s);
	if (**s == '[' || **s == '{') {
		int map = **s == '{';
		rc = map ? quota_doc_new_map(&d) : quota_doc_new_list(&d);
		for ((*s)++, tdoc_space_(s); rc == QUOTA_OK && **s != (map ? '}' : ']');) {
			if (map) {
				tdoc_space_(s);
				tdoc_string_(s, buf, &len);
				tdoc_space_(s);
				if (*(*s)++ != ':')
					tdoc_die_(*s, "expected ':'");
				rc = quota_doc_map_set(d, buf, len, tdoc_value_(s));
			} else {
				rc = quota_doc_list_append(d, tdoc_value_(s));
			}
			tdoc_space_(s);
			if (**s == ',')
				(*s)++;
			tdoc_space_(s);
		}
		(*s)++;
	} else if (**s == '"') {
		tdoc_string_(s, buf, &len);
		rc = quota_doc_new_string(buf, len, &d);
	} else if (strncmp(*s, "null", 4) == 0) {
		*s += 4;
		rc = quota_doc_new_null(&d);
	} else if (strncmp(*s, "true", 4) == 0 || strncmp(*s, "false", 5) == 0) {
		rc = quota_doc_new_bool(**s == 't', &d);
		*s += **s == 't' ? 4 : 5;
	} else {
		char *end;
		size_t n = strspn(*s, "0123456789+-.eE");
		if (n == 0)
			tdoc_die_(*s, "unexpected character");
		if (memchr(*s, '.', n) || memchr(*s, 'e', n) || memchr(*s, 'E', n))
			rc = quota_doc_new_double(strtod(*s, &end), &d);
		else
			rc = quota_doc_new_int(strtoll(*s, &end, 10), &d);
		*s += n;
	}
	if (rc != QUOTA_OK)
		tdoc_die_(*s, quota_last_error());
	return d;
}

/* A document from JSON-like text; never NULL. */
static inline quota_doc *tdoc(const char *json)
{
	const char *s = json;
	quota_doc *d = tdoc_value_(&s);
	tdoc_space_(&s);
	if (*s)
		tdoc_die_(s, "text after the value");
	return d;
}

/* Does the document write as this JSON? */
static inline void check_json_(const char *file, int line, const quota_doc *d, const char *want)
{
	char *text = NULL;
	int rc = d ? quota_doc_to_json(d, &text, NULL) : QUOTA_ERR_INVALID;
	if (rc != QUOTA_OK)
		check_fail_(file, line, "to_json: %s", quota_strerror(rc));
	else if (strcmp(text, want) != 0)
		check_fail_(file, line, "got %s, want %s", text, want);
	quota_free(text);
}

#define CHECK_JSON(d, want) check_json_(__FILE__, __LINE__, (d), (want))

/* A call that returned rc should have failed with code, leaving a detail
 * that contains fragment and no output. */
static inline void check_failure_(const char *file, int line, const char *what, int rc, int code,
				  const char *fragment, int gave_output)
{
	if (rc != code)
		check_fail_(file, line, "%s: %s, want %s", what, quota_strerror(rc),
			    quota_strerror(code));
	else if (!strstr(quota_last_error(), fragment))
		check_fail_(file, line, "%s: error \"%s\" should contain \"%s\"", what,
			    quota_last_error(), fragment);
	if (gave_output)
		check_fail_(file, line, "%s: failed but gave an output", what);
}

/* Does quota_last_error() contain this text? */
#define CHECK_ERR_CONTAINS(text)                                                                   \
	do {                                                                                       \
		if (!strstr(quota_last_error(), (text)))                                           \
			check_fail_(__FILE__, __LINE__, "error should contain \"%s\"", (text));    \
	} while (0)

#endif /* QUOTA_TESTS_DOC_UTIL_H */
