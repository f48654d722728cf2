/*
 * The benchmark harness: command line, threads, timing, statistics, and the
 * output (one JSON line per result on stdout, then a table).
 *
 * Timing: every case runs once untimed (a tenth of its operations, to warm
 * caches and tables), then --reps times. Each repetition starts its worker
 * threads on a barrier; each worker reads CLOCK_MONOTONIC before its first
 * and after its last operation, and the repetition's wall time is the
 * latest end minus the earliest start. ns per op is that wall time divided
 * by the operations of one thread: the cost of one operation as a thread
 * sees it, equal at 1 and 2 threads when scaling is perfect. ops/s is the
 * total over all threads. The median, min and max are over repetitions.
 *
 * Callgrind mode (--callgrind, run under valgrind --tool=callgrind
 * --instr-atstart=no): each single-thread case runs its warm-up, then its
 * operations once between CALLGRIND_ZERO_STATS and CALLGRIND_DUMP_STATS_AT,
 * so each dump holds exactly the measured loop; callgrind.sh divides.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#ifdef BENCH_HAVE_CALLGRIND
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(label) ((void)(label))
#define RUNNING_ON_VALGRIND 0
#endif

bench_opts bench_o = {
	.reps = 7,
	.pin = 1,
	.scale = 1.0,
	.consumers = 100000,
	.objects = 1000000,
	.max_threads = 2,
};

static const char *only_list;  /* --only */
static const char *redis_path; /* --redis */
static FILE *json_copy;        /* --json */
static atomic_int failures;

/* ---- results ------------------------------------------------------------ */

enum result_kind {
	R_TIME,
	R_PENDING,
	R_MEMORY,
	R_CALLGRIND,
	R_REDIS
};

typedef struct result {
	enum result_kind kind;
	char scenario[64];
	char variant[64];
	char unit[64];
	char reason[64];
	int threads;
	uint32_t stripes;
	uint64_t ops;
	int reps;
	double ns_med, ns_min, ns_max, ops_s;
	/* memory */
	uint64_t objects;
	double rss_per, heap_per, name_per, create_ns;
} result;

#define MAX_RESULTS 256
static result results[MAX_RESULTS];
static int nresults;

static result *new_result(enum result_kind kind, const char *scenario, const char *variant)
{
	if (nresults == MAX_RESULTS) {
		bench_fail("too many results (raise MAX_RESULTS)");
		exit(1);
	}
	result *r = &results[nresults++];
	memset(r, 0, sizeof *r);
	r->kind = kind;
	snprintf(r->scenario, sizeof r->scenario, "%s", scenario);
	snprintf(r->variant, sizeof r->variant, "%s", variant);
	return r;
}

static const result *find_result(enum result_kind kind, const char *scenario, const char *variant,
				 int threads)
{
	for (int i = 0; i < nresults; i++)
		if (results[i].kind == kind && strcmp(results[i].scenario, scenario) == 0 &&
		    strcmp(results[i].variant, variant) == 0 &&
		    (threads == 0 || results[i].threads == threads))
			return &results[i];
	return NULL;
}

/* The physical reference: raw compare-and-swap at the same thread count. */
static const result *raw_ref(int threads)
{
	return find_result(R_TIME, "raw", "cas", threads);
}

static const result *redis_ref(void)
{
	return find_result(R_REDIS, "redis", "pipeline32", 0);
}

/* ---- messages ------------------------------------------------------------ */

int bench_fail(const char *fmt, ...)
{
	va_list ap;
	flockfile(stderr);
	fputs("bench: FAILED: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	atomic_fetch_add(&failures, 1);
	return -1;
}

int bench_fail_rc(const char *what, int rc)
{
	return bench_fail("%s: %s (%d): %s", what, quota_strerror(rc), rc, quota_last_error());
}

void bench_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Print a JSON line to stdout (and to the --json file). */
__attribute__((format(printf, 1, 2))) static void json_line(const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	printf("%s\n", line);
	fflush(stdout);
	if (json_copy) {
		fprintf(json_copy, "%s\n", line);
		fflush(json_copy);
	}
}

/* ---- helpers -------------------------------------------------------------- */

uint64_t bench_rand(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

void *bench_xcalloc(size_t n, size_t each)
{
	void *p = calloc(n ? n : 1, each ? each : 1);
	if (!p) {
		bench_fail("out of memory (%zu x %zu bytes)", n, each);
		exit(1);
	}
	return p;
}

char *bench_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = bench_xcalloc(1, n);
	memcpy(d, s, n);
	return d;
}

uint32_t *bench_sequence(uint32_t n, double zipf_s, uint64_t seed, size_t length)
{
	uint32_t *seq = bench_xcalloc(length, sizeof *seq);
	uint64_t rng = seed;
	if (zipf_s <= 0) {
		for (size_t i = 0; i < length; i++)
			seq[i] = (uint32_t)(((bench_rand(&rng) >> 32) * n) >> 32);
		return seq;
	}
	/* Zipf: rank k (1-based) has weight 1/k^s. Ranks map to keys through
	 * a random permutation, so that hot keys are not neighbours. */
	double *cdf = bench_xcalloc(n, sizeof *cdf);
	uint32_t *perm = bench_xcalloc(n, sizeof *perm);
	double sum = 0;
	for (uint32_t k = 0; k < n; k++) {
		sum += 1.0 / pow((double)k + 1, zipf_s);
		cdf[k] = sum;
		perm[k] = k;
	}
	for (uint32_t k = n; k > 1; k--) {
		uint32_t j = (uint32_t)(bench_rand(&rng) % k);
		uint32_t t = perm[k - 1];
		perm[k - 1] = perm[j];
		perm[j] = t;
	}
	for (size_t i = 0; i < length; i++) {
		double u = (double)(bench_rand(&rng) >> 11) * 0x1p-53 * sum;
		uint32_t lo = 0, hi = n - 1;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		seq[i] = perm[lo];
	}
	free(cdf);
	free(perm);
	return seq;
}

quota_engine *bench_engine(uint32_t stripes)
{
	return bench_engine_for(stripes, BENCH_KIND);
}

quota_engine *bench_engine_for(uint32_t stripes, const char *kind)
{
	quota_engine_options o;
	quota_engine_options_init(&o, sizeof o);
	o.stripes = stripes;
	return bench_engine_with(&o, kind);
}

quota_engine *bench_engine_with(const quota_engine_options *o, const char *kind)
{
	static const char *const types[] = {BENCH_TYPE_CPU, BENCH_TYPE_MEM, BENCH_TYPE_DISK};
	quota_engine *e;
	int rc;
	if ((rc = quota_engine_new(&e, o))) {
		bench_fail_rc("quota_engine_new", rc);
		exit(1);
	}
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		quota_registration r;
		quota_registration_init(&r, sizeof r);
		r.resource_type = types[i];
		r.consumer_type.kind = kind;
		r.default_limit = BENCH_DEFAULT_LIMIT;
		if ((rc = quota_registration_create(e, &r))) {
			bench_fail_rc("quota_registration_create", rc);
			exit(1);
		}
	}
	return e;
}

int bench_bucket_idle(quota_engine *e, const quota_ref *consumer, const char *type)
{
	quota_bucket_info *b;
	int rc = quota_bucket_get(e, consumer, type, &b);
	if (rc)
		return bench_fail_rc("quota_bucket_get", rc);
	int idle = b->allocated == 0 && b->reserved == 0 && b->limit == BENCH_DEFAULT_LIMIT;
	if (!idle)
		bench_fail(
			"bucket %s/%s:%s not back to idle: limit %lld allocated %lld reserved %lld",
			consumer->kind, consumer->name, type, (long long)b->limit,
			(long long)b->allocated, (long long)b->reserved);
	quota_free(b);
	return idle ? 0 : -1;
}

/* ---- threads and timing ----------------------------------------------------- */

static int cpus[CPU_SETSIZE];
static int ncpus;

static void cpus_init(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) != 0)
		return;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			cpus[ncpus++] = i;
}

static void pin_to(int tid)
{
	if (!bench_o.pin || ncpus < 2)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpus[tid % ncpus], &set);
	pthread_setaffinity_np(pthread_self(), sizeof set, &set); /* best effort */
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct worker {
	pthread_t thread;
	const bench_case *c;
	pthread_barrier_t *start;
	int tid;
	uint64_t ops;
	int64_t t0, t1;
	int rc;
} worker;

static void *worker_main(void *p)
{
	worker *w = p;
	pin_to(w->tid);
	pthread_barrier_wait(w->start);
	w->t0 = now_ns();
	w->rc = w->c->run(w->c->arg, w->tid, w->ops);
	w->t1 = now_ns();
	return NULL;
}

/* Run ops per thread on c->threads threads; the wall time in ns, or -1. */
static int64_t run_once(const bench_case *c, uint64_t ops)
{
	worker w[8];
	pthread_barrier_t start;
	int n = c->threads;
	if (n < 1 || n > 8)
		return bench_fail("%s/%s: %d threads", c->scenario, c->variant, n);
	pthread_barrier_init(&start, NULL, (unsigned)n);
	int made = 0;
	for (; made < n; made++) {
		w[made] = (worker){.c = c, .start = &start, .tid = made, .ops = ops};
		int err = pthread_create(&w[made].thread, NULL, worker_main, &w[made]);
		if (err) {
			bench_fail("pthread_create: %s", strerror(err));
			break;
		}
	}
	if (made < n) {
		/* The barrier would never open: nothing sensible to do. */
		exit(1);
	}
	int64_t first = INT64_MAX, last = 0;
	int rc = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		if (w[i].rc)
			rc = -1;
		if (w[i].t0 < first)
			first = w[i].t0;
		if (w[i].t1 > last)
			last = w[i].t1;
	}
	pthread_barrier_destroy(&start);
	if (rc)
		return -1;
	return last > first ? last - first : 1;
}

static uint64_t scaled_ops(uint64_t full)
{
	if (bench_o.quick)
		return full < 2000 ? full : 2000;
	double v = (double)full * bench_o.scale;
	uint64_t ops = v < 1 ? 1 : (uint64_t)v;
	if (bench_o.callgrind && ops > 20000)
		ops = 20000;
	return ops;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int bench_wanted(const char *scenario)
{
	if (!only_list)
		return 1;
	size_t n = strlen(scenario);
	for (const char *p = only_list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && strncmp(p, scenario, n) == 0)
			return 1;
		p += len + (end ? 1 : 0);
	}
	return 0;
}

static int measure_callgrind(const bench_case *c)
{
	char label[128];
	uint64_t ops = scaled_ops(c->ops);
	if (c->threads != 1)
		return 0;
	snprintf(label, sizeof label, "bench:%s/%s", c->scenario, c->variant);
	pin_to(0);
	if (c->run(c->arg, 0, ops / 10 ? ops / 10 : 1))
		return -1;
	CALLGRIND_START_INSTRUMENTATION;
	CALLGRIND_ZERO_STATS;
	int rc = c->run(c->arg, 0, ops);
	CALLGRIND_DUMP_STATS_AT(label);
	CALLGRIND_STOP_INSTRUMENTATION;
	if (rc)
		return -1;
	result *r = new_result(R_CALLGRIND, c->scenario, c->variant);
	snprintf(r->unit, sizeof r->unit, "%s", c->unit);
	r->threads = 1;
	r->stripes = c->stripes;
	r->ops = ops;
	json_line("{\"mode\":\"callgrind\",\"scenario\":\"%s\",\"variant\":\"%s\",\"unit\":\"%s\","
		  "\"threads\":1,\"stripes\":%u,\"ops\":%llu,\"label\":\"%s\"}",
		  c->scenario, c->variant, c->unit, c->stripes, (unsigned long long)ops, label);
	return 0;
}

int bench_measure(const bench_case *c)
{
	if (c->threads > bench_o.max_threads)
		return 0;
	if (bench_o.callgrind)
		return measure_callgrind(c);
	uint64_t ops = scaled_ops(c->ops);
	int reps = bench_o.reps;
	double ns[64];
	if (reps > 64)
		reps = 64;
	if (run_once(c, ops / 10 ? ops / 10 : 1) < 0)
		return -1;
	for (int i = 0; i < reps; i++) {
		int64_t wall = run_once(c, ops);
		if (wall < 0)
			return -1;
		ns[i] = (double)wall / (double)ops;
	}
	/* Every repetition, in order, so that runs can be pooled (report.py). */
	char samples[64 * 16] = "";
	size_t at = 0;
	for (int i = 0; i < reps && at < sizeof samples; i++)
		at += (size_t)snprintf(samples + at, sizeof samples - at, "%s%.3f", i ? "," : "",
				       ns[i]);
	qsort(ns, (size_t)reps, sizeof ns[0], cmp_double);
	result *r = new_result(R_TIME, c->scenario, c->variant);
	snprintf(r->unit, sizeof r->unit, "%s", c->unit);
	r->threads = c->threads;
	r->stripes = c->stripes;
	r->ops = ops;
	r->reps = reps;
	r->ns_med = reps % 2 ? ns[reps / 2] : (ns[reps / 2 - 1] + ns[reps / 2]) / 2;
	r->ns_min = ns[0];
	r->ns_max = ns[reps - 1];
	r->ops_s = 1e9 * c->threads / r->ns_med;

	char extra[128] = "";
	const result *raw = raw_ref(c->threads), *redis = redis_ref();
	size_t used = 0;
	if (raw)
		used += (size_t)snprintf(extra + used, sizeof extra - used, ",\"x_raw\":%.3f",
					 r->ns_med / raw->ns_med);
	if (redis)
		snprintf(extra + used, sizeof extra - used, ",\"x_redis\":%.2f",
			 r->ops_s / redis->ops_s);
	json_line("{\"scenario\":\"%s\",\"variant\":\"%s\",\"unit\":\"%s\",\"threads\":%d,"
		  "\"stripes\":%u,\"ops\":%llu,\"reps\":%d,\"ns_per_op\":%.3f,\"ns_min\":%.3f,"
		  "\"ns_max\":%.3f,\"ops_per_s\":%.0f%s,\"samples\":[%s]}",
		  c->scenario, c->variant, c->unit, c->threads, c->stripes,
		  (unsigned long long)(ops * (uint64_t)c->threads), reps, r->ns_med, r->ns_min,
		  r->ns_max, r->ops_s, extra, samples);
	return 0;
}

void bench_pending(const char *scenario, const char *variant, int threads, const char *reason)
{
	if (threads > bench_o.max_threads)
		return;
	result *r = new_result(R_PENDING, scenario, variant);
	r->threads = threads;
	snprintf(r->reason, sizeof r->reason, "%s", reason);
	json_line("{\"scenario\":\"%s\",\"variant\":\"%s\",\"threads\":%d,\"status\":\"pending\","
		  "\"reason\":\"%s\"}",
		  scenario, variant, threads, reason);
}

void bench_memory(const char *variant, uint64_t objects, int64_t rss_bytes, int64_t heap_bytes,
		  double name_bytes_per_object, double ns_per_object)
{
	result *r = new_result(R_MEMORY, "memory", variant);
	r->threads = 1;
	r->objects = objects;
	r->rss_per = (double)rss_bytes / (double)objects;
	r->heap_per = (double)heap_bytes / (double)objects;
	r->name_per = name_bytes_per_object;
	r->create_ns = ns_per_object;
	json_line("{\"scenario\":\"memory\",\"variant\":\"%s\",\"threads\":1,\"objects\":%llu,"
		  "\"rss_bytes_per_object\":%.1f,\"heap_bytes_per_object\":%.1f,"
		  "\"name_bytes_per_object\":%.1f,\"bytes_per_object_names_excluded\":%.1f,"
		  "\"heap_bytes_per_object_names_excluded\":%.1f,\"ns_per_object\":%.1f}",
		  variant, (unsigned long long)objects, r->rss_per, r->heap_per, r->name_per,
		  r->rss_per - r->name_per, r->heap_per - r->name_per, ns_per_object);
}

/* ---- Redis results (from redis.sh), for the x Redis column ---------------- */

static int json_get(const char *line, const char *key, char *out, size_t n)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(line, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	size_t i = 0;
	if (*p == '"') {
		p++;
		while (*p && *p != '"' && i + 1 < n)
			out[i++] = *p++;
	} else {
		while (*p && *p != ',' && *p != '}' && i + 1 < n)
			out[i++] = *p++;
	}
	out[i] = '\0';
	return 0;
}

static void load_redis(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024], v[64], num[64];
	if (!f) {
		bench_note("--redis %s: %s (no Redis column)", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof line, f)) {
		if (json_get(line, "scenario", v, sizeof v) || strcmp(v, "redis") != 0 ||
		    json_get(line, "variant", v, sizeof v) ||
		    json_get(line, "ns_per_op", num, sizeof num))
			continue;
		result *r = new_result(R_REDIS, "redis", v);
		snprintf(r->unit, sizeof r->unit, "EVALSHA check-and-add");
		r->ns_med = strtod(num, NULL);
		r->threads = json_get(line, "threads", num, sizeof num) ? 1 : atoi(num);
		r->ops = json_get(line, "ops", num, sizeof num) ? 0 : strtoull(num, NULL, 10);
		r->reps = json_get(line, "reps", num, sizeof num) ? 0 : atoi(num);
		r->ns_min = json_get(line, "ns_min", num, sizeof num) ? 0 : strtod(num, NULL);
		r->ns_max = json_get(line, "ns_max", num, sizeof num) ? 0 : strtod(num, NULL);
		r->ops_s = json_get(line, "ops_per_s", num, sizeof num) ? 0 : strtod(num, NULL);
	}
	fclose(f);
}

/* ---- the table ---------------------------------------------------------------- */

static void fmt_num(char *buf, size_t n, double v)
{
	if (v >= 1e6)
		snprintf(buf, n, "%.2fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(buf, n, "%.1fk", v / 1e3);
	else
		snprintf(buf, n, "%.0f", v);
}

static void fmt_ns(char *buf, size_t n, double v)
{
	snprintf(buf, n, v < 10 ? "%.2f" : v < 1000 ? "%.1f" : "%.0f", v);
}

static void print_table(void)
{
	const result *redis = redis_ref();
	printf("\n%-11s %-26s %3s %7s %8s %9s %9s %9s %9s %7s %8s\n", "scenario", "variant", "thr",
	       "stripes", "ops/rep", "ns/op", "min", "max", "ops/s", "x raw", "x Redis");
	for (int i = 0; i < nresults; i++) {
		const result *r = &results[i];
		if (r->kind == R_PENDING) {
			printf("%-11s %-26s %3d   pending: %s\n", r->scenario, r->variant,
			       r->threads, r->reason);
			continue;
		}
		if (r->kind != R_TIME && r->kind != R_REDIS)
			continue;
		char ops[16], med[16], lo[16], hi[16], rate[16];
		char xraw[16] = "-", xred[16] = "-", stripes[16] = "-";
		fmt_num(ops, sizeof ops, (double)r->ops);
		fmt_ns(med, sizeof med, r->ns_med);
		fmt_ns(lo, sizeof lo, r->ns_min);
		fmt_ns(hi, sizeof hi, r->ns_max);
		fmt_num(rate, sizeof rate, r->ops_s);
		const result *raw = raw_ref(r->threads);
		if (raw && r->kind == R_TIME)
			snprintf(xraw, sizeof xraw, "%.2f", r->ns_med / raw->ns_med);
		if (redis)
			snprintf(xred, sizeof xred, "%.1f", r->ops_s / redis->ops_s);
		if (r->stripes)
			snprintf(stripes, sizeof stripes, "%u", r->stripes);
		printf("%-11s %-26s %3d %7s %8s %9s %9s %9s %9s %7s %8s\n", r->scenario, r->variant,
		       r->threads, stripes, ops, med, lo, hi, rate, xraw, xred);
	}
	int mem = 0;
	for (int i = 0; i < nresults; i++) {
		const result *r = &results[i];
		if (r->kind != R_MEMORY)
			continue;
		if (!mem++)
			printf("\n%-11s %-10s %9s %10s %10s %10s %14s %9s\n", "memory", "object",
			       "objects", "RSS B/obj", "heap B/obj", "name B/obj",
			       "RSS-names B/obj", "ns/create");
		printf("%-11s %-10s %9llu %10.1f %10.1f %10.1f %14.1f %9.1f\n", "", r->variant,
		       (unsigned long long)r->objects, r->rss_per, r->heap_per, r->name_per,
		       r->rss_per - r->name_per, r->create_ns);
	}
	printf("\nns/op: median of %d repetitions, cost of one operation per thread; x raw: ns/op "
	       "over raw/cas at the same thread count;\nx Redis: ops/s over Redis pipelined "
	       "(pipeline32) ops/s%s.\n\n",
	       bench_o.reps, redis ? "" : " (not measured in this run)");
}

/* ---- checks of the output -------------------------------------------------------- */

static int sane(const result *r)
{
	switch (r->kind) {
	case R_TIME:
		return r->ops > 0 && r->reps > 0 && isfinite(r->ns_med) && r->ns_min > 0 &&
		       r->ns_min <= r->ns_med && r->ns_med <= r->ns_max && r->ops_s > 0;
	case R_MEMORY:
		return r->objects > 0 && isfinite(r->rss_per) && isfinite(r->heap_per) &&
		       r->heap_per > r->name_per && r->name_per > 0;
	case R_PENDING: return r->reason[0] != '\0';
	default: return 1;
	}
}

/* ---- main ---------------------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*fn)(void);
} scenarios[] = {
	{"raw", scenario_raw},
	{"handle", scenario_handle},
	{"keyed", scenario_keyed},
	{"claim", scenario_claim},
	{"rate", scenario_rate},
	{"admit", scenario_admit},
	{"contention", scenario_contention},
	{"memory", scenario_memory},
	{"journal", scenario_journal},
};
#define NSCENARIOS (sizeof scenarios / sizeof scenarios[0])

static void usage(FILE *f)
{
	fputs("usage: bench [options]\n"
	      "  --quick          every scenario with tiny counts; checks that each runs (exit 0)\n"
	      "  --callgrind      count instructions (run under valgrind --tool=callgrind\n"
	      "                   --instr-atstart=no; see callgrind.sh); single thread only\n"
	      "  --reps N         timed repetitions per case (default 7)\n"
	      "  --scale F        multiply every operation count by F (default 1)\n"
	      "  --only LIST      comma-separated scenarios: raw,handle,keyed,claim,rate,admit,\n"
	      "                   contention,memory,journal\n"
	      "  --threads N      at most N threads (1 or 2; default 2)\n"
	      "  --stripes N      lock stripes of the engines instead of the library's\n"
	      "                   default (the one-stripe contention cases stay)\n"
	      "  --consumers N    key space of the keyed scenario (default 100000)\n"
	      "  --objects N      buckets and claims of the memory scenario (default 1000000)\n"
	      "  --no-pin         do not pin worker threads to CPUs\n"
	      "  --json FILE      also write the JSON lines to FILE\n"
	      "  --redis FILE     JSON lines from redis.sh, for the x Redis column\n",
	      f);
}

static int parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int takes = 1;
		if (strcmp(a, "--quick") == 0) {
			bench_o.quick = 1;
			takes = 0;
		} else if (strcmp(a, "--callgrind") == 0) {
			bench_o.callgrind = 1;
			takes = 0;
		} else if (strcmp(a, "--no-pin") == 0) {
			bench_o.pin = 0;
			takes = 0;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		} else if (!v) {
			fprintf(stderr, "bench: %s: missing value or unknown option\n", a);
			return -1;
		} else if (strcmp(a, "--reps") == 0) {
			bench_o.reps = atoi(v);
		} else if (strcmp(a, "--scale") == 0) {
			bench_o.scale = strtod(v, NULL);
		} else if (strcmp(a, "--only") == 0) {
			only_list = v;
		} else if (strcmp(a, "--stripes") == 0) {
			bench_o.stripes = (uint32_t)strtoul(v, NULL, 10);
		} else if (strcmp(a, "--threads") == 0) {
			bench_o.max_threads = atoi(v);
		} else if (strcmp(a, "--consumers") == 0) {
			bench_o.consumers = (uint32_t)strtoul(v, NULL, 10);
		} else if (strcmp(a, "--objects") == 0) {
			bench_o.objects = strtoull(v, NULL, 10);
		} else if (strcmp(a, "--json") == 0) {
			if (!(json_copy = fopen(v, "w"))) {
				fprintf(stderr, "bench: %s: %s\n", v, strerror(errno));
				return -1;
			}
		} else if (strcmp(a, "--redis") == 0) {
			redis_path = v;
		} else {
			fprintf(stderr, "bench: unknown option %s\n", a);
			return -1;
		}
		i += takes;
	}
	if (bench_o.reps < 1 || bench_o.scale <= 0 || bench_o.max_threads < 1 ||
	    bench_o.max_threads > 2 || bench_o.consumers < 16 || bench_o.objects < 100 ||
	    (bench_o.stripes & (bench_o.stripes - 1)) != 0) {
		fprintf(stderr, "bench: an option is out of range\n");
		return -1;
	}
	if (only_list)
		for (const char *p = only_list; *p;) {
			const char *end = strchr(p, ',');
			size_t len = end ? (size_t)(end - p) : strlen(p);
			size_t k = 0;
			while (k < NSCENARIOS && !(strlen(scenarios[k].name) == len &&
						   strncmp(p, scenarios[k].name, len) == 0))
				k++;
			if (k == NSCENARIOS) {
				fprintf(stderr, "bench: --only: unknown scenario %.*s\n", (int)len,
					p);
				return -1;
			}
			p += len + (end ? 1 : 0);
		}
	return 0;
}

#if defined(__SANITIZE_THREAD__)
#define BENCH_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BENCH_TSAN 1
#endif
#endif

int main(int argc, char **argv)
{
#ifdef BENCH_TSAN
	/* Setting a consumer's parent (the two-level claims) locks every
	 * stripe plus the config lock; with 64 stripes that passes the 64 locks
	 * ThreadSanitizer's deadlock detector can track (it aborts, then
	 * hangs). Use 16, as test-concurrency does. */
	bench_o.stripes = 16;
#endif
	if (parse_args(argc, argv)) {
		usage(stderr);
		return 2;
	}
	if (bench_o.quick) {
		bench_o.reps = bench_o.reps < 3 ? bench_o.reps : 3;
		if (bench_o.consumers > 2000)
			bench_o.consumers = 2000;
		if (bench_o.objects > 5000)
			bench_o.objects = 5000;
	}
	if (bench_o.callgrind) {
		bench_o.max_threads = 1;
		if (!RUNNING_ON_VALGRIND)
			bench_note("--callgrind outside callgrind: nothing is counted");
	} else if (!bench_o.quick && bench_o.reps < 5) {
		bench_note("warning: %d repetitions; the report wants at least 5", bench_o.reps);
	}
	cpus_init();
	if (redis_path)
		load_redis(redis_path);
	bench_note("libquota %s, %s mode, %d repetitions, up to %d threads, %d CPUs",
		   quota_version_string(),
		   bench_o.quick       ? "quick"
		   : bench_o.callgrind ? "callgrind"
				       : "full",
		   bench_o.reps, bench_o.max_threads, ncpus);

	int ran[NSCENARIOS] = {0};
	for (size_t i = 0; i < NSCENARIOS; i++) {
		if (!bench_wanted(scenarios[i].name))
			continue;
		if (bench_o.callgrind && strcmp(scenarios[i].name, "memory") == 0)
			continue;
		bench_note("scenario %s", scenarios[i].name);
		int before = nresults;
		if (scenarios[i].fn())
			bench_fail("scenario %s failed", scenarios[i].name);
		ran[i] = nresults - before;
		if (ran[i] == 0 && !bench_o.callgrind)
			bench_fail("scenario %s produced no result", scenarios[i].name);
	}
	for (int i = 0; i < nresults; i++)
		if (!sane(&results[i]))
			bench_fail("%s/%s (%d threads): implausible result", results[i].scenario,
				   results[i].variant, results[i].threads);
	if (!bench_o.callgrind)
		print_table();
	if (json_copy)
		fclose(json_copy);
	int nfail = atomic_load(&failures);
	if (nfail)
		fprintf(stderr, "bench: %d failure(s)\n", nfail);
	return nfail ? 1 : 0;
}
