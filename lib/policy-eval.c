/*
 * Evaluating policies: what admission and grant provisioning share. The
 * trigger's identity, constraints, template fields and generated names.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "doc.h"
#include "error.h"
#include "hash.h"
#include "policy.h"
#include "util.h"

/* A string member of map d, or NULL when d is no map or the key is absent
 * or null; QUOTA_ERR_INVALID when it holds something else. */
static int read_string(const quota_doc *d, const char *key, const char *field, const char **out)
{
	*out = NULL;
	const quota__entry *en = d && d->type == QUOTA_DOC_MAP
					 ? quota__doc_find(d, key, strlen(key))
					 : NULL;
	if (!en || en->value->type == QUOTA_DOC_NULL)
		return QUOTA_OK;
	if (en->value->type != QUOTA_DOC_STRING)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must be a string", field);
	*out = en->value->u.s.ptr;
	return quota__check_text(field, *out, 0, QUOTA__NAME_MAX);
}

const char *quota__doc_string_at(const quota_doc *d, const char *key)
{
	const quota__entry *en = d && d->type == QUOTA_DOC_MAP
					 ? quota__doc_find(d, key, strlen(key))
					 : NULL;
	if (!en || en->value->type != QUOTA_DOC_STRING)
		return NULL;
	/* A string with a NUL in it would be cut short as C text: none. */
	const char *s = en->value->u.s.ptr;
	return strlen(s) == en->value->u.s.len ? s : NULL;
}

int quota__trigger_read(const quota_doc *d, quota__trigger *t)
{
	int rc;
	/* Field by field: group and identity are large and written below. */
	t->doc = d;
	t->api_version = t->kind = t->ns = t->name = t->generate_name = t->uid = NULL;
	t->group[0] = t->identity[0] = '\0';
	if (!d)
		return quota__fail(QUOTA_ERR_INVALID, "trigger: must not be NULL");
	if (d->type != QUOTA_DOC_MAP)
		return quota__fail(QUOTA_ERR_INVALID, "trigger: must be a map (an object)");
	if ((rc = read_string(d, "apiVersion", "trigger.apiVersion", &t->api_version)) ||
	    (rc = read_string(d, "kind", "trigger.kind", &t->kind)))
		return rc;
	if (quota__empty(t->api_version) || quota__empty(t->kind))
		return quota__fail(QUOTA_ERR_INVALID, "trigger.%s: must be a non-empty string",
				   quota__empty(t->api_version) ? "apiVersion" : "kind");
	const quota__entry *meta = quota__doc_find(d, "metadata", 8);
	const quota_doc *m = meta ? meta->value : NULL;
	if (m && m->type != QUOTA_DOC_MAP && m->type != QUOTA_DOC_NULL)
		return quota__fail(QUOTA_ERR_INVALID, "trigger.metadata: must be a map");
	if ((rc = read_string(m, "name", "trigger.metadata.name", &t->name)) ||
	    (rc = read_string(m, "generateName", "trigger.metadata.generateName",
			      &t->generate_name)) ||
	    (rc = read_string(m, "namespace", "trigger.metadata.namespace", &t->ns)) ||
	    (rc = read_string(m, "uid", "trigger.metadata.uid", &t->uid)))
		return rc;
	const char *slash = strchr(t->api_version, '/');
	size_t glen = slash ? (size_t)(slash - t->api_version) : 0;
	if (glen > QUOTA__GROUP_MAX)
		return quota__fail(QUOTA_ERR_INVALID,
				   "trigger.apiVersion: group longer than %d bytes",
				   QUOTA__GROUP_MAX);
	memcpy(t->group, t->api_version, glen);
	t->group[glen] = '\0';
	/* The identity: the uid, else the object's group, kind, namespace and
	 * name (the version is not part of it). */
	if (!quota__empty(t->uid))
		snprintf(t->identity, sizeof t->identity, "uid:%s", t->uid);
	else if (!quota__empty(t->name))
		snprintf(t->identity, sizeof t->identity, "ref:%s/%s/%s/%s", t->group, t->kind,
			 quota__str(t->ns), t->name);
	return QUOTA_OK;
}

int quota__trigger_need_identity(const quota__trigger *t)
{
	if (t->identity[0])
		return QUOTA_OK;
	return quota__fail(QUOTA_ERR_INVALID,
			   "trigger.metadata: has neither uid nor name, so the object cannot be "
			   "told apart from others");
}

/* A policy's field as evaluation errors name it (without "policy."). */
static const char *eval_field(const char *field)
{
	return strncmp(field, "policy.", 7) == 0 ? field + 7 : field;
}

int quota__policy_applies(const quota__policy *p, const quota_doc *const *vars, uint32_t nvars)
{
	for (uint32_t i = 0; i < p->constraint_count; i++) {
		int32_t holds = 0;
		int rc = quota_expr_eval_bool(p->constraints[i], vars, nvars, NULL, &holds);
		if (rc) {
			const char *msg = p->kind == QUOTA__CLAIM_POLICY
						  ? p->pub.claim->constraints[i].message
						  : p->pub.grant->constraints[i].message;
			return quota__fail_prefix(
				rc, "policy %s: trigger.constraints[%u].expression%s%s%s", p->name,
				i, *msg ? " (" : "", msg, *msg ? ")" : "");
		}
		if (!holds)
			return 0;
	}
	return 1;
}

void quota__strs_free(quota__strs *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		quota__free(s->v[i]);
	quota__free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

int quota__tfield_render(const quota__policy *p, const quota__tfield *f,
			 const quota_doc *const *vars, uint32_t nvars, quota__strs *keep,
			 const char **out)
{
	*out = f->text;
	if (!f->t)
		return QUOTA_OK;
	if (keep->n == keep->cap) {
		uint32_t cap = keep->cap ? 2 * keep->cap : 8;
		char **v = quota__malloc(cap * sizeof *v);
		if (!v)
			return quota__fail(QUOTA_ERR_NOMEM, "policy: out of memory");
		if (keep->n)
			memcpy(v, keep->v, keep->n * sizeof *v);
		quota__free(keep->v);
		keep->v = v;
		keep->cap = cap;
	}
	char *text = NULL;
	size_t len = 0;
	int rc = quota_template_render(f->t, vars, nvars, NULL, &text, &len);
	if (rc)
		return quota__fail_prefix(rc, "policy %s: %s", p->name, eval_field(f->field));
	keep->v[keep->n++] = text;
	if (strlen(text) != len)
		return quota__fail(QUOTA_ERR_EVAL, "policy %s: %s: rendered a NUL character",
				   p->name, eval_field(f->field));
	*out = text;
	return QUOTA_OK;
}

/* Consonants and digits that cannot spell words, as Kubernetes' own
 * generated names use. */
static const char suffix_chars[] = "bcdfghjklmnpqrstvwxz2456789";

void quota__name_suffix(const char *policy, const char *identity, char out[QUOTA__SUFFIX_LEN + 1])
{
	/* A fixed key: the same names in every process and engine. */
	static const uint64_t key[2] = {UINT64_C(0x6c696271756f7461), UINT64_C(0x706f6c6963792d31)};
	char buf[QUOTA__NAME_MAX + 1 + QUOTA__IDENTITY_MAX + 1];
	size_t a = strlen(policy), b = strlen(identity);
	memcpy(buf, policy, a);
	buf[a] = '\0';
	memcpy(buf + a + 1, identity, b);
	uint64_t h = quota__siphash(key, buf, a + 1 + b);
	for (int i = 0; i < QUOTA__SUFFIX_LEN; i++) {
		out[i] = suffix_chars[h % (sizeof suffix_chars - 1)];
		h /= sizeof suffix_chars - 1;
	}
	out[QUOTA__SUFFIX_LEN] = '\0';
}
