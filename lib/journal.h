/*
 * The journal's part in every call that changes a durable engine
 * (include/quota/journal.h).
 *
 * A public call that changes state runs as a journaled call:
 *   quota__jcall c;
 *   quota__jbegin(e, &c, OP);         the record: op, then the arguments,
 *   quota__put_...(&c.w, ...);          written with the codec
 *   if ((rc = quota__jstart(e, &c)))  takes the change lock, freezes the
 *           return rc;                clock, sweeps, writes the record
 *   rc = the call itself;
 *   return quota__jend(e, &c, rc);    kicks the queue, takes the record
 *                                     back if nothing changed, lets go,
 *                                     syncs, delivers events
 * Without a journal, or inside another journaled call, begin makes c
 * inert and start and end cost a branch.
 *
 * Replay repeats each record's call at its recorded time, with the same
 * sweep before it and the same queue kick after it, in journal order: the
 * order in which the change lock let the calls run. A change to a durable
 * engine is therefore a function of its record and the state before it.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_JOURNAL_H
#define QUOTA_LIB_JOURNAL_H

#include "codec.h"
#include "engine.h"

/* Record operations; never renumbered (they are on disk). */
enum quota__jop {
	JOP_REG_CREATE = 1,
	JOP_REG_UPDATE = 2,
	JOP_REG_DELETE = 3,
	JOP_GRANT_APPLY = 4,
	JOP_GRANT_DELETE = 5,
	JOP_SET_PARENT = 6,
	JOP_RESERVE = 7,
	JOP_ACQUIRE = 8,
	JOP_COMMIT = 9,
	JOP_RELEASE = 10,
	JOP_RESIZE = 11,
	JOP_SET_RESERVE = 12,
	JOP_SET_ACQUIRE = 13,
	JOP_CONSUME = 14,
	JOP_GIVE_BACK = 15,
	JOP_OBSERVE = 16,
	JOP_RATE_TAKE = 17,
	JOP_TICK = 18,
	JOP_CLAIM_POLICY_APPLY = 19,
	JOP_CLAIM_POLICY_DELETE = 20,
	JOP_GRANT_POLICY_APPLY = 21,
	JOP_GRANT_POLICY_DELETE = 22,
	JOP_GRANT_POLICY_SYNC = 23,
	JOP_ADMIT = 24,
	/* 25: unused (a JSON text load is recorded as its document) */
	JOP_JSON_LOAD_DOC = 26,
	JOP_CHECK = 27, /* a dry run: frozen clock and sweep, never a record */
	/* Snapshot records (snapshot.c), never in a journal. */
	JOP_SNAP_REG = 64,
	JOP_SNAP_PARENT = 65,
	JOP_SNAP_CLAIM_POLICY = 66,
	JOP_SNAP_GRANT_POLICY = 67,
	JOP_SNAP_GRANT = 68,
	JOP_SNAP_OWNER = 69,
	JOP_SNAP_BUCKET = 70,
	JOP_SNAP_CLAIM = 71,
	JOP_SNAP_ENGINE = 72,
	JOP_SNAP_END = 73,
};

typedef struct quota__jcall {
	struct quota__journal *j; /* NULL: inert */
	quota__wbuf w;            /* in room while the record fits */
	int op;
	uint64_t seq;  /* of the record written, 0 for none */
	int64_t start; /* journal size before it */
	int swept;     /* the sweep before the call expired something */
	unsigned char room[512];
} quota__jcall;

void quota__jbegin(quota_engine *e, quota__jcall *c, int op);
int quota__jstart(quota_engine *e, quota__jcall *c);
int quota__jend(quota_engine *e, quota__jcall *c, int rc);

/* Whether this thread is inside a journaled call of e (or replaying it):
 * quota__after() then leaves the queue and events to quota__jend(). */
int quota__jinside(const quota_engine *e);
/* The frozen time of the journaled call this thread is in on e; 0 when
 * it is in none. */
int64_t quota__jnow(const quota_engine *e);

/* A record read back. */
/* The top bit of a record's op byte: the record was copied into a shared
 * mapping (QUOTA_SYNC_NONE), whose pages a power loss may write back in
 * any order; recovery cuts at a damaged record that follows one. */
#define QUOTA__FRAME_MAPPED 0x80

typedef struct quota__frame {
	uint64_t seq;
	int op;     /* without QUOTA__FRAME_MAPPED */
	int mapped; /* QUOTA__FRAME_MAPPED was set */
	int64_t now;
	const unsigned char *args;
	size_t args_len;
	size_t size; /* of the whole record */
} quota__frame;

/* Start a record in w (room for its frame, the op and the time). */
void quota__frame_begin(quota__wbuf *w, int op, int64_t now);
/* Finish the record that starts at byte at of w: length, sequence number
 * and checksum. */
void quota__frame_seal(quota__wbuf *w, size_t at, uint64_t seq);
/* Read the record at byte off of buf[0..n); -1 when it is not whole or its
 * checksum fails. */
int quota__frame_next(const unsigned char *buf, size_t n, size_t off, quota__frame *f);
/* Replay one record (see the top of this file). */
int quota__jreplay(quota_engine *e, const quota__frame *f);

struct quota__journal;
typedef struct quota__journal quota__journal;
/* Snapshot and start a fresh journal (quota_engine_compact). */
int quota__journal_compact(quota_engine *e, quota__journal *j);
/* The snapshot of e into w, taken under the change lock (quota_engine_save). */
int quota__journal_snapshot(quota_engine *e, quota__journal *j, quota__wbuf *w);
/* quota_engine_load on a durable engine: under the change lock, load the
 * snapshot at path (quota__snapshot_load) and compact, so that the journal
 * holds the loaded state before any change can follow it. */
int quota__journal_load(quota_engine *e, quota__journal *j, const char *path);

/* Open, recover and close (engine.c). */
int quota__journal_open(quota_engine *e, const quota_engine_options *o);
void quota__journal_close(quota_engine *e);

/* Dispatch one call record to the call it records (journal-api.c);
 * returns the call's status. */
int quota__jreplay_call(quota_engine *e, int op, quota__rbuf *r);

#endif
