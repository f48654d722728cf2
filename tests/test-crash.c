/*
 * Crash tests for the journal (doc/durability.md).
 *
 * A writer child opens a durable engine (QUOTA_SYNC_ALWAYS in half the
 * cycles, QUOTA_SYNC_NONE, whose records go through a shared mapping of the
 * journal, in the other half: both promise that an acknowledged change
 * survives kill -9) and runs
 * random reserve, acquire, commit (some with settlements below what was
 * reserved), release, consume and give_back calls on three projects under
 * an organization with grants. It reports each call to the parent through
 * a pipe: an intent before the call and, once the call has returned, its
 * status and answer. The parent kills the child at a random moment, or the
 * child kills itself from inside the journal's file calls (lib/io.h) at the
 * Nth write, fsync, ftruncate or rename, before it, after it, or in the
 * middle of a write. The parent then recovers the engine from the same
 * files and compares it with its model of the acknowledged operations:
 * the state must be the model, or the model with the one call that was in
 * flight at the kill. Cycles run on the same files; every 25 cycles the
 * directory starts empty (so that kills also hit the journal's creation),
 * and after some cycles the parent puts the torn journal back as it found
 * it, so that the next child recovers it itself, and may be killed while
 * it does.
 *
 * This test fails when: recovery fails (any status but QUOTA_OK); an
 * acknowledged change is missing, or a change is present that neither an
 * acknowledgement nor the call in flight explains; a claim holds some of
 * its allocations but not all; a bucket's allocated or reserved differs
 * from the sum of its claims plus anonymous consumption; an answer the
 * child was given disagrees with the model; the child dies in a way other
 * than the kill planned for it; or a run of at least 200 cycles never
 * acknowledged an operation (in either mode), never fired a kill from the
 * file calls, never cut a torn tail or never compacted (the test would then prove
 * nothing); a compaction that fails (rather than being killed) fails too.
 *
 * Environment: QUOTA_CRASH_CYCLES (default 1500; the long mode of
 * doc/durability.md runs 20000), QUOTA_CRASH_SEED (default: from the time;
 * printed, so that a failure can be repeated), TMPDIR.
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "io.h"

#define CPU "compute.example.com/cpu"
#define MEM "compute.example.com/memory"
#define NTYPE 2
#define NPROJ 3
#define NCLAIM 12
#define PROJECT_LIMIT 10 /* each type, each project (the default limit) */
#define ORG_LIMIT 24     /* each type, the organization (a grant) */

static const char *const types[NTYPE] = {CPU, MEM};
static const quota_ref org = {NULL, "Organization", NULL, "acme"};
static const quota_ref projects[NPROJ] = {
	{NULL, "Project", "acme", "p0"},
	{NULL, "Project", "acme", "p1"},
	{NULL, "Project", "acme", "p2"},
};

static char dir[256];
static char path[300];

/* ---- random numbers ---- */

static uint64_t rand_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x >> 11;
}

static uint32_t rand_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(rand_next(s) % n);
}

/* ---- what the child tells the parent ---- */

enum {
	M_READY = 1,
	M_SETUP,
	M_INTENT,
	M_DONE
};
enum {
	OP_RESERVE,
	OP_ACQUIRE,
	OP_COMMIT,
	OP_RELEASE,
	OP_CONSUME,
	OP_GIVE_BACK,
	OP_COMPACT
};
static const char *const op_names[] = {"reserve", "acquire",   "commit", "release",
				       "consume", "give_back", "compact"};

/* One report; far below PIPE_BUF, so a kill never tears one. */
struct msg {
	int32_t kind, op;
	int32_t claim; /* claims: the claim's index; consume, give_back: the type */
	int32_t proj;
	/* reserve, acquire: the amount asked of each type, 0 for none;
	 * commit: the settlement of each type, -1 for none (commit in full);
	 * consume, give_back: amt[0] */
	int64_t amt[NTYPE];
	int32_t rc, state; /* M_DONE: the status and the answer's state */
	uint32_t flags, pad;
};

/* ---- the parent's model ---- */

struct mclaim {
	int state;          /* 0: unknown to the engine; else QUOTA_CLAIM_* */
	int64_t req[NTYPE]; /* requested at creation, 0: type not asked */
	int64_t amt[NTYPE]; /* held now */
};

struct model {
	struct mclaim c[NCLAIM];
	int64_t anon[NPROJ][NTYPE];
};

static int claim_project(int i)
{
	return i % NPROJ;
}

static int live(const struct mclaim *c)
{
	return c->state == QUOTA_CLAIM_RESERVED || c->state == QUOTA_CLAIM_GRANTED;
}

static int same_spec(const struct mclaim *c, const int64_t *req)
{
	for (int t = 0; t < NTYPE; t++)
		if (c->req[t] != req[t])
			return 0;
	return 1;
}

/*
 * Apply the call m to the model as a call that succeeded would change
 * the engine. Returns -1 when, by the model, the call cannot succeed (it
 * is then left unchanged).
 */
static int model_apply(struct model *md, const struct msg *m)
{
	struct mclaim *c = m->op <= OP_RELEASE ? &md->c[m->claim] : NULL;
	switch (m->op) {
	case OP_RESERVE:
	case OP_ACQUIRE:
		if (live(c)) {
			if (!same_spec(c, m->amt))
				return -1;
			if (m->op == OP_ACQUIRE)
				c->state = QUOTA_CLAIM_GRANTED;
			return 0;
		}
		c->state = m->op == OP_RESERVE ? QUOTA_CLAIM_RESERVED : QUOTA_CLAIM_GRANTED;
		for (int t = 0; t < NTYPE; t++)
			c->req[t] = c->amt[t] = m->amt[t];
		return 0;
	case OP_COMMIT:
		if (c->state == QUOTA_CLAIM_GRANTED)
			return 0;
		if (c->state != QUOTA_CLAIM_RESERVED)
			return -1;
		for (int t = 0; t < NTYPE; t++) {
			if (m->amt[t] >= 0 && (c->req[t] == 0 || m->amt[t] > c->amt[t]))
				return -1;
		}
		for (int t = 0; t < NTYPE; t++)
			if (m->amt[t] >= 0)
				c->amt[t] = m->amt[t];
		c->state = QUOTA_CLAIM_GRANTED;
		return 0;
	case OP_RELEASE:
		if (!c->state)
			return -1;
		c->state = QUOTA_CLAIM_RELEASED;
		memset(c->amt, 0, sizeof c->amt);
		return 0;
	case OP_CONSUME: md->anon[m->proj][m->claim] += m->amt[0]; return 0;
	case OP_GIVE_BACK:
		if (md->anon[m->proj][m->claim] < m->amt[0])
			return -1;
		md->anon[m->proj][m->claim] -= m->amt[0];
		return 0;
	default: return 0;
	}
}

/* ---- comparing an engine with the model ---- */

static void claim_name(int i, char *buf, size_t cap)
{
	snprintf(buf, cap, "c%d", i);
}

/* Whether e holds exactly the model; why says where it differs. With
 * partial_setup, a type or level that the setup has not made yet counts
 * as an empty bucket. */
static int engine_matches(quota_engine *e, const struct model *md, int partial_setup, char *why,
			  size_t cap)
{
	int64_t alloc[NPROJ][NTYPE], res[NPROJ][NTYPE];
	memcpy(alloc, md->anon, sizeof alloc);
	memset(res, 0, sizeof res);
	int known = 0;
	for (int i = 0; i < NCLAIM; i++) {
		const struct mclaim *c = &md->c[i];
		char name[16];
		claim_name(i, name, sizeof name);
		quota_claim_info *ci = NULL;
		int rc = quota_claim_get(e, "acme", name, &ci);
		if (!c->state) {
			if (rc != QUOTA_ERR_NOT_FOUND) {
				snprintf(why, cap,
					 "claim %s: quota_claim_get %s (state %d), expected "
					 "no claim",
					 name, quota_strerror(rc), ci ? ci->state : 0);
				quota_free(ci);
				return 0;
			}
			continue;
		}
		known++;
		if (rc != QUOTA_OK) {
			snprintf(why, cap, "claim %s: quota_claim_get %s, expected state %d", name,
				 quota_strerror(rc), c->state);
			return 0;
		}
		int ok = ci->state == c->state;
		if (ok && live(c)) {
			/* Every allocation there, none missing, none extra. */
			uint32_t want = 0;
			for (int t = 0; t < NTYPE; t++)
				want += c->req[t] > 0;
			ok = ci->allocation_count == want;
			for (uint32_t k = 0; ok && k < ci->allocation_count; k++) {
				const quota_allocation *a = ci->allocations[k];
				int t = strcmp(a->resource_type, CPU) == 0 ? 0 : 1;
				ok = c->req[t] > 0 && a->requested == c->req[t] &&
				     a->amount == c->amt[t];
			}
		}
		if (!ok) {
			int n = snprintf(why, cap, "claim %s: state %d with", name, ci->state);
			for (uint32_t k = 0; k < ci->allocation_count && n > 0 && (size_t)n < cap;
			     k++)
				n += snprintf(why + n, cap - (size_t)n, " %s=%" PRId64 "/%" PRId64,
					      ci->allocations[k]->resource_type,
					      ci->allocations[k]->amount,
					      ci->allocations[k]->requested);
			if (n > 0 && (size_t)n < cap)
				snprintf(why + n, cap - (size_t)n,
					 "; expected state %d with cpu=%" PRId64 "/%" PRId64
					 " memory=%" PRId64 "/%" PRId64,
					 c->state, c->amt[0], c->req[0], c->amt[1], c->req[1]);
			quota_free(ci);
			return 0;
		}
		quota_free(ci);
		int p = claim_project(i);
		for (int t = 0; t < NTYPE; t++) {
			if (c->state == QUOTA_CLAIM_GRANTED)
				alloc[p][t] += c->amt[t];
			else if (c->state == QUOTA_CLAIM_RESERVED)
				res[p][t] += c->amt[t];
		}
	}
	/* No claim the model does not know. */
	quota_claim_iter *it = NULL;
	const quota_claim_info *ci;
	int count = 0, rc = quota_claim_iter_new(e, NULL, 0, &it);
	while (rc == QUOTA_OK && (rc = quota_claim_iter_next(it, &ci)) == QUOTA_OK)
		count++;
	quota_claim_iter_free(it);
	if (rc != QUOTA_ITER_DONE || count != known) {
		snprintf(why, cap, "claim iteration: %d claims (%s), expected %d", count,
			 quota_strerror(rc), known);
		return 0;
	}
	/* Bucket totals: each project's, and the organization's over them. */
	for (int t = 0; t < NTYPE; t++) {
		int64_t org_alloc = 0, org_res = 0;
		for (int p = 0; p <= NPROJ; p++) {
			const quota_ref *ref = p < NPROJ ? &projects[p] : &org;
			int64_t wa = p < NPROJ ? alloc[p][t] : org_alloc;
			int64_t wr = p < NPROJ ? res[p][t] : org_res;
			if (p < NPROJ) {
				org_alloc += wa;
				org_res += wr;
			}
			quota_bucket_info *b = NULL;
			rc = quota_bucket_get(e, ref, types[t], &b);
			int64_t ga = b ? b->allocated : 0, gr = b ? b->reserved : 0;
			quota_free(b);
			int none = rc == QUOTA_ERR_NOT_FOUND ||
				   (partial_setup &&
				    (rc == QUOTA_ERR_NOT_ALLOWED || rc == QUOTA_ERR_UNREGISTERED));
			if ((rc != QUOTA_OK && !none) || ga != wa || gr != wr) {
				snprintf(why, cap,
					 "bucket %s:%s: %s, allocated %" PRId64 " reserved %" PRId64
					 ", expected %" PRId64 " and %" PRId64,
					 ref->name, types[t], quota_strerror(rc), ga, gr, wa, wr);
				return 0;
			}
		}
	}
	return 1;
}

/* ---- the child ---- */

struct cycle {
	uint64_t seed;
	int setup;     /* create the registrations, hierarchy and grants first */
	int io_kill;   /* die at this file call (1 = the first), 0: never */
	int io_how;    /* 0: before it, 1: a part of a write, 2: after it */
	int io_signal; /* die by raise(SIGKILL) rather than _exit(9) */
	int mode;      /* the child's QUOTA_SYNC_* */
};

static struct cycle cur;
static int io_calls;
static uint64_t io_rng;

static void io_die(void)
{
	if (cur.io_signal)
		raise(SIGKILL);
	_exit(9);
}

/* Count a file call; at the chosen one die before it (or mark that the
 * caller dies after it: returns 1). */
static int io_count(void)
{
	if (++io_calls != cur.io_kill)
		return 0;
	if (cur.io_how == 0)
		io_die();
	return 1;
}

static ssize_t kill_write(int fd, const void *buf, size_t n)
{
	if (!io_count())
		return write(fd, buf, n);
	if (cur.io_how == 1) {
		/* A part of the buffer reaches the file, then the end. */
		size_t part = n ? (size_t)rand_below(&io_rng, (uint32_t)n) : 0;
		if (part && write(fd, buf, part) < 0)
			_exit(8);
		io_die();
	}
	ssize_t r = write(fd, buf, n);
	io_die();
	return r;
}

static int kill_fsync(int fd)
{
	int last = io_count();
	int r = fsync(fd);
	if (last)
		io_die();
	return r;
}

static int kill_ftruncate(int fd, off_t len)
{
	int last = io_count();
	int r = ftruncate(fd, len);
	if (last)
		io_die();
	return r;
}

static int kill_rename(const char *from, const char *to)
{
	int last = io_count();
	int r = rename(from, to);
	if (last)
		io_die();
	return r;
}

static quota__io_ops kill_ops;

static void send_msg(int fd, const struct msg *m)
{
	if (write(fd, m, sizeof *m) != (ssize_t)sizeof *m)
		_exit(7);
}

static quota_engine *open_engine(int *rc)
{
	quota_engine_options o;
	quota_engine *e = NULL;
	quota_engine_options_init(&o, sizeof o);
	o.hash_key[0] = 0x5eed;
	o.hash_key[1] = 0xc4a5;
	o.released_retention_ms = INT64_C(86400000) * 365; /* released claims stay */
	o.journal_path = path;
	o.sync_mode = cur.mode;
	*rc = quota_engine_new(&e, &o);
	return e;
}

/* Registrations, hierarchy and grants; each call may have run before (a
 * setup cut short by a kill is run again) and then changes nothing. */
static int setup(quota_engine *e)
{
	int rc = 0;
	for (int t = 0; t < NTYPE && !rc; t++)
		rc = test_register(e, types[t], NULL, "Project", PROJECT_LIMIT);
	for (int p = 0; p < NPROJ && !rc; p++)
		rc = quota_consumer_set_parent(e, &projects[p], &org);
	for (int t = 0; t < NTYPE && !rc; t++)
		rc = test_grant(e, "acme", t ? "org-memory" : "org-cpu", &org, types[t], ORG_LIMIT,
				NULL);
	return rc;
}

/* Pick the next call from what the engine holds. */

static void pick(quota_engine *e, uint64_t *rng, struct msg *m)
{
	memset(m, 0, sizeof *m);
	m->kind = M_INTENT;
	uint32_t r = rand_below(rng, 100);
	m->op = r < 22   ? OP_RESERVE
		: r < 40 ? OP_ACQUIRE
		: r < 58 ? OP_COMMIT
		: r < 78 ? OP_RELEASE
		: r < 88 ? OP_CONSUME
		: r < 98 ? OP_GIVE_BACK
			 : OP_COMPACT;
	m->claim = (int32_t)rand_below(rng, NCLAIM);
	m->proj = claim_project(m->claim);
	switch (m->op) {
	case OP_RESERVE:
	case OP_ACQUIRE: {
		uint32_t which = 1 + rand_below(rng, 3); /* bit t: type t asked */
		for (int t = 0; t < NTYPE; t++)
			m->amt[t] = which & (1u << t) ? 1 + rand_below(rng, 4) : 0;
		break;
	}
	case OP_COMMIT: {
		/* Settle below what was reserved, on some types. */
		char name[16];
		quota_claim_info *ci = NULL;
		claim_name(m->claim, name, sizeof name);
		m->amt[0] = m->amt[1] = -1;
		if (quota_claim_get(e, "acme", name, &ci) == QUOTA_OK) {
			for (uint32_t k = 0; k < ci->allocation_count; k++) {
				int t = strcmp(ci->allocations[k]->resource_type, CPU) == 0 ? 0 : 1;
				if (rand_below(rng, 2))
					m->amt[t] = rand_below(
						rng, (uint32_t)ci->allocations[k]->amount + 1);
			}
			quota_free(ci);
		}
		break;
	}
	case OP_CONSUME:
	case OP_GIVE_BACK:
		m->proj = (int32_t)rand_below(rng, NPROJ);
		m->claim = (int32_t)rand_below(rng, NTYPE); /* the type */
		m->amt[0] = 1 + rand_below(rng, 3);
		break;
	default: break;
	}
}

static int run_call(quota_engine *e, const struct msg *m, quota_answer *a)
{
	char name[16];
	claim_name(m->claim, name, sizeof name);
	switch (m->op) {
	case OP_RESERVE:
	case OP_ACQUIRE: {
		struct test_claim t;
		test_claim_init(&t, "acme", name, &projects[m->proj]);
		for (int k = 0; k < NTYPE; k++)
			if (m->amt[k])
				test_claim_add(&t, types[k], m->amt[k]);
		return (m->op == OP_RESERVE ? quota_claim_reserve : quota_claim_acquire)(e, &t.c,
											 a);
	}
	case OP_COMMIT: {
		quota_request q[NTYPE];
		uint32_t n = 0;
		for (int t = 0; t < NTYPE; t++) {
			if (m->amt[t] < 0)
				continue;
			quota_request_init(&q[n], sizeof q[n]);
			q[n].resource_type = types[t];
			q[n++].amount = m->amt[t];
		}
		return quota_claim_commit(e, "acme", name, n ? q : NULL, n);
	}
	case OP_RELEASE: return quota_claim_release(e, "acme", name);
	case OP_CONSUME: return quota_consume(e, &projects[m->proj], types[m->claim], m->amt[0], a);
	case OP_GIVE_BACK:
		return quota_give_back(e, &projects[m->proj], types[m->claim], m->amt[0]);
	default: return quota_engine_compact(e);
	}
}

static _Noreturn void child(int fd)
{
	if (cur.io_kill) {
		kill_ops = quota__io_system;
		kill_ops.write = kill_write;
		kill_ops.fsync = kill_fsync;
		kill_ops.ftruncate = kill_ftruncate;
		kill_ops.rename = kill_rename;
		io_rng = cur.seed ^ 0x9e3779b97f4a7c15ull;
		quota__io = &kill_ops;
	}
	uint64_t rng = cur.seed;
	int rc;
	quota_engine *e = open_engine(&rc);
	if (!e) {
		fprintf(stderr, "child: recovery failed: %s: %s\n", quota_strerror(rc),
			quota_last_error());
		_exit(3);
	}
	struct msg m = {.kind = M_READY};
	send_msg(fd, &m);
	if (cur.setup) {
		if ((rc = setup(e))) {
			fprintf(stderr, "child: setup failed: %s: %s\n", quota_strerror(rc),
				quota_last_error());
			_exit(4);
		}
		m.kind = M_SETUP;
		send_msg(fd, &m);
	}
	for (;;) {
		pick(e, &rng, &m);
		send_msg(fd, &m);
		quota_answer a;
		quota_answer_init(&a, sizeof a);
		m.rc = run_call(e, &m, &a);
		m.state = a.state;
		m.flags = a.flags;
		m.kind = M_DONE;
		send_msg(fd, &m);
	}
}

/* ---- the parent ---- */

struct totals {
	long acked, failed_calls, inflight_applied, inflight_absent, io_kills, signal_kills;
	long before_ready, cut_cycles, put_back, fresh;
	long compactions, compact_kills; /* acknowledged; killed inside one */
	long none_cycles, none_acked;    /* cycles in QUOTA_SYNC_NONE, calls they acknowledged */
	uint64_t cut_bytes;
};

static void fresh_dir(void)
{
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	if (mkdir(dir, 0700) != 0)
		check_fail_(__FILE__, __LINE__, "mkdir %s: %s", dir, strerror(errno));
}

static unsigned char *read_all(const char *p, size_t *n)
{
	*n = 0;
	FILE *f = fopen(p, "rb");
	if (!f)
		return NULL;
	unsigned char *buf = NULL;
	size_t cap = 0;
	for (;;) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
		}
		size_t r = fread(buf + *n, 1, cap - *n, f);
		if (!r)
			break;
		*n += r;
	}
	fclose(f);
	return buf;
}

static void write_all(const char *p, const unsigned char *buf, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, n) != (ssize_t)n || fsync(fd) != 0)
		check_fail_(__FILE__, __LINE__, "put back %s: %s", p, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Fork a child for cur, read its reports into *out (*count of them) while
 * it runs, kill it after delay_us (counted from its M_READY when
 * wait_ready), and reap it. *by_io: it died in a file call, as planned.
 * Returns 0, or -1 (reported) when it ended in any other way.
 */
static int run_child(long delay_us, int wait_ready, struct msg **out, size_t *count, int *by_io)
{
	*out = NULL;
	*count = 0;
	*by_io = 0;
	int pfd[2];
	if (pipe(pfd) != 0) {
		check_fail_(__FILE__, __LINE__, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		check_fail_(__FILE__, __LINE__, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		child(pfd[1]);
	}
	close(pfd[1]);
	/* Read the reports while waiting (the pipe must not fill up). */
	struct msg *msgs = NULL;
	size_t cap = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int killed = 0, status = 0;
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	for (;;) {
		struct msg m;
		ssize_t r = read(pfd[0], &m, sizeof m);
		if (r == (ssize_t)sizeof m) {
			if (*count == cap) {
				cap = cap ? cap * 2 : 256;
				msgs = realloc(msgs, cap * sizeof *msgs);
			}
			msgs[(*count)++] = m;
			if (m.kind == M_READY && wait_ready) {
				clock_gettime(CLOCK_MONOTONIC, &t0);
				wait_ready = 0;
			}
			continue;
		}
		if (r == 0)
			break; /* the child is gone */
		if (r > 0) {
			check_fail_(__FILE__, __LINE__, "a torn report (%zd bytes)", r);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long el = (t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
		if (!killed && (el >= delay_us + (wait_ready ? 5000000 : 0))) {
			kill(pid, SIGKILL);
			killed = 1;
		}
		sleep_us(killed || delay_us - el > 200 ? 200 : delay_us - el);
	}
	close(pfd[0]);
	*out = msgs;
	if (waitpid(pid, &status, 0) != pid) {
		check_fail_(__FILE__, __LINE__, "waitpid: %s", strerror(errno));
		return -1;
	}
	if (cur.io_kill && !killed &&
	    ((WIFEXITED(status) && WEXITSTATUS(status) == 9) ||
	     (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))) {
		*by_io = 1;
		return 0;
	}
	if (killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		return 0;
	check_fail_(__FILE__, __LINE__,
		    "the child ended with status 0x%x (seed %" PRIu64 ", io_kill %d how %d)",
		    status, cur.seed, cur.io_kill, cur.io_how);
	return -1;
}

/*
 * One cycle: run a child on the files, kill it, recover, compare.
 * Returns 0 to go on, -1 to stop (a failure was reported).
 */
static int run_cycle(int n, uint64_t *rng, struct model *md, int *need_setup, struct totals *tot)
{
	memset(&cur, 0, sizeof cur);
	cur.seed = rand_next(rng) | 1;
	cur.setup = *need_setup;
	cur.mode = rand_below(rng, 2) ? QUOTA_SYNC_NONE : QUOTA_SYNC_ALWAYS;
	tot->none_cycles += cur.mode == QUOTA_SYNC_NONE;
	/* A third of the cycles die inside a file call; half of those that
	 * start on an empty directory die while the journal is created. */
	if (*need_setup && rand_below(rng, 2) == 0) {
		/* Past the journal's creation (3 calls: test_kill_while_creating
		 * covers those), into the setup's records. */
		cur.io_kill = 4 + (int)rand_below(rng, 8);
		cur.io_how = (int)rand_below(rng, 3);
		cur.io_signal = (int)rand_below(rng, 2);
	} else if (rand_below(rng, 3) == 0) {
		cur.io_kill = 1 + (int)rand_below(rng, 30);
		cur.io_how = (int)rand_below(rng, 3);
		cur.io_signal = (int)rand_below(rng, 2);
	}
	long delay_us = rand_below(rng, 8) == 0 ? (long)rand_below(rng, 3000)
						: 1000 + (long)rand_below(rng, 40000);
	if (cur.io_kill)
		delay_us = 300000; /* a backstop: the child should be gone */

	/* On an empty directory the parent's kill waits for the journal's
	 * creation (test_kill_while_creating kills inside it). */
	int wait_ready = access(path, F_OK) != 0;
	struct msg *msgs;
	size_t count;
	int by_io;
	if (run_child(delay_us, wait_ready, &msgs, &count, &by_io)) {
		printf("cycle %d\n", n);
		free(msgs);
		return -1;
	}
	if (by_io)
		tot->io_kills++;
	else
		tot->signal_kills++;

	/* The model after every acknowledged call; at most one in flight. */
	struct msg inflight;
	int have_inflight = 0, ready = 0;
	for (size_t i = 0; i < count; i++) {
		const struct msg *m = &msgs[i];
		if (m->kind == M_READY) {
			ready = 1;
		} else if (m->kind == M_SETUP) {
			*need_setup = 0;
		} else if (m->kind == M_INTENT) {
			inflight = *m;
			have_inflight = 1;
		} else if (m->kind == M_DONE) {
			have_inflight = 0;
			if (m->op == OP_COMPACT && m->rc != QUOTA_OK) {
				/* Nothing here makes a compaction fail but a kill. */
				check_fail_(__FILE__, __LINE__, "cycle %d: compaction failed: %d",
					    n, m->rc);
				free(msgs);
				return -1;
			}
			if (m->rc != QUOTA_OK) {
				tot->failed_calls++;
				continue;
			}
			tot->acked++;
			tot->none_acked += cur.mode == QUOTA_SYNC_NONE;
			tot->compactions += m->op == OP_COMPACT;
			struct model before = *md;
			int bad = model_apply(md, m);
			if (!bad && m->op <= OP_ACQUIRE)
				bad = md->c[m->claim].state != m->state;
			if (bad) {
				check_fail_(__FILE__, __LINE__,
					    "cycle %d: %s of c%d (cpu %" PRId64 ", memory %" PRId64
					    ") answered OK, state %d; the model (state %d) says it "
					    "cannot be",
					    n, op_names[m->op], m->claim, m->amt[0], m->amt[1],
					    m->state, before.c[m->claim].state);
				free(msgs);
				return -1;
			}
		}
	}
	free(msgs);
	if (!ready)
		tot->before_ready++;
	if (have_inflight && inflight.op == OP_COMPACT)
		tot->compact_kills++;

	/* The torn journal as the child left it, to put back afterwards. */
	size_t torn_n = 0;
	unsigned char *torn = read_all(path, &torn_n);

	int rc;
	quota_engine *e = open_engine(&rc);
	if (!e) {
		check_fail_(__FILE__, __LINE__,
			    "cycle %d: recovery: %s (seed %" PRIu64 ", io_kill %d how %d)", n,
			    quota_strerror(rc), cur.seed, cur.io_kill, cur.io_how);
		free(torn);
		return -1;
	}
	quota_journal_stats st;
	quota_journal_stats_init(&st, sizeof st);
	quota_journal_stats_get(e, &st);
	if (st.cut_bytes) {
		tot->cut_cycles++;
		tot->cut_bytes += st.cut_bytes;
	}
	int ok = 1;
	if (!*need_setup) {
		char why0[512], why1[512] = "";
		struct model with = *md;
		if (engine_matches(e, md, 0, why0, sizeof why0)) {
			if (have_inflight)
				tot->inflight_absent++;
		} else if (have_inflight && model_apply(&with, &inflight) == 0 &&
			   engine_matches(e, &with, 0, why1, sizeof why1)) {
			*md = with;
			tot->inflight_applied++;
		} else {
			check_fail_(__FILE__, __LINE__,
				    "cycle %d (seed %" PRIu64 ", io_kill %d how %d, mode %d): the "
				    "recovered engine is not the model: %s; in flight: %s %s",
				    n, cur.seed, cur.io_kill, cur.io_how, cur.mode, why0,
				    have_inflight ? op_names[inflight.op] : "none", why1);
			ok = 0;
		}
	} else {
		/* A setup cut short: recovery still works, and nothing is claimed. */
		char why[512];
		struct model empty;
		memset(&empty, 0, sizeof empty);
		if (!engine_matches(e, &empty, 1, why, sizeof why)) {
			check_fail_(__FILE__, __LINE__, "cycle %d: after a cut setup: %s", n, why);
			ok = 0;
		}
	}
	quota_engine_free(e);
	if (torn && st.cut_bytes && rand_below(rng, 2)) {
		/* The next child recovers this journal itself. */
		write_all(path, torn, torn_n);
		tot->put_back++;
	}
	free(torn);
	return ok ? 0 : -1;
}

static void test_crash_cycles(void)
{
	const char *s = getenv("QUOTA_CRASH_CYCLES");
	long cycles = s && *s ? strtol(s, NULL, 10) : 1500;
	s = getenv("QUOTA_CRASH_SEED");
	uint64_t rng = s && *s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL) * 2654435761u;
	if (!rng)
		rng = 1;
	printf("cycles %ld, QUOTA_CRASH_SEED=%" PRIu64 "\n", cycles, rng);
	struct model md;
	struct totals tot;
	memset(&tot, 0, sizeof tot);
	int need_setup = 1;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long n;
	for (n = 0; n < cycles; n++) {
		if (n % 25 == 0) {
			fresh_dir();
			memset(&md, 0, sizeof md);
			need_setup = 1;
			tot.fresh++;
		}
		if (run_cycle((int)n, &rng, &md, &need_setup, &tot))
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%ld cycles in %.1f s: %ld calls acknowledged, %ld refused; in flight at the kill "
	       "and recovered %ld, and not %ld; %ld kills from the file calls, %ld by the parent "
	       "(%ld before recovery ended); %ld recoveries cut %" PRIu64 " bytes of torn tail, "
	       "%ld torn journals put back for the child; %ld fresh directories; %ld "
	       "compactions acknowledged, %ld killed inside one; %ld cycles in QUOTA_SYNC_NONE "
	       "acknowledged %ld calls\n",
	       n, secs, tot.acked, tot.failed_calls, tot.inflight_applied, tot.inflight_absent,
	       tot.io_kills, tot.signal_kills, tot.before_ready, tot.cut_cycles, tot.cut_bytes,
	       tot.put_back, tot.fresh, tot.compactions, tot.compact_kills, tot.none_cycles,
	       tot.none_acked);
	if (n == cycles && cycles >= 200) {
		/* Otherwise the run proved nothing. */
		CHECK(tot.acked > 0);
		CHECK(tot.io_kills > 0);
		CHECK(tot.cut_cycles > 0);
		CHECK(tot.compactions > 0);
		CHECK(tot.none_acked > 0);
	}
}

/*
 * Kills inside the journal's creation: its header write (before it, in
 * the middle, after it), the file's fsync and the directory's fsync, each
 * by _exit and by SIGKILL. Recovery must then work (an empty journal) and
 * hold nothing. Fails when creating the engine again fails: a journal
 * file created but killed before its header is whole is refused as "not
 * a libquota journal" (QUOTA_ERR_INVALID) for ever after.
 */
static void test_kill_while_creating(void)
{
	for (int k = 1; k <= 3; k++) {
		for (int how = 0; how < 3; how++) {
			for (int sig = 0; sig < 2; sig++) {
				fresh_dir();
				memset(&cur, 0, sizeof cur);
				cur.seed = (uint64_t)(k * 6 + how * 2 + sig) * 7919 + 1;
				cur.setup = 1;
				cur.io_kill = k;
				cur.io_how = how;
				cur.io_signal = sig;
				struct msg *msgs;
				size_t count;
				int by_io, rc;
				if (run_child(1000000, 0, &msgs, &count, &by_io) == 0)
					CHECK(by_io);
				free(msgs);
				quota_engine *e = open_engine(&rc);
				if (!e) {
					check_fail_(__FILE__, __LINE__,
						    "killed at file call %d "
						    "(how %d): recovery: %s",
						    k, how, quota_strerror(rc));
					continue;
				}
				char why[512];
				struct model empty;
				memset(&empty, 0, sizeof empty);
				if (!engine_matches(e, &empty, 1, why, sizeof why))
					check_fail_(__FILE__, __LINE__,
						    "killed at file call %d: %s", k, why);
				quota_engine_free(e);
			}
		}
	}
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/quota-crash-%d", tmp ? tmp : "/tmp", (int)getpid());
	snprintf(path, sizeof path, "%s/journal", dir);
	if (argc > 1 && strcmp(argv[1], "create") == 0)
		RUN(test_kill_while_creating);
	else
		RUN(test_crash_cycles);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_exit();
}
