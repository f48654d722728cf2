/*
 * The I/O fault sweep (doc/durability.md): a scenario of public calls on a
 * durable engine (QUOTA_SYNC_ALWAYS), run again and again on the simulated
 * disk of powerfs.h with its Nth file call failing, for N = 1, 2, ... until
 * the scenario runs through without reaching the fault, in three modes:
 * the call fails once; it and every call after it fail; the power goes at
 * it (every call after fails and nothing more becomes durable).
 *
 * Each call must succeed or fail cleanly (QUOTA_ERR_IO). Then the engine,
 * and engines recovered from the files as the system has them and from
 * what a power loss would leave (the directory and data as of their last
 * fsync; half of the unsynced data; every name change), must hold exactly
 * the acknowledged calls: the state of an engine in memory given only
 * those, on the same clock. The one call whose fsync failed (the engine
 * then refuses changes) may be there or not.
 *
 * Fails when: a call answers anything but success or QUOTA_ERR_IO; an
 * acknowledged change is missing or an unacknowledged one is present; a
 * write that failed cleanly changed the state; a failed engine takes a
 * change; recovery fails on files a fault or a power loss left; or the
 * engine crashes (the ASan stage runs this).
 * SPDX-License-Identifier: MIT
 */
#include "check.h"
#include "powerfs.h"

#define CPU "compute.example.com/cpu"
#define MEM "compute.example.com/memory"

static char dir[200];
static char path[300];

static const quota_ref org = {NULL, "Organization", NULL, "acme"};
static const quota_ref projects[2] = {
	{NULL, "Project", "acme", "p0"},
	{NULL, "Project", "acme", "p1"},
};

static struct test_clock clk;

static quota_engine *open_engine(int durable, int *rc)
{
	quota_engine_options o;
	quota_engine *e = NULL;
	quota_engine_options_init(&o, sizeof o);
	o.clock = test_clock_read;
	o.clock_payload = &clk;
	o.hash_key[0] = 7;
	o.hash_key[1] = 11;
	if (durable) {
		o.journal_path = path;
		o.sync_mode = QUOTA_SYNC_ALWAYS;
	}
	*rc = quota_engine_new(&e, &o);
	return e;
}

/* ---- the scenario ---- */

static int claim(quota_engine *e, const char *name, int p, int64_t cpu, int64_t mem, int reserve)
{
	struct test_claim t;
	test_claim_init(&t, "acme", name, &projects[p]);
	if (cpu)
		test_claim_add(&t, CPU, cpu);
	if (mem)
		test_claim_add(&t, MEM, mem);
	return reserve ? quota_claim_reserve(e, &t.c, NULL) : quota_claim_acquire(e, &t.c, NULL);
}

static int s_register_cpu(quota_engine *e)
{
	return test_register(e, CPU, NULL, "Project", 10);
}

static int s_register_mem(quota_engine *e)
{
	return test_register(e, MEM, NULL, "Project", 10);
}

static int s_parent_p0(quota_engine *e)
{
	return quota_consumer_set_parent(e, &projects[0], &org);
}

static int s_parent_p1(quota_engine *e)
{
	return quota_consumer_set_parent(e, &projects[1], &org);
}

static int s_grant_org(quota_engine *e)
{
	return test_grant(e, "acme", "org-cpu", &org, CPU, 16, NULL);
}

static int s_grant_extra(quota_engine *e)
{
	return test_grant(e, "acme", "p1-mem", &projects[1], MEM, 5, NULL);
}

static int s_reserve_r(quota_engine *e)
{
	return claim(e, "r", 0, 4, 2, 1);
}

static int s_acquire_a(quota_engine *e)
{
	return claim(e, "a", 0, 2, 1, 0);
}

static int s_acquire_b(quota_engine *e)
{
	return claim(e, "b", 1, 3, 4, 0);
}

static int s_commit_r(quota_engine *e)
{
	quota_request q;
	quota_request_init(&q, sizeof q);
	q.resource_type = CPU;
	q.amount = 1; /* settle below the 4 reserved */
	return quota_claim_commit(e, "acme", "r", &q, 1);
}

static int s_release_b(quota_engine *e)
{
	return quota_claim_release(e, "acme", "b");
}

static int s_grant_org_more(quota_engine *e)
{
	return test_grant(e, "acme", "org-cpu", &org, CPU, 24, NULL);
}

static int s_acquire_c(quota_engine *e)
{
	return claim(e, "c", 1, 5, 0, 0);
}

static int s_grant_delete(quota_engine *e)
{
	return quota_grant_delete(e, "acme", "p1-mem");
}

static int s_release_a(quota_engine *e)
{
	return quota_claim_release(e, "acme", "a");
}

static int s_consume(quota_engine *e)
{
	return quota_consume(e, &projects[1], MEM, 2, NULL);
}

static int s_give_back(quota_engine *e)
{
	return quota_give_back(e, &projects[1], MEM, 1);
}

static int s_reserve_d(quota_engine *e)
{
	return claim(e, "d", 0, 1, 1, 1);
}

static int s_release_r(quota_engine *e)
{
	return quota_claim_release(e, "acme", "r");
}

#define SYNC ((int (*)(quota_engine *))1)
#define RECREATE ((int (*)(quota_engine *))2)

static const struct step {
	const char *what;
	int (*run)(quota_engine *e); /* or SYNC, RECREATE */
} steps[] = {
	{"register cpu", s_register_cpu},
	{"register memory", s_register_mem},
	{"parent of p0", s_parent_p0},
	{"parent of p1", s_parent_p1},
	{"grant org-cpu", s_grant_org},
	{"grant p1-mem", s_grant_extra},
	{"reserve r", s_reserve_r},
	{"acquire a", s_acquire_a},
	{"acquire b", s_acquire_b},
	{"commit r", s_commit_r},
	{"release b", s_release_b},
	{"sync", SYNC},
	{"grant org-cpu again", s_grant_org_more},
	{"recreate", RECREATE},
	{"acquire c", s_acquire_c},
	{"delete grant p1-mem", s_grant_delete},
	{"release a", s_release_a},
	{"consume", s_consume},
	{"give back", s_give_back},
	{"recreate", RECREATE},
	{"reserve d", s_reserve_d},
	{"release r", s_release_r},
};

#define STEPS ((int)(sizeof steps / sizeof steps[0]))

static void step_clock(int k)
{
	atomic_store(&clk.ns, TEST_EPOCH_NS + (int64_t)(k + 1) * 5 * MS_NS);
}

/*
 * ---- the model: the acknowledged steps, the last maybe not there ----
 *
 * A step is acknowledged when it answered anything but QUOTA_ERR_IO: a
 * success, or a refusal that a step before it, failed by a fault, explains
 * (the model must answer the same, and a refusal changes nothing).
 */

struct model {
	int seq[STEPS];
	int rc[STEPS]; /* what the durable engine answered */
	int n;
	int maybe; /* 1: seq[n - 1] may be missing (its fsync failed) */
};

/* Every bucket and claim as sorted lines, and the JSON dump where it
 * works (also without cJSON, as the dump does not read text). */
static char *state(quota_engine *e)
{
	char *buf = malloc(1 << 16);
	size_t n = 0;
	buf[0] = '\0';
	test_snapshot_buckets_claims(e, buf, 1 << 16, &n);
	char *text = NULL;
	if (quota_json_dump_text(e, QUOTA_JSON_ALL, &text, NULL) == QUOTA_OK && text) {
		size_t tl = strlen(text);
		buf = realloc(buf, n + tl + 2);
		memcpy(buf + n, text, tl);
		memcpy(buf + n + tl, "\n", 2);
	}
	quota_free(text);
	return buf;
}

/* The state of an engine in memory given the first n steps of m. */
static char *model_state(const struct model *m, int n)
{
	int rc;
	quota_engine *e = open_engine(0, &rc);
	CHECK_RC(rc, QUOTA_OK);
	if (!e)
		return strdup("(no engine)");
	for (int i = 0; i < n; i++) {
		step_clock(m->seq[i]);
		int got = steps[m->seq[i]].run(e);
		if (got != m->rc[i])
			check_fail_(__FILE__, __LINE__, "the model's %s: %s, the engine's: %s",
				    steps[m->seq[i]].what, quota_strerror(got),
				    quota_strerror(m->rc[i]));
	}
	char *s = state(e);
	quota_engine_free(e);
	return s;
}

static const char *mode_names[] = {"fail once", "fail forever", "power loss"};

/* Whether e holds the model (1), the model without its doubtful last step
 * (2), or neither (0: a check failed). */
static int check_model(quota_engine *e, const struct model *m, int mode, long at, const char *when)
{
	char *got = state(e), *full = model_state(m, m->n);
	int which = strcmp(got, full) == 0 ? 1 : 0;
	char *less = NULL;
	if (!which && m->maybe) {
		less = model_state(m, m->n - 1);
		which = strcmp(got, less) == 0 ? 2 : 0;
	}
	if (!which)
		check_fail_(__FILE__, __LINE__,
			    "%s at call %ld, %s: the state is not the acknowledged calls'%s:\n"
			    "--- expected\n%s--- got\n%s",
			    mode_names[mode], at, when,
			    m->maybe ? " (with the doubtful one or not)" : "", full, got);
	free(got);
	free(full);
	free(less);
	return which;
}

static quota_journal_stats stats(quota_engine *e)
{
	quota_journal_stats st;
	quota_journal_stats_init(&st, sizeof st);
	quota_journal_stats_get(e, &st);
	return st;
}

static int clean_failure(int rc)
{
	return rc == QUOTA_ERR_IO;
}


/* ---- one run ---- */

static void fresh_dir(void)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	CHECK(mkdir(dir, 0700) == 0);
}

/* Recover from the files as they are and compare with m. A journal
 * whose creation failed at the directory's fsync has its name synced by
 * the next engine that opens it, so nothing acknowledged after is lost. */
static void check_recovery(const struct model *m, int mode, long at, const char *when)
{
	int rc;
	quota_engine *e = open_engine(1, &rc);
	if (rc != QUOTA_OK)
		check_fail_(__FILE__, __LINE__, "%s at call %ld, %s: recovery: %s",
			    mode_names[mode], at, when, quota_strerror(rc));
	if (e)
		check_model(e, m, mode, at, when);
	quota_engine_free(e);
}

/* Run the scenario with the at-th file call failing as mode says; 0 when
 * it ran through without reaching it. */
static int run(int mode, long at)
{
	struct model m = {.n = 0};
	int rc;
	fresh_dir();
	pfs_start(dir);
	if (mode == 2)
		pfs_power_at(PFS_ALL, at);
	else
		pfs_fail(PFS_ALL, at, EIO, mode);
	step_clock(-1);
	quota_engine *e = open_engine(1, &rc);
	if (rc != QUOTA_OK && mode == 0 && clean_failure(rc))
		e = open_engine(1, &rc); /* the fault is spent */
	if (rc != QUOTA_OK && !clean_failure(rc))
		check_fail_(__FILE__, __LINE__, "%s at call %ld: creation: %s", mode_names[mode],
			    at, quota_strerror(rc));
	for (int k = 0; k < STEPS && e; k++) {
		const struct step *s = &steps[k];
		step_clock(k);
		if (s->run == SYNC) {
			rc = quota_engine_sync(e);
		} else if (s->run == RECREATE) {
			quota_engine_free(e);
			e = open_engine(1, &rc);
			if (rc != QUOTA_OK && mode == 0 && clean_failure(rc))
				e = open_engine(1, &rc);
			if (e && check_model(e, &m, mode, at, "recreated") == 2) {
				m.n--; /* the doubtful step did not make it */
				m.maybe = 0;
			}
			/* What recovery found is not fsynced again: the doubtful
			 * step stays doubtful until a later one is synced. */
		} else {
			int failed = stats(e).failed;
			rc = s->run(e);
			if (rc != QUOTA_ERR_IO) {
				CHECK(!failed); /* a failed engine answers nothing else */
				m.rc[m.n] = rc;
				m.seq[m.n++] = k;
				m.maybe = 0;
			} else if (!failed && stats(e).failed) {
				m.rc[m.n] = QUOTA_OK;
				m.seq[m.n++] = k; /* its fsync failed: there or not */
				m.maybe = 1;
			}
			continue;
		}
		if (rc != QUOTA_OK && !clean_failure(rc))
			check_fail_(__FILE__, __LINE__, "%s at call %ld: %s: %s", mode_names[mode],
				    at, s->what, quota_strerror(rc));
	}
	if (e)
		check_model(e, &m, mode, at, "the engine");
	quota_engine_free(e);
	int hit = pfs.faults > 0;
	pfs_fail(0, 0, 0, 0);
	pfs.power_off = 0;

	/* What a power loss now would leave, before a recovery changes it. */
	static const struct {
		enum pfs_names names;
		enum pfs_data data;
		const char *what;
	} losses[] = {
		{PFS_NAMES_SYNCED, PFS_DATA_SYNCED, "power lost, only synced names and data"},
		{PFS_NAMES_SYNCED, PFS_DATA_HALF, "power lost, half the unsynced data"},
		{PFS_NAMES_WRITTEN, PFS_DATA_SYNCED, "power lost, every name change kept"},
	};
	struct pfs_image img[sizeof losses / sizeof losses[0]];
	for (size_t i = 0; i < sizeof losses / sizeof losses[0]; i++)
		pfs_image(&img[i], losses[i].names, losses[i].data);
	check_recovery(&m, mode, at, "the files as the system has them");
	for (size_t i = 0; i < sizeof losses / sizeof losses[0]; i++) {
		CHECK(pfs_image_write(&img[i]) == 0);
		pfs_image_free(&img[i]);
		check_recovery(&m, mode, at, losses[i].what);
	}
	pfs_stop();
	return hit;
}

static void test_fault_sweep(void)
{
	long total = 0;
	for (int mode = 0; mode < 3; mode++) {
		long at = 1;
		while (run(mode, at))
			at++;
		printf("%s: a fault at each of the scenario's %ld file calls\n", mode_names[mode],
		       at - 1);
		CHECK(at > 50); /* the scenario reaches its file calls */
		total += at - 1;
	}
	printf("%ld faults injected in all, each checked against 4 recoveries\n", total);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/quota-iofault-%d", tmp ? tmp : "/tmp", (int)getpid());
	snprintf(path, sizeof path, "%s/journal", dir);
	RUN(test_fault_sweep);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_exit();
}
