/*
 * Queued claims (Pattern 2) and claim events: pending instead of denied,
 * strict FIFO per bucket, admission as capacity frees up (release, grant
 * increase, give-back, expiry), queue deadlines, and the event stream.
 * SPDX-License-Identifier: MIT
 */
#include "check.h"

#define VCPUS "compute.example.com/vcpus"
#define MEM "compute.example.com/memory"

static const quota_ref acme = {NULL, "Organization", NULL, "acme"};

/* Events as "TYPE:name:prev>state" lines. */
struct recorder {
	char log[4096];
	quota_engine *e; /* read back into the engine from the callback */
	int reads;
};

static void record(const quota_event *ev, void *payload)
{
	struct recorder *r = payload;
	static const char *names[] = {"?", "RESERVED", "GRANTED", "RELEASED", "EXPIRED",
				      "QUEUED", "DEQUEUED"};
	size_t n = strlen(r->log);
	snprintf(r->log + n, sizeof r->log - n, "%s:%s:%d>%d ", names[ev->type], ev->name,
		 ev->prev_state, ev->state);
	/* the callback runs without engine locks: calling back in is fine */
	quota_claim_info *ci = NULL;
	if (r->e && quota_claim_get(r->e, ev->ns, ev->name, &ci) == QUOTA_OK)
		r->reads++;
	quota_free(ci);
}

static quota_engine *setup(struct test_clock *clk, struct recorder *rec, int64_t limit)
{
	quota_engine_options o;
	quota_engine *e = NULL;
	quota_engine_options_init(&o, sizeof o);
	atomic_store(&clk->ns, TEST_EPOCH_NS);
	o.clock = test_clock_read;
	o.clock_payload = clk;
	if (rec) {
		memset(rec, 0, sizeof *rec);
		o.event_fn = record;
		o.event_payload = rec;
	}
	CHECK_RC(quota_engine_new(&e, &o), QUOTA_OK);
	if (rec)
		rec->e = e;
	CHECK_RC(test_register(e, VCPUS, NULL, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_register(e, MEM, NULL, "Organization", 0), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, limit, NULL), QUOTA_OK);
	return e;
}

static int claim(quota_engine *e, const char *name, int64_t amount, uint32_t flags, int acquire,
		 quota_answer *a)
{
	struct test_claim c;
	test_claim_init(&c, "ns", name, &acme);
	test_claim_add(&c, VCPUS, amount);
	c.c.flags = flags;
	return acquire ? quota_claim_acquire(e, &c.c, a) : quota_claim_reserve(e, &c.c, a);
}

static int64_t pending_of(quota_engine *e)
{
	quota_bucket_info *b = NULL;
	int64_t n = -1;
	if (quota_bucket_get(e, &acme, VCPUS, &b) == QUOTA_OK)
		n = b->pending;
	quota_free(b);
	return n;
}

static void test_pending_then_admitted(void)
{
	struct test_clock clk;
	struct recorder rec;
	quota_engine *e = setup(&clk, &rec, 10);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(claim(e, "holder", 8, 0, 1, NULL), QUOTA_OK);
	/* without the flag: denied, not stored */
	CHECK_RC(claim(e, "plain", 5, 0, 0, &a), QUOTA_ERR_EXCEEDED);
	CHECK_RC(test_claim_state(e, "ns", "plain"), QUOTA_ERR_NOT_FOUND);
	/* with it: pending, nothing held, the answer says what binds */
	CHECK_RC(claim(e, "waiter", 5, QUOTA_CLAIM_QUEUE, 0, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_PENDING);
	CHECK(a.flags & QUOTA_ANSWER_QUEUED);
	CHECK_EQ_INT(a.available, 2);
	CHECK_EQ_INT(a.requested, 5);
	CHECK_STR_EQ(a.bucket, "Organization//acme:" VCPUS);
	CHECK_EQ_INT(test_claim_state(e, "ns", "waiter"), QUOTA_CLAIM_PENDING);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 8, 0, 2);
	CHECK_EQ_INT(pending_of(e), 1);
	/* a repeat is idempotent; commit of a pending claim is refused */
	CHECK_RC(claim(e, "waiter", 5, QUOTA_CLAIM_QUEUE, 0, &a), QUOTA_OK);
	CHECK(a.flags & QUOTA_ANSWER_EXISTED);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_PENDING);
	CHECK_RC(quota_claim_commit(e, "ns", "waiter", NULL, 0), QUOTA_ERR_WRONG_STATE);
	CHECK_ERR_MENTIONS("pending");
	/* the release that frees room admits it before returning */
	CHECK_RC(quota_claim_release(e, "ns", "holder"), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "waiter"), QUOTA_CLAIM_RESERVED);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 5, 5);
	CHECK_EQ_INT(pending_of(e), 0);
	CHECK_STR_EQ(rec.log, "GRANTED:holder:0>2 QUEUED:waiter:0>4 RELEASED:holder:2>3 "
			      "RESERVED:waiter:4>1 ");
	CHECK_EQ_INT(rec.reads, 4);
	quota_engine_free(e);
}

static void test_auto_commit_and_acquire(void)
{
	struct test_clock clk;
	struct recorder rec;
	quota_engine *e = setup(&clk, &rec, 10);
	CHECK_RC(claim(e, "holder", 10, 0, 1, NULL), QUOTA_OK);
	CHECK_RC(claim(e, "auto", 3, QUOTA_CLAIM_QUEUE | QUOTA_CLAIM_AUTO_COMMIT, 0, NULL),
		 QUOTA_OK);
	CHECK_RC(claim(e, "acq", 3, QUOTA_CLAIM_QUEUE, 1, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "ns", "holder"), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "auto"), QUOTA_CLAIM_GRANTED);
	CHECK_EQ_INT(test_claim_state(e, "ns", "acq"), QUOTA_CLAIM_GRANTED);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 6, 0, 4);
	CHECK(strstr(rec.log, "GRANTED:auto:4>2 GRANTED:acq:4>2") != NULL);
	quota_engine_free(e);
}

/* Above the limit itself a claim is denied, not queued (it would block
 * the bucket's queue for good); AUTO_COMMIT grants a claim that fits at
 * once. */
static void test_never_fits_and_auto_commit(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk, NULL, 10);
	int64_t when = -1;
	CHECK_RC(quota_engine_next_deadline(e, &when), QUOTA_OK);
	CHECK_EQ_INT(when, 0);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(claim(e, "huge", 11, QUOTA_CLAIM_QUEUE, 0, &a), QUOTA_ERR_EXCEEDED);
	CHECK_EQ_INT(a.limit, 10);
	CHECK_RC(test_claim_state(e, "ns", "huge"), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(claim(e, "fits", 4, QUOTA_CLAIM_QUEUE | QUOTA_CLAIM_AUTO_COMMIT, 0, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_GRANTED);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 4, 0, 6);
	CHECK_RC(claim(e, "small", 1, QUOTA_CLAIM_QUEUE, 0, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_RESERVED);
	quota_engine_free(e);
}

static void test_strict_fifo(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk, NULL, 10);
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(claim(e, "h1", 5, 0, 1, NULL), QUOTA_OK);
	CHECK_RC(claim(e, "h2", 4, 0, 1, NULL), QUOTA_OK);
	/* big waits; small would fit (1 free) but must queue behind big */
	CHECK_RC(claim(e, "big", 8, QUOTA_CLAIM_QUEUE, 0, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_PENDING);
	CHECK_RC(claim(e, "small", 1, QUOTA_CLAIM_QUEUE, 0, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_PENDING);
	CHECK_EQ_INT(pending_of(e), 2);
	/* freeing 4 (5 free) is not enough for big: small may not pass it */
	CHECK_RC(quota_claim_release(e, "ns", "h2"), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "big"), QUOTA_CLAIM_PENDING);
	CHECK_EQ_INT(test_claim_state(e, "ns", "small"), QUOTA_CLAIM_PENDING);
	/* a request without the flag is decided on free capacity */
	CHECK_RC(claim(e, "now", 2, 0, 1, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "ns", "now"), QUOTA_OK);
	/* freeing 5 more (10 free): big first, then small */
	CHECK_RC(quota_claim_release(e, "ns", "h1"), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "big"), QUOTA_CLAIM_RESERVED);
	CHECK_EQ_INT(test_claim_state(e, "ns", "small"), QUOTA_CLAIM_RESERVED);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 9, 1);
	quota_engine_free(e);
}

static void test_fifo_is_per_bucket(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk, NULL, 10);
	CHECK_RC(test_grant(e, NULL, "m", &acme, MEM, 10, NULL), QUOTA_OK);
	CHECK_RC(claim(e, "h", 10, 0, 1, NULL), QUOTA_OK);
	CHECK_RC(claim(e, "cpu-waiter", 4, QUOTA_CLAIM_QUEUE, 0, NULL), QUOTA_OK);
	/* a queued claim on another bucket is not behind the vCPU queue */
	struct test_claim c;
	test_claim_init(&c, "ns", "mem", &acme);
	test_claim_add(&c, MEM, 4);
	c.c.flags = QUOTA_CLAIM_QUEUE;
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_reserve(e, &c.c, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_RESERVED);
	quota_engine_free(e);
}

static void test_capacity_sources(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk, NULL, 4);
	/* a raised limit */
	CHECK_RC(claim(e, "h", 4, 0, 1, NULL), QUOTA_OK);
	CHECK_RC(claim(e, "w1", 2, QUOTA_CLAIM_QUEUE, 0, NULL), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "g", &acme, VCPUS, 6, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "w1"), QUOTA_CLAIM_RESERVED);
	/* a give-back of anonymous use */
	CHECK_RC(quota_claim_release(e, "ns", "w1"), QUOTA_OK);
	CHECK_RC(quota_consume(e, &acme, VCPUS, 2, NULL), QUOTA_OK);
	CHECK_RC(claim(e, "w2", 1, QUOTA_CLAIM_QUEUE, 0, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "w2"), QUOTA_CLAIM_PENDING);
	CHECK_RC(quota_give_back(e, &acme, VCPUS, 1), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "w2"), QUOTA_CLAIM_RESERVED);
	/* a settlement below the reservation */
	CHECK_RC(quota_claim_release(e, "ns", "w2"), QUOTA_OK);
	CHECK_RC(quota_give_back(e, &acme, VCPUS, 1), QUOTA_OK);
	CHECK_RC(quota_claim_release(e, "ns", "h"), QUOTA_OK);
	CHECK_RC(claim(e, "r", 6, 0, 0, NULL), QUOTA_OK);
	CHECK_RC(claim(e, "w3", 3, QUOTA_CLAIM_QUEUE, 0, NULL), QUOTA_OK);
	quota_request actual;
	quota_request_init(&actual, sizeof actual);
	actual.resource_type = VCPUS;
	actual.amount = 2;
	CHECK_RC(quota_claim_commit(e, "ns", "r", &actual, 1), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "w3"), QUOTA_CLAIM_RESERVED);
	/* an expired reservation, through the engine tick */
	CHECK_RC(quota_claim_release(e, "ns", "w3"), QUOTA_OK);
	struct test_claim t;
	test_claim_init(&t, "ns", "ttl", &acme);
	test_claim_add(&t, VCPUS, 4);
	t.c.ttl_ms = 100;
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	CHECK_RC(claim(e, "w4", 3, QUOTA_CLAIM_QUEUE, 0, NULL), QUOTA_OK);
	test_clock_advance_ms(&clk, 101);
	uint64_t expired = 0;
	CHECK_RC(quota_engine_tick(e, 0, &expired), QUOTA_OK);
	CHECK_EQ_INT(expired, 1);
	CHECK_EQ_INT(test_claim_state(e, "ns", "w4"), QUOTA_CLAIM_RESERVED);
	quota_engine_free(e);
}

static void test_deadline_and_dequeue(void)
{
	struct test_clock clk;
	struct recorder rec;
	quota_engine *e = setup(&clk, &rec, 4);
	CHECK_RC(claim(e, "h", 4, 0, 1, NULL), QUOTA_OK);
	struct test_claim c;
	test_claim_init(&c, "ns", "late", &acme);
	test_claim_add(&c, VCPUS, 2);
	c.c.flags = QUOTA_CLAIM_QUEUE;
	c.c.queue_timeout_ms = 50;
	CHECK_RC(quota_claim_reserve(e, &c.c, NULL), QUOTA_OK);
	CHECK_RC(claim(e, "gone", 1, QUOTA_CLAIM_QUEUE, 0, NULL), QUOTA_OK);
	quota_claim_info *ci = NULL;
	CHECK_RC(quota_claim_get(e, "ns", "late", &ci), QUOTA_OK);
	if (ci) {
		CHECK_EQ_INT(ci->expires_ns, TEST_EPOCH_NS + 50 * MS_NS);
		CHECK_EQ_INT(ci->allocations[0]->amount, 0);
		CHECK(ci->flags & QUOTA_CLAIM_QUEUE);
	}
	quota_free(ci);
	/* the caller gives up on one */
	CHECK_RC(quota_claim_release(e, "ns", "gone"), QUOTA_OK);
	CHECK_EQ_INT(pending_of(e), 1);
	/* the other runs out of time */
	test_clock_advance_ms(&clk, 51);
	CHECK_RC(quota_engine_tick(e, 0, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "late"), QUOTA_CLAIM_RELEASED);
	CHECK_EQ_INT(pending_of(e), 0);
	CHECK_RC(quota_claim_commit(e, "ns", "late", NULL, 0), QUOTA_ERR_WRONG_STATE);
	CHECK_ERR_MENTIONS("queue deadline");
	/* capacity freed later admits nobody: the queue is empty */
	CHECK_RC(quota_claim_release(e, "ns", "h"), QUOTA_OK);
	CHECK_BUCKET(e, &acme, VCPUS, 4, 0, 0, 4);
	CHECK_STR_EQ(rec.log, "GRANTED:h:0>2 QUEUED:late:0>4 QUEUED:gone:0>4 "
			      "DEQUEUED:gone:4>3 EXPIRED:late:4>3 RELEASED:h:2>3 ");
	/* the deadline also holds without a tick: a commit notices it */
	CHECK_RC(claim(e, "h2", 4, 0, 1, NULL), QUOTA_OK);
	c.c.name = "late2";
	CHECK_RC(quota_claim_reserve(e, &c.c, NULL), QUOTA_OK);
	test_clock_advance_ms(&clk, 51);
	CHECK_RC(quota_claim_commit(e, "ns", "late2", NULL, 0), QUOTA_ERR_WRONG_STATE);
	CHECK_EQ_INT(pending_of(e), 0);
	quota_engine_free(e);
}

/* A queued claim whose deadline has passed, not yet swept, holds nobody
 * back: a new queued claim that finds it waiting sweeps first, and then
 * fits, instead of queueing behind it. */
static void test_timed_out_waiter_holds_nobody_back(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk, NULL, 10);
	struct test_claim c;
	test_claim_init(&c, "ns", "holder", &acme);
	test_claim_add(&c, VCPUS, 10);
	c.c.ttl_ms = 5;
	CHECK_RC(quota_claim_reserve(e, &c.c, NULL), QUOTA_OK);
	c.c.name = "waiter";
	c.r[0].amount = 5;
	c.c.flags = QUOTA_CLAIM_QUEUE;
	c.c.queue_timeout_ms = 1;
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_reserve(e, &c.c, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_PENDING);
	/* Both deadlines pass, and no tick comes. */
	test_clock_advance_ms(&clk, 100);
	CHECK_EQ_INT(pending_of(e), 1);
	CHECK_RC(claim(e, "new", 5, QUOTA_CLAIM_QUEUE, 0, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_RESERVED);
	CHECK_EQ_INT(test_claim_state(e, "ns", "waiter"), QUOTA_CLAIM_RELEASED);
	CHECK_EQ_INT(test_claim_state(e, "ns", "holder"), QUOTA_CLAIM_RELEASED);
	CHECK_EQ_INT(pending_of(e), 0);
	CHECK_BUCKET(e, &acme, VCPUS, 10, 0, 5, 5);
	quota_engine_free(e);
}

static void test_queued_across_levels(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk, NULL, 100);
	quota_ref web = {NULL, "Project", "acme", "web"};
	CHECK_RC(test_register(e, "p/vcpus", NULL, "Project", 100), QUOTA_OK);
	CHECK_RC(quota_consumer_set_parent(e, &web, &acme), QUOTA_OK);
	CHECK_RC(test_grant(e, NULL, "cap", &acme, "p/vcpus", 5, NULL), QUOTA_OK);
	struct test_claim c;
	test_claim_init(&c, "ns", "w1", &web);
	test_claim_add(&c, "p/vcpus", 5);
	CHECK_RC(quota_claim_acquire(e, &c.c, NULL), QUOTA_OK);
	test_claim_init(&c, "ns", "w2", &web);
	test_claim_add(&c, "p/vcpus", 3);
	c.c.flags = QUOTA_CLAIM_QUEUE;
	quota_answer a;
	quota_answer_init(&a, sizeof a);
	CHECK_RC(quota_claim_reserve(e, &c.c, &a), QUOTA_OK);
	CHECK_EQ_INT(a.state, QUOTA_CLAIM_PENDING);
	CHECK_STR_EQ(a.bucket, "Organization//acme:p/vcpus");
	/* the project cannot move while its claim waits */
	CHECK_RC(quota_consumer_set_parent(e, &web, NULL), QUOTA_ERR_IN_USE);
	CHECK_RC(quota_claim_release(e, "ns", "w1"), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "w2"), QUOTA_CLAIM_RESERVED);
	CHECK_BUCKET(e, &acme, "p/vcpus", 5, 0, 3, 2);
	quota_engine_free(e);
}

static void test_bad_queue_input(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk, NULL, 4);
	struct test_claim c;
	test_claim_init(&c, "ns", "bad", &acme);
	test_claim_add(&c, VCPUS, 1);
	c.c.flags = QUOTA_CLAIM_QUEUE;
	c.c.queue_timeout_ms = -1;
	CHECK_RC(quota_claim_reserve(e, &c.c, NULL), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("queue_timeout_ms");
	CHECK_RC(test_claim_state(e, "ns", "bad"), QUOTA_ERR_NOT_FOUND);
	/* a dry run with the flag answers as acquire would, storing nothing */
	c.c.queue_timeout_ms = 0;
	c.r[0].amount = 5;
	CHECK_RC(quota_claim_check(e, &c.c, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(test_claim_state(e, "ns", "bad"), QUOTA_ERR_NOT_FOUND);
	CHECK_EQ_INT(pending_of(e), 0);
	quota_engine_free(e);
}

static void test_leaving_the_queue_wakes_it(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk, NULL, 10);
	/* a (8, with 5 of 10 held) blocks b, which would fit */
	CHECK_RC(claim(e, "holder", 5, 0, 1, NULL), QUOTA_OK);
	CHECK_RC(claim(e, "a", 8, QUOTA_CLAIM_QUEUE, 0, NULL), QUOTA_OK);
	CHECK_RC(claim(e, "b", 2, QUOTA_CLAIM_QUEUE, 0, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "b"), QUOTA_CLAIM_PENDING);
	CHECK_RC(quota_claim_release(e, "ns", "a"), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "b"), QUOTA_CLAIM_RESERVED);
	/* the same when the blocker's queue deadline passes */
	struct test_claim c;
	test_claim_init(&c, "ns", "a2", &acme);
	test_claim_add(&c, VCPUS, 8);
	c.c.flags = QUOTA_CLAIM_QUEUE;
	c.c.queue_timeout_ms = 10;
	CHECK_RC(quota_claim_reserve(e, &c.c, NULL), QUOTA_OK);
	int64_t when = 0;
	CHECK_RC(quota_engine_next_deadline(e, &when), QUOTA_OK);
	CHECK_EQ_INT(when, atomic_load(&clk.ns) + 10 * MS_NS); /* the queue deadline */
	CHECK_RC(quota_engine_next_deadline(e, NULL), QUOTA_ERR_INVALID);
	CHECK_RC(claim(e, "b2", 2, QUOTA_CLAIM_QUEUE, 0, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "b2"), QUOTA_CLAIM_PENDING);
	test_clock_advance_ms(&clk, 11);
	CHECK_RC(quota_engine_tick(e, 0, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "b2"), QUOTA_CLAIM_RESERVED);
	quota_engine_free(e);
}

/* Live allocations, through the allocator hook. */
static atomic_long live_allocations;
static void *counting_malloc(size_t n, void *p)
{
	(void)p;
	atomic_fetch_add(&live_allocations, 1);
	return malloc(n);
}
static void counting_free(void *q, void *p)
{
	(void)p;
	atomic_fetch_sub(&live_allocations, 1);
	free(q);
}

static void test_no_stale_waiters(void)
{
	quota_allocator al;
	quota_allocator_init(&al, sizeof al);
	al.malloc_fn = counting_malloc;
	al.free_fn = counting_free;
	CHECK_RC(quota_set_allocator(&al), QUOTA_OK);
	struct test_clock clk;
	quota_engine *e = setup(&clk, NULL, 1);
	CHECK_RC(claim(e, "h", 1, 0, 1, NULL), QUOTA_OK);
	long after[2] = {0, 0};
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 500; i++) {
			CHECK_RC(claim(e, "q", 1, QUOTA_CLAIM_QUEUE, 0, NULL), QUOTA_OK);
			CHECK_RC(quota_claim_release(e, "ns", "q"), QUOTA_OK);
		}
		after[round] = atomic_load(&live_allocations);
	}
	CHECK_EQ_INT(after[1], after[0]); /* queueing and leaving keeps nothing */
	quota_engine_free(e);
	CHECK_EQ_INT(atomic_load(&live_allocations), 0);
	CHECK_RC(quota_set_allocator(NULL), QUOTA_OK);
}

static void test_many_waiters_do_not_block_other_buckets(void)
{
	struct test_clock clk;
	quota_engine *e = setup(&clk, NULL, 1);
	CHECK_RC(test_grant(e, NULL, "m", &acme, MEM, 1, NULL), QUOTA_OK);
	CHECK_RC(claim(e, "h", 1, 0, 1, NULL), QUOTA_OK);
	char name[32];
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof name, "x%d", i);
		CHECK_RC(claim(e, name, 1, QUOTA_CLAIM_QUEUE, 0, NULL), QUOTA_OK);
	}
	CHECK_RC(quota_consume(e, &acme, MEM, 1, NULL), QUOTA_OK);
	struct test_claim c;
	test_claim_init(&c, "ns", "mem", &acme);
	test_claim_add(&c, MEM, 1);
	c.c.flags = QUOTA_CLAIM_QUEUE;
	CHECK_RC(quota_claim_reserve(e, &c.c, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "mem"), QUOTA_CLAIM_PENDING);
	/* memory comes back: its waiter goes, whatever waits on vCPUs */
	CHECK_RC(quota_give_back(e, &acme, MEM, 1), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "mem"), QUOTA_CLAIM_RESERVED);
	CHECK_EQ_INT(test_claim_state(e, "ns", "x0"), QUOTA_CLAIM_PENDING);
	quota_engine_free(e);
}

/* Fails every allocation once armed (after the first `spare` of them). */
static atomic_int failing_armed, failing_spare;
static void *failing_malloc(size_t n, void *p)
{
	(void)p;
	if (atomic_load(&failing_armed) && atomic_fetch_sub(&failing_spare, 1) <= 0)
		return NULL;
	return malloc(n);
}
static void plain_free(void *q, void *p)
{
	(void)p;
	free(q);
}
static void no_events(const quota_event *ev, void *payload)
{
	(void)ev;
	(void)payload;
}

static void test_no_memory_to_expire_the_old_claim(void)
{
	quota_allocator al;
	quota_allocator_init(&al, sizeof al);
	al.malloc_fn = failing_malloc;
	al.free_fn = plain_free;
	CHECK_RC(quota_set_allocator(&al), QUOTA_OK);
	struct test_clock clk;
	quota_engine_options o;
	quota_engine *e = NULL;
	quota_engine_options_init(&o, sizeof o);
	atomic_store(&clk.ns, TEST_EPOCH_NS);
	o.clock = test_clock_read;
	o.clock_payload = &clk;
	o.event_fn = no_events;
	CHECK_RC(quota_engine_new(&e, &o), QUOTA_OK);
	CHECK_RC(test_register(e, VCPUS, NULL, "Organization", 10), QUOTA_OK);
	struct test_claim c;
	test_claim_init(&c, "ns", "r", &acme);
	test_claim_add(&c, VCPUS, 1);
	c.c.ttl_ms = 5;
	CHECK_RC(quota_claim_reserve(e, &c.c, NULL), QUOTA_OK);
	test_clock_advance_ms(&clk, 6);
	/* the new claim's record and event get memory; expiring the old one's
	 * event does not: the call must fail, not spin */
	atomic_store(&failing_spare, 2);
	atomic_store(&failing_armed, 1);
	CHECK_RC(quota_claim_reserve(e, &c.c, NULL), QUOTA_ERR_NOMEM);
	atomic_store(&failing_armed, 0);
	CHECK_RC(quota_claim_reserve(e, &c.c, NULL), QUOTA_OK);
	CHECK_EQ_INT(test_claim_state(e, "ns", "r"), QUOTA_CLAIM_RESERVED);
	quota_engine_free(e);
	CHECK_RC(quota_set_allocator(NULL), QUOTA_OK);
}

/* A callback that calls in and fails. */
static void failing_callback(const quota_event *ev, void *payload)
{
	quota_registration *r = NULL;
	(void)ev;
	quota_registration_get(*(quota_engine **)payload, "no.example.com/such", &r);
}

/* The detail a caller reads is its own call's, whatever the callbacks it
 * triggered did on the same thread. */
static void test_callback_keeps_detail(void)
{
	struct test_clock clk;
	quota_engine_options o;
	quota_engine *e = NULL;
	quota_engine_options_init(&o, sizeof o);
	atomic_store(&clk.ns, TEST_EPOCH_NS);
	o.clock = test_clock_read;
	o.clock_payload = &clk;
	o.event_fn = failing_callback;
	o.event_payload = &e;
	CHECK_RC(quota_engine_new(&e, &o), QUOTA_OK);
	CHECK_RC(test_register(e, VCPUS, NULL, "Organization", 10), QUOTA_OK);
	struct test_claim t;
	test_claim_init(&t, NULL, "short", &acme);
	test_claim_add(&t, VCPUS, 1);
	t.c.ttl_ms = 10;
	CHECK_RC(quota_claim_reserve(e, &t.c, NULL), QUOTA_OK);
	test_clock_advance_ms(&clk, 20);
	CHECK_RC(quota_claim_commit(e, NULL, "short", NULL, 0), QUOTA_ERR_WRONG_STATE);
	CHECK_ERR_MENTIONS("expired");
	quota_engine_free(e);
}

int main(void)
{
	RUN(test_pending_then_admitted);
	RUN(test_auto_commit_and_acquire);
	RUN(test_strict_fifo);
	RUN(test_fifo_is_per_bucket);
	RUN(test_capacity_sources);
	RUN(test_deadline_and_dequeue);
	RUN(test_queued_across_levels);
	RUN(test_bad_queue_input);
	RUN(test_leaving_the_queue_wakes_it);
	RUN(test_no_stale_waiters);
	RUN(test_many_waiters_do_not_block_other_buckets);
	RUN(test_no_memory_to_expire_the_old_claim);
	RUN(test_callback_keeps_detail);
	RUN(test_never_fits_and_auto_commit);
	RUN(test_timed_out_waiter_holds_nobody_back);
	return check_exit();
}
