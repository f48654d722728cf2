/*
 * quotactl: reading. get lists objects as a table for people or as Milo
 * JSON for programs; describe shows one bucket or claim in detail.
 *
 * SPDX-License-Identifier: MIT
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quotactl.h"

/* What get was asked for. */
struct get_request {
	enum output_format format;
	const quota_ref *consumer; /* --consumer, or NULL */
};

/* A table that could not grow is reported once, where it is printed. */
static int print_table(struct table *t, size_t sort_keys, int failed)
{
	if (failed) {
		table_free(t);
		report("out of memory");
		return EXIT_ERROR;
	}
	table_sort(t, sort_keys);
	table_print(t, stdout);
	table_free(t);
	return EXIT_OK;
}

static int print_doc_and_free(quota_doc *doc)
{
	int rc = print_json(stdout, doc);
	quota_doc_unref(doc);
	return rc == QUOTA_OK ? EXIT_OK : report_status(rc, "writing JSON");
}

/* Does a Milo object's spec.consumerRef name this consumer? */
static int names_consumer(const quota_doc *item, const quota_ref *c)
{
	const char *kind = doc_string(item, "spec.consumerRef.kind");
	const char *name = doc_string(item, "spec.consumerRef.name");
	const char *ns = doc_string(item, "spec.consumerRef.namespace");
	return kind && name && strcmp(kind, c->kind) == 0 && strcmp(name, c->name) == 0 &&
	       strcmp(ns ? ns : "", c->ns ? c->ns : "") == 0;
}

/* The engine's objects of one kind as a List, only the consumer's when one is given. */
static int print_dump(quota_engine *e, uint32_t kinds, const quota_ref *consumer)
{
	quota_doc *all, *items = NULL, *picked;
	const quota_doc *list;
	size_t n = 0;
	int rc = quota_json_dump(e, kinds, &all);
	if (rc != QUOTA_OK)
		return report_status(rc, "get");
	if (!consumer)
		return print_doc_and_free(all);
	rc = quota_doc_map_get(all, "items", 5, &list);
	if (rc == QUOTA_OK)
		rc = quota_doc_list_size(list, &n);
	if (rc == QUOTA_OK)
		rc = quota_doc_new_list(&items);
	for (size_t i = 0; rc == QUOTA_OK && i < n; i++) {
		const quota_doc *item;
		rc = quota_doc_list_at(list, i, &item);
		if (rc == QUOTA_OK && names_consumer(item, consumer))
			rc = quota_doc_list_append(items, quota_doc_ref(item));
	}
	quota_doc_unref(all);
	if (rc == QUOTA_OK) {
		rc = list_doc(items, &picked);
		items = NULL;
	}
	quota_doc_unref(items);
	if (rc != QUOTA_OK)
		return report_status(rc, "get");
	return print_doc_and_free(picked);
}

static const char *class_text(int32_t cls)
{
	static const char *const names[] = {"?", "Entity", "Allocation", "Feature", "Rate"};
	return cls >= 1 && cls <= 4 ? names[cls] : names[0];
}

static int get_registrations(quota_engine *e, const struct get_request *req)
{
	static const char *const header[] = {"TYPE",          "CONSUMER",    "CLASS",     "UNIT",
					     "DEFAULT LIMIT", "ENFORCEMENT", "GENERATION"};
	if (req->format == OUTPUT_JSON)
		return print_dump(e, QUOTA_JSON_REGISTRATIONS, NULL);

	quota_registration **regs;
	size_t n;
	int rc = quota_registration_list(e, &regs, &n);
	if (rc != QUOTA_OK)
		return report_status(rc, "get registrations");
	struct table t;
	int failed = table_init(&t, 7, header);
	for (size_t i = 0; i < n; i++) {
		const quota_registration *r = regs[i];
		char limit[24], gen[24];
		snprintf(gen, sizeof gen, "%" PRId64, r->generation);
		const char *row[] = {r->resource_type,
				     r->consumer_type.kind,
				     class_text(r->resource_class),
				     r->base_unit && *r->base_unit ? r->base_unit : "-",
				     amount_text(r->default_limit, limit, sizeof limit),
				     r->enforcement == QUOTA_WARN ? "Warn" : "Enforce",
				     gen};
		failed |= table_add(&t, row);
	}
	quota_free(regs);
	return print_table(&t, 1, failed);
}

/* "type=4", "type=4+2", "type=5/1s": what one allowance gives. */
static void allowance_text(const quota_allowance *a, char *buf, size_t len)
{
	size_t used = (size_t)snprintf(buf, len, "%s=", a->resource_type);
	for (uint32_t b = 0; b < a->bucket_count && used < len; b++) {
		const quota_grant_bucket *gb = &a->buckets[b];
		char amount[24], period[24];
		used += (size_t)snprintf(buf + used, len - used, "%s%s%s%s", b ? "+" : "",
					 amount_text(gb->amount, amount, sizeof amount),
					 gb->period_ms ? "/" : "",
					 gb->period_ms ? duration_text(gb->period_ms, period, 24)
						       : "");
	}
}

static int get_grants(quota_engine *e, const struct get_request *req)
{
	static const char *const header[] = {"NAMESPACE", "NAME", "CONSUMER", "ALLOWANCES",
					     "GENERATION"};
	if (req->format == OUTPUT_JSON)
		return print_dump(e, QUOTA_JSON_GRANTS, req->consumer);

	quota_grant **grants;
	size_t n;
	int rc = quota_grant_list(e, req->consumer, &grants, &n);
	if (rc != QUOTA_OK)
		return report_status(rc, "get grants");
	struct table t;
	int failed = table_init(&t, 5, header);
	for (size_t i = 0; i < n; i++) {
		const quota_grant *g = grants[i];
		char consumer[600], allowances[1024] = "", gen[24];
		size_t used = 0;
		for (uint32_t a = 0; a < g->allowance_count && used < sizeof allowances; a++) {
			if (a)
				used += (size_t)snprintf(allowances + used,
							 sizeof allowances - used, ", ");
			if (used < sizeof allowances)
				allowance_text(&g->allowances[a], allowances + used,
					       sizeof allowances - used);
			used = strlen(allowances);
		}
		snprintf(gen, sizeof gen, "%" PRId64, g->generation);
		const char *row[] = {g->ns && *g->ns ? g->ns : "-", g->name,
				     ref_text(&g->consumer, consumer, sizeof consumer), allowances,
				     gen};
		failed |= table_add(&t, row);
	}
	quota_free(grants);
	return print_table(&t, 2, failed);
}

/* A rate bucket's limits, "5/1s", and what is left of the tightest. */
static void rates_text(const quota_bucket_info *b, char *limit, size_t len, char *left)
{
	size_t used = 0;
	int64_t least = -1;
	limit[0] = '\0';
	for (uint32_t i = 0; i < b->rate_count && used < len; i++) {
		const quota_rate_info *r = b->rates[i];
		char amount[24], period[24];
		used += (size_t)snprintf(limit + used, len - used, "%s%s/%s", i ? "," : "",
					 amount_text(r->limit, amount, sizeof amount),
					 duration_text(r->period_ms, period, sizeof period));
		if (r->remaining != QUOTA_UNLIMITED && (least < 0 || r->remaining < least))
			least = r->remaining;
	}
	amount_text(least, left, 24);
}

int print_buckets(quota_engine *e, const quota_ref *consumer)
{
	static const char *const header[] = {"CONSUMER", "RESOURCE TYPE", "LIMIT",  "ALLOCATED",
					     "RESERVED", "AVAILABLE",     "CLAIMS", "GRANTS"};
	quota_bucket_iter *it;
	int rc = quota_bucket_iter_new(e, consumer, NULL, &it);
	if (rc != QUOTA_OK)
		return report_status(rc, "get buckets");
	struct table t;
	int failed = table_init(&t, 8, header);
	const quota_bucket_info *b;
	while ((rc = quota_bucket_iter_next(it, &b)) == QUOTA_OK) {
		char who[600], type[1200], limit[256], allocated[24], reserved[24];
		char available[24], claims[24], grants[24];
		snprintf(type, sizeof type, "%s%s%s%s", b->resource_type, *b->selector ? "[" : "",
			 b->selector, *b->selector ? "]" : "");
		if (b->rate_count) {
			rates_text(b, limit, sizeof limit, available);
		} else {
			amount_text(b->limit, limit, sizeof limit);
			amount_text(b->available, available, sizeof available);
		}
		snprintf(allocated, sizeof allocated, "%" PRId64, b->allocated);
		snprintf(reserved, sizeof reserved, "%" PRId64, b->reserved);
		snprintf(claims, sizeof claims, "%" PRId64, b->claim_count + b->reserved_count);
		snprintf(grants, sizeof grants, "%" PRId64, b->grant_count);
		const char *row[] = {ref_text(&b->consumer, who, sizeof who),
				     type,
				     limit,
				     allocated,
				     reserved,
				     available,
				     claims,
				     grants};
		failed |= table_add(&t, row);
	}
	quota_bucket_iter_free(it);
	if (rc != QUOTA_ITER_DONE) {
		table_free(&t);
		return report_status(rc, "get buckets");
	}
	return print_table(&t, 2, failed);
}

static int get_buckets(quota_engine *e, const struct get_request *req)
{
	if (req->format == OUTPUT_JSON)
		return print_dump(e, QUOTA_JSON_BUCKETS, req->consumer);
	return print_buckets(e, req->consumer);
}

static int get_claims(quota_engine *e, const struct get_request *req)
{
	static const char *const header[] = {"NAMESPACE", "NAME", "CONSUMER", "STATE", "REQUESTS"};
	if (req->format == OUTPUT_JSON)
		return print_dump(e, QUOTA_JSON_CLAIMS, req->consumer);

	quota_claim_iter *it;
	int rc = quota_claim_iter_new(e, req->consumer, 0, &it);
	if (rc != QUOTA_OK)
		return report_status(rc, "get claims");
	struct table t;
	int failed = table_init(&t, 5, header);
	const quota_claim_info *c;
	while ((rc = quota_claim_iter_next(it, &c)) == QUOTA_OK) {
		char consumer[600], requests[1024] = "";
		size_t used = 0;
		for (uint32_t i = 0; i < c->allocation_count && used < sizeof requests; i++)
			used += (size_t)snprintf(requests + used, sizeof requests - used,
						 "%s%s=%" PRId64, i ? ", " : "",
						 c->allocations[i]->resource_type,
						 c->allocations[i]->requested);
		const char *row[] = {c->ns && *c->ns ? c->ns : "-", c->name,
				     ref_text(&c->consumer, consumer, sizeof consumer),
				     claim_state_text(c->state), requests};
		failed |= table_add(&t, row);
	}
	quota_claim_iter_free(it);
	if (rc != QUOTA_ITER_DONE) {
		table_free(&t);
		return report_status(rc, "get claims");
	}
	return print_table(&t, 2, failed);
}

static int add_policy_row(struct table *t, const char *kind, const char *name,
			  const quota_trigger_ref *trigger, uint32_t constraints, uint32_t flags,
			  int64_t generation)
{
	char trig[600], count[24], gen[24];
	snprintf(trig, sizeof trig, "%s %s", trigger->api_version, trigger->kind);
	snprintf(count, sizeof count, "%" PRIu32, constraints);
	snprintf(gen, sizeof gen, "%" PRId64, generation);
	const char *row[] = {
		kind, name, trig, count, (flags & QUOTA_POLICY_DISABLED) ? "no" : "yes", gen};
	return table_add(t, row);
}

static int get_policies(quota_engine *e, const struct get_request *req)
{
	static const char *const header[] = {"KIND",        "NAME",    "TRIGGER",
					     "CONSTRAINTS", "ENABLED", "GENERATION"};
	if (req->format == OUTPUT_JSON)
		return print_dump(e, QUOTA_JSON_CLAIM_POLICIES | QUOTA_JSON_GRANT_POLICIES, NULL);
	quota_claim_policy **claims = NULL;
	quota_grant_policy **grants = NULL;
	size_t nc = 0, ng = 0;
	int rc = quota_claim_policy_list(e, &claims, &nc);
	if (rc == QUOTA_OK)
		rc = quota_grant_policy_list(e, &grants, &ng);
	if (rc != QUOTA_OK) {
		quota_free(claims);
		return report_status(rc, "get policies");
	}
	struct table t;
	int failed = table_init(&t, 6, header);
	for (size_t i = 0; i < nc; i++)
		failed |= add_policy_row(&t, "ClaimCreationPolicy", claims[i]->name,
					 &claims[i]->trigger, claims[i]->constraint_count,
					 claims[i]->flags, claims[i]->generation);
	for (size_t i = 0; i < ng; i++)
		failed |= add_policy_row(&t, "GrantCreationPolicy", grants[i]->name,
					 &grants[i]->trigger, grants[i]->constraint_count,
					 grants[i]->flags, grants[i]->generation);
	quota_free(claims);
	quota_free(grants);
	return print_table(&t, 2, failed);
}

/* A number of the flat quota view, as text; "unlimited" for -1. */
static const char *doc_amount(const quota_doc *item, const char *key, char *buf)
{
	const quota_doc *v;
	int64_t n = 0;
	if (quota_doc_map_get(item, key, strlen(key), &v) != QUOTA_OK ||
	    quota_doc_get_int(v, &n) != QUOTA_OK)
		return "?";
	return amount_text(n, buf, 24);
}

static int get_quotas(quota_engine *e, const struct get_request *req)
{
	static const char *const header[] = {"SCOPE", "NAME", "LIMIT", "USAGE"};
	quota_doc *doc;
	size_t n = 0;
	int rc = quota_json_quotas(e, req->consumer, &doc);
	if (rc != QUOTA_OK)
		return report_status(rc, "get quotas");
	if (req->format == OUTPUT_JSON)
		return print_doc_and_free(doc);
	struct table t;
	int failed = table_init(&t, 4, header);
	quota_doc_list_size(doc, &n);
	for (size_t i = 0; i < n; i++) {
		const quota_doc *item;
		char limit[24], usage[24];
		if (quota_doc_list_at(doc, i, &item) != QUOTA_OK)
			continue;
		const char *row[] = {doc_string(item, "scope"), doc_string(item, "name"),
				     doc_amount(item, "limit", limit),
				     doc_amount(item, "usage", usage)};
		failed |= table_add(&t, row);
	}
	quota_doc_unref(doc);
	return print_table(&t, 2, failed);
}

static const struct {
	const char *what;
	int (*get)(quota_engine *e, const struct get_request *req);
	int by_consumer; /* --consumer applies */
} listings[] = {
	{"registrations", get_registrations, 0},
	{"grants", get_grants, 1},
	{"buckets", get_buckets, 1},
	{"claims", get_claims, 1},
	{"policies", get_policies, 0},
	{"quotas", get_quotas, 1},
};

int cmd_get(struct cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
		{"output", required_argument, NULL, 'o'},
		{"consumer", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	const struct command *cmd = find_command(argv[0]);
	struct get_request req = {.format = OUTPUT_TABLE};
	quota_ref consumer;
	char buf[600];
	size_t k;
	int c;

	while ((c = next_option(cli, cmd, argc, argv, "o:", longs)) != -1) {
		switch (c) {
		case 'o':
			if (parse_output(optarg, &req.format) != 0)
				return usage_error(cmd, "--output: \"%s\" is not table or json",
						   optarg);
			break;
		case 'c':
			if (parse_consumer(optarg, buf, sizeof buf, &consumer) != 0)
				return usage_error(cmd,
						   "--consumer: \"%s\" is not Kind/Name or "
						   "Kind/Namespace/Name",
						   optarg);
			req.consumer = &consumer;
			break;
		case OPT_HELP: return print_usage(cmd);
		default: return EXIT_INPUT;
		}
	}
	if (argc - optind != 1)
		return usage_error(cmd, "say what to get");
	for (k = 0; k < sizeof listings / sizeof listings[0]; k++)
		if (strcmp(argv[optind], listings[k].what) == 0)
			break;
	if (k == sizeof listings / sizeof listings[0])
		return usage_error(cmd, "cannot get \"%s\"", argv[optind]);
	if (req.consumer && !listings[k].by_consumer)
		return usage_error(cmd, "--consumer does not apply to %s", argv[optind]);

	quota_engine *e;
	int rc = engine_open(cli, NULL, &e);
	if (rc != EXIT_OK)
		return rc;
	rc = listings[k].get(e, &req);
	quota_engine_free(e);
	return rc;
}

/* --- describe --- */

/* An engine time as RFC 3339 UTC, or "-" for none. */
static const char *time_text(int64_t ns, char *buf, size_t len)
{
	struct tm tm;
	time_t secs = (time_t)(ns / 1000000000);
	if (ns <= 0 || !gmtime_r(&secs, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "-");
	return buf;
}

static void print_bucket(const quota_bucket_info *b)
{
	char consumer[600], a[24], t[48];
	printf("Consumer:            %s\n", ref_text(&b->consumer, consumer, sizeof consumer));
	printf("Resource type:       %s\n", b->resource_type);
	printf("Selector:            %s\n", *b->selector ? b->selector : "(none: the base bucket)");
	printf("Limit:               %s%s\n", amount_text(b->limit, a, sizeof a),
	       (b->flags & QUOTA_BUCKET_DEFAULT_LIMIT) ? " (the registration's default)" : "");
	printf("Allocated:           %" PRId64 "\n", b->allocated);
	printf("Reserved:            %" PRId64 "\n", b->reserved);
	printf("Available:           %s\n", amount_text(b->available, a, sizeof a));
	printf("Claims:              %" PRId64 " granted, %" PRId64 " reserved, %" PRId64
	       " pending\n",
	       b->claim_count, b->reserved_count, b->pending);
	if (b->flags & QUOTA_BUCKET_OBSERVED)
		printf("Observed usage:      %" PRId64 " (drift %" PRId64 ")\n", b->observed,
		       b->drift);
	if (b->flags & QUOTA_BUCKET_OVER_LIMIT)
		printf("Over its limit:      new requests are denied until usage drops\n");
	printf("Last reconciliation: %s\n", time_text(b->last_reconciliation_ns, t, sizeof t));
	printf("Contributing grants:%s\n", b->grant_ref_count ? "" : " none");
	for (uint32_t i = 0; i < b->grant_ref_count; i++) {
		const quota_grant_ref *g = b->grant_refs[i];
		printf("  %s%s%s: %s (generation %" PRId64 ")\n", g->ns && *g->ns ? g->ns : "",
		       g->ns && *g->ns ? "/" : "", g->name, amount_text(g->amount, a, sizeof a),
		       g->last_observed_generation);
	}
	if (b->rate_count)
		printf("Rate limits:\n");
	for (uint32_t i = 0; i < b->rate_count; i++) {
		const quota_rate_info *r = b->rates[i];
		char period[24], burst[24], left[24], reset[24];
		printf("  %s per %s (%s, burst %s): %s left, %s until %s\n",
		       amount_text(r->limit, a, sizeof a),
		       duration_text(r->period_ms, period, sizeof period),
		       r->window == QUOTA_WINDOW_CALENDAR ? "calendar" : "rolling",
		       amount_text(r->burst, burst, sizeof burst),
		       amount_text(r->remaining, left, sizeof left),
		       duration_text(r->reset_after_ms, reset, sizeof reset),
		       r->window == QUOTA_WINDOW_CALENDAR ? "the window ends" : "full again");
	}
}

static void print_claim(const quota_claim_info *c)
{
	static const char *const header[] = {"RESOURCE TYPE", "REQUESTED", "HELD", "BUCKET"};
	char ref[600], t[48];
	printf("Name:       %s%s%s\n", c->ns && *c->ns ? c->ns : "", c->ns && *c->ns ? "/" : "",
	       c->name);
	printf("State:      %s\n", claim_state_text(c->state));
	printf("Consumer:   %s\n", ref_text(&c->consumer, ref, sizeof ref));
	if (c->resource.kind && *c->resource.kind) {
		const char *group = c->resource.api_group ? c->resource.api_group : "";
		printf("Resource:   %s%s%s%s\n", ref_text(&c->resource, ref, sizeof ref),
		       *group ? " (group " : "", group, *group ? ")" : "");
	}
	printf("Created:    %s\n", time_text(c->created_ns, t, sizeof t));
	printf("Updated:    %s\n", time_text(c->updated_ns, t, sizeof t));
	if (c->expires_ns)
		printf("Expires:    %s\n", time_text(c->expires_ns, t, sizeof t));
	if (c->flags)
		printf("Flags:      %s%s\n", (c->flags & QUOTA_CLAIM_QUEUE) ? "queue " : "",
		       (c->flags & QUOTA_CLAIM_AUTO_COMMIT) ? "auto-commit" : "");
	printf("Requests:\n");

	struct table tab;
	int failed = table_init(&tab, 4, header);
	for (uint32_t i = 0; i < c->allocation_count; i++) {
		const quota_allocation *a = c->allocations[i];
		char requested[24], held[24];
		snprintf(requested, sizeof requested, "%" PRId64, a->requested);
		snprintf(held, sizeof held, "%" PRId64, a->amount);
		const char *row[] = {a->resource_type, requested, held, a->bucket};
		failed |= table_add(&tab, row);
	}
	if (!failed)
		table_print(&tab, stdout);
	table_free(&tab);
}

int cmd_describe(struct cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
		{"selector", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	const struct command *cmd = find_command(argv[0]);
	const char *selector = "";
	int c;

	while ((c = next_option(cli, cmd, argc, argv, "", longs)) != -1) {
		if (c == 's')
			selector = optarg;
		else
			return c == OPT_HELP ? print_usage(cmd) : EXIT_INPUT;
	}
	int bucket = argc - optind >= 1 && strcmp(argv[optind], "bucket") == 0;
	int claim = argc - optind >= 1 && strcmp(argv[optind], "claim") == 0;
	if (!bucket && !claim)
		return usage_error(cmd, "describe bucket CONSUMER TYPE, or claim NS/NAME");
	if (argc - optind != (bucket ? 3 : 2))
		return usage_error(cmd, bucket ? "give CONSUMER TYPE" : "give NS/NAME");

	char buf[600];
	quota_ref consumer;
	const char *ns, *name;
	if (bucket && parse_consumer(argv[optind + 1], buf, sizeof buf, &consumer) != 0)
		return usage_error(cmd, "\"%s\" is not Kind/Name or Kind/Namespace/Name",
				   argv[optind + 1]);
	if (claim && parse_ns_name(argv[optind + 1], buf, sizeof buf, &ns, &name) != 0)
		return usage_error(cmd, "\"%s\" is not NS/NAME", argv[optind + 1]);

	quota_engine *e;
	int rc = engine_open(cli, NULL, &e);
	if (rc != EXIT_OK)
		return rc;
	if (bucket) {
		quota_bucket_info *b = NULL;
		int status = quota_bucket_get_selector(e, &consumer, argv[optind + 2], selector,
						       &b);
		if (status == QUOTA_OK)
			print_bucket(b);
		else
			rc = report_status(status, argv[optind + 2]);
		quota_free(b);
	} else {
		quota_claim_info *ci = NULL;
		int status = quota_claim_get(e, ns, name, &ci);
		if (status == QUOTA_OK)
			print_claim(ci);
		else
			rc = report_status(status, argv[optind + 1]);
		quota_free(ci);
	}
	quota_engine_free(e);
	return rc;
}
