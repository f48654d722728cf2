/*
 * Stress: worker threads run a mix of reserve / commit (with and without
 * settlement) / release / acquire / resize / check / consume / give_back
 * (by name and through shared handles) on a few hot buckets with small
 * limits and many cold ones, plus idempotent acquires of shared claim names.
 * A checker thread reads buckets meanwhile and asserts that no bucket ever
 * holds more than its limit. At the end every bucket must equal exactly what
 * the claims (read back with the claim iterator) and the workers' own tally
 * of anonymous consumption say.
 *
 * QUOTA_STRESS_OPS (default 1000000) sets the total number of operations;
 * QUOTA_STRESS_SEED changes the random seed.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <time.h>

#include <quota/quota.h>

#include "check.h"

#define NWORKERS 4
#define NHOT 2
#define NCOLD 64
#define NCONS (NHOT + NCOLD)
#define NTYPES 2
#define NSLOTS 48
#define NSHARED 8
#define HOT_CPU 16
#define HOT_MEM 32
#define COLD_LIMIT 1000

static const char *const types[NTYPES] = {"stress.example.com/cpu", "stress.example.com/mem"};
static char cons_names[NCONS][16];
static quota_ref consumers[NCONS];
static quota_engine *engine;
static quota_bucket_handle *hot_handles[NHOT][NTYPES];
static atomic_int done;
static atomic_int reported;

/* Report an unexpected result, but not a million times. */
static void unexpected(int line, const char *op, int rc)
{
	if (atomic_fetch_add(&reported, 1) < 20)
		check_fail_(__FILE__, line, "%s returned %s (%d)", op, quota_strerror(rc), rc);
	else
		atomic_fetch_add(&check_failures_, 1);
}
#define EXPECT(cond, op, rc)                                                                 \
	do {                                                                                 \
		if (!(cond))                                                                 \
			unexpected(__LINE__, (op), (rc));                                    \
	} while (0)

static int64_t limit_of(int c, int t)
{
	if (c < NHOT)
		return t == 0 ? HOT_CPU : HOT_MEM;
	return COLD_LIMIT;
}

/* ---- a worker ---------------------------------------------------------- */

struct slot {
	int state; /* 0: no claim, else QUOTA_CLAIM_RESERVED / GRANTED */
	int consumer;
	int nreq;
	int type[NTYPES];
	int64_t amount[NTYPES];
};

struct worker {
	int id;
	uint64_t rng;
	uint64_t ops;
	struct slot slots[NSLOTS];
	int64_t anon[NCONS][NTYPES];
	uint64_t counts[16];
	pthread_t thread;
};

static uint64_t next_rand(struct worker *w)
{
	/* xorshift64* */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * UINT64_C(2685821657736338717);
}

static int rnd(struct worker *w, int n)
{
	return (int)(next_rand(w) % (uint64_t)n);
}

static int pick_consumer(struct worker *w)
{
	/* half the traffic goes to the two hot consumers */
	return rnd(w, 2) ? rnd(w, NHOT) : NHOT + rnd(w, NCOLD);
}

/* A random spec: 1 or 2 requests of 1..4, in random order. */
static void random_spec(struct worker *w, struct slot *s)
{
	s->consumer = pick_consumer(w);
	s->nreq = 1 + rnd(w, 2);
	int first = rnd(w, NTYPES);
	for (int i = 0; i < s->nreq; i++) {
		s->type[i] = (first + i) % NTYPES;
		s->amount[i] = 1 + rnd(w, 4);
	}
}

static void build_claim(struct test_claim *t, const char *ns, const char *name,
			const struct slot *s)
{
	test_claim_init(t, ns, name, &consumers[s->consumer]);
	for (int i = 0; i < s->nreq; i++)
		test_claim_add(t, types[s->type[i]], s->amount[i]);
}

enum { OP_RESERVE, OP_ACQUIRE, OP_COMMIT, OP_RELEASE, OP_RESIZE, OP_CONSUME, OP_GIVE_BACK,
       OP_CHECK, OP_SHARED, OP_DENIED };

/* One step; returns 1 if it called the library, 0 if it had nothing to do. */
static int do_one(struct worker *w)
{
	char ns[16], name[16];
	struct test_claim t;
	int rc, r = rnd(w, 100);
	int si = rnd(w, NSLOTS);
	struct slot *s = &w->slots[si];
	snprintf(ns, sizeof ns, "w%d", w->id);
	snprintf(name, sizeof name, "c%d", si);

	if (r < 20) { /* reserve into an empty slot, or release a full one */
		if (s->state) {
			rc = quota_claim_release(engine, ns, name);
			EXPECT(rc == QUOTA_OK, "release", rc);
			s->state = 0;
			w->counts[OP_RELEASE]++;
			return 1;
		}
		struct slot n;
		random_spec(w, &n);
		build_claim(&t, ns, name, &n);
		rc = quota_claim_reserve(engine, &t.c, NULL);
		EXPECT(rc == QUOTA_OK || rc == QUOTA_ERR_EXCEEDED, "reserve", rc);
		if (rc == QUOTA_OK) {
			*s = n;
			s->state = QUOTA_CLAIM_RESERVED;
			w->counts[OP_RESERVE]++;
		} else {
			w->counts[OP_DENIED]++;
		}
	} else if (r < 35) { /* acquire into an empty slot */
		if (s->state)
			return 0;
		struct slot n;
		random_spec(w, &n);
		build_claim(&t, ns, name, &n);
		rc = quota_claim_acquire(engine, &t.c, NULL);
		EXPECT(rc == QUOTA_OK || rc == QUOTA_ERR_EXCEEDED, "acquire", rc);
		if (rc == QUOTA_OK) {
			*s = n;
			s->state = QUOTA_CLAIM_GRANTED;
			w->counts[OP_ACQUIRE]++;
		} else {
			w->counts[OP_DENIED]++;
		}
	} else if (r < 50) { /* commit, sometimes settling for less */
		if (s->state == 0)
			return 0;
		quota_request actual;
		uint32_t n = 0;
		int64_t settled = 0;
		if (s->state == QUOTA_CLAIM_RESERVED && rnd(w, 3) == 0) {
			quota_request_init(&actual, sizeof actual);
			actual.resource_type = types[s->type[0]];
			settled = 1 + rnd(w, (int)s->amount[0]);
			actual.amount = settled;
			n = 1;
		}
		rc = quota_claim_commit(engine, ns, name, n ? &actual : NULL, n);
		EXPECT(rc == QUOTA_OK, "commit", rc);
		if (rc == QUOTA_OK && s->state == QUOTA_CLAIM_RESERVED) {
			if (n)
				s->amount[0] = settled;
			s->state = QUOTA_CLAIM_GRANTED;
		}
		w->counts[OP_COMMIT]++;
	} else if (r < 58) { /* release */
		rc = quota_claim_release(engine, ns, name);
		if (s->state) {
			EXPECT(rc == QUOTA_OK, "release", rc);
			s->state = 0;
		} else {
			/* retention 0: a released name is forgotten */
			EXPECT(rc == QUOTA_ERR_NOT_FOUND || rc == QUOTA_OK, "release (empty)", rc);
		}
		w->counts[OP_RELEASE]++;
	} else if (r < 68) { /* resize a granted claim, one or both types */
		if (s->state != QUOTA_CLAIM_GRANTED)
			return 0;
		quota_request q[NTYPES];
		int64_t want[NTYPES];
		int n = 1 + rnd(w, s->nreq);
		for (int i = 0; i < n; i++) {
			quota_request_init(&q[i], sizeof q[i]);
			q[i].resource_type = types[s->type[i]];
			want[i] = 1 + rnd(w, 6);
			q[i].amount = want[i];
		}
		rc = quota_claim_resize(engine, ns, name, q, (uint32_t)n, NULL);
		EXPECT(rc == QUOTA_OK || rc == QUOTA_ERR_EXCEEDED, "resize", rc);
		if (rc == QUOTA_OK)
			for (int i = 0; i < n; i++)
				s->amount[i] = want[i];
		w->counts[rc == QUOTA_OK ? OP_RESIZE : OP_DENIED]++;
	} else if (r < 82) { /* anonymous consumption, by name or handle */
		int c = pick_consumer(w), ty = rnd(w, NTYPES);
		int64_t amount = 1 + rnd(w, 3);
		if (c < NHOT && rnd(w, 2))
			rc = quota_handle_consume(hot_handles[c][ty], amount, NULL);
		else
			rc = quota_consume(engine, &consumers[c], types[ty], amount, NULL);
		EXPECT(rc == QUOTA_OK || rc == QUOTA_ERR_EXCEEDED, "consume", rc);
		if (rc == QUOTA_OK) {
			w->anon[c][ty] += amount;
			w->counts[OP_CONSUME]++;
		} else {
			w->counts[OP_DENIED]++;
		}
	} else if (r < 94) { /* give back part of what this worker consumed */
		int c = pick_consumer(w), ty = rnd(w, NTYPES);
		if (w->anon[c][ty] == 0)
			return 0;
		int64_t amount = 1 + (int64_t)(next_rand(w) % (uint64_t)w->anon[c][ty]);
		if (c < NHOT && rnd(w, 2))
			rc = quota_handle_give_back(hot_handles[c][ty], amount);
		else
			rc = quota_give_back(engine, &consumers[c], types[ty], amount);
		EXPECT(rc == QUOTA_OK, "give_back", rc);
		if (rc == QUOTA_OK)
			w->anon[c][ty] -= amount;
		w->counts[OP_GIVE_BACK]++;
	} else if (r < 97) { /* dry run */
		struct slot n;
		random_spec(w, &n);
		build_claim(&t, "dry", "run", &n);
		rc = quota_claim_check(engine, &t.c, NULL);
		EXPECT(rc == QUOTA_OK || rc == QUOTA_ERR_EXCEEDED, "check", rc);
		w->counts[OP_CHECK]++;
	} else { /* a shared name that every worker acquires and releases */
		int k = rnd(w, NSHARED);
		struct slot n = {.consumer = k % NHOT, .nreq = 1, .type = {k % NTYPES},
				 .amount = {1 + k % 3}};
		snprintf(name, sizeof name, "s%d", k);
		if (rnd(w, 2)) {
			build_claim(&t, "shared", name, &n);
			rc = quota_claim_acquire(engine, &t.c, NULL);
			EXPECT(rc == QUOTA_OK || rc == QUOTA_ERR_EXCEEDED, "acquire (shared)", rc);
		} else {
			rc = quota_claim_release(engine, "shared", name);
			EXPECT(rc == QUOTA_OK || rc == QUOTA_ERR_NOT_FOUND, "release (shared)", rc);
		}
		w->counts[OP_SHARED]++;
	}
	return 1;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	/* count only the steps that called the library */
	for (uint64_t i = 0; i < w->ops;)
		i += (uint64_t)do_one(w);
	return NULL;
}

/* ---- the checker ------------------------------------------------------- */

struct checker {
	pthread_t thread;
	uint64_t reads;
	uint64_t iterations;
};

static void check_numbers(const quota_bucket_info *b, const char *where)
{
	int64_t room = b->limit - b->allocated - b->reserved;
	if (b->allocated < 0 || b->reserved < 0 || b->limit < 0 || room < 0 ||
	    b->available != room || (b->flags & QUOTA_BUCKET_OVER_LIMIT)) {
		if (atomic_fetch_add(&reported, 1) < 20)
			check_fail_(__FILE__, __LINE__,
				    "%s: bucket %s:%s limit %" PRId64 " allocated %" PRId64
				    " reserved %" PRId64 " available %" PRId64 " flags %u",
				    where, b->consumer.name, b->resource_type, b->limit,
				    b->allocated, b->reserved, b->available, b->flags);
		else
			atomic_fetch_add(&check_failures_, 1);
	}
}

static void *checker_main(void *arg)
{
	struct checker *ck = arg;
	do {
		for (int c = 0; c < NHOT; c++)
			for (int t = 0; t < NTYPES; t++) {
				quota_bucket_info *b = NULL;
				int rc = quota_bucket_get(engine, &consumers[c], types[t], &b);
				EXPECT(rc == QUOTA_OK, "bucket_get (checker)", rc);
				if (rc == QUOTA_OK) {
					check_numbers(b, "bucket_get");
					EXPECT(b->limit == limit_of(c, t), "limit (checker)", 0);
					ck->reads++;
				}
				quota_free(b);
			}
		if (ck->reads % 64 == 0) {
			/* a whole pass with the iterator while the workers run */
			quota_bucket_iter *it = NULL;
			const quota_bucket_info *b;
			int n = 0, rc = quota_bucket_iter_new(engine, NULL, NULL, &it);
			EXPECT(rc == QUOTA_OK, "bucket_iter_new (checker)", rc);
			while (rc == QUOTA_OK && (rc = quota_bucket_iter_next(it, &b)) == QUOTA_OK) {
				check_numbers(b, "bucket_iter");
				n++;
			}
			EXPECT(rc == QUOTA_ITER_DONE, "bucket_iter_next (checker)", rc);
			EXPECT(n == NCONS * NTYPES, "bucket count (checker)", n);
			quota_bucket_iter_free(it);

			quota_claim_iter *ci = NULL;
			const quota_claim_info *c;
			rc = quota_claim_iter_new(engine, NULL, 0, &ci);
			EXPECT(rc == QUOTA_OK, "claim_iter_new (checker)", rc);
			while (rc == QUOTA_OK && (rc = quota_claim_iter_next(ci, &c)) == QUOTA_OK)
				EXPECT(c->state == QUOTA_CLAIM_RESERVED ||
					       c->state == QUOTA_CLAIM_GRANTED ||
					       c->state == QUOTA_CLAIM_RELEASED,
				       "claim state (checker)", c->state);
			EXPECT(rc == QUOTA_ITER_DONE, "claim_iter_next (checker)", rc);
			quota_claim_iter_free(ci);
			ck->iterations++;
		}
	} while (!atomic_load(&done));
	return NULL;
}

/* ---- setup and final accounting ---------------------------------------- */

static int setup(void)
{
	quota_engine_options o;
	quota_engine_options_init(&o, sizeof o);
	o.released_retention_ms = 0;
	o.stripes = 16;
	if (quota_engine_new(&engine, &o) != QUOTA_OK)
		return -1;
	for (int t = 0; t < NTYPES; t++)
		CHECK_RC(test_register(engine, types[t], NULL, "Organization", 0), QUOTA_OK);
	for (int c = 0; c < NCONS; c++) {
		if (c < NHOT)
			snprintf(cons_names[c], sizeof cons_names[c], "hot%d", c);
		else
			snprintf(cons_names[c], sizeof cons_names[c], "cold%02d", c - NHOT);
		consumers[c] = (quota_ref){.kind = "Organization", .name = cons_names[c]};
		for (int t = 0; t < NTYPES; t++) {
			char gname[48];
			snprintf(gname, sizeof gname, "%s-%d", cons_names[c], t);
			CHECK_RC(test_grant(engine, "grants", gname, &consumers[c], types[t],
					    limit_of(c, t), NULL),
				 QUOTA_OK);
		}
	}
	for (int c = 0; c < NHOT; c++)
		for (int t = 0; t < NTYPES; t++)
			CHECK_RC(quota_bucket_handle_open(engine, &consumers[c], types[t],
							  &hot_handles[c][t]),
				 QUOTA_OK);
	return 0;
}

static int consumer_index(const char *name)
{
	for (int c = 0; c < NCONS; c++)
		if (strcmp(cons_names[c], name) == 0)
			return c;
	return -1;
}

static int type_index(const char *type)
{
	for (int t = 0; t < NTYPES; t++)
		if (strcmp(types[t], type) == 0)
			return t;
	return -1;
}

struct expected {
	int64_t allocated, reserved, claims, reservations;
};

static void final_accounting(struct worker *workers)
{
	static struct expected want[NCONS][NTYPES];
	memset(want, 0, sizeof want);
	int64_t live_slots = 0, seen = 0, seen_slots = 0;

	for (int i = 0; i < NWORKERS; i++)
		for (int c = 0; c < NCONS; c++)
			for (int t = 0; t < NTYPES; t++)
				want[c][t].allocated += workers[i].anon[c][t];
	for (int i = 0; i < NWORKERS; i++)
		for (int k = 0; k < NSLOTS; k++)
			live_slots += workers[i].slots[k].state != 0;

	/* every claim the engine holds, checked against the worker that owns it */
	quota_claim_iter *it = NULL;
	const quota_claim_info *ci;
	int rc = quota_claim_iter_new(engine, NULL, 0, &it);
	CHECK_RC(rc, QUOTA_OK);
	while (rc == QUOTA_OK && (rc = quota_claim_iter_next(it, &ci)) == QUOTA_OK) {
		int c = consumer_index(ci->consumer.name);
		CHECK(c >= 0);
		CHECK(ci->state == QUOTA_CLAIM_RESERVED || ci->state == QUOTA_CLAIM_GRANTED);
		if (c < 0)
			continue;
		seen++;
		for (uint32_t a = 0; a < ci->allocation_count; a++) {
			int t = type_index(ci->allocations[a]->resource_type);
			CHECK(t >= 0);
			if (t < 0)
				continue;
			if (ci->state == QUOTA_CLAIM_GRANTED) {
				want[c][t].allocated += ci->allocations[a]->amount;
				want[c][t].claims++;
			} else if (ci->state == QUOTA_CLAIM_RESERVED) {
				want[c][t].reserved += ci->allocations[a]->amount;
				want[c][t].reservations++;
			}
		}
		int wid, sid;
		if (sscanf(TEST_S_(ci->ns), "w%d", &wid) == 1 &&
		    sscanf(ci->name, "c%d", &sid) == 1 && wid >= 0 && wid < NWORKERS && sid >= 0 &&
		    sid < NSLOTS) {
			const struct slot *s = &workers[wid].slots[sid];
			seen_slots++;
			if (s->state != ci->state || s->consumer != c ||
			    (int)ci->allocation_count != s->nreq) {
				check_fail_(__FILE__, __LINE__,
					    "claim %s/%s: state %d consumer %s with %u requests; "
					    "the worker has state %d consumer %s with %d",
					    ci->ns, ci->name, ci->state, ci->consumer.name,
					    ci->allocation_count, s->state, cons_names[s->consumer],
					    s->nreq);
				continue;
			}
			for (int q = 0; q < s->nreq; q++) {
				const quota_allocation *al = NULL;
				for (uint32_t a = 0; a < ci->allocation_count; a++)
					if (strcmp(ci->allocations[a]->resource_type,
						   types[s->type[q]]) == 0)
						al = ci->allocations[a];
				if (!al || al->amount != s->amount[q])
					check_fail_(__FILE__, __LINE__,
						    "claim %s/%s: %s holds %" PRId64
						    ", the worker says %" PRId64,
						    ci->ns, ci->name, types[s->type[q]],
						    al ? al->amount : -1, s->amount[q]);
			}
		} else {
			CHECK_STR_EQ(ci->ns, "shared");
			CHECK_EQ_INT(ci->state, QUOTA_CLAIM_GRANTED);
		}
	}
	CHECK_RC(rc, QUOTA_ITER_DONE);
	quota_claim_iter_free(it);
	CHECK_EQ_INT(seen_slots, live_slots);
	printf("final: %" PRId64 " claims (%" PRId64 " of the workers', %" PRId64 " shared)\n",
	       seen, seen_slots, seen - seen_slots);

	/* every bucket, exactly */
	int mismatches = 0;
	for (int c = 0; c < NCONS; c++)
		for (int t = 0; t < NTYPES; t++) {
			quota_bucket_info *b = NULL;
			rc = quota_bucket_get(engine, &consumers[c], types[t], &b);
			CHECK_RC(rc, QUOTA_OK);
			if (!b)
				continue;
			const struct expected *x = &want[c][t];
			if (b->allocated != x->allocated || b->reserved != x->reserved ||
			    b->claim_count != x->claims || b->reserved_count != x->reservations ||
			    b->limit != limit_of(c, t) ||
			    b->available != b->limit - b->allocated - b->reserved) {
				if (mismatches++ < 20)
					check_fail_(__FILE__, __LINE__,
						    "bucket %s:%s: allocated %" PRId64
						    " reserved %" PRId64 " claims %" PRId64
						    " reservations %" PRId64 " available %" PRId64
						    "; expected %" PRId64 " / %" PRId64 " / %" PRId64
						    " / %" PRId64,
						    cons_names[c], types[t], b->allocated, b->reserved,
						    b->claim_count, b->reserved_count, b->available,
						    x->allocated, x->reserved, x->claims,
						    x->reservations);
				else
					atomic_fetch_add(&check_failures_, 1);
			}
			check_numbers(b, "final");
			quota_free(b);
		}
}

/* Release everything and give everything back: every bucket must be empty. */
static void drain(struct worker *workers)
{
	char ns[16], name[16];
	for (int i = 0; i < NWORKERS; i++) {
		snprintf(ns, sizeof ns, "w%d", i);
		for (int k = 0; k < NSLOTS; k++) {
			if (!workers[i].slots[k].state)
				continue;
			snprintf(name, sizeof name, "c%d", k);
			CHECK_RC(quota_claim_release(engine, ns, name), QUOTA_OK);
		}
		for (int c = 0; c < NCONS; c++)
			for (int t = 0; t < NTYPES; t++)
				if (workers[i].anon[c][t] > 0)
					CHECK_RC(quota_give_back(engine, &consumers[c], types[t],
								 workers[i].anon[c][t]),
						 QUOTA_OK);
	}
	for (int k = 0; k < NSHARED; k++) {
		snprintf(name, sizeof name, "s%d", k);
		int rc = quota_claim_release(engine, "shared", name);
		CHECK(rc == QUOTA_OK || rc == QUOTA_ERR_NOT_FOUND);
	}
	for (int c = 0; c < NCONS; c++)
		for (int t = 0; t < NTYPES; t++) {
			struct test_bucket b = test_bucket_read(engine, &consumers[c], types[t]);
			CHECK_RC(b.rc, QUOTA_OK);
			if (b.allocated || b.reserved || b.claim_count || b.reserved_count)
				check_fail_(__FILE__, __LINE__,
					    "drained bucket %s:%s: allocated %" PRId64
					    " reserved %" PRId64 " claims %" PRId64
					    " reservations %" PRId64,
					    cons_names[c], types[t], b.allocated, b.reserved,
					    b.claim_count, b.reserved_count);
		}
}

int main(void)
{
	static struct worker workers[NWORKERS];
	struct checker ck = {0};
	uint64_t total = 1000000, seed = UINT64_C(0x5eed5eed5eed5eed);
	const char *env = getenv("QUOTA_STRESS_OPS");
	if (env && *env) {
		long long v = strtoll(env, NULL, 10);
		total = v > 0 ? (uint64_t)v : 1;
	}
	env = getenv("QUOTA_STRESS_SEED");
	if (env && *env)
		seed = strtoull(env, NULL, 0);
	printf("%d workers, %" PRIu64 " operations, seed 0x%" PRIx64 "\n", NWORKERS, total,
	       seed);

	if (setup() != 0 || check_failures_) {
		fprintf(stderr, "setup failed\n");
		return EXIT_FAILURE;
	}

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ_INT(pthread_create(&ck.thread, NULL, checker_main, &ck), 0);
	for (int i = 0; i < NWORKERS; i++) {
		workers[i].id = i;
		workers[i].rng = (seed ^ (UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(i + 1))) | 1;
		workers[i].ops = total / NWORKERS + (i < (int)(total % NWORKERS));
		CHECK_EQ_INT(pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]), 0);
	}
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(workers[i].thread, NULL);
	atomic_store(&done, 1);
	pthread_join(ck.thread, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	uint64_t sum[16] = {0};
	for (int i = 0; i < NWORKERS; i++)
		for (int k = 0; k < 16; k++)
			sum[k] += workers[i].counts[k];
	printf("%.2f s: reserved %" PRIu64 ", acquired %" PRIu64 ", committed %" PRIu64
	       ", released %" PRIu64 ", resized %" PRIu64 ", consumed %" PRIu64
	       ", given back %" PRIu64 ", checked %" PRIu64 ", shared %" PRIu64
	       ", denied %" PRIu64 "; checker: %" PRIu64 " reads, %" PRIu64 " passes\n",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       sum[OP_RESERVE], sum[OP_ACQUIRE], sum[OP_COMMIT], sum[OP_RELEASE], sum[OP_RESIZE],
	       sum[OP_CONSUME], sum[OP_GIVE_BACK], sum[OP_CHECK], sum[OP_SHARED], sum[OP_DENIED],
	       ck.reads, ck.iterations);

	/* the mix must really have exercised both outcomes and the checker */
	if (total >= 10000) {
		CHECK(sum[OP_DENIED] > 0);
		CHECK(sum[OP_RESERVE] > 0 && sum[OP_ACQUIRE] > 0 && sum[OP_RESIZE] > 0);
		CHECK(sum[OP_CONSUME] > 0 && sum[OP_GIVE_BACK] > 0);
	}
	CHECK(ck.reads > 0);

	final_accounting(workers);
	drain(workers);
	for (int c = 0; c < NHOT; c++)
		for (int t = 0; t < NTYPES; t++)
			quota_bucket_handle_close(hot_handles[c][t]);
	quota_engine_free(engine);
	return check_exit();
}
