/*
 * Snapshots: quota_engine_save and quota_engine_load rebuild the whole
 * state of an engine, so that the copy answers every later call as the
 * original does; damaged snapshots are refused with the documented error.
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy-util.h"

#define CPU "compute.example.com/cpu"
#define MEM "compute.example.com/memory"
#define REQS "api.example.com/requests"

static char dir[256];
static char snap[300];

static const quota_ref acme = {MILO_GROUP, "Organization", NULL, "acme"};
static const quota_ref projects[3] = {
	{NULL, "Project", "acme", "p0"},
	{NULL, "Project", "acme", "p1"},
	{NULL, "Project", "acme", "p2"},
};

/* ---- the state as text ---- */

static void cat(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	*buf = realloc(*buf, *len + n + 1);
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

/* Everything a caller can see: the JSON dump (when built with JSON), every
 * bucket and claim, registrations, grants and policies with their
 * generations, parents, counters. */
static char *state(quota_engine *e)
{
	char *all = NULL, line[512];
	size_t len = 0;
	cat(&all, &len, "");
	char *text = NULL;
	size_t tl;
	int rc = quota_json_dump_text(e, QUOTA_JSON_ALL, &text, &tl);
	CHECK(rc == QUOTA_OK || rc == QUOTA_ERR_UNSUPPORTED);
	if (text)
		cat(&all, &len, text);
	quota_free(text);
	char *buf = malloc(1 << 20);
	size_t n = 0;
	test_snapshot_buckets_claims(e, buf, 1 << 20, &n);
	cat(&all, &len, buf);
	free(buf);

	quota_registration **regs = NULL;
	size_t count = 0;
	CHECK_RC(quota_registration_list(e, &regs, &count), QUOTA_OK);
	for (size_t i = 0; i < count; i++) {
		snprintf(line, sizeof line, "reg %s gen %lld default %lld\n",
			 regs[i]->resource_type, (long long)regs[i]->generation,
			 (long long)regs[i]->default_limit);
		cat(&all, &len, line);
	}
	quota_free(regs);
	quota_grant **grants = NULL;
	CHECK_RC(quota_grant_list(e, NULL, &grants, &count), QUOTA_OK);
	for (size_t i = 0; i < count; i++) {
		snprintf(line, sizeof line, "grant %s/%s gen %lld amount %lld\n", grants[i]->ns,
			 grants[i]->name, (long long)grants[i]->generation,
			 (long long)grants[i]->allowances[0].buckets[0].amount);
		cat(&all, &len, line);
	}
	quota_free(grants);
	/* Policies of both kinds: their names and generations. */
#define POLICY_LINES(T, list, what)                                                                \
	do {                                                                                       \
		T **v = NULL;                                                                      \
		CHECK_RC(list(e, &v, &count), QUOTA_OK);                                           \
		for (size_t i = 0; i < count; i++) {                                               \
			snprintf(line, sizeof line, what " %s gen %lld\n", v[i]->name,             \
				 (long long)v[i]->generation);                                     \
			cat(&all, &len, line);                                                     \
		}                                                                                  \
		quota_free(v);                                                                     \
	} while (0)
	POLICY_LINES(quota_claim_policy, quota_claim_policy_list, "claim policy");
	POLICY_LINES(quota_grant_policy, quota_grant_policy_list, "grant policy");
#undef POLICY_LINES
	for (int i = 0; i < 3; i++) {
		quota_ref *p = NULL;
		CHECK_RC(quota_consumer_get_parent(e, &projects[i], &p), QUOTA_OK);
		snprintf(line, sizeof line, "parent of %s: %s\n", projects[i].name,
			 p ? p->name : "-");
		cat(&all, &len, line);
		quota_free(p);
	}
	quota_stats st;
	quota_stats_init(&st, sizeof st);
	CHECK_RC(quota_stats_get(e, &st), QUOTA_OK);
	const uint64_t *c = (const uint64_t *)((const char *)&st + sizeof st.size);
	for (size_t i = 0; i < (sizeof st - sizeof st.size) / sizeof *c; i++) {
		snprintf(line, sizeof line, "stat %zu %llu\n", i, (unsigned long long)c[i]);
		cat(&all, &len, line);
	}
	return all;
}

static void check_same(quota_engine *a, quota_engine *b, const char *when)
{
	char *sa = state(a), *sb = state(b);
	if (strcmp(sa, sb) != 0)
		check_fail_(__FILE__, __LINE__, "states differ %s:\n--- original\n%s\n--- copy\n%s",
			    when, sa, sb);
	free(sa);
	free(sb);
}

/* ---- a rich state ---- */

static int claim(quota_engine *e, const char *name, const quota_ref *p, const char *type,
		 int64_t amount, uint32_t flags, int64_t ttl_ms, int acquire)
{
	struct test_claim t;
	test_claim_init(&t, "acme", name, p);
	test_claim_add(&t, type, amount);
	t.c.flags = flags;
	t.c.ttl_ms = ttl_ms;
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	int rc = (acquire ? quota_claim_acquire : quota_claim_reserve)(e, &t.c, &a);
	return rc ? rc : a.state;
}

static void build(quota_engine *e)
{
	quota_registration r;
	CHECK_RC(test_register(e, CPU, NULL, "Project", 8), QUOTA_OK);
	quota_registration_init(&r, sizeof r);
	r.resource_type = MEM;
	r.consumer_type.kind = "Project";
	r.default_limit = 100;
	const char *dims[] = {"zone"};
	r.allowed_dimensions = dims;
	r.allowed_dimension_count = 1;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	r.default_limit = 64; /* generation 2 */
	CHECK_RC(quota_registration_update(e, &r), QUOTA_OK);
	quota_registration_init(&r, sizeof r);
	r.resource_type = REQS;
	r.consumer_type.kind = "Project";
	r.resource_class = QUOTA_RESOURCE_RATE;
	r.default_limit = -1;
	r.violation_action = QUOTA_ACTION_THROTTLE;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	for (int i = 0; i < 3; i++)
		CHECK_RC(quota_consumer_set_parent(e, &projects[i], &acme), QUOTA_OK);
	int64_t gen = 0;
	CHECK_RC(test_grant(e, "acme", "org-cpu", &acme, CPU, 30, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, "acme", "org-cpu", &acme, CPU, 20, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 2);
	CHECK_RC(test_grant(e, "acme", "p0-cpu", &projects[0], CPU, 10, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, "acme", "p1-cpu", &projects[1], CPU, 6, NULL), QUOTA_OK);

	/* A rate grant with a selector bucket beside it. */
	quota_grant_bucket b[2];
	quota_allowance a;
	quota_grant g;
	quota_grant_bucket_init(&b[0], sizeof b[0]);
	b[0].amount = 10;
	b[0].period_ms = 1000;
	b[0].burst = 10;
	quota_allowance_init(&a, sizeof a);
	a.resource_type = REQS;
	a.buckets = b;
	a.bucket_count = 1;
	quota_grant_init(&g, sizeof g);
	g.ns = "acme";
	g.name = "p2-requests";
	g.consumer = projects[2];
	g.allowances = &a;
	g.allowance_count = 1;
	CHECK_RC(quota_grant_apply(e, &g, NULL), QUOTA_OK);
	quota_label zone = {"zone", "eu"};
	quota_grant_bucket_init(&b[0], sizeof b[0]);
	b[0].amount = 50;
	quota_grant_bucket_init(&b[1], sizeof b[1]);
	b[1].amount = 5;
	b[1].match_labels = &zone;
	b[1].match_label_count = 1;
	a.resource_type = MEM;
	a.buckets = b;
	a.bucket_count = 2;
	g.name = "p0-mem";
	g.consumer = projects[0];
	CHECK_RC(quota_grant_apply(e, &g, NULL), QUOTA_OK);

	/* Both kinds of policy, and a grant a policy made. */
	struct grant_pol gp;
	grant_pol_reference(&gp);
	CHECK_RC(quota_grant_policy_apply(e, &gp.p, NULL), QUOTA_OK);
	grant_pol_constraint(&gp, "true", "always");
	CHECK_RC(quota_grant_policy_apply(e, &gp.p, &gen), QUOTA_OK);
	CHECK_EQ_INT(gen, 2);
	struct claim_pol cp;
	claim_pol_reference(&cp);
	CHECK_RC(quota_claim_policy_apply(e, &cp.p, NULL), QUOTA_OK);
	quota_doc *trigger = trigger_doc(MILO_V1, "Organization", "", "acme", "uid-1", NULL);
	CHECK_RC(quota_grant_policies_sync(e, trigger, QUOTA_TRIGGER_ADDED, NULL, NULL), QUOTA_OK);
	quota_doc_unref(trigger);

	/* Claims in every state. */
	CHECK_EQ_INT(claim(e, "granted", &projects[0], CPU, 3, 0, 0, 1), QUOTA_CLAIM_GRANTED);
	CHECK_EQ_INT(claim(e, "settled", &projects[0], CPU, 4, 0, 0, 0), QUOTA_CLAIM_RESERVED);
	quota_request actual;
	quota_request_init(&actual, sizeof actual);
	actual.resource_type = CPU;
	actual.amount = 2;
	CHECK_RC(quota_claim_commit(e, "acme", "settled", &actual, 1), QUOTA_OK);
	CHECK_EQ_INT(claim(e, "ttl", &projects[1], CPU, 2, 0, 500, 0), QUOTA_CLAIM_RESERVED);
	CHECK_EQ_INT(claim(e, "reserved", &projects[1], CPU, 1, 0, 0, 0), QUOTA_CLAIM_RESERVED);
	CHECK_EQ_INT(claim(e, "gone", &projects[2], CPU, 1, 0, 0, 1), QUOTA_CLAIM_GRANTED);
	CHECK_RC(quota_claim_release(e, "acme", "gone"), QUOTA_OK); /* retained */
	/* p1 holds 3 of 6: fill it and queue three behind. */
	CHECK_EQ_INT(claim(e, "full", &projects[1], CPU, 3, 0, 0, 1), QUOTA_CLAIM_GRANTED);
	CHECK_EQ_INT(claim(e, "q1", &projects[1], CPU, 2, QUOTA_CLAIM_QUEUE, 0, 0),
		     QUOTA_CLAIM_PENDING);
	CHECK_EQ_INT(claim(e, "q2", &projects[1], CPU, 1,
			   QUOTA_CLAIM_QUEUE | QUOTA_CLAIM_AUTO_COMMIT, 0, 0),
		     QUOTA_CLAIM_PENDING);
	CHECK_EQ_INT(claim(e, "q3", &projects[1], CPU, 3, QUOTA_CLAIM_QUEUE, 0, 0),
		     QUOTA_CLAIM_PENDING);
	/* A claim set, and a claim on a selector bucket. */
	struct test_claim s1, s2;
	test_claim_init(&s1, "acme", "set-a", &projects[2]);
	test_claim_add(&s1, CPU, 1);
	test_claim_init(&s2, "acme", "set-b", &projects[2]);
	test_claim_add(&s2, CPU, 1);
	quota_claim set[2] = {s1.c, s2.c};
	CHECK_RC(quota_claim_set_reserve(e, set, 2, NULL), QUOTA_OK);
	struct test_claim z;
	test_claim_init(&z, "acme", "zoned", &projects[0]);
	test_claim_add(&z, MEM, 4);
	z.r[0].dimensions = &zone;
	z.r[0].dimension_count = 1;
	CHECK_RC(quota_claim_acquire(e, &z.c, NULL), QUOTA_OK);
	/* Anonymous use, observed usage, a rate limit part used. */
	CHECK_RC(quota_consume(e, &projects[2], CPU, 2, NULL), QUOTA_OK);
	CHECK_RC(quota_consume(e, &projects[0], MEM, 7, NULL), QUOTA_OK);
	CHECK_RC(quota_usage_observe(e, &projects[0], CPU, 9), QUOTA_OK);
	for (int i = 0; i < 4; i++)
		CHECK_RC(quota_rate_take(e, &projects[2], REQS, 2, NULL), QUOTA_OK);
	CHECK_RC(quota_rate_take(e, &projects[2], REQS, 5, NULL), QUOTA_ERR_RATE_LIMITED);
}

/* The same calls on both engines must answer alike. */
static void same_answers(quota_engine *a, quota_engine *b, struct test_clock *ca,
			 struct test_clock *cb)
{
	struct {
		int rc;
		quota_answer ans;
	} r[2];
	quota_engine *e[2] = {a, b};
	struct test_clock *c[2] = {ca, cb};
	for (int step = 0; step < 12; step++) {
		for (int k = 0; k < 2; k++) {
			quota_answer_init(&r[k].ans, sizeof r[k].ans);
			switch (step) {
			case 0: /* rate: what is left of the window */
				r[k].rc = quota_rate_take(e[k], &projects[2], REQS, 2, &r[k].ans);
				break;
			case 1: /* the TTL passes: "ttl" expires, capacity frees */
				test_clock_advance_ms(c[k], 600);
				r[k].rc = quota_engine_tick(e[k], 0, NULL);
				break;
			case 2: /* releasing "full" lets the queue in, in order */
				r[k].rc = quota_claim_release(e[k], "acme", "full");
				break;
			case 3: r[k].rc = quota_claim_release(e[k], "acme", "reserved"); break;
			case 4: r[k].rc = quota_claim_commit(e[k], "acme", "set-a", NULL, 0); break;
			case 5:
				r[k].rc = quota_rate_take(e[k], &projects[2], REQS, 10, &r[k].ans);
				break;
			case 6: r[k].rc = quota_give_back(e[k], &projects[2], CPU, 2); break;
			case 7: r[k].rc = claim(e[k], "late", &projects[0], CPU, 5, 0, 0, 1); break;
			case 8:
				r[k].rc = quota_consume(e[k], &projects[0], MEM, 100, &r[k].ans);
				break;
			case 9:
				r[k].rc = test_grant(e[k], "acme", "org-cpu", &acme, CPU, 40, NULL);
				break;
			case 10: /* the retained claim is forgotten */
				test_clock_advance_ms(c[k], 120000);
				r[k].rc = quota_engine_tick(e[k], 0, NULL);
				break;
			default:
				r[k].rc = claim(e[k], "q9", &projects[1], CPU, 1, QUOTA_CLAIM_QUEUE,
						0, 0);
				break;
			}
		}
		if (r[0].rc != r[1].rc || r[0].ans.state != r[1].ans.state ||
		    r[0].ans.available != r[1].ans.available ||
		    r[0].ans.retry_after_ms != r[1].ans.retry_after_ms)
			check_fail_(__FILE__, __LINE__,
				    "step %d: original %d (state %d), copy %d "
				    "(state %d)",
				    step, r[0].rc, r[0].ans.state, r[1].rc, r[1].ans.state);
		char when[32];
		snprintf(when, sizeof when, "after step %d", step);
		check_same(a, b, when);
	}
}

static void test_save_load_same(void)
{
	struct test_clock ca, cb;
	quota_engine *a = policy_engine(&ca);
	build(a);
	CHECK_EQ_INT(test_claim_state(a, "acme", "q2"), QUOTA_CLAIM_PENDING);
	CHECK_RC(quota_engine_save(a, snap), QUOTA_OK);
	quota_engine *b = test_engine(&cb, 60000);
	atomic_store(&cb.ns, atomic_load(&ca.ns));
	CHECK_RC(quota_engine_load(b, snap), QUOTA_OK);
	check_same(a, b, "after load");
	/* A second load into a full engine changes nothing. */
	CHECK_RC(quota_engine_load(b, snap), QUOTA_ERR_WRONG_STATE);
	check_same(a, b, "after a refused load");
	same_answers(a, b, &ca, &cb);
	/* The queue went in FIFO order: q1 and q2 first, q3 behind them. */
	CHECK_EQ_INT(test_claim_state(b, "acme", "q1"), QUOTA_CLAIM_RESERVED);
	CHECK_EQ_INT(test_claim_state(b, "acme", "q2"), QUOTA_CLAIM_GRANTED);
	/* Saved again after all that, and loaded again: still the same. */
	CHECK_RC(quota_engine_save(b, snap), QUOTA_OK);
	quota_engine *c = test_engine(NULL, 60000);
	CHECK_RC(quota_engine_load(c, snap), QUOTA_OK);
	quota_engine_free(a);
	quota_engine_free(b);
	quota_engine_free(c);
}

/* A load into a durable engine is in its journal: the engine created
 * again holds it, and later changes follow it. */
static void test_load_durable(void)
{
	struct test_clock ca;
	quota_engine *a = policy_engine(&ca);
	build(a);
	CHECK_RC(quota_engine_save(a, snap), QUOTA_OK);
	quota_engine_options o;
	quota_engine_options_init(&o, sizeof o);
	char jpath[320];
	snprintf(jpath, sizeof jpath, "%s/journal", dir);
	o.journal_path = jpath;
	o.released_retention_ms = 60000;
	o.clock = test_clock_read;
	o.clock_payload = &ca;
	quota_engine *d = NULL;
	CHECK_RC(quota_engine_new(&d, &o), QUOTA_OK);
	if (!d)
		return;
	CHECK_RC(quota_engine_load(d, snap), QUOTA_OK);
	check_same(a, d, "after a load into a durable engine");
	CHECK_RC(quota_engine_load(d, snap), QUOTA_ERR_WRONG_STATE);
	CHECK_RC(quota_claim_release(a, "acme", "granted"), QUOTA_OK);
	CHECK_RC(quota_claim_release(d, "acme", "granted"), QUOTA_OK);
	quota_engine_free(d);
	d = NULL;
	CHECK_RC(quota_engine_new(&d, &o), QUOTA_OK);
	if (d)
		check_same(a, d, "after the durable engine is created again");
	quota_engine_free(d);
	quota_engine_free(a);
}

/* ---- damage ---- */

static unsigned char *read_all(const char *p, size_t *n)
{
	FILE *f = fopen(p, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *buf = malloc(*n + 1);
	if (fread(buf, 1, *n, f) != *n)
		*n = 0;
	fclose(f);
	return buf;
}

static void write_all(const char *p, const unsigned char *buf, size_t n)
{
	FILE *f = fopen(p, "wb");
	CHECK(f != NULL);
	if (f) {
		CHECK(fwrite(buf, 1, n, f) == n);
		fclose(f);
	}
}

/* Load a copy of the good snapshot changed by edit; the answer must be
 * want, the engine must stay empty, the file as it was. */
static void check_refused(const unsigned char *good, size_t n, size_t cut, size_t flip, int want,
			  const char *mention)
{
	unsigned char *bad = malloc(n);
	memcpy(bad, good, n);
	if (flip < n)
		bad[flip] ^= 0x40;
	char p[320];
	snprintf(p, sizeof p, "%s.bad", snap);
	write_all(p, bad, cut);
	quota_engine *e = test_engine(NULL, 0);
	int rc = quota_engine_load(e, p);
	if (rc != want)
		check_fail_(__FILE__, __LINE__, "cut %zu flip %zu: %d, expected %d", cut, flip, rc,
			    want);
	if (mention && !strstr(quota_last_error(), mention))
		check_fail_(__FILE__, __LINE__, "detail \"%s\" does not name %s",
			    quota_last_error(), mention);
	size_t m = 0;
	unsigned char *after = read_all(p, &m);
	CHECK(m == cut && after && memcmp(after, bad, cut) == 0);
	free(after);
	/* Refused whole: nothing of it is in the engine. */
	quota_registration **regs = NULL;
	size_t count = 1;
	CHECK_RC(quota_registration_list(e, &regs, &count), QUOTA_OK);
	CHECK_EQ_INT(count, 0);
	quota_free(regs);
	quota_engine_free(e);
	free(bad);
}

static void test_damage_refused(void)
{
	struct test_clock ca;
	quota_engine *a = policy_engine(&ca);
	build(a);
	CHECK_RC(quota_engine_save(a, snap), QUOTA_OK);
	quota_engine_free(a);
	size_t n = 0;
	unsigned char *good = read_all(snap, &n);
	CHECK(good && n > 200);
	if (!good)
		return;
	/* A flipped byte anywhere after the magic: corrupt, naming the file
	 * (the version field flipped reads as a newer version: checked below). */
	for (size_t at = 8; at < n; at += 1 + at / 16)
		if (at < 8 || at >= 12)
			check_refused(good, n, n, at, QUOTA_ERR_CORRUPT, snap);
	/* Cut anywhere: corrupt (a snapshot is written whole, never torn). */
	for (size_t cut = 32; cut < n; cut += 1 + cut / 8)
		check_refused(good, n, cut, n, QUOTA_ERR_CORRUPT, snap);
	check_refused(good, n, 31, n, QUOTA_ERR_INVALID, NULL);
	/* Without its END record: corrupt. The last record is END (25 bytes:
	 * frame 16, op and time 9, a u64 count). */
	check_refused(good, n, n - 33, n, QUOTA_ERR_CORRUPT, "last record");
	check_refused(good, n, n, 0, QUOTA_ERR_INVALID, "not a libquota snapshot");
	/* A newer version, with its header checksum right: unsupported. */
	unsigned char *newer = malloc(n);
	memcpy(newer, good, n);
	newer[8] = 2;
	uint32_t crc = 0;
	{
		/* CRC-32C of the 28 header bytes, as the library computes it. */
		crc = 0xFFFFFFFFu;
		for (int i = 0; i < 28; i++) {
			crc ^= newer[i];
			for (int k = 0; k < 8; k++)
				crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
		}
		crc ^= 0xFFFFFFFFu;
	}
	for (int i = 0; i < 4; i++)
		newer[28 + i] = (unsigned char)(crc >> (8 * i));
	check_refused(newer, n, n, n, QUOTA_ERR_UNSUPPORTED, "version 2");
	free(newer);
	/* A missing file: an I/O error naming it. */
	quota_engine *e = test_engine(NULL, 0);
	char p[320];
	snprintf(p, sizeof p, "%s/none", dir);
	CHECK_RC(quota_engine_load(e, p), QUOTA_ERR_IO);
	CHECK_ERR_MENTIONS("none");
	CHECK_RC(quota_engine_load(e, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(quota_engine_save(NULL, p), QUOTA_ERR_INVALID);
	quota_engine_free(e);
	free(good);
}

/* ---- cost ---- */

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints the cost of a save and a load of 10,000 claims (not checked). */
static void test_cost(void)
{
	quota_engine *e = test_engine(NULL, 0);
	CHECK_RC(test_register(e, CPU, NULL, "Project", -1), QUOTA_OK);
	char name[32];
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof name, "c%d", i);
		CHECK_EQ_INT(claim(e, name, &projects[i % 3], CPU, 1, 0, 0, i % 2),
			     i % 2 ? QUOTA_CLAIM_GRANTED : QUOTA_CLAIM_RESERVED);
	}
	double t0 = seconds();
	CHECK_RC(quota_engine_save(e, snap), QUOTA_OK);
	double t1 = seconds();
	quota_engine *b = test_engine(NULL, 0);
	CHECK_RC(quota_engine_load(b, snap), QUOTA_OK);
	double t2 = seconds();
	struct stat st;
	CHECK(stat(snap, &st) == 0);
	printf("10000 claims: save %.1f ms, load %.1f ms, %lld bytes\n", (t1 - t0) * 1e3,
	       (t2 - t1) * 1e3, (long long)st.st_size);
	quota_engine_free(e);
	quota_engine_free(b);

	/* The same on a durable engine: a compaction, the journal it folds. */
	quota_engine_options o;
	quota_engine_options_init(&o, sizeof o);
	char jpath[320];
	snprintf(jpath, sizeof jpath, "%s/cost-journal", dir);
	o.journal_path = jpath;
	o.sync_mode = QUOTA_SYNC_NONE;
	e = NULL;
	CHECK_RC(quota_engine_new(&e, &o), QUOTA_OK);
	if (!e)
		return;
	CHECK_RC(test_register(e, CPU, NULL, "Project", -1), QUOTA_OK);
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof name, "c%d", i);
		claim(e, name, &projects[i % 3], CPU, 1, 0, 0, i % 2);
	}
	CHECK(stat(jpath, &st) == 0);
	long long journal = (long long)st.st_size;
	t0 = seconds();
	CHECK_RC(quota_engine_compact(e), QUOTA_OK);
	t1 = seconds();
	char sp[340];
	snprintf(sp, sizeof sp, "%s.snapshot", jpath);
	CHECK(stat(sp, &st) == 0);
	printf("10000 claims: compaction %.1f ms, journal %lld bytes -> snapshot %lld bytes\n",
	       (t1 - t0) * 1e3, journal, (long long)st.st_size);
	quota_engine_free(e);
	t0 = seconds();
	e = NULL;
	CHECK_RC(quota_engine_new(&e, &o), QUOTA_OK);
	t1 = seconds();
	printf("10000 claims: recovery from the snapshot %.1f ms\n", (t1 - t0) * 1e3);
	quota_engine_free(e);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/quota-snapshot-%d", (int)getpid());
	CHECK(mkdir(dir, 0700) == 0 || errno == EEXIST);
	snprintf(snap, sizeof snap, "%s/state.snapshot", dir);
	RUN(test_save_load_same);
	RUN(test_load_durable);
	RUN(test_damage_refused);
	RUN(test_cost);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_exit();
}
