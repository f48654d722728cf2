package quota

/*
#include "shim.h"
*/
import "C"

import (
	"math"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Options configure an engine. The zero value gives the library's
// defaults.
type Options struct {
	// Stripes is the number of lock stripes, a power of two up to 65536;
	// 0 means the default (64).
	Stripes uint32

	// Clock, when set, is the engine's time source instead of the real
	// time (see ManualClock). It runs inside library calls with engine
	// locks held, on the goroutine making the call: it must be quick and
	// must not call the engine. A panic in it is recovered (the engine is
	// told that no time passed) and raised again by the engine method in
	// progress once the library call has returned.
	Clock func() time.Time

	// ReleasedRetention is how long a released or expired claim stays
	// readable, so that a retried release is a no-op and a late commit is
	// told ErrWrongState. 0 means the default (60s); a negative value
	// forgets released claims at once.
	ReleasedRetention time.Duration

	// HashKey keys the engine's hash tables; zero means a random key.
	// Set it only for reproducible tests.
	HashKey [2]uint64

	// OnEvent, when set, is called for every claim transition, one event
	// at a time, in the order of the transitions. It runs on the
	// goroutine of an engine call, after the library call that delivered
	// the event has returned (usually the call that caused the
	// transition; with several goroutines, possibly another one), so it
	// may call the engine. Keep it short: the engine call it runs in does
	// not return before it does.
	OnEvent func(Event)

	// NoEvents turns the library's event callback off. Every claim
	// transition then saves an allocation and a call from C into Go
	// (about a quarter of an Acquire and Release); OnEvent must be nil,
	// and AcquireWait and ReserveWait return ErrUnsupported.
	NoEvents bool

	// JournalPath, when set, makes the engine durable: it recovers the
	// state kept at this path (and beside it: .snapshot, .lock, ...) when
	// it is created and records every change there before the change is
	// acknowledged. A second engine on the same path, in this process or
	// another, gets ErrInUse. See doc/durability.md.
	JournalPath string

	// Sync says when journal records are fsynced: SyncAlways (the
	// default: before a change returns), SyncBatch (within SyncInterval)
	// or SyncNone (only on Sync; survives a killed process, not a power
	// loss).
	Sync SyncMode

	// SyncInterval is, with SyncBatch, the longest an acknowledged change
	// waits for the fsync that makes it durable; 0 means 10ms. Rounded up
	// to whole milliseconds.
	SyncInterval time.Duration
}

// SyncMode says when a durable engine fsyncs its journal.
type SyncMode int32

// The sync modes (quota_sync_mode).
const (
	SyncAlways SyncMode = C.QUOTA_SYNC_ALWAYS
	SyncBatch  SyncMode = C.QUOTA_SYNC_BATCH
	SyncNone   SyncMode = C.QUOTA_SYNC_NONE
)

// Engine holds registrations, grants, buckets and claims. All methods
// are safe for concurrent use. Close it when done; a call after Close
// returns ErrWrongState.
type Engine struct {
	mu     sync.RWMutex   // read: a library call is in progress; write: closing
	c      unsafe.Pointer // the quota_engine; nil once closed
	hooks  *hooks
	handle cgo.Handle
	done   chan struct{} // closed by Close
	events bool          // the library reports claim transitions

	// The open quota_bucket_handles, closed by Close. OpenBucket adds to
	// it under the read lock (and handlesMu, against other OpenBuckets);
	// the handles' and the engine's Close change it under the write lock.
	handlesMu sync.Mutex
	handles   map[unsafe.Pointer]struct{}
}

// NewEngine creates an engine.
//
// Errors: ErrInvalid (bad stripes, sync mode or interval; a journal
// path that is not a journal), ErrNoMemory, ErrUnsupported (the loaded
// libquota is older than the headers the bindings were built with, or of
// another major version; a journal from a newer format), and with a
// journal: ErrInUse (another engine has it), ErrCorrupt (damage before
// its tail), ErrIO.
func NewEngine(opts Options) (*Engine, error) {
	const op = "new engine"
	if err := initLibrary(); err != nil {
		return nil, err
	}
	if opts.NoEvents && opts.OnEvent != nil {
		return nil, errInvalid(op, "OnEvent", "set with NoEvents")
	}
	h := &hooks{clock: opts.Clock, ev: events{onEvent: opts.OnEvent}}
	handle := cgo.NewHandle(h)
	retention := int64(-1)
	switch {
	case opts.ReleasedRetention > 0:
		retention = ceilMS(opts.ReleasedRetention)
	case opts.ReleasedRetention < 0:
		retention = 0
	}
	interval := int64(0)
	if opts.SyncInterval > 0 {
		interval = ceilMS(opts.SyncInterval)
	}
	if opts.SyncInterval < 0 || interval > math.MaxUint32 {
		handle.Delete()
		return nil, errInvalid(op, "SyncInterval", "must be from 0 to 4294967295ms")
	}
	var path *C.char
	if opts.JournalPath != "" {
		if strings.IndexByte(opts.JournalPath, 0) >= 0 {
			handle.Delete()
			return nil, errInvalid(op, "JournalPath", "contains a NUL byte")
		}
		path = C.CString(opts.JournalPath)
		defer C.free(unsafe.Pointer(path))
	}
	var c *C.quota_engine
	s := C.gq_engine_new(&c, C.uint32_t(opts.Stripes), C.int64_t(retention),
		C.uint64_t(opts.HashKey[0]), C.uint64_t(opts.HashKey[1]), C.uintptr_t(handle),
		cBool(opts.Clock != nil), cBool(!opts.NoEvents), path, C.int32_t(opts.Sync),
		C.uint32_t(interval))
	if err := status(op, s); err != nil {
		handle.Delete()
		return nil, err
	}
	e := &Engine{c: unsafe.Pointer(c), hooks: h, handle: handle, handles: map[unsafe.Pointer]struct{}{},
		done: make(chan struct{}), events: !opts.NoEvents}
	// The callbacks reach the hooks, not the engine, and the engine does
	// not point back at its BucketHandles, so an engine dropped without
	// Close can be collected and freed.
	runtime.SetFinalizer(e, func(e *Engine) { e.close(false) })
	return e, nil
}

// Close frees the engine, closing its open bucket handles first. Events
// not yet delivered to OnEvent are delivered before. Calls in progress on
// other goroutines finish first; later calls return ErrWrongState, and
// AcquireWait and ReserveWait return at once. Close is idempotent and
// always returns nil.
func (e *Engine) Close() error {
	e.close(true)
	return nil
}

func (e *Engine) close(deliver bool) {
	if deliver {
		e.hooks.ev.drain()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.c == nil {
		return
	}
	for h := range e.handles {
		C.quota_bucket_handle_close((*C.quota_bucket_handle)(h))
	}
	e.handles = nil
	C.quota_engine_free((*C.quota_engine)(e.c))
	e.c = nil
	e.handle.Delete()
	close(e.done)
	runtime.SetFinalizer(e, nil)
}

// enter starts a library call: it holds the engine open until leave.
func (e *Engine) enter(op string) (unsafe.Pointer, error) {
	e.mu.RLock()
	if e.c == nil {
		e.mu.RUnlock()
		return nil, errClosed(op)
	}
	return e.c, nil
}

// leave ends a library call: it raises a panic of the clock and delivers
// pending events, now that no library frame is on the stack.
func (e *Engine) leave() {
	e.mu.RUnlock()
	e.hooks.after()
}

// Tick applies time-based transitions at now (the zero time: the
// engine's clock): it expires reservations whose TTL passed and pending
// claims whose queue deadline passed, returning their capacity, and
// forgets released claims past their retention. Expiry also happens
// lazily; Tick only makes it prompt. It returns the number of
// reservations it expired.
func (e *Engine) Tick(now time.Time) (expired uint64, err error) {
	const op = "tick"
	var ns int64
	if !now.IsZero() {
		ns = now.UnixNano()
	}
	c, err := e.enter(op)
	if err != nil {
		return 0, err
	}
	var n C.uint64_t
	s := cTick(c, ns, &n)
	e.leave()
	return uint64(n), status(op, s)
}

// Now is the engine's current time (its clock).
func (e *Engine) Now() (time.Time, error) {
	const op = "now"
	c, err := e.enter(op)
	if err != nil {
		return time.Time{}, err
	}
	var ns C.int64_t
	s := cNow(c, &ns)
	e.leave()
	return time.Unix(0, int64(ns)), status(op, s)
}

// SetParent makes parent the parent of child (a Project in an
// Organization). Errors: ErrInvalid (a bad reference, a cycle, deeper
// than MaxDepth), ErrInUse (child or a consumer below it holds usage,
// reservations or pending claims), ErrNoMemory.
func (e *Engine) SetParent(child, parent Ref) error {
	return e.setParent("set parent", child, &parent)
}

// ClearParent makes child a root. Errors as SetParent.
func (e *Engine) ClearParent(child Ref) error {
	return e.setParent("clear parent", child, nil)
}

func (e *Engine) setParent(op string, child Ref, parent *Ref) error {
	if err := checkRef(op, "child", child); err != nil {
		return err
	}
	if err := checkOptionalRef(op, "parent", parent); err != nil {
		return err
	}
	c, err := e.enter(op)
	if err != nil {
		return err
	}
	s := cSetParent(c, child, parent)
	e.leave()
	return status(op, s)
}

// Parent is child's parent, or nil for a root.
func (e *Engine) Parent(child Ref) (*Ref, error) {
	const op = "parent"
	if err := checkRef(op, "child", child); err != nil {
		return nil, err
	}
	c, err := e.enter(op)
	if err != nil {
		return nil, err
	}
	var p *C.quota_ref
	s := cGetParent(c, child, &p)
	e.leave()
	if err := status(op, s); err != nil || p == nil {
		return nil, err
	}
	defer freeC(unsafe.Pointer(p))
	r := goRef(p)
	return &r, nil
}

// Stats reads the engine's counters. Each is exact; the set is not one
// atomic reading while other goroutines work.
func (e *Engine) Stats() (Stats, error) {
	const op = "stats"
	c, err := e.enter(op)
	if err != nil {
		return Stats{}, err
	}
	var st C.quota_stats
	s := cStats(c, &st)
	e.leave()
	if err := status(op, s); err != nil {
		return Stats{}, err
	}
	return goStats(&st), nil
}

// Prometheus is the text exposition (format 0.0.4) of the counters and of
// every bucket's gauges.
func (e *Engine) Prometheus() (string, error) {
	const op = "prometheus"
	c, err := e.enter(op)
	if err != nil {
		return "", err
	}
	var text *C.char
	var n C.size_t
	s := cPrometheus(c, &text, &n)
	e.leave()
	if err := status(op, s); err != nil {
		return "", err
	}
	defer freeC(unsafe.Pointer(text))
	return C.GoStringN(text, C.int(n)), nil
}

// Audit lists the most recent denials, oldest first.
func (e *Engine) Audit() ([]Denial, error) {
	const op = "audit"
	c, err := e.enter(op)
	if err != nil {
		return nil, err
	}
	var list **C.quota_denial
	var n C.size_t
	s := cAudit(c, &list, &n)
	e.leave()
	if err := status(op, s); err != nil {
		return nil, err
	}
	return goList(list, n, goDenial), nil
}

// Version is the loaded library's version, e.g. "0.1.0".
func Version() string { return C.GoString(C.quota_version_string()) }

// Features are the feature bits of the loaded library.
func Features() Feature { return Feature(C.quota_features()) }
