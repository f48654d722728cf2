package quota

import (
	"reflect"
	"testing"
	"time"
)

func TestGrantRoundTripOfEveryField(t *testing.T) {
	e := newEngine(t, Options{})
	register(t, e, gpus, func(r *Registration) { r.AllowedDimensions = []string{"region", "tier", "spot"} })
	register(t, e, tokens, func(r *Registration) { r.Class = ClassRate })
	g := Grant{Namespace: "billing", Name: "acme-plan", Consumer: acme, Allowances: []Allowance{
		{ResourceType: gpus, Buckets: []GrantBucket{
			{Amount: 10},
			{Amount: 4, MatchLabels: map[string]string{"region": "us"},
				MatchExpressions: []SelectorRequirement{
					{Key: "tier", Op: OpIn, Values: []string{"gold", "silver"}},
					{Key: "spot", Op: OpDoesNotExist},
				}},
		}},
		{ResourceType: tokens, Buckets: []GrantBucket{
			{Amount: 1000, Period: PeriodSecond, Burst: 2000, ViolationAction: ActionThrottle},
			{Amount: 10_000_000, Period: PeriodDay, Window: WindowCalendar},
		}},
	}}
	wantEq(t, "generation", must1[int64](t)(e.ApplyGrant(g)), int64(1))
	got := must1[*Grant](t)(e.GetGrant("billing", "acme-plan"))
	g.Generation = 1
	if !reflect.DeepEqual(*got, g) {
		t.Fatalf("got  %+v\nwant %+v", *got, g)
	}
}

func TestGrantApplyReplacesAndBumpsGeneration(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	g := Grant{Name: "acme-" + vcpus, Consumer: acme,
		Allowances: []Allowance{{ResourceType: vcpus, Buckets: []GrantBucket{{Amount: 16}}}}}
	wantEq(t, "same spec", must1[int64](t)(e.ApplyGrant(g)), int64(1))
	g.Allowances[0].Buckets[0].Amount = 20
	wantEq(t, "new spec", must1[int64](t)(e.ApplyGrant(g)), int64(2))
	b := getBucket(t, e, acme, vcpus)
	wantEq(t, "limit", b.Limit, int64(20))
	want := []GrantRef{{Name: g.Name, Amount: 20, LastObservedGeneration: 2}}
	if !reflect.DeepEqual(b.GrantRefs, want) {
		t.Errorf("grant refs %+v", b.GrantRefs)
	}
	// Lowering below usage revokes nothing: the bucket is over its limit.
	must1[Answer](t)(e.Consume(acme, vcpus, 15))
	g.Allowances[0].Buckets[0].Amount = 10
	must1[int64](t)(e.ApplyGrant(g))
	b = getBucket(t, e, acme, vcpus)
	if b.Flags&BucketOverLimit == 0 || b.Allocated != 15 || b.Available != 0 {
		t.Errorf("bucket %+v", b)
	}
	wantEq(t, "flags", b.Flags.String(), "OverLimit")
}

func TestGrantUnlimitedAndNamespaces(t *testing.T) {
	e := newEngine(t, Options{})
	register(t, e, vcpus)
	for _, ns := range []string{"a", "b"} {
		_, err := e.ApplyGrant(Grant{Namespace: ns, Name: "same-name", Consumer: acme,
			Allowances: []Allowance{{ResourceType: vcpus, Buckets: []GrantBucket{{Amount: 5}}}}})
		must(t, err)
	}
	wantEq(t, "two grants add up", getBucket(t, e, acme, vcpus).Limit, int64(10))
	grant(t, e, acme, vcpus, GrantBucket{Amount: Unlimited})
	b := getBucket(t, e, acme, vcpus)
	wantEq(t, "limit", b.Limit, Unlimited)
	wantEq(t, "available", b.Available, Unlimited)
	wantEq(t, "utilization", b.UtilizationPPM, int64(-1))
}

func TestGrantListFilterDelete(t *testing.T) {
	e := newEngine(t, Options{})
	register(t, e, vcpus)
	grant(t, e, beta, vcpus, GrantBucket{Amount: 1})
	grant(t, e, acme, vcpus, GrantBucket{Amount: 2})
	all := must1[[]Grant](t)(e.ListGrants(nil))
	if len(all) != 2 || all[0].Consumer != acme || all[1].Consumer != beta {
		t.Fatalf("ListGrants(nil) = %+v", all)
	}
	only := must1[[]Grant](t)(e.ListGrants(&beta))
	if len(only) != 1 || only[0].Name != "beta-"+vcpus {
		t.Fatalf("ListGrants(beta) = %+v", only)
	}
	must(t, e.DeleteGrant("", "beta-"+vcpus))
	wantEq(t, "limit after delete", getBucket(t, e, beta, vcpus).Limit, int64(0))
	wantEq(t, "left", len(must1[[]Grant](t)(e.ListGrants(nil))), 1)
}

func TestGrantRefused(t *testing.T) {
	e := newEngine(t, Options{})
	register(t, e, vcpus)
	_, err := e.ApplyGrant(Grant{Name: "g", Consumer: web,
		Allowances: []Allowance{{ResourceType: vcpus, Buckets: []GrantBucket{{Amount: 1}}}}})
	wantErr(t, err, ErrNotAllowed)
	_, err = e.ApplyGrant(Grant{Name: "g", Consumer: acme})
	wantErr(t, err, ErrInvalid)
	_, err = e.ApplyGrant(Grant{Name: "g", Consumer: acme,
		Allowances: []Allowance{{ResourceType: vcpus, Buckets: []GrantBucket{{Amount: -2}}}}})
	wantErr(t, err, ErrInvalid)
	register(t, e, tokens, func(r *Registration) { r.Class = ClassRate })
	_, err = e.ApplyGrant(Grant{Name: "g", Consumer: acme,
		Allowances: []Allowance{{ResourceType: tokens, Buckets: []GrantBucket{{Amount: 1, Period: 1500 * time.Microsecond}}}}})
	qe := wantErr(t, err, ErrInvalid)
	wantEq(t, "detail", qe.Detail, "grant.allowances.buckets.period: 1.5ms is not a whole number of milliseconds")
	wantEq(t, "nothing applied", len(must1[[]Grant](t)(e.ListGrants(nil))), 0)
}
