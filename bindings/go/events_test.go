package quota

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

type recorder struct {
	mu  sync.Mutex
	evs []Event
}

func (r *recorder) on(ev Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
}

func (r *recorder) events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.evs...)
}

func TestEveryTransitionInOrder(t *testing.T) {
	var rec recorder
	e := vcpuEngine(t, 16, Options{OnEvent: rec.on})
	must1[Answer](t)(e.Reserve(vcpuClaim("a", 1)))
	must(t, e.Commit("apps", "a"))
	must(t, e.Release("apps", "a"))
	must1[Answer](t)(e.Acquire(vcpuClaim("big", 16)))
	q := vcpuClaim("q", 2)
	q.Flags = ClaimQueue
	must1[Answer](t)(e.Reserve(q))
	must(t, e.Release("apps", "big"))
	must(t, e.Release("apps", "q"))
	must1[Answer](t)(e.Acquire(vcpuClaim("full", 16)))
	p := vcpuClaim("p", 2) // under the limit, over what is free: it waits
	p.Flags = ClaimQueue
	must1[Answer](t)(e.Reserve(p))
	must(t, e.Release("apps", "p"))
	R, G, X, P := StateReserved, StateGranted, StateReleased, StatePending
	want := []Event{
		{EventReserved, 0, R, "apps", "a"},
		{EventGranted, R, G, "apps", "a"},
		{EventReleased, G, X, "apps", "a"},
		{EventGranted, 0, G, "apps", "big"},
		{EventQueued, 0, P, "apps", "q"},
		{EventReleased, G, X, "apps", "big"},
		{EventReserved, P, R, "apps", "q"},
		{EventReleased, R, X, "apps", "q"},
		{EventGranted, 0, G, "apps", "full"},
		{EventQueued, 0, P, "apps", "p"},
		{EventDequeued, P, X, "apps", "p"},
	}
	if got := rec.events(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	wantEq(t, "names", fmt.Sprint(EventDequeued, " ", StatePending), "Dequeued Pending")
}

func TestExpiryEvent(t *testing.T) {
	var rec recorder
	clk := NewManualClock(start)
	e := vcpuEngine(t, 16, Options{OnEvent: rec.on, Clock: clk.Now})
	c := vcpuClaim("t", 1)
	c.TTL = 5 * time.Millisecond
	must1[Answer](t)(e.Reserve(c))
	clk.Advance(5 * time.Millisecond)
	wantEq(t, "expired", must1[uint64](t)(e.Tick(time.Time{})), uint64(1))
	evs := rec.events()
	wantEq(t, "last", evs[len(evs)-1], Event{EventExpired, StateReserved, StateReleased, "apps", "t"})
}

// OnEvent may call the engine; the events of its nested calls come after
// the event it is handling, and the outer call's error detail is its own.
func TestOnEventMayCallTheEngine(t *testing.T) {
	var states []ClaimState
	var e *Engine
	clk := NewManualClock(start)
	e = vcpuEngine(t, 16, Options{Clock: clk.Now, OnEvent: func(ev Event) {
		info, err := e.GetClaim(ev.Namespace, ev.Name)
		if err != nil {
			t.Errorf("GetClaim in OnEvent: %v", err)
			return
		}
		states = append(states, info.State)
		if ev.Name == "first" && ev.Type == EventGranted {
			must(t, e.Release(ev.Namespace, ev.Name))
		}
		_, err = e.GetRegistration("no/such") // fails: must not clobber the outer detail
		wantErr(t, err, ErrNotFound)
	}})
	must1[Answer](t)(e.Acquire(vcpuClaim("first", 1)))
	wantEq(t, "states", fmt.Sprint(states), "[Granted Released]")
	wantEq(t, "released by the callback", getBucket(t, e, acme, vcpus).Allocated, int64(0))

	c := vcpuClaim("t", 1)
	c.TTL = 5 * time.Millisecond
	must1[Answer](t)(e.Reserve(c))
	clk.Advance(10 * time.Millisecond)
	qe := wantErr(t, e.Commit("apps", "t"), ErrWrongState)
	if !strings.Contains(qe.Detail, "apps/t: expired before it was committed") {
		t.Errorf("detail %q", qe.Detail)
	}
}

// A panic in OnEvent reaches the caller whose call delivered the event;
// the events after it are delivered by the next call.
func TestOnEventPanics(t *testing.T) {
	var names []string
	e := vcpuEngine(t, 16, Options{OnEvent: func(ev Event) {
		names = append(names, ev.Name)
		if ev.Name == "boom" && ev.Type == EventGranted {
			panic("boom")
		}
	}})
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v", r)
			}
		}()
		must1[Answer](t)(e.Acquire(vcpuClaim("boom", 1)))
	}()
	wantEq(t, "the claim was made", getClaim(t, e, "apps", "boom").State, StateGranted)
	must1[Answer](t)(e.Acquire(vcpuClaim("next", 1)))
	wantEq(t, "names", strings.Join(names, " "), "boom next")
}

func TestEventsPendingAtCloseAreDelivered(t *testing.T) {
	var rec recorder
	e := vcpuEngine(t, 16, Options{OnEvent: rec.on})
	// Queue an event without delivering it, as if another goroutine's call
	// had just posted it.
	e.hooks.ev.mu.Lock()
	e.hooks.ev.queue = append(e.hooks.ev.queue, Event{Type: EventGranted, Name: "z"})
	e.hooks.ev.pending.Store(true)
	e.hooks.ev.mu.Unlock()
	must(t, e.Close())
	evs := rec.events()
	if len(evs) != 1 || evs[0].Name != "z" {
		t.Fatalf("events %+v", evs)
	}
}

func TestEventsFromManyGoroutines(t *testing.T) {
	var mu sync.Mutex
	seen := map[string][]EventType{}
	e := vcpuEngine(t, 1_000_000, Options{OnEvent: func(ev Event) {
		mu.Lock()
		seen[ev.Name] = append(seen[ev.Name], ev.Type)
		mu.Unlock()
	}})
	const goroutines, each = 8, 200
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				name := fmt.Sprintf("g%d-%d", g, i)
				if _, err := e.Reserve(vcpuClaim(name, 1)); err != nil {
					t.Error(err)
					return
				}
				if err := e.Commit("apps", name); err != nil {
					t.Error(err)
				}
				if err := e.Release("apps", name); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Wait()
	wantEq(t, "claims seen", len(seen), goroutines*each)
	for name, types := range seen {
		if !reflect.DeepEqual(types, []EventType{EventReserved, EventGranted, EventReleased}) {
			t.Fatalf("%s: %v", name, types)
		}
	}
}
