package quota

/*
#include "shim.h"
*/
import "C"

// JournalStats is the state of a durable engine's journal
// (quota_journal_stats). An engine in memory has Durable false and the
// rest zero.
type JournalStats struct {
	Durable     bool   // the engine has a journal
	Failed      bool   // a failed fsync stopped all changes
	LastSeq     uint64 // sequence number of the last record
	SyncedSeq   uint64 // every record up to this one is fsynced
	SnapshotSeq uint64 // the snapshot holds every record up to this one
	Records     uint64 // records written since the engine was created
	Bytes       uint64 // size of the journal file
	Fsyncs      uint64 // fsyncs of the journal since creation
	Compactions uint64 // compactions since creation
	Replayed    uint64 // records replayed at creation
	CutBytes    uint64 // bytes of a torn tail cut at creation
}

// JournalStats reads the state of the engine's journal.
func (e *Engine) JournalStats() (JournalStats, error) {
	const op = "journal stats"
	c, err := e.enter(op)
	if err != nil {
		return JournalStats{}, err
	}
	var st C.quota_journal_stats
	s := cJournalStats(c, &st)
	e.leave()
	if err := status(op, s); err != nil {
		return JournalStats{}, err
	}
	return JournalStats{
		Durable:     st.durable != 0,
		Failed:      st.failed != 0,
		LastSeq:     uint64(st.last_seq),
		SyncedSeq:   uint64(st.synced_seq),
		SnapshotSeq: uint64(st.snapshot_seq),
		Records:     uint64(st.records),
		Bytes:       uint64(st.bytes),
		Fsyncs:      uint64(st.fsyncs),
		Compactions: uint64(st.compactions),
		Replayed:    uint64(st.replayed),
		CutBytes:    uint64(st.cut_bytes),
	}, nil
}

// Sync makes every change acknowledged so far durable (an fsync of the
// journal), whatever the sync mode; a no-op for an engine in memory.
// Errors: ErrIO (the engine then refuses changes until it is recreated).
func (e *Engine) Sync() error {
	const op = "sync"
	c, err := e.enter(op)
	if err != nil {
		return err
	}
	s := cSync(c)
	e.leave()
	return status(op, s)
}

// Compact writes a snapshot of the whole engine and starts a fresh
// journal after it, atomically; other goroutines keep working meanwhile.
// Errors: ErrInvalid (the engine has no journal), ErrIO, ErrNoMemory,
// ErrUnsupported (a libquota without snapshots).
func (e *Engine) Compact() error {
	const op = "compact"
	c, err := e.enter(op)
	if err != nil {
		return err
	}
	s := cCompact(c)
	e.leave()
	return status(op, s)
}
