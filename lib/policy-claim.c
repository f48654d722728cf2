/*
 * Claim rendering: the claim a claim policy makes for a trigger, checked
 * as a claim, in one allocation that owns every string.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "pack.h"
#include "policy.h"
#include "selector.h"

quota_claim *quota__pack_claim(quota__pack *p, const quota_claim *src)
{
	quota_claim *dst = quota__pack_take(p, sizeof *dst);
	quota_claim c = *src;
	c.size = sizeof c;
	c.ns = quota__pack_text(p, src->ns);
	c.name = quota__pack_text(p, src->name);
	c.consumer = quota__pack_ref(p, &src->consumer);
	c.resource = quota__pack_ref(p, &src->resource);
	quota_request *r = quota__pack_take(p, src->request_count * sizeof *r);
	for (uint32_t i = 0; i < src->request_count; i++) {
		const quota_request *s = quota__elem(src->requests, i);
		quota_request x = *s;
		x.size = sizeof x;
		x.resource_type = quota__pack_text(p, s->resource_type);
		x.dimensions = quota__pack_labels(p, s->dimensions, s->dimension_count);
		if (r)
			r[i] = x;
	}
	c.requests = r;
	if (dst)
		*dst = c;
	return dst;
}

static quota_claim *copy_claim(const quota_claim *src)
{
	quota__pack p = {0};
	quota__pack_claim(&p, src);
	if (quota__pack_begin_write(&p))
		return NULL;
	return quota__pack_claim(&p, src);
}

/* The claim's name: the rendered name as it is (the claim set checks it),
 * or the rendered generateName prefix (cut so that the whole fits) and
 * the trigger's suffix, in buf. */
static int render_name(const quota__policy *p, const quota__trigger *t, const char *rendered,
		       char buf[QUOTA__NAME_MAX + 1], const char **name)
{
	*name = rendered;
	if (!p->generate)
		return QUOTA_OK;
	int rc = quota__trigger_need_identity(t);
	if (rc)
		return quota__fail_prefix(rc,
					  "policy %s: target.resourceClaimTemplate.metadata."
					  "generateName needs a stable suffix",
					  p->name);
	char suffix[QUOTA__SUFFIX_LEN + 1];
	quota__name_suffix(p->name, t->identity, suffix);
	size_t keep = strlen(rendered);
	if (keep > QUOTA__NAME_MAX - QUOTA__SUFFIX_LEN)
		keep = QUOTA__NAME_MAX - QUOTA__SUFFIX_LEN;
	while (keep > 0 && ((unsigned char)rendered[keep] & 0xC0) == 0x80)
		keep--; /* never cut a character in two */
	snprintf(buf, QUOTA__NAME_MAX + 1, "%.*s%s", (int)keep, rendered, suffix);
	*name = buf;
	return QUOTA_OK;
}

int quota__claim_render(const quota__policy *p, const quota__trigger *t,
			const quota_doc *const *vars, quota_claim **out)
{
	const quota_claim_template *tp = p->pub.claim->claim;
	const uint32_t nv = QUOTA__CLAIM_VARS;
	quota__strs keep = {0};
	quota_request req[QUOTA_MAX_REQUESTS];
	quota_label labels[QUOTA_MAX_REQUESTS][QUOTA__LABELS_MAX];
	char name[QUOTA__NAME_MAX + 1];
	const char *s;
	quota_claim c;
	int rc;
	*out = NULL;
	quota_claim_init(&c, sizeof c);
	c.requests = req;
	c.request_count = p->request_count;
	c.consumer.api_group = tp->consumer.api_group;
	c.consumer.kind = tp->consumer.kind;
	if ((rc = quota__tfield_render(p, &p->meta_name, vars, nv, &keep, &s)) ||
	    (rc = render_name(p, t, s, name, &c.name)))
		goto out;
	c.ns = t->ns;
	if (*p->meta_ns.text && (rc = quota__tfield_render(p, &p->meta_ns, vars, nv, &keep, &c.ns)))
		goto out;
	if ((rc = quota__tfield_render(p, &p->consumer_ns, vars, nv, &keep, &c.consumer.ns)) ||
	    (rc = quota__tfield_render(p, &p->consumer_name, vars, nv, &keep, &c.consumer.name)))
		goto out;
	if (*tp->resource.kind) {
		c.resource.api_group = tp->resource.api_group;
		c.resource.kind = tp->resource.kind;
		if ((rc = quota__tfield_render(p, &p->resource_ns, vars, nv, &keep,
					       &c.resource.ns)) ||
		    (rc = quota__tfield_render(p, &p->resource_name, vars, nv, &keep,
					       &c.resource.name)))
			goto out;
	} else {
		c.resource = (quota_ref){t->group, t->kind, t->ns,
					 t->name ? t->name : t->generate_name};
	}
	for (uint32_t i = 0; i < p->request_count; i++) {
		const quota_request_template *rt = &tp->requests[i];
		quota_request *r = &req[i];
		quota_request_init(r, sizeof *r);
		r->amount = rt->amount;
		if ((rc = quota__tfield_render(p, &p->requests[i].type, vars, nv, &keep,
					       &r->resource_type)))
			goto out;
		for (uint32_t k = 0; k < rt->dimension_count; k++) {
			labels[i][k].key = rt->dimensions[k].key;
			if ((rc = quota__tfield_render(p, &p->requests[i].values[k], vars, nv,
						       &keep, &labels[i][k].value)))
				goto out;
		}
		r->dimensions = rt->dimension_count ? labels[i] : NULL;
		r->dimension_count = rt->dimension_count;
	}
	if (!(*out = copy_claim(&c)))
		rc = quota__fail(QUOTA_ERR_NOMEM, "policy: out of memory");
out:
	quota__strs_free(&keep);
	return rc;
}
