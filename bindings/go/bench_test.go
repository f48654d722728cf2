package quota

import (
	"encoding/json"
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

// bigTrigger is a 2 KB object like those Milo admits, as the C cost
// measurement of tests/test-admission.c builds it.
func bigTrigger(i int) map[string]any {
	annotations := map[string]any{}
	for k := 0; k < 15; k++ {
		annotations[fmt.Sprintf("example.com/note-%d", k)] =
			fmt.Sprintf("a note that takes some room, as annotations do in real objects %d", k)
	}
	return map[string]any{
		"apiVersion": svcV1,
		"kind":       "MyResource",
		"metadata": map[string]any{
			"name":              fmt.Sprintf("resource-%d", i),
			"namespace":         "team-a",
			"uid":               fmt.Sprintf("6f1c2d3e-4b5a-4c6d-9e8f-%012d", i),
			"generation":        1,
			"creationTimestamp": "2025-01-01T00:00:00Z",
			"labels": map[string]any{"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "shop",
				"tier": "pro", "env": "production"},
			"annotations": annotations,
		},
		"spec": map[string]any{
			"size": "m", "replicas": 3, "org": "acme", "regions": []any{"eu-west", "us-east"},
			"containers": []any{
				map[string]any{"name": "web", "image": "registry.example.com/shop/web:1.2.3", "ports": []any{80, 443}},
				map[string]any{"name": "sidecar", "image": "registry.example.com/mesh/proxy:2.0"},
			},
		},
		"status": map[string]any{"phase": "Pending"},
	}
}

// One op is an admission of a 2 KB trigger through a policy with three
// constraints and two templates (the C measurement's), and the release
// of its claim; the trigger given as a map or as JSON text, or admitted
// as a dry run (nothing to release). The C numbers are in
// doc/policies.md ("Costs").
func BenchmarkAdmit(b *testing.B) {
	b.Run("map", func(b *testing.B) { benchAdmit(b, false, false) })
	b.Run("json", func(b *testing.B) { benchAdmit(b, true, false) })
	b.Run("map-dry-run", func(b *testing.B) { benchAdmit(b, false, true) })
}

func benchAdmit(b *testing.B, asJSON, dry bool) {
	e := policyEngine(b, Options{NoEvents: true})
	must1[int64](b)(e.ApplyGrant(Grant{Name: "g", Consumer: miloAcme,
		Allowances: []Allowance{{ResourceType: resources, Buckets: []GrantBucket{{Amount: Unlimited}}}}}))
	p := referenceClaimPolicy()
	p.Claim.Consumer.Name = "{{ trigger.spec.org }}"
	p.Constraints = []Constraint{
		{Expression: "trigger.metadata.labels.tier in ['pro', 'enterprise']"},
		{Expression: "trigger.spec.replicas <= 10"},
		{Expression: "trigger.spec.regions.all(r, r.startsWith('eu') || r.startsWith('us'))"},
	}
	must1[int64](b)(e.ApplyClaimPolicy(p))
	const objects = 4096
	trigger := bigTrigger(0)
	meta := trigger["metadata"].(map[string]any)
	texts := make([][]byte, objects)
	for i := range texts {
		texts[i] = must1[[]byte](b)(json.Marshal(bigTrigger(i)))
	}
	if n := len(texts[0]); n < 1900 || n > 2300 {
		b.Fatalf("the trigger has %d bytes of JSON", n)
	}
	names := make([][2]string, objects)
	for i := range names {
		m := bigTrigger(i)["metadata"].(map[string]any)
		names[i] = [2]string{m["name"].(string), m["uid"].(string)}
	}
	a := Admission{DryRun: dry}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if asJSON {
			a.Trigger = texts[i%objects]
		} else {
			meta["name"], meta["uid"] = names[i%objects][0], names[i%objects][1]
			a.Trigger = trigger
		}
		res, err := e.Admit(a)
		if err != nil || res.Outcome != AdmitAllowed {
			b.Fatalf("admit: %v %v", res.Outcome, err)
		}
		if !dry {
			if err := e.Release(res.Claims[0].Namespace, res.Claims[0].Name); err != nil {
				b.Fatal(err)
			}
		}
	}
}
