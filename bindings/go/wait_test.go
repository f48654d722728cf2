package quota

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAcquireWaitGrantedAtOnce(t *testing.T) {
	e := vcpuEngine(t, 4, Options{})
	a := must1[Answer](t)(e.AcquireWait(context.Background(), vcpuClaim("now", 4)))
	if a.State != StateGranted || a.Queued() {
		t.Fatalf("answer %+v", a)
	}
	// A denial that queueing cannot fix is returned as is.
	_, err := e.AcquireWait(context.Background(), Claim{Name: "bad", Consumer: acme})
	wantErr(t, err, ErrInvalid)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = e.AcquireWait(ctx, vcpuClaim("late", 1))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	_, err = e.GetClaim("apps", "late")
	wantErr(t, err, ErrNotFound) // never made
}

func TestAcquireWaitNeedsEvents(t *testing.T) {
	_, err := NewEngine(Options{NoEvents: true, OnEvent: func(Event) {}})
	wantErr(t, err, ErrInvalid)
	e := vcpuEngine(t, 4, Options{NoEvents: true})
	_, err = e.AcquireWait(context.Background(), vcpuClaim("w", 1))
	wantErr(t, err, ErrUnsupported)
	_, err = e.ReserveWait(context.Background(), vcpuClaim("w", 1))
	wantErr(t, err, ErrUnsupported)
	must1[Answer](t)(e.Acquire(vcpuClaim("w", 1)))
}

type waited struct {
	a   Answer
	err error
}

// inBackground starts wait (AcquireWait or ReserveWait) for c on another
// goroutine and returns once the claim waits in the queue.
func inBackground(t *testing.T, e *Engine, ctx context.Context,
	wait func(context.Context, Claim) (Answer, error), c Claim) <-chan waited {
	t.Helper()
	pending := getBucket(t, e, c.Consumer, c.Requests[0].ResourceType).Pending
	done := make(chan waited, 1)
	go func() {
		a, err := wait(ctx, c)
		done <- waited{a, err}
	}()
	waitFor(t, func() bool { return getBucket(t, e, c.Consumer, c.Requests[0].ResourceType).Pending == pending+1 })
	return done
}

// fullEngine: acme's 4 vCPUs are held by the claim "holder".
func fullEngine(t *testing.T) *Engine {
	e := vcpuEngine(t, 4, Options{})
	must1[Answer](t)(e.Acquire(vcpuClaim("holder", 4)))
	return e
}

func TestAcquireWaitIsGrantedWhenCapacityReturns(t *testing.T) {
	e := fullEngine(t)
	done := inBackground(t, e, context.Background(), e.AcquireWait, vcpuClaim("waiter", 2))
	select {
	case w := <-done:
		t.Fatalf("returned before capacity came back: %+v", w)
	case <-time.After(20 * time.Millisecond):
	}
	must(t, e.Release("apps", "holder"))
	w := <-done
	must(t, w.err)
	if w.a.State != StateGranted || !w.a.Queued() {
		t.Fatalf("answer %+v", w.a)
	}
	wantEq(t, "allocated", getBucket(t, e, acme, vcpus).Allocated, int64(2))
}

func TestAcquireWaitCancelDequeues(t *testing.T) {
	e := fullEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := inBackground(t, e, ctx, e.AcquireWait, vcpuClaim("waiter", 2))
	cancel()
	if w := <-done; !errors.Is(w.err, context.Canceled) {
		t.Fatalf("err %v", w.err)
	}
	wantEq(t, "state", getClaim(t, e, "apps", "waiter").State, StateReleased)
	wantEq(t, "pending", getBucket(t, e, acme, vcpus).Pending, int64(0))
	must(t, e.Release("apps", "holder"))
	wantEq(t, "nothing admitted", getBucket(t, e, acme, vcpus).Allocated, int64(0))
	wantEq(t, "dequeued", must1[Stats](t)(e.Stats()).Dequeued, uint64(1))
}

func TestAcquireWaitTimeout(t *testing.T) {
	e := fullEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	began := time.Now()
	a, err := e.AcquireWait(ctx, vcpuClaim("waiter", 1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if waited := time.Since(began); waited < 30*time.Millisecond {
		t.Errorf("returned after %v", waited)
	}
	wantEq(t, "answer of the queued claim", a.Queued(), true)
	wantEq(t, "pending", getBucket(t, e, acme, vcpus).Pending, int64(0))
}

func TestAcquireWaitQueueTimeout(t *testing.T) {
	e := fullEngine(t)
	c := vcpuClaim("waiter", 1)
	c.QueueTimeout = 20 * time.Millisecond
	_, err := e.AcquireWait(context.Background(), c)
	qe := wantErr(t, err, ErrWrongState)
	if !strings.Contains(qe.Detail, "queue deadline passed") || qe.Answer.State != StateReleased {
		t.Fatalf("error %v, answer %+v", qe, qe.Answer)
	}
}

func TestAcquireWaitReleasedByAnother(t *testing.T) {
	e := fullEngine(t)
	done := inBackground(t, e, context.Background(), e.AcquireWait, vcpuClaim("waiter", 1))
	must(t, e.Release("apps", "waiter"))
	qe := wantErr(t, (<-done).err, ErrWrongState)
	if !strings.Contains(qe.Detail, "another caller released it") {
		t.Fatalf("detail %q", qe.Detail)
	}
}

func TestCloseWakesWaiters(t *testing.T) {
	e := fullEngine(t)
	done := inBackground(t, e, context.Background(), e.AcquireWait, vcpuClaim("waiter", 1))
	must(t, e.Close())
	qe := wantErr(t, (<-done).err, ErrWrongState)
	wantEq(t, "detail", qe.Detail, "engine is closed")
}

func TestReserveWait(t *testing.T) {
	e := fullEngine(t)
	done := inBackground(t, e, context.Background(), e.ReserveWait, vcpuClaim("waiter", 4))
	must(t, e.Release("apps", "holder"))
	w := <-done
	must(t, w.err)
	wantEq(t, "state", w.a.State, StateReserved)
	must(t, e.Commit("apps", "waiter"))
}

// A claim queued behind a rate limit is admitted when the rate lets it
// through: the waiter ticks the engine then, since no thread wakes it.
func TestAcquireWaitBehindARate(t *testing.T) {
	e := newEngine(t, Options{})
	register(t, e, tokens, func(r *Registration) { r.Class = ClassRate })
	grant(t, e, acme, tokens, GrantBucket{Amount: 100, Period: PeriodSecond, ViolationAction: ActionQueue})
	must1[Answer](t)(e.RateTake(acme, tokens, 100))
	c := Claim{Name: "job", Consumer: acme, Requests: []Request{{ResourceType: tokens, Amount: 5}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	began := time.Now()
	a, err := e.AcquireWait(ctx, c)
	must(t, err)
	if a.State != StateGranted || !a.Queued() {
		t.Fatalf("answer %+v", a)
	}
	if waited := time.Since(began); waited < 40*time.Millisecond {
		t.Errorf("admitted after %v, before the rate allowed 5 more", waited)
	}
}

// Waiters on one bucket are admitted in the order they queued.
func TestManyWaitersFIFO(t *testing.T) {
	e := vcpuEngine(t, 1, Options{})
	must1[Answer](t)(e.Acquire(vcpuClaim("holder", 1)))
	const n = 10
	order := make(chan string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("w%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.AcquireWait(context.Background(), vcpuClaim(name, 1)); err != nil {
				t.Error(err)
				return
			}
			order <- name
			must(t, e.Release("apps", name))
		}()
		waitFor(t, func() bool { return getBucket(t, e, acme, vcpus).Pending == int64(i+1) })
	}
	must(t, e.Release("apps", "holder"))
	wg.Wait()
	close(order)
	i := 0
	for name := range order {
		wantEq(t, "admitted", name, fmt.Sprintf("w%d", i))
		i++
	}
	wantEq(t, "admitted", i, n)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
