package quota

import (
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestReserveCommitRelease(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	register(t, e, memory, func(r *Registration) { r.DefaultLimit = 64 })
	c := vcpuClaim("web-1", 4)
	c.Requests = append(c.Requests, Request{ResourceType: memory, Amount: 8})
	a := must1[Answer](t)(e.Reserve(c))
	wantEq(t, "state", a.State, StateReserved)
	b := getBucket(t, e, acme, vcpus)
	wantEq(t, "reserved", b.Reserved, int64(4))
	wantEq(t, "reserved count", b.ReservedCount, int64(1))
	info := getClaim(t, e, "apps", "web-1")
	wantEq(t, "state", info.State, StateReserved)
	wantEq(t, "consumer", info.Consumer, acme)
	wantEq(t, "resource", info.Resource, Ref{})
	wantEq(t, "created", info.Created.IsZero(), false)
	want := []Allocation{
		{ResourceType: vcpus, Requested: 4, Amount: 4, Bucket: "Organization//acme:" + vcpus},
		{ResourceType: memory, Requested: 8, Amount: 8, Bucket: "Organization//acme:" + memory},
	}
	if !reflect.DeepEqual(info.Allocations, want) {
		t.Fatalf("allocations %+v", info.Allocations)
	}
	must(t, e.Commit("apps", "web-1", Request{ResourceType: vcpus, Amount: 3}))
	info = getClaim(t, e, "apps", "web-1")
	wantEq(t, "state", info.State, StateGranted)
	wantEq(t, "settled", info.Allocations[0].Amount, int64(3))
	wantEq(t, "in full", info.Allocations[1].Amount, int64(8))
	b = getBucket(t, e, acme, vcpus)
	wantEq(t, "allocated", b.Allocated, int64(3))
	wantEq(t, "reserved", b.Reserved, int64(0))
	must(t, e.Commit("apps", "web-1")) // granted: a no-op
	must(t, e.Release("apps", "web-1"))
	wantEq(t, "state", getClaim(t, e, "apps", "web-1").State, StateReleased)
	wantEq(t, "allocated", getBucket(t, e, acme, vcpus).Allocated, int64(0))
	must(t, e.Release("apps", "web-1")) // released: a no-op
}

func TestSettlementMustFitTheReservation(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	must1[Answer](t)(e.Reserve(vcpuClaim("s", 4)))
	wantErr(t, e.Commit("apps", "s", Request{ResourceType: vcpus, Amount: 5}), ErrInvalid)
	wantErr(t, e.Commit("apps", "s", Request{ResourceType: memory, Amount: 1}), ErrInvalid)
	must(t, e.Commit("apps", "s", Request{ResourceType: vcpus, Amount: 0}))
	wantEq(t, "allocated", getBucket(t, e, acme, vcpus).Allocated, int64(0))
}

func TestAcquireAndIdempotency(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	a := must1[Answer](t)(e.Acquire(vcpuClaim("a", 2)))
	if a.State != StateGranted || a.Existed() {
		t.Fatalf("answer %+v", a)
	}
	again := must1[Answer](t)(e.Acquire(vcpuClaim("a", 2)))
	if !again.Existed() || again.State != StateGranted {
		t.Fatalf("repeat %+v", again)
	}
	wantEq(t, "charged once", getBucket(t, e, acme, vcpus).Allocated, int64(2))
	r := must1[Answer](t)(e.Reserve(vcpuClaim("a", 2)))
	wantEq(t, "reserve of a granted claim", r.State, StateGranted)
	// An identical claim still reserved is committed by acquire.
	must1[Answer](t)(e.Reserve(vcpuClaim("r", 1)))
	wantEq(t, "acquire commits", must1[Answer](t)(e.Acquire(vcpuClaim("r", 1))).State, StateGranted)
	wantEq(t, "allocated", getBucket(t, e, acme, vcpus).Allocated, int64(3))
}

func TestCheckChangesNothing(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	a := must1[Answer](t)(e.Check(vcpuClaim("c", 16)))
	wantEq(t, "state it would have", a.State, StateGranted)
	wantEq(t, "allocated", getBucket(t, e, acme, vcpus).Allocated, int64(0))
	_, err := e.GetClaim("apps", "c")
	wantErr(t, err, ErrNotFound)
	_, err = e.Check(vcpuClaim("c", 17))
	qe := wantErr(t, err, ErrExceeded)
	wantEq(t, "requested", qe.Answer.Requested, int64(17))
	wantEq(t, "decisions", must1[Stats](t)(e.Stats()).Decisions, uint64(2))
}

func TestResize(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	must1[Answer](t)(e.Acquire(vcpuClaim("r", 4)))
	must1[Answer](t)(e.Resize("apps", "r", Request{ResourceType: vcpus, Amount: 10}))
	wantEq(t, "grown", getBucket(t, e, acme, vcpus).Allocated, int64(10))
	_, err := e.Resize("apps", "r", Request{ResourceType: vcpus, Amount: 17})
	qe := wantErr(t, err, ErrExceeded)
	wantEq(t, "binding request", qe.Answer.BindingRequest, 0)
	must1[Answer](t)(e.Resize("apps", "r", Request{ResourceType: vcpus, Amount: 1}))
	wantEq(t, "shrunk", getBucket(t, e, acme, vcpus).Allocated, int64(1))
	must1[Answer](t)(e.Reserve(vcpuClaim("only-reserved", 1)))
	_, err = e.Resize("apps", "only-reserved", Request{ResourceType: vcpus, Amount: 2})
	wantErr(t, err, ErrWrongState)
	_, err = e.Resize("apps", "nope", Request{ResourceType: vcpus, Amount: 2})
	wantErr(t, err, ErrNotFound)
	_, err = e.Resize("apps", "r", Request{ResourceType: vcpus, Amount: -1})
	wantErr(t, err, ErrInvalid)
}

func TestListClaims(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	grant(t, e, beta, vcpus, GrantBucket{Amount: 16})
	must1[Answer](t)(e.Acquire(vcpuClaim("g1", 1)))
	must1[Answer](t)(e.Acquire(vcpuClaim("g2", 1)))
	must1[Answer](t)(e.Reserve(vcpuClaim("r1", 1)))
	b := vcpuClaim("b1", 1)
	b.Consumer = beta
	must1[Answer](t)(e.Reserve(b))
	names := func(f ClaimFilter) string {
		list := must1[[]ClaimInfo](t)(e.ListClaims(f))
		var out []string
		for _, c := range list {
			out = append(out, c.Name)
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	wantEq(t, "all", names(ClaimFilter{}), "b1 g1 g2 r1")
	wantEq(t, "granted", names(ClaimFilter{State: StateGranted}), "g1 g2")
	wantEq(t, "acme's reserved", names(ClaimFilter{Consumer: &acme, State: StateReserved}), "r1")
	wantEq(t, "beta's", names(ClaimFilter{Consumer: &beta}), "b1")
	_, err := e.ListClaims(ClaimFilter{State: 9})
	wantErr(t, err, ErrInvalid)
}

func TestResourceRefsAndTheAllowList(t *testing.T) {
	e := newEngine(t, Options{})
	register(t, e, "a/vms", func(r *Registration) {
		r.DefaultLimit = 5
		r.ClaimingResources = []KindRef{{Kind: "Instance"}}
	})
	vm := Ref{Kind: "Instance", Namespace: "apps", Name: "vm-1"}
	c := Claim{Name: "vm-1", Consumer: acme, Resource: vm, Requests: []Request{{ResourceType: "a/vms", Amount: 1}}}
	must1[Answer](t)(e.Acquire(c))
	wantEq(t, "resource", getClaim(t, e, "", "vm-1").Resource, vm)
	c.Name, c.Resource = "disk", Ref{Kind: "Disk", Namespace: "apps", Name: "d"}
	_, err := e.Acquire(c)
	wantErr(t, err, ErrNotAllowed)
}

func TestQueue(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	must1[Answer](t)(e.Acquire(vcpuClaim("big", 16)))
	c := vcpuClaim("waits", 4)
	c.Flags = ClaimQueue | ClaimAutoCommit
	a := must1[Answer](t)(e.Reserve(c))
	if !a.Queued() || a.State != StatePending || a.Bucket != "Organization//acme:"+vcpus {
		t.Fatalf("answer %+v", a)
	}
	wantEq(t, "pending", getBucket(t, e, acme, vcpus).Pending, int64(1))
	wantEq(t, "flags", getClaim(t, e, "apps", "waits").Flags, ClaimQueue|ClaimAutoCommit)
	wantEq(t, "flag names", (ClaimQueue | ClaimAutoCommit).String(), "Queue|AutoCommit")
	wantErr(t, e.Commit("apps", "waits"), ErrWrongState)
	must(t, e.Release("apps", "big"))
	wantEq(t, "admitted", getClaim(t, e, "apps", "waits").State, StateGranted)
	wantEq(t, "admitted from queue", must1[Stats](t)(e.Stats()).AdmittedFromQueue, uint64(1))
}

func TestQueueDeadline(t *testing.T) {
	clk := NewManualClock(start)
	e := vcpuEngine(t, 1, Options{Clock: clk.Now})
	must1[Answer](t)(e.Acquire(vcpuClaim("holder", 1)))
	c := vcpuClaim("waits", 1)
	c.Flags, c.QueueTimeout = ClaimQueue, 50*time.Millisecond
	wantEq(t, "state", must1[Answer](t)(e.Reserve(c)).State, StatePending)
	wantTime(t, "deadline", getClaim(t, e, "apps", "waits").Expires, start.Add(50*time.Millisecond))
	clk.Advance(50 * time.Millisecond)
	wantEq(t, "expired", must1[uint64](t)(e.Tick(time.Time{})), uint64(1))
	qe := wantErr(t, e.Commit("apps", "waits"), ErrWrongState)
	if !strings.Contains(qe.Detail, "queue deadline") {
		t.Errorf("detail %q", qe.Detail)
	}
	wantEq(t, "expired count", must1[Stats](t)(e.Stats()).Expired, uint64(1))
}

func TestDimensionsArePartOfTheSpec(t *testing.T) {
	e := newEngine(t, Options{})
	register(t, e, gpus, func(r *Registration) {
		r.DefaultLimit = 10
		r.AllowedDimensions = []string{"region", "tier"}
	})
	c := Claim{Name: "d", Consumer: acme, Requests: []Request{{ResourceType: gpus, Amount: 1,
		Dimensions: map[string]string{"region": "us", "tier": "gold"}}}}
	must1[Answer](t)(e.Acquire(c))
	wantEq(t, "same labels", must1[Answer](t)(e.Acquire(c)).Existed(), true)
	c.Requests[0].Dimensions = map[string]string{"region": "eu", "tier": "gold"}
	_, err := e.Acquire(c)
	wantErr(t, err, ErrConflict)
	c.Name, c.Requests[0].Dimensions = "bad", map[string]string{"zone": "a"}
	_, err = e.Acquire(c)
	qe := wantErr(t, err, ErrInvalid)
	if !strings.Contains(qe.Detail, "zone") {
		t.Errorf("detail %q", qe.Detail)
	}
}
