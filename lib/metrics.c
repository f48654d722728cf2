/*
 * Counters, the Prometheus text exposition, and the audit ring.
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "engine.h"
#include "error.h"
#include "text.h"

QUOTA_API int quota_stats_init(quota_stats *s, size_t size)
{
	if (!s || size < sizeof *s)
		return quota__fail(QUOTA_ERR_INVALID, "stats: NULL or size %zu too small", size);
	memset(s, 0, sizeof *s);
	s->size = sizeof *s;
	return QUOTA_OK;
}

void quota__counters_sum(quota_engine *e, uint64_t sum[QC_COUNT])
{
	memset(sum, 0, QC_COUNT * sizeof *sum);
	for (uint32_t i = 0; i < QUOTA__COUNTER_SLOTS; i++)
		for (int c = 0; c < QC_COUNT; c++)
			sum[c] += atomic_load_explicit(&e->counters[i].c[c], memory_order_relaxed);
	for (uint32_t i = 0; i < e->stripe_count; i++)
		sum[QC_ALLOWED] += atomic_load_explicit(&e->stripes[i].allowed, memory_order_relaxed);
}

void quota__counters_set(quota_engine *e, const uint64_t v[QC_COUNT])
{
	for (uint32_t i = 0; i < QUOTA__COUNTER_SLOTS; i++)
		for (int c = 0; c < QC_COUNT; c++)
			atomic_store_explicit(&e->counters[i].c[c], i ? 0 : v[c], memory_order_relaxed);
	for (uint32_t i = 0; i < e->stripe_count; i++)
		atomic_store_explicit(&e->stripes[i].allowed, 0, memory_order_relaxed);
}

QUOTA_API int quota_stats_get(quota_engine *e, quota_stats *out)
{
	uint64_t sum[QC_COUNT];
	if (!e || !out)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL", e ? "out" : "engine");
	if (out->size < sizeof *out)
		return quota__fail(QUOTA_ERR_INVALID,
				   "stats.size: %zu is too small (initialise it with quota_stats_init)",
				   out->size);
	quota__counters_sum(e, sum);
	out->decisions = sum[QC_ALLOWED] + sum[QC_DENIED_EXCEEDED] + sum[QC_DENIED_RATE] +
			 sum[QC_THROTTLED] + sum[QC_QUEUED];
	out->allowed = sum[QC_ALLOWED];
	out->denied_exceeded = sum[QC_DENIED_EXCEEDED];
	out->denied_rate_limited = sum[QC_DENIED_RATE];
	out->throttled = sum[QC_THROTTLED];
	out->warnings = sum[QC_WARNINGS];
	out->queued = sum[QC_QUEUED];
	out->admitted_from_queue = sum[QC_ADMITTED];
	out->expired = sum[QC_EXPIRED];
	out->released = sum[QC_RELEASED];
	out->dequeued = sum[QC_DEQUEUED];
	return QUOTA_OK;
}

/* A label value with \, " and newline escaped as the text format wants. */
static void put_label(quota__text *t, const char *name, const char *value, int last)
{
	quota__text_put(t, "%s=\"", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\\')
			quota__text_put(t, "\\\\");
		else if (*p == '"')
			quota__text_put(t, "\\\"");
		else if (*p == '\n')
			quota__text_put(t, "\\n");
		else
			quota__text_put(t, "%c", *p);
	}
	quota__text_put(t, "\"%s", last ? "" : ",");
}

static const struct gauge {
	const char *name, *help;
} gauges[] = {
	{"quota_bucket_limit", "Limit of the bucket; -1 means unlimited."},
	{"quota_bucket_allocated", "Committed usage: granted claims and anonymous use."},
	{"quota_bucket_reserved", "Usage held by reservations not yet committed."},
	{"quota_bucket_available", "What is left to claim; -1 means unlimited."},
	{"quota_bucket_pending", "Queued claims waiting on the bucket."},
	{"quota_bucket_claim_count", "Granted claims charged to the bucket."},
	{"quota_bucket_grant_count", "Grants contributing to the limit."},
	{"quota_bucket_observed", "Externally observed usage, when reported."},
	{"quota_bucket_utilization_ratio", "(max(allocated, observed) + reserved) / limit."},
	{"quota_rate_limit", "Amount per period of a rate limit; -1 means unlimited."},
	{"quota_rate_remaining", "What a rate limit would let through now; -1 means unlimited."},
};

enum {
	G_LIMIT,
	G_ALLOC,
	G_RESERVED,
	G_AVAIL,
	G_PENDING,
	G_CLAIMS,
	G_GRANTS,
	G_OBSERVED,
	G_UTIL,
	G_RATE_LIMIT,
	G_RATE_LEFT,
	G_COUNT
};

static void put_labels(quota__text *t, const quota__bucket *b, const quota__limiter *lim);

/* The samples of a rate gauge for bucket b at now. */
static void put_rates(quota__text *t, int g, const quota__bucket *b, int64_t now)
{
	for (uint32_t i = 0; i < b->limiter_count; i++) {
		const quota__limiter *l = &b->limiters[i];
		quota__rate_view view;
		quota__limiter_check(l, 0, now, &view);
		quota__text_put(t, "%s", gauges[g].name);
		put_labels(t, b, l);
		quota__text_put(t, " %lld\n", (long long)(g == G_RATE_LIMIT ? l->amount : view.remaining));
	}
}

/* The labels of bucket b; a selector bucket adds its selector, a rate
 * limit (lim) its period and window. */
static void put_labels(quota__text *t, const quota__bucket *b, const quota__limiter *lim)
{
	quota__text_put(t, "{");
	put_label(t, "consumer_kind", quota__bucket_kind(b), 0);
	put_label(t, "consumer_namespace", quota__bucket_ns(b), 0);
	put_label(t, "consumer_name", quota__bucket_name(b), 0);
	const quota__selector *sel = quota__bucket_selector(b);
	put_label(t, "resource_type", quota__bucket_type(b), !sel && !lim);
	if (sel)
		put_label(t, "selector", sel->text, !lim);
	if (lim) {
		char period[24];
		snprintf(period, sizeof period, "%lld", (long long)(lim->period_ns / 1000000));
		put_label(t, "period_ms", period, 0);
		put_label(t, "window", lim->window == QUOTA_WINDOW_CALENDAR ? "calendar" : "rolling",
			  1);
	}
	quota__text_put(t, "}");
}

/* num / den with six decimals, by hand: printf's %g would follow the
 * host's LC_NUMERIC and might write a decimal comma. */
static void put_ratio(quota__text *t, __int128 num, int64_t den)
{
	if (den == 0) {
		quota__text_put(t, " %s\n", num > 0 ? "+Inf" : "0");
		return;
	}
	__int128 whole = num / den, frac = (num % den) * 1000000 / den;
	quota__text_put(t, " %lld.%06lld\n", (long long)whole, (long long)frac);
}

/* The sample of gauge g for bucket b, if it has one. */
static void put_sample(quota__text *t, int g, const quota__bucket *b, int64_t now)
{
	int64_t v = 0;
	switch (g) {
	case G_LIMIT: v = b->limit; break;
	case G_ALLOC: v = b->allocated; break;
	case G_RESERVED: v = b->reserved; break;
	case G_AVAIL: v = quota__bucket_available(b); break;
	case G_PENDING: v = b->pending; break;
	case G_CLAIMS: v = b->claim_count; break;
	case G_GRANTS: v = b->contrib_count; break;
	case G_OBSERVED:
		if (!b->ext || !b->ext->has_observed)
			return;
		v = b->ext->observed;
		break;
	case G_UTIL:
		if (b->limit < 0)
			return;
		quota__text_put(t, "%s", gauges[g].name);
		put_labels(t, b, NULL);
		put_ratio(t, (__int128)quota__bucket_usage(b) + b->reserved, b->limit);
		return;
	default:
		put_rates(t, g, b, now);
		return;
	}
	quota__text_put(t, "%s", gauges[g].name);
	put_labels(t, b, NULL);
	quota__text_put(t, " %lld\n", (long long)v);
}

/* Samples of gauge g for every bucket, selector buckets after their
 * base; each stripe read under its lock. */
static void put_gauge(quota_engine *e, quota__text *t, int g, int64_t now)
{
	quota__text_put(t, "# HELP %s %s\n# TYPE %s gauge\n", gauges[g].name, gauges[g].help,
	    gauges[g].name);
	for (uint32_t i = 0; i < e->stripe_count; i++) {
		quota__stripe *s = &e->stripes[i];
		quota__lock_take(&s->lock);
		for (size_t k = 0; k <= s->buckets.mask; k++)
			for (quota__node *n = s->buckets.slots[k]; n; n = n->next) {
				const quota__bucket *b = (const quota__bucket *)n;
				put_sample(t, g, b, now);
				for (uint32_t j = 0; j < quota__bucket_sel_count(b); j++)
					put_sample(t, g, b->ext->sels[j], now);
			}
		quota__lock_release(&s->lock);
	}
}

QUOTA_API int quota_metrics_prometheus(quota_engine *e, char **out, size_t *len)
{
	uint64_t sum[QC_COUNT];
	if (!e || !out)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL", e ? "text" : "engine");
	*out = NULL;
	quota__text t = {0};
	quota__counters_sum(e, sum);
	quota__text_put(&t, "# HELP quota_decisions_total Admission decisions by result.\n"
		"# TYPE quota_decisions_total counter\n");
	static const struct {
		int c;
		const char *label;
	} results[] = {{QC_ALLOWED, "allowed"},
		       {QC_DENIED_EXCEEDED, "denied_exceeded"},
		       {QC_DENIED_RATE, "denied_rate_limited"},
		       {QC_THROTTLED, "throttled"},
		       {QC_QUEUED, "queued"}};
	for (size_t i = 0; i < sizeof results / sizeof results[0]; i++)
		quota__text_put(&t, "quota_decisions_total{result=\"%s\"} %llu\n", results[i].label,
		    (unsigned long long)sum[results[i].c]);
	/* Warn-mode overages are also "allowed": a separate counter, so that the
	 * results above add up to the decisions. */
	quota__text_put(&t, "# HELP quota_decisions_warned_total Allowed decisions over a Warn-mode limit.\n"
		"# TYPE quota_decisions_warned_total counter\n"
		"quota_decisions_warned_total %llu\n",
	    (unsigned long long)sum[QC_WARNINGS]);
	quota__text_put(&t, "# HELP quota_claim_transitions_total Claim transitions after admission.\n"
		"# TYPE quota_claim_transitions_total counter\n");
	static const struct {
		int c;
		const char *label;
	} moves[] = {{QC_ADMITTED, "admitted_from_queue"},
		     {QC_EXPIRED, "expired"},
		     {QC_RELEASED, "released"},
		     {QC_DEQUEUED, "dequeued"}};
	for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++)
		quota__text_put(&t, "quota_claim_transitions_total{transition=\"%s\"} %llu\n", moves[i].label,
		    (unsigned long long)sum[moves[i].c]);
	quota__text_put(&t, "# HELP quota_admissions_total Policy admissions (not dry runs) by result.\n"
		"# TYPE quota_admissions_total counter\n");
	static const struct {
		int c;
		const char *label;
	} admits[] = {{QC_ADMIT_ALLOWED, "allowed"},
		      {QC_ADMIT_DENIED, "denied"},
		      {QC_ADMIT_FAILED_CLOSED, "failed_closed"},
		      {QC_ADMIT_FAILED_OPEN, "failed_open"},
		      {QC_ADMIT_NO_POLICY, "no_policy"}};
	for (size_t i = 0; i < sizeof admits / sizeof admits[0]; i++)
		quota__text_put(&t, "quota_admissions_total{result=\"%s\"} %llu\n", admits[i].label,
		    (unsigned long long)sum[admits[i].c]);
	_Static_assert(sizeof gauges / sizeof gauges[0] == G_COUNT, "one name per gauge");
	int64_t now = quota__now(e);
	for (int g = 0; g < G_COUNT; g++)
		put_gauge(e, &t, g, now);
	if (quota__text_finish(&t, QUOTA_OK, out, len) != QUOTA_OK)
		return quota__fail(QUOTA_ERR_NOMEM, "metrics: out of memory");
	return QUOTA_OK;
}

static void audit(quota_engine *e, int status, const quota_answer *a, const char *claim_key)
{
	const char *message = quota_last_error();
	int64_t now = quota__now(e);
	pthread_mutex_lock(&e->audit_lock);
	if (!e->audit)
		e->audit = quota__calloc(QUOTA_AUDIT_CAPACITY, sizeof *e->audit);
	if (e->audit) {
		quota_denial *d = &e->audit[e->audit_seq % QUOTA_AUDIT_CAPACITY];
		d->size = sizeof *d;
		d->seq = ++e->audit_seq;
		d->time_ns = now;
		d->status = status;
		d->requested = a->requested;
		d->available = a->available;
		if (claim_key)
			snprintf(d->claim, sizeof d->claim, "%s/%s", claim_key,
				 claim_key + strlen(claim_key) + 1);
		else
			d->claim[0] = '\0';
		snprintf(d->bucket, sizeof d->bucket, "%s", a->bucket);
		snprintf(d->message, sizeof d->message, "%s", message);
	}
	pthread_mutex_unlock(&e->audit_lock);
}

void quota__count_other(quota_engine *e, int rc, const quota_answer *a, const char *claim_key)
{
	if (rc == QUOTA_ERR_EXCEEDED || rc == QUOTA_ERR_RATE_LIMITED) {
		quota__count(e, rc == QUOTA_ERR_EXCEEDED		 ? QC_DENIED_EXCEEDED
				: (a->flags & QUOTA_ANSWER_THROTTLED) ? QC_THROTTLED
								       : QC_DENIED_RATE);
		audit(e, rc, a, claim_key);
		return;
	}
	if (rc != QUOTA_OK)
		return;
	if (a->state == QUOTA_CLAIM_PENDING) {
		quota__count(e, QC_QUEUED);
		return;
	}
	quota__count(e, QC_ALLOWED);
	if (a->flags & QUOTA_ANSWER_WARNED)
		quota__count(e, QC_WARNINGS);
}

QUOTA_API int quota_audit_list(quota_engine *e, quota_denial ***out, size_t *count)
{
	if (!e || !out || !count)
		return quota__fail(QUOTA_ERR_INVALID, "%s: must not be NULL",
				   !e ? "engine" : !out ? "out" : "count");
	*out = NULL;
	*count = 0;
	pthread_mutex_lock(&e->audit_lock);
	uint64_t n = e->audit_seq < QUOTA_AUDIT_CAPACITY ? e->audit_seq : QUOTA_AUDIT_CAPACITY;
	quota_denial **items = quota__malloc(n * (sizeof *items + sizeof **items) + 1);
	if (items) {
		quota_denial *copies = (quota_denial *)(items + n);
		uint64_t first = e->audit_seq - n;
		for (uint64_t i = 0; i < n; i++) {
			copies[i] = e->audit[(first + i) % QUOTA_AUDIT_CAPACITY];
			items[i] = &copies[i];
		}
	}
	pthread_mutex_unlock(&e->audit_lock);
	if (!items)
		return quota__fail(QUOTA_ERR_NOMEM, "audit: out of memory");
	*out = items;
	*count = (size_t)n;
	return QUOTA_OK;
}
