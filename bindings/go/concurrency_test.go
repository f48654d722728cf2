package quota

import (
	"errors"
	"fmt"
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
