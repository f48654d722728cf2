package quota

import (
	"strings"
	"testing"
)

func grantAmount(t testing.TB, e *Engine, ns, name string) int64 {
	t.Helper()
	return must1[*Grant](t)(e.GetGrant(ns, name)).Allowances[0].Buckets[0].Amount
}

func syncOrg(t testing.TB, e *Engine, trigger any, ev TriggerEvent) []GrantChange {
	t.Helper()
	return must1[[]GrantChange](t)(e.SyncGrantPolicies(trigger, ev))
}

// The reference: an Organization's grant appears when it is added,
// follows the policy, and goes when it is deleted.
func TestSyncGrantPoliciesReference(t *testing.T) {
	e := policyEngine(t, Options{})
	must1[int64](t)(e.ApplyGrantPolicy(referenceGrantPolicy()))
	must1[int64](t)(e.ApplyClaimPolicy(referenceClaimPolicy()))
	wantBucket(t, e, miloAcme, resources, 0, 0, 0, 0)

	ch := syncOrg(t, e, organization("acme", "org-uid-1", nil), TriggerAdded)
	want := GrantChange{Policy: "myservice-default-grant", Name: "acme-myservice-quota", Generation: 1}
	if len(ch) != 1 || ch[0] != want {
		t.Fatalf("changes %+v, want [%+v]", ch, want)
	}
	g := must1[*Grant](t)(e.GetGrant("", "acme-myservice-quota"))
	wantEq(t, "consumer", g.Consumer, miloAcme)
	wantBucket(t, e, miloAcme, resources, 100, 0, 0, 100)
	// Pattern 1 now admits against it.
	must1[AdmissionResult](t)(admitAs(e, myResource("r1", "r1"), "acme"))
	wantBucket(t, e, miloAcme, resources, 100, 1, 0, 99)

	// An update that changes nothing keeps the grant as it is.
	ch = syncOrg(t, e, organization("acme", "org-uid-1", nil), TriggerUpdated)
	wantEq(t, "unchanged generation", ch[0].Generation, int64(1))
	// The policy changes: the next sync applies it.
	p := referenceGrantPolicy()
	p.Grant.Allowances[0].Buckets[0].Amount = 150
	must1[int64](t)(e.ApplyGrantPolicy(p))
	wantBucket(t, e, miloAcme, resources, 100, 1, 0, 99)
	ch = syncOrg(t, e, organization("acme", "org-uid-1", nil), TriggerUpdated)
	wantEq(t, "generation", ch[0].Generation, int64(2))
	wantBucket(t, e, miloAcme, resources, 150, 1, 0, 149)

	// Deleted: the grant goes; the claim stays, over the limit.
	ch = syncOrg(t, e, organization("acme", "org-uid-1", nil), TriggerDeleted)
	want = GrantChange{Policy: "myservice-default-grant", Name: "acme-myservice-quota", Removed: true}
	if len(ch) != 1 || ch[0] != want {
		t.Fatalf("changes %+v, want [%+v]", ch, want)
	}
	_, err := e.GetGrant("", "acme-myservice-quota")
	wantErr(t, err, ErrNotFound)
	wantBucket(t, e, miloAcme, resources, 0, 1, 0, 0)
	wantEq(t, "nothing left to remove", len(syncOrg(t, e, organization("acme", "org-uid-1", nil), TriggerDeleted)), 0)
}

// A grant policy per tier: switching tier moves the grant in one change.
func TestSyncGrantPoliciesTiers(t *testing.T) {
	tiers := func(e *Engine, freeName, proName string) {
		for _, tier := range []struct {
			policy, name, tier string
			amount             int64
		}{{"tier-free", freeName, "free", 5}, {"tier-pro", proName, "pro", 100}} {
			p := referenceGrantPolicy()
			p.Name = tier.policy
			p.Grant.Name = tier.name
			p.Grant.Allowances[0].Buckets[0].Amount = tier.amount
			p.Constraints = []Constraint{{Expression: "trigger.spec.tier == '" + tier.tier + "'"}}
			must1[int64](t)(e.ApplyGrantPolicy(p))
		}
	}
	acmeIn := func(tier string) map[string]any { return organization("acme", "u", map[string]any{"tier": tier}) }

	e := policyEngine(t, Options{})
	tiers(e, "{{trigger.metadata.name}}-free", "{{trigger.metadata.name}}-pro")
	wantEq(t, "changes", len(syncOrg(t, e, acmeIn("free"), TriggerAdded)), 1)
	wantBucket(t, e, miloAcme, resources, 5, 0, 0, 5)
	wantEq(t, "free grant", grantAmount(t, e, "", "acme-free"), int64(5))

	ch := syncOrg(t, e, acmeIn("pro"), TriggerUpdated)
	wantEq(t, "changes", len(ch), 2)
	wantEq(t, "applied", ch[0], GrantChange{Policy: "tier-pro", Name: "acme-pro", Generation: 1})
	wantEq(t, "removed", ch[1], GrantChange{Policy: "tier-free", Name: "acme-free", Removed: true})
	wantBucket(t, e, miloAcme, resources, 100, 0, 0, 100)
	_, err := e.GetGrant("", "acme-free")
	wantErr(t, err, ErrNotFound)

	// Use 20, then downgrade: the limit drops, nothing is revoked.
	must1[Answer](t)(e.Consume(miloAcme, resources, 20))
	syncOrg(t, e, acmeIn("free"), TriggerUpdated)
	wantBucket(t, e, miloAcme, resources, 5, 20, 0, 0)
	// A tier no policy knows: no grant at all.
	ch = syncOrg(t, e, acmeIn("gold"), TriggerUpdated)
	wantEq(t, "removed", len(ch) == 1 && ch[0].Removed, true)
	wantEq(t, "grants", len(must1[[]Grant](t)(e.ListGrants(nil))), 0)

	// One grant name for both tiers: the grant moves between the policies.
	e = policyEngine(t, Options{})
	tiers(e, "{{trigger.metadata.name}}-quota", "{{trigger.metadata.name}}-quota")
	syncOrg(t, e, acmeIn("free"), TriggerAdded)
	ch = syncOrg(t, e, acmeIn("pro"), TriggerUpdated)
	wantEq(t, "moved", len(ch) == 1 && ch[0] == GrantChange{Policy: "tier-pro", Name: "acme-quota", Generation: 2}, true)
	wantEq(t, "amount", grantAmount(t, e, "", "acme-quota"), int64(100))
	syncOrg(t, e, acmeIn("pro"), TriggerDeleted)
	wantEq(t, "grants", len(must1[[]Grant](t)(e.ListGrants(nil))), 0)
}

// Disabled and deleted policies take nothing back until the object goes.
func TestSyncGrantPoliciesRemovalOnDelete(t *testing.T) {
	e := policyEngine(t, Options{})
	p := referenceGrantPolicy()
	must1[int64](t)(e.ApplyGrantPolicy(p))
	org := organization("acme", "u", nil)
	syncOrg(t, e, org, TriggerAdded)
	p.Disabled = true
	must1[int64](t)(e.ApplyGrantPolicy(p))
	wantEq(t, "a disabled policy changes nothing", len(syncOrg(t, e, org, TriggerUpdated)), 0)
	wantBucket(t, e, miloAcme, resources, 100, 0, 0, 100)
	must(t, e.DeleteGrantPolicy(p.Name))
	syncOrg(t, e, org, TriggerUpdated)
	wantBucket(t, e, miloAcme, resources, 100, 0, 0, 100)
	ch := syncOrg(t, e, org, TriggerDeleted)
	wantEq(t, "removed on delete", len(ch) == 1 && ch[0].Removed && ch[0].Policy == p.Name, true)
	wantBucket(t, e, miloAcme, resources, 0, 0, 0, 0)
}

func TestSyncGrantPoliciesParentContext(t *testing.T) {
	e := policyEngine(t, Options{})
	must(t, e.CreateRegistration(Registration{ResourceType: "projects.example.com/workloads",
		ConsumerType: KindRef{Kind: "Project"}}))
	must1[int64](t)(e.ApplyGrantPolicy(GrantPolicy{
		Name:    "project-workloads",
		Trigger: TriggerRef{APIVersion: miloV1, Kind: "Project"},
		Grant: GrantTemplate{Name: "{{trigger.metadata.name}}-workloads", Namespace: "{{trigger.spec.parent}}",
			Consumer: Ref{Kind: "Project", Namespace: "{{trigger.spec.parent}}", Name: "{{trigger.metadata.name}}"},
			Allowances: []Allowance{{ResourceType: "projects.example.com/workloads",
				Buckets: []GrantBucket{{Amount: 10}}}}},
		ParentContext: ParentContext{APIGroup: miloGroup, Kind: "Organization", NameExpression: "trigger.spec.parent"},
	}))
	ch := syncOrg(t, e, object(miloV1, "Project", "", "web", "p1", map[string]any{"parent": "acme"}), TriggerAdded)
	want := GrantChange{Policy: "project-workloads", Namespace: "acme", Name: "web-workloads", Generation: 1,
		Parent: Ref{APIGroup: miloGroup, Kind: "Organization", Name: "acme"}}
	if len(ch) != 1 || ch[0] != want {
		t.Fatalf("changes %+v, want [%+v]", ch, want)
	}
	wantBucket(t, e, Ref{Kind: "Project", Namespace: "acme", Name: "web"}, "projects.example.com/workloads", 10, 0, 0, 10)
}

func TestSyncGrantPoliciesErrors(t *testing.T) {
	e := policyEngine(t, Options{})
	must1[int64](t)(e.ApplyGrantPolicy(referenceGrantPolicy()))
	org := organization("acme", "u", nil)
	// A grant of the rendered name that the host made: a conflict.
	must1[int64](t)(e.ApplyGrant(Grant{Name: "acme-myservice-quota", Consumer: miloAcme,
		Allowances: []Allowance{{ResourceType: resources, Buckets: []GrantBucket{{Amount: 7}}}}}))
	_, err := e.SyncGrantPolicies(org, TriggerAdded)
	qe := wantErr(t, err, ErrConflict)
	if !strings.Contains(qe.Detail, "grant /acme-myservice-quota exists and was made by the host") {
		t.Errorf("detail %q", qe.Detail)
	}
	wantEq(t, "the host's grant", grantAmount(t, e, "", "acme-myservice-quota"), int64(7))
	must(t, e.DeleteGrant("", "acme-myservice-quota"))

	// A constraint that fails to evaluate: nothing changes.
	broken := referenceGrantPolicy()
	broken.Name = "zz-broken"
	broken.Grant.Name = "{{trigger.metadata.name}}-extra"
	broken.Constraints = []Constraint{{Expression: "trigger.spec.tier == 'pro'", Message: "pro tier"}}
	must1[int64](t)(e.ApplyGrantPolicy(broken))
	_, err = e.SyncGrantPolicies(org, TriggerAdded)
	qe = wantErr(t, err, ErrEval)
	if !strings.Contains(qe.Detail, "policy zz-broken: trigger.constraints[0].expression (pro tier): column") {
		t.Errorf("detail %q", qe.Detail)
	}
	wantEq(t, "grants", len(must1[[]Grant](t)(e.ListGrants(nil))), 0)
	must(t, e.DeleteGrantPolicy("zz-broken"))

	for _, c := range []struct {
		trigger any
		event   TriggerEvent
		code    error
		detail  string
	}{
		{nil, TriggerAdded, ErrInvalid, "trigger"},
		{org, 0, ErrInvalid, "event"},
		{org, 4, ErrInvalid, "event"},
		{map[string]any{"kind": "Organization"}, TriggerAdded, ErrInvalid, "trigger.apiVersion"},
		{organization("", "", nil), TriggerAdded, ErrInvalid, "trigger.metadata"},
		{[]byte(`{"apiVersion": "v1",}`), TriggerAdded, ErrParse, "trigger: JSON text at byte"},
	} {
		_, err := e.SyncGrantPolicies(c.trigger, c.event)
		qe := wantErr(t, err, c.code)
		if !strings.Contains(qe.Detail, c.detail) {
			t.Errorf("detail %q does not contain %q", qe.Detail, c.detail)
		}
		wantEq(t, "op", qe.Op, "sync grant policies")
	}
	// No policy for it: nothing to do.
	ch := syncOrg(t, e, object(miloV1, "Project", "", "p", "p", nil), TriggerAdded)
	wantEq(t, "changes", len(ch), 0)
	wantEq(t, "TriggerAdded", TriggerAdded.String(), "Added")
	wantEq(t, "TriggerDeleted", TriggerDeleted.String(), "Deleted")
	wantEq(t, "unknown event", TriggerEvent(9).String(), "9")
	wantEq(t, "outcome", AdmitFailedOpen.String(), "FailedOpen")
	wantEq(t, "no outcome", AdmitOutcome(0).String(), "None")
}

// Running out of memory changes nothing; the next try succeeds.
func TestSyncGrantPoliciesNoMemory(t *testing.T) {
	countingAllocator(t)
	e := policyEngine(t, Options{})
	must1[int64](t)(e.ApplyGrantPolicy(referenceGrantPolicy()))
	org := organization("acme", "u", nil)
	for n := int64(0); ; n++ {
		testFailAfter(n)
		ch, err := e.SyncGrantPolicies(org, TriggerAdded)
		testFailAfter(-1)
		if err == nil {
			wantEq(t, "changes", len(ch), 1)
			break
		}
		wantErr(t, err, ErrNoMemory)
		wantEq(t, "grants after a failure", len(must1[[]Grant](t)(e.ListGrants(nil))), 0)
		if n > 500 {
			t.Fatal("sync never succeeds")
		}
	}
	wantBucket(t, e, miloAcme, resources, 100, 0, 0, 100)
}
