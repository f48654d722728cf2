package quota

import (
	"runtime"
	"testing"
	"time"
)

// countingAllocator installs the counting allocator for the test; engines
// the test makes afterwards are closed before it is removed.
func countingAllocator(t *testing.T) {
	t.Helper()
	runtime.GC() // let finalizers of earlier tests' engines run
	must(t, testAllocator(true))
	testFailAfter(-1)
	t.Cleanup(func() {
		testFailAfter(-1)
		if err := testAllocator(false); err != nil {
			t.Errorf("removing the allocator: %v", err)
		}
	})
}

func TestNoMemoryThenRecovery(t *testing.T) {
	countingAllocator(t)
	testFailAfter(0)
	_, err := NewEngine(Options{})
	wantErr(t, err, ErrNoMemory)
	testFailAfter(-1)
	e := vcpuEngine(t, 16, Options{OnEvent: func(Event) {}})
	for n := int64(0); ; n++ {
		testFailAfter(n)
		_, err := e.Acquire(vcpuClaim("c", 4))
		testFailAfter(-1)
		if err == nil {
			break
		}
		qe := wantErr(t, err, ErrNoMemory)
		if qe.Detail == "" {
			t.Error("no detail")
		}
		wantEq(t, "unchanged", getBucket(t, e, acme, vcpus).Allocated, int64(0))
		if n > 50 {
			t.Fatal("acquire never succeeds")
		}
	}
	wantEq(t, "acquired", getBucket(t, e, acme, vcpus).Allocated, int64(4))
	testFailAfter(0)
	_, err = e.GetClaim("apps", "c")
	wantErr(t, err, ErrNoMemory)
	_, err = e.ListBuckets(BucketFilter{})
	wantErr(t, err, ErrNoMemory)
	testFailAfter(-1)
	wantEq(t, "claim", getClaim(t, e, "apps", "c").State, StateGranted)
}

// Every result the library hands out is freed: a few hundred rounds of
// every read leave the library holding what it held before.
func TestResultsAreFreedExactly(t *testing.T) {
	countingAllocator(t)
	clk := NewManualClock(start)
	e := vcpuEngine(t, 16, Options{Clock: clk.Now})
	must(t, e.CreateRegistration(Registration{ResourceType: memory, ConsumerType: KindRef{Kind: "Project"}, DefaultLimit: 8}))
	must(t, e.SetParent(web, acme))
	must1[Answer](t)(e.Acquire(vcpuClaim("c", 4)))
	_, err := e.Acquire(vcpuClaim("denied", 40))
	wantErr(t, err, ErrExceeded)
	h := must1[*BucketHandle](t)(e.OpenBucket(acme, vcpus))
	rounds := func(n int) {
		for i := 0; i < n; i++ {
			getBucket(t, e, acme, vcpus)
			must1[[]BucketInfo](t)(e.ListBuckets(BucketFilter{}))
			getClaim(t, e, "apps", "c")
			must1[[]ClaimInfo](t)(e.ListClaims(ClaimFilter{}))
			must1[*Grant](t)(e.GetGrant("", "acme-"+vcpus))
			must1[[]Grant](t)(e.ListGrants(nil))
			must1[*Registration](t)(e.GetRegistration(vcpus))
			must1[[]Registration](t)(e.ListRegistrations())
			must1[string](t)(e.Prometheus())
			must1[[]Denial](t)(e.Audit())
			must1[Stats](t)(e.Stats())
			must1[*Ref](t)(e.Parent(web))
			must1[Answer](t)(h.Consume(1))
			must(t, h.GiveBack(1))
			must1[Answer](t)(e.Consume(acme, vcpus, 1))
			must(t, e.GiveBack(acme, vcpus, 1))
			_, err := e.GetClaim("apps", "missing")
			wantErr(t, err, ErrNotFound)
		}
	}
	rounds(1)
	before := testAllocationsLive()
	rounds(300)
	wantEq(t, "allocations held", testAllocationsLive(), before)
	must(t, h.Close())
	must(t, e.Close())
	wantEq(t, "allocations after close", testAllocationsLive(), int64(0))
}

// An engine dropped without Close is freed by its finalizer.
func TestDroppedEngineIsFreed(t *testing.T) {
	countingAllocator(t)
	func() {
		e, err := NewEngine(Options{OnEvent: func(Event) {}})
		must(t, err)
		register(t, e, vcpus)
		must1[*BucketHandle](t)(e.OpenBucket(acme, vcpus)) // dropped too
	}()
	for deadline := time.Now().Add(5 * time.Second); testAllocationsLive() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d allocations still held", testAllocationsLive())
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// The same for the policy calls: applies, reads, admissions (allowed,
// denied, failed) and grant syncs.
func TestPolicyResultsAreFreedExactly(t *testing.T) {
	countingAllocator(t)
	e := referenceEngine(t, 2, Options{})
	must1[int64](t)(e.ApplyGrantPolicy(referenceGrantPolicy()))
	must1[AdmissionResult](t)(admitAs(e, myResource("kept", "kept"), "acme"))
	rounds := func(n int) {
		for i := 0; i < n; i++ {
			must1[int64](t)(e.ApplyClaimPolicy(referenceClaimPolicy()))
			must1[*ClaimPolicy](t)(e.GetClaimPolicy("myservice-resource-quota"))
			must1[[]ClaimPolicy](t)(e.ListClaimPolicies())
			must1[*GrantPolicy](t)(e.GetGrantPolicy("myservice-default-grant"))
			must1[[]GrantPolicy](t)(e.ListGrantPolicies())
			_, err := e.ApplyClaimPolicy(ClaimPolicy{Name: "bad"})
			wantErr(t, err, ErrInvalid)
			must1[AdmissionResult](t)(admitAs(e, myResource("kept", "kept"), "acme")) // a retry
			must1[AdmissionResult](t)(admitAs(e, myResource("dry", "dry"), "acme", dryRun))
			_, err = admitAs(e, myResource("denied", "denied"), "globex")
			wantErr(t, err, ErrExceeded)
			_, err = admitAs(e, myResource("failed", "failed"), "")
			wantErr(t, err, ErrEval)
			_, err = e.Admit(Admission{Trigger: []byte(`{"kind": 1}`)})
			wantErr(t, err, ErrInvalid)
			org := organization("beta", "beta", nil)
			must1[[]GrantChange](t)(e.SyncGrantPolicies(org, TriggerAdded))
			must1[[]GrantChange](t)(e.SyncGrantPolicies(org, TriggerDeleted))
			one := Claim{Namespace: "a", Name: "b", Consumer: miloAcme,
				Requests: []Request{{ResourceType: resources, Amount: 1}}}
			two := one
			two.Name = "c"
			must1[Answer](t)(e.CheckSet(one))
			_, err = e.ReserveSet(one, two)
			wantErr(t, err, ErrExceeded)
		}
	}
	rounds(1)
	before := testAllocationsLive()
	rounds(200)
	wantEq(t, "allocations held", testAllocationsLive(), before)
	must(t, e.Close())
	wantEq(t, "allocations after close", testAllocationsLive(), int64(0))
}
