package quota

// The engine's C hooks: the clock and the claim event callback.
//
// The library calls both from inside its calls: the clock with engine
// locks held, on the thread (and so the goroutine) making the call; the
// event callback with no lock held, on whichever thread delivers. Neither
// runs user code that could block the library or unwind through its
// frames: the event callback only copies the event into a queue and wakes
// the goroutines waiting on that claim (AcquireWait), and OnEvent runs
// later from Engine.leave, after the library call has returned, like the
// Python bindings' callback.

/*
#include "shim.h"
*/
import "C"

import (
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
)

// hooks is what the C callbacks reach through their cgo.Handle.
type hooks struct {
	clock      func() time.Time
	clockPanic atomic.Pointer[recovered]
	ev         events
}

type recovered struct{ value interface{} }

// after runs once a library call has returned on this goroutine.
func (h *hooks) after() {
	if h.clockPanic.Load() != nil { // a load first: a swap locks the bus
		if p := h.clockPanic.Swap(nil); p != nil {
			panic(p.value)
		}
	}
	if h.ev.pending.Load() {
		h.ev.drain()
	}
}

//export goquotaClock
func goquotaClock(payload C.uintptr_t) (ns C.int64_t) {
	h := cgo.Handle(payload).Value().(*hooks)
	defer func() {
		if r := recover(); r != nil {
			h.clockPanic.CompareAndSwap(nil, &recovered{r})
			ns = 0 // the engine reads this as "no time passed"
		}
	}()
	return C.int64_t(h.clock().UnixNano())
}

//export goquotaEvent
func goquotaEvent(ev *C.quota_event, payload C.uintptr_t) {
	cgo.Handle(payload).Value().(*hooks).ev.post(ev)
}

type claimKey struct{ ns, name string }

// waiter is a goroutine waiting for the transitions of one claim.
type waiter struct {
	wake chan struct{} // capacity 1: a transition happened since the last look
	last EventType     // the latest transition, under events.mu
}

// events fans claim transitions out to OnEvent and to waiters.
type events struct {
	onEvent    func(Event)
	pending    atomic.Bool // queue is not empty
	nwaiters   atomic.Int32
	mu         sync.Mutex
	queue      []Event
	delivering bool
	waiters    map[claimKey][]*waiter
}

// post runs inside the library's event callback: copy, queue, wake.
// It never blocks on anything but mu, which nobody holds for long.
func (x *events) post(ev *C.quota_event) {
	if x.onEvent == nil && x.nwaiters.Load() == 0 {
		return
	}
	e := Event{
		Type:      EventType(ev._type),
		PrevState: ClaimState(ev.prev_state),
		State:     ClaimState(ev.state),
		Namespace: C.GoString(ev.ns),
		Name:      C.GoString(ev.name),
	}
	x.mu.Lock()
	if x.onEvent != nil {
		x.queue = append(x.queue, e)
		x.pending.Store(true)
	}
	for _, w := range x.waiters[claimKey{e.Namespace, e.Name}] {
		w.last = e.Type
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	x.mu.Unlock()
}

// drain hands queued events to OnEvent, unless this goroutine (an
// OnEvent that called the engine) or another one is doing so already;
// that one then delivers them, so they stay in order.
func (x *events) drain() {
	x.mu.Lock()
	if x.delivering {
		x.mu.Unlock()
		return
	}
	x.delivering = true
	for len(x.queue) > 0 {
		ev := x.queue[0]
		x.queue = x.queue[1:]
		x.mu.Unlock()
		x.deliver(ev)
		x.mu.Lock()
	}
	x.queue = nil
	x.pending.Store(false)
	x.delivering = false
	x.mu.Unlock()
}

// deliver calls OnEvent; if it panics, the next drain takes over.
func (x *events) deliver(ev Event) {
	ok := false
	defer func() {
		if !ok {
			x.mu.Lock()
			x.delivering = false
			x.mu.Unlock()
		}
	}()
	x.onEvent(ev)
	ok = true
}

func (x *events) wait(k claimKey) *waiter {
	w := &waiter{wake: make(chan struct{}, 1)}
	x.mu.Lock()
	if x.waiters == nil {
		x.waiters = map[claimKey][]*waiter{}
	}
	x.waiters[k] = append(x.waiters[k], w)
	x.nwaiters.Add(1)
	x.mu.Unlock()
	return w
}

func (x *events) unwait(k claimKey, w *waiter) {
	x.mu.Lock()
	ws := x.waiters[k]
	for i := range ws {
		if ws[i] == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(x.waiters, k)
	} else {
		x.waiters[k] = ws
	}
	x.nwaiters.Add(-1)
	x.mu.Unlock()
}

func (x *events) lastOf(w *waiter) EventType {
	x.mu.Lock()
	defer x.mu.Unlock()
	return w.last
}
