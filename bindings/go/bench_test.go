package quota

import (
	"fmt"
	"math/rand"
	"sync/atomic"
	"testing"
)

// The hot paths, as doc/performance.md measures them in C: one op is a
// consume and a give-back, a rate take, or an acquire and a release.

func benchEngine(b *testing.B) *Engine {
	e := newEngine(b, Options{NoEvents: true})
	register(b, e, vcpus, func(r *Registration) { r.DefaultLimit = 1 << 50 })
	return e
}

func BenchmarkHandleConsumeGiveBack(b *testing.B) {
	e := benchEngine(b)
	h := must1[*BucketHandle](b)(e.OpenBucket(acme, vcpus))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := h.Consume(1); err != nil {
			b.Fatal(err)
		}
		if err := h.GiveBack(1); err != nil {
			b.Fatal(err)
		}
	}
}

// Each goroutine on a bucket of its own, as the C benchmark's threads.
func BenchmarkHandleConsumeGiveBackParallel(b *testing.B) {
	e := benchEngine(b)
	var next atomic.Int32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		own := Ref{Kind: "Organization", Name: fmt.Sprintf("org-%d", next.Add(1))}
		h, err := e.OpenBucket(own, vcpus)
		if err != nil {
			b.Error(err)
			return
		}
		defer h.Close()
		for pb.Next() {
			if _, err := h.Consume(1); err != nil {
				b.Error(err)
				return
			}
			if err := h.GiveBack(1); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// Consumers drawn uniformly; with 100,000 of them, as the C benchmark's
// keyed/uniform, the buckets no longer fit the caches. Each bucket is
// made before the timing starts.
func BenchmarkKeyedConsumeGiveBack(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("consumers=%d", n), func(b *testing.B) { benchKeyed(b, n) })
	}
}

func benchKeyed(b *testing.B, n int) {
	e := benchEngine(b)
	consumers := make([]Ref, n)
	for i := range consumers {
		consumers[i] = Ref{Kind: "Organization", Name: fmt.Sprintf("org-0-%06d", i)}
		must1[Answer](b)(e.Consume(consumers[i], vcpus, 1))
		must(b, e.GiveBack(consumers[i], vcpus, 1))
	}
	rng := rand.New(rand.NewSource(1))
	picks := make([]int32, 1<<16)
	for i := range picks {
		picks[i] = int32(rng.Intn(n))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := consumers[picks[i&(len(picks)-1)]]
		if _, err := e.Consume(c, vcpus, 1); err != nil {
			b.Fatal(err)
		}
		if err := e.GiveBack(c, vcpus, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRateTake(b *testing.B) {
	e := newEngine(b, Options{})
	register(b, e, tokens, func(r *Registration) { r.Class = ClassRate })
	grant(b, e, acme, tokens, GrantBucket{Amount: 1 << 50, Period: PeriodSecond})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.RateTake(acme, tokens, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	b.Run("events", func(b *testing.B) { benchAcquireRelease(b, Options{}) })
	b.Run("no-events", func(b *testing.B) { benchAcquireRelease(b, Options{NoEvents: true}) })
}

func benchAcquireRelease(b *testing.B, opts Options) {
	e := newEngine(b, opts)
	register(b, e, vcpus, func(r *Registration) { r.DefaultLimit = 1 << 50 })
	names := make([]string, 4096)
	for i := range names {
		names[i] = fmt.Sprintf("claim-%04d", i)
	}
	c := Claim{Namespace: "apps", Consumer: acme, Requests: []Request{{ResourceType: vcpus, Amount: 1}}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Name = names[i%len(names)]
		if _, err := e.Acquire(c); err != nil {
			b.Fatal(err)
		}
		if err := e.Release(c.Namespace, c.Name); err != nil {
			b.Fatal(err)
		}
	}
}
