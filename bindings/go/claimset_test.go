package quota

import (
	"strings"
	"testing"
)

// A set of claims that each fit alone but not together.
func TestClaimSetsDecideOnTheirTotals(t *testing.T) {
	e := vcpuEngine(t, 5, Options{})
	register(t, e, memory)
	grant(t, e, acme, memory, GrantBucket{Amount: 100})
	a := vcpuClaim("a", 3)
	b := vcpuClaim("b", 1)
	b.Requests = append(b.Requests, Request{ResourceType: memory, Amount: 10})
	c := vcpuClaim("c", 2)

	for _, op := range []struct {
		name string
		call func(...Claim) (Answer, error)
	}{{"ReserveSet", e.ReserveSet}, {"AcquireSet", e.AcquireSet}, {"CheckSet", e.CheckSet}} {
		_, err := op.call(a, c, b)
		qe := wantErr(t, err, ErrExceeded)
		ans := qe.Answer
		wantEq(t, op.name+" binding claim", ans.BindingClaim, 0)
		wantEq(t, op.name+" binding request", ans.BindingRequest, 0)
		wantEq(t, op.name+" requested (the set's total)", ans.Requested, int64(6))
		wantEq(t, op.name+" available", ans.Available, int64(5))
		wantEq(t, op.name+" bucket", ans.Bucket, "Organization//acme:"+vcpus)
		if !strings.Contains(qe.Detail, "requested 6, available 5") {
			t.Errorf("%s: detail %q", op.name, qe.Detail)
		}
		v := getBucket(t, e, acme, vcpus)
		wantEq(t, op.name+" vCPUs held", v.Allocated+v.Reserved, int64(0))
		wantEq(t, op.name+" memory held", getBucket(t, e, acme, memory).Reserved, int64(0))
		_, err = e.GetClaim("apps", "a")
		wantErr(t, err, ErrNotFound)
	}

	// A single claim's answer names no claim of a set.
	_, err := e.Acquire(vcpuClaim("alone", 6))
	wantEq(t, "single claim's BindingClaim", wantErr(t, err, ErrExceeded).Answer.BindingClaim, -1)

	// Which claim binds: the first whose request charges the binding bucket.
	_, err = e.CheckSet(vcpuClaim("small", 1), vcpuClaim("big", 6))
	ans := wantErr(t, err, ErrExceeded).Answer
	wantEq(t, "binding claim", ans.BindingClaim, 0)
	_, err = e.CheckSet(Claim{Namespace: "apps", Name: "mem", Consumer: acme,
		Requests: []Request{{ResourceType: memory, Amount: 1}}}, vcpuClaim("big", 6))
	ans = wantErr(t, err, ErrExceeded).Answer
	wantEq(t, "binding claim", ans.BindingClaim, 1)

	// A dry run that fits changes nothing and answers Granted.
	var ok Answer
	ok = must1[Answer](t)(e.CheckSet(a, b))
	wantEq(t, "check state", ok.State, StateGranted)
	wantEq(t, "check binding claim", ok.BindingClaim, -1)
	wantEq(t, "held after check", getBucket(t, e, acme, vcpus).Reserved, int64(0))

	// Reserve two, commit one by name, acquire a third with them.
	ok = must1[Answer](t)(e.ReserveSet(a, b))
	wantEq(t, "reserved", ok.State, StateReserved)
	wantEq(t, "a", getClaim(t, e, "apps", "a").State, StateReserved)
	wantEq(t, "b", getClaim(t, e, "apps", "b").State, StateReserved)
	must(t, e.Commit("apps", "a"))
	// Idempotent per member: a and b exist and charge nothing more.
	_, err = e.AcquireSet(a, b, c)
	wantErr(t, err, ErrExceeded) // c needs 2, 1 is left
	ok = must1[Answer](t)(e.AcquireSet(a, b, vcpuClaim("d", 1)))
	wantEq(t, "granted", ok.State, StateGranted)
	if ok.Existed() {
		t.Error("a set with a new member is not a repeat")
	}
	wantEq(t, "b committed by the set", getClaim(t, e, "apps", "b").State, StateGranted)
	wantEq(t, "vCPUs", getBucket(t, e, acme, vcpus).Allocated, int64(5))
	ok = must1[Answer](t)(e.AcquireSet(a, b))
	if !ok.Existed() {
		t.Error("a repeated set is not marked Existed")
	}
	wantEq(t, "vCPUs after the repeat", getBucket(t, e, acme, vcpus).Allocated, int64(5))
}

func TestClaimSetErrors(t *testing.T) {
	e := vcpuEngine(t, 5, Options{})
	must1[Answer](t)(e.Acquire(vcpuClaim("taken", 1)))

	// A member that exists with another spec: a conflict for the whole set.
	_, err := e.ReserveSet(vcpuClaim("new", 1), vcpuClaim("taken", 2))
	wantErr(t, err, ErrConflict)
	_, err = e.GetClaim("apps", "new")
	wantErr(t, err, ErrNotFound)

	// The library names the member of a bad field.
	_, err = e.ReserveSet(vcpuClaim("x", 1), vcpuClaim("y", -1))
	qe := wantErr(t, err, ErrInvalid)
	if !strings.HasPrefix(qe.Detail, "claims[1]: ") {
		t.Errorf("detail %q does not start with claims[1]", qe.Detail)
	}
	// So do the bindings, for a NUL byte they refuse before calling C.
	bad := vcpuClaim("z\x00", 1)
	_, err = e.AcquireSet(vcpuClaim("x", 1), vcpuClaim("y", 1), bad)
	qe = wantErr(t, err, ErrInvalid)
	if !strings.HasPrefix(qe.Detail, "claims[2]: claim.metadata.name") {
		t.Errorf("detail %q", qe.Detail)
	}

	// Empty, too large, duplicate names, queued members.
	_, err = e.ReserveSet()
	wantErr(t, err, ErrInvalid)
	many := make([]Claim, MaxClaimSet+1)
	for i := range many {
		many[i] = vcpuClaim("m"+string(rune('a'+i)), 1)
	}
	_, err = e.CheckSet(many...)
	wantErr(t, err, ErrInvalid)
	_, err = e.ReserveSet(vcpuClaim("dup", 1), vcpuClaim("dup", 1))
	wantErr(t, err, ErrInvalid)
	queued := vcpuClaim("q", 1)
	queued.Flags = ClaimQueue
	_, err = e.AcquireSet(queued)
	wantErr(t, err, ErrInvalid)

	must(t, e.Close())
	_, err = e.ReserveSet(vcpuClaim("late", 1))
	wantErr(t, err, ErrWrongState)
}
