/*
 * Snapshots: the whole state of an engine as records that rebuild it
 * (include/quota/journal.h).
 *
 * A snapshot file: magic "LQSNAPS1", u32 version, u32 flags (0), u64 the
 * journal record it holds everything up to, u32 zero, u32 CRC-32C of the
 * 28 bytes before; then records (the journal's frame, numbered from 1),
 * the last of which is JOP_SNAP_END with the count of those before it.
 * SPDX-License-Identifier: MIT
 */
#ifndef QUOTA_LIB_SNAPSHOT_H
#define QUOTA_LIB_SNAPSHOT_H

#include "codec.h"
#include "engine.h"

/* The snapshot of e, holding every journal record up to seq, into w.
 * Caller holds the change lock of a durable engine. */
int quota__snapshot_build(quota_engine *e, uint64_t seq, quota__wbuf *w);
/* Restore the snapshot at path into the empty engine e; *seq gets the
 * journal record it holds up to. missing_ok: a missing file is an empty
 * snapshot (seq 0). */
int quota__snapshot_read(quota_engine *e, const char *path, int missing_ok, uint64_t *seq);

/* Load the snapshot at path into e, which must hold nothing (else
 * QUOTA_ERR_WRONG_STATE, nothing changed). */
int quota__snapshot_load(quota_engine *e, const char *path);

#endif
