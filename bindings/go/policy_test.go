package quota

import (
	"reflect"
	"strings"
	"testing"
)

func TestClaimPolicyApplyGetListDelete(t *testing.T) {
	e := policyEngine(t, Options{})
	must(t, e.CreateRegistration(Registration{ResourceType: "myservice.miloapis.com/cpus",
		ConsumerType: KindRef{Kind: "Organization"}, AllowedDimensions: []string{"region"}}))
	p := ClaimPolicy{
		Name:    "b-full",
		Trigger: TriggerRef{APIVersion: svcV1, Kind: "MyResource"},
		Constraints: []Constraint{
			{Expression: "has(trigger.spec.tier) && trigger.spec.tier == 'pro'", Message: "pro tier"},
			{Expression: "trigger.spec.replicas > 0"},
		},
		FailOpen: true,
		Claim: ClaimTemplate{
			Name:      "{{trigger.metadata.name}}-quota",
			Namespace: "quota-{{trigger.metadata.namespace}}",
			Consumer:  Ref{Kind: "Organization", Name: "{{trigger.spec.org}}"},
			Resource:  Ref{APIGroup: "myservice.miloapis.com", Kind: "MyResource", Namespace: "default", Name: "{{trigger.metadata.name}}"},
			Requests: []RequestTemplate{
				{ResourceType: "myservice.miloapis.com/cpus", Amount: 4,
					Dimensions: map[string]string{"region": "{{trigger.spec.region}}"}},
				{ResourceType: "{{'myservice.miloapis.com/' + 'resources'}}", Amount: 1},
			},
		},
	}
	wantEq(t, "generation", must1[int64](t)(e.ApplyClaimPolicy(p)), int64(1))
	wantEq(t, "identical apply", must1[int64](t)(e.ApplyClaimPolicy(p)), int64(1))
	got := must1[*ClaimPolicy](t)(e.GetClaimPolicy("b-full"))
	p.Generation = 1
	if !reflect.DeepEqual(*got, p) {
		t.Fatalf("got  %+v\nwant %+v", *got, p)
	}
	p.Disabled = true
	wantEq(t, "changed", must1[int64](t)(e.ApplyClaimPolicy(p)), int64(2))

	ref := referenceClaimPolicy()
	ref.Name = "a-reference"
	must1[int64](t)(e.ApplyClaimPolicy(ref))
	list := must1[[]ClaimPolicy](t)(e.ListClaimPolicies())
	wantEq(t, "listed", len(list), 2)
	wantEq(t, "sorted by name", list[0].Name, "a-reference")
	wantEq(t, "second", list[1].Name, "b-full")
	wantEq(t, "disabled", list[1].Disabled, true)
	wantEq(t, "generation", list[1].Generation, int64(2))
	ref.Generation = 1
	if !reflect.DeepEqual(list[0], ref) {
		t.Fatalf("got  %+v\nwant %+v", list[0], ref)
	}

	must(t, e.DeleteClaimPolicy("b-full"))
	_, err := e.GetClaimPolicy("b-full")
	wantErr(t, err, ErrNotFound)
	wantErr(t, e.DeleteClaimPolicy("b-full"), ErrNotFound)
	wantEq(t, "left", len(must1[[]ClaimPolicy](t)(e.ListClaimPolicies())), 1)
	// The grant policies are another set.
	_, err = e.GetGrantPolicy("a-reference")
	wantErr(t, err, ErrNotFound)
	wantEq(t, "grant policies", len(must1[[]GrantPolicy](t)(e.ListGrantPolicies())), 0)
}

func TestGrantPolicyApplyGetListDelete(t *testing.T) {
	e := policyEngine(t, Options{})
	must(t, e.CreateRegistration(Registration{ResourceType: "myservice.miloapis.com/creations",
		ConsumerType: KindRef{Kind: "Organization"}, Class: ClassRate, AllowedDimensions: []string{"region"}}))
	p := referenceGrantPolicy()
	p.Constraints = []Constraint{{Expression: "trigger.spec.tier == 'pro'", Message: "pro tier"}}
	p.ParentContext = ParentContext{APIGroup: miloGroup, Kind: "Organization", NameExpression: "trigger.metadata.name"}
	p.Grant.Allowances = append(p.Grant.Allowances, Allowance{ResourceType: "myservice.miloapis.com/creations",
		Buckets: []GrantBucket{
			{Amount: 10, Period: PeriodMinute, Window: WindowCalendar, ViolationAction: ActionThrottle},
			{Amount: 5, Period: PeriodSecond, Burst: 8, MatchLabels: map[string]string{"region": "eu"}},
			{Amount: 1, Period: PeriodSecond, MatchExpressions: []SelectorRequirement{
				{Key: "region", Op: OpIn, Values: []string{"us", "ap"}}}},
		}})
	wantEq(t, "generation", must1[int64](t)(e.ApplyGrantPolicy(p)), int64(1))
	got := must1[*GrantPolicy](t)(e.GetGrantPolicy(p.Name))
	p.Generation = 1
	if !reflect.DeepEqual(*got, p) {
		t.Fatalf("got  %+v\nwant %+v", *got, p)
	}
	p.Grant.Allowances[0].Buckets[0].Amount = 150
	wantEq(t, "changed", must1[int64](t)(e.ApplyGrantPolicy(p)), int64(2))
	second := referenceGrantPolicy()
	second.Name = "addon"
	second.Disabled = true
	must1[int64](t)(e.ApplyGrantPolicy(second))
	list := must1[[]GrantPolicy](t)(e.ListGrantPolicies())
	wantEq(t, "listed", len(list), 2)
	wantEq(t, "sorted", list[0].Name, "addon")
	wantEq(t, "disabled", list[0].Disabled, true)
	wantEq(t, "no parent context", list[0].ParentContext, ParentContext{})
	wantEq(t, "amount", list[1].Grant.Allowances[0].Buckets[0].Amount, int64(150))
	must(t, e.DeleteGrantPolicy("addon"))
	wantErr(t, e.DeleteGrantPolicy("addon"), ErrNotFound)
	_, err := e.GetGrantPolicy("addon")
	wantErr(t, err, ErrNotFound)
	wantEq(t, "claim policies", len(must1[[]ClaimPolicy](t)(e.ListClaimPolicies())), 0)
}

// A refused apply names the field as Milo spells it and changes nothing.
func TestPolicyApplyErrors(t *testing.T) {
	e := referenceEngine(t, 2, Options{})
	broken := func(mod func(*ClaimPolicy)) ClaimPolicy {
		p := referenceClaimPolicy()
		mod(&p)
		return p
	}
	for _, c := range []struct {
		p      ClaimPolicy
		code   error
		detail string
	}{
		{broken(func(p *ClaimPolicy) { p.Constraints = []Constraint{{Expression: "trigger.spec.size =="}} }),
			ErrParse, "policy.trigger.constraints[0].expression: column "},
		{broken(func(p *ClaimPolicy) { p.Constraints = []Constraint{{Expression: "nobody.knows"}} }),
			ErrParse, "undeclared reference to 'nobody'"},
		{broken(func(p *ClaimPolicy) { p.Claim.GenerateName, p.Claim.Name = "", "{{ trigger.metadata.name" }),
			ErrParse, "policy.target.resourceClaimTemplate.metadata.name"},
		{broken(func(p *ClaimPolicy) { p.Claim.Requests[0].ResourceType = "example.com/x" }),
			ErrUnregistered, "policy.target.resourceClaimTemplate.spec.requests[0].resourceType: example.com/x is not registered"},
		{broken(func(p *ClaimPolicy) { p.Claim.Consumer.Kind = "Project" }),
			ErrNotAllowed, "spec.consumerRef.kind: Project may not hold " + resources},
		{broken(func(p *ClaimPolicy) { p.Claim.Requests[0].Amount = 0 }),
			ErrInvalid, "policy.target.resourceClaimTemplate.spec.requests[0].amount: must be > 0, got 0"},
		{broken(func(p *ClaimPolicy) { p.Claim.Name = "x" }),
			ErrInvalid, "set exactly one of name and generateName"},
		{broken(func(p *ClaimPolicy) { p.Trigger.APIVersion = "Example.com/v1" }),
			ErrInvalid, "policy.trigger.apiVersion"},
		{broken(func(p *ClaimPolicy) { p.Name = "" }), ErrInvalid, "policy.name"},
		{broken(func(p *ClaimPolicy) { p.Constraints = make([]Constraint, MaxConstraints+1) }),
			ErrInvalid, "policy.trigger.constraints"},
		// The bindings refuse a NUL byte before calling C.
		{broken(func(p *ClaimPolicy) { p.Constraints = []Constraint{{Expression: "true\x00"}} }),
			ErrInvalid, `policy.trigger.constraints.expression: "true\x00" contains a NUL byte`},
		{broken(func(p *ClaimPolicy) { p.Claim.Requests[0].Dimensions = map[string]string{"a": "\x00"} }),
			ErrInvalid, "policy.target.resourceClaimTemplate.spec.requests.dimensions"},
	} {
		_, err := e.ApplyClaimPolicy(c.p)
		qe := wantErr(t, err, c.code)
		if !strings.Contains(qe.Detail, c.detail) {
			t.Errorf("detail %q does not contain %q", qe.Detail, c.detail)
		}
		wantEq(t, "op", qe.Op, "apply claim policy")
	}
	got := must1[*ClaimPolicy](t)(e.GetClaimPolicy("myservice-resource-quota"))
	wantEq(t, "generation after refusals", got.Generation, int64(1))

	g := referenceGrantPolicy()
	g.ParentContext = ParentContext{Kind: "Organization", NameExpression: "user.name"}
	_, err := e.ApplyGrantPolicy(g)
	qe := wantErr(t, err, ErrParse)
	if !strings.Contains(qe.Detail, "policy.target.parentContext.nameExpression: column 1: undeclared reference to 'user'") {
		t.Errorf("detail %q", qe.Detail)
	}
	g = referenceGrantPolicy()
	g.Grant.Allowances[0].Buckets[0].Amount = -5
	_, err = e.ApplyGrantPolicy(g)
	wantErr(t, err, ErrInvalid)
	g = referenceGrantPolicy()
	g.Grant.Allowances[0].Buckets[0].Period = 1500 * 1000 // not whole milliseconds
	_, err = e.ApplyGrantPolicy(g)
	wantErr(t, err, ErrInvalid)
	wantEq(t, "grant policies", len(must1[[]GrantPolicy](t)(e.ListGrantPolicies())), 0)

	for _, name := range []string{"a\x00"} {
		wantErr(t, e.DeleteClaimPolicy(name), ErrInvalid)
		_, err = e.GetGrantPolicy(name)
		wantErr(t, err, ErrInvalid)
	}
	must(t, e.Close())
	_, err = e.ApplyClaimPolicy(referenceClaimPolicy())
	wantErr(t, err, ErrWrongState)
	_, err = e.ListGrantPolicies()
	wantErr(t, err, ErrWrongState)
	_, err = e.GetClaimPolicy("x")
	wantErr(t, err, ErrWrongState)
	wantErr(t, e.DeleteGrantPolicy("x"), ErrWrongState)
}
