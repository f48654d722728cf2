/*
 * libquota: the engine handle.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_ENGINE_H
#define QUOTA_ENGINE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An engine: registrations, grants, buckets and claims. Opaque. */
typedef struct quota_engine quota_engine;

/**
 * A clock: nanoseconds since the Unix epoch. Must not go backwards by much;
 * the engine treats a time earlier than the last one it saw as that one.
 * It is called with engine locks held: it must return quickly and must not
 * call into the engine (that may deadlock).
 */
typedef int64_t (*quota_clock_fn)(void *payload);

/** Claim transitions reported to the event callback. */
typedef enum quota_event_type {
	QUOTA_EVENT_RESERVED = 1, /**< now holds a reservation (also from the queue) */
	QUOTA_EVENT_GRANTED = 2,  /**< committed (acquire, commit, or from the queue) */
	QUOTA_EVENT_RELEASED = 3, /**< a held claim was released */
	QUOTA_EVENT_EXPIRED = 4,  /**< a reservation's TTL or a pending claim's deadline passed */
	QUOTA_EVENT_QUEUED = 5,   /**< did not fit and waits (state PENDING) */
	QUOTA_EVENT_DEQUEUED = 6  /**< a pending claim was released before it was admitted */
} quota_event_type;

/**
 * One claim transition. The strings are valid only during the callback.
 * prev_state and state are QUOTA_CLAIM_* values (prev_state 0 for a new
 * claim).
 */
typedef struct quota_event {
	size_t size;
	int32_t type;
	int32_t prev_state;
	int32_t state;
	int32_t reserved0;
	const char *ns;
	const char *name;
} quota_event;

/**
 * The event callback. It is called with no engine lock held, so it may
 * call back into the engine, but on whichever thread happens to deliver
 * (one thread at a time, in the order the transitions happened), possibly
 * not the one whose call caused the transition. Keep it short.
 */
typedef void (*quota_event_fn)(const quota_event *ev, void *payload);

/**
 * Engine options. Initialise with quota_engine_options_init(), then set the
 * fields you need.
 *
 * - stripes: number of lock stripes, a power of two in [1, 65536];
 *   0 means the default (64). More stripes, less contention.
 * - clock, clock_payload: time source; NULL means CLOCK_REALTIME.
 * - released_retention_ms: how long a released or expired claim stays
 *   visible (state QUOTA_CLAIM_RELEASED) so that a retried release is a
 *   no-op and a late commit is told QUOTA_ERR_WRONG_STATE; after that the
 *   name is unknown. Default 60000; 0 forgets at once.
 * - hash_key: two 64-bit words keying the table hash. Zero (the default)
 *   means a random key per engine; set it only for reproducible tests
 *   (the hash depends on whether the CPU has AES instructions, so the
 *   layout repeats on machines of the same kind).
 * - event_fn, event_payload: the claim event callback, or NULL. Fixed for
 *   the engine's life. With a callback, every transition's event record is
 *   allocated before the transition, so none is ever dropped.
 * - journal_path: NULL keeps the engine in memory only. Otherwise the
 *   engine is durable (include/quota/journal.h): it recovers the state kept
 *   at journal_path (the journal) and beside it (journal_path.snapshot,
 *   journal_path.lock, ...) when it is created, and records every change
 *   there before it returns.
 * - sync_mode: QUOTA_SYNC_* (0: QUOTA_SYNC_ALWAYS); see journal.h.
 * - sync_interval_ms: QUOTA_SYNC_BATCH only: the longest an acknowledged
 *   change waits for the fsync that makes it durable; 0 means 10.
 */
typedef struct quota_engine_options {
	size_t size;
	uint32_t stripes;
	uint32_t reserved_flags; /**< must be 0 */
	quota_clock_fn clock;
	void *clock_payload;
	int64_t released_retention_ms;
	uint64_t hash_key[2];
	quota_event_fn event_fn;
	void *event_payload;
	const char *journal_path;
	int32_t sync_mode;
	uint32_t sync_interval_ms;
} quota_engine_options;

/**
 * Fill options with defaults.
 *
 * @param o     the struct to fill.
 * @param size  sizeof(*o) as the caller knows it.
 * @return QUOTA_OK, or QUOTA_ERR_INVALID (NULL, or size too small).
 */
QUOTA_API int quota_engine_options_init(quota_engine_options *o, size_t size);

/**
 * Create an engine.
 *
 * @param[out] out  the new engine; set to NULL on failure.
 * @param opts      options, or NULL for defaults.
 * @return QUOTA_OK; QUOTA_ERR_INVALID (NULL out, bad stripes, negative
 *         retention, unknown flags); QUOTA_ERR_NOMEM.
 * Thread-safe. Free with quota_engine_free().
 */
QUOTA_API int quota_engine_new(quota_engine **out, const quota_engine_options *opts);

/**
 * Free an engine and everything it holds. NULL is a no-op. No other call
 * on this engine, nor on its bucket handles, may run concurrently or after.
 */
QUOTA_API void quota_engine_free(quota_engine *e);

/**
 * Apply time-based transitions: expire reservations whose TTL has passed
 * (their capacity returns at once) and forget released claims past their
 * retention. The library starts no threads; expiry also happens lazily
 * whenever a decision would otherwise count an expired reservation, so
 * calling this is only needed to return capacity promptly and free memory.
 *
 * @param e         the engine.
 * @param now_ns    the time to act at, or 0 to read the engine's clock.
 *                  A time earlier than the clock's is raised to it.
 * @param[out] expired  number of reservations expired by this call;
 *                  may be NULL.
 * @return QUOTA_OK or QUOTA_ERR_INVALID (NULL e, negative now_ns).
 * Thread-safe.
 */
QUOTA_API int quota_engine_tick(quota_engine *e, int64_t now_ns, uint64_t *expired);

/**
 * The engine's current time (its clock), in nanoseconds since the epoch.
 *
 * @return QUOTA_OK or QUOTA_ERR_INVALID (NULL argument). Thread-safe.
 */
QUOTA_API int quota_engine_now(quota_engine *e, int64_t *now_ns);

/**
 * When quota_engine_tick() next has work: the earliest reservation TTL,
 * queue deadline, retention end of a released claim, or moment a rate
 * limit lets a pending claim through. A host without other traffic can
 * sleep until then instead of polling. Calls made meanwhile may move it
 * earlier, never later than the work they schedule.
 *
 * @param[out] when_ns  that time (engine clock), or 0 when nothing is
 *                      scheduled.
 * @return QUOTA_OK or QUOTA_ERR_INVALID (NULL argument). Thread-safe.
 */
QUOTA_API int quota_engine_next_deadline(quota_engine *e, int64_t *when_ns);

#ifdef __cplusplus
}
#endif

#endif /* QUOTA_ENGINE_H */
