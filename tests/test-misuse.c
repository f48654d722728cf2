/*
 * The API misuse matrix: every public function called with NULL for each
 * pointer that may not be NULL, over-long strings, invalid UTF-8, enum
 * values out of range and amounts out of range, on an engine with some
 * state (in memory, then durable). Each call must return its documented
 * code, leave a detail that names the argument or field, and change
 * nothing (the engine's JSON dump, metrics, counters and journal are
 * compared before and after). The cases are in misuse-cases.h, one line
 * each; the test also fails when a QUOTA_API function of the headers has
 * no case there.
 *
 * usage: test-misuse [SOURCE_ROOT]   (default: the tree it was built from)
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#include "check.h"

#define CPUS "example.com/cpus"
#define FREE "example.com/free"
#define CALLS "example.com/calls"
#define BAD_UTF8 "bad\xff\xfename"

/* What the cases work on: set up by fixture_new(), read by misuse-cases.h. */
static struct {
	quota_engine *e;
	quota_ref web, acme, other;
	quota_registration reg;
	quota_grant_bucket gb;
	quota_allowance al;
	quota_grant grant;
	quota_label dim;
	quota_request req;
	quota_claim claim;
	quota_claim claims[2];
	quota_request_template rt;
	quota_claim_template ct;
	quota_constraint con;
	quota_claim_policy cp;
	quota_grant_template gt;
	quota_grant_policy gp;
	quota_admission adm;
	quota_doc *trigger, *map, *list, *str, *num;
	quota_expr *expr;
	quota_template *tmpl;
	quota_bucket_handle *handle;
	quota_bucket_iter *bucket_it;
	quota_claim_iter *claim_it;
	quota_engine_options opts;
	quota_json_options jopts;
	quota_expr_options xopts;
	quota_answer answer;
	quota_stats stats;
	quota_journal_stats jstats;
	/* arrays one longer than allowed, so that a count over the limit
	 * still describes memory that exists */
	quota_request many_requests[QUOTA_MAX_REQUESTS + 1];
	quota_constraint many_constraints[QUOTA_MAX_CONSTRAINTS + 1];
	quota_claim many_claims[QUOTA_MAX_CLAIM_SET + 1];
	const char *many_dimensions[33];
	char long_name[300], long_kind[80], long_unit[60], long_desc[520];
	char long_key[80], long_expr[1100], long_msg[300], long_quantity[80];
} F;

/* Scratch out-parameters of the cases; whatever a failed call leaves in
 * them is not looked at (a failing call must not hand out memory). */
/* A journal path in the test's scratch directory, for the engine
 * options that only a durable engine reads. */
static char scratch_journal[128];

static union {
	void *p;
	quota_engine *e;
	quota_doc *d;
} out_;
static size_t n_;
static int64_t i64_;

static int64_t fixed_clock(void *payload)
{
	(void)payload;
	return INT64_C(1700000000000000000);
}

static void fill(char *s, size_t n, char c)
{
	memset(s, c, n - 1);
	s[n - 1] = '\0';
}

static quota_doc *doc_str(const char *s)
{
	quota_doc *d = NULL;
	CHECK_RC(quota_doc_new_string(s, strlen(s), &d), QUOTA_OK);
	return d;
}

static void map_put(quota_doc *m, const char *k, quota_doc *v)
{
	CHECK_RC(quota_doc_map_set(m, k, strlen(k), v), QUOTA_OK);
}

/* {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web",
 * "namespace": "default", "uid": "u-1"}} */
static quota_doc *make_trigger(void)
{
	quota_doc *t = NULL, *meta = NULL;
	CHECK_RC(quota_doc_new_map(&t), QUOTA_OK);
	CHECK_RC(quota_doc_new_map(&meta), QUOTA_OK);
	map_put(t, "apiVersion", doc_str("v1"));
	map_put(t, "kind", doc_str("ConfigMap"));
	map_put(meta, "name", doc_str("web"));
	map_put(meta, "namespace", doc_str("default"));
	map_put(meta, "uid", doc_str("u-1"));
	map_put(t, "metadata", meta);
	return t;
}

static void registration(const char *type, int32_t cls, int64_t default_limit)
{
	static const char *const dims[] = {"region"};
	quota_registration r;
	CHECK_RC(quota_registration_init(&r, sizeof r), QUOTA_OK);
	r.resource_type = type;
	r.consumer_type.kind = "Project";
	r.resource_class = cls;
	r.default_limit = default_limit;
	r.allowed_dimensions = dims;
	r.allowed_dimension_count = 1;
	CHECK_RC(quota_registration_create(F.e, &r), QUOTA_OK);
	if (strcmp(type, CPUS) == 0)
		F.reg = r;
}

static void fixture_new(const char *journal_path)
{
	static const char *const vars[] = {"x"};
	memset(&F, 0, sizeof F);
	fill(F.long_name, 255, 'n'); /* names: at most 253 */
	fill(F.long_kind, 65, 'K');  /* kinds: at most 63 */
	fill(F.long_unit, 52, 'u');  /* units: at most 50 */
	fill(F.long_desc, 502, 'd'); /* descriptions: at most 500 */
	fill(F.long_key, 65, 'k');   /* label keys and values: at most 63 */
	fill(F.long_expr, QUOTA_EXPR_MAX_LENGTH + 2, '1');
	fill(F.long_msg, QUOTA_CONSTRAINT_MESSAGE_MAX + 2, 'm');
	fill(F.long_quantity, 70, '1'); /* quantities: at most 64 bytes */

	CHECK_RC(quota_engine_options_init(&F.opts, sizeof F.opts), QUOTA_OK);
	F.opts.clock = fixed_clock;
	F.opts.journal_path = journal_path;
	CHECK_RC(quota_engine_new(&F.e, &F.opts), QUOTA_OK);
	F.web = (quota_ref){NULL, "Project", "default", "web"};
	F.acme = (quota_ref){NULL, "Organization", NULL, "acme"};
	F.other = (quota_ref){NULL, "Project", "default", "other"};
	CHECK_RC(quota_consumer_set_parent(F.e, &F.web, &F.acme), QUOTA_OK);
	registration(FREE, QUOTA_RESOURCE_ALLOCATION, QUOTA_UNLIMITED);
	registration(CALLS, QUOTA_RESOURCE_RATE, 0);
	registration(CPUS, QUOTA_RESOURCE_ALLOCATION, 0);

	CHECK_RC(quota_grant_bucket_init(&F.gb, sizeof F.gb), QUOTA_OK);
	F.gb.amount = 100;
	CHECK_RC(quota_allowance_init(&F.al, sizeof F.al), QUOTA_OK);
	F.al.resource_type = CPUS;
	F.al.buckets = &F.gb;
	F.al.bucket_count = 1;
	CHECK_RC(quota_grant_init(&F.grant, sizeof F.grant), QUOTA_OK);
	F.grant.ns = "default";
	F.grant.name = "g1";
	F.grant.consumer = F.web;
	F.grant.allowances = &F.al;
	F.grant.allowance_count = 1;
	CHECK_RC(quota_grant_apply(F.e, &F.grant, NULL), QUOTA_OK);

	F.dim = (quota_label){"region", "eu"};
	CHECK_RC(quota_request_init(&F.req, sizeof F.req), QUOTA_OK);
	F.req.resource_type = CPUS;
	F.req.amount = 5;
	F.req.dimensions = &F.dim;
	F.req.dimension_count = 1;
	CHECK_RC(quota_claim_init(&F.claim, sizeof F.claim), QUOTA_OK);
	F.claim.ns = "default";
	F.claim.name = "c1";
	F.claim.consumer = F.web;
	F.claim.requests = &F.req;
	F.claim.request_count = 1;
	CHECK_RC(quota_claim_reserve(F.e, &F.claim, NULL), QUOTA_OK);
	F.claims[0] = F.claim;
	F.claims[0].name = "c2";
	CHECK_RC(quota_claim_acquire(F.e, &F.claims[0], NULL), QUOTA_OK);
	F.claims[1] = F.claim;
	F.claims[1].name = "c3";
	CHECK_RC(quota_consume(F.e, &F.web, FREE, 5, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(F.e, &F.web, CPUS, 2, NULL), QUOTA_OK);

	for (size_t i = 0; i < QUOTA_MAX_REQUESTS + 1; i++)
		F.many_requests[i] = F.req;
	for (size_t i = 0; i < QUOTA_MAX_CLAIM_SET + 1; i++)
		F.many_claims[i] = F.claims[1];
	for (size_t i = 0; i < 33; i++)
		F.many_dimensions[i] = "region";

	CHECK_RC(quota_request_template_init(&F.rt, sizeof F.rt), QUOTA_OK);
	F.rt.resource_type = CPUS;
	F.rt.amount = 1;
	CHECK_RC(quota_claim_template_init(&F.ct, sizeof F.ct), QUOTA_OK);
	F.ct.generate_name = "cm-";
	F.ct.consumer = (quota_ref){NULL, "Project", "default", "{{trigger.metadata.name}}"};
	F.ct.requests = &F.rt;
	F.ct.request_count = 1;
	CHECK_RC(quota_constraint_init(&F.con, sizeof F.con), QUOTA_OK);
	F.con.expression = "has(trigger.metadata.name)";
	for (size_t i = 0; i < QUOTA_MAX_CONSTRAINTS + 1; i++)
		F.many_constraints[i] = F.con;
	CHECK_RC(quota_claim_policy_init(&F.cp, sizeof F.cp), QUOTA_OK);
	F.cp.name = "cp";
	F.cp.trigger = (quota_trigger_ref){"v1", "ConfigMap"};
	F.cp.constraints = &F.con;
	F.cp.constraint_count = 1;
	F.cp.claim = &F.ct;
	CHECK_RC(quota_claim_policy_apply(F.e, &F.cp, NULL), QUOTA_OK);
	CHECK_RC(quota_grant_template_init(&F.gt, sizeof F.gt), QUOTA_OK);
	F.gt.name = "gp-{{trigger.metadata.name}}";
	F.gt.ns = "default";
	F.gt.consumer = (quota_ref){NULL, "Project", "default", "{{trigger.metadata.name}}"};
	F.gt.allowances = &F.al;
	F.gt.allowance_count = 1;
	CHECK_RC(quota_grant_policy_init(&F.gp, sizeof F.gp), QUOTA_OK);
	F.gp.name = "gp";
	F.gp.trigger = (quota_trigger_ref){"v1", "Secret"};
	F.gp.grant = &F.gt;
	CHECK_RC(quota_grant_policy_apply(F.e, &F.gp, NULL), QUOTA_OK);

	F.trigger = make_trigger();
	CHECK_RC(quota_admission_init(&F.adm, sizeof F.adm), QUOTA_OK);
	F.adm.trigger = F.trigger;
	CHECK_RC(quota_doc_new_map(&F.map), QUOTA_OK);
	map_put(F.map, "k", doc_str("v"));
	CHECK_RC(quota_doc_new_list(&F.list), QUOTA_OK);
	CHECK_RC(quota_doc_list_append(F.list, doc_str("item")), QUOTA_OK);
	F.str = doc_str("text");
	CHECK_RC(quota_doc_new_int(7, &F.num), QUOTA_OK);
	CHECK_RC(quota_expr_compile("x > 1", vars, 1, &F.expr), QUOTA_OK);
	CHECK_RC(quota_template_compile("n-{{ string(x) }}", vars, 1, &F.tmpl), QUOTA_OK);

	CHECK_RC(quota_bucket_handle_open(F.e, &F.web, CPUS, &F.handle), QUOTA_OK);
	CHECK_RC(quota_bucket_iter_new(F.e, NULL, NULL, &F.bucket_it), QUOTA_OK);
	CHECK_RC(quota_claim_iter_new(F.e, NULL, 0, &F.claim_it), QUOTA_OK);
	CHECK_RC(quota_json_options_init(&F.jopts, sizeof F.jopts), QUOTA_OK);
	CHECK_RC(quota_expr_options_init(&F.xopts, sizeof F.xopts), QUOTA_OK);
	CHECK_RC(quota_answer_init(&F.answer, sizeof F.answer), QUOTA_OK);
	CHECK_RC(quota_stats_init(&F.stats, sizeof F.stats), QUOTA_OK);
	CHECK_RC(quota_journal_stats_init(&F.jstats, sizeof F.jstats), QUOTA_OK);
}

static void fixture_free(void)
{
	quota_claim_iter_free(F.claim_it);
	quota_bucket_iter_free(F.bucket_it);
	quota_bucket_handle_close(F.handle);
	quota_template_free(F.tmpl);
	quota_expr_free(F.expr);
	quota_doc_unref(F.num);
	quota_doc_unref(F.str);
	quota_doc_unref(F.list);
	quota_doc_unref(F.map);
	quota_doc_unref(F.trigger);
	quota_engine_free(F.e);
}

/* Everything a misused call could have changed, as text: the engine's
 * objects and buckets, its metrics and counters, the denials it recorded
 * and its journal (its last sequence number and size: the records counter
 * also counts a record that a failed call wrote and took back), and the
 * shared documents. */
static char *fingerprint(void)
{
	char *dump = NULL, *metrics = NULL, *docs = NULL;
	quota_denial **audit = NULL;
	size_t n_audit = 0;
	quota_stats s;
	quota_journal_stats j;
	CHECK_RC(quota_json_dump_text(F.e, QUOTA_JSON_ALL, &dump, NULL), QUOTA_OK);
	CHECK_RC(quota_metrics_prometheus(F.e, &metrics, NULL), QUOTA_OK);
	CHECK_RC(quota_audit_list(F.e, &audit, &n_audit), QUOTA_OK);
	CHECK_RC(quota_stats_init(&s, sizeof s), QUOTA_OK);
	CHECK_RC(quota_stats_get(F.e, &s), QUOTA_OK);
	CHECK_RC(quota_journal_stats_init(&j, sizeof j), QUOTA_OK);
	CHECK_RC(quota_journal_stats_get(F.e, &j), QUOTA_OK);
	quota_free(audit);

	/* each on its own: placing them in a list would make them immutable */
	const quota_doc *parts[] = {F.trigger, F.map, F.list, F.str, F.num};
	size_t docs_len = 0;
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		char *one = NULL;
		CHECK_RC(quota_doc_to_json(parts[i], &one, NULL), QUOTA_OK);
		size_t n1 = strlen(one ? one : "");
		char *grown = realloc(docs, docs_len + n1 + 2);
		if (grown) {
			docs = grown;
			memcpy(docs + docs_len, one ? one : "", n1);
			docs_len += n1;
			docs[docs_len++] = '\n';
			docs[docs_len] = '\0';
		}
		quota_free(one);
	}

	size_t n = strlen(dump ? dump : "") + strlen(metrics ? metrics : "") +
		   strlen(docs ? docs : "") + 256;
	char *fp = malloc(n);
	if (fp)
		snprintf(fp, n,
			 "%s\n%s\n%s\naudit %zu seq %" PRIu64 " bytes %" PRIu64
			 " failed %d decisions %" PRIu64,
			 dump ? dump : "", metrics ? metrics : "", docs ? docs : "", n_audit,
			 j.last_seq, j.bytes, j.failed, s.decisions);
	quota_free(dump);
	quota_free(metrics);
	free(docs);
	return fp;
}

/* How a case is judged. */
enum {
	EXPECT_ERROR,    /* returns want; the detail names arg */
	EXPECT_JSON,     /* as EXPECT_ERROR, or QUOTA_ERR_UNSUPPORTED without cJSON */
	EXPECT_SNAPSHOT, /* as EXPECT_ERROR, or QUOTA_ERR_UNSUPPORTED while snapshots
			    are not built (journal.h) */
	EXPECT_SAFE      /* a no-op or a documented fallback: the case returns 0
			   when the call did what its documentation says */
};

struct misuse_case {
	const char *fn;  /* the public function */
	const char *arg; /* what the detail must name (EXPECT_SAFE: what is tried) */
	int want;
	int how;
	int (*call)(void);
	int line;
};

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

/* The cases, as functions case_<line>(). */
#define CASE(fn, arg, want, ...)                                                                   \
	static int CAT(case_, __LINE__)(void)                                                      \
	{                                                                                          \
		__VA_ARGS__                                                                        \
	}
#define CALL(fn, arg, want, ...)                                                                   \
	static int CAT(case_, __LINE__)(void)                                                      \
	{                                                                                          \
		return (__VA_ARGS__);                                                              \
	}
#define CALL_JSON CALL
#define CASE_JSON CASE
#define CALL_SNAPSHOT CALL
#define SAFE CASE
#include "misuse-cases.h"
#undef CASE
#undef CALL
#undef CALL_JSON
#undef CASE_JSON
#undef CALL_SNAPSHOT
#undef SAFE

/* The same cases, as the table. */
static const struct misuse_case cases[] = {
#define CASE(fn, arg, want, ...) {#fn, arg, want, EXPECT_ERROR, CAT(case_, __LINE__), __LINE__},
#define CALL CASE
#define CALL_JSON(fn, arg, want, ...) {#fn, arg, want, EXPECT_JSON, CAT(case_, __LINE__), __LINE__},
#define CASE_JSON CALL_JSON
#define CALL_SNAPSHOT(fn, arg, want, ...)                                                          \
	{#fn, arg, want, EXPECT_SNAPSHOT, CAT(case_, __LINE__), __LINE__},
#define SAFE(fn, arg, want, ...) {#fn, arg, want, EXPECT_SAFE, CAT(case_, __LINE__), __LINE__},
#include "misuse-cases.h"
};

/* A detail that no case names, so that a call which fails without saying
 * why is told from one that does (there is no way to clear the detail). */
#define SENTINEL "misuse.example/sentinel"

static void plant_sentinel(void)
{
	quota_registration *r = NULL;
	int rc = quota_registration_get(F.e, SENTINEL, &r);
	if (rc != QUOTA_ERR_NOT_FOUND || !strstr(quota_last_error(), SENTINEL))
		check_fail_(__FILE__, __LINE__, "planting the sentinel detail: %d", rc);
}

static int json_built(void)
{
	return (quota_features() & QUOTA_FEATURE_JSON) != 0;
}

static void run_case(const struct misuse_case *c)
{
	char *before = fingerprint();
	plant_sentinel();
	int rc = c->call();
	const char *detail = quota_last_error();
	if (strstr(detail, SENTINEL))
		detail = ""; /* the call left no detail of its own */
	int unsupported = rc == QUOTA_ERR_UNSUPPORTED &&
			  ((c->how == EXPECT_JSON && !json_built()) || c->how == EXPECT_SNAPSHOT);
	if (c->how == EXPECT_SAFE) {
		if (rc != c->want)
			check_fail_("misuse-cases.h", c->line, "%s (%s): returned %d, expected %d",
				    c->fn, c->arg, rc, c->want);
	} else if (rc != c->want && !unsupported) {
		check_fail_("misuse-cases.h", c->line,
			    "%s (%s): returned %s (%d), expected %s (%d)", c->fn, c->arg,
			    quota_strerror(rc), rc, quota_strerror(c->want), c->want);
	} else if (!detail[0]) {
		check_fail_("misuse-cases.h", c->line, "%s (%s): no detail in quota_last_error()",
			    c->fn, c->arg);
	} else if (!unsupported && !strstr(detail, c->arg)) {
		check_fail_("misuse-cases.h", c->line, "%s: the detail does not name '%s'", c->fn,
			    c->arg);
	}
	char *after = fingerprint();
	if (before && after && strcmp(before, after) != 0) {
		size_t at = 0;
		while (before[at] == after[at])
			at++;
		at = at > 40 ? at - 40 : 0;
		check_fail_(
			"misuse-cases.h", c->line,
			"%s (%s): the call changed the engine:\n  before: %.120s\n  after:  %.120s",
			c->fn, c->arg, before + at, after + at);
	}
	free(before);
	free(after);
}

/* The QUOTA_API functions the headers declare must each have a case. */
static void check_complete(const char *root)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/include/quota", root);
	DIR *d = opendir(dir);
	if (!d) {
		check_fail_(__FILE__, __LINE__, "cannot open %s: %s", dir, strerror(errno));
		return;
	}
	size_t declared = 0;
	struct dirent *ent;
	while ((ent = readdir(d))) {
		size_t len = strlen(ent->d_name);
		if (len < 3 || strcmp(ent->d_name + len - 2, ".h") != 0)
			continue;
		char path[8192], line[1024];
		snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
		FILE *f = fopen(path, "r");
		CHECK(f != NULL);
		while (f && fgets(line, sizeof line, f)) {
			if (strncmp(line, "QUOTA_API ", 10) != 0)
				continue;
			char *paren = strchr(line, '(');
			if (!paren)
				continue;
			char *start = paren;
			while (start > line &&
			       (start[-1] == '_' || isalnum((unsigned char)start[-1])))
				start--;
			*paren = '\0';
			declared++;
			int found = 0;
			for (size_t i = 0; i < sizeof cases / sizeof cases[0] && !found; i++)
				found = strcmp(cases[i].fn, start) == 0;
			if (!found)
				check_fail_("misuse-cases.h", 0, "%s (%s) has no misuse case",
					    start, ent->d_name);
		}
		if (f)
			fclose(f);
	}
	closedir(d);
	CHECK(declared > 100);
	printf("misuse: %zu public functions declared, %zu cases\n", declared,
	       sizeof cases / sizeof cases[0]);
}

static void run_all(const char *journal_path)
{
	fixture_new(journal_path);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_case(&cases[i]);
	fixture_free();
}

/* quota_set_allocator() checks the allocator's fields only while no engine
 * exists (with one, it is QUOTA_ERR_WRONG_STATE first, a case of the
 * table), so these run before the fixture. */
static void misuse_allocator(void)
{
	quota_allocator a;
	CHECK_RC(quota_allocator_init(&a, sizeof a), QUOTA_OK);
	a.malloc_fn = NULL;
	CHECK_RC(quota_set_allocator(&a), QUOTA_ERR_INVALID);
	CHECK(strstr(quota_last_error(), "malloc_fn") != NULL);
	CHECK_RC(quota_allocator_init(&a, sizeof a), QUOTA_OK);
	a.free_fn = NULL;
	CHECK_RC(quota_set_allocator(&a), QUOTA_ERR_INVALID);
	CHECK(strstr(quota_last_error(), "free_fn") != NULL);
	CHECK_RC(quota_allocator_init(&a, sizeof a), QUOTA_OK);
	a.size = 8;
	CHECK_RC(quota_set_allocator(&a), QUOTA_ERR_INVALID);
	CHECK(strstr(quota_last_error(), "size") != NULL);
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/quota-misuse-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(scratch_journal, sizeof scratch_journal, "%s/options-journal", dir);
	char path[64];
	snprintf(path, sizeof path, "%s/journal", dir);

	check_complete(argc > 1 ? argv[1] : QUOTA_SOURCE_ROOT);
	misuse_allocator();
	run_all(NULL);
	run_all(path);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_exit();
}
