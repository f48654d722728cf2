/*
 * Scenarios on the engine's existing features: handle, keyed, claim and
 * contention.
 *
 * Every engine comes from bench_engine(): three types registered for kind
 * Organization with a default limit of 2^50, so that buckets are made by
 * their first use and no operation is ever denied. Each scenario checks
 * afterwards that every bucket it touched is back to zero usage, so a
 * benchmark that silently stopped charging would fail.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* quota_engine_options.stripes = 0 means the library's default, 64;
 * --stripes N replaces it for every engine but the one-stripe ones. */
#define DEFAULT_STRIPES 64
#define STRIPES (bench_o.stripes ? bench_o.stripes : DEFAULT_STRIPES)
#define SEQ_LEN (1u << 20)
#define SEQ_MASK (SEQ_LEN - 1)

static quota_ref org(const char *fmt_prefix, unsigned a, unsigned b)
{
	char name[64];
	snprintf(name, sizeof name, "%s%u-%06u", fmt_prefix, a, b);
	return (quota_ref){.kind = BENCH_KIND, .name = bench_xstrdup(name)};
}

/* ---- handle: prepared bucket handle consume + give-back -------------------- */

typedef struct handle_state {
	quota_engine *e;
	quota_ref consumer[2];
	quota_bucket_handle *h[2];
} handle_state;

static int run_handle(void *arg, int tid, uint64_t ops)
{
	quota_bucket_handle *h = ((handle_state *)arg)->h[tid];
	for (uint64_t i = 0; i < ops; i++) {
		int rc = quota_handle_consume(h, 1, NULL);
		if (rc)
			return bench_fail_rc("quota_handle_consume", rc);
		if ((rc = quota_handle_give_back(h, 1)))
			return bench_fail_rc("quota_handle_give_back", rc);
	}
	return 0;
}

int scenario_handle(void)
{
	handle_state s = {.e = bench_engine(bench_o.stripes)};
	int rc = 0;
	for (int t = 0; t < 2 && !rc; t++) {
		s.consumer[t] = org("handle-t", (unsigned)t, 0);
		if ((rc = quota_bucket_handle_open(s.e, &s.consumer[t], BENCH_TYPE_CPU, &s.h[t])))
			rc = bench_fail_rc("quota_bucket_handle_open", rc);
	}
	for (int t = 1; t <= 2 && !rc; t++) {
		bench_case c = {"handle",
				"consume+give_back",
				"consume+give_back",
				t,
				STRIPES,
				20000000,
				run_handle,
				&s};
		rc = bench_measure(&c);
	}
	for (int t = 0; t < 2; t++) {
		if (!rc && s.h[t])
			rc = bench_bucket_idle(s.e, &s.consumer[t], BENCH_TYPE_CPU);
		quota_bucket_handle_close(s.h[t]);
		free((char *)s.consumer[t].name);
	}
	quota_engine_free(s.e);
	return rc;
}

/* ---- keyed: consume + give-back by (consumer, type) strings ---------------- */

/*
 * Consumer names sit in one block, NAME_STRIDE bytes apart, and each
 * operation builds its quota_ref on the stack, as a service would from a
 * request it has just parsed: the caller's own data stays compact (1.6 MB
 * for 100,000 names), so that the misses measured are the library's.
 */
#define NAME_STRIDE 16

typedef struct keyed_state {
	quota_engine *e;
	const char *names; /* NAME_STRIDE apart */
	const uint32_t *seq;
	const char *type;
	uint32_t spread; /* thread tid starts at tid * spread in seq */
} keyed_state;

static inline quota_ref ref_at(const char *names, uint32_t k)
{
	return (quota_ref){.kind = BENCH_KIND, .name = names + (size_t)k * NAME_STRIDE};
}

static int run_keyed(void *arg, int tid, uint64_t ops)
{
	const keyed_state *s = arg;
	size_t at = (size_t)tid * s->spread;
	for (uint64_t i = 0; i < ops; i++) {
		quota_ref c = ref_at(s->names, s->seq[(at + i) & SEQ_MASK]);
		int rc = quota_consume(s->e, &c, s->type, 1, NULL);
		if (rc)
			return bench_fail_rc("quota_consume", rc);
		if ((rc = quota_give_back(s->e, &c, s->type, 1)))
			return bench_fail_rc("quota_give_back", rc);
	}
	return 0;
}

static char *make_names(const char *prefix, unsigned group, uint32_t n)
{
	char *names = bench_xcalloc(n, NAME_STRIDE);
	for (uint32_t i = 0; i < n; i++) {
		char name[64];
		int len = snprintf(name, sizeof name, "%s%u-%06u", prefix, group, i);
		if (len < 0 || len >= NAME_STRIDE) {
			bench_fail("name %s longer than %d bytes", name, NAME_STRIDE - 1);
			exit(1);
		}
		memcpy(names + (size_t)i * NAME_STRIDE, name, (size_t)len + 1);
	}
	return names;
}

/* Make every bucket (first use), outside the timing. */
static int touch_all(quota_engine *e, const char *names, uint32_t n, const char *type)
{
	for (uint32_t i = 0; i < n; i++) {
		quota_ref c = ref_at(names, i);
		int rc = quota_consume(e, &c, type, 1, NULL);
		if (rc || (rc = quota_give_back(e, &c, type, 1)))
			return bench_fail_rc("keyed warm-up", rc);
	}
	return 0;
}

static int all_idle(quota_engine *e, const char *names, uint32_t n, const char *type)
{
	for (uint32_t i = 0; i < n; i++) {
		quota_ref c = ref_at(names, i);
		if (bench_bucket_idle(e, &c, type))
			return -1;
	}
	return 0;
}

int scenario_keyed(void)
{
	uint32_t n = bench_o.consumers;
	quota_engine *e = bench_engine(bench_o.stripes);
	char *names = make_names("org-", 0, n);
	/* Uniform with the seed of raw/cas-100k: the same index sequence. */
	uint32_t *uniform = bench_sequence(n, 0, 1, SEQ_LEN);
	uint32_t *zipf = bench_sequence(n, 1.1, 2, SEQ_LEN);
	int rc = touch_all(e, names, n, BENCH_TYPE_CPU);
	uint32_t stripes = STRIPES;

	keyed_state su = {e, names, uniform, BENCH_TYPE_CPU, SEQ_LEN / 2};
	keyed_state sz = {e, names, zipf, BENCH_TYPE_CPU, SEQ_LEN / 2};
	for (int t = 1; t <= 2 && !rc; t++) {
		bench_case c[] = {
			{"keyed", "uniform", "consume+give_back", t, stripes, 3000000, run_keyed,
			 &su},
			{"keyed", "zipf1.1", "consume+give_back", t, stripes, 3000000, run_keyed,
			 &sz},
		};
		for (size_t i = 0; i < sizeof c / sizeof c[0] && !rc; i++)
			rc = bench_measure(&c[i]);
	}
	if (!rc)
		rc = all_idle(e, names, n, BENCH_TYPE_CPU);
	quota_engine_free(e);
	free(names);
	free(uniform);
	free(zipf);
	return rc;
}

/* ---- rate: rate_take on 100,000 limiters -------------------------------- */

#define RATE_TYPE "serving.example.com/tokens"

static int run_rate(void *arg, int tid, uint64_t ops)
{
	const keyed_state *s = arg;
	size_t at = (size_t)tid * s->spread;
	for (uint64_t i = 0; i < ops; i++) {
		quota_ref c = ref_at(s->names, s->seq[(at + i) & SEQ_MASK]);
		int rc = quota_rate_take(s->e, &c, s->type, 1, NULL);
		if (rc)
			return bench_fail_rc("quota_rate_take", rc);
	}
	return 0;
}

/* One rolling limiter per consumer: 10^15 per second, so that the
 * benchmark measures the take, never a denial. */
static int grant_rates(quota_engine *e, const char *names, uint32_t n)
{
	quota_registration r;
	quota_registration_init(&r, sizeof r);
	r.resource_type = RATE_TYPE;
	r.consumer_type.kind = BENCH_KIND;
	r.resource_class = QUOTA_RESOURCE_RATE;
	int rc = quota_registration_create(e, &r);
	if (rc)
		return bench_fail_rc("rate registration", rc);
	quota_grant_bucket b;
	quota_allowance a;
	quota_grant g;
	quota_grant_bucket_init(&b, sizeof b);
	b.amount = INT64_C(1000000000000000);
	b.period_ms = QUOTA_PERIOD_SECOND;
	quota_allowance_init(&a, sizeof a);
	a.resource_type = RATE_TYPE;
	a.buckets = &b;
	a.bucket_count = 1;
	quota_grant_init(&g, sizeof g);
	g.allowances = &a;
	g.allowance_count = 1;
	for (uint32_t i = 0; i < n; i++) {
		g.consumer = ref_at(names, i);
		g.name = g.consumer.name;
		if ((rc = quota_grant_apply(e, &g, NULL)))
			return bench_fail_rc("rate grant", rc);
	}
	return 0;
}

int scenario_rate(void)
{
	uint32_t n = bench_o.consumers;
	quota_engine *e = bench_engine(bench_o.stripes);
	char *names = make_names("org-", 0, n);
	uint32_t *uniform = bench_sequence(n, 0, 1, SEQ_LEN);
	int rc = grant_rates(e, names, n);
	for (uint32_t i = 0; i < n && !rc; i++) { /* first use links each bucket */
		quota_ref c = ref_at(names, i);
		if ((rc = quota_rate_take(e, &c, RATE_TYPE, 1, NULL)))
			rc = bench_fail_rc("rate warm-up", rc);
	}
	keyed_state su = {e, names, uniform, RATE_TYPE, SEQ_LEN / 2};
	for (int t = 1; t <= 2 && !rc; t++) {
		bench_case c = {"rate",	   "rate_take-100k", "rate_take", t, STRIPES,
				3000000, run_rate,	  &su};
		rc = bench_measure(&c);
	}
	quota_engine_free(e);
	free(names);
	free(uniform);
	return rc;
}

/* ---- claim: named acquire + release, and reserve + commit + release ------- */

#define CLAIM_POOL 4096 /* names per thread, reused in turn */
#define CLAIM_NS "bench"

enum claim_mode {
	ACQUIRE_RELEASE,
	RESERVE_COMMIT_RELEASE
};

typedef struct claim_thread {
	quota_ref consumer;
	char (*names)[24];
	quota_request req[3];
} claim_thread;

typedef struct claim_state {
	quota_engine *e;
	claim_thread *t; /* [2] */
	uint32_t nreq;
	enum claim_mode mode;
} claim_state;

static int run_claim(void *arg, int tid, uint64_t ops)
{
	const claim_state *s = arg;
	claim_thread *t = &s->t[tid];
	quota_claim c;
	quota_claim_init(&c, sizeof c);
	c.ns = CLAIM_NS;
	c.consumer = t->consumer;
	c.requests = t->req;
	c.request_count = s->nreq;
	for (uint64_t i = 0; i < ops; i++) {
		int rc;
		c.name = t->names[i & (CLAIM_POOL - 1)];
		if (s->mode == ACQUIRE_RELEASE) {
			if ((rc = quota_claim_acquire(s->e, &c, NULL)))
				return bench_fail_rc("quota_claim_acquire", rc);
		} else {
			if ((rc = quota_claim_reserve(s->e, &c, NULL)))
				return bench_fail_rc("quota_claim_reserve", rc);
			if ((rc = quota_claim_commit(s->e, CLAIM_NS, c.name, NULL, 0)))
				return bench_fail_rc("quota_claim_commit", rc);
		}
		if ((rc = quota_claim_release(s->e, CLAIM_NS, c.name)))
			return bench_fail_rc("quota_claim_release", rc);
	}
	return 0;
}

/*
 * Two levels: the claiming consumer is a Project whose parent is an
 * Organization; the types are registered for Project, and a grant gives the
 * Organization an amount of each, so that every request is decided at both
 * levels (3 requests, 6 buckets).
 */
static quota_engine *hierarchy_engine(claim_thread *t, quota_ref *parents)
{
	static const char *const types[3] = {BENCH_TYPE_CPU, BENCH_TYPE_MEM, BENCH_TYPE_DISK};
	quota_engine *e = bench_engine_for(bench_o.stripes, "Project");
	for (int k = 0; k < 2; k++) {
		char name[32];
		int rc;
		snprintf(name, sizeof name, "t%d-project", k);
		t[k].consumer = (quota_ref){.kind = "Project",
					    .ns = CLAIM_NS,
					    .name = bench_xstrdup(name)};
		parents[k] = org("claims-org-t", (unsigned)k, 0);
		if ((rc = quota_consumer_set_parent(e, &t[k].consumer, &parents[k])))
			bench_fail_rc("quota_consumer_set_parent", rc);
		quota_grant_bucket gb[3];
		quota_allowance al[3];
		for (int r = 0; r < 3; r++) {
			quota_grant_bucket_init(&gb[r], sizeof gb[r]);
			gb[r].amount = BENCH_DEFAULT_LIMIT;
			quota_allowance_init(&al[r], sizeof al[r]);
			al[r].resource_type = types[r];
			al[r].buckets = &gb[r];
			al[r].bucket_count = 1;
		}
		quota_grant g;
		quota_grant_init(&g, sizeof g);
		g.name = parents[k].name;
		g.consumer = parents[k];
		g.allowances = al;
		g.allowance_count = 3;
		if ((rc = quota_grant_apply(e, &g, NULL)))
			bench_fail_rc("quota_grant_apply", rc);
	}
	return e;
}

static const char *const claim_types[3] = {BENCH_TYPE_CPU, BENCH_TYPE_MEM, BENCH_TYPE_DISK};

/* Two threads' consumers, claim names and requests; free with claim_threads_free. */
static void claim_threads_init(claim_thread *t)
{
	for (int k = 0; k < 2; k++) {
		t[k].consumer = org("claims-t", (unsigned)k, 0);
		t[k].names = bench_xcalloc(CLAIM_POOL, sizeof t[k].names[0]);
		for (unsigned i = 0; i < CLAIM_POOL; i++)
			snprintf(t[k].names[i], sizeof t[k].names[i], "t%d-claim-%05u", k, i);
		for (int r = 0; r < 3; r++) {
			quota_request_init(&t[k].req[r], sizeof t[k].req[r]);
			t[k].req[r].resource_type = claim_types[r];
			t[k].req[r].amount = 1 + r;
		}
	}
}

int scenario_claim(void)
{
	const char *const *types = claim_types;
	quota_engine *e = bench_engine(bench_o.stripes);
	claim_thread t[2], th[2];
	quota_ref parents[2];
	int rc = 0;
	claim_threads_init(t);
	th[0] = t[0];
	th[1] = t[1];
	quota_engine *eh = hierarchy_engine(th, parents);
	claim_state one = {e, t, 1, ACQUIRE_RELEASE};
	claim_state three = {e, t, 3, ACQUIRE_RELEASE};
	claim_state rcr = {e, t, 1, RESERVE_COMMIT_RELEASE};
	claim_state two_levels = {eh, th, 3, ACQUIRE_RELEASE};
	for (int n = 1; n <= 2 && !rc; n++) {
		bench_case c[] = {
			{"claim", "acquire+release-1req", "acquire+release", n, STRIPES, 500000,
			 run_claim, &one},
			{"claim", "acquire+release-3req", "acquire+release", n, STRIPES, 300000,
			 run_claim, &three},
			{"claim", "acquire+release-3req-2lv", "acquire+release", n, STRIPES, 200000,
			 run_claim, &two_levels},
			{"claim", "reserve+commit+release", "reserve+commit+release", n, STRIPES,
			 300000, run_claim, &rcr},
		};
		for (size_t i = 0; i < sizeof c / sizeof c[0] && !rc; i++)
			rc = bench_measure(&c[i]);
	}
	for (int k = 0; k < 2; k++) {
		for (int r = 0; r < 3 && !rc; r++)
			if ((rc = bench_bucket_idle(e, &t[k].consumer, types[r])) ||
			    (rc = bench_bucket_idle(eh, &th[k].consumer, types[r])) ||
			    (rc = bench_bucket_idle(eh, &parents[k], types[r])))
				break;
		free((char *)t[k].consumer.name);
		free((char *)th[k].consumer.name);
		free((char *)parents[k].name);
		free(t[k].names);
	}
	quota_engine_free(e);
	quota_engine_free(eh);
	return rc;
}

/* ---- journal: acquire + release on a durable engine, by sync mode ---------- */

/*
 * The claim scenario's acquire + release of one request on an engine whose
 * journal is in BENCH_JOURNAL_DIR (default /var/tmp, a disk rather than a
 * tmpfs), in each sync mode. Compare with claim/acquire+release-1req.
 */
int scenario_journal(void)
{
	static const struct {
		const char *variant;
		int32_t mode;
		uint64_t ops; /* an fsync per call (about a millisecond) in always */
	} modes[] = {
		{"sync-none", QUOTA_SYNC_NONE, 500000},
		{"sync-batch", QUOTA_SYNC_BATCH, 300000},
		{"sync-always", QUOTA_SYNC_ALWAYS, 2000},
	};
	const char *base = getenv("BENCH_JOURNAL_DIR");
	char dir[512], path[600], other[640];
	snprintf(dir, sizeof dir, "%s/quota-bench-XXXXXX", base && *base ? base : "/var/tmp");
	if (!mkdtemp(dir))
		return bench_fail("journal: mkdtemp %s failed", dir);
	snprintf(path, sizeof path, "%s/journal", dir);
	claim_thread t[2];
	claim_threads_init(t);
	int rc = 0;
	for (size_t m = 0; m < sizeof modes / sizeof modes[0] && !rc; m++) {
		quota_engine_options o;
		quota_engine_options_init(&o, sizeof o);
		o.stripes = bench_o.stripes;
		o.journal_path = path;
		o.sync_mode = modes[m].mode;
		quota_engine *e = bench_engine_with(&o, BENCH_KIND);
		claim_state one = {e, t, 1, ACQUIRE_RELEASE};
		for (int n = 1; n <= 2 && !rc; n++) {
			bench_case c = {"journal", modes[m].variant, "acquire+release", n, STRIPES,
					modes[m].ops, run_claim, &one};
			rc = bench_measure(&c);
		}
		for (int k = 0; k < 2 && !rc; k++)
			rc = bench_bucket_idle(e, &t[k].consumer, BENCH_TYPE_CPU);
		quota_engine_free(e);
		static const char *const files[] = {"", ".lock", ".snapshot"};
		for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
			snprintf(other, sizeof other, "%s%s", path, files[f]);
			unlink(other);
		}
	}
	rmdir(dir);
	for (int k = 0; k < 2; k++) {
		free((char *)t[k].consumer.name);
		free(t[k].names);
	}
	return rc;
}

/* ---- contention: disjoint keys, one hot bucket, 64 stripes vs 1 ------------- */

#define DISJOINT_KEYS 1024

typedef struct contention_state {
	quota_engine *e;
	char *own[2]; /* DISJOINT_KEYS names per thread */
	quota_ref hot;
	quota_bucket_handle *hot_handle;
	const uint32_t *seq; /* over DISJOINT_KEYS */
} contention_state;

static int run_disjoint(void *arg, int tid, uint64_t ops)
{
	const contention_state *s = arg;
	const char *own = s->own[tid];
	size_t at = (size_t)tid * (SEQ_LEN / 2);
	for (uint64_t i = 0; i < ops; i++) {
		quota_ref c = ref_at(own, s->seq[(at + i) & SEQ_MASK]);
		int rc = quota_consume(s->e, &c, BENCH_TYPE_CPU, 1, NULL);
		if (rc)
			return bench_fail_rc("quota_consume", rc);
		if ((rc = quota_give_back(s->e, &c, BENCH_TYPE_CPU, 1)))
			return bench_fail_rc("quota_give_back", rc);
	}
	return 0;
}

static int run_hot(void *arg, int tid, uint64_t ops)
{
	const contention_state *s = arg;
	(void)tid;
	for (uint64_t i = 0; i < ops; i++) {
		int rc = quota_consume(s->e, &s->hot, BENCH_TYPE_CPU, 1, NULL);
		if (rc)
			return bench_fail_rc("quota_consume", rc);
		if ((rc = quota_give_back(s->e, &s->hot, BENCH_TYPE_CPU, 1)))
			return bench_fail_rc("quota_give_back", rc);
	}
	return 0;
}

static int run_hot_handle(void *arg, int tid, uint64_t ops)
{
	const contention_state *s = arg;
	(void)tid;
	for (uint64_t i = 0; i < ops; i++) {
		int rc = quota_handle_consume(s->hot_handle, 1, NULL);
		if (rc)
			return bench_fail_rc("quota_handle_consume", rc);
		if ((rc = quota_handle_give_back(s->hot_handle, 1)))
			return bench_fail_rc("quota_handle_give_back", rc);
	}
	return 0;
}

static int contention_with(uint32_t stripes, const uint32_t *seq)
{
	contention_state s = {.e = bench_engine(stripes), .seq = seq};
	uint32_t shown = stripes ? stripes : DEFAULT_STRIPES;
	char label[24];
	if (stripes == 1)
		snprintf(label, sizeof label, "1stripe");
	else if (stripes == 0)
		snprintf(label, sizeof label, "default");
	else
		snprintf(label, sizeof label, "%ustripes", stripes);
	int rc = 0;
	for (int k = 0; k < 2; k++) {
		s.own[k] = make_names("own-t", (unsigned)k, DISJOINT_KEYS);
		if (!rc)
			rc = touch_all(s.e, s.own[k], DISJOINT_KEYS, BENCH_TYPE_CPU);
	}
	s.hot = org("hot-", 0, 0);
	if (!rc && (rc = quota_bucket_handle_open(s.e, &s.hot, BENCH_TYPE_CPU, &s.hot_handle)))
		rc = bench_fail_rc("quota_bucket_handle_open", rc);
	for (int t = 1; t <= 2 && !rc; t++) {
		bench_case c[] = {
			{"contention", "disjoint-keyed", "consume+give_back", t, shown, 3000000,
			 run_disjoint, &s},
			{"contention", "hot-keyed", "consume+give_back", t, shown, 3000000, run_hot,
			 &s},
			{"contention", "hot-handle", "consume+give_back", t, shown, 10000000,
			 run_hot_handle, &s},
		};
		/* The variant names carry the stripe count so that rows differ. */
		char names[3][48];
		for (size_t i = 0; i < 3; i++) {
			snprintf(names[i], sizeof names[i], "%s/%s", c[i].variant, label);
			c[i].variant = names[i];
		}
		/* One stripe changes nothing for a single bucket: hot-handle runs
		 * with the default only. */
		size_t ncases = stripes == 1 ? 2 : 3;
		for (size_t i = 0; i < ncases && !rc; i++)
			rc = bench_measure(&c[i]);
	}
	for (int k = 0; k < 2; k++) {
		if (!rc)
			rc = all_idle(s.e, s.own[k], DISJOINT_KEYS, BENCH_TYPE_CPU);
		free(s.own[k]);
	}
	if (!rc)
		rc = bench_bucket_idle(s.e, &s.hot, BENCH_TYPE_CPU);
	quota_bucket_handle_close(s.hot_handle);
	free((char *)s.hot.name);
	quota_engine_free(s.e);
	return rc;
}

int scenario_contention(void)
{
	uint32_t *seq = bench_sequence(DISJOINT_KEYS, 0, 3, SEQ_LEN);
	int rc = contention_with(bench_o.stripes, seq);
	if (!rc)
		rc = contention_with(1, seq);
	free(seq);
	return rc;
}
