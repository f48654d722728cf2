/*
 * libFuzzer target for the JSON object loader.
 *
 * Each input is loaded into a fresh engine (the first byte picks options:
 * a dry run, a small depth limit). A load must either succeed or fail
 * with a detail; what succeeded must survive a round trip: its
 * registrations, grants and claims, written out and loaded into another
 * engine, must write out the same (apart from status, which says when
 * things happened), policies included. Claims that came back are acquired, to run them
 * through the engine too. Any broken promise aborts.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <quota/quota.h>

#define SPEC                                                                                       \
	(QUOTA_JSON_REGISTRATIONS | QUOTA_JSON_GRANTS | QUOTA_JSON_CLAIMS |                        \
	 QUOTA_JSON_CLAIM_POLICIES | QUOTA_JSON_GRANT_POLICIES)

static void broken(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz-json-load: %s: %s\n", what, detail);
	abort();
}

/* The dump without the status of its items, as text. */
static char *spec_text(const quota_doc *dump)
{
	const quota_doc *items, *item;
	quota_doc *list = NULL;
	char *text = NULL;
	size_t n = 0;
	if (quota_doc_map_get(dump, "items", 5, &items) || quota_doc_list_size(items, &n) ||
	    quota_doc_new_list(&list))
		broken("dump", "no items");
	for (size_t i = 0; i < n; i++) {
		quota_doc *copy = NULL;
		size_t keys = 0;
		if (quota_doc_list_at(items, i, &item) || quota_doc_map_size(item, &keys) ||
		    quota_doc_new_map(&copy))
			broken("dump", "an item is no map");
		for (size_t k = 0; k < keys; k++) {
			const char *key;
			size_t len;
			const quota_doc *v;
			quota_doc_map_entry(item, k, &key, &len, &v);
			if (strcmp(key, "status") != 0 &&
			    quota_doc_map_set(copy, key, len, quota_doc_ref(v)) != QUOTA_OK)
				broken("copy", quota_last_error());
		}
		if (quota_doc_list_append(list, copy) != QUOTA_OK)
			broken("copy", quota_last_error());
	}
	if (quota_doc_to_json(list, &text, NULL) != QUOTA_OK)
		broken("to_json", quota_last_error());
	quota_doc_unref(list);
	return text;
}

/* Load text into a fresh engine, acquire its claims, write it out: the
 * dump as text in *dump, its specs in *spec. */
static int load_dump(const char *text, size_t len, const quota_json_options *o, char **dump,
		     char **spec)
{
	quota_engine *e = NULL;
	quota_json_result *res = NULL;
	*dump = *spec = NULL;
	if (quota_engine_new(&e, NULL) != QUOTA_OK)
		return QUOTA_ERR_NOMEM;
	int rc = quota_json_load(e, text, len, o, &res);
	if (rc == QUOTA_OK) {
		for (uint32_t i = 0; i < res->claim_count; i++)
			quota_claim_acquire(e, &res->claims[i], NULL);
		quota_doc *d = NULL;
		if (quota_json_dump(e, SPEC, &d) != QUOTA_OK ||
		    quota_doc_to_json(d, dump, NULL) != QUOTA_OK)
			broken("dump", quota_last_error());
		*spec = spec_text(d);
		quota_doc_unref(d);
		/* every other writer too, for the sanitizers */
		quota_doc *all = NULL, *view = NULL;
		if (quota_json_dump(e, QUOTA_JSON_ALL, &all) != QUOTA_OK ||
		    quota_json_quotas(e, NULL, &view) != QUOTA_OK)
			broken("dump", quota_last_error());
		quota_doc_unref(all);
		quota_doc_unref(view);
	} else if (!*quota_last_error()) {
		broken("a failed load", "left no detail");
	}
	quota_free(res);
	quota_engine_free(e);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	quota_json_options o;
	char *one = NULL, *two = NULL, *spec1 = NULL, *spec2 = NULL;
	if (size < 1)
		return 0;
	quota_json_options_init(&o, sizeof o);
	if (data[0] & 1)
		o.flags |= QUOTA_JSON_DRY_RUN;
	if (data[0] & 2)
		o.max_depth = 6;
	const char *text = (const char *)data + 1;
	int rc = load_dump(text, size - 1, &o, &one, &spec1);
	if (rc == QUOTA_OK && !(o.flags & QUOTA_JSON_DRY_RUN)) {
		if (load_dump(one, strlen(one), NULL, &two, &spec2) != QUOTA_OK)
			broken("a dump does not load back", quota_last_error());
		if (strcmp(spec1, spec2) != 0)
			broken("a dump loaded back writes differently", spec2);
	}
	quota_free(one);
	quota_free(two);
	quota_free(spec1);
	quota_free(spec2);
	return 0;
}
