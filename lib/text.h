/*
 * A growing text buffer. A failed allocation sticks: later appends do
 * nothing and the owner reports QUOTA_ERR_NOMEM once at the end.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_TEXT_H
#define QUOTA_LIB_TEXT_H

#include <stddef.h>

typedef struct quota__text {
	char *buf;
	size_t len, cap;
	int nomem;
} quota__text;

/* Make room for more bytes plus a NUL; sets nomem on failure. */
void quota__text_grow(quota__text *t, size_t more);
void quota__text_putn(quota__text *t, const char *s, size_t n);
__attribute__((format(printf, 2, 3))) void quota__text_put(quota__text *t, const char *fmt, ...);
/* End the text. When rc is QUOTA_OK and nothing ran out of memory, hand the
 * NUL-terminated text to *out (and its length to *len, if not NULL) and
 * return QUOTA_OK; otherwise free it and return rc, or QUOTA_ERR_NOMEM. */
int quota__text_finish(quota__text *t, int rc, char **out, size_t *len);

#endif
