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

func TestAcquireWaitIsGrantedWhenCapacityReturns(t *testing.T) {
	e := vcpuEngine(t, 4, Options{})
	must1[Answer](t)(e.Acquire(vcpuClaim("holder", 3)))
	done := make(chan error, 1)
	var got Answer
	go func() {
		var err error
		got, err = e.AcquireWait(context.Background(), vcpuClaim("waiter", 2))
		done <- err
	}()
	waitFor(t, func() bool { return getBucket(t, e, acme, vcpus).Pending == 1 })
	select {
	case err := <-done:
		t.Fatalf("returned before capacity came back: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	must(t, e.Release("apps", "holder"))
	must(t, <-done)
	if got.State != StateGranted || !got.Queued() {
		t.Fatalf("answer %+v", got)
	}
	wantEq(t, "allocated", getBucket(t, e, acme, vcpus).Allocated, int64(2))
}

func TestAcquireWaitCancelDequeues(t *testing.T) {
	e := vcpuEngine(t, 4, Options{})
	must1[Answer](t)(e.Acquire(vcpuClaim("holder", 4)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.AcquireWait(ctx, vcpuClaim("waiter", 2))
		done <- err
	}()
	waitFor(t, func() bool { return getBucket(t, e, acme, vcpus).Pending == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	wantEq(t, "state", getClaim(t, e, "apps", "waiter").State, StateReleased)
	b := getBucket(t, e, acme, vcpus)
	wantEq(t, "pending", b.Pending, int64(0))
	must(t, e.Release("apps", "holder"))
	wantEq(t, "nothing admitted", getBucket(t, e, acme, vcpus).Allocated, int64(0))
	wantEq(t, "dequeued", must1[Stats](t)(e.Stats()).Dequeued, uint64(1))
}

func TestAcquireWaitTimeout(t *testing.T) {
	e := vcpuEngine(t, 4, Options{})
	must1[Answer](t)(e.Acquire(vcpuClaim("holder", 4)))
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
	e := vcpuEngine(t, 4, Options{})
	must1[Answer](t)(e.Acquire(vcpuClaim("holder", 4)))
	c := vcpuClaim("waiter", 1)
	c.QueueTimeout = 20 * time.Millisecond
	_, err := e.AcquireWait(context.Background(), c)
	qe := wantErr(t, err, ErrWrongState)
	if !strings.Contains(qe.Detail, "queue deadline passed") || qe.Answer.State != StateReleased {
		t.Fatalf("error %v, answer %+v", qe, qe.Answer)
	}
}

func TestAcquireWaitReleasedByAnother(t *testing.T) {
	e := vcpuEngine(t, 4, Options{})
	must1[Answer](t)(e.Acquire(vcpuClaim("holder", 4)))
	done := make(chan error, 1)
	go func() {
		_, err := e.AcquireWait(context.Background(), vcpuClaim("waiter", 1))
		done <- err
	}()
	waitFor(t, func() bool { return getBucket(t, e, acme, vcpus).Pending == 1 })
	must(t, e.Release("apps", "waiter"))
	qe := wantErr(t, <-done, ErrWrongState)
	if !strings.Contains(qe.Detail, "another caller released it") {
		t.Fatalf("detail %q", qe.Detail)
	}
}

func TestCloseWakesWaiters(t *testing.T) {
	e := vcpuEngine(t, 4, Options{})
	must1[Answer](t)(e.Acquire(vcpuClaim("holder", 4)))
	done := make(chan error, 1)
	go func() {
		_, err := e.AcquireWait(context.Background(), vcpuClaim("waiter", 1))
		done <- err
	}()
	waitFor(t, func() bool { return getBucket(t, e, acme, vcpus).Pending == 1 })
	must(t, e.Close())
	qe := wantErr(t, <-done, ErrWrongState)
	wantEq(t, "detail", qe.Detail, "engine is closed")
}

func TestReserveWait(t *testing.T) {
	e := vcpuEngine(t, 4, Options{})
	must1[Answer](t)(e.Acquire(vcpuClaim("holder", 4)))
	done := make(chan Answer, 1)
	go func() {
		a, err := e.ReserveWait(context.Background(), vcpuClaim("waiter", 4))
		if err != nil {
			t.Error(err)
		}
		done <- a
	}()
	waitFor(t, func() bool { return getBucket(t, e, acme, vcpus).Pending == 1 })
	must(t, e.Release("apps", "holder"))
	wantEq(t, "state", (<-done).State, StateReserved)
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
