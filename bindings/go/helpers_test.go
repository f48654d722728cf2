package quota

import (
	"errors"
	"testing"
	"time"
)

const (
	vcpus  = "compute.example.com/vcpus"
	memory = "compute.example.com/memory"
	gpus   = "compute.example.com/gpus"
	tokens = "ai.example.com/tokens"
)

var (
	acme  = Ref{Kind: "Organization", Name: "acme"}
	beta  = Ref{Kind: "Organization", Name: "beta"}
	web   = Ref{Kind: "Project", Namespace: "acme", Name: "web"}
	start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

// newEngine makes an engine that is closed when the test ends.
func newEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	e, err := NewEngine(opts)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// register registers a type held by Organizations, changed by mod.
func register(t testing.TB, e *Engine, typ string, mod ...func(*Registration)) {
	t.Helper()
	r := Registration{ResourceType: typ, ConsumerType: KindRef{Kind: "Organization"}}
	for _, m := range mod {
		m(&r)
	}
	if err := e.CreateRegistration(r); err != nil {
		t.Fatalf("CreateRegistration(%s): %v", typ, err)
	}
}

// grant gives consumer buckets of typ, in a grant named after both.
func grant(t testing.TB, e *Engine, consumer Ref, typ string, buckets ...GrantBucket) {
	t.Helper()
	g := Grant{Name: consumer.Name + "-" + typ, Consumer: consumer,
		Allowances: []Allowance{{ResourceType: typ, Buckets: buckets}}}
	if _, err := e.ApplyGrant(g); err != nil {
		t.Fatalf("ApplyGrant: %v", err)
	}
}

// vcpuEngine is an engine where acme holds limit vCPUs.
func vcpuEngine(t testing.TB, limit int64, opts Options) *Engine {
	t.Helper()
	e := newEngine(t, opts)
	register(t, e, vcpus)
	grant(t, e, acme, vcpus, GrantBucket{Amount: limit})
	return e
}

// vcpuClaim asks for n vCPUs of acme in namespace apps.
func vcpuClaim(name string, n int64) Claim {
	return Claim{Namespace: "apps", Name: name, Consumer: acme,
		Requests: []Request{{ResourceType: vcpus, Amount: n}}}
}

func getBucket(t testing.TB, e *Engine, consumer Ref, typ string) *BucketInfo {
	t.Helper()
	b, err := e.GetBucket(consumer, typ)
	if err != nil {
		t.Fatalf("GetBucket(%v, %s): %v", consumer, typ, err)
	}
	return b
}

func getClaim(t testing.TB, e *Engine, ns, name string) *ClaimInfo {
	t.Helper()
	c, err := e.GetClaim(ns, name)
	if err != nil {
		t.Fatalf("GetClaim(%s/%s): %v", ns, name, err)
	}
	return c
}

// wantErr fails unless err is target (errors.Is) and an *Error, which it
// returns.
func wantErr(t testing.TB, err, target error) *Error {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
	var qe *Error
	if !errors.As(err, &qe) {
		t.Fatalf("error %v (%T) is not a *quota.Error", err, err)
	}
	return qe
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func must1[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantEq[T comparable](t testing.TB, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func wantTime(t testing.TB, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}
