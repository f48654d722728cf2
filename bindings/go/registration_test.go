package quota

import (
	"reflect"
	"strings"
	"testing"
)

func TestRegistrationRoundTripOfEveryField(t *testing.T) {
	e := newEngine(t, Options{})
	r := Registration{
		ResourceType:         vcpus,
		ConsumerType:         KindRef{APIGroup: "resourcemanager.example.com", Kind: "Organization"},
		Class:                ClassEntity,
		Enforcement:          Warn,
		BaseUnit:             "millicore",
		DisplayUnit:          "vCPU",
		Description:          "virtual CPUs",
		UnitConversionFactor: 1000,
		ClaimingResources:    []KindRef{{APIGroup: "compute.example.com", Kind: "Instance"}, {Kind: "Pod"}},
		DefaultLimit:         Unlimited,
		AllowedDimensions:    []string{"region", "tier"},
		ViolationAction:      ActionWarn,
	}
	must(t, e.CreateRegistration(r))
	got := must1[*Registration](t)(e.GetRegistration(vcpus))
	r.Generation = 1
	if !reflect.DeepEqual(*got, r) {
		t.Fatalf("got  %+v\nwant %+v", *got, r)
	}
}

func TestRegistrationDefaults(t *testing.T) {
	e := newEngine(t, Options{})
	register(t, e, vcpus)
	got := must1[*Registration](t)(e.GetRegistration(vcpus))
	want := Registration{ResourceType: vcpus, ConsumerType: KindRef{Kind: "Organization"},
		Class: ClassAllocation, Enforcement: Enforce, UnitConversionFactor: 1, Generation: 1}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("got  %+v\nwant %+v", *got, want)
	}
	wantEq(t, "class name", got.Class.String(), "Allocation")
	wantEq(t, "enforcement name", got.Enforcement.String(), "Enforce")
	wantEq(t, "action name", got.ViolationAction.String(), "Default")
	wantEq(t, "unknown class", ResourceClass(9).String(), "9")
}

func TestRegistrationCreateAgainUpdates(t *testing.T) {
	e := newEngine(t, Options{})
	register(t, e, vcpus)
	register(t, e, vcpus) // identical: no change
	wantEq(t, "generation", must1[*Registration](t)(e.GetRegistration(vcpus)).Generation, int64(1))
	register(t, e, vcpus, func(r *Registration) { r.DefaultLimit = 8 })
	wantEq(t, "generation", must1[*Registration](t)(e.GetRegistration(vcpus)).Generation, int64(2))
	wantEq(t, "default limit applies", getBucket(t, e, acme, vcpus).Limit, int64(8))
	must(t, e.UpdateRegistration(Registration{ResourceType: vcpus, ConsumerType: KindRef{Kind: "Organization"}, Description: "d"}))
	got := must1[*Registration](t)(e.GetRegistration(vcpus))
	wantEq(t, "generation", got.Generation, int64(3))
	wantEq(t, "description", got.Description, "d")
	err := e.UpdateRegistration(Registration{ResourceType: memory, ConsumerType: KindRef{Kind: "Organization"}})
	wantErr(t, err, ErrNotFound)
}

func TestRegistrationDeleteAndList(t *testing.T) {
	e := newEngine(t, Options{})
	register(t, e, vcpus)
	register(t, e, memory)
	register(t, e, gpus)
	list := must1[[]Registration](t)(e.ListRegistrations())
	var names []string
	for _, r := range list {
		names = append(names, r.ResourceType)
	}
	wantEq(t, "sorted", strings.Join(names, " "), strings.Join([]string{gpus, memory, vcpus}, " "))
	must(t, e.DeleteRegistration(gpus))
	wantErr(t, e.DeleteRegistration(gpus), ErrNotFound)
	h := must1[*BucketHandle](t)(e.OpenBucket(acme, memory))
	wantErr(t, e.DeleteRegistration(memory), ErrInUse)
	must(t, h.Close())
	must(t, e.DeleteRegistration(memory))
	wantEq(t, "left", len(must1[[]Registration](t)(e.ListRegistrations())), 1)
}

func TestRegistrationInvalidNamesTheField(t *testing.T) {
	e := newEngine(t, Options{})
	cases := map[string]Registration{
		"registration.resourceType":         {ConsumerType: KindRef{Kind: "Organization"}},
		"registration.consumerType.kind":    {ResourceType: vcpus, ConsumerType: KindRef{Kind: "9lives"}},
		"registration.unitConversionFactor": {ResourceType: vcpus, ConsumerType: KindRef{Kind: "Organization"}, UnitConversionFactor: -1},
		"registration.defaultLimit":         {ResourceType: vcpus, ConsumerType: KindRef{Kind: "Organization"}, DefaultLimit: -2},
	}
	for field, r := range cases {
		qe := wantErr(t, e.CreateRegistration(r), ErrInvalid)
		if !strings.Contains(qe.Detail, field) {
			t.Errorf("%s: detail %q", field, qe.Detail)
		}
	}
}
