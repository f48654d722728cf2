/*
 * A growing text buffer.
 * SPDX-License-Identifier: MIT
 */
#include "text.h"

#include <quota/common.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

void quota__text_grow(quota__text *t, size_t more)
{
	if (t->nomem || (t->len + more + 1 <= t->cap && t->len + more >= t->len))
		return;
	size_t cap = t->cap ? t->cap : 256;
	while (cap < t->len + more + 1) {
		if (cap > SIZE_MAX / 2) {
			t->nomem = 1;
			return;
		}
		cap *= 2;
	}
	char *b = quota__malloc(cap);
	if (!b) {
		t->nomem = 1;
		return;
	}
	if (t->len)
		memcpy(b, t->buf, t->len);
	quota__free(t->buf);
	t->buf = b;
	t->cap = cap;
}

void quota__text_putn(quota__text *t, const char *s, size_t n)
{
	quota__text_grow(t, n);
	if (t->nomem)
		return;
	if (n)
		memcpy(t->buf + t->len, s, n);
	t->len += n;
}

void quota__text_put(quota__text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->nomem = 1;
		return;
	}
	quota__text_grow(t, (size_t)n);
	if (t->nomem)
		return;
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

int quota__text_finish(quota__text *t, int rc, char **out, size_t *len)
{
	if (rc == QUOTA_OK)
		quota__text_grow(t, 0);
	if (rc != QUOTA_OK || t->nomem) {
		quota__free(t->buf);
		*t = (quota__text){0};
		return rc != QUOTA_OK ? rc : QUOTA_ERR_NOMEM;
	}
	t->buf[t->len] = '\0';
	*out = t->buf;
	if (len)
		*len = t->len;
	*t = (quota__text){0};
	return QUOTA_OK;
}
