/*
 * A durable engine under threads: four threads reserve, commit, release
 * and consume at once, in each sync mode; the engine created again from
 * its files holds exactly what the first one held, and the journal holds
 * one record per acknowledged change (run under TSan in the concurrency
 * suite). A fifth thread compacts in a loop all the while: the engine
 * created again from the last snapshot and the journal after it holds the
 * same state.
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define CPU "compute.example.com/cpu"
#define THREADS 4
#define OPS 300

static char dir[256], path[300];
static const quota_ref org = {NULL, "Organization", NULL, "acme"};

struct worker {
	quota_engine *e;
	int id;
	_Atomic uint64_t *acked;
	atomic_int *compacted; /* the compactor has compacted once */
};

static void *work(void *arg)
{
	struct worker *w = arg;
	quota_ref p = {NULL, "Project", "acme", NULL};
	char pname[16];
	snprintf(pname, sizeof pname, "p%d", w->id);
	p.name = pname;
	/* Past OPS until a compaction ran among the changes (a fast journal
	 * may finish them first), and no longer than 100 times OPS. */
	for (int i = 0; i < OPS || (!atomic_load(w->compacted) && i < 100 * OPS); i++) {
		char name[32];
		snprintf(name, sizeof name, "t%d-c%d", w->id, i % 7);
		struct test_claim t;
		test_claim_init(&t, "acme", name, &p);
		test_claim_add(&t, CPU, 1 + i % 3);
		int rc;
		switch (i % 4) {
		case 0:
			rc = quota_claim_reserve(w->e, &t.c, NULL);
			break;
		case 1:
			rc = quota_claim_commit(w->e, "acme", name, NULL, 0);
			break;
		case 2:
			rc = quota_consume(w->e, &p, CPU, 1, NULL);
			break;
		default:
			rc = quota_claim_release(w->e, "acme", name);
			break;
		}
		if (rc == QUOTA_OK)
			atomic_fetch_add(w->acked, 1);
	}
	return NULL;
}

struct compactor {
	quota_engine *e;
	atomic_int stop, compacted;
	int done, failed;
};

static void *compact_loop(void *arg)
{
	struct compactor *c = arg;
	while (!atomic_load(&c->stop)) {
		if (quota_engine_compact(c->e) != QUOTA_OK)
			c->failed++;
		else if (++c->done == 1)
			atomic_store(&c->compacted, 1);
		usleep(200);
	}
	return NULL;
}

static char *state(quota_engine *e)
{
	char *text = NULL;
	size_t len;
	CHECK_RC(quota_json_dump_text(e, QUOTA_JSON_ALL, &text, &len), QUOTA_OK);
	char *copy = strdup(text ? text : "");
	quota_free(text);
	return copy;
}

static quota_engine *open_engine(int mode)
{
	quota_engine_options o;
	quota_engine *e = NULL;
	quota_engine_options_init(&o, sizeof o);
	o.journal_path = path;
	o.sync_mode = mode;
	o.sync_interval_ms = 1;
	o.stripes = 16; /* TSan follows at most 64 locks held at once */
	CHECK_RC(quota_engine_new(&e, &o), QUOTA_OK);
	return e;
}

static void test_threads(void)
{
	for (int mode = QUOTA_SYNC_ALWAYS; mode <= QUOTA_SYNC_NONE; mode++) {
		char cmd[700];
		snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
		CHECK(system(cmd) == 0);
		quota_engine *e = open_engine(mode);
		if (!e)
			return;
		CHECK_RC(test_register(e, CPU, NULL, "Project", 6), QUOTA_OK);
		for (int i = 0; i < THREADS; i++) {
			char n[16];
			snprintf(n, sizeof n, "p%d", i);
			quota_ref p = {NULL, "Project", "acme", n};
			CHECK_RC(quota_consumer_set_parent(e, &p, &org), QUOTA_OK);
		}
		CHECK_RC(test_grant(e, "acme", "g", &org, CPU, 15, NULL), QUOTA_OK);
		quota_journal_stats before;
		quota_journal_stats_init(&before, sizeof before);
		quota_journal_stats_get(e, &before);
		_Atomic uint64_t acked = 0;
		pthread_t th[THREADS];
		struct worker w[THREADS];
		struct compactor comp = {.e = e};
		for (int i = 0; i < THREADS; i++) {
			w[i] = (struct worker){e, i, &acked, &comp.compacted};
			pthread_create(&th[i], NULL, work, &w[i]);
		}
		pthread_t ct;
		pthread_create(&ct, NULL, compact_loop, &comp);
		for (int i = 0; i < THREADS; i++)
			pthread_join(th[i], NULL);
		atomic_store(&comp.stop, 1);
		pthread_join(ct, NULL);
		CHECK(comp.done > 0);
		printf("mode %d: %d compactions while the workers ran\n", mode, comp.done);
		CHECK_EQ_INT(comp.failed, 0);
		CHECK_RC(quota_engine_sync(e), QUOTA_OK);
		quota_journal_stats st;
		quota_journal_stats_init(&st, sizeof st);
		CHECK_RC(quota_journal_stats_get(e, &st), QUOTA_OK);
		/* Every acknowledged change has its record; a failed one may
		 * keep one only when the queue moved (no queue here). */
		CHECK_EQ_INT(st.last_seq - before.last_seq, atomic_load(&acked));
		CHECK_EQ_INT(st.synced_seq, st.last_seq);
		CHECK_EQ_INT(st.failed, 0);
		CHECK_EQ_INT(st.compactions, comp.done);
		char *a = state(e);
		quota_engine_free(e);
		e = open_engine(mode);
		if (!e) {
			free(a);
			return;
		}
		char *b = state(e);
		if (strcmp(a, b) != 0)
			check_fail_(__FILE__, __LINE__, "mode %d: state differs after recovery:\n%s\n%s",
				    mode, a, b);
		free(a);
		free(b);
		quota_engine_free(e);
	}
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/quota-jthreads-%d", tmp ? tmp : "/tmp", (int)getpid());
	snprintf(path, sizeof path, "%s/journal", dir);
	RUN(test_threads);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_exit();
}
