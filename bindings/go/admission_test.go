package quota

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

const requestInfo = `{"verb": "create", "resource": "myresources", "apiGroup": "myservice.miloapis.com", "namespace": "default"}`

func withRequestInfo(a *Admission) { a.RequestInfo = json.RawMessage(requestInfo) }

// generated checks a generated name: the prefix and 12 characters of
// consonants and digits.
func generated(t testing.TB, name, prefix string) {
	t.Helper()
	suffix := strings.TrimPrefix(name, prefix)
	if suffix == name || len(suffix) != 12 || strings.Trim(suffix, "bcdfghjklmnpqrstvwxz2456789") != "" {
		t.Fatalf("name %q is not %q and a generated suffix", name, prefix)
	}
}

// The reference example: two resources admitted, the third denied with
// Milo's 403 message, nothing charged.
func TestAdmitReferencePattern1(t *testing.T) {
	e := referenceEngine(t, 2, Options{})
	res, err := admitAs(e, myResource("r1", "uid-1"), "acme", withRequestInfo)
	must(t, err)
	wantEq(t, "allowed", res.Allowed, true)
	wantEq(t, "outcome", res.Outcome, AdmitAllowed)
	wantEq(t, "message", res.Message, "")
	wantEq(t, "policy", res.Policy, "")
	wantEq(t, "state", res.Answer.State, StateGranted)
	wantEq(t, "claims", len(res.Claims), 1)
	c := res.Claims[0]
	generated(t, c.Name, "myresource-claim-")
	want := Claim{Namespace: "default", Name: c.Name, Consumer: miloAcme,
		Resource: Ref{APIGroup: "myservice.miloapis.com", Kind: "MyResource", Namespace: "default", Name: "r1"},
		Requests: []Request{{ResourceType: resources, Amount: 1}}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("claim %+v\nwant  %+v", c, want)
	}
	wantEq(t, "claim state", getClaim(t, e, c.Namespace, c.Name).State, StateGranted)
	must1[AdmissionResult](t)(admitAs(e, myResource("r2", "uid-2"), "acme", withRequestInfo))
	wantBucket(t, e, miloAcme, resources, 2, 2, 0, 0)

	res, err = admitAs(e, myResource("r3", "uid-3"), "acme", withRequestInfo)
	qe := wantErr(t, err, ErrExceeded)
	wantEq(t, "allowed", res.Allowed, false)
	wantEq(t, "outcome", res.Outcome, AdmitDenied)
	const msg = `myresources.myservice.miloapis.com "r3" is forbidden: You've reached your quota ` +
		`for this resource type (myservice.miloapis.com/resources): requested 1, available 0, limit 2`
	wantEq(t, "message", res.Message, msg)
	wantEq(t, "detail", qe.Detail, msg)
	wantEq(t, "op", qe.Op, "admit")
	wantEq(t, "policy", res.Policy, "myservice-resource-quota")
	wantEq(t, "binding claim", res.Answer.BindingClaim, 0)
	wantEq(t, "binding request", res.Answer.BindingRequest, 0)
	wantEq(t, "bucket", res.Answer.Bucket, "Organization//acme:"+resources)
	if qe.Answer == nil || *qe.Answer != res.Answer {
		t.Fatalf("the error's answer %v is not the result's %v", qe.Answer, res.Answer)
	}
	wantEq(t, "claims rendered", len(res.Claims), 1)
	_, err = e.GetClaim(res.Claims[0].Namespace, res.Claims[0].Name)
	wantErr(t, err, ErrNotFound)
	wantBucket(t, e, miloAcme, resources, 2, 2, 0, 0)

	// Without requestInfo: the kind lower-cased, the apiVersion's group.
	res, err = admitAs(e, myResource("r4", "uid-4"), "acme")
	wantErr(t, err, ErrExceeded)
	if !strings.HasPrefix(res.Message, `myresource.myservice.miloapis.com "r4" is forbidden: `) {
		t.Errorf("message %q", res.Message)
	}
	// Another organization has no grant: the default limit, 0.
	res, err = admitAs(e, myResource("r5", "uid-5"), "globex")
	wantErr(t, err, ErrExceeded)
	if !strings.Contains(res.Message, "requested 1, available 0, limit 0") {
		t.Errorf("message %q", res.Message)
	}

	// The object is deleted: release its claim by name, and there is room.
	must(t, e.Release(c.Namespace, c.Name))
	must1[AdmissionResult](t)(admitAs(e, myResource("r3", "uid-3"), "acme"))
	wantBucket(t, e, miloAcme, resources, 2, 2, 0, 0)
}

// The trigger as JSON text, a struct or a map: one object, one claim.
func TestAdmitTakesAnyDocument(t *testing.T) {
	e := referenceEngine(t, 10, Options{})
	type meta struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		UID       string `json:"uid"`
	}
	type object struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   meta           `json:"metadata"`
		Spec       map[string]any `json:"spec"`
	}
	text := `{"apiVersion": "` + svcV1 + `", "kind": "MyResource",
		"metadata": {"name": "r1", "namespace": "default", "uid": "uid-1"}, "spec": {"size": "s"}}`
	var names []string
	for _, trigger := range []any{
		myResource("r1", "uid-1"),
		[]byte(text),
		json.RawMessage(text),
		object{APIVersion: svcV1, Kind: "MyResource", Metadata: meta{"r1", "default", "uid-1"}},
		&object{APIVersion: svcV1, Kind: "MyResource", Metadata: meta{"r1", "default", "uid-1"}},
	} {
		res, err := e.Admit(Admission{Trigger: trigger, User: json.RawMessage(
			`{"extra": {"iam.miloapis.com/parent-name": ["acme"]}}`)})
		must(t, err)
		names = append(names, res.Claims[0].Name)
	}
	for _, n := range names[1:] {
		wantEq(t, "the same claim", n, names[0])
	}
	wantBucket(t, e, miloAcme, resources, 10, 1, 0, 9)
}

func TestAdmitNoPolicyApplies(t *testing.T) {
	e := referenceEngine(t, 2, Options{})
	for _, trigger := range []map[string]any{
		object(svcV1, "Other", "default", "o", "u1", nil),
		object("myservice.miloapis.com/v1", "MyResource", "default", "o", "u1", nil),
	} {
		res, err := admitAs(e, trigger, "acme")
		must(t, err)
		wantEq(t, "outcome", res.Outcome, AdmitNoPolicy)
		wantEq(t, "allowed", res.Allowed, true)
		wantEq(t, "claims", len(res.Claims), 0)
		wantEq(t, "binding claim", res.Answer.BindingClaim, -1)
	}
	// A constraint that does not hold: the policy does not apply; no denial.
	p := referenceClaimPolicy()
	p.Constraints = []Constraint{{Expression: "trigger.spec.size == 'l'", Message: "large only"}}
	must1[int64](t)(e.ApplyClaimPolicy(p))
	for i := 0; i < 5; i++ {
		res, err := admitAs(e, myResource("small", string(rune('a'+i))), "acme")
		must(t, err)
		wantEq(t, "outcome", res.Outcome, AdmitNoPolicy)
	}
	wantBucket(t, e, miloAcme, resources, 2, 0, 0, 2)
}

func TestAdmitDryRun(t *testing.T) {
	e := referenceEngine(t, 2, Options{})
	for i := 0; i < 3; i++ {
		res, err := admitAs(e, myResource("d", "d"), "acme", dryRun)
		must(t, err)
		wantEq(t, "outcome", res.Outcome, AdmitAllowed)
		wantEq(t, "claims", len(res.Claims), 1)
		_, err = e.GetClaim(res.Claims[0].Namespace, res.Claims[0].Name)
		wantErr(t, err, ErrNotFound)
	}
	wantBucket(t, e, miloAcme, resources, 2, 0, 0, 2)
	must1[int64](t)(e.ApplyGrant(Grant{Name: "acme-myservice-quota", Consumer: miloAcme,
		Allowances: []Allowance{{ResourceType: resources, Buckets: []GrantBucket{{Amount: 0}}}}}))
	res, err := admitAs(e, myResource("d", "d"), "acme", dryRun)
	wantErr(t, err, ErrExceeded)
	wantEq(t, "outcome", res.Outcome, AdmitDenied)
	wantEq(t, "allowed", res.Allowed, false)
	wantBucket(t, e, miloAcme, resources, 0, 0, 0, 0)
	// Dry runs are not counted.
	if text := must1[string](t)(e.Prometheus()); !strings.Contains(text, `quota_admissions_total{result="denied"} 0`) {
		t.Error("a dry run was counted")
	}
}

// Two-phase create: reserve, then commit or release by the names given;
// an uncommitted reservation expires with its TTL.
func TestAdmitTwoPhase(t *testing.T) {
	clk := NewManualClock(start)
	e := referenceEngine(t, 2, Options{Clock: clk.Now})
	twoPhase := func(a *Admission) { a.ReserveOnly, a.TTL = true, time.Second }
	res, err := admitAs(e, myResource("p1", "p1"), "acme", twoPhase)
	must(t, err)
	wantEq(t, "state", res.Answer.State, StateReserved)
	c := res.Claims[0]
	info := getClaim(t, e, c.Namespace, c.Name)
	wantEq(t, "claim", info.State, StateReserved)
	wantTime(t, "expires", info.Expires, start.Add(time.Second))
	wantBucket(t, e, miloAcme, resources, 2, 0, 1, 1)
	// A retry holds nothing more.
	again, err := admitAs(e, myResource("p1", "p1"), "acme", twoPhase)
	must(t, err)
	wantEq(t, "existed", again.Answer.Existed(), true)
	wantEq(t, "same name", again.Claims[0].Name, c.Name)
	wantBucket(t, e, miloAcme, resources, 2, 0, 1, 1)
	// The object was created: commit.
	must(t, e.Commit(c.Namespace, c.Name))
	wantBucket(t, e, miloAcme, resources, 2, 1, 0, 1)

	// The next create fails after admission: release.
	res, err = admitAs(e, myResource("p2", "p2"), "acme", twoPhase)
	must(t, err)
	wantBucket(t, e, miloAcme, resources, 2, 1, 1, 0)
	must(t, e.Release(res.Claims[0].Namespace, res.Claims[0].Name))
	wantBucket(t, e, miloAcme, resources, 2, 1, 0, 1)
	// And one nobody commits expires.
	must1[AdmissionResult](t)(admitAs(e, myResource("p2", "p2"), "acme", twoPhase))
	wantBucket(t, e, miloAcme, resources, 2, 1, 1, 0)
	clk.Advance(1001 * time.Millisecond)
	must1[uint64](t)(e.Tick(time.Time{}))
	wantBucket(t, e, miloAcme, resources, 2, 1, 0, 1)
}

// A retried admission renders the same names and never charges twice.
func TestAdmitIdempotentRetry(t *testing.T) {
	e := referenceEngine(t, 2, Options{})
	var first string
	for i := 0; i < 4; i++ {
		res, err := admitAs(e, myResource("x", "uid-x"), "acme")
		must(t, err)
		wantEq(t, "outcome", res.Outcome, AdmitAllowed)
		if i == 0 {
			first = res.Claims[0].Name
		}
		wantEq(t, "name", res.Claims[0].Name, first)
		wantEq(t, "existed", res.Answer.Existed(), i > 0)
		wantBucket(t, e, miloAcme, resources, 2, 1, 0, 1)
	}
	// The retry passes even when the bucket is full meanwhile.
	must1[AdmissionResult](t)(admitAs(e, myResource("y", "uid-y"), "acme"))
	res, err := admitAs(e, myResource("x", "uid-x"), "acme")
	must(t, err)
	wantEq(t, "existed", res.Answer.Existed(), true)
	wantBucket(t, e, miloAcme, resources, 2, 2, 0, 0)
	// A recreated object (a new uid) is a new claim.
	res, err = admitAs(e, myResource("x", "uid-x2"), "acme")
	wantErr(t, err, ErrExceeded)
	if res.Claims[0].Name == first {
		t.Error("a new uid rendered the old name")
	}
}

func TestAdmitFailClosedAndOpen(t *testing.T) {
	e := referenceEngine(t, 2, Options{})
	team := referenceClaimPolicy()
	team.Name = "z-team"
	team.Claim.GenerateName = "team-"
	team.Claim.Consumer.Name = "{{ user.extra['team'][0] }}"
	must1[int64](t)(e.ApplyClaimPolicy(team))
	res, err := admitAs(e, myResource("f1", "f1"), "acme")
	qe := wantErr(t, err, ErrEval)
	wantEq(t, "outcome", res.Outcome, AdmitFailedClosed)
	wantEq(t, "allowed", res.Allowed, false)
	wantEq(t, "policy", res.Policy, "z-team")
	for _, part := range []string{`myresource.myservice.miloapis.com "f1" is forbidden: the quota policy failed: policy z-team: ` +
		"target.resourceClaimTemplate.spec.consumerRef.name: column ", "no such key 'team'"} {
		if !strings.Contains(res.Message, part) {
			t.Errorf("message %q does not contain %q", res.Message, part)
		}
	}
	wantEq(t, "detail", qe.Detail, res.Message)
	wantBucket(t, e, miloAcme, resources, 2, 0, 0, 2)

	// Failing open, it is left out and the other claim is charged.
	team.FailOpen = true
	must1[int64](t)(e.ApplyClaimPolicy(team))
	res, err = admitAs(e, myResource("f1", "f1"), "acme")
	must(t, err)
	wantEq(t, "outcome", res.Outcome, AdmitFailedOpen)
	wantEq(t, "allowed", res.Allowed, true)
	wantEq(t, "policy", res.Policy, "z-team")
	if !strings.HasPrefix(res.Message, "the quota policy failed and was left out (fail open): policy z-team: ") {
		t.Errorf("message %q", res.Message)
	}
	wantEq(t, "claims", len(res.Claims), 1)
	wantBucket(t, e, miloAcme, resources, 2, 1, 0, 1)
	// A denial still wins over a policy that failed open.
	must1[AdmissionResult](t)(admitAs(e, myResource("f2", "f2"), "acme"))
	res, err = admitAs(e, myResource("f3", "f3"), "acme")
	wantErr(t, err, ErrExceeded)
	wantEq(t, "outcome", res.Outcome, AdmitDenied)
}

// Every denial and failure maps to its sentinel, with the result.
func TestAdmitErrorMapping(t *testing.T) {
	clk := NewManualClock(start)
	e := referenceEngine(t, 1, Options{Clock: clk.Now})
	const creations = "myservice.miloapis.com/creations"
	must(t, e.CreateRegistration(Registration{ResourceType: creations,
		ConsumerType: KindRef{Kind: "Organization"}, Class: ClassRate}))
	must1[int64](t)(e.ApplyGrant(Grant{Name: "acme-rate", Consumer: miloAcme, Allowances: []Allowance{
		{ResourceType: creations, Buckets: []GrantBucket{{Amount: 1, Period: PeriodSecond}}}}}))
	rate := referenceClaimPolicy()
	rate.Name = "rate"
	rate.Trigger.Kind = "Burst"
	rate.Claim.Requests[0].ResourceType = creations
	must1[int64](t)(e.ApplyClaimPolicy(rate))
	named := referenceClaimPolicy()
	named.Name = "named"
	named.Trigger.Kind = "Named"
	named.Claim.GenerateName, named.Claim.Name = "", "{{ trigger.metadata.name }}"
	must1[int64](t)(e.ApplyClaimPolicy(named))
	must1[int64](t)(e.ApplyGrant(Grant{Name: "acme-projects", Consumer: miloAcme,
		Allowances: []Allowance{{ResourceType: projects, Buckets: []GrantBucket{{Amount: 1}}}}}))
	must1[Answer](t)(e.Acquire(Claim{Namespace: "default", Name: "taken", Consumer: miloAcme,
		Requests: []Request{{ResourceType: projects, Amount: 1}}}))

	must1[AdmissionResult](t)(admitAs(e, object(svcV1, "Burst", "default", "b1", "b1", nil), "acme"))
	res, err := admitAs(e, object(svcV1, "Burst", "default", "b2", "b2", nil), "acme")
	qe := wantErr(t, err, ErrRateLimited)
	wantEq(t, "outcome", res.Outcome, AdmitDenied)
	wantEq(t, "retry after", qe.RetryAfter, time.Second)
	if !strings.Contains(res.Message, "You've reached your rate limit for this resource type ("+creations+
		"): requested 1, available 0 of 1 per 1000 ms; retry after 1000 ms") {
		t.Errorf("message %q", res.Message)
	}
	clk.Advance(time.Second)
	must1[AdmissionResult](t)(admitAs(e, object(svcV1, "Burst", "default", "b2", "b2", nil), "acme"))

	res, err = admitAs(e, object(svcV1, "Named", "default", "taken", "t", nil), "acme")
	wantErr(t, err, ErrConflict)
	wantEq(t, "outcome", res.Outcome, AdmitDenied)
	wantEq(t, "policy", res.Policy, "named")
	if !strings.Contains(res.Message, "is forbidden: quota claim default/taken exists with a different spec") {
		t.Errorf("message %q", res.Message)
	}

	res, err = admitAs(e, myResource("r1", "r1"), "") // no user: the template fails
	wantErr(t, err, ErrEval)
	wantEq(t, "outcome", res.Outcome, AdmitFailedClosed)

	// Not decided: no result.
	for _, c := range []struct {
		a      Admission
		code   error
		detail string
	}{
		{Admission{}, ErrInvalid, "trigger"},
		{Admission{Trigger: map[string]any{"kind": "MyResource"}}, ErrInvalid, "trigger.apiVersion"},
		{Admission{Trigger: []any{1}}, ErrInvalid, "trigger: must be a map"},
		{Admission{Trigger: myResource("r", "r"), DryRun: true, ReserveOnly: true}, ErrInvalid, "admission.flags"},
		{Admission{Trigger: myResource("r", "r"), ReserveOnly: true, TTL: -time.Second}, ErrInvalid, "admission.ttl_ms"},
		{Admission{Trigger: []byte(`{"apiVersion": `)}, ErrParse, "trigger.apiVersion: JSON text at byte 14: unexpected EOF"},
		{Admission{Trigger: myResource("r", "r"), User: map[string]any{"name": "\xff"}}, ErrInvalid,
			"user.name: not valid UTF-8 at byte 0"},
		{Admission{Trigger: myResource("r", "r"), RequestInfo: json.Number("x")}, ErrInvalid,
			`requestInfo: "x" is not a JSON number`},
	} {
		res, err := e.Admit(c.a)
		qe := wantErr(t, err, c.code)
		if !strings.Contains(qe.Detail, c.detail) {
			t.Errorf("detail %q does not contain %q", qe.Detail, c.detail)
		}
		if !reflect.DeepEqual(res, AdmissionResult{}) {
			t.Errorf("an undecided admission has a result: %+v", res)
		}
	}
	must(t, e.Close())
	_, err = admitAs(e, myResource("late", "late"), "acme")
	wantErr(t, err, ErrWrongState)
	_, err = e.SyncGrantPolicies(organization("acme", "u", nil), TriggerAdded)
	wantErr(t, err, ErrWrongState)
}

// Two policies for one kind: their claims are decided together.
func TestAdmitPoliciesShareOneSet(t *testing.T) {
	e := referenceEngine(t, 3, Options{})
	must1[int64](t)(e.ApplyGrant(Grant{Name: "acme-projects", Consumer: miloAcme,
		Allowances: []Allowance{{ResourceType: projects, Buckets: []GrantBucket{{Amount: 10}}}}}))
	p := referenceClaimPolicy()
	p.Name = "b-projects"
	p.Claim.GenerateName = "project-claim-"
	p.Claim.Requests[0].ResourceType = projects
	must1[int64](t)(e.ApplyClaimPolicy(p))
	p = referenceClaimPolicy()
	p.Name = "a-resources"
	must1[int64](t)(e.ApplyClaimPolicy(p))
	res, err := admitAs(e, myResource("one", "one"), "acme")
	must(t, err)
	wantEq(t, "claims", len(res.Claims), 3)
	generated(t, res.Claims[0].Name, "myresource-claim-")
	generated(t, res.Claims[1].Name, "project-claim-")
	generated(t, res.Claims[2].Name, "myresource-claim-")
	wantBucket(t, e, miloAcme, resources, 3, 2, 0, 1)
	// Together they need 2 resources where 1 is left, though each fits.
	res, err = admitAs(e, myResource("two", "two"), "acme")
	wantErr(t, err, ErrExceeded)
	wantEq(t, "binding claim", res.Answer.BindingClaim, 0)
	wantEq(t, "policy", res.Policy, "a-resources")
	wantEq(t, "requested", res.Answer.Requested, int64(2))
	wantEq(t, "available", res.Answer.Available, int64(1))
	wantBucket(t, e, miloAcme, resources, 3, 2, 0, 1)
	wantBucket(t, e, miloAcme, projects, 10, 1, 0, 9)
}

// Running out of memory never charges; the next try succeeds.
func TestAdmitNoMemory(t *testing.T) {
	countingAllocator(t)
	e := referenceEngine(t, 5, Options{})
	trigger := myResource("m", "m")
	for n := int64(0); ; n++ {
		testFailAfter(n)
		res, err := admitAs(e, trigger, "acme")
		testFailAfter(-1)
		if err == nil {
			wantEq(t, "outcome", res.Outcome, AdmitAllowed)
			break
		}
		qe := wantErr(t, err, ErrNoMemory)
		if qe.Detail == "" {
			t.Error("no detail")
		}
		wantEq(t, "no result", res.Outcome, AdmitOutcome(0))
		wantBucket(t, e, miloAcme, resources, 5, 0, 0, 5)
		if n > 500 {
			t.Fatal("admit never succeeds")
		}
	}
	wantBucket(t, e, miloAcme, resources, 5, 1, 0, 4)
}
