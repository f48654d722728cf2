/*
 * The hardening promise under load: never over-allocate, never charge
 * twice, counters conserved, queues FIFO. See doc/reliability.md.
 *
 *   stress [--seed N] [--threads N] [--ops N] [--duration S] [--stripes N]
 *   stress --lin [--seed N] [--histories N] [--duration S]
 *   stress --self-check [--seed N]
 *
 * The default mode runs N worker threads of random operations of every kind
 * the API offers, and one chaos thread that moves the shared manual clock
 * (TTL expiry, queue deadlines, rate limits), ticks the engine, applies and
 * deletes grants, moves a consumer between parents, reports observed usage
 * and reads every bucket. Online, every answer is checked (a denial names a
 * bucket where the request did not fit; an admission leaves its buckets
 * within their limits) and so is every bucket reading. At quiescence: each
 * bucket's allocated and reserved equal the sums over its live claims and
 * the threads' anonymous consumption (at every level of the hierarchy);
 * the stats counters equal the threads' own tally of decisions and the
 * event callback's tally of transitions; the queue is balanced and was
 * served in FIFO order; no pending claim at the head of a queue fits; rate
 * limits let through no more than burst + rate x time.
 *
 * --lin records small histories (4 threads x 200 operations on 3 buckets)
 * and checks each for linearizability against the sequential model in
 * lincheck.c. --self-check corrupts histories, tallies and an event
 * sequence and passes only when every corruption is caught.
 *
 * The run ends at --ops operations or after --duration seconds, whichever
 * comes first; QUOTA_STRESS_SECONDS, when set, caps the duration (the
 * sanitizer stages of scripts/test-all.sh set it).
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "../check.h"
#include "lincheck.h"

/* ---- options, randomness, reporting ------------------------------------ */

static struct {
	uint64_t seed;
	int threads;
	long ops;
	double seconds;
	uint32_t stripes;
	int histories;
	int tamper; /* self-check: corrupt a tally before the final checks */
} opt = {1, 4, 3000000, 15, 16, 500, 0};

static uint64_t rnd(uint64_t *s)
{
	*s += UINT64_C(0x9e3779b97f4a7c15);
	uint64_t z = *s;
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int64_t pick(uint64_t *s, int64_t n)
{
	return (int64_t)(rnd(s) % (uint64_t)n);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static atomic_long violations;
static atomic_long invariants_checked;

/* An invariant failed: say which (the first 30 times) and count it. */
__attribute__((format(printf, 1, 2))) static void violation(const char *fmt, ...)
{
	va_list ap;
	if (atomic_fetch_add(&violations, 1) >= 30)
		return;
	flockfile(stderr);
	fprintf(stderr, "INVARIANT: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (last error: \"%s\")\n", quota_last_error());
	funlockfile(stderr);
}

#define INVARIANT(cond, ...)                                                                       \
	do {                                                                                       \
		atomic_fetch_add_explicit(&invariants_checked, 1, memory_order_relaxed);           \
		if (!(cond))                                                                       \
			violation(__VA_ARGS__);                                                    \
	} while (0)

/* ---- the world: consumers, types, grants ------------------------------- */

enum {
	O0,
	O1,
	P0,
	P1,
	P2,
	P3,
	P4,
	P5,
	C0,
	MV,
	G0,
	G1,
	NCONS
};
enum {
	T_CPU,
	T_MEM,
	T_GPU,
	T_RPS,
	NTYPES
};

static const char *const cons_name[NCONS] = {"o0", "o1", "p0", "p1", "p2", "p3",
					     "p4", "p5", "c0", "mv", "g0", "g1"};
static const char *const type_name[NTYPES] = {"stress.example.com/cpu", "stress.example.com/mem",
					      "stress.example.com/gpu", "stress.example.com/rps"};
static quota_ref cons[NCONS];

#define MEM_DEFAULT 40
#define RATE_P0 100 /* per second, burst 50, REJECT */
#define BURST_P0 50
#define RATE_P1 20 /* per second, burst 10, THROTTLE */
#define BURST_P1 10

/* The fixed limits the online checks hold buckets to; -1: not fixed. */
static int64_t fixed_limit(int c, int t)
{
	if (t == T_CPU && c >= P0 && c <= P5)
		return 20;
	if (t == T_CPU && c == O0)
		return 50;
	if (t == T_CPU && c == O1)
		return 40;
	if (t == T_MEM && c >= P0 && c <= MV)
		return MEM_DEFAULT;
	if (t == T_GPU && c == G0)
		return 8;
	return -1;
}

static int cons_index(const char *name)
{
	for (int c = 0; c < NCONS; c++)
		if (name && strcmp(name, cons_name[c]) == 0)
			return c;
	return -1;
}

static int type_index(const char *name)
{
	for (int t = 0; t < NTYPES; t++)
		if (name && strcmp(name, type_name[t]) == 0)
			return t;
	return -1;
}

static int grant(quota_engine *e, const char *name, int c, int t, int64_t amount, int64_t period_ms,
		 int64_t burst, int32_t action)
{
	quota_grant_bucket b;
	quota_allowance a;
	quota_grant g;
	quota_grant_bucket_init(&b, sizeof b);
	quota_allowance_init(&a, sizeof a);
	quota_grant_init(&g, sizeof g);
	b.amount = amount;
	b.period_ms = period_ms;
	b.burst = burst;
	b.violation_action = action;
	a.resource_type = type_name[t];
	a.buckets = &b;
	a.bucket_count = 1;
	g.ns = "stress";
	g.name = name;
	g.consumer = cons[c];
	g.allowances = &a;
	g.allowance_count = 1;
	return quota_grant_apply(e, &g, NULL);
}

static int setup_world(quota_engine *e)
{
	quota_registration r;
	int rc = 0;
	for (int c = 0; c < NCONS; c++) {
		int org = c <= O1;
		cons[c] = (quota_ref){NULL, org ? "Organization" : "Project", org ? NULL : "stress",
				      cons_name[c]};
	}
	for (int t = 0; t < NTYPES; t++) {
		quota_registration_init(&r, sizeof r);
		r.resource_type = type_name[t];
		r.consumer_type.kind = "Project";
		r.default_limit = t == T_MEM ? MEM_DEFAULT : 0;
		if (t == T_GPU)
			r.violation_action = QUOTA_ACTION_QUEUE;
		if (t == T_RPS)
			r.resource_class = QUOTA_RESOURCE_RATE;
		rc |= quota_registration_create(e, &r);
	}
	for (int c = P0; c <= C0; c++)
		rc |= quota_consumer_set_parent(e, &cons[c], &cons[c <= P3 ? O0 : O1]);
	char name[16];
	for (int c = P0; c <= P5; c++) {
		snprintf(name, sizeof name, "fix-%s", cons_name[c]);
		rc |= grant(e, name, c, T_CPU, 20, 0, 0, 0);
	}
	rc |= grant(e, "fix-o0", O0, T_CPU, 50, 0, 0, 0);
	rc |= grant(e, "fix-o1", O1, T_CPU, 40, 0, 0, 0);
	rc |= grant(e, "fix-g0", G0, T_GPU, 8, 0, 0, 0);
	rc |= grant(e, "fix-g1", G1, T_GPU, 6, 0, 0, 0);
	rc |= grant(e, "rate-p0", P0, T_RPS, RATE_P0, QUOTA_PERIOD_SECOND, BURST_P0,
		    QUOTA_ACTION_REJECT);
	rc |= grant(e, "rate-p1", P1, T_RPS, RATE_P1, QUOTA_PERIOD_SECOND, BURST_P1,
		    QUOTA_ACTION_THROTTLE);
	return rc;
}

/* ---- events: tallies and the FIFO order of each queue ------------------ */

#define QMAX 4096

static struct events {
	pthread_mutex_t lock;
	uint64_t by_type[8];
	uint64_t admitted, expired_pending;
	char *waiting[2][QMAX]; /* per gpu consumer (G0, G1): pending claims, oldest first */
	int passed[2][QMAX];    /* a younger claim was admitted ahead of it */
	int nwaiting[2];
	uint64_t fifo_checked, fifo_passed, fifo_broken;
} events = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0, {{0}}, {{0}}, {0}, 0, 0, 0};

/* Which queue a claim waits in: its name starts q0- or q1-. */
static int queue_of(const char *name)
{
	if (name && name[0] == 'q' && (name[1] == '0' || name[1] == '1') && name[2] == '-')
		return name[1] - '0';
	return -1;
}

static int waiting_find(struct events *ev, int q, const char *name)
{
	for (int i = 0; i < ev->nwaiting[q]; i++)
		if (strcmp(ev->waiting[q][i], name) == 0)
			return i;
	return -1;
}

static void waiting_remove(struct events *ev, int q, int i)
{
	free(ev->waiting[q][i]);
	memmove(&ev->waiting[q][i], &ev->waiting[q][i + 1],
		(size_t)(ev->nwaiting[q] - i - 1) * sizeof ev->waiting[q][0]);
	memmove(&ev->passed[q][i], &ev->passed[q][i + 1],
		(size_t)(ev->nwaiting[q] - i - 1) * sizeof ev->passed[q][0]);
	ev->nwaiting[q]--;
}

/*
 * Every claim in a queue asks for one bucket only, so strict FIFO means: a
 * claim admitted from the queue is the oldest one still waiting there. The
 * one exception (lib/queue.c): a pending claim past its queue deadline that
 * the sweep has not ended yet holds no one back; such a claim, passed by a
 * younger one, must then leave the queue by expiring.
 */
static void on_event(const quota_event *e, void *payload)
{
	struct events *ev = payload;
	int q = queue_of(e->name);
	pthread_mutex_lock(&ev->lock);
	if (e->type >= 1 && e->type <= 7)
		ev->by_type[e->type]++;
	if (e->type == QUOTA_EVENT_QUEUED) {
		INVARIANT(q >= 0, "claim %s queued, but only gpu claims can be", e->name);
		if (q >= 0 && ev->nwaiting[q] < QMAX)
			ev->waiting[q][ev->nwaiting[q]++] = strdup(e->name);
	} else if (e->prev_state == QUOTA_CLAIM_PENDING) {
		int i = q >= 0 ? waiting_find(ev, q, e->name) : -1;
		INVARIANT(i >= 0, "claim %s left a queue it was never seen to join", e->name);
		if (i >= 0 && ev->passed[q][i] && e->type != QUOTA_EVENT_EXPIRED) {
			ev->fifo_broken++;
			INVARIANT(0,
				  "FIFO: %s was passed in queue g%d, then left it by event %d, "
				  "not by expiring",
				  e->name, q, e->type);
		}
		if (e->type == QUOTA_EVENT_RESERVED || e->type == QUOTA_EVENT_GRANTED) {
			ev->admitted++;
			ev->fifo_checked++;
			for (int k = 0; k < i; k++)
				ev->passed[q][k] = 1;
			ev->fifo_passed += i > 0;
		} else if (e->type == QUOTA_EVENT_EXPIRED) {
			ev->expired_pending++;
		}
		if (i >= 0)
			waiting_remove(ev, q, i);
	}
	pthread_mutex_unlock(&ev->lock);
}

static void events_reset(struct events *ev)
{
	for (int q = 0; q < 2; q++)
		while (ev->nwaiting[q])
			waiting_remove(ev, q, ev->nwaiting[q] - 1);
	memset(ev->by_type, 0, sizeof ev->by_type);
	ev->admitted = ev->expired_pending = ev->fifo_checked = ev->fifo_passed = 0;
	ev->fifo_broken = 0;
}

/* ---- worker state ------------------------------------------------------ */

enum {
	S_FREE,
	S_RESERVED,
	S_GRANTED,
	S_PENDING
};

struct slot {
	char name[48];
	int state;
	int uncertain; /* a TTL or queue deadline may have ended it meanwhile */
	int cons;
	int types[2];
	int ntypes;
};

#define NSLOTS 8
#define NSHARED 4

/* What a thread saw decided, to compare with the engine's counters. */
struct tally {
	uint64_t allowed, denied_exceeded, denied_rate, throttled, queued;
};

struct worker {
	int id;
	uint64_t rng;
	long ops;
	struct slot slots[NSLOTS];
	uint64_t gen;
	int64_t anon[NCONS][NTYPES]; /* consumed minus given back */
	int64_t taken[NCONS];        /* rate takes let through */
	struct tally tally;
	pthread_t thread;
};

static quota_engine *engine;
static struct test_clock clk;
static quota_bucket_handle *handles[2]; /* (P0, cpu) and (MV, mem), shared */
static atomic_int stop;
static atomic_long ops_done;
static double deadline;

static void tally(struct tally *t, int rc, const quota_answer *a)
{
	if (rc == QUOTA_OK && (a->flags & QUOTA_ANSWER_EXISTED))
		return;
	if (rc == QUOTA_OK && a->state == QUOTA_CLAIM_PENDING)
		t->queued++;
	else if (rc == QUOTA_OK)
		t->allowed++;
	else if (rc == QUOTA_ERR_EXCEEDED)
		t->denied_exceeded++;
	else if (rc == QUOTA_ERR_RATE_LIMITED && (a->flags & QUOTA_ANSWER_THROTTLED))
		t->throttled++;
	else if (rc == QUOTA_ERR_RATE_LIMITED)
		t->denied_rate++;
}

static void unexpected(const char *op, const char *name, int rc)
{
	violation("%s %s returned %s (%d)", op, name ? name : "", quota_strerror(rc), rc);
}

/* A denial must name a bucket where the request did not fit. */
static void check_denial(const char *op, const quota_answer *a)
{
	INVARIANT(a->bucket[0] != '\0', "%s denied without naming a bucket", op);
	INVARIANT(a->limit < 0 || a->available < a->requested,
		  "%s denied at %s: requested %" PRId64 " but %" PRId64 " available", op, a->bucket,
		  a->requested, a->available);
}

/* Read a bucket and hold it to its fixed limit, if it has one. */
static void check_bucket_now(int c, int t)
{
	int64_t lim = fixed_limit(c, t);
	quota_bucket_info *b = NULL;
	if (lim < 0)
		return;
	int rc = quota_bucket_get(engine, &cons[c], type_name[t], &b);
	if (rc != QUOTA_OK) {
		unexpected("bucket_get", cons_name[c], rc);
		return;
	}
	/* Observed usage is reported from outside and may pass the limit on
	 * its own; what admission holds (allocated + reserved) never may. */
	INVARIANT(b->limit == lim && b->allocated >= 0 && b->reserved >= 0 &&
			  b->allocated + b->reserved <= lim &&
			  (!(b->flags & QUOTA_BUCKET_OVER_LIMIT) ||
			   (b->flags & QUOTA_BUCKET_OBSERVED)),
		  "bucket %s:%s limit %" PRId64 " (fixed %" PRId64 ") allocated %" PRId64
		  " reserved %" PRId64 " flags %#x",
		  cons_name[c], type_name[t], b->limit, lim, b->allocated, b->reserved,
		  (unsigned)b->flags);
	quota_free(b);
}

static void check_claim_buckets(const struct slot *s)
{
	for (int i = 0; i < s->ntypes; i++) {
		check_bucket_now(s->cons, s->types[i]);
		quota_ref *parent = NULL;
		if (quota_consumer_get_parent(engine, &cons[s->cons], &parent) == QUOTA_OK &&
		    parent) {
			int p = cons_index(parent->name);
			if (p >= 0)
				check_bucket_now(p, s->types[i]);
			quota_free(parent);
		}
	}
}

static struct slot *slot_with(struct worker *w, int state)
{
	int start = (int)pick(&w->rng, NSLOTS);
	for (int i = 0; i < NSLOTS; i++) {
		struct slot *s = &w->slots[(start + i) % NSLOTS];
		if (s->state == state)
			return s;
	}
	return NULL;
}

/* Describe a new claim in a free slot: which consumer, types, amounts. */
static void plan_claim(struct worker *w, struct slot *s, struct test_claim *tc, int64_t *amounts)
{
	int kind = (int)pick(&w->rng, 10);
	s->ntypes = 1;
	if (kind < 4) { /* cpu, maybe with mem */
		s->cons = P0 + (int)pick(&w->rng, C0 - P0 + 1);
		s->types[0] = T_CPU;
		if (s->cons != C0 && pick(&w->rng, 3) == 0) {
			s->types[1] = T_MEM;
			s->ntypes = 2;
		}
	} else if (kind < 6) {
		s->cons = P0 + (int)pick(&w->rng, MV - P0 + 1);
		s->types[0] = T_MEM;
	} else {
		s->cons = G0 + (int)pick(&w->rng, 2);
		s->types[0] = T_GPU;
	}
	if (s->types[0] == T_GPU)
		snprintf(s->name, sizeof s->name, "q%d-w%d-%" PRIu64, s->cons - G0, w->id,
			 w->gen++);
	else
		snprintf(s->name, sizeof s->name, "w%d-%" PRIu64, w->id, w->gen++);
	test_claim_init(tc, "stress", s->name, &cons[s->cons]);
	for (int i = 0; i < s->ntypes; i++) {
		amounts[i] = 1 + pick(&w->rng, s->types[i] == T_GPU ? 4 : 8);
		test_claim_add(tc, type_name[s->types[i]], amounts[i]);
	}
}

static void op_new_claim(struct worker *w, int acquire)
{
	struct slot *s = slot_with(w, S_FREE);
	struct test_claim tc;
	int64_t amounts[2];
	quota_answer a;
	if (!s)
		return;
	plan_claim(w, s, &tc, amounts);
	s->uncertain = 0;
	if (!acquire && pick(&w->rng, 3) == 0) {
		tc.c.ttl_ms = 5 + pick(&w->rng, 40);
		s->uncertain = 1;
	}
	if (s->types[0] == T_GPU) {
		if (pick(&w->rng, 2))
			tc.c.flags |= QUOTA_CLAIM_QUEUE;
		if (pick(&w->rng, 3) == 0)
			tc.c.flags |= QUOTA_CLAIM_AUTO_COMMIT;
		if (pick(&w->rng, 3) == 0) {
			tc.c.queue_timeout_ms = 20 + pick(&w->rng, 80);
			s->uncertain = 1;
		}
	}
	quota_answer_init(&a, sizeof a);
	int rc = acquire ? quota_claim_acquire(engine, &tc.c, &a)
			 : quota_claim_reserve(engine, &tc.c, &a);
	tally(&w->tally, rc, &a);
	if (rc == QUOTA_ERR_EXCEEDED) {
		check_denial(s->name, &a);
		return;
	}
	if (rc != QUOTA_OK) {
		unexpected(acquire ? "acquire" : "reserve", s->name, rc);
		return;
	}
	INVARIANT(a.state == (a.flags & QUOTA_ANSWER_QUEUED ? QUOTA_CLAIM_PENDING
			      : acquire || (tc.c.flags & QUOTA_CLAIM_AUTO_COMMIT)
				      ? QUOTA_CLAIM_GRANTED
				      : QUOTA_CLAIM_RESERVED),
		  "%s: answer state %d flags %u", s->name, a.state, a.flags);
	s->state = a.state == QUOTA_CLAIM_PENDING   ? S_PENDING
		   : a.state == QUOTA_CLAIM_GRANTED ? S_GRANTED
						    : S_RESERVED;
	if (s->state != S_PENDING && pick(&w->rng, 4) == 0)
		check_claim_buckets(s);
}

/* A claim that may have ended or moved on: its state now. */
static void resync(struct slot *s)
{
	int st = test_claim_state(engine, "stress", s->name);
	s->state = st == QUOTA_CLAIM_PENDING    ? S_PENDING
		   : st == QUOTA_CLAIM_RESERVED ? S_RESERVED
		   : st == QUOTA_CLAIM_GRANTED  ? S_GRANTED
						: S_FREE;
}

static void op_commit(struct worker *w)
{
	struct slot *s = slot_with(w, pick(&w->rng, 4) ? S_RESERVED : S_PENDING);
	quota_request settle;
	uint32_t nsettle = 0;
	if (!s)
		return;
	if (pick(&w->rng, 2)) {
		quota_request_init(&settle, sizeof settle);
		settle.resource_type = type_name[s->types[0]];
		settle.amount = pick(&w->rng, 2); /* at most the smallest claim amount */
		nsettle = 1;
	}
	int rc = quota_claim_commit(engine, "stress", s->name, nsettle ? &settle : NULL, nsettle);
	if (rc == QUOTA_OK) {
		s->state = S_GRANTED;
		s->uncertain = 0;
	} else if ((rc == QUOTA_ERR_WRONG_STATE || rc == QUOTA_ERR_NOT_FOUND) &&
		   (s->uncertain || s->state == S_PENDING)) {
		resync(s);
	} else {
		unexpected("commit", s->name, rc);
		resync(s);
	}
}

static void op_release(struct worker *w)
{
	struct slot *s = slot_with(w, (int)(1 + pick(&w->rng, 3)));
	if (!s)
		return;
	int rc = quota_claim_release(engine, "stress", s->name);
	if (rc != QUOTA_OK && !(rc == QUOTA_ERR_NOT_FOUND && s->uncertain))
		unexpected("release", s->name, rc);
	s->state = S_FREE;
}

static void op_resize(struct worker *w)
{
	struct slot *s = slot_with(w, S_GRANTED);
	quota_claim_info *ci = NULL;
	quota_request req;
	quota_answer a;
	if (!s)
		return;
	int rc = quota_claim_get(engine, "stress", s->name, &ci);
	if (rc != QUOTA_OK || ci->state != QUOTA_CLAIM_GRANTED) {
		unexpected("claim_get of a granted claim", s->name, rc ? rc : (int)ci->state);
		quota_free(ci);
		return;
	}
	int64_t before = ci->allocations[0]->amount;
	quota_free(ci);
	quota_request_init(&req, sizeof req);
	req.resource_type = type_name[s->types[0]];
	req.amount = pick(&w->rng, 9);
	quota_answer_init(&a, sizeof a);
	rc = quota_claim_resize(engine, "stress", s->name, &req, 1, &a);
	if (req.amount > before)
		tally(&w->tally, rc, &a);
	if (rc == QUOTA_ERR_EXCEEDED && req.amount > before)
		check_denial(s->name, &a);
	else if (rc != QUOTA_OK)
		unexpected("resize", s->name, rc);
	else if (req.amount > before && pick(&w->rng, 4) == 0)
		check_claim_buckets(s);
}

static void op_check(struct worker *w)
{
	struct slot s;
	struct test_claim tc;
	int64_t amounts[2];
	quota_answer a;
	plan_claim(w, &s, &tc, amounts);
	quota_answer_init(&a, sizeof a);
	int rc = quota_claim_check(engine, &tc.c, &a);
	tally(&w->tally, rc, &a);
	if (rc == QUOTA_ERR_EXCEEDED)
		check_denial("check", &a);
	else if (rc != QUOTA_OK)
		unexpected("check", s.name, rc);
	else
		INVARIANT(a.state == QUOTA_CLAIM_GRANTED, "check answered state %d", a.state);
}

/* Anonymous consumption by key or through a shared handle, or giving back. */
static void op_anon(struct worker *w)
{
	int use_handle = pick(&w->rng, 3) == 0;
	int h = (int)pick(&w->rng, 2);
	int c = use_handle ? (h ? MV : P0) : P0 + (int)pick(&w->rng, MV - P0 + 1);
	int t = use_handle                                 ? (h ? T_MEM : T_CPU)
		: (c == MV || c == C0 || pick(&w->rng, 2)) ? T_MEM
							   : T_CPU;
	int64_t amount = 1 + pick(&w->rng, 4);
	quota_answer a;
	int rc;
	if (pick(&w->rng, 2) && w->anon[c][t] > 0) {
		amount = 1 + pick(&w->rng, w->anon[c][t]);
		rc = use_handle ? quota_handle_give_back(handles[h], amount)
				: quota_give_back(engine, &cons[c], type_name[t], amount);
		if (rc == QUOTA_OK)
			w->anon[c][t] -= amount;
		else
			unexpected("give_back", cons_name[c], rc);
		return;
	}
	quota_answer_init(&a, sizeof a);
	rc = use_handle ? quota_handle_consume(handles[h], amount, &a)
			: quota_consume(engine, &cons[c], type_name[t], amount, &a);
	tally(&w->tally, rc, &a);
	if (rc == QUOTA_OK) {
		w->anon[c][t] += amount;
		if (pick(&w->rng, 4) == 0)
			check_bucket_now(c, t);
	} else if (rc == QUOTA_ERR_EXCEEDED) {
		check_denial("consume", &a);
	} else {
		unexpected("consume", cons_name[c], rc);
	}
}

static void op_rate(struct worker *w)
{
	int c = pick(&w->rng, 2) ? P0 : P1;
	int64_t n = 1 + pick(&w->rng, 3);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	int rc = quota_rate_take(engine, &cons[c], type_name[T_RPS], n, &a);
	tally(&w->tally, rc, &a);
	if (rc == QUOTA_OK) {
		w->taken[c] += n;
	} else if (rc == QUOTA_ERR_RATE_LIMITED) {
		INVARIANT((c == P1) == !!(a.flags & QUOTA_ANSWER_THROTTLED),
			  "rate take on %s: throttled flag %u", cons_name[c], a.flags);
		INVARIANT(c == P0 || a.retry_after_ms > 0,
			  "throttled without a retry time: %" PRId64, a.retry_after_ms);
	} else {
		unexpected("rate_take", cons_name[c], rc);
	}
}

/* Claims of fixed names acquired and released by every thread. */
static void op_shared(struct worker *w)
{
	int k = (int)pick(&w->rng, NSHARED);
	char name[16];
	snprintf(name, sizeof name, "shared-%d", k);
	if (pick(&w->rng, 3) == 0) {
		int rc = quota_claim_release(engine, "stress", name);
		if (rc != QUOTA_OK && rc != QUOTA_ERR_NOT_FOUND)
			unexpected("release", name, rc);
		return;
	}
	struct test_claim tc;
	quota_answer a;
	test_claim_init(&tc, "stress", name, &cons[P2 + k]);
	test_claim_add(&tc, type_name[T_CPU], 3);
	quota_answer_init(&a, sizeof a);
	int rc = quota_claim_acquire(engine, &tc.c, &a);
	tally(&w->tally, rc, &a);
	if (rc == QUOTA_ERR_EXCEEDED)
		check_denial(name, &a);
	else if (rc != QUOTA_OK)
		unexpected("acquire", name, rc);
	else
		INVARIANT(a.state == QUOTA_CLAIM_GRANTED, "%s: state %d", name, a.state);
}

/* Two claims on two projects' cpu as one set. */
static void op_set(struct worker *w)
{
	struct slot *s[2] = {slot_with(w, S_FREE), NULL};
	struct test_claim tc[2];
	quota_claim set[2];
	quota_answer a;
	if (!s[0])
		return;
	s[0]->state = S_RESERVED; /* taken for now */
	s[1] = slot_with(w, S_FREE);
	s[0]->state = S_FREE;
	if (!s[1])
		return;
	int first = P0 + (int)pick(&w->rng, 6);
	for (int i = 0; i < 2; i++) {
		struct slot *sl = s[i];
		sl->cons = P0 + (first - P0 + i * (1 + (int)pick(&w->rng, 5))) % 6;
		sl->types[0] = T_CPU;
		sl->ntypes = 1;
		sl->uncertain = 0;
		snprintf(sl->name, sizeof sl->name, "w%d-%" PRIu64, w->id, w->gen++);
		test_claim_init(&tc[i], "stress", sl->name, &cons[sl->cons]);
		test_claim_add(&tc[i], type_name[T_CPU], 1 + pick(&w->rng, 6));
		set[i] = tc[i].c;
	}
	int acquire = (int)pick(&w->rng, 2);
	quota_answer_init(&a, sizeof a);
	int rc = acquire ? quota_claim_set_acquire(engine, set, 2, &a)
			 : quota_claim_set_reserve(engine, set, 2, &a);
	tally(&w->tally, rc, &a);
	if (rc == QUOTA_ERR_EXCEEDED) {
		check_denial("claim set", &a);
	} else if (rc != QUOTA_OK) {
		unexpected("claim set", s[0]->name, rc);
	} else {
		for (int i = 0; i < 2; i++) {
			s[i]->state = acquire ? S_GRANTED : S_RESERVED;
			if (pick(&w->rng, 4) == 0)
				check_claim_buckets(s[i]);
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	while (!atomic_load(&stop) && w->ops > 0) {
		int64_t r = pick(&w->rng, 100);
		if (r < 14)
			op_new_claim(w, 0);
		else if (r < 26)
			op_new_claim(w, 1);
		else if (r < 36)
			op_commit(w);
		else if (r < 48)
			op_release(w);
		else if (r < 54)
			op_resize(w);
		else if (r < 60)
			op_check(w);
		else if (r < 80)
			op_anon(w);
		else if (r < 88)
			op_rate(w);
		else if (r < 94)
			op_shared(w);
		else
			op_set(w);
		w->ops--;
		if ((atomic_fetch_add_explicit(&ops_done, 1, memory_order_relaxed) & 1023) == 0 &&
		    now_s() > deadline)
			atomic_store(&stop, 1);
	}
	return NULL;
}

/* Every bucket: never above a fixed limit, never negative. */
static void check_all_buckets(void)
{
	quota_bucket_iter *it = NULL;
	const quota_bucket_info *b;
	int rc = quota_bucket_iter_new(engine, NULL, NULL, &it);
	if (rc != QUOTA_OK) {
		unexpected("bucket_iter_new", "", rc);
		return;
	}
	while ((rc = quota_bucket_iter_next(it, &b)) == QUOTA_OK) {
		int c = cons_index(b->consumer.name), t = type_index(b->resource_type);
		int64_t lim = c >= 0 && t >= 0 ? fixed_limit(c, t) : -1;
		INVARIANT(b->allocated >= 0 && b->reserved >= 0 && b->pending >= 0,
			  "bucket %s:%s allocated %" PRId64 " reserved %" PRId64
			  " pending %" PRId64,
			  b->consumer.name, b->resource_type, b->allocated, b->reserved,
			  b->pending);
		if (lim >= 0)
			INVARIANT(b->allocated + b->reserved <= lim,
				  "bucket %s:%s over its limit %" PRId64 ": %" PRId64 " + %" PRId64,
				  b->consumer.name, b->resource_type, lim, b->allocated,
				  b->reserved);
	}
	if (rc != QUOTA_ITER_DONE)
		unexpected("bucket_iter_next", "", rc);
	quota_bucket_iter_free(it);
}

/* The chaos thread: time, grants, the hierarchy, observed usage, readings. */
static void *chaos_main(void *arg)
{
	long *rounds = arg; /* in: a seed; out: rounds done */
	uint64_t rng = (uint64_t)*rounds;
	long n = 0;
	while (!atomic_load(&stop)) {
		test_clock_advance_ms(&clk, 1 + pick(&rng, 8));
		if (pick(&rng, 2)) {
			int rc = quota_engine_tick(engine, 0, NULL);
			if (rc != QUOTA_OK)
				unexpected("tick", "", rc);
		}
		int64_t r = pick(&rng, 10);
		int rc = QUOTA_OK;
		if (r == 0)
			rc = grant(engine, "churn-c0", C0, T_CPU, pick(&rng, 30), 0, 0, 0);
		else if (r == 1)
			rc = grant(engine, "churn-g1", G1, T_GPU, pick(&rng, 6), 0, 0, 0);
		else if (r == 2 &&
			 (rc = quota_grant_delete(engine, "stress",
						  pick(&rng, 2) ? "churn-c0" : "churn-g1")) ==
				 QUOTA_ERR_NOT_FOUND)
			rc = QUOTA_OK;
		else if (r == 3) {
			int64_t to = pick(&rng, 3);
			rc = quota_consumer_set_parent(engine, &cons[MV],
						       to == 2 ? NULL : &cons[to]);
			if (rc == QUOTA_ERR_IN_USE)
				rc = QUOTA_OK;
		} else if (r == 4)
			rc = quota_usage_observe(engine, &cons[P0 + pick(&rng, 6)],
						 type_name[T_MEM], pick(&rng, MEM_DEFAULT));
		else if (r == 5)
			check_all_buckets();
		if (rc != QUOTA_OK)
			unexpected("chaos step", "", rc);
		n++;
		struct timespec ts = {0, 200000};
		nanosleep(&ts, NULL);
	}
	*rounds = n;
	return NULL;
}

/* ---- quiescence ---------------------------------------------------------- */

/* The parent of consumer c now, or -1. */
static int parent_of(int c)
{
	quota_ref *p = NULL;
	int idx = -1;
	if (quota_consumer_get_parent(engine, &cons[c], &p) == QUOTA_OK && p) {
		idx = cons_index(p->name);
		quota_free(p);
	}
	return idx;
}

/* Add amount at c and every level above it. */
static void charge(int64_t (*sum)[NTYPES], int c, int t, int64_t amount)
{
	for (int depth = 0; c >= 0 && depth < QUOTA_MAX_DEPTH; depth++, c = parent_of(c))
		sum[c][t] += amount;
}

/*
 * allocated and reserved of every (non-rate) base bucket equal what the
 * live claims hold plus what the threads consumed and did not give back.
 */
static void check_conservation(struct worker *ws, int nw)
{
	static int64_t alloc[NCONS][NTYPES], resv[NCONS][NTYPES];
	quota_claim_iter *ci = NULL;
	const quota_claim_info *c;
	memset(alloc, 0, sizeof alloc);
	memset(resv, 0, sizeof resv);
	for (int i = 0; i < nw; i++)
		for (int k = 0; k < NCONS; k++)
			for (int t = 0; t < NTYPES; t++)
				charge(alloc, k, t, ws[i].anon[k][t]);
	int rc = quota_claim_iter_new(engine, NULL, 0, &ci);
	while (rc == QUOTA_OK && (rc = quota_claim_iter_next(ci, &c)) == QUOTA_OK) {
		int k = cons_index(c->consumer.name);
		if (c->state != QUOTA_CLAIM_RESERVED && c->state != QUOTA_CLAIM_GRANTED)
			continue;
		for (uint32_t i = 0; i < c->allocation_count; i++) {
			int t = type_index(c->allocations[i]->resource_type);
			INVARIANT(k >= 0 && t >= 0, "claim %s of unknown consumer or type",
				  c->name);
			if (k >= 0 && t >= 0)
				charge(c->state == QUOTA_CLAIM_GRANTED ? alloc : resv, k, t,
				       c->allocations[i]->amount);
		}
	}
	if (rc != QUOTA_ITER_DONE)
		unexpected("claim iteration", "", rc);
	quota_claim_iter_free(ci);
	for (int k = 0; k < NCONS; k++)
		for (int t = 0; t < NTYPES; t++) {
			quota_bucket_info *b = NULL;
			if (t == T_RPS)
				continue;
			rc = quota_bucket_get(engine, &cons[k], type_name[t], &b);
			if (rc == QUOTA_ERR_NOT_ALLOWED && alloc[k][t] == 0 && resv[k][t] == 0)
				continue; /* no level of this kind for the type */
			if (rc != QUOTA_OK) {
				unexpected("bucket_get", cons_name[k], rc);
				continue;
			}
			INVARIANT(b->allocated == alloc[k][t] && b->reserved == resv[k][t],
				  "bucket %s:%s allocated/reserved %" PRId64 "/%" PRId64
				  ", claims and anonymous use say %" PRId64 "/%" PRId64,
				  cons_name[k], type_name[t], b->allocated, b->reserved,
				  alloc[k][t], resv[k][t]);
			quota_free(b);
		}
}

/* The oldest pending claim of each queue must not fit what is free. */
static void check_queue_heads(void)
{
	for (int q = 0; q < 2; q++) {
		quota_bucket_info *b = NULL;
		quota_claim_info *ci = NULL;
		int rc = quota_bucket_get(engine, &cons[G0 + q], type_name[T_GPU], &b);
		if (rc != QUOTA_OK) {
			unexpected("bucket_get", cons_name[G0 + q], rc);
			continue;
		}
		INVARIANT(b->pending == events.nwaiting[q],
			  "queue %s: bucket says %" PRId64 " pending, events say %d",
			  cons_name[G0 + q], b->pending, events.nwaiting[q]);
		if (events.nwaiting[q] > 0 &&
		    quota_claim_get(engine, "stress", events.waiting[q][0], &ci) == QUOTA_OK) {
			INVARIANT(ci->state == QUOTA_CLAIM_PENDING &&
					  ci->allocations[0]->requested > b->available,
				  "queue %s: head %s (state %d) asks %" PRId64 " with %" PRId64
				  " available",
				  cons_name[G0 + q], ci->name, ci->state,
				  ci->allocations[0]->requested, b->available);
			quota_free(ci);
		}
		quota_free(b);
	}
}

static void check_counters(struct worker *ws, int nw, int64_t elapsed_ms)
{
	struct tally sum = {0};
	int64_t taken[2] = {0, 0};
	quota_stats st;
	for (int i = 0; i < nw; i++) {
		sum.allowed += ws[i].tally.allowed;
		sum.denied_exceeded += ws[i].tally.denied_exceeded;
		sum.denied_rate += ws[i].tally.denied_rate;
		sum.throttled += ws[i].tally.throttled;
		sum.queued += ws[i].tally.queued;
		taken[0] += ws[i].taken[P0];
		taken[1] += ws[i].taken[P1];
	}
	quota_stats_init(&st, sizeof st);
	quota_stats_get(engine, &st);
#define SAME(a, b)                                                                                 \
	INVARIANT((uint64_t)(a) == (uint64_t)(b), "%s = %" PRIu64 " but %s = %" PRIu64, #a,        \
		  (uint64_t)(a), #b, (uint64_t)(b))
	SAME(st.allowed, sum.allowed);
	SAME(st.denied_exceeded, sum.denied_exceeded);
	SAME(st.denied_rate_limited, sum.denied_rate);
	SAME(st.throttled, sum.throttled);
	SAME(st.queued, sum.queued);
	SAME(st.decisions,
	     sum.allowed + sum.denied_exceeded + sum.denied_rate + sum.throttled + sum.queued);
	SAME(st.queued, events.by_type[QUOTA_EVENT_QUEUED]);
	SAME(st.admitted_from_queue, events.admitted);
	SAME(st.expired, events.by_type[QUOTA_EVENT_EXPIRED]);
	SAME(st.released, events.by_type[QUOTA_EVENT_RELEASED]);
	SAME(st.dequeued, events.by_type[QUOTA_EVENT_DEQUEUED]);
	SAME(st.queued, st.admitted_from_queue + st.dequeued + events.expired_pending +
				(uint64_t)(events.nwaiting[0] + events.nwaiting[1]));
	SAME(st.warnings, 0);
	/* Rolling limits: what passed in elapsed time is at most burst + rate x time. */
	INVARIANT(taken[0] <= BURST_P0 + RATE_P0 * elapsed_ms / 1000 + 1,
		  "rate p0 let %" PRId64 " through in %" PRId64 " ms", taken[0], elapsed_ms);
	INVARIANT(taken[1] <= BURST_P1 + RATE_P1 * elapsed_ms / 1000 + 1,
		  "rate p1 let %" PRId64 " through in %" PRId64 " ms", taken[1], elapsed_ms);
#undef SAME
}

/* Release everything: every bucket must come back to zero. */
static void drain(struct worker *ws, int nw)
{
	quota_claim_iter *ci = NULL;
	const quota_claim_info *c;
	char(*names)[48] = calloc(8192, sizeof *names);
	int n = 0;
	int rc = quota_claim_iter_new(engine, NULL, 0, &ci);
	while (rc == QUOTA_OK && (rc = quota_claim_iter_next(ci, &c)) == QUOTA_OK)
		if (c->state != QUOTA_CLAIM_RELEASED && n < 8192)
			snprintf(names[n++], sizeof names[0], "%s", c->name);
	quota_claim_iter_free(ci);
	for (int i = 0; i < n; i++)
		if ((rc = quota_claim_release(engine, "stress", names[i])) != QUOTA_OK)
			unexpected("release", names[i], rc);
	free(names);
	for (int i = 0; i < nw; i++)
		for (int k = 0; k < NCONS; k++)
			for (int t = 0; t < NTYPES; t++)
				if (ws[i].anon[k][t] > 0 &&
				    (rc = quota_give_back(engine, &cons[k], type_name[t],
							  ws[i].anon[k][t])) != QUOTA_OK)
					unexpected("give_back", cons_name[k], rc);
				else
					ws[i].anon[k][t] = 0;
	check_conservation(ws, nw);
	INVARIANT(events.nwaiting[0] + events.nwaiting[1] == 0, "queues not empty after draining");
}

static int run_stress(void)
{
	quota_engine_options o;
	struct worker *ws = calloc((size_t)opt.threads, sizeof *ws);
	long chaos_rounds = (long)opt.seed;
	pthread_t chaos;
	quota_engine_options_init(&o, sizeof o);
	atomic_store(&clk.ns, TEST_EPOCH_NS);
	o.clock = test_clock_read;
	o.clock_payload = &clk;
	o.stripes = opt.stripes;
	o.released_retention_ms = 50;
	o.event_fn = on_event;
	o.event_payload = &events;
	if (!ws || quota_engine_new(&engine, &o) != QUOTA_OK || setup_world(engine) != QUOTA_OK ||
	    quota_bucket_handle_open(engine, &cons[P0], type_name[T_CPU], &handles[0]) ||
	    quota_bucket_handle_open(engine, &cons[MV], type_name[T_MEM], &handles[1])) {
		fprintf(stderr, "setup failed: %s\n", quota_last_error());
		return 1;
	}
	double t0 = now_s();
	deadline = t0 + opt.seconds;
	for (int i = 0; i < opt.threads; i++) {
		ws[i].id = i;
		ws[i].rng = opt.seed * 1000003 + (uint64_t)i;
		ws[i].ops = opt.ops / opt.threads;
		pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
	}
	pthread_create(&chaos, NULL, chaos_main, &chaos_rounds);
	for (int i = 0; i < opt.threads; i++)
		pthread_join(ws[i].thread, NULL);
	atomic_store(&stop, 1);
	pthread_join(chaos, NULL);
	double secs = now_s() - t0;
	int64_t elapsed_ms = (atomic_load(&clk.ns) - TEST_EPOCH_NS) / MS_NS;

	if (opt.tamper)
		ws[0].anon[P0][T_MEM] += 1; /* a give-back nobody made */
	/* Queue deadlines that passed end now: the queues hold only live claims. */
	if (quota_engine_tick(engine, 0, NULL) != QUOTA_OK)
		unexpected("tick", "", -1);
	check_all_buckets();
	check_conservation(ws, opt.threads);
	check_queue_heads();
	check_counters(ws, opt.threads, elapsed_ms);
	drain(ws, opt.threads);
	quota_bucket_handle_close(handles[0]);
	quota_bucket_handle_close(handles[1]);
	quota_engine_free(engine);
	engine = NULL;
	long done = atomic_load(&ops_done);
	printf("stress: seed %" PRIu64 ", %d threads: %ld operations and %ld chaos rounds in %.2f s"
	       " (%.0f ops/s), %" PRId64 " ms of engine time; %ld invariants checked, %" PRIu64
	       " queue admissions checked for FIFO order (%" PRIu64 " passing a claim past its"
	       " deadline, %" PRIu64 " passing one that was not), %ld violations\n",
	       opt.seed, opt.threads, done, chaos_rounds, secs, (double)done / secs, elapsed_ms,
	       atomic_load(&invariants_checked), events.fifo_checked, events.fifo_passed,
	       events.fifo_broken, atomic_load(&violations));
	events_reset(&events);
	free(ws);
	return atomic_load(&violations) != 0;
}

/* ---- linearizability mode ---------------------------------------------- */

#define LIN_THREADS 4
#define LIN_OPS 200
#define LIN_BUCKETS 3

static const int64_t lin_limits[LIN_BUCKETS] = {3, 4, 5};
static atomic_llong lin_time;
static atomic_int lin_go; /* threads start together, so their operations overlap */

struct lin_thread {
	int id;
	uint64_t rng;
	struct lin_op *ops; /* LIN_OPS of them */
	int failed;
	pthread_t thread;
};

static int lin_result(int rc)
{
	switch (rc) {
	case QUOTA_OK: return LIN_OK;
	case QUOTA_ERR_EXCEEDED: return LIN_EXCEEDED;
	case QUOTA_ERR_WRONG_STATE: return LIN_WRONG_STATE;
	case QUOTA_ERR_NOT_FOUND: return LIN_NOT_FOUND;
	case QUOTA_ERR_INVALID: return LIN_INVALID;
	default: return -1;
	}
}

static void *lin_main(void *arg)
{
	struct lin_thread *lt = arg;
	int mine[LIN_OPS], nmine = 0; /* claims this thread asked for */
	while (!atomic_load(&lin_go))
		sched_yield();
	for (int i = 0; i < LIN_OPS; i++) {
		struct lin_op *op = &lt->ops[i];
		char name[32];
		int r = (int)pick(&lt->rng, 100), rc;
		memset(op, 0, sizeof *op);
		op->bucket = (int)pick(&lt->rng, LIN_BUCKETS);
		op->claim = -1;
		op->amount = 1 + pick(&lt->rng, 2);
		if (r < 30 || (r < 60 && nmine == 0)) {
			op->kind = pick(&lt->rng, 2) ? LIN_ACQUIRE : LIN_RESERVE;
			op->claim = lt->id * LIN_OPS + i;
			mine[nmine++] = op->claim;
		} else if (r < 60) {
			op->claim = mine[pick(&lt->rng, nmine)];
			op->bucket = (int)((lt->ops[op->claim % LIN_OPS].bucket));
			op->kind = pick(&lt->rng, 2) ? LIN_COMMIT : LIN_RELEASE;
			op->amount = op->kind == LIN_COMMIT && pick(&lt->rng, 2) ? pick(&lt->rng, 2)
										 : -1;
		} else if (r < 75) {
			op->kind = LIN_CONSUME;
		} else if (r < 85) {
			op->kind = LIN_GIVE_BACK;
		} else if (r < 92) {
			op->kind = LIN_CHECK;
		} else {
			op->kind = LIN_READ;
		}
		const quota_ref *c = &cons[P0 + op->bucket];
		const char *type = type_name[T_CPU];
		snprintf(name, sizeof name, "lin-%d", op->claim);
		struct test_claim tc;
		test_claim_init(&tc, "lin", name, c);
		test_claim_add(&tc, type, op->amount);
		quota_request settle;
		quota_request_init(&settle, sizeof settle);
		settle.resource_type = type;
		settle.amount = op->amount;
		quota_bucket_info *b = NULL;

		/* Now and then the call starts late within its interval, so that
		 * intervals overlap more than two cores make them by themselves. */
		int64_t spin = pick(&lt->rng, 2) == 0 ? pick(&lt->rng, 20000) : 0;
		op->call = atomic_fetch_add(&lin_time, 1);
		for (volatile int64_t k = 0; k < spin; k++)
			;
		switch (op->kind) {
		case LIN_ACQUIRE: rc = quota_claim_acquire(engine, &tc.c, NULL); break;
		case LIN_RESERVE: rc = quota_claim_reserve(engine, &tc.c, NULL); break;
		case LIN_COMMIT:
			rc = quota_claim_commit(engine, "lin", name, &settle, op->amount >= 0);
			break;
		case LIN_RELEASE: rc = quota_claim_release(engine, "lin", name); break;
		case LIN_CONSUME: rc = quota_consume(engine, c, type, op->amount, NULL); break;
		case LIN_GIVE_BACK: rc = quota_give_back(engine, c, type, op->amount); break;
		case LIN_CHECK: rc = quota_claim_check(engine, &tc.c, NULL); break;
		default: rc = quota_bucket_get(engine, c, type, &b); break;
		}
		op->ret = atomic_fetch_add(&lin_time, 1);
		if (b) {
			op->out_allocated = b->allocated;
			op->out_reserved = b->reserved;
			quota_free(b);
		}
		op->result = lin_result(rc);
		if (op->result < 0) {
			unexpected("linearizability operation", name, rc);
			lt->failed = 1;
		}
	}
	return NULL;
}

/* Record one history on a fresh engine. */
static int lin_record(uint64_t seed, struct lin_op *ops)
{
	struct lin_thread lt[LIN_THREADS];
	quota_engine_options o;
	quota_engine_options_init(&o, sizeof o);
	atomic_store(&clk.ns, TEST_EPOCH_NS);
	o.clock = test_clock_read;
	o.clock_payload = &clk;
	o.stripes = opt.stripes;
	if (quota_engine_new(&engine, &o) != QUOTA_OK || setup_world(engine) != QUOTA_OK)
		return -1;
	for (int b = 0; b < LIN_BUCKETS; b++) {
		char name[16];
		snprintf(name, sizeof name, "fix-%s", cons_name[P0 + b]);
		if (grant(engine, name, P0 + b, T_CPU, lin_limits[b], 0, 0, 0) != QUOTA_OK)
			return -1;
	}
	/* Their organisation's limit (50) never binds here. */
	atomic_store(&lin_time, 1);
	atomic_store(&lin_go, 0);
	for (int i = 0; i < LIN_THREADS; i++) {
		lt[i] = (struct lin_thread){i, seed * 7919 + (uint64_t)i, ops + i * LIN_OPS, 0, 0};
		pthread_create(&lt[i].thread, NULL, lin_main, &lt[i]);
	}
	atomic_store(&lin_go, 1);
	int failed = 0;
	for (int i = 0; i < LIN_THREADS; i++) {
		pthread_join(lt[i].thread, NULL);
		failed |= lt[i].failed;
	}
	quota_engine_free(engine);
	engine = NULL;
	return failed ? -1 : 0;
}

/* Operations whose interval overlaps one on the same bucket from another thread. */
static long lin_overlapping(const struct lin_op *ops, int n)
{
	long count = 0;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			if (i / LIN_OPS != j / LIN_OPS && ops[i].bucket == ops[j].bucket &&
			    ops[i].call < ops[j].ret && ops[j].call < ops[i].ret) {
				count++;
				break;
			}
	return count;
}

static void lin_print_part(const struct lin_op *ops, int n, int bucket)
{
	char line[160];
	int shown = 0;
	for (int i = 0; i < n && shown < 40; i++)
		if (ops[i].bucket == bucket) {
			lin_op_format(&ops[i], line, sizeof line);
			fprintf(stderr, "    %s\n", line);
			shown++;
		}
}

static int run_lin(void)
{
	enum {
		N = LIN_THREADS * LIN_OPS
	};
	struct lin_op *ops = calloc(N, sizeof *ops);
	double t0 = now_s(), check_s = 0;
	uint64_t steps = 0;
	int histories = 0, gave_up = 0, bad = 0;
	long overlapping = 0;
	for (int h = 0; h < opt.histories && now_s() < t0 + opt.seconds; h++) {
		struct lin_report rep;
		if (lin_record(opt.seed * 100 + (uint64_t)h, ops) != 0) {
			bad++;
			break;
		}
		double c0 = now_s();
		int v = lin_check(ops, N, lin_limits, LIN_BUCKETS, N, 0, &rep);
		check_s += now_s() - c0;
		steps += rep.steps;
		overlapping += lin_overlapping(ops, N);
		histories++;
		if (v == LIN_GAVE_UP) {
			gave_up++;
			fprintf(stderr,
				"history %d: search budget spent on bucket %d, not decided\n", h,
				rep.bad_bucket);
		} else if (v == LIN_VIOLATION) {
			bad++;
			violation("history %d (seed %" PRIu64 ") is not linearizable on bucket %d:",
				  h, opt.seed, rep.bad_bucket);
			lin_print_part(ops, N, rep.bad_bucket);
		}
	}
	printf("linearizability: %d histories of %d operations (%d threads, %d buckets) in %.2f s, "
	       "%ld operations concurrent with another on their bucket; checked in %.3f s with "
	       "%" PRIu64 " search steps; %d not linearizable, %d undecided\n",
	       histories, N, LIN_THREADS, LIN_BUCKETS, now_s() - t0, overlapping, check_s, steps,
	       bad, gave_up);
	free(ops);
	return bad != 0 || gave_up != 0;
}

/* ---- self-check: every corruption must be caught ----------------------- */

static int run_self_check(void)
{
	enum {
		N = LIN_THREADS * LIN_OPS
	};
	struct lin_op *ops = calloc(N + 1, sizeof *ops);
	struct lin_report rep;
	int missed = 0;
	printf("self-check: the violations reported below are planted ones\n");
	if (!ops || lin_record(opt.seed, ops) != 0 ||
	    lin_check(ops, N, lin_limits, LIN_BUCKETS, N + 1, 0, &rep) != LIN_LINEARIZABLE) {
		fprintf(stderr, "self-check: the genuine history did not pass\n");
		return 1;
	}
	/* A read of more than the limit: no order gives it. */
	for (int i = 0; i < N; i++)
		if (ops[i].kind == LIN_READ) {
			struct lin_op keep = ops[i];
			ops[i].out_allocated = lin_limits[ops[i].bucket] + 1;
			if (lin_check(ops, N, lin_limits, LIN_BUCKETS, N + 1, 0, &rep) !=
			    LIN_VIOLATION)
				missed |= 1;
			ops[i] = keep;
			break;
		}
	/* An admission that cannot fit, spanning the whole history. */
	ops[N] = (struct lin_op){0, INT64_MAX, 1, LIN_ACQUIRE, N, lin_limits[1] + 1, LIN_OK, 0, 0};
	if (lin_check(ops, N + 1, lin_limits, LIN_BUCKETS, N + 1, 0, &rep) != LIN_VIOLATION)
		missed |= 2;
	free(ops);

	/* A queue served out of order. */
	struct events fake = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0, {{0}}, {{0}}, {0}, 0, 0, 0};
	quota_event e = {sizeof e, QUOTA_EVENT_QUEUED, 0, QUOTA_CLAIM_PENDING, 0, "stress", "q0-a"};
	long before = atomic_load(&violations);
	on_event(&e, &fake);
	e.name = "q0-b";
	on_event(&e, &fake);
	e = (quota_event){sizeof e,
			  QUOTA_EVENT_RESERVED,
			  QUOTA_CLAIM_PENDING,
			  QUOTA_CLAIM_RESERVED,
			  0,
			  "stress",
			  "q0-b"};
	on_event(&e, &fake);
	e.name = "q0-a"; /* admitted after being passed: it was not past its deadline */
	on_event(&e, &fake);
	if (atomic_load(&violations) == before)
		missed |= 4;
	events_reset(&fake);

	/* A tally that does not add up. */
	before = atomic_load(&violations);
	opt.tamper = 1;
	opt.ops = 20000;
	run_stress();
	if (atomic_load(&violations) == before)
		missed |= 8;
	printf("self-check: %s (missed mask %d)\n", missed ? "FAILED" : "every corruption caught",
	       missed);
	return missed != 0;
}

int main(int argc, char **argv)
{
	int mode = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--lin") == 0)
			mode = 1;
		else if (strcmp(a, "--self-check") == 0)
			mode = 2;
		else if (v && strcmp(a, "--seed") == 0)
			opt.seed = strtoull(argv[++i], NULL, 10);
		else if (v && strcmp(a, "--threads") == 0)
			opt.threads = atoi(argv[++i]);
		else if (v && strcmp(a, "--ops") == 0)
			opt.ops = atol(argv[++i]);
		else if (v && strcmp(a, "--duration") == 0)
			opt.seconds = atof(argv[++i]);
		else if (v && strcmp(a, "--stripes") == 0)
			opt.stripes = (uint32_t)atoi(argv[++i]);
		else if (v && strcmp(a, "--histories") == 0)
			opt.histories = atoi(argv[++i]);
		else {
			fprintf(stderr,
				"usage: %s [--lin | --self-check] [--seed N] [--threads N] [--ops N]"
				" [--duration S] [--stripes N] [--histories N]\n",
				argv[0]);
			return 2;
		}
	}
	const char *cap = getenv("QUOTA_STRESS_SECONDS");
	if (cap && atof(cap) > 0 && atof(cap) < opt.seconds)
		opt.seconds = atof(cap);
	if (opt.threads < 1 || opt.threads > 64 || opt.ops < 1)
		return 2;
	int rc = mode == 1 ? run_lin() : mode == 2 ? run_self_check() : run_stress();
	if (mode != 2)
		printf("%ld violation(s)\n", atomic_load(&violations));
	return rc ? EXIT_FAILURE : EXIT_SUCCESS;
}
