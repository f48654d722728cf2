package quota

import "testing"

// The types and objects of Milo's reference examples, as the C policy
// tests use them (tests/policy-util.h).
const (
	resources = "myservice.miloapis.com/resources"
	projects  = "resourcemanager.miloapis.com/projects"
	miloGroup = "resourcemanager.miloapis.com"
	miloV1    = "resourcemanager.miloapis.com/v1alpha1"
	svcV1     = "myservice.miloapis.com/v1alpha1"
)

var miloAcme = Ref{APIGroup: miloGroup, Kind: "Organization", Name: "acme"}

// policyEngine registers resources (Entity) and projects, both held by
// Organizations of the Milo group.
func policyEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	e := newEngine(t, opts)
	for _, r := range []Registration{
		{ResourceType: resources, ConsumerType: KindRef{APIGroup: miloGroup, Kind: "Organization"},
			Class: ClassEntity, BaseUnit: "count", DisplayUnit: "resources"},
		{ResourceType: projects, ConsumerType: KindRef{APIGroup: miloGroup, Kind: "Organization"}},
	} {
		must(t, e.CreateRegistration(r))
	}
	return e
}

// referenceClaimPolicy: MyResource objects claim one resource each from
// the Organization the user acts for.
func referenceClaimPolicy() ClaimPolicy {
	return ClaimPolicy{
		Name:    "myservice-resource-quota",
		Trigger: TriggerRef{APIVersion: svcV1, Kind: "MyResource"},
		Claim: ClaimTemplate{
			GenerateName: "myresource-claim-",
			Namespace:    "{{trigger.metadata.namespace}}",
			Consumer: Ref{APIGroup: miloGroup, Kind: "Organization",
				Name: "{{user.extra['iam.miloapis.com/parent-name'][0]}}"},
			Requests: []RequestTemplate{{ResourceType: resources, Amount: 1}},
		},
	}
}

// referenceGrantPolicy: every Organization gets 100 resources.
func referenceGrantPolicy() GrantPolicy {
	return GrantPolicy{
		Name:    "myservice-default-grant",
		Trigger: TriggerRef{APIVersion: miloV1, Kind: "Organization"},
		Grant: GrantTemplate{
			Name:      "{{trigger.metadata.name}}-myservice-quota",
			Namespace: "{{trigger.metadata.namespace}}",
			Consumer:  Ref{APIGroup: miloGroup, Kind: "Organization", Name: "{{trigger.metadata.name}}"},
			Allowances: []Allowance{{ResourceType: resources,
				Buckets: []GrantBucket{{Amount: 100}}}},
		},
	}
}

// referenceEngine: acme may hold limit resources; the reference claim
// policy is applied.
func referenceEngine(t testing.TB, limit int64, opts Options) *Engine {
	t.Helper()
	e := policyEngine(t, opts)
	must1[int64](t)(e.ApplyGrant(Grant{Name: "acme-myservice-quota", Consumer: miloAcme,
		Allowances: []Allowance{{ResourceType: resources, Buckets: []GrantBucket{{Amount: limit}}}}}))
	must1[int64](t)(e.ApplyClaimPolicy(referenceClaimPolicy()))
	return e
}

// object is a trigger: apiVersion, kind, metadata (name, namespace and
// uid when not empty) and a spec when not nil.
func object(apiVersion, kind, ns, name, uid string, spec map[string]any) map[string]any {
	meta := map[string]any{"namespace": ns}
	if name != "" {
		meta["name"] = name
	}
	if uid != "" {
		meta["uid"] = uid
	}
	o := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta}
	if spec != nil {
		o["spec"] = spec
	}
	return o
}

func myResource(name, uid string) map[string]any {
	return object(svcV1, "MyResource", "default", name, uid, map[string]any{"size": "s"})
}

// organization is a cluster-wide Organization (namespace "").
func organization(name, uid string, spec map[string]any) map[string]any {
	return object(miloV1, "Organization", "", name, uid, spec)
}

// userIn is alice, acting in organization org.
func userIn(org string) map[string]any {
	return map[string]any{"username": "alice",
		"extra": map[string][]string{"iam.miloapis.com/parent-name": {org}}}
}

// admitAs admits trigger as a user of org (none when ""), with flags set
// by mod.
func admitAs(e *Engine, trigger any, org string, mod ...func(*Admission)) (AdmissionResult, error) {
	a := Admission{Trigger: trigger}
	if org != "" {
		a.User = userIn(org)
	}
	for _, m := range mod {
		m(&a)
	}
	return e.Admit(a)
}

func dryRun(a *Admission)      { a.DryRun = true }
func reserveOnly(a *Admission) { a.ReserveOnly = true }

// wantBucket checks a bucket's limit, allocated, reserved and available.
func wantBucket(t testing.TB, e *Engine, consumer Ref, typ string, limit, allocated, reserved, available int64) {
	t.Helper()
	b := getBucket(t, e, consumer, typ)
	if b.Limit != limit || b.Allocated != allocated || b.Reserved != reserved || b.Available != available {
		t.Fatalf("bucket %s: limit %d allocated %d reserved %d available %d, want %d %d %d %d",
			typ, b.Limit, b.Allocated, b.Reserved, b.Available, limit, allocated, reserved, available)
	}
}
