/*
 * quotactl: decisions. Claims (reserve, acquire, check, commit, release),
 * policy admission and grant syncs, and rate limits (take).
 *
 * SPDX-License-Identifier: MIT
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "quotactl.h"

static int decide(quota_engine *e, enum claim_verb verb, const quota_claim *c, quota_answer *a)
{
	switch (verb) {
	case VERB_RESERVE: return quota_claim_reserve(e, c, a);
	case VERB_ACQUIRE: return quota_claim_acquire(e, c, a);
	default: return quota_claim_check(e, c, a);
	}
}

/* What an allowed decision left, for the line that reports it. */
static const char *outcome_text(enum claim_verb verb, const quota_answer *a)
{
	if (verb == VERB_CHECK)
		return "fits";
	if (a->state == QUOTA_CLAIM_PENDING)
		return "pending (queued until capacity frees up)";
	if (a->flags & QUOTA_ANSWER_EXISTED)
		return a->state == QUOTA_CLAIM_GRANTED ? "unchanged (granted)"
						       : "unchanged (reserved)";
	return a->state == QUOTA_CLAIM_GRANTED ? "granted" : "reserved";
}

int report_claim_decision(quota_engine *e, const char *where, const quota_claim *c,
			  enum claim_verb verb, enum output_format format)
{
	quota_answer a;
	char label[600];
	quota_answer_init(&a, sizeof a);
	int rc = decide(e, verb, c, &a);

	snprintf(label, sizeof label, "resourceclaim/%s%s%s", c->ns && *c->ns ? c->ns : "",
		 c->ns && *c->ns ? "/" : "", c->name);
	if (format == OUTPUT_JSON && rc != QUOTA_ERR_NOMEM) {
		/* The Milo object, for programs; the status still says how it went. */
		char *detail = rc != QUOTA_OK ? strdup(quota_last_error()) : NULL;
		quota_doc *doc;
		int wrc = quota_json_claim_answer(e, c, rc, &a, &doc);
		if (wrc != QUOTA_OK) {
			free(detail);
			return report_status(wrc, label);
		}
		wrc = print_json(stdout, doc);
		quota_doc_unref(doc);
		if (rc != QUOTA_OK)
			report("%s: %s denied: %s", where, label, detail ? detail : "");
		free(detail);
		if (wrc != QUOTA_OK)
			return report_status(wrc, label);
		return rc == QUOTA_OK ? EXIT_OK : input_exit_code(rc);
	}
	if (rc == QUOTA_OK) {
		printf("%s %s\n", label, outcome_text(verb, &a));
		if (a.flags & QUOTA_ANSWER_WARNED)
			report("%s: warning: over a Warn-mode limit at %s: requested %" PRId64
			       ", available %" PRId64,
			       label, a.bucket, a.requested, a.available);
		return EXIT_OK;
	}
	if (rc == QUOTA_ERR_EXCEEDED || rc == QUOTA_ERR_RATE_LIMITED)
		report("%s: %s denied: %s", where, label, quota_last_error());
	else
		report("%s: %s: %s", where, label, quota_last_error());
	return input_exit_code(rc);
}

/* reserve, acquire and check: one command each, one function for the three. */
int cmd_reserve(struct cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
		{"filename", required_argument, NULL, 'f'},
		{"ttl", required_argument, NULL, 't'},
		{"queue", no_argument, NULL, 'q'},
		{"output", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	const struct command *cmd = find_command(argv[0]);
	enum claim_verb verb = strcmp(argv[0], "reserve") == 0   ? VERB_RESERVE
			       : strcmp(argv[0], "acquire") == 0 ? VERB_ACQUIRE
								 : VERB_CHECK;
	enum output_format format = OUTPUT_TABLE;
	const char *file = NULL;
	int64_t ttl_ms = 0;
	int queue = 0, c;

	while ((c = next_option(cli, cmd, argc, argv, "f:o:", longs)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 't':
			if (verb != VERB_RESERVE)
				return usage_error(cmd, "--ttl applies to reserve only");
			if (parse_duration(optarg, &ttl_ms) != 0)
				return usage_error(cmd,
						   "--ttl: \"%s\" is not a duration (30s, 500ms, "
						   "2m, 1h)",
						   optarg);
			break;
		case 'q':
			if (verb == VERB_CHECK)
				return usage_error(cmd, "--queue does not apply to check");
			queue = 1;
			break;
		case 'o':
			if (parse_output(optarg, &format) != 0)
				return usage_error(cmd, "--output: \"%s\" is not table or json",
						   optarg);
			break;
		case OPT_HELP: return print_usage(cmd);
		default: return EXIT_INPUT;
		}
	}
	int bad = check_file_only(cmd, argc, argv, file, "CLAIM.json");
	if (bad != EXIT_OK)
		return bad;

	char *text;
	size_t len;
	quota_engine *e;
	if (read_file(file, &text, &len) != 0)
		return EXIT_ERROR;
	int rc = engine_open(cli, NULL, &e);
	if (rc != EXIT_OK) {
		free(text);
		return rc;
	}

	/* The loader reads and checks the claims; a dry run applies nothing else. */
	quota_json_options jo;
	quota_json_result *res = NULL;
	quota_json_options_init(&jo, sizeof jo);
	jo.flags = QUOTA_JSON_DRY_RUN;
	int status = quota_json_load(e, text, len, &jo, &res);
	free(text);
	if (status != QUOTA_OK) {
		report_status(status, file_label(file));
		rc = input_exit_code(status);
	} else if (res->registration_count || res->grant_count) {
		report("%s: holds registrations or grants: load them with quotactl apply",
		       file_label(file));
		rc = EXIT_INPUT;
	} else if (res->claim_count == 0) {
		report("%s: holds no ResourceClaim", file_label(file));
		rc = EXIT_INPUT;
	}
	for (uint32_t i = 0; rc == EXIT_OK && res && i < res->claim_count; i++) {
		char where[512];
		quota_claim claim = res->claims[i];
		if (queue)
			claim.flags |= QUOTA_CLAIM_QUEUE;
		if (ttl_ms)
			claim.ttl_ms = ttl_ms;
		snprintf(where, sizeof where, "%s%s%s", file_label(file),
			 *res->claim_paths[i] ? ": " : "", res->claim_paths[i]);
		int one = report_claim_decision(e, where, &claim, verb, format);
		if (rc == EXIT_OK)
			rc = one;
	}
	quota_free(res);
	quota_engine_free(e);
	return rc;
}

/* commit and release: a claim named NS/NAME. */
static int claim_by_name(struct cli *cli, int argc, char **argv, int commit)
{
	const struct command *cmd = find_command(argv[0]);
	const char *ns, *name;
	char buf[600];
	int c;

	while ((c = next_option(cli, cmd, argc, argv, "", NULL)) != -1)
		return c == OPT_HELP ? print_usage(cmd) : EXIT_INPUT;
	if (argc - optind != 1)
		return usage_error(cmd, "give one claim, NS/NAME");
	if (parse_ns_name(argv[optind], buf, sizeof buf, &ns, &name) != 0)
		return usage_error(cmd, "\"%s\" is not NS/NAME", argv[optind]);

	quota_engine *e;
	int rc = engine_open(cli, NULL, &e);
	if (rc != EXIT_OK)
		return rc;
	int status = commit ? quota_claim_commit(e, ns, name, NULL, 0)
			    : quota_claim_release(e, ns, name);
	if (status == QUOTA_OK)
		printf("resourceclaim/%s %s\n", argv[optind], commit ? "committed" : "released");
	else
		rc = report_status(status, argv[0]);
	quota_engine_free(e);
	return rc;
}

int cmd_commit(struct cli *cli, int argc, char **argv)
{
	return claim_by_name(cli, argc, argv, 1);
}

int cmd_release(struct cli *cli, int argc, char **argv)
{
	return claim_by_name(cli, argc, argv, 0);
}

/* Print an admission's result: allowed (and its claims) or denied. */
static int report_admission(const quota_admission_result *r, int dry_run)
{
	if (!r->allowed) {
		printf("denied\n");
		report("%s", r->message);
		return EXIT_DENIED;
	}
	if (r->outcome == QUOTA_ADMIT_NO_POLICY)
		printf("allowed (no policy applies)\n");
	else
		printf("allowed%s\n", dry_run ? " (dry run: nothing charged)" : "");
	if (r->outcome == QUOTA_ADMIT_FAILED_OPEN)
		report("warning: %s", r->message);
	for (uint32_t i = 0; i < r->claim_count; i++) {
		const quota_claim *c = r->claims[i];
		printf("  resourceclaim/%s%s%s\n", c->ns && *c->ns ? c->ns : "",
		       c->ns && *c->ns ? "/" : "", c->name);
	}
	return EXIT_OK;
}

int cmd_admit(struct cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
		{"filename", required_argument, NULL, 'f'},
		{"user", required_argument, NULL, 'u'},
		{"dry-run", no_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	const struct command *cmd = find_command(argv[0]);
	const char *file = NULL, *user_file = NULL;
	int dry_run = 0, c;

	while ((c = next_option(cli, cmd, argc, argv, "f:", longs)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'u': user_file = optarg; break;
		case 'n': dry_run = 1; break;
		case OPT_HELP: return print_usage(cmd);
		default: return EXIT_INPUT;
		}
	}
	int bad = check_file_only(cmd, argc, argv, file, "TRIGGER.json");
	if (bad != EXIT_OK)
		return bad;

	quota_doc *trigger = NULL, *user = NULL;
	quota_engine *e = NULL;
	int rc = read_json_doc(file, &trigger);
	if (rc == EXIT_OK && user_file)
		rc = read_json_doc(user_file, &user);
	if (rc == EXIT_OK)
		rc = engine_open(cli, NULL, &e);
	if (rc == EXIT_OK) {
		quota_admission a;
		quota_admission_result *r = NULL;
		quota_admission_init(&a, sizeof a);
		a.trigger = trigger;
		a.user = user;
		a.flags = dry_run ? QUOTA_ADMIT_DRY_RUN : 0;
		int status = quota_admit(e, &a, &r);
		rc = r ? report_admission(r, dry_run) : report_status(status, file_label(file));
		quota_free(r);
	}
	quota_engine_free(e);
	quota_doc_unref(trigger);
	quota_doc_unref(user);
	return rc;
}

static const char *const trigger_events[] = {NULL, "added", "updated", "deleted"};

int cmd_sync(struct cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
		{"filename", required_argument, NULL, 'f'},
		{"event", required_argument, NULL, 'e'},
		{NULL, 0, NULL, 0},
	};
	const struct command *cmd = find_command(argv[0]);
	const char *file = NULL;
	int32_t event = QUOTA_TRIGGER_ADDED;
	int c;

	while ((c = next_option(cli, cmd, argc, argv, "f:", longs)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'e':
			event = 0;
			for (int32_t i = QUOTA_TRIGGER_ADDED; i <= QUOTA_TRIGGER_DELETED; i++)
				if (strcmp(optarg, trigger_events[i]) == 0)
					event = i;
			if (!event)
				return usage_error(cmd,
						   "--event: \"%s\" is not added, updated or "
						   "deleted",
						   optarg);
			break;
		case OPT_HELP: return print_usage(cmd);
		default: return EXIT_INPUT;
		}
	}
	int bad = check_file_only(cmd, argc, argv, file, "TRIGGER.json");
	if (bad != EXIT_OK)
		return bad;

	quota_doc *trigger = NULL;
	quota_engine *e = NULL;
	int rc = read_json_doc(file, &trigger);
	if (rc == EXIT_OK)
		rc = engine_open(cli, NULL, &e);
	if (rc == EXIT_OK) {
		quota_grant_change **changes = NULL;
		size_t n = 0;
		int status = quota_grant_policies_sync(e, trigger, event, &changes, &n);
		if (status != QUOTA_OK) {
			report_status(status, file_label(file));
			rc = input_exit_code(status);
		} else if (n == 0) {
			printf("no grant policy applies\n");
		}
		for (size_t i = 0; i < n; i++) {
			const quota_grant_change *g = changes[i];
			printf("resourcegrant/%s%s%s %s (policy %s)\n", *g->ns ? g->ns : "",
			       *g->ns ? "/" : "", g->name, g->removed ? "removed" : "applied",
			       g->policy);
		}
		quota_free(changes);
	}
	quota_engine_free(e);
	quota_doc_unref(trigger);
	return rc;
}

int cmd_take(struct cli *cli, int argc, char **argv)
{
	const struct command *cmd = find_command(argv[0]);
	char buf[600], period[24], limit[24], remaining[24];
	quota_ref consumer;
	int64_t n;
	int c;

	while ((c = next_option(cli, cmd, argc, argv, "", NULL)) != -1)
		return c == OPT_HELP ? print_usage(cmd) : EXIT_INPUT;
	if (argc - optind != 3)
		return usage_error(cmd, "give CONSUMER TYPE N");
	if (parse_consumer(argv[optind], buf, sizeof buf, &consumer) != 0)
		return usage_error(cmd, "\"%s\" is not Kind/Name or Kind/Namespace/Name",
				   argv[optind]);
	if (parse_count(argv[optind + 2], &n) != 0)
		return usage_error(cmd, "N: \"%s\" is not a count > 0", argv[optind + 2]);

	quota_engine *e;
	quota_answer a;
	int rc = engine_open(cli, NULL, &e);
	if (rc != EXIT_OK)
		return rc;
	quota_answer_init(&a, sizeof a);
	int status = quota_rate_take(e, &consumer, argv[optind + 1], n, &a);
	if (status == QUOTA_OK || status == QUOTA_ERR_RATE_LIMITED) {
		char retry[24] = "never"; /* the request is more than the limit ever lets through */
		if (a.retry_after_ms >= 0)
			snprintf(retry, sizeof retry, "%" PRId64, a.retry_after_ms);
		printf("%s limit=%s period=%s remaining=%s retry_after_ms=%s reset_after_ms=%" PRId64
		       "%s\n",
		       status == QUOTA_OK ? "allowed" : "denied", amount_text(a.limit, limit, 24),
		       a.period_ms ? duration_text(a.period_ms, period, 24) : "none",
		       amount_text(a.available, remaining, 24), retry, a.reset_after_ms,
		       (a.flags & QUOTA_ANSWER_WARNED) ? " warned" : "");
	}
	if (status != QUOTA_OK)
		rc = report_status(status, argv[optind + 1]);
	quota_engine_free(e);
	return rc;
}
