/*
 * Writing the engine's objects: one at a time, or every kind asked for
 * as one List.
 * SPDX-License-Identifier: MIT
 */
#include "../error.h"
#include "objects.h"

QUOTA_API int quota_json_dump(quota_engine *e, uint32_t kinds, quota_doc **out)
{
	int rc;
	if (!e || !out)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL", e ? "out" : "engine");
	*out = NULL;
	if (kinds & ~(uint32_t)QUOTA_JSON_ALL)
		return quota__fail(QUOTA_ERR_INVALID, "kinds: unknown bits 0x%x",
				   kinds & ~(uint32_t)QUOTA_JSON_ALL);
	quota__w list = quota__w_list(), w = quota__w_map();
	quota__w_str(&w, "apiVersion", "v1");
	quota__w_str(&w, "kind", "List");
	rc = list.rc ? list.rc : w.rc;
	for (size_t i = 0; i < quota__kind_count && !rc; i++)
		if (quota__kinds[i].dump && (kinds & quota__kinds[i].dump_bit))
			rc = quota__kinds[i].dump(e, &list);
	if (rc) {
		quota_doc_unref(quota__w_end(&list, &(int){0}));
		quota_doc_unref(quota__w_end(&w, &(int){0}));
		return quota__w_result(rc, "dump");
	}
	quota__w_child(&w, "items", &list);
	*out = quota__w_end(&w, &rc);
	return quota__w_result(rc, "dump");
}

QUOTA_API int quota_json_dump_text(quota_engine *e, uint32_t kinds, char **text, size_t *len)
{
	quota_doc *d;
	if (!text)
		return quota__fail(QUOTA_ERR_INVALID, "text: must not be NULL");
	*text = NULL;
	int rc = quota_json_dump(e, kinds, &d);
	if (rc)
		return rc;
	rc = quota_doc_to_json(d, text, len);
	quota_doc_unref(d);
	return rc;
}

QUOTA_API int quota_json_registration(quota_engine *e, const char *resource_type, quota_doc **out)
{
	quota_registration *r;
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "out: must not be NULL");
	*out = NULL;
	int rc = quota_registration_get(e, resource_type, &r);
	if (rc)
		return rc;
	*out = quota__registration_doc(r, &rc);
	quota_free(r);
	return quota__w_result(rc, "registration");
}

QUOTA_API int quota_json_grant(quota_engine *e, const char *ns, const char *name, quota_doc **out)
{
	quota_grant *g;
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "out: must not be NULL");
	*out = NULL;
	int rc = quota_grant_get(e, ns, name, &g);
	if (rc)
		return rc;
	*out = quota__grant_doc(g, &rc);
	quota_free(g);
	return quota__w_result(rc, "grant");
}

QUOTA_API int quota_json_claim(quota_engine *e, const char *ns, const char *name, quota_doc **out)
{
	quota_claim_info *c;
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "out: must not be NULL");
	*out = NULL;
	int rc = quota_claim_get(e, ns, name, &c);
	if (rc)
		return rc;
	*out = quota__claim_doc(c, &rc);
	quota_free(c);
	return quota__w_result(rc, "claim");
}

QUOTA_API int quota_json_claim_policy(quota_engine *e, const char *name, quota_doc **out)
{
	quota_claim_policy *p;
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "out: must not be NULL");
	*out = NULL;
	int rc = quota_claim_policy_get(e, name, &p);
	if (rc)
		return rc;
	*out = quota__claim_policy_doc(p, &rc);
	quota_free(p);
	return quota__w_result(rc, "claim policy");
}

QUOTA_API int quota_json_grant_policy(quota_engine *e, const char *name, quota_doc **out)
{
	quota_grant_policy *p;
	if (!out)
		return quota__fail(QUOTA_ERR_INVALID, "out: must not be NULL");
	*out = NULL;
	int rc = quota_grant_policy_get(e, name, &p);
	if (rc)
		return rc;
	*out = quota__grant_policy_doc(p, &rc);
	quota_free(p);
	return quota__w_result(rc, "grant policy");
}
