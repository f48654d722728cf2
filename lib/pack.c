/*
 * Deep copies into one allocation.
 * SPDX-License-Identifier: MIT
 */
#include "pack.h"

#include <stdalign.h>
#include <string.h>

#include "alloc.h"

void *quota__pack_take(quota__pack *p, size_t n)
{
	size_t a = alignof(max_align_t);
	p->off = (p->off + a - 1) & ~(a - 1);
	void *r = p->base ? p->base + p->off : NULL;
	p->off += n;
	return r;
}

const char *quota__pack_strn(quota__pack *p, const char *s, size_t n)
{
	if (!s)
		return NULL;
	char *d = p->base ? p->base + p->off : NULL;
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	p->off += n + 1;
	return d;
}

const char *quota__pack_str(quota__pack *p, const char *s)
{
	return s ? quota__pack_strn(p, s, strlen(s)) : NULL;
}

const char *quota__pack_text(quota__pack *p, const char *s)
{
	return quota__pack_str(p, s ? s : "");
}

quota_ref quota__pack_ref(quota__pack *p, const quota_ref *r)
{
	return (quota_ref){quota__pack_text(p, r->api_group), quota__pack_text(p, r->kind),
			   quota__pack_text(p, r->ns), quota__pack_text(p, r->name)};
}

const quota_label *quota__pack_labels(quota__pack *p, const quota_label *l, uint32_t n)
{
	quota_label *out = quota__pack_take(p, n * sizeof *out);
	for (uint32_t k = 0; k < n; k++) {
		quota_label x = {quota__pack_text(p, l[k].key), quota__pack_text(p, l[k].value)};
		if (out)
			out[k] = x;
	}
	return n ? out : NULL;
}

int quota__pack_begin_write(quota__pack *p)
{
	p->base = quota__calloc(1, p->off);
	if (!p->base)
		return -1;
	p->off = 0;
	return 0;
}
