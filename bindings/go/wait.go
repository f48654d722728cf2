package quota

import (
	"context"
	"errors"
	"time"
)

// AcquireWait acquires a claim, waiting in the queue for capacity if it
// does not fit now: it sets ClaimQueue, and when the claim becomes
// pending it waits for the engine to admit it (StateGranted) or for ctx
// to end. When ctx ends first the claim is released (dequeued, or given
// back if it was admitted meanwhile) and ctx.Err() is returned.
//
// While the claim waits behind a rate limit, the engine is ticked when
// the answer said the rate would let it through, and at its QueueTimeout;
// with a Clock that is not real time, call Tick yourself.
//
// Errors: those of Acquire; ctx.Err(); ErrWrongState when the claim left
// the queue without being admitted (its QueueTimeout passed, or another
// caller released it) or the engine was closed; ErrUnsupported with
// Options.NoEvents.
func (e *Engine) AcquireWait(ctx context.Context, c Claim) (Answer, error) {
	return e.queueWait(ctx, "acquire wait", opAcquire, c)
}

// ReserveWait is AcquireWait for a reservation: it returns once the claim
// is StateReserved (or StateGranted, with ClaimAutoCommit).
func (e *Engine) ReserveWait(ctx context.Context, c Claim) (Answer, error) {
	return e.queueWait(ctx, "reserve wait", opReserve, c)
}

func (e *Engine) queueWait(ctx context.Context, op string, kind claimOp, c Claim) (Answer, error) {
	if err := ctx.Err(); err != nil {
		return Answer{}, err
	}
	if !e.events {
		return Answer{}, newError(codeUnsupported, op, "the engine was made with NoEvents")
	}
	c.Flags |= ClaimQueue
	key := claimKey{c.Namespace, c.Name}
	// Registered before the claim is made, so no admission is missed.
	w := e.hooks.ev.wait(key)
	defer e.hooks.ev.unwait(key, w)
	ans, err := e.decide(op, kind, &c)
	if err != nil || ans.State != StatePending {
		return ans, err
	}

	ticks := newTicker(ans.RetryAfter, c.QueueTimeout)
	defer ticks.stop()
	for {
		select {
		case <-ctx.Done():
			// Best effort: a closed engine has released everything.
			_ = e.Release(c.Namespace, c.Name)
			return ans, ctx.Err()
		case <-e.done:
			return ans, errClosed(op)
		case <-ticks.c():
			if _, err := e.Tick(time.Time{}); err != nil {
				return ans, err
			}
			ticks.next()
		case <-w.wake:
		}
		// The event only says something happened; the claim's state is
		// the truth (an event of an earlier claim of that name may come
		// late).
		info, err := e.GetClaim(c.Namespace, c.Name)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return ans, err
		}
		if err == nil && info.State == StatePending {
			continue
		}
		if err == nil && info.State != StateReleased {
			ans.State = info.State
			return ans, nil
		}
		why := "another caller released it"
		if e.hooks.ev.lastOf(w) == EventExpired {
			why = "its queue deadline passed"
		}
		ans.State = StateReleased
		left := newError(codeWrongState, op, "claim "+c.Namespace+"/"+c.Name+
			" left the queue without being admitted: "+why)
		left.Answer = &ans
		return ans, left
	}
}

// ticker ticks a waiting claim's engine: every retry (the time a rate
// said it would let the claim through) and once at the queue deadline.
type ticker struct {
	t        *time.Timer
	retry    time.Duration
	deadline time.Time
}

func newTicker(retry, queueTimeout time.Duration) *ticker {
	t := &ticker{retry: retry}
	if queueTimeout > 0 {
		// A millisecond late: the library rounds deadlines to them.
		t.deadline = time.Now().Add(queueTimeout + time.Millisecond)
	}
	t.next()
	return t
}

func (t *ticker) next() {
	var d time.Duration = -1
	if t.retry > 0 {
		d = t.retry
	}
	if !t.deadline.IsZero() {
		if left := time.Until(t.deadline); left > 0 && (d < 0 || left < d) {
			d = left
		} else if left <= 0 {
			t.deadline = time.Time{} // ticked past it once: done
			if d < 0 {
				d = 0
			}
		}
	}
	if d < 0 {
		return
	}
	if t.t == nil {
		t.t = time.NewTimer(d)
	} else {
		t.t.Reset(d)
	}
}

func (t *ticker) c() <-chan time.Time {
	if t.t == nil {
		return nil
	}
	return t.t.C
}

func (t *ticker) stop() {
	if t.t != nil {
		t.t.Stop()
	}
}
