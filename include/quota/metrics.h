/*
 * libquota: counters, Prometheus text exposition, and the audit ring of
 * recent denials.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_METRICS_H
#define QUOTA_METRICS_H

#include "bucket.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Engine counters since creation. Each decision counts once: an anonymous
 * consume, a reserve, acquire or check (a repeat of an existing claim is
 * not a decision), and a resize that grows.
 *
 * - decisions: admission decisions made.
 * - allowed: decisions that allowed (including Warn-mode overages).
 * - denied_exceeded: denials because a limit would be exceeded.
 * - denied_rate_limited: denials by a rate limit whose action is REJECT.
 * - throttled: denials by a rate limit whose action is THROTTLE (or QUEUE,
 *   for calls that cannot wait), answered with a retry time.
 * - warnings: allowed over a Warn-mode limit (shadow mode violations).
 * - queued: claims that became pending.
 * - admitted_from_queue: pending claims admitted later.
 * - expired: reservations whose TTL passed and pending claims whose queue
 *   deadline passed.
 * - released: held claims released by a caller.
 * - dequeued: pending claims released by a caller.
 */
typedef struct quota_stats {
	size_t size;
	uint64_t decisions;
	uint64_t allowed;
	uint64_t denied_exceeded;
	uint64_t denied_rate_limited;
	uint64_t throttled;
	uint64_t warnings;
	uint64_t queued;
	uint64_t admitted_from_queue;
	uint64_t expired;
	uint64_t released;
	uint64_t dequeued;
} quota_stats;

/** Initialise a stats struct. QUOTA_OK or QUOTA_ERR_INVALID. */
QUOTA_API int quota_stats_init(quota_stats *s, size_t size);

/**
 * Read the counters. Each counter is exact; the set is not one atomic
 * reading while other threads work.
 *
 * @param out  initialised with quota_stats_init(); filled.
 * @return QUOTA_OK or QUOTA_ERR_INVALID. Thread-safe.
 */
QUOTA_API int quota_stats_get(quota_engine *e, quota_stats *out);

/**
 * Prometheus text exposition (format 0.0.4) of the counters and of every
 * bucket's gauges: quota_bucket_limit, _allocated, _reserved, _available,
 * _pending, _claim_count, _grant_count, _observed (when reported) and
 * _utilization_ratio ((max(allocated, observed) + reserved) / limit, for
 * limited buckets), labelled consumer_kind, consumer_namespace,
 * consumer_name and resource_type, with label values escaped as the format
 * requires. Counters are quota_decisions_total{result=...} (the results add
 * up to all decisions), quota_decisions_warned_total (allowed decisions
 * over a Warn-mode limit), quota_claim_transitions_total{transition=...}
 * and quota_admissions_total{result=allowed|denied|failed_closed|
 * failed_open|no_policy} (policy admissions by outcome, dry runs not
 * counted; an admission's claim set also counts as one decision).
 * Numbers never depend on the process locale.
 *
 * @param[out] text  NUL-terminated text, one allocation; quota_free().
 * @param[out] len   its length without the NUL; may be NULL.
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOMEM. Thread-safe.
 */
QUOTA_API int quota_metrics_prometheus(quota_engine *e, char **text, size_t *len);

/** Room for an audit message, NUL included. */
#define QUOTA_AUDIT_MESSAGE_MAX 512
/** Denials kept by the audit ring; older ones are overwritten. */
#define QUOTA_AUDIT_CAPACITY 256
/** Room for a denial's claim ("ns/name"), NUL included. */
#define QUOTA_AUDIT_CLAIM_MAX 320

/**
 * One recorded denial.
 *
 * - seq: 1 for the engine's first denial, then +1; gaps show overwrites.
 * - time_ns: engine clock at the denial.
 * - status: the code returned (QUOTA_ERR_EXCEEDED, ...).
 * - claim: "ns/name" of the claim, or "" for anonymous consumption.
 * - bucket: the binding bucket's id.
 * - requested, available: at the binding bucket.
 * - message: the full detail, as quota_last_error() gave it.
 */
typedef struct quota_denial {
	size_t size;
	uint64_t seq;
	int64_t time_ns;
	int32_t status;
	int32_t reserved0;
	int64_t requested;
	int64_t available;
	char claim[QUOTA_AUDIT_CLAIM_MAX];
	char bucket[QUOTA_BUCKET_ID_MAX];
	char message[QUOTA_AUDIT_MESSAGE_MAX];
} quota_denial;

/**
 * The most recent denials, oldest first (at most QUOTA_AUDIT_CAPACITY).
 *
 * @param[out] out    array of *count pointers, one allocation; quota_free().
 * @param[out] count  number of denials.
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_NOMEM. Thread-safe.
 */
QUOTA_API int quota_audit_list(quota_engine *e, quota_denial ***out, size_t *count);

#ifdef __cplusplus
}
#endif

#endif /* QUOTA_METRICS_H */
