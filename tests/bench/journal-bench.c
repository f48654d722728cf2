/*
 * What durability costs: acquire + release pairs on an engine in memory and
 * on durable engines in each sync mode, with 1 and 2 threads, the journal in
 * each directory given (default: the current directory and /dev/shm). Each
 * case runs 5 times on a fresh journal; the median is printed, with how
 * many records one fsync covered (quota_journal_stats). doc/durability.md
 * has the numbers and the command.
 *
 *   journal-bench [--quick] [--reps N] [--scale F] [--mode M] [DIR...]
 *
 * --mode (memory, always, batch or none; may be repeated) runs only those.
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <quota/quota.h>

#define CPU "compute.example.com/cpu"
#define MAX_REPS 15

static const quota_ref org = {NULL, "Organization", NULL, "acme"};

static int reps = 5;
static double scale = 1.0;

struct worker {
	quota_engine *e;
	int tid;
	long pairs;
	int failed;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	char project[16], name[32];
	snprintf(project, sizeof project, "p%d", w->tid);
	quota_ref consumer = {NULL, "Project", "acme", project};
	quota_request r;
	quota_request_init(&r, sizeof r);
	r.resource_type = CPU;
	r.amount = 1;
	quota_claim c;
	quota_claim_init(&c, sizeof c);
	c.ns = "acme";
	c.name = name;
	c.consumer = consumer;
	c.requests = &r;
	c.request_count = 1;
	for (long i = 0; i < w->pairs; i++) {
		snprintf(name, sizeof name, "t%d-%ld", w->tid, i % 64);
		if (quota_claim_acquire(w->e, &c, NULL) != QUOTA_OK ||
		    quota_claim_release(w->e, "acme", name) != QUOTA_OK) {
			fprintf(stderr, "journal-bench: %s\n", quota_last_error());
			w->failed = 1;
			break;
		}
	}
	return NULL;
}

struct result {
	double secs;
	uint64_t records, fsyncs;
};

/* One run: a fresh engine (mode -1: in memory), threads x pairs. */
static int run(const char *dir, int mode, int threads, long pairs, struct result *res)
{
	char path[512];
	quota_engine_options o;
	quota_engine_options_init(&o, sizeof o);
	o.released_retention_ms = 1000;
	if (mode >= 0) {
		snprintf(path, sizeof path, "%s/journal-bench-%d.journal", dir, (int)getpid());
		unlink(path);
		o.journal_path = path;
		o.sync_mode = mode;
	}
	quota_engine *e = NULL;
	if (quota_engine_new(&e, &o) != QUOTA_OK) {
		fprintf(stderr, "journal-bench: %s\n", quota_last_error());
		return -1;
	}
	quota_registration reg;
	quota_registration_init(&reg, sizeof reg);
	reg.resource_type = CPU;
	reg.consumer_type.kind = "Project";
	reg.default_limit = 1000;
	int rc = quota_registration_create(e, &reg);
	for (int t = 0; t < threads && !rc; t++) {
		char project[16];
		snprintf(project, sizeof project, "p%d", t);
		quota_ref p = {NULL, "Project", "acme", project};
		rc = quota_consumer_set_parent(e, &p, &org);
	}
	quota_journal_stats before, after;
	quota_journal_stats_init(&before, sizeof before);
	quota_journal_stats_init(&after, sizeof after);
	quota_journal_stats_get(e, &before);
	struct worker w[2];
	pthread_t th[2];
	double t0 = now_s();
	for (int t = 0; t < threads && !rc; t++) {
		w[t] = (struct worker){e, t, pairs, 0};
		pthread_create(&th[t], NULL, work, &w[t]);
	}
	for (int t = 0; t < threads && !rc; t++) {
		pthread_join(th[t], NULL);
		rc |= w[t].failed;
	}
	res->secs = now_s() - t0;
	quota_journal_stats_get(e, &after);
	res->records = after.records - before.records;
	res->fsyncs = after.fsyncs - before.fsyncs;
	quota_engine_free(e);
	if (mode >= 0) {
		unlink(path);
		char lock[530];
		snprintf(lock, sizeof lock, "%s.lock", path);
		unlink(lock);
	}
	return rc ? -1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static const char *mode_name(int mode)
{
	return mode < 0                    ? "memory"
	       : mode == QUOTA_SYNC_ALWAYS ? "always"
	       : mode == QUOTA_SYNC_BATCH  ? "batch"
					   : "none";
}

/* Pairs per thread and run: about a second's worth of each on one core. */
static long pairs_for(int mode, int quick)
{
	long n = mode < 0 ? 400000 : mode == QUOTA_SYNC_ALWAYS ? 400 : 100000;
	n = (long)((double)n * scale);
	if (quick)
		n = n / 100 + 1;
	return n < 1 ? 1 : n;
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--quick] [--reps N] [--scale F] [--mode M] [DIR...]\n", argv0);
	return 2;
}

int main(int argc, char **argv)
{
	int quick = 0, ndirs = 0, only = 0; /* bit mode + 1 of the modes to run, 0: all */
	const char *dirs[16];
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			quick = 1;
		} else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
			reps = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) {
			scale = atof(argv[++i]);
		} else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
			int m = -1;
			while (m <= QUOTA_SYNC_NONE && strcmp(mode_name(m), argv[i + 1]) != 0)
				m++;
			if (m > QUOTA_SYNC_NONE)
				return usage(argv[0]);
			only |= 1 << (m + 1);
			i++;
		} else if (argv[i][0] == '-') {
			return usage(argv[0]);
		} else if (ndirs < 16) {
			dirs[ndirs++] = argv[i];
		}
	}
	if (reps < 1 || reps > MAX_REPS)
		reps = 5;
	if (quick)
		reps = 1;
	if (!ndirs) {
		dirs[ndirs++] = ".";
		if (access("/dev/shm", W_OK) == 0)
			dirs[ndirs++] = "/dev/shm";
	}
	printf("%-10s %-7s %7s %10s %12s %12s %9s\n", "dir", "mode", "threads", "pairs/s",
	       "us/pair", "records", "rec/fsync");
	for (int d = 0; d < ndirs; d++) {
		for (int mode = -1; mode <= QUOTA_SYNC_NONE; mode++) {
			if (mode < 0 && d > 0)
				continue; /* memory does not depend on the directory */
			if (only && !(only & 1 << (mode + 1)))
				continue;
			for (int threads = 1; threads <= 2; threads++) {
				long pairs = pairs_for(mode, quick);
				double secs[MAX_REPS];
				struct result res[MAX_REPS];
				for (int r = 0; r < reps; r++) {
					if (run(dirs[d], mode, threads, pairs, &res[r]))
						return 1;
					secs[r] = res[r].secs;
				}
				/* The run whose time is the median, for its counts too. */
				double sorted[MAX_REPS];
				memcpy(sorted, secs, sizeof sorted);
				qsort(sorted, (size_t)reps, sizeof sorted[0], cmp_double);
				double med = sorted[reps / 2];
				int at = 0;
				while (secs[at] != med)
					at++;
				double total = (double)pairs * threads;
				printf("%-10s %-7s %7d %10.0f %12.2f %12llu %9.2f\n",
				       mode < 0 ? "-" : dirs[d], mode_name(mode), threads,
				       total / med, med / (double)pairs * 1e6,
				       (unsigned long long)res[at].records,
				       res[at].fsyncs
					       ? (double)res[at].records / (double)res[at].fsyncs
					       : 0.0);
				fflush(stdout);
			}
		}
	}
	return 0;
}
