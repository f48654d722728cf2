/*
 * quotactl: configuration. apply loads Milo JSON objects; delete removes
 * one object by kind and name.
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "quotactl.h"

/* What apply reports about an object, by its kind. */
enum object_class {
	OBJ_OTHER,
	OBJ_REGISTRATION,
	OBJ_GRANT,
	OBJ_CLAIM,
	OBJ_CLAIM_POLICY,
	OBJ_GRANT_POLICY,
	OBJ_OUTPUT_ONLY
};

static const struct {
	const char *kind;
	enum object_class cls;
	const char *type_field; /* registrations: where the type is */
} object_kinds[] = {
	{"ResourceRegistration", OBJ_REGISTRATION, "spec.resourceType"},
	{"ServiceQuotaRegistration", OBJ_REGISTRATION, "spec.resourceName"},
	{"ResourceGrant", OBJ_GRANT, NULL},
	{"ResourceQuotaGrant", OBJ_GRANT, NULL},
	{"ResourceClaim", OBJ_CLAIM, NULL},
	{"ResourceQuotaClaim", OBJ_CLAIM, NULL},
	{"ClaimCreationPolicy", OBJ_CLAIM_POLICY, NULL},
	{"GrantCreationPolicy", OBJ_GRANT_POLICY, NULL},
	{"AllowanceBucket", OBJ_OUTPUT_ONLY, NULL},
};

/* One object of a file: how it is shown and how its generation is found. */
struct object {
	enum object_class cls;
	char label[600];  /* "resourcegrant/ops/acme" */
	const char *ns;   /* the identity, borrowed from the document */
	const char *name; /* (for registrations: the type) */
	int64_t before;   /* generation before the load, 0 when it did not exist */
};

/* A file to apply: its text read and parsed before the engine is opened. */
struct input {
	char *path;
	char *text;
	size_t len;
	quota_doc *doc;
	struct object *objects;
	size_t object_count;
};

/* The generation of an object in the engine, 0 when there is none. */
static int64_t generation_of(quota_engine *e, const struct object *o)
{
	int64_t gen = 0;
	void *copy = NULL;
	if (!o->name)
		return 0;
	switch (o->cls) {
	case OBJ_REGISTRATION: {
		quota_registration *r;
		if (quota_registration_get(e, o->name, &r) == QUOTA_OK)
			gen = r->generation, copy = r;
		break;
	}
	case OBJ_GRANT: {
		quota_grant *g;
		if (quota_grant_get(e, o->ns, o->name, &g) == QUOTA_OK)
			gen = g->generation, copy = g;
		break;
	}
	case OBJ_CLAIM_POLICY: {
		quota_claim_policy *p;
		if (quota_claim_policy_get(e, o->name, &p) == QUOTA_OK)
			gen = p->generation, copy = p;
		break;
	}
	case OBJ_GRANT_POLICY: {
		quota_grant_policy *p;
		if (quota_grant_policy_get(e, o->name, &p) == QUOTA_OK)
			gen = p->generation, copy = p;
		break;
	}
	default: break;
	}
	quota_free(copy);
	return gen;
}

/* Fill o from one object of the input (a map; anything else the loader refuses). */
static void describe_object(const quota_doc *item, struct object *o)
{
	const char *kind = doc_string(item, "kind");
	const char *type_field = NULL;
	char lower[64];
	size_t i;

	*o = (struct object){.cls = OBJ_OTHER};
	for (i = 0; kind && i < sizeof object_kinds / sizeof object_kinds[0]; i++)
		if (strcmp(object_kinds[i].kind, kind) == 0) {
			o->cls = object_kinds[i].cls;
			type_field = object_kinds[i].type_field;
		}
	for (i = 0; kind && kind[i] && i + 1 < sizeof lower; i++)
		lower[i] = (char)tolower((unsigned char)kind[i]);
	lower[i] = '\0';
	o->ns = doc_string(item, "metadata.namespace");
	o->name = type_field ? doc_string(item, type_field) : doc_string(item, "metadata.name");
	const char *shown = o->name;
	if (o->cls == OBJ_REGISTRATION && doc_string(item, "metadata.name"))
		shown = doc_string(item, "metadata.name");
	if (o->cls == OBJ_REGISTRATION || !o->ns || !*o->ns)
		snprintf(o->label, sizeof o->label, "%s/%s", kind ? lower : "object",
			 shown ? shown : "?");
	else
		snprintf(o->label, sizeof o->label, "%s/%s/%s", lower, o->ns, shown ? shown : "?");
}

/* The objects of a document: a List's (or a typed list's) items, an array, or one object. */
static int collect_objects(struct input *in)
{
	const quota_doc *items = in->doc;
	const char *kind = doc_string(in->doc, "kind");
	size_t n = 1;

	if (kind && strlen(kind) >= 4 && strcmp(kind + strlen(kind) - 4, "List") == 0 &&
	    quota_doc_map_get(in->doc, "items", 5, &items) != QUOTA_OK)
		items = NULL;
	if (items && quota_doc_get_type(items) == QUOTA_DOC_LIST)
		quota_doc_list_size(items, &n);
	else if (items != in->doc)
		n = 0;
	in->objects = calloc(n ? n : 1, sizeof *in->objects);
	if (!in->objects) {
		report("out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const quota_doc *item = items;
		if (quota_doc_get_type(items) == QUOTA_DOC_LIST &&
		    quota_doc_list_at(items, i, &item) != QUOTA_OK)
			continue;
		if (quota_doc_get_type(item) == QUOTA_DOC_MAP)
			describe_object(item, &in->objects[in->object_count++]);
	}
	return 0;
}

static int read_input(struct input *in)
{
	if (read_file(in->path, &in->text, &in->len) != 0)
		return EXIT_ERROR;
	int status = quota_doc_parse_json(in->text, in->len, &in->doc);
	if (status != QUOTA_OK)
		return report_status(status, file_label(in->path));
	return collect_objects(in) == 0 ? EXIT_OK : EXIT_ERROR;
}

static void free_inputs(struct input *inputs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(inputs[i].path);
		free(inputs[i].text);
		free(inputs[i].objects);
		quota_doc_unref(inputs[i].doc);
	}
	free(inputs);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct input *)a)->path, ((const struct input *)b)->path);
}

static int is_json_name(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* The files -f names: the file itself, or a directory's *.json sorted by name. */
static int list_inputs(const char *path, struct input **out, size_t *count)
{
	struct stat st;
	struct input *inputs = NULL;
	size_t n = 0;

	*out = NULL;
	*count = 0;
	if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		inputs = calloc(1, sizeof *inputs);
		if (!inputs || !(inputs[0].path = strdup(path))) {
			free(inputs);
			report("out of memory");
			return EXIT_ERROR;
		}
		*out = inputs;
		*count = 1;
		return EXIT_OK;
	}
	DIR *d = opendir(path);
	if (!d) {
		report("%s: %s", path, strerror(errno));
		return EXIT_ERROR;
	}
	struct dirent *ent;
	int rc = EXIT_OK;
	while (rc == EXIT_OK && (ent = readdir(d))) {
		if (!is_json_name(ent->d_name))
			continue;
		struct input *grown = realloc(inputs, (n + 1) * sizeof *inputs);
		if (!grown) {
			rc = EXIT_ERROR;
			break;
		}
		inputs = grown;
		inputs[n] = (struct input){0};
		if (asprintf(&inputs[n].path, "%s/%s", path, ent->d_name) < 0) {
			inputs[n].path = NULL;
			rc = EXIT_ERROR;
		}
		n++;
	}
	closedir(d);
	if (rc != EXIT_OK) {
		report("out of memory");
		free_inputs(inputs, n);
		return rc;
	}
	if (n == 0) {
		report("%s: no *.json file in it", path);
		free(inputs);
		return EXIT_INPUT;
	}
	qsort(inputs, n, sizeof *inputs, by_name);
	*out = inputs;
	*count = n;
	return EXIT_OK;
}

/* Load one file: its configuration at once, then its claims, acquired one by one. */
static int apply_input(quota_engine *e, struct input *in)
{
	const char *file = file_label(in->path);
	quota_json_result *res = NULL;

	for (size_t i = 0; i < in->object_count; i++)
		in->objects[i].before = generation_of(e, &in->objects[i]);
	int status = quota_json_load_doc(e, in->doc, NULL, &res);
	if (status != QUOTA_OK) {
		report_status(status, file);
		return input_exit_code(status);
	}
	for (size_t i = 0; i < in->object_count; i++) {
		const struct object *o = &in->objects[i];
		if (o->cls == OBJ_CLAIM || o->cls == OBJ_OUTPUT_ONLY)
			continue;
		int64_t after = generation_of(e, o);
		const char *what = o->cls == OBJ_OTHER  ? "applied"
				   : o->before == 0     ? "created"
				   : o->before != after ? "configured"
							: "unchanged";
		printf("%s %s\n", o->label, what);
	}
	int rc = EXIT_OK;
	for (uint32_t i = 0; i < res->claim_count; i++) {
		char where[512];
		snprintf(where, sizeof where, "%s%s%s", file, *res->claim_paths[i] ? ": " : "",
			 res->claim_paths[i]);
		int one = report_claim_decision(e, where, &res->claims[i], VERB_ACQUIRE,
						OUTPUT_TABLE);
		if (rc == EXIT_OK)
			rc = one;
	}
	quota_free(res);
	return rc;
}

int cmd_apply(struct cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
		{"filename", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const struct command *cmd = find_command(argv[0]);
	const char *path = NULL;
	int c;

	while ((c = next_option(cli, cmd, argc, argv, "f:", longs)) != -1) {
		if (c == 'f')
			path = optarg;
		else
			return c == OPT_HELP ? print_usage(cmd) : EXIT_INPUT;
	}
	int bad = check_file_only(cmd, argc, argv, path, "FILE|DIR|-");
	if (bad != EXIT_OK)
		return bad;

	/* Every file is read and parsed before anything is applied. */
	struct input *inputs;
	size_t n;
	int rc = list_inputs(path, &inputs, &n);
	for (size_t i = 0; rc == EXIT_OK && i < n; i++)
		rc = read_input(&inputs[i]);
	quota_engine *e = NULL;
	if (rc == EXIT_OK)
		rc = engine_open(cli, NULL, &e);
	/* A denied claim is an answer, not a failure: the next files are still applied. */
	int stop = rc != EXIT_OK;
	for (size_t i = 0; !stop && i < n; i++) {
		int one = apply_input(e, &inputs[i]);
		if (rc == EXIT_OK)
			rc = one;
		stop = one != EXIT_OK && one != EXIT_DENIED;
	}
	quota_engine_free(e);
	free_inputs(inputs, n);
	return rc;
}

/* --- delete --- */

static int delete_registration(quota_engine *e, const char *ns, const char *name)
{
	(void)ns;
	return quota_registration_delete(e, name);
}

static int delete_claim_policy(quota_engine *e, const char *ns, const char *name)
{
	(void)ns;
	return quota_claim_policy_delete(e, name);
}

static int delete_grant_policy(quota_engine *e, const char *ns, const char *name)
{
	(void)ns;
	return quota_grant_policy_delete(e, name);
}

static const struct {
	const char *name; /* as the command line says it */
	const char *kind; /* Milo's kind, lower-cased: also accepted, and shown */
	int namespaced;   /* NAME may be NS/NAME */
	const char *done; /* what the line says afterwards */
	int (*remove)(quota_engine *e, const char *ns, const char *name);
} deletable[] = {
	{"registration", "resourceregistration", 0, "deleted", delete_registration},
	{"grant", "resourcegrant", 1, "deleted", quota_grant_delete},
	{"claim", "resourceclaim", 1, "released", quota_claim_release},
	{"claimpolicy", "claimcreationpolicy", 0, "deleted", delete_claim_policy},
	{"grantpolicy", "grantcreationpolicy", 0, "deleted", delete_grant_policy},
};

int cmd_delete(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd = find_command(argv[0]);
	const char *ns = "", *name;
	char buf[600];
	size_t k;
	int c;

	while ((c = next_option(cli, cmd, argc, argv, "", NULL)) != -1)
		return c == OPT_HELP ? print_usage(cmd) : EXIT_INPUT;
	if (argc - optind != 2)
		return usage_error(cmd, "give KIND NAME");
	for (k = 0; k < sizeof deletable / sizeof deletable[0]; k++)
		if (strcmp(argv[optind], deletable[k].name) == 0 ||
		    strcmp(argv[optind], deletable[k].kind) == 0)
			break;
	if (k == sizeof deletable / sizeof deletable[0])
		return usage_error(cmd, "unknown kind \"%s\"", argv[optind]);
	name = argv[optind + 1];
	if (deletable[k].namespaced &&
	    parse_ns_name(argv[optind + 1], buf, sizeof buf, &ns, &name) != 0)
		return usage_error(cmd, "\"%s\" is not NS/NAME", argv[optind + 1]);

	quota_engine *e;
	int rc = engine_open(cli, NULL, &e);
	if (rc != EXIT_OK)
		return rc;
	int status = deletable[k].remove(e, ns, name);
	if (status == QUOTA_OK)
		printf("%s/%s %s\n", deletable[k].kind, argv[optind + 1], deletable[k].done);
	else
		rc = report_status(status, "delete");
	quota_engine_free(e);
	return rc;
}
