/*
 * libFuzzer target: sequences of API calls, checked against a reference
 * model of the documented semantics (doc/semantics.md, include/quota/).
 *
 * The world: three types registered for kind Project ("cpu": Allocation,
 * REJECT; "gpu": Allocation, QUEUE; "rps": Rate), projects p0-p2, which
 * may have an Organization o0 or o1 as parent, grants g0-g3, claims c0-c4
 * and a manual clock. Each input byte string decodes into up to MAX_OPS
 * operations (see decode_op and tests/fuzz/gen-api-seeds.py, which writes
 * the seeds).
 *
 * The model (plain arrays) decides exactly: registration and grant
 * validation, limits (grant sums, -1, defaults, INT64_MAX overflow), the
 * allocated and reserved amounts of every bucket at every level, claim
 * states with TTL expiry and released retention, idempotent retries and
 * conflicts, settlements, resizes, anonymous consumption, observed usage
 * and moving consumers. Where the documentation leaves the order of checks
 * open, any of the applicable errors is accepted. Queue admission is
 * checked, not predicted: a claim the model expects to wait may be
 * admitted by any call, and then it must fit and no older pending claim
 * may wait on one of its buckets. Rate limits are checked by their
 * documented edges only (default 0 denies, no limiter allows).
 *
 * After each call the status and answer are compared with the model; every
 * CHECK_EVERY calls and at the end both are ticked and every bucket and
 * claim is compared. Any difference aborts with the call's index.
 *
 * Environment: FUZZ_API_TRACE=1 prints each call (to read a failing
 * input).
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <quota/quota.h>

#define MAX_OPS 256
#define CHECK_EVERY 16
#define NTYPES 3
#define NPROJ 3
#define NCONS 5 /* p0-p2, o0-o1 */
#define NGRANTS 4
#define NCLAIMS 5
#define RETENTION_MS 10000
#define MS INT64_C(1000000)

enum {
	CPU,
	GPU,
	RPS
};
enum {
	NONE = 0,
	RESERVED = 1,
	GRANTED = 2,
	RELEASED = 3,
	PENDING = 4
};

static const char *const type_names[NTYPES] = {"cpu", "gpu", "rps"};
static const char *const cons_names[NCONS] = {"p0", "p1", "p2", "o0", "o1"};
static const char *const grant_names[NGRANTS] = {"g0", "g1", "g2", "g3"};
static const char *const claim_names[NCLAIMS] = {"c0", "c1", "c2", "c3", "c4"};
static const char *const state_names[] = {"none", "reserved", "granted", "released", "pending"};

/* Amounts: small ones, 0, negative, unlimited and near INT64_MAX. */
static const int64_t amounts[16] = {0,
				    1,
				    2,
				    3,
				    4,
				    5,
				    7,
				    10,
				    50,
				    100,
				    -1,
				    -5,
				    INT64_MAX,
				    INT64_MAX - 1,
				    INT64_MAX / 2 + 1,
				    INT64_C(1) << 62};
static const int64_t ttls_ms[8] = {0, 0, 1, 5, 10, 100, 1000, 30000};
static const int64_t steps_ms[8] = {0, 1, 2, 5, 10, 100, 1000, 20000};
static const int64_t periods_ms[4] = {1000, 60000, 1, 3600000};

/* ---- the model ---- */

struct mallowance {
	int type;
	int nb;
	int64_t amount[2];
	int64_t period[2];
	int64_t burst[2];
};

struct mgrant {
	int live;
	int consumer;
	int nallow;
	struct mallowance al[2];
	int64_t generation;
};

struct mclaim {
	int state;
	int consumer;
	int nreq;
	int type[2];
	int64_t requested[2];
	int64_t held[2];
	int nchain;
	int chain[2];
	int64_t ttl_ms, queue_timeout_ms;
	int64_t deadline; /* TTL of a reservation, queue deadline when pending */
	/* A released claim is forgotten at released_at + retention; the
	 * engine counts an expired one's retention from when it sweeps it,
	 * which is known only up to forget_by. */
	int64_t released_at, forget_by;
	int admit_state; /* how a pending claim is admitted */
	uint64_t seq;    /* creation order, for the queue's FIFO */
};

struct model {
	int registered[NTYPES];
	int64_t default_limit[NTYPES];
	int parent[NPROJ]; /* consumer index of the organization, or -1 */
	struct mgrant grants[NGRANTS];
	struct mclaim claims[NCLAIMS];
	int64_t anon[NCONS][NTYPES];
	int64_t observed[NCONS][NTYPES];
	int observed_set[NCONS][NTYPES];
	uint64_t seq;
};

static struct model M;
static int64_t now_ns;
static quota_engine *E;
static int op_index;
static char op_text[256];
static int trace; /* FUZZ_API_TRACE set: print each call */

static int64_t engine_clock(void *payload)
{
	(void)payload;
	return now_ns;
}

__attribute__((format(printf, 1, 2), noreturn)) static void fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "fuzz-api: op %d (%s): ", op_index, op_text);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " [last error: %s]\n", quota_last_error());
	abort();
}

__attribute__((format(printf, 1, 2))) static void describe(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(op_text, sizeof op_text, fmt, ap);
	va_end(ap);
	if (trace)
		fprintf(stderr, "fuzz-api: %d: %s\n", op_index, op_text);
}

/* A set of acceptable status codes, as bits. */
typedef uint32_t codes;
static codes bit(int rc)
{
	return rc <= 0 && rc >= -31 ? UINT32_C(1) << -rc : 0;
}

static void expect_codes(int rc, codes allowed, const char *what)
{
	if (!(bit(rc) & allowed))
		fail("%s: engine returned %d (%s), model allows mask 0x%" PRIx32, what, rc,
		     quota_strerror(rc), allowed);
}

static int is_project(int c)
{
	return c < NPROJ;
}

/* Whether the engine knows Organization is above Project: while some link
 * says so (the engine counts the links of each pair of kinds). */
static int org_known(void)
{
	for (int p = 0; p < NPROJ; p++)
		if (M.parent[p] >= 0)
			return 1;
	return 0;
}

/* The consumer's levels: itself, then its organization. */
static int chain_of(int c, int out[2])
{
	out[0] = c;
	if (is_project(c) && M.parent[c] >= 0) {
		out[1] = M.parent[c];
		return 2;
	}
	return 1;
}

/* The limit of the (c, t) bucket from the live grants, or with grant gi
 * replaced by *repl (NULL: removed). Sets *overflow when the finite amounts
 * overflow int64, a -1 among them or not. */
static int64_t limit_with(int c, int t, int gi, const struct mgrant *repl, int *overflow,
			  int *granted)
{
	int64_t sum = 0;
	int any = 0, unlimited = 0;
	for (int g = 0; g < NGRANTS; g++) {
		const struct mgrant *G = g == gi ? repl : (M.grants[g].live ? &M.grants[g] : NULL);
		if (!G || G->consumer != c)
			continue;
		for (int a = 0; a < G->nallow; a++) {
			if (G->al[a].type != t)
				continue;
			any = 1;
			for (int b = 0; b < G->al[a].nb; b++) {
				if (G->al[a].amount[b] == -1)
					unlimited = 1;
				else if (__builtin_add_overflow(sum, G->al[a].amount[b], &sum))
					*overflow = 1;
			}
		}
	}
	if (granted)
		*granted = any;
	if (!any)
		return is_project(c) ? M.default_limit[t] : -1;
	return unlimited ? -1 : sum;
}

static int64_t limit_of(int c, int t)
{
	int ovf = 0;
	return limit_with(c, t, -1, NULL, &ovf, NULL);
}

static int has_rate_limiter(int c, int t)
{
	int granted = 0, ovf = 0;
	limit_with(c, t, -1, NULL, &ovf, &granted);
	return granted;
}

static int claim_charges(const struct mclaim *cl, int c)
{
	for (int i = 0; i < cl->nchain; i++)
		if (cl->chain[i] == c)
			return 1;
	return 0;
}

static void usage_of(int c, int t, int64_t *allocated, int64_t *reserved)
{
	int64_t al = M.anon[c][t], re = 0;
	for (int i = 0; i < NCLAIMS; i++) {
		const struct mclaim *cl = &M.claims[i];
		if ((cl->state != RESERVED && cl->state != GRANTED) || !claim_charges(cl, c))
			continue;
		for (int r = 0; r < cl->nreq; r++)
			if (cl->type[r] == t) {
				if (cl->state == GRANTED)
					al += cl->held[r];
				else
					re += cl->held[r];
			}
	}
	*allocated = al;
	*reserved = re;
}

/* What admission counts at (c, t): max(allocated, observed) + reserved.
 * Returns 0 on overflow. */
static int used_of(int c, int t, int64_t *used)
{
	int64_t al, re;
	usage_of(c, t, &al, &re);
	int64_t base = al;
	if (M.observed_set[c][t] && M.observed[c][t] > base)
		base = M.observed[c][t];
	return !__builtin_add_overflow(base, re, used);
}

/* Outcomes of adding amount at (c, t). */
enum {
	FITS,
	NO_FIT,
	NO_FIT_OVERFLOW,
	UNLIMITED_OVERFLOW
};
static int fit(int c, int t, int64_t amount)
{
	int64_t used, after, limit = limit_of(c, t);
	int ok = used_of(c, t, &used);
	if (limit == -1)
		return ok && !__builtin_add_overflow(used, amount, &after) ? FITS
									   : UNLIMITED_OVERFLOW;
	if (!ok || __builtin_add_overflow(used, amount, &after))
		return NO_FIT_OVERFLOW;
	return after <= limit ? FITS : NO_FIT;
}

/* Expiry, queue deadlines and retention as of now (the engine may apply
 * them lazily; its answers must not show it). */
static void model_sweep(void)
{
	for (int i = 0; i < NCLAIMS; i++) {
		struct mclaim *cl = &M.claims[i];
		if ((cl->state == RESERVED || cl->state == PENDING) && cl->deadline &&
		    cl->deadline <= now_ns) {
			cl->state = RELEASED;
			cl->released_at = cl->deadline;
			cl->forget_by = INT64_MAX;
			cl->held[0] = cl->held[1] = 0;
		}
		if (cl->state == RELEASED && cl->forget_by <= now_ns)
			cl->state = NONE;
	}
}

/* A released claim the engine may or may not have forgotten yet. */
static int maybe_gone(const struct mclaim *cl)
{
	return cl->state == RELEASED && cl->released_at + RETENTION_MS * MS <= now_ns;
}

static quota_ref cref(int c)
{
	quota_ref r = {NULL, is_project(c) ? "Project" : "Organization", NULL, cons_names[c]};
	return r;
}

/* ---- the input ---- */

struct reader {
	const uint8_t *d;
	size_t n, i;
};

static unsigned byte(struct reader *r)
{
	return r->i < r->n ? r->d[r->i++] : 0;
}

/* ---- operations ---- */

static void op_registration(struct reader *r)
{
	int t = byte(r) % NTYPES;
	unsigned v = byte(r);
	int64_t def = amounts[v % 16];
	if (t == RPS)
		def = v & 16 ? -1 : (v & 32 ? 0 : def);
	int variant = (v >> 6) % 4; /* 0,1 as registered; 2 another class; 3 bad action */
	quota_registration reg;
	quota_registration_init(&reg, sizeof reg);
	reg.resource_type = type_names[t];
	reg.consumer_type.kind = "Project";
	reg.resource_class = t == RPS ? QUOTA_RESOURCE_RATE : QUOTA_RESOURCE_ALLOCATION;
	reg.default_limit = def;
	reg.violation_action = t == GPU ? QUOTA_ACTION_QUEUE : QUOTA_ACTION_REJECT;
	if (variant == 2 && M.registered[t])
		reg.resource_class = QUOTA_RESOURCE_ENTITY;
	else if (variant == 3)
		reg.violation_action = QUOTA_ACTION_THROTTLE;
	else
		variant = 0;
	describe("registration apply %s default %" PRId64 " variant %d", type_names[t], def,
		 variant);
	int rc = quota_registration_create(E, &reg);
	codes want = 0;
	if (def < -1 || (t == RPS && def != 0 && def != -1) || (variant == 3 && t != RPS))
		want |= bit(QUOTA_ERR_INVALID);
	if (variant == 2)
		want |= bit(QUOTA_ERR_CONFLICT);
	if (!want)
		want = bit(QUOTA_OK);
	expect_codes(rc, want, "registration create");
	if (rc == QUOTA_OK) {
		M.registered[t] = 1;
		M.default_limit[t] = def;
	}
}

static int type_in_use(int t, int *maybe)
{
	for (int g = 0; g < NGRANTS; g++)
		for (int a = 0; M.grants[g].live && a < M.grants[g].nallow; a++)
			if (M.grants[g].al[a].type == t)
				return 1;
	int in_use = 0;
	for (int c = 0; c < NCONS; c++) {
		if (M.anon[c][t])
			in_use = 1;
		if (M.observed_set[c][t])
			*maybe = 1;
	}
	for (int i = 0; i < NCLAIMS; i++) {
		const struct mclaim *cl = &M.claims[i];
		for (int q = 0; cl->state != NONE && q < cl->nreq; q++)
			if (cl->type[q] == t) {
				if (cl->state == RELEASED)
					*maybe = 1;
				else
					in_use = 1;
			}
	}
	return in_use;
}

static void tick_both(void)
{
	if (quota_engine_tick(E, 0, NULL) != QUOTA_OK)
		fail("tick failed");
	model_sweep();
	for (int i = 0; i < NCLAIMS; i++)
		if (M.claims[i].state == RELEASED && M.claims[i].forget_by == INT64_MAX)
			M.claims[i].forget_by = now_ns + RETENTION_MS * MS;
}

static void sync_queue(void);
static int shares_bucket(const struct mclaim *a, const struct mclaim *b);

static void op_registration_delete(struct reader *r)
{
	int t = byte(r) % NTYPES;
	describe("registration delete %s", type_names[t]);
	/* Whether an expired reservation still counts is not specified
	 * before a sweep: sweep first. */
	tick_both();
	sync_queue();
	int rc = quota_registration_delete(E, type_names[t]);
	int maybe = 0;
	codes want;
	if (!M.registered[t])
		want = bit(QUOTA_ERR_NOT_FOUND);
	else if (type_in_use(t, &maybe))
		want = bit(QUOTA_ERR_IN_USE);
	else
		want = bit(QUOTA_OK) | (maybe ? bit(QUOTA_ERR_IN_USE) : 0);
	expect_codes(rc, want, "registration delete");
	if (rc == QUOTA_OK) {
		M.registered[t] = 0;
		for (int c = 0; c < NCONS; c++) {
			M.anon[c][t] = 0;
			M.observed[c][t] = 0;
			M.observed_set[c][t] = 0;
		}
	}
}

static int same_grant(const struct mgrant *a, const struct mgrant *b)
{
	if (a->consumer != b->consumer || a->nallow != b->nallow)
		return 0;
	for (int i = 0; i < a->nallow; i++) {
		const struct mallowance *x = &a->al[i], *y = &b->al[i];
		if (x->type != y->type || x->nb != y->nb)
			return 0;
		for (int k = 0; k < x->nb; k++)
			if (x->amount[k] != y->amount[k] || x->period[k] != y->period[k] ||
			    x->burst[k] != y->burst[k])
				return 0;
	}
	return 1;
}

static void op_grant_apply(struct reader *r)
{
	int gi = byte(r) % NGRANTS;
	unsigned h = byte(r);
	struct mgrant G = {.live = 1, .consumer = h % NCONS, .nallow = 1 + (h >> 3) % 2};
	for (int a = 0; a < G.nallow; a++) {
		unsigned x = byte(r);
		struct mallowance *al = &G.al[a];
		al->type = x % NTYPES;
		al->nb = 1 + (x >> 2) % 2;
		for (int b = 0; b < al->nb; b++) {
			unsigned y = byte(r);
			al->amount[b] = amounts[y % 16];
			if (al->type == RPS) {
				al->amount[b] = (y % 16) < 10 ? amounts[y % 16] : (int64_t)(y >> 4);
				al->period[b] = periods_ms[(y >> 4) % 4];
				al->burst[b] = (y >> 6) % 3;
			}
		}
	}
	char text[160];
	size_t tn = 0;
	for (int a = 0; a < G.nallow; a++)
		for (int b = 0; b < G.al[a].nb && tn < sizeof text; b++)
			tn += (size_t)snprintf(text + tn, sizeof text - tn,
					       " %s %" PRId64 "/%" PRId64 "ms",
					       type_names[G.al[a].type], G.al[a].amount[b],
					       G.al[a].period[b]);
	describe("grant apply %s to %s:%s", grant_names[gi], cons_names[G.consumer], text);
	quota_grant_bucket buckets[2][2];
	quota_allowance allow[2];
	for (int a = 0; a < G.nallow; a++) {
		quota_allowance_init(&allow[a], sizeof allow[a]);
		allow[a].resource_type = type_names[G.al[a].type];
		allow[a].buckets = buckets[a];
		allow[a].bucket_count = (uint32_t)G.al[a].nb;
		for (int b = 0; b < G.al[a].nb; b++) {
			quota_grant_bucket_init(&buckets[a][b], sizeof buckets[a][b]);
			buckets[a][b].amount = G.al[a].amount[b];
			buckets[a][b].period_ms = G.al[a].period[b];
			buckets[a][b].burst = G.al[a].burst[b];
		}
	}
	quota_grant g;
	quota_grant_init(&g, sizeof g);
	g.ns = "g";
	g.name = grant_names[gi];
	g.consumer = cref(G.consumer);
	g.allowances = allow;
	g.allowance_count = (uint32_t)G.nallow;
	int64_t gen = -7;
	int rc = quota_grant_apply(E, &g, &gen);

	codes want = 0;
	if (G.nallow == 2 && G.al[0].type == G.al[1].type)
		want |= bit(QUOTA_ERR_INVALID);
	for (int a = 0; a < G.nallow; a++) {
		int64_t sum = 0;
		for (int b = 0; b < G.al[a].nb; b++) {
			if (G.al[a].amount[b] < -1)
				want |= bit(QUOTA_ERR_INVALID);
			else if (G.al[a].amount[b] >= 0 &&
				 __builtin_add_overflow(sum, G.al[a].amount[b], &sum))
				want |= bit(QUOTA_ERR_OVERFLOW);
		}
		if (!M.registered[G.al[a].type])
			want |= bit(QUOTA_ERR_UNREGISTERED);
	}
	if (!is_project(G.consumer) && !org_known())
		want |= bit(QUOTA_ERR_NOT_ALLOWED);
	if (!want) {
		/* Every bucket the old or the new grant touches must not overflow;
		 * an allowance's own sum counts too. */
		for (int c = 0; c < NCONS; c++)
			for (int t = 0; t < NTYPES; t++) {
				int ovf = 0;
				limit_with(c, t, gi, &G, &ovf, NULL);
				if (ovf && t != RPS)
					want |= bit(QUOTA_ERR_OVERFLOW);
			}
		if (!want)
			want = bit(QUOTA_OK);
	}
	expect_codes(rc, want, "grant apply");
	if (rc != QUOTA_OK)
		return;
	struct mgrant *old = &M.grants[gi];
	G.generation = !old->live ? 1 : same_grant(old, &G) ? old->generation : old->generation + 1;
	if (gen != G.generation)
		fail("grant generation: engine %" PRId64 ", model %" PRId64, gen, G.generation);
	*old = G;
}

static void op_grant_delete(struct reader *r)
{
	int gi = byte(r) % NGRANTS;
	describe("grant delete %s", grant_names[gi]);
	int rc = quota_grant_delete(E, "g", grant_names[gi]);
	expect_codes(rc, bit(M.grants[gi].live ? QUOTA_OK : QUOTA_ERR_NOT_FOUND), "grant delete");
	M.grants[gi].live = 0;
}

/* Does project p (the only level that can move) hold anything? 1 yes,
 * 0 no, 2 only granted claims of amount 0. */
static int holds(int p)
{
	int zero = 0;
	for (int t = 0; t < NTYPES; t++)
		if (M.anon[p][t])
			return 1;
	for (int i = 0; i < NCLAIMS; i++) {
		const struct mclaim *cl = &M.claims[i];
		if (cl->consumer != p)
			continue;
		if (cl->state == PENDING)
			return 1;
		if (cl->state == RESERVED || cl->state == GRANTED) {
			for (int q = 0; q < cl->nreq; q++)
				if (cl->held[q])
					return 1;
			zero = 1;
		}
	}
	return zero ? 2 : 0;
}

static void op_set_parent(struct reader *r)
{
	unsigned v = byte(r);
	int p = v % NPROJ;
	int par = (int)((v >> 2) % 3); /* o0, o1, none */
	int np = par == 2 ? -1 : NPROJ + par;
	describe("set parent of %s to %s", cons_names[p], np < 0 ? "none" : cons_names[np]);
	tick_both();
	sync_queue();
	quota_ref child = cref(p), parent = np < 0 ? child : cref(np);
	int rc = quota_consumer_set_parent(E, &child, np < 0 ? NULL : &parent);
	codes want;
	int h = holds(p);
	if (np == M.parent[p])
		want = bit(QUOTA_OK);
	else if (h == 1)
		want = bit(QUOTA_ERR_IN_USE);
	else
		want = bit(QUOTA_OK) | (h == 2 ? bit(QUOTA_ERR_IN_USE) : 0);
	expect_codes(rc, want, "set parent");
	if (rc == QUOTA_OK) {
		M.parent[p] = np;
	}
}

/* A claim spec from the input. */
struct spec {
	int consumer;
	int nreq;
	int type[2];
	int64_t amount[2];
	int64_t ttl_ms, queue_timeout_ms;
};

static void read_spec(struct reader *r, struct spec *s)
{
	unsigned a = byte(r), b = byte(r);
	s->consumer = (a & 3) == 3 ? NPROJ + ((a >> 2) & 1) : (int)(a & 3);
	switch ((a >> 3) & 3) {
	case 0: s->nreq = 1, s->type[0] = CPU; break;
	case 1: s->nreq = 1, s->type[0] = GPU; break;
	case 2: s->nreq = 2, s->type[0] = CPU, s->type[1] = GPU; break;
	default: s->nreq = 2, s->type[0] = GPU, s->type[1] = (a & 32) ? CPU : GPU; break;
	}
	s->amount[0] = amounts[b % 16];
	s->amount[1] = amounts[b >> 4];
	s->ttl_ms = ttls_ms[(a >> 5) & 7];
	unsigned c = byte(r);
	s->queue_timeout_ms = c & 1 ? ttls_ms[(c >> 1) & 7] : 0;
}

static codes spec_errors(const struct spec *s)
{
	codes want = 0;
	if (s->nreq == 2 && s->type[0] == s->type[1])
		want |= bit(QUOTA_ERR_INVALID);
	for (int q = 0; q < s->nreq; q++) {
		if (s->amount[q] <= 0)
			want |= bit(QUOTA_ERR_INVALID);
		if (!M.registered[s->type[q]])
			want |= bit(QUOTA_ERR_UNREGISTERED);
	}
	if (!is_project(s->consumer))
		want |= bit(QUOTA_ERR_NOT_ALLOWED);
	return want;
}

static int same_spec(const struct mclaim *cl, const struct spec *s)
{
	if (cl->consumer != s->consumer || cl->nreq != s->nreq)
		return 0;
	for (int q = 0; q < s->nreq; q++) {
		int found = 0;
		for (int k = 0; k < cl->nreq; k++)
			if (cl->type[k] == s->type[q] && cl->requested[k] == s->amount[q])
				found = 1;
		if (!found)
			return 0;
	}
	return 1;
}

/* Outcome of deciding amounts[q] of types[q] for consumer c now. */
enum {
	D_OK = 1,
	D_EXCEEDED = 2,
	D_OVERFLOW = 4,
	D_QUEUE = 8
};
static int decide(int c, int n, const int *types, const int64_t *amt, int can_queue)
{
	int chain[2], nc = chain_of(c, chain), out = 0;
	for (int q = 0; q < n; q++)
		for (int l = 0; l < nc; l++) {
			int f = fit(chain[l], types[q], amt[q]);
			if (f == FITS)
				continue;
			if (f == UNLIMITED_OVERFLOW) {
				out |= D_OVERFLOW;
				continue;
			}
			if (f == NO_FIT_OVERFLOW)
				out |= D_OVERFLOW;
			int64_t limit = limit_of(chain[l], types[q]);
			if (can_queue && types[q] == GPU && amt[q] <= limit)
				out |= D_QUEUE;
			else
				out |= D_EXCEEDED;
		}
	if (!out)
		out = D_OK;
	return out;
}

static void charge(struct mclaim *cl, int state)
{
	cl->nchain = chain_of(cl->consumer, cl->chain);
	for (int q = 0; q < cl->nreq; q++)
		cl->held[q] = cl->requested[q];
	cl->state = state;
	cl->deadline = state == RESERVED && cl->ttl_ms ? now_ns + cl->ttl_ms * MS : 0;
}

static void fill_claim(quota_claim *c, quota_request *req, const struct spec *s, int ci)
{
	quota_claim_init(c, sizeof *c);
	c->ns = "n";
	c->name = claim_names[ci];
	c->consumer = cref(s->consumer);
	for (int q = 0; q < s->nreq; q++) {
		quota_request_init(&req[q], sizeof req[q]);
		req[q].resource_type = type_names[s->type[q]];
		req[q].amount = s->amount[q];
	}
	c->requests = req;
	c->request_count = (uint32_t)s->nreq;
	c->ttl_ms = s->ttl_ms;
	c->queue_timeout_ms = s->queue_timeout_ms;
}

enum {
	OP_RESERVE,
	OP_ACQUIRE,
	OP_CHECK
};
static const char *claim_op_names[] = {"reserve", "acquire", "check"};

static void op_claim(struct reader *r, int kind)
{
	int ci = byte(r) % NCLAIMS;
	struct spec s;
	read_spec(r, &s);
	describe("%s %s for %s: %s %" PRId64 "%s%s %" PRId64 " ttl %" PRId64 " qt %" PRId64,
		 claim_op_names[kind], claim_names[ci], cons_names[s.consumer],
		 type_names[s.type[0]], s.amount[0], s.nreq > 1 ? ", " : "",
		 s.nreq > 1 ? type_names[s.type[1]] : "", s.nreq > 1 ? s.amount[1] : 0, s.ttl_ms,
		 s.queue_timeout_ms);
	quota_claim c;
	quota_request req[2];
	fill_claim(&c, req, &s, ci);
	quota_answer ans;
	quota_answer_init(&ans, sizeof ans);
	int rc = kind == OP_RESERVE   ? quota_claim_reserve(E, &c, &ans)
		 : kind == OP_ACQUIRE ? quota_claim_acquire(E, &c, &ans)
				      : quota_claim_check(E, &c, &ans);
	if (rc != ans.status)
		fail("answer.status %d but returned %d", ans.status, rc);
	struct mclaim *cl = &M.claims[ci];
	int live = kind != OP_CHECK && cl->state != NONE && cl->state != RELEASED;
	codes errs = spec_errors(&s);
	if (live && !same_spec(cl, &s))
		errs |= bit(QUOTA_ERR_CONFLICT);
	if (errs) {
		/* A spec both invalid and different: either is right. */
		expect_codes(rc, errs, claim_op_names[kind]);
		return;
	}
	if (live) {
		/* An idempotent retry: nothing is charged. */
		int want_state = cl->state;
		if (kind == OP_ACQUIRE && cl->state == RESERVED)
			want_state = GRANTED;
		expect_codes(rc, bit(QUOTA_OK), "retry");
		if (!(ans.flags & QUOTA_ANSWER_EXISTED))
			fail("retry: answer without EXISTED");
		if (cl->state == PENDING && ans.state == PENDING)
			return;
		if (ans.state != want_state)
			fail("retry: state engine %d, model %s", ans.state,
			     state_names[want_state]);
		if (want_state == GRANTED && cl->state == RESERVED) {
			cl->state = GRANTED;
			cl->deadline = 0;
		}
		return;
	}
	int d = decide(s.consumer, s.nreq, s.type, s.amount, kind != OP_CHECK);
	codes want = 0;
	if (d & D_OK)
		want |= bit(QUOTA_OK);
	if (d & D_EXCEEDED)
		want |= bit(QUOTA_ERR_EXCEEDED);
	if (d & D_OVERFLOW)
		want |= bit(QUOTA_ERR_OVERFLOW);
	if (d & D_QUEUE)
		want |= bit(QUOTA_OK);
	expect_codes(rc, want, claim_op_names[kind]);
	if (rc != QUOTA_OK)
		return;
	if (ans.flags & QUOTA_ANSWER_EXISTED)
		fail("a new claim answered EXISTED");
	int queued = ans.state == PENDING;
	if (queued != !(d & D_OK))
		fail("engine state %d, model %s", ans.state, d & D_OK ? "fits" : "queues");
	if (queued != !!(ans.flags & QUOTA_ANSWER_QUEUED))
		fail("QUEUED flag %u with state %d", ans.flags, ans.state);
	if (kind == OP_CHECK) {
		if (ans.state != GRANTED)
			fail("check: state %d, want granted", ans.state);
		return;
	}
	int want_state = kind == OP_ACQUIRE ? GRANTED : RESERVED;
	if (!queued && ans.state != want_state)
		fail("state engine %d, model %s", ans.state, state_names[want_state]);
	memset(cl, 0, sizeof *cl);
	cl->consumer = s.consumer;
	cl->nreq = s.nreq;
	for (int q = 0; q < s.nreq; q++) {
		cl->type[q] = s.type[q];
		cl->requested[q] = s.amount[q];
	}
	cl->ttl_ms = kind == OP_ACQUIRE ? 0 : s.ttl_ms;
	cl->queue_timeout_ms = s.queue_timeout_ms;
	cl->seq = ++M.seq;
	if (queued) {
		cl->state = PENDING;
		cl->nchain = chain_of(cl->consumer, cl->chain);
		cl->deadline = s.queue_timeout_ms ? now_ns + s.queue_timeout_ms * MS : 0;
		/* Remember how it would be admitted. */
		cl->admit_state = want_state;
	} else {
		charge(cl, want_state);
	}
}

/* Settlement or resize entries from the input. */
struct amounts_list {
	int n;
	int type[2];
	int64_t amount[2];
};

static void read_list(struct reader *r, struct amounts_list *l, int min)
{
	unsigned a = byte(r), b = byte(r);
	l->n = min + (int)(a % (3 - min));
	l->type[0] = (a >> 2) % NTYPES;
	l->type[1] = (a >> 4) % NTYPES;
	l->amount[0] = amounts[b % 16];
	l->amount[1] = amounts[b >> 4];
}

static int index_of(const struct mclaim *cl, int t)
{
	for (int q = 0; q < cl->nreq; q++)
		if (cl->type[q] == t)
			return q;
	return -1;
}

/* Entries that no claim could accept: a type twice, a negative amount. */
static int list_well_formed(const struct amounts_list *l)
{
	for (int k = 0; k < l->n; k++)
		if (l->amount[k] < 0)
			return 0;
	return !(l->n == 2 && l->type[0] == l->type[1]);
}

/* Entries valid for the claim: types in it, once each, amounts >= 0 and,
 * for a settlement, at most what is held. */
static int list_valid(const struct mclaim *cl, const struct amounts_list *l, int settle)
{
	if (!list_well_formed(l))
		return 0;
	for (int k = 0; k < l->n; k++) {
		int q = index_of(cl, l->type[k]);
		if (q < 0 || l->amount[k] < 0 || (settle && l->amount[k] > cl->held[q]))
			return 0;
	}
	return 1;
}

static void fill_list(quota_request *req, const struct amounts_list *l)
{
	for (int k = 0; k < l->n; k++) {
		quota_request_init(&req[k], sizeof req[k]);
		req[k].resource_type = type_names[l->type[k]];
		req[k].amount = l->amount[k];
	}
}

/* A claim name and its entries (at least min) from the input. */
static int read_claim_list(struct reader *r, int min, const char *verb, struct amounts_list *l,
			   quota_request *req)
{
	int ci = byte(r) % NCLAIMS;
	read_list(r, l, min);
	describe("%s %s (%d: %s %" PRId64 ", %s %" PRId64 ")", verb, claim_names[ci], l->n,
		 type_names[l->type[0]], l->amount[0], type_names[l->type[1]], l->amount[1]);
	fill_list(req, l);
	return ci;
}

static void op_commit(struct reader *r)
{
	struct amounts_list l;
	quota_request req[2];
	int ci = read_claim_list(r, 0, "commit, settling", &l, req);
	int rc = quota_claim_commit(E, "n", claim_names[ci], l.n ? req : NULL, (uint32_t)l.n);
	struct mclaim *cl = &M.claims[ci];
	int valid = cl->state == NONE ? list_well_formed(&l) : list_valid(cl, &l, 1);
	codes bad = valid ? 0 : bit(QUOTA_ERR_INVALID);
	switch (cl->state) {
	case NONE: expect_codes(rc, bit(QUOTA_ERR_NOT_FOUND) | bad, "commit"); return;
	case RELEASED:
	case PENDING:
		expect_codes(rc,
			     bit(QUOTA_ERR_WRONG_STATE) | bad |
				     (maybe_gone(cl) ? bit(QUOTA_ERR_NOT_FOUND) : 0),
			     "commit");
		return;
	case GRANTED: expect_codes(rc, bit(QUOTA_OK) | bad, "commit"); return;
	default: expect_codes(rc, valid ? bit(QUOTA_OK) : bad, "commit");
	}
	if (rc != QUOTA_OK)
		return;
	for (int k = 0; k < l.n; k++)
		cl->held[index_of(cl, l.type[k])] = l.amount[k];
	cl->state = GRANTED;
	cl->deadline = 0;
}

static void op_release(struct reader *r)
{
	int ci = byte(r) % NCLAIMS;
	describe("release %s", claim_names[ci]);
	int rc = quota_claim_release(E, "n", claim_names[ci]);
	struct mclaim *cl = &M.claims[ci];
	expect_codes(rc,
		     bit(cl->state == NONE ? QUOTA_ERR_NOT_FOUND : QUOTA_OK) |
			     (maybe_gone(cl) ? bit(QUOTA_ERR_NOT_FOUND) : 0),
		     "release");
	if (rc == QUOTA_ERR_NOT_FOUND)
		cl->state = NONE;
	if (cl->state != NONE && cl->state != RELEASED) {
		cl->state = RELEASED;
		cl->released_at = now_ns;
		cl->forget_by = now_ns + RETENTION_MS * MS;
		cl->held[0] = cl->held[1] = 0;
	}
}

static void op_resize(struct reader *r)
{
	struct amounts_list l;
	quota_request req[2];
	int ci = read_claim_list(r, 1, "resize", &l, req);
	quota_answer ans;
	quota_answer_init(&ans, sizeof ans);
	int rc = quota_claim_resize(E, "n", claim_names[ci], req, (uint32_t)l.n, &ans);
	struct mclaim *cl = &M.claims[ci];
	if (cl->state == NONE) {
		expect_codes(rc,
			     list_well_formed(&l) ? bit(QUOTA_ERR_NOT_FOUND)
						  : bit(QUOTA_ERR_INVALID),
			     "resize");
		return;
	}
	int valid = list_valid(cl, &l, 0);
	codes bad = valid ? 0 : bit(QUOTA_ERR_INVALID);
	if (cl->state != GRANTED) {
		expect_codes(rc,
			     bit(QUOTA_ERR_WRONG_STATE) | bad |
				     (maybe_gone(cl) ? bit(QUOTA_ERR_NOT_FOUND) : 0),
			     "resize");
		return;
	}
	if (!valid) {
		expect_codes(rc, bad, "resize");
		return;
	}
	int types[2], n = 0;
	int64_t more[2];
	for (int k = 0; k < l.n; k++) {
		int q = index_of(cl, l.type[k]);
		if (l.amount[k] > cl->held[q]) {
			types[n] = l.type[k];
			more[n++] = l.amount[k] - cl->held[q];
		}
	}
	int d = decide(cl->consumer, n, types, more, 0);
	codes want = (d & D_OK ? bit(QUOTA_OK) : 0) |
		     (d & D_EXCEEDED ? bit(QUOTA_ERR_EXCEEDED) : 0) |
		     (d & D_OVERFLOW ? bit(QUOTA_ERR_OVERFLOW) : 0);
	expect_codes(rc, want, "resize");
	if (rc != QUOTA_OK)
		return;
	for (int k = 0; k < l.n; k++)
		cl->held[index_of(cl, l.type[k])] = l.amount[k];
}

static codes key_errors(int c, int t, int64_t amount)
{
	codes want = 0;
	if (amount <= 0)
		want |= bit(QUOTA_ERR_INVALID);
	if (!M.registered[t])
		want |= bit(QUOTA_ERR_UNREGISTERED);
	if (!is_project(c))
		want |= bit(QUOTA_ERR_NOT_ALLOWED);
	return want;
}

/* A rate take's outcome where the documentation fixes it. */
static codes rate_outcome(int c, int64_t n)
{
	if (!has_rate_limiter(c, RPS) && M.default_limit[RPS] == 0)
		return bit(QUOTA_ERR_RATE_LIMITED);
	int chain[2], nc = chain_of(c, chain), limited = 0;
	for (int l = 0; l < nc; l++)
		limited |= has_rate_limiter(chain[l], RPS);
	if (!limited)
		return bit(QUOTA_OK);
	(void)n;
	return bit(QUOTA_OK) | bit(QUOTA_ERR_RATE_LIMITED) | bit(QUOTA_ERR_OVERFLOW);
}

static void op_consume(struct reader *r, int rate)
{
	unsigned v = byte(r);
	int c = (int)(v % NCONS);
	int t = rate ? (v & 8 ? CPU : RPS) : (int)((v >> 3) % NTYPES);
	int64_t amount = amounts[byte(r) % 16];
	describe("%s %s %s %" PRId64, rate ? "rate take" : "consume", cons_names[c], type_names[t],
		 amount);
	quota_ref ref = cref(c);
	quota_answer ans;
	quota_answer_init(&ans, sizeof ans);
	int rc = rate ? quota_rate_take(E, &ref, type_names[t], amount, &ans)
		      : quota_consume(E, &ref, type_names[t], amount, &ans);
	codes errs = key_errors(c, t, amount);
	if (rate && t != RPS)
		errs |= bit(QUOTA_ERR_INVALID);
	if (errs) {
		expect_codes(rc, errs, "consume");
		return;
	}
	if (t == RPS) {
		expect_codes(rc, rate_outcome(c, amount), "rate take");
		return;
	}
	int d = decide(c, 1, &t, &amount, 0);
	codes want = (d & D_OK ? bit(QUOTA_OK) : 0) |
		     (d & D_EXCEEDED ? bit(QUOTA_ERR_EXCEEDED) : 0) |
		     (d & D_OVERFLOW ? bit(QUOTA_ERR_OVERFLOW) : 0);
	/* QUEUE answers as THROTTLE without a claim. */
	if ((d & D_EXCEEDED) && t == GPU)
		want |= bit(QUOTA_ERR_RATE_LIMITED);
	expect_codes(rc, want, "consume");
	if (rc != QUOTA_OK)
		return;
	int chain[2], nc = chain_of(c, chain);
	for (int l = 0; l < nc; l++)
		M.anon[chain[l]][t] += amount;
}

static void op_give_back(struct reader *r)
{
	unsigned v = byte(r);
	int c = (int)(v % NCONS);
	int t = (int)((v >> 3) % NTYPES);
	int64_t amount = amounts[byte(r) % 16];
	describe("give back %s %s %" PRId64, cons_names[c], type_names[t], amount);
	quota_ref ref = cref(c);
	int rc = quota_give_back(E, &ref, type_names[t], amount);
	codes errs = key_errors(c, t, amount);
	if (t == RPS || (!errs && amount > M.anon[c][t]))
		errs |= bit(QUOTA_ERR_INVALID) | bit(QUOTA_ERR_NOT_FOUND);
	if (errs) {
		expect_codes(rc, errs, "give back");
		return;
	}
	expect_codes(rc, bit(QUOTA_OK), "give back");
	int chain[2], nc = chain_of(c, chain);
	for (int l = 0; l < nc; l++)
		M.anon[chain[l]][t] -= amount;
}

static void op_observe(struct reader *r)
{
	unsigned v = byte(r);
	int c = (int)(v % NCONS);
	int t = (int)((v >> 3) % NTYPES);
	int64_t value = amounts[byte(r) % 16];
	describe("observe %s %s %" PRId64, cons_names[c], type_names[t], value);
	quota_ref ref = cref(c);
	int rc = quota_usage_observe(E, &ref, type_names[t], value);
	codes want = 0;
	if (value < 0)
		want |= bit(QUOTA_ERR_INVALID);
	if (!M.registered[t])
		want |= bit(QUOTA_ERR_UNREGISTERED);
	if (!is_project(c) && !org_known())
		want |= bit(QUOTA_ERR_NOT_ALLOWED);
	if (!want)
		want = bit(QUOTA_OK) | (t == RPS ? bit(QUOTA_ERR_INVALID) : 0);
	expect_codes(rc, want, "observe");
	if (rc == QUOTA_OK && t != RPS) {
		M.observed[c][t] = value;
		M.observed_set[c][t] = 1;
	}
}

static void op_clock(struct reader *r)
{
	unsigned v = byte(r);
	int64_t step = steps_ms[v % 8];
	describe("clock +%" PRId64 " ms%s", step, v & 8 ? ", tick" : "");
	now_ns += step * MS;
	if (v & 8) {
		tick_both();
		sync_queue();
	}
}

/* ---- queue admission, checked rather than predicted ---- */

static int shares_bucket(const struct mclaim *a, const struct mclaim *b)
{
	for (int i = 0; i < a->nreq; i++)
		for (int j = 0; j < b->nreq; j++)
			if (a->type[i] == b->type[j])
				for (int k = 0; k < a->nchain; k++)
					if (claim_charges(b, a->chain[k]))
						return 1;
	return 0;
}

static void sync_queue(void)
{
	model_sweep();
	for (;;) {
		int any = 0;
		/* Oldest first, the order the engine admits in: with observed
		 * usage (counted as max(allocated, observed)) a younger
		 * claim charged first can make an older one look too big. */
		int order[NCLAIMS], n = 0;
		for (int i = 0; i < NCLAIMS; i++) {
			int at = n++;
			while (at > 0 && M.claims[order[at - 1]].seq > M.claims[i].seq) {
				order[at] = order[at - 1];
				at--;
			}
			order[at] = i;
		}
		for (int k = 0; k < NCLAIMS; k++) {
			int i = order[k];
			struct mclaim *cl = &M.claims[i];
			if (cl->state != PENDING)
				continue;
			quota_claim_info *info = NULL;
			int rc = quota_claim_get(E, "n", claim_names[i], &info);
			if (rc != QUOTA_OK)
				fail("pending %s: get %d", claim_names[i], rc);
			int st = info->state;
			quota_free(info);
			if (st == PENDING)
				continue;
			if (st != RESERVED && st != GRANTED)
				fail("pending %s became %s before its queue deadline",
				     claim_names[i], state_names[st]);
			/* Admitted: no older pending claim may wait on its
			 * buckets, and it must fit. */
			for (int j = 0; j < NCLAIMS; j++) {
				const struct mclaim *o = &M.claims[j];
				if (j != i && o->state == PENDING && o->seq < cl->seq &&
				    shares_bucket(cl, o)) {
					quota_claim_info *oi = NULL;
					if (quota_claim_get(E, "n", claim_names[j], &oi) ==
						    QUOTA_OK &&
					    oi->state == PENDING)
						fail("%s admitted before the older %s",
						     claim_names[i], claim_names[j]);
					quota_free(oi);
				}
			}
			int d = decide(cl->consumer, cl->nreq, cl->type, cl->requested, 0);
			if (!(d & D_OK))
				fail("pending %s admitted but it does not fit", claim_names[i]);
			if (st != cl->admit_state)
				fail("pending %s admitted as %s, model %s", claim_names[i],
				     state_names[st], state_names[cl->admit_state]);
			charge(cl, st);
			any = 1;
			break;
		}
		if (!any)
			return;
	}
}

/* ---- full comparison ---- */

static void compare_all(void)
{
	describe("compare (tick first)");
	tick_both();
	sync_queue();
	for (int c = 0; c < NCONS; c++)
		for (int t = 0; t < NTYPES; t++) {
			if (!M.registered[t])
				continue;
			quota_ref ref = cref(c);
			quota_bucket_info *b = NULL;
			int rc = quota_bucket_get(E, &ref, type_names[t], &b);
			/* An organization's bucket made while the kinds were
			 * linked stays readable after the last link goes. */
			if (!is_project(c) && !org_known()) {
				expect_codes(rc, bit(QUOTA_ERR_NOT_ALLOWED) | bit(QUOTA_OK),
					     "bucket get");
				if (rc != QUOTA_OK)
					continue;
			}
			expect_codes(rc, bit(QUOTA_OK), "bucket get");
			int64_t al, re, limit;
			int granted = 0, ovf = 0;
			limit = limit_with(c, t, -1, NULL, &ovf, &granted);
			usage_of(c, t, &al, &re);
			if (t == RPS) {
				limit = granted ? -1 : is_project(c) ? M.default_limit[t] : -1;
				al = re = 0;
			}
			if (b->limit != limit || b->allocated != al || b->reserved != re)
				fail("bucket %s:%s limit/allocated/reserved engine %" PRId64
				     "/%" PRId64 "/%" PRId64 ", model %" PRId64 "/%" PRId64
				     "/%" PRId64,
				     cons_names[c], type_names[t], b->limit, b->allocated,
				     b->reserved, limit, al, re);
			int obs = t != RPS && M.observed_set[c][t];
			if (t != RPS && (!!(b->flags & QUOTA_BUCKET_OBSERVED) != obs ||
					 (obs && b->observed != M.observed[c][t])))
				fail("bucket %s:%s observed engine %" PRId64
				     " (flag %u), model %" PRId64 " (%d)",
				     cons_names[c], type_names[t], b->observed, b->flags,
				     M.observed[c][t], obs);
			if (is_project(c) && !!(b->flags & QUOTA_BUCKET_DEFAULT_LIMIT) != !granted)
				fail("bucket %s:%s default flag engine %u, model %d", cons_names[c],
				     type_names[t], b->flags, !granted);
			quota_free(b);
		}
	for (int i = 0; i < NCLAIMS; i++) {
		struct mclaim *cl = &M.claims[i];
		quota_claim_info *info = NULL;
		int rc = quota_claim_get(E, "n", claim_names[i], &info);
		if (cl->state == NONE) {
			if (rc != QUOTA_ERR_NOT_FOUND)
				fail("claim %s: engine %d state %d, model none", claim_names[i], rc,
				     rc == QUOTA_OK ? info->state : 0);
			quota_free(info);
			continue;
		}
		if (rc == QUOTA_ERR_NOT_FOUND && maybe_gone(cl)) {
			cl->state = NONE;
			continue;
		}
		if (rc != QUOTA_OK)
			fail("claim %s: engine %d, model %s", claim_names[i], rc,
			     state_names[cl->state]);
		if (info->state != cl->state)
			fail("claim %s: state engine %s, model %s", claim_names[i],
			     state_names[info->state], state_names[cl->state]);
		if ((cl->state == RESERVED || cl->state == PENDING) &&
		    info->expires_ns != cl->deadline)
			fail("claim %s: expires engine %" PRId64 ", model %" PRId64, claim_names[i],
			     info->expires_ns, cl->deadline);
		if (cl->state == RESERVED || cl->state == GRANTED) {
			if (info->allocation_count != (uint32_t)cl->nreq)
				fail("claim %s: %u allocations, model %d", claim_names[i],
				     info->allocation_count, cl->nreq);
			for (uint32_t k = 0; k < info->allocation_count; k++) {
				const quota_allocation *a = info->allocations[k];
				int q = -1;
				for (int x = 0; x < cl->nreq; x++)
					if (!strcmp(a->resource_type, type_names[cl->type[x]]))
						q = x;
				if (q < 0 || a->amount != cl->held[q] ||
				    a->requested != cl->requested[q])
					fail("claim %s: allocation %s amount %" PRId64
					     " requested %" PRId64 " differs",
					     claim_names[i], a->resource_type, a->amount,
					     a->requested);
			}
		}
		quota_free(info);
	}
}

/* ---- the target ---- */

static void setup(void)
{
	memset(&M, 0, sizeof M);
	for (int p = 0; p < NPROJ; p++)
		M.parent[p] = -1;
	now_ns = INT64_C(1700000000000000000);
	quota_engine_options o;
	quota_engine_options_init(&o, sizeof o);
	o.clock = engine_clock;
	o.stripes = 4;
	o.hash_key[0] = 1;
	o.hash_key[1] = 2;
	o.released_retention_ms = RETENTION_MS;
	E = NULL;
	if (quota_engine_new(&E, &o) != QUOTA_OK)
		fail("engine");
}

static void run_op(struct reader *r)
{
	unsigned op = byte(r) % 16;
	/* Whether a pending claim gets capacity from a reservation that
	 * expired before it or from this call is the engine's choice:
	 * settle the queue first. */
	int pending = 0;
	for (int i = 0; i < NCLAIMS; i++)
		pending |= M.claims[i].state == PENDING;
	if (pending) {
		describe("tick before op");
		tick_both();
		sync_queue();
	}
	model_sweep();
	switch (op) {
	case 0: op_registration(r); break;
	case 1: op_registration_delete(r); break;
	case 2: op_grant_apply(r); break;
	case 3: op_grant_delete(r); break;
	case 4: op_set_parent(r); break;
	case 5:
	case 6: op_claim(r, op == 5 ? OP_RESERVE : OP_ACQUIRE); break;
	case 7: op_claim(r, OP_CHECK); break;
	case 8: op_commit(r); break;
	case 9: op_release(r); break;
	case 10: op_resize(r); break;
	case 11: op_consume(r, 0); break;
	case 12: op_give_back(r); break;
	case 13: op_consume(r, 1); break;
	case 14: op_observe(r); break;
	default: op_clock(r); break;
	}
	sync_queue();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct reader r = {d, n, 0};
	trace = getenv("FUZZ_API_TRACE") != NULL;
	setup();
	/* The world starts registered unless the first byte is odd. */
	if (!(byte(&r) & 1)) {
		for (int t = 0; t < NTYPES; t++) {
			quota_registration reg;
			quota_registration_init(&reg, sizeof reg);
			reg.resource_type = type_names[t];
			reg.consumer_type.kind = "Project";
			reg.resource_class = t == RPS ? QUOTA_RESOURCE_RATE
						      : QUOTA_RESOURCE_ALLOCATION;
			reg.default_limit = t == RPS ? -1 : 10;
			reg.violation_action = t == GPU ? QUOTA_ACTION_QUEUE : QUOTA_ACTION_REJECT;
			if (quota_registration_create(E, &reg) != QUOTA_OK)
				fail("initial registration");
			M.registered[t] = 1;
			M.default_limit[t] = reg.default_limit;
		}
	}
	for (op_index = 0; op_index < MAX_OPS && r.i < r.n; op_index++) {
		run_op(&r);
		if (op_index % CHECK_EVERY == CHECK_EVERY - 1)
			compare_all();
	}
	compare_all();
	quota_engine_free(E);
	E = NULL;
	return 0;
}
