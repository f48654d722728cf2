/*
 * libquota: durability. A snapshot of the whole engine and an append-only
 * journal of every change since.
 *
 * An engine created with quota_engine_options.journal_path is durable.
 * At creation it takes the lock file journal_path.lock (a second engine,
 * in this process or another, is refused with QUOTA_ERR_IN_USE), loads
 * journal_path.snapshot when there is one, and replays the journal after
 * it. A torn or corrupt last record (a write cut short by a crash) is cut
 * off; damage before the last record is QUOTA_ERR_CORRUPT and nothing is
 * changed on disk. Recovery only ever cuts a torn tail and finishes an
 * interrupted compaction, each step atomic, so recovering twice (or being
 * killed while recovering and starting again) gives the same state.
 *
 * Every call that changes the engine writes its record first; a call that
 * changes nothing leaves no record. What a successful call promises, by
 * sync mode:
 * - QUOTA_SYNC_ALWAYS: the change is on stable storage (fsynced) before
 *   the call returns. Survives kill -9 and power loss. Calls running at the
 *   same time share one fsync.
 * - QUOTA_SYNC_BATCH: the change is written to the operating system before
 *   the call returns, and fsynced within sync_interval_ms (by a later call,
 *   quota_engine_tick() or quota_engine_sync()). Survives kill -9; power
 *   loss may lose the last interval. quota_engine_sync() waits for it.
 * - QUOTA_SYNC_NONE: written to the operating system, never fsynced but by
 *   quota_engine_sync() and compaction. Survives kill -9 only.
 *
 * When a write fails (a full disk, an I/O error) the call fails with
 * QUOTA_ERR_IO and changes nothing. When an fsync fails, or a record cannot
 * be taken back, the change may or may not be durable: the call returns
 * QUOTA_ERR_IO and the engine refuses every later change with QUOTA_ERR_IO
 * (it still answers reads); recreate it to recover what is durable.
 *
 * Changes to a durable engine are applied one at a time (readers still run
 * in parallel); that order is the journal's, and replay repeats it.
 *
 * quota_engine_compact() folds the journal into journal_path.snapshot and
 * starts a fresh one; quota_engine_save() and quota_engine_load() write
 * and read the same snapshot format anywhere (doc/durability.md).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_JOURNAL_H
#define QUOTA_JOURNAL_H

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How a durable engine syncs its journal (quota_engine_options.sync_mode). */
typedef enum quota_sync_mode {
	QUOTA_SYNC_ALWAYS = 0, /**< fsynced before the call returns (the default) */
	QUOTA_SYNC_BATCH = 1,  /**< written at once, fsynced within the interval */
	QUOTA_SYNC_NONE = 2    /**< written at once, fsynced only when asked */
} quota_sync_mode;

/** The state of an engine's journal. */
typedef struct quota_journal_stats {
	size_t size;
	int32_t durable;         /**< 1 with a journal, else 0 and the rest 0 */
	int32_t failed;          /**< 1 once a failed fsync stopped all changes */
	uint64_t last_seq;       /**< sequence number of the last record */
	uint64_t synced_seq;     /**< every record up to this one is fsynced */
	uint64_t snapshot_seq;   /**< the snapshot holds every record up to this */
	uint64_t records;        /**< records written since the engine was created */
	uint64_t bytes;          /**< size of the journal file */
	uint64_t fsyncs;         /**< fsyncs of the journal since creation */
	uint64_t compactions;    /**< compactions since creation */
	uint64_t replayed;       /**< records replayed at creation */
	uint64_t cut_bytes;      /**< bytes of torn tail cut at creation */
} quota_journal_stats;

/**
 * Clear s and set its size, before quota_journal_stats_get().
 * @param size  sizeof(*s) as the caller knows it.
 * @return QUOTA_OK, or QUOTA_ERR_INVALID (NULL, or size too small).
 * Thread-safe.
 */
QUOTA_API int quota_journal_stats_init(quota_journal_stats *s, size_t size);

/**
 * Fill s with the state of e's journal (durable 0 and the rest 0 for an
 * engine in memory).
 * @param s  initialised with quota_journal_stats_init(); owned by the caller.
 * @return QUOTA_OK or QUOTA_ERR_INVALID (NULL argument, s->size too small).
 * Thread-safe.
 */
QUOTA_API int quota_journal_stats_get(quota_engine *e, quota_journal_stats *s);

/**
 * Make every change acknowledged so far durable (fsync), whatever the sync
 * mode. A no-op for an engine without a journal.
 * @return QUOTA_OK; QUOTA_ERR_IO (the engine then refuses changes).
 * Thread-safe.
 */
QUOTA_API int quota_engine_sync(quota_engine *e);

/**
 * Compact: write a snapshot of the whole engine and start a fresh journal
 * after it. Atomic: a crash at any point recovers the same state. Other
 * threads keep working; their changes wait only while the state is copied
 * in memory, not while it is written.
 * Every lock of the engine is held while the state is copied (about 1 ms
 * per 1,000 claims; doc/durability.md), so readers wait then too.
 * @return QUOTA_OK; QUOTA_ERR_INVALID (no journal); QUOTA_ERR_IO;
 *         QUOTA_ERR_NOMEM; QUOTA_ERR_WRONG_STATE (called from inside a
 *         change, e.g. an event callback). On failure the previous files
 *         stay in charge.
 * Thread-safe.
 */
QUOTA_API int quota_engine_compact(quota_engine *e);

/**
 * Write a snapshot of the whole engine to path: registrations, consumer
 * parents, grants and who made them, policies, claims in every state (the
 * queue in its order), anonymous and observed usage, rate limiter state
 * and counters (not: the engine's options, event callbacks, open bucket
 * handles, the audit ring). Written to path.tmp, fsynced, renamed over
 * path, and the directory fsynced. The state is copied with every lock of
 * the engine held (on a durable engine also its change lock), so that the
 * copy is one moment of it; calls wait for the copy (about 1 ms per 1,000
 * claims), not for the write.
 * @return QUOTA_OK; QUOTA_ERR_INVALID; QUOTA_ERR_IO; QUOTA_ERR_NOMEM;
 *         QUOTA_ERR_WRONG_STATE (called from inside a change).
 * Thread-safe.
 */
QUOTA_API int quota_engine_save(quota_engine *e, const char *path);

/**
 * Restore a snapshot written by quota_engine_save() (or a compaction) into
 * e, which must hold nothing: no registration, grant, policy, parent,
 * bucket or claim. The clock of e should not be earlier than the
 * snapshot's. Counters are replaced by the snapshot's. The whole file is
 * checked (header, every record's checksum and number, its last record)
 * before anything is applied.
 * On a durable engine the load is made durable by a compaction before the
 * call returns (the change lock held throughout, so no change can reach
 * the journal before the snapshot that holds the load).
 * @return QUOTA_OK; QUOTA_ERR_INVALID (bad arguments, or the file is not a
 *         snapshot); QUOTA_ERR_WRONG_STATE (e is not empty: nothing
 *         changed); QUOTA_ERR_IO (the file cannot be read, or on a durable
 *         engine written); QUOTA_ERR_CORRUPT (any damage: a snapshot is
 *         written whole, so a cut one is corrupt too; the detail names the
 *         file and the record); QUOTA_ERR_UNSUPPORTED (a newer format);
 *         QUOTA_ERR_NOMEM. A file refused by the check changes nothing; a
 *         failure while applying it (a record the engine refuses, no
 *         memory) leaves part of it in e, which should then be freed (a
 *         durable e then refuses changes).
 * Thread-safe against the engine's other calls, which should not run
 * while it loads.
 */
QUOTA_API int quota_engine_load(quota_engine *e, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* QUOTA_JOURNAL_H */
