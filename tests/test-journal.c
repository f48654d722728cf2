/*
 * The journal: a durable engine and an engine in memory given the same
 * calls on the same clock must agree on every answer, and the durable one,
 * created again from its files at any point, must hold the same state.
 * Also: torn tails cut, damage reported, the lock, files that are not ours.
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "crc32c.h"
#include "io.h"

#define CPU "compute.example.com/cpu"
#define REQS "api.example.com/requests"

static char dir[256];
static char path[300];

static const quota_ref org = {NULL, "Organization", NULL, "acme"};
static const quota_ref projects[3] = {
	{NULL, "Project", "acme", "p0"},
	{NULL, "Project", "acme", "p1"},
	{NULL, "Project", "acme", "p2"},
};

static void fresh_dir(void)
{
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (dir[0] && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	CHECK(mkdir(dir, 0700) == 0);
}

static quota_engine *open_engine(struct test_clock *clk, int mode, int *rc)
{
	quota_engine_options o;
	quota_engine *e = NULL;
	quota_engine_options_init(&o, sizeof o);
	o.clock = test_clock_read;
	o.clock_payload = clk;
	o.hash_key[0] = 1;
	o.hash_key[1] = 2;
	if (mode >= 0) {
		o.journal_path = path;
		o.sync_mode = mode;
	}
	*rc = quota_engine_new(&e, &o);
	return e;
}

static quota_engine *open_ok(struct test_clock *clk, int mode)
{
	int rc;
	quota_engine *e = open_engine(clk, mode, &rc);
	CHECK_RC(rc, QUOTA_OK);
	return e;
}

/* The whole state as text: objects, buckets and claims. */
static char *state(quota_engine *e)
{
	char *text = NULL;
	size_t len;
	CHECK_RC(quota_json_dump_text(e, QUOTA_JSON_ALL, &text, &len), QUOTA_OK);
	char *buf = malloc(65536);
	size_t n = 0;
	test_snapshot_buckets_claims(e, buf, 65536, &n);
	size_t tl = text ? strlen(text) : 0;
	char *all = malloc(tl + n + 2);
	memcpy(all, text ? text : "", tl);
	all[tl] = '\n';
	memcpy(all + tl + 1, buf, n);
	all[tl + 1 + n] = '\0';
	quota_free(text);
	free(buf);
	return all;
}

static void check_state_is(const char *want, quota_engine *e, const char *when)
{
	char *got = state(e);
	if (strcmp(want, got) != 0)
		check_fail_(__FILE__, __LINE__, "states differ %s:\n--- before\n%s\n--- after\n%s",
			    when, want, got);
	free(got);
}

static void check_same_state(quota_engine *a, quota_engine *b, const char *when)
{
	char *sa = state(a);
	check_state_is(sa, b, when);
	free(sa);
}

/* Create d again from its files: it must hold what it held. Returns the
 * new engine (NULL when it could not be created). */
static quota_engine *reopen_same(quota_engine *d, struct test_clock *clk, int mode,
				 const char *when)
{
	char *before = state(d);
	quota_engine_free(d);
	d = open_ok(clk, mode);
	if (d)
		check_state_is(before, d, when);
	free(before);
	return d;
}

static void setup(quota_engine *e)
{
	quota_registration r;
	CHECK_RC(test_register(e, CPU, NULL, "Project", 8), QUOTA_OK);
	quota_registration_init(&r, sizeof r);
	r.resource_type = REQS;
	r.consumer_type.kind = "Project";
	r.resource_class = QUOTA_RESOURCE_RATE;
	r.default_limit = -1;
	r.violation_action = QUOTA_ACTION_THROTTLE;
	CHECK_RC(quota_registration_create(e, &r), QUOTA_OK);
	for (int i = 0; i < 3; i++)
		CHECK_RC(quota_consumer_set_parent(e, &projects[i], &org), QUOTA_OK);
	CHECK_RC(test_grant(e, "acme", "org-cpu", &org, CPU, 20, NULL), QUOTA_OK);
	quota_grant_bucket b;
	quota_allowance a;
	quota_grant g;
	quota_grant_bucket_init(&b, sizeof b);
	b.amount = 10;
	b.period_ms = 1000;
	b.burst = 10;
	quota_allowance_init(&a, sizeof a);
	a.resource_type = REQS;
	a.buckets = &b;
	a.bucket_count = 1;
	quota_grant_init(&g, sizeof g);
	g.ns = "acme";
	g.name = "org-requests";
	g.consumer = org;
	g.allowances = &a;
	g.allowance_count = 1;
	CHECK_RC(quota_grant_apply(e, &g, NULL), QUOTA_OK);
}

/* A durable engine (QUOTA_SYNC_ALWAYS) on clk at its start, in an empty
 * directory, with setup() done; NULL when it could not be created. */
static quota_engine *fresh_setup(struct test_clock *clk)
{
	atomic_store(&clk->ns, TEST_EPOCH_NS);
	fresh_dir();
	quota_engine *d = open_ok(clk, QUOTA_SYNC_ALWAYS);
	if (d)
		setup(d);
	return d;
}

static uint64_t rng = 88172645463325252ull;
/* Apart, so that choosing when to compact leaves the calls as they were. */
static uint64_t compact_rng = 0x9e3779b97f4a7c15ull;
static uint32_t rand_from(uint64_t *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return (uint32_t)(*r >> 11);
}
static uint32_t next_rand(void)
{
	return rand_from(&rng);
}

/* Whether random_op() requires both engines to answer alike. The engine
 * in memory applies a due expiry only when a call looks at that claim,
 * a durable one sweeps before every change, so after some sequences
 * their answers about an expired reservation differ (a resize answers
 * RESERVED in memory, RELEASED in the durable engine): tests that only
 * compare a durable engine with itself turn the comparison off. */
static int answers_must_agree = 1;

/* One random call on both engines; their answers must agree. */
static void random_op(quota_engine *m, quota_engine *d, struct test_clock *clk, int step)
{
	char name[32];
	snprintf(name, sizeof name, "c%u", next_rand() % 12);
	const quota_ref *p = &projects[next_rand() % 3];
	struct test_claim t;
	quota_answer am, ad;
	quota_answer_init(&am, sizeof am);
	quota_answer_init(&ad, sizeof ad);
	int rm = 0, rd = 0;
	uint32_t what = next_rand() % 12;
	switch (what) {
	case 0:
	case 1:
	case 2:
		test_claim_init(&t, "acme", name, p);
		test_claim_add(&t, CPU, 1 + next_rand() % 4);
		if (next_rand() % 3 == 0)
			t.c.ttl_ms = 50 + next_rand() % 200;
		if (next_rand() % 4 == 0)
			t.c.flags |= QUOTA_CLAIM_QUEUE;
		rm = (what == 0 ? quota_claim_acquire : quota_claim_reserve)(m, &t.c, &am);
		rd = (what == 0 ? quota_claim_acquire : quota_claim_reserve)(d, &t.c, &ad);
		break;
	case 3:
		rm = quota_claim_commit(m, "acme", name, NULL, 0);
		rd = quota_claim_commit(d, "acme", name, NULL, 0);
		break;
	case 4:
	case 5:
		rm = quota_claim_release(m, "acme", name);
		rd = quota_claim_release(d, "acme", name);
		break;
	case 6: {
		quota_request q;
		quota_request_init(&q, sizeof q);
		q.resource_type = CPU;
		q.amount = 1 + next_rand() % 5;
		rm = quota_claim_resize(m, "acme", name, &q, 1, &am);
		rd = quota_claim_resize(d, "acme", name, &q, 1, &ad);
		break;
	}
	case 7: {
		int64_t n = 1 + next_rand() % 3;
		if (next_rand() % 2) {
			rm = quota_consume(m, p, CPU, n, &am);
			rd = quota_consume(d, p, CPU, n, &ad);
		} else {
			rm = quota_give_back(m, p, CPU, n);
			rd = quota_give_back(d, p, CPU, n);
		}
		break;
	}
	case 8: {
		int64_t n = 1 + next_rand() % 2;
		rm = quota_rate_take(m, p, REQS, n, &am);
		rd = quota_rate_take(d, p, REQS, n, &ad);
		break;
	}
	case 9: {
		int64_t amount = 10 + next_rand() % 15;
		rm = test_grant(m, "acme", "org-cpu", &org, CPU, amount, NULL);
		rd = test_grant(d, "acme", "org-cpu", &org, CPU, amount, NULL);
		break;
	}
	case 10:
		rm = quota_engine_tick(m, 0, NULL);
		rd = quota_engine_tick(d, 0, NULL);
		break;
	default:
		rm = quota_claim_check(m, &(quota_claim){0}, NULL);
		rd = quota_claim_check(d, &(quota_claim){0}, NULL);
		break;
	}
	if (answers_must_agree &&
	    (rm != rd || am.state != ad.state || am.available != ad.available ||
	     am.retry_after_ms != ad.retry_after_ms || am.flags != ad.flags))
		check_fail_(__FILE__, __LINE__, "step %d op %u: memory %d (state %d) durable %d "
			    "(state %d)", step, what, rm, am.state, rd, ad.state);
	test_clock_advance_ms(clk, next_rand() % 40);
}

static off_t file_size(const char *p);

/* Compact d: the journal is its header alone after it, and the state the
 * same; every other time the engine is created again from the snapshot. */
static quota_engine *compact_and_check(quota_engine *d, struct test_clock *clk, int mode, int step)
{
	char *before = state(d);
	off_t size = file_size(path);
	CHECK_RC(quota_engine_compact(d), QUOTA_OK);
	CHECK_EQ_INT(file_size(path), 32);
	CHECK(file_size(path) < size || size == 32);
	char snap[320];
	snprintf(snap, sizeof snap, "%s.snapshot", path);
	CHECK(file_size(snap) > 32);
	check_state_is(before, d, "after compaction");
	free(before);
	return step % 2 ? reopen_same(d, clk, mode, "after recovery from a snapshot") : d;
}

/* Random calls, answered alike by both engines; every 40 the durable
 * engine is created again from its files (in every sync mode) and must
 * hold exactly what it held; now and then it compacts (and is sometimes
 * created again at once from the snapshot). (The engine in memory may apply an expiry
 * at another moment, so its state is not compared, only its answers.) */
static void test_replay_matches_memory(void)
{
	for (int mode = QUOTA_SYNC_ALWAYS; mode <= QUOTA_SYNC_NONE; mode++) {
		struct test_clock clk;
		atomic_store(&clk.ns, TEST_EPOCH_NS);
		fresh_dir();
		quota_engine *m = open_ok(&clk, -1), *d = open_ok(&clk, mode);
		if (!m || !d)
			return;
		setup(m);
		setup(d);
		for (int step = 0; step < 400; step++) {
			random_op(m, d, &clk, step);
			/* Not in the last stretch: the last recovery must replay. */
			if (step < 360 && rand_from(&compact_rng) % 16 == 0 &&
			    !(d = compact_and_check(d, &clk, mode, step)))
				break;
			if (step % 40 == 39 && !(d = reopen_same(d, &clk, mode, "after recovery")))
				break;
		}
		random_op(m, d, &clk, 400);
		CHECK_RC(test_grant(d, "acme", "last", &org, CPU, 1, NULL), QUOTA_OK);
		quota_journal_stats st;
		quota_journal_stats_init(&st, sizeof st);
		CHECK_RC(quota_journal_stats_get(d, &st), QUOTA_OK);
		CHECK_EQ_INT(st.durable, 1);
		CHECK(st.replayed > 0);
		CHECK(st.last_seq >= st.replayed);
		if (mode == QUOTA_SYNC_ALWAYS)
			CHECK(st.fsyncs > 0);
		quota_engine_free(m);
		quota_engine_free(d);
	}
}

/* The journal counters of d. */
static quota_journal_stats journal_stats(quota_engine *d)
{
	quota_journal_stats st;
	quota_journal_stats_init(&st, sizeof st);
	CHECK_RC(quota_journal_stats_get(d, &st), QUOTA_OK);
	return st;
}

static off_t file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? st.st_size : -1;
}

static void truncate_to(const char *p, off_t n)
{
	CHECK(truncate(p, n) == 0);
}

/* A durable engine in mode and *m in memory, on clk at its start in an
 * empty directory, both set up and holding claim a. */
static quota_engine *with_claim_a(struct test_clock *clk, int mode, quota_engine **m)
{
	atomic_store(&clk->ns, TEST_EPOCH_NS);
	fresh_dir();
	quota_engine *d = open_ok(clk, mode);
	*m = open_ok(clk, -1);
	setup(d);
	setup(*m);
	struct test_claim t;
	test_claim_init(&t, "acme", "a", &projects[0]);
	test_claim_add(&t, CPU, 3);
	CHECK_RC(quota_claim_acquire(d, &t.c, NULL), QUOTA_OK);
	CHECK_RC(quota_claim_acquire(*m, &t.c, NULL), QUOTA_OK);
	return d;
}

/* Cut the journal inside its last record at every byte: the engine comes
 * back with the state before that record, and the tail is cut. */
static void test_torn_tail_cut(void)
{
	struct test_clock clk;
	quota_engine *m, *d = with_claim_a(&clk, QUOTA_SYNC_ALWAYS, &m);
	struct test_claim t;
	off_t before = file_size(path);
	test_claim_init(&t, "acme", "b", &projects[1]);
	test_claim_add(&t, CPU, 4);
	CHECK_RC(quota_claim_acquire(d, &t.c, NULL), QUOTA_OK);
	off_t after = file_size(path);
	CHECK(after > before);
	quota_engine_free(d);
	char copy[320];
	snprintf(copy, sizeof copy, "%s.whole", path);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, copy);
	CHECK(system(cmd) == 0);
	for (off_t cut = before; cut < after; cut++) {
		snprintf(cmd, sizeof cmd, "cp '%s' '%s'", copy, path);
		CHECK(system(cmd) == 0);
		truncate_to(path, cut);
		d = open_ok(&clk, QUOTA_SYNC_ALWAYS);
		if (!d)
			return;
		check_same_state(m, d, "after a torn tail");
		CHECK_EQ_INT(journal_stats(d).cut_bytes, cut - before);
		quota_engine_free(d);
		CHECK_EQ_INT(file_size(path), before);
	}
	/* The whole journal gives the claim back. */
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", copy, path);
	CHECK(system(cmd) == 0);
	d = open_ok(&clk, QUOTA_SYNC_ALWAYS);
	CHECK_EQ_INT(test_claim_state(d, "acme", "b"), QUOTA_CLAIM_GRANTED);
	quota_engine_free(d);
	quota_engine_free(m);
}

static unsigned char *read_whole(const char *p, size_t *n)
{
	off_t size = file_size(p);
	unsigned char *buf = malloc(size > 0 ? (size_t)size : 1);
	int fd = open(p, O_RDONLY);
	CHECK(size >= 0 && fd >= 0 && read(fd, buf, (size_t)size) == (ssize_t)size);
	if (fd >= 0)
		close(fd);
	*n = size > 0 ? (size_t)size : 0;
	return buf;
}

static void write_whole(const char *p, const unsigned char *buf, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, buf, n) == (ssize_t)n);
	if (fd >= 0)
		close(fd);
}

/* Put img back as the journal, recover: the state must be want's and the
 * journal cut to end. */
static void recover_to(struct test_clock *clk, const unsigned char *img, size_t n,
		       quota_engine *want, off_t end, const char *when)
{
	write_whole(path, img, n);
	quota_engine *d = open_ok(clk, QUOTA_SYNC_NONE);
	if (!d)
		return;
	check_same_state(want, d, when);
	CHECK_EQ_INT(journal_stats(d).cut_bytes, (off_t)n - end);
	quota_engine_free(d);
	CHECK_EQ_INT(file_size(path), end);
}

/*
 * QUOTA_SYNC_NONE copies records into a shared mapping of a journal grown
 * ahead with zeros. What a killed process leaves is the file as the page
 * cache has it: the records, a record being copied (its length first,
 * then any part of the rest) or being taken back, and zeros to the end of
 * the grown file. Recovery must keep every whole record and cut the rest;
 * a clean close must leave no zeros. Fails if a part-copied record
 * followed by zeros is reported as damage, or a whole one is lost.
 */
static void test_mapped_tail(void)
{
	struct test_clock clk;
	quota_engine *m, *d = with_claim_a(&clk, QUOTA_SYNC_NONE, &m);
	struct test_claim t;
	off_t before = (off_t)journal_stats(d).bytes;
	test_claim_init(&t, "acme", "b", &projects[1]);
	test_claim_add(&t, CPU, 4);
	CHECK_RC(quota_claim_acquire(d, &t.c, NULL), QUOTA_OK);
	off_t after = (off_t)journal_stats(d).bytes;
	/* The file runs ahead of the records, in zeros: the killed image. */
	size_t n;
	unsigned char *img = read_whole(path, &n);
	CHECK((off_t)n > after && n % 4096 == 0);
	quota_engine_free(d);
	CHECK_EQ_INT(file_size(path), after);
	if ((off_t)n <= after) {
		free(img);
		quota_engine_free(m);
		return;
	}
	unsigned char *torn = malloc(n);
	/* The record copied up to byte k (its length went first). */
	for (off_t k = before + 4; k < after; k++) {
		memcpy(torn, img, n);
		memset(torn + k, 0, (size_t)(after - k));
		if (memcmp(torn, img, n) == 0)
			break; /* what is left of it was zeros */
		recover_to(&clk, torn, n, m, before, "after a part-copied record");
	}
	/* Any part of it, as a copy in any order or a take-back leaves it. */
	uint64_t r = 0x2545f4914f6cdd1dull;
	for (int v = 0; v < 64; v++) {
		memcpy(torn, img, n);
		for (off_t k = before + 4; k < after; k++)
			if (rand_from(&r) % 2)
				torn[k] = 0;
		if (memcmp(torn, img, n) == 0)
			continue;
		recover_to(&clk, torn, n, m, before, "after a record with holes");
	}
	/* Not even its length: the zeros after the last whole record. */
	memcpy(torn, img, n);
	memset(torn + before, 0, (size_t)(after - before));
	recover_to(&clk, torn, n, m, before, "after a record not begun");
	/* The whole record survives, the zeros after it are cut. */
	test_claim_init(&t, "acme", "b", &projects[1]);
	test_claim_add(&t, CPU, 4);
	CHECK_RC(quota_claim_acquire(m, &t.c, NULL), QUOTA_OK);
	recover_to(&clk, img, n, m, after, "after a kill");
	free(torn);
	free(img);
	quota_engine_free(m);
}

/*
 * A power loss may write the pages of a mapped journal back in any order:
 * a record that never reached the disk (zeros, or old bytes) with whole
 * records after it. Recovery cuts the journal at it, since it follows a
 * record that was copied into a mapping (QUOTA_SYNC_NONE promises nothing
 * on power loss, and an engine must still come up). The same hole of
 * zeros in a journal written with write (QUOTA_SYNC_ALWAYS) is damage and
 * reported.
 * Fails if a hole after a mapped record is reported, a record after it is
 * replayed, or a hole after a written one is cut.
 */
static void test_mapped_hole(void)
{
	for (int mode = QUOTA_SYNC_ALWAYS; mode <= QUOTA_SYNC_NONE; mode += 2) {
		struct test_clock clk;
		quota_engine *m, *d = with_claim_a(&clk, mode, &m);
		struct test_claim t;
		off_t before = (off_t)journal_stats(d).bytes;
		for (int i = 0; i < 2; i++) {
			test_claim_init(&t, "acme", i ? "c" : "b", &projects[1]);
			test_claim_add(&t, CPU, 1);
			CHECK_RC(quota_claim_acquire(d, &t.c, NULL), QUOTA_OK);
		}
		quota_engine_free(d);
		size_t n;
		unsigned char *img = read_whole(path, &n);
		CHECK((off_t)n > before + 32);
		/* The first new record lost: its bytes zero or garbage. */
		for (int garbage = 0; garbage < 2 && (off_t)n > before + 32; garbage++) {
			unsigned char *hole = malloc(n);
			memcpy(hole, img, n);
			for (off_t k = before; k < before + 24; k++)
				hole[k] = garbage ? (unsigned char)(k * 37 + 11) : 0;
			if (mode == QUOTA_SYNC_NONE) {
				recover_to(&clk, hole, n, m, before,
					   "after a hole in a mapped journal");
			} else if (!garbage) {
				/* (A garbage length that runs past the end of the
				 * file reads as a torn write in any journal.) */
				int rc;
				write_whole(path, hole, n);
				quota_engine *r = open_engine(&clk, QUOTA_SYNC_ALWAYS, &rc);
				CHECK(r == NULL);
				CHECK_RC(rc, QUOTA_ERR_CORRUPT);
				CHECK_EQ_INT(file_size(path), (off_t)n);
				quota_engine_free(r);
			}
			free(hole);
		}
		free(img);
		quota_engine_free(m);
	}
}

/* The file calls, failing the one numbered fail_at (from 1) once armed:
 * a compaction stopped there leaves its files as a crash would (the
 * engine is then dropped without another change). */
static int io_count, io_fail_at;
static int io_should_fail(void)
{
	if (io_fail_at && ++io_count == io_fail_at) {
		errno = EIO;
		return 1;
	}
	return 0;
}
static ssize_t failing_write(int fd, const void *buf, size_t n)
{
	if (io_should_fail()) {
		/* Half of it reaches the file, as a kill in the middle would. */
		if (n > 1 && quota__io_system.write(fd, buf, n / 2) < 0)
			return -1;
		return -1;
	}
	return quota__io_system.write(fd, buf, n);
}
static int failing_fsync(int fd)
{
	return io_should_fail() ? -1 : quota__io_system.fsync(fd);
}
static int failing_rename(const char *from, const char *to)
{
	return io_should_fail() ? -1 : quota__io_system.rename(from, to);
}
static int failing_open(const char *p, int flags, mode_t mode)
{
	return io_should_fail() ? -1 : quota__io_system.open(p, flags, mode);
}

/* One consume or give_back on d and, when it succeeds, on m. */
static int consume_step(quota_engine *d, quota_engine *m, int i)
{
	int rc = i % 2 ? quota_give_back(d, &projects[0], CPU, 1)
		       : quota_consume(d, &projects[0], CPU, 1, NULL);
	if (rc == QUOTA_OK)
		CHECK_RC(i % 2 ? quota_give_back(m, &projects[0], CPU, 1)
			       : quota_consume(m, &projects[0], CPU, 1, NULL),
			 QUOTA_OK);
	return rc;
}

/*
 * QUOTA_SYNC_NONE grows its journal by writing zeros (the only writes it
 * makes): a growth that fails, half written, at the first record and when
 * the first MiB is full fails its call with QUOTA_ERR_IO, changes
 * nothing, leaves the file as it was, and the next call succeeds. Fails if
 * a failed growth leaves zeros that later records follow, or takes the
 * engine down.
 */
static void test_mapped_grow_fails(void)
{
	struct test_clock clk;
	atomic_store(&clk.ns, TEST_EPOCH_NS);
	fresh_dir();
	quota_engine *d = open_ok(&clk, QUOTA_SYNC_NONE), *m = open_ok(&clk, -1);
	quota__io_ops ops = quota__io_system;
	ops.write = failing_write;
	quota__io = &ops;
	io_count = 0;
	io_fail_at = 1;
	CHECK_RC(test_register(d, CPU, NULL, "Project", 8), QUOTA_ERR_IO);
	CHECK_EQ_INT(file_size(path), 32);
	setup(d);
	setup(m);
	quota_journal_stats st;
	quota_journal_stats_init(&st, sizeof st);
	int i = 0, failed = 0;
	for (; i < 40000 && !failed; i++) {
		quota_journal_stats_get(d, &st);
		if (st.bytes > (1u << 20) - 4096 && !io_fail_at) {
			io_count = 0;
			io_fail_at = 1;
		} else if (io_count >= io_fail_at) {
			io_fail_at = 0;
		}
		off_t size = file_size(path);
		int rc = consume_step(d, m, i);
		if (rc != QUOTA_OK) {
			CHECK_RC(rc, QUOTA_ERR_IO);
			CHECK_EQ_INT(file_size(path), size);
			failed = 1;
		}
	}
	CHECK(failed);
	quota__io = &quota__io_system;
	io_fail_at = 0;
	quota_journal_stats_get(d, &st);
	CHECK_EQ_INT(st.failed, 0);
	for (int k = 0; k < 100; k++) /* from the step that failed */
		CHECK_RC(consume_step(d, m, i - 1 + k), QUOTA_OK);
	check_same_state(m, d, "after failed growths");
	d = reopen_same(d, &clk, QUOTA_SYNC_NONE, "after failed growths");
	check_same_state(m, d, "after failed growths and a recovery");
	quota_engine_free(d);
	quota_engine_free(m);
}

/* A compaction stopped at each of its file calls in turn (creating P.next,
 * writing the snapshot, renaming it, renaming P.next over P), with the
 * temporary files a crash would leave behind: the engine created again
 * holds the state it had, finishes the compaction, and goes on. */
static void test_compaction_interrupted(void)
{
	quota__io_ops ops = quota__io_system;
	ops.write = failing_write;
	ops.fsync = failing_fsync;
	ops.rename = failing_rename;
	ops.open = failing_open;
	int finished = 0;
	answers_must_agree = 0;
	for (int at = 1; at < 64 && !finished; at++) {
		struct test_clock clk;
		quota_engine *d = fresh_setup(&clk), *m = open_ok(&clk, -1);
		if (!d || !m)
			return;
		setup(m);
		for (int step = 0; step < 30; step++)
			random_op(m, d, &clk, step);
		if (at % 2)
			CHECK_RC(quota_engine_compact(d), QUOTA_OK); /* an older snapshot */
		for (int step = 30; step < 60; step++)
			random_op(m, d, &clk, step);
		char *before = state(d);
		io_count = 0;
		io_fail_at = at;
		quota__io = &ops;
		int rc = quota_engine_compact(d);
		quota__io = &quota__io_system;
		finished = io_count < at; /* every call passed: the last kill point is behind */
		io_fail_at = 0;
		if (finished)
			CHECK_RC(rc, QUOTA_OK);
		else if (rc != QUOTA_ERR_IO)
			check_fail_(__FILE__, __LINE__, "call %d: compaction returned %d", at, rc);
		quota_engine_free(d);
		/* What a crash leaves that a failure cleans up. */
		const char *tmps[] = {".snapshot.tmp", ".next.tmp", ".tmp"};
		for (int i = 0; i < 3; i++) {
			char p[340];
			snprintf(p, sizeof p, "%s%s", path, tmps[i]);
			FILE *f = fopen(p, "wb");
			if (f) {
				fputs("half a file", f);
				fclose(f);
			}
		}
		d = open_ok(&clk, QUOTA_SYNC_ALWAYS);
		if (!d) {
			check_fail_(__FILE__, __LINE__, "call %d: recovery failed", at);
			free(before);
			break;
		}
		check_state_is(before, d, "after an interrupted compaction");
		char next[320];
		snprintf(next, sizeof next, "%s.next", path);
		CHECK(access(next, F_OK) != 0); /* recovery finished it */
		/* It goes on: more changes, created again, still alike. */
		for (int step = 60; step < 80; step++)
			random_op(m, d, &clk, step);
		d = reopen_same(d, &clk, QUOTA_SYNC_ALWAYS, "after changes that followed");
		free(before);
		quota_engine_free(d);
		quota_engine_free(m);
	}
	CHECK(finished);
	answers_must_agree = 1;
}

/* A call that changes nothing itself (a dry run, a failed release) may
 * still expire a reservation in the sweep before it: the engine created
 * again must hold that expiry too (it did not while such calls left no
 * record), and the queue it let in. */
static void test_sweep_recorded(void)
{
	for (int how = 0; how < 2; how++) {
		struct test_clock clk;
		quota_engine *d = fresh_setup(&clk);
		if (!d)
			return;
		struct test_claim t;
		test_claim_init(&t, "acme", "ttl", &projects[0]);
		test_claim_add(&t, CPU, 8);
		t.c.ttl_ms = 100;
		CHECK_RC(quota_claim_reserve(d, &t.c, NULL), QUOTA_OK);
		test_claim_init(&t, "acme", "waits", &projects[0]);
		test_claim_add(&t, CPU, 8);
		t.c.flags = QUOTA_CLAIM_QUEUE;
		CHECK_RC(quota_claim_reserve(d, &t.c, NULL), QUOTA_OK);
		CHECK_EQ_INT(test_claim_state(d, "acme", "waits"), QUOTA_CLAIM_PENDING);
		test_clock_advance_ms(&clk, 200);
		if (how == 0) {
			test_claim_init(&t, "acme", "dry", &projects[1]);
			test_claim_add(&t, CPU, 1);
			CHECK_RC(quota_claim_check(d, &t.c, NULL), QUOTA_OK);
		} else {
			CHECK_RC(quota_claim_release(d, "acme", "nosuch"), QUOTA_ERR_NOT_FOUND);
		}
		CHECK_EQ_INT(test_claim_state(d, "acme", "ttl"), QUOTA_CLAIM_RELEASED);
		CHECK_EQ_INT(test_claim_state(d, "acme", "waits"), QUOTA_CLAIM_RESERVED);
		d = reopen_same(d, &clk, QUOTA_SYNC_ALWAYS,
				"after a sweep in a call that changed nothing");
		quota_engine_free(d);
	}
}

static void flip_byte(const char *p, off_t at);

/* A damaged snapshot stops recovery with the error that names it, and
 * changes nothing on disk. */
static void test_snapshot_damage_stops_recovery(void)
{
	struct test_clock clk;
	quota_engine *d = fresh_setup(&clk);
	if (!d)
		return;
	CHECK_RC(quota_engine_compact(d), QUOTA_OK);
	quota_engine_free(d);
	char snap[320];
	snprintf(snap, sizeof snap, "%s.snapshot", path);
	off_t size = file_size(snap);
	flip_byte(snap, size / 2);
	int rc;
	d = open_engine(&clk, QUOTA_SYNC_ALWAYS, &rc);
	CHECK(d == NULL);
	CHECK_RC(rc, QUOTA_ERR_CORRUPT);
	CHECK_ERR_MENTIONS("snapshot");
	CHECK_EQ_INT(file_size(snap), size);
	CHECK_EQ_INT(file_size(path), 32);
	flip_byte(snap, size / 2);
	d = open_ok(&clk, QUOTA_SYNC_ALWAYS);
	quota_engine_free(d);
}

static void flip_byte(const char *p, off_t at)
{
	int fd = open(p, O_RDWR);
	unsigned char b;
	CHECK(pread(fd, &b, 1, at) == 1);
	b ^= 0x5A;
	CHECK(pwrite(fd, &b, 1, at) == 1);
	close(fd);
}

/* A damaged record with more after it is reported, and nothing changes. */
static void test_damage_reported(void)
{
	struct test_clock clk;
	atomic_store(&clk.ns, TEST_EPOCH_NS);
	fresh_dir();
	quota_engine *d = open_ok(&clk, QUOTA_SYNC_ALWAYS);
	setup(d);
	quota_engine_free(d);
	off_t size = file_size(path);
	flip_byte(path, 40); /* inside the first record */
	int rc;
	d = open_engine(&clk, QUOTA_SYNC_ALWAYS, &rc);
	CHECK(d == NULL);
	CHECK_RC(rc, QUOTA_ERR_CORRUPT);
	CHECK_ERR_MENTIONS("damaged");
	CHECK_EQ_INT(file_size(path), size);
	flip_byte(path, 40);
	flip_byte(path, 3); /* the header's magic */
	d = open_engine(&clk, QUOTA_SYNC_ALWAYS, &rc);
	CHECK_RC(rc, QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("not a libquota journal");
	flip_byte(path, 3);
	d = open_ok(&clk, QUOTA_SYNC_ALWAYS);
	quota_engine_free(d);
	/* A newer format version, with a good header checksum, is refused and
	 * left as it is. */
	int fd = open(path, O_RDWR);
	unsigned char h[32];
	CHECK(pread(fd, h, sizeof h, 0) == (ssize_t)sizeof h);
	h[8] = 2; /* version, little-endian u32 at byte 8 */
	uint32_t crc = quota__crc32c(0, h, 28);
	for (int i = 0; i < 4; i++)
		h[28 + i] = (unsigned char)(crc >> (8 * i));
	CHECK(pwrite(fd, h, sizeof h, 0) == (ssize_t)sizeof h);
	close(fd);
	d = open_engine(&clk, QUOTA_SYNC_ALWAYS, &rc);
	CHECK(d == NULL);
	CHECK_RC(rc, QUOTA_ERR_UNSUPPORTED);
	CHECK_ERR_MENTIONS("version 2");
	CHECK_EQ_INT(file_size(path), size);
}

static void test_one_engine_per_journal(void)
{
	struct test_clock clk;
	atomic_store(&clk.ns, TEST_EPOCH_NS);
	fresh_dir();
	quota_engine *d = open_ok(&clk, QUOTA_SYNC_NONE);
	int rc;
	quota_engine *other = open_engine(&clk, QUOTA_SYNC_NONE, &rc);
	CHECK(other == NULL);
	CHECK_RC(rc, QUOTA_ERR_IN_USE);
	CHECK_ERR_MENTIONS("in use");
	quota_engine_free(d);
	other = open_ok(&clk, QUOTA_SYNC_NONE);
	quota_engine_free(other);
}

/* A call that fails leaves no record; a bad sync mode is refused. */
static void test_failures_leave_no_record(void)
{
	struct test_clock clk;
	atomic_store(&clk.ns, TEST_EPOCH_NS);
	fresh_dir();
	quota_engine *d = open_ok(&clk, QUOTA_SYNC_NONE);
	setup(d);
	quota_journal_stats a, b;
	quota_journal_stats_init(&a, sizeof a);
	quota_journal_stats_init(&b, sizeof b);
	quota_journal_stats_get(d, &a);
	struct test_claim t;
	test_claim_init(&t, "acme", "big", &projects[0]);
	test_claim_add(&t, CPU, 1000);
	CHECK_RC(quota_claim_acquire(d, &t.c, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_registration_delete(d, "nope.example.com/x"), QUOTA_ERR_NOT_FOUND);
	CHECK_RC(quota_claim_check(d, &t.c, NULL), QUOTA_ERR_EXCEEDED);
	/* A claim the record cannot describe (requests NULL with a count)
	 * fails its own checks, without a record. */
	t.c.requests = NULL;
	CHECK_RC(quota_claim_acquire(d, &t.c, NULL), QUOTA_ERR_INVALID);
	quota_journal_stats_get(d, &b);
	CHECK_EQ_INT(b.last_seq, a.last_seq);
	CHECK_EQ_INT(b.bytes, a.bytes);
	/* From inside a change, compaction and save are refused. */
	CHECK_RC(quota_engine_compact(d), QUOTA_OK);
	quota_journal_stats_get(d, &b);
	CHECK_EQ_INT(b.compactions, 1);
	CHECK(b.bytes < a.bytes); /* the header alone */
	CHECK_RC(quota_engine_sync(d), QUOTA_OK);
	quota_engine_free(d);
	/* An engine in memory has no journal to compact or sync. */
	struct test_clock c2;
	atomic_store(&c2.ns, TEST_EPOCH_NS);
	quota_engine *m = open_ok(&c2, -1);
	CHECK_RC(quota_engine_compact(m), QUOTA_ERR_INVALID);
	CHECK_RC(quota_engine_sync(m), QUOTA_OK);
	quota_journal_stats_get(m, &b);
	CHECK_EQ_INT(b.durable, 0);
	quota_engine_free(m);
	int rc;
	quota_engine_options o;
	quota_engine_options_init(&o, sizeof o);
	o.journal_path = path;
	o.sync_mode = 7;
	quota_engine *e = NULL;
	CHECK_RC(quota_engine_new(&e, &o), QUOTA_ERR_INVALID);
	CHECK_ERR_MENTIONS("sync_mode");
	o.sync_mode = QUOTA_SYNC_NONE;
	o.journal_path = "";
	CHECK_RC(quota_engine_new(&e, &o), QUOTA_ERR_INVALID);
	(void)rc;
}

/* Changes through a handle are recorded as the same changes by name:
 * recovery holds them. Fails when a handle's journaled path records
 * nothing, or records a refused change. */
static void test_handle_changes_recorded(void)
{
	struct test_clock clk;
	quota_engine *d = fresh_setup(&clk);
	if (!d)
		return;
	quota_bucket_handle *h = NULL;
	CHECK_RC(quota_bucket_handle_open(d, &projects[0], CPU, &h), QUOTA_OK);
	CHECK_RC(quota_handle_consume(h, 3, NULL), QUOTA_OK);
	CHECK_RC(quota_handle_give_back(h, 1), QUOTA_OK);
	CHECK_RC(quota_handle_consume(h, 100, NULL), QUOTA_ERR_EXCEEDED);
	CHECK_RC(quota_handle_give_back(h, 5), QUOTA_ERR_INVALID);
	quota_bucket_handle_close(h);
	d = reopen_same(d, &clk, QUOTA_SYNC_ALWAYS, "after changes through a handle");
	if (d)
		CHECK_BUCKET(d, &projects[0], CPU, 8, 2, 0, 6);
	quota_engine_free(d);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/quota-journal-%d", tmp ? tmp : "/tmp", (int)getpid());
	snprintf(path, sizeof path, "%s/journal", dir);
	RUN(test_replay_matches_memory);
	RUN(test_handle_changes_recorded);
	RUN(test_torn_tail_cut);
	RUN(test_mapped_tail);
	RUN(test_mapped_hole);
	RUN(test_damage_reported);
	RUN(test_one_engine_per_journal);
	RUN(test_failures_leave_no_record);
	RUN(test_sweep_recorded);
	RUN(test_compaction_interrupted);
	RUN(test_mapped_grow_fails);
	RUN(test_snapshot_damage_stops_recovery);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_exit();
}
