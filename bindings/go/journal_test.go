package quota

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A durable engine keeps what it acknowledged: a new engine on the same
// journal holds the same registrations, grants, claims and usage.
func TestJournalRecovers(t *testing.T) {
	for _, mode := range []SyncMode{SyncAlways, SyncBatch, SyncNone} {
		path := filepath.Join(t.TempDir(), "journal")
		opts := Options{JournalPath: path, Sync: mode, SyncInterval: 5 * time.Millisecond}
		e := vcpuEngine(t, 8, opts)
		must1[Answer](t)(e.Acquire(vcpuClaim("a", 3)))
		must1[Answer](t)(e.Reserve(vcpuClaim("b", 2)))
		_, err := e.Acquire(vcpuClaim("big", 4))
		wantErr(t, err, ErrExceeded)
		must(t, e.Sync())
		st := must1[JournalStats](t)(e.JournalStats())
		if !st.Durable || st.Records < 4 || st.SyncedSeq != st.LastSeq || st.Bytes == 0 {
			t.Errorf("mode %d: stats after Sync: %+v", mode, st)
		}
		must(t, e.Close())

		r := newEngine(t, opts)
		b := getBucket(t, r, acme, vcpus)
		if b.Limit != 8 || b.Allocated != 3 || b.Reserved != 2 || b.ClaimCount != 1 ||
			b.ReservedCount != 1 {
			t.Errorf("mode %d: recovered bucket %+v", mode, b)
		}
		wantEq(t, "state", getClaim(t, r, "apps", "b").State, StateReserved)
		st = must1[JournalStats](t)(r.JournalStats())
		if st.Replayed < 4 {
			t.Errorf("mode %d: replayed %d records", mode, st.Replayed)
		}
		// the recovered engine goes on from there, and compacts
		must(t, r.Commit("apps", "b"))
		must(t, r.Compact())
		st = must1[JournalStats](t)(r.JournalStats())
		if st.Compactions != 1 || st.SnapshotSeq != st.LastSeq {
			t.Errorf("mode %d: stats after Compact: %+v", mode, st)
		}
		must(t, r.Close())
		c := newEngine(t, opts)
		wantEq(t, "allocated after compaction", getBucket(t, c, acme, vcpus).Allocated,
			int64(5))
		wantEq(t, "state", getClaim(t, c, "apps", "b").State, StateGranted)
	}
}

// One journal, one engine: a second one is refused while the first lives.
func TestJournalInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	newEngine(t, Options{JournalPath: path})
	_, err := NewEngine(Options{JournalPath: path})
	wantErr(t, err, ErrInUse)
}

func TestJournalBadInput(t *testing.T) {
	dir := t.TempDir()
	_, err := NewEngine(Options{JournalPath: filepath.Join(dir, "j"), Sync: 7})
	wantErr(t, err, ErrInvalid)
	_, err = NewEngine(Options{JournalPath: filepath.Join(dir, "j\x00x")})
	wantErr(t, err, ErrInvalid)
	_, err = NewEngine(Options{JournalPath: filepath.Join(dir, "j"), SyncInterval: -time.Second})
	wantErr(t, err, ErrInvalid)
	foreign := filepath.Join(dir, "foreign")
	must(t, os.WriteFile(foreign, []byte("not a journal, just some text that is long enough"), 0o600))
	_, err = NewEngine(Options{JournalPath: foreign})
	if err == nil {
		t.Fatal("a foreign file was taken for a journal")
	}
	data := must1[[]byte](t)(os.ReadFile(foreign))
	wantEq(t, "foreign file", string(data), "not a journal, just some text that is long enough")
}

// An engine in memory: no journal to sync or compact.
func TestJournalInMemory(t *testing.T) {
	e := newEngine(t, Options{})
	must(t, e.Sync())
	st := must1[JournalStats](t)(e.JournalStats())
	if st != (JournalStats{}) {
		t.Errorf("in-memory stats %+v", st)
	}
	err := e.Compact()
	wantErr(t, err, ErrInvalid)
	must(t, e.Close())
	if err := e.Sync(); !errors.Is(err, ErrWrongState) {
		t.Errorf("Sync after Close: %v", err)
	}
}
