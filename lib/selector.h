/*
 * Dimension labels and label selectors (matchLabels, matchExpressions with
 * In, NotIn, Exists, DoesNotExist). A selector is compiled to a canonical
 * form whose printed string is its identity: equal selectors, however they
 * were written, name one bucket.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_SELECTOR_H
#define QUOTA_LIB_SELECTOR_H

#include <quota/quota.h>

#define QUOTA__LABELS_MAX 16     /* dimensions on one request */
#define QUOTA__SEL_REQ_MAX 16    /* requirements in one selector */
#define QUOTA__SEL_VALUES_MAX 16 /* values of one In / NotIn */
#define QUOTA__LABEL_MAX 63      /* a key or a value */

typedef struct quota__sel_req {
	const char *key;
	int32_t op; /* QUOTA_SELECTOR_* */
	uint32_t value_count;
	const char *const *values; /* sorted, distinct */
} quota__sel_req;

typedef struct quota__selector {
	uint32_t count;
	uint32_t specificity; /* requirements: more is more specific */
	const quota__sel_req *req; /* sorted */
	const char *text;          /* canonical, e.g. "region in (eu,us),tier=gold,!spot" */
} quota__selector;

/* A label key (1-63 of [A-Za-z0-9._/-], alphanumeric at both ends). */
int quota__check_label_key(const char *field, const char *s);
/* A label value (0-63 of [A-Za-z0-9._-], alphanumeric at both ends). */
int quota__check_label_value(const char *field, const char *s);
/* Check n dimension labels: syntax, distinct keys. field names the array. */
int quota__check_labels(const char *field, const quota_label *l, uint32_t n);
/* Whether a request's labels name only keys of the registration r; the
 * detail names the first that is not allowed. */
int quota__check_dimensions_allowed(const char *field, const quota_registration *r,
				    const quota_label *l, uint32_t n);

/* Whether a grant bucket carries a selector. */
int quota__has_selector(const quota_grant_bucket *b);
/* Check and compile a grant bucket's selector into one allocation (free
 * with quota__free); *out is NULL when it has none. field names the grant
 * bucket. With r, the keys must be allowed dimensions of r. */
int quota__selector_compile(const char *field, const quota_grant_bucket *b,
			    const quota_registration *r, quota__selector **out);
/* Whether labels satisfy every requirement of s. */
int quota__selector_match(const quota__selector *s, const quota_label *l, uint32_t n);

#endif
