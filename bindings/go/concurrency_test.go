package quota

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

const goroutines = 16

func parallel(t *testing.T, work func(g int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			if err := work(g); err != nil {
				errs <- err
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestConsumeGiveBackTotalsAreExact(t *testing.T) {
	e := vcpuEngine(t, Unlimited, Options{})
	const rounds = 2000
	parallel(t, func(g int) error {
		for i := 0; i < rounds; i++ {
			if _, err := e.Consume(acme, vcpus, 3); err != nil {
				return err
			}
			if err := e.GiveBack(acme, vcpus, 2); err != nil {
				return err
			}
		}
		return nil
	})
	wantEq(t, "allocated", getBucket(t, e, acme, vcpus).Allocated, int64(goroutines*rounds))
}

// Many goroutines race to fill a bucket: exactly the limit is granted.
func TestFillingStopsExactlyAtTheLimit(t *testing.T) {
	const limit = 10_000
	e := vcpuEngine(t, limit, Options{})
	var granted, denied atomic.Int64
	parallel(t, func(g int) error {
		for {
			_, err := e.Consume(acme, vcpus, 7)
			switch {
			case err == nil:
				granted.Add(7)
			case errors.Is(err, ErrExceeded):
				denied.Add(1)
				if getBucket(t, e, acme, vcpus).Available < 7 {
					return nil
				}
			default:
				return err
			}
		}
	})
	b := getBucket(t, e, acme, vcpus)
	wantEq(t, "allocated", b.Allocated, granted.Load())
	wantEq(t, "filled", b.Allocated, int64(limit/7*7))
	st := must1[Stats](t)(e.Stats())
	wantEq(t, "denials counted", st.DeniedExceeded, uint64(denied.Load()))
}

func TestSharedHandle(t *testing.T) {
	const limit = 5_000
	e := vcpuEngine(t, limit, Options{})
	h := must1[*BucketHandle](t)(e.OpenBucket(acme, vcpus))
	var granted atomic.Int64
	parallel(t, func(g int) error {
		for i := 0; i < 1000; i++ {
			if _, err := h.Consume(1); err == nil {
				granted.Add(1)
			} else if !errors.Is(err, ErrExceeded) {
				return err
			}
		}
		return nil
	})
	wantEq(t, "granted", granted.Load(), int64(limit))
	wantEq(t, "allocated", getBucket(t, e, acme, vcpus).Allocated, int64(limit))
	parallel(t, func(g int) error {
		for i := 0; i < limit/goroutines; i++ {
			if err := h.GiveBack(1); err != nil {
				return err
			}
		}
		return nil
	})
	wantEq(t, "left", getBucket(t, e, acme, vcpus).Allocated, int64(limit%goroutines))
}

// Claims from many goroutines over two types: never past either limit,
// and every total adds up once all are released.
func TestClaimsAreExact(t *testing.T) {
	e := vcpuEngine(t, 100, Options{})
	register(t, e, memory, func(r *Registration) { r.DefaultLimit = 150 })
	var held, peak atomic.Int64
	parallel(t, func(g int) error {
		for i := 0; i < 300; i++ {
			name := fmt.Sprintf("g%d-%d", g, i)
			c := vcpuClaim(name, 2)
			c.Requests = append(c.Requests, Request{ResourceType: memory, Amount: 3})
			_, err := e.Acquire(c)
			if errors.Is(err, ErrExceeded) {
				continue
			}
			if err != nil {
				return err
			}
			if n := held.Add(1); n > peak.Load() {
				peak.Store(n)
			}
			b, err := e.GetBucket(acme, vcpus)
			if err != nil {
				return err
			}
			if b.Allocated > 100 {
				return fmt.Errorf("allocated %d past the limit", b.Allocated)
			}
			held.Add(-1)
			if err := e.Release("apps", name); err != nil {
				return err
			}
		}
		return nil
	})
	if peak.Load() > 50 {
		t.Errorf("%d claims held at once; memory allows 50", peak.Load())
	}
	for _, typ := range []string{vcpus, memory} {
		b := getBucket(t, e, acme, typ)
		if b.Allocated != 0 || b.Reserved != 0 || b.ClaimCount != 0 {
			t.Errorf("%s after all releases: %+v", typ, b)
		}
	}
	st := must1[Stats](t)(e.Stats())
	wantEq(t, "decisions add up", st.Allowed+st.DeniedExceeded, st.Decisions)
	wantEq(t, "every allowed claim released", st.Released, st.Allowed)
}

// Handles opened and closed while the engine closes: none is left behind
// (the race detector and the library's allocation count would tell).
func TestOpenBucketRacesClose(t *testing.T) {
	countingAllocator(t)
	for round := 0; round < 20; round++ {
		e := vcpuEngine(t, 10, Options{})
		var wg sync.WaitGroup
		var opened atomic.Int64
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					h, err := e.OpenBucket(acme, vcpus)
					opened.Add(1)
					if err != nil {
						if !errors.Is(err, ErrWrongState) {
							t.Error(err)
						}
						return
					}
					if _, err := h.Consume(1); err == nil {
						_ = h.GiveBack(1)
					}
					_ = h.Close()
				}
			}()
		}
		waitFor(t, func() bool { return opened.Load() > 200 })
		must(t, e.Close())
		wg.Wait()
		wantEq(t, "allocations after close", testAllocationsLive(), int64(0))
	}
}

// Goroutines admit objects against one engine while policies are
// re-applied: never more is held than the limit, exactly the limit is
// admitted in the end, retries charge nothing, and each denial's detail
// names its own object.
func TestAdmitConcurrentlyNeverOverTheLimit(t *testing.T) {
	const limit, perGoroutine = 300, 40
	e := referenceEngine(t, limit, Options{})
	var allowed atomic.Int64
	done := make(chan struct{})
	var background sync.WaitGroup
	background.Add(2)
	go func() { // watch the bucket
		defer background.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			b, err := e.GetBucket(miloAcme, resources)
			if err == nil && b.Allocated+b.Reserved > limit {
				t.Errorf("held %d+%d, over the limit %d", b.Allocated, b.Reserved, limit)
				return
			}
		}
	}()
	go func() { // re-apply the policy, changed and back
		defer background.Done()
		p := referenceClaimPolicy()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			p.Constraints = nil
			if i%2 == 1 {
				p.Constraints = []Constraint{{Expression: "trigger.spec.size in ['s', 'm']"}}
			}
			if _, err := e.ApplyClaimPolicy(p); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	parallel(t, func(g int) error {
		for i := 0; i < perGoroutine; i++ {
			name := fmt.Sprintf("g%02d-%02d", g, i)
			a := Admission{Trigger: myResource(name, "uid-"+name), User: userIn("acme"), ReserveOnly: g%2 == 1}
			res, err := e.Admit(a)
			switch {
			case err == nil:
				allowed.Add(1)
				if a.ReserveOnly {
					if err := e.Commit(res.Claims[0].Namespace, res.Claims[0].Name); err != nil {
						return err
					}
				}
				// A retry finds its claim, also when the bucket is full.
				again, err := e.Admit(Admission{Trigger: a.Trigger, User: a.User})
				if err != nil || !again.Answer.Existed() || again.Claims[0].Name != res.Claims[0].Name {
					return fmt.Errorf("retry of %s: %v %+v", name, err, again.Answer)
				}
			case errors.Is(err, ErrExceeded):
				var qe *Error
				errors.As(err, &qe)
				if !strings.Contains(qe.Detail, `"`+name+`" is forbidden`) || res.Outcome != AdmitDenied {
					return fmt.Errorf("denial of %s: %q, outcome %v", name, qe.Detail, res.Outcome)
				}
			default:
				return err
			}
		}
		return nil
	})
	close(done)
	background.Wait()
	wantEq(t, "admitted", allowed.Load(), int64(limit))
	wantBucket(t, e, miloAcme, resources, limit, limit, 0, 0)
	granted := must1[[]ClaimInfo](t)(e.ListClaims(ClaimFilter{State: StateGranted}))
	wantEq(t, "granted claims", len(granted), limit)
}
