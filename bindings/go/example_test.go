package quota_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"libquota.dev/quota"
)

const vcpus = "compute.example.com/vcpus"

var acme = quota.Ref{Kind: "Organization", Name: "acme"}

// Register a type, grant it, and reserve, commit and release a claim.
func Example() {
	e, err := quota.NewEngine(quota.Options{})
	if err != nil {
		panic(err)
	}
	defer e.Close()

	must(e.CreateRegistration(quota.Registration{
		ResourceType: vcpus,
		ConsumerType: quota.KindRef{Kind: "Organization"},
		BaseUnit:     "vCPU",
	}))
	_, err = e.ApplyGrant(quota.Grant{Name: "acme-compute", Consumer: acme,
		Allowances: []quota.Allowance{{ResourceType: vcpus, Buckets: []quota.GrantBucket{{Amount: 16}}}}})
	must(err)

	web1 := quota.Claim{Namespace: "apps", Name: "web-1", Consumer: acme,
		Requests: []quota.Request{{ResourceType: vcpus, Amount: 4}}}
	a, err := e.Reserve(web1)
	must(err)
	fmt.Println("web-1:", a.State)
	// The instance started and uses 3 of the 4 vCPUs: settle for 3.
	must(e.Commit("apps", "web-1", quota.Request{ResourceType: vcpus, Amount: 3}))

	b, err := e.GetBucket(acme, vcpus)
	must(err)
	fmt.Printf("limit %d allocated %d available %d\n", b.Limit, b.Allocated, b.Available)

	must(e.Release("apps", "web-1"))
	b, err = e.GetBucket(acme, vcpus)
	must(err)
	fmt.Printf("after release: available %d\n", b.Available)
	// Output:
	// web-1: Reserved
	// limit 16 allocated 3 available 13
	// after release: available 16
}

// A denial is an *Error whose Answer names the binding bucket.
func ExampleError() {
	e := engineWith(4)
	defer e.Close()

	_, err := e.Acquire(quota.Claim{Name: "big", Consumer: acme,
		Requests: []quota.Request{{ResourceType: vcpus, Amount: 6}}})
	var qe *quota.Error
	if errors.Is(err, quota.ErrExceeded) && errors.As(err, &qe) {
		fmt.Println(qe.Answer.Bucket)
		fmt.Printf("requested %d, available %d\n", qe.Answer.Requested, qe.Answer.Available)
		fmt.Println(qe.Detail)
	}
	// Output:
	// Organization//acme:compute.example.com/vcpus
	// requested 6, available 4
	// Resource quota exceeded for compute.example.com/vcpus on Organization//acme:compute.example.com/vcpus: requested 6, available 4, limit 4
}

// AcquireWait queues a claim that does not fit and returns once it is
// granted: here when another claim is released.
func ExampleEngine_AcquireWait() {
	e := engineWith(4)
	defer e.Close()
	holder := quota.Claim{Name: "holder", Consumer: acme,
		Requests: []quota.Request{{ResourceType: vcpus, Amount: 4}}}
	_, err := e.Acquire(holder)
	must(err)

	go func() {
		// Release once the waiter is queued.
		for {
			if b, _ := e.GetBucket(acme, vcpus); b.Pending == 1 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		must(e.Release("", "holder"))
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := e.AcquireWait(ctx, quota.Claim{Name: "waiter", Consumer: acme,
		Requests: []quota.Request{{ResourceType: vcpus, Amount: 2}}})
	must(err)
	fmt.Println("waiter:", a.State, "queued first:", a.Queued())
	// Output:
	// waiter: Granted queued first: true
}

// RateTake on a clock the example moves by hand: 10 requests per second
// with a burst of 20.
func ExampleEngine_RateTake() {
	clock := quota.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e, err := quota.NewEngine(quota.Options{Clock: clock.Now})
	must(err)
	defer e.Close()
	const requests = "serving.example.com/requests"
	must(e.CreateRegistration(quota.Registration{ResourceType: requests,
		ConsumerType: quota.KindRef{Kind: "Organization"}, Class: quota.ClassRate}))
	_, err = e.ApplyGrant(quota.Grant{Name: "acme-rps", Consumer: acme, Allowances: []quota.Allowance{{
		ResourceType: requests,
		Buckets:      []quota.GrantBucket{{Amount: 10, Period: quota.PeriodSecond, Burst: 20}},
	}}})
	must(err)

	a, err := e.RateTake(acme, requests, 20)
	must(err)
	fmt.Println("remaining:", a.Available)
	_, err = e.RateTake(acme, requests, 1)
	var qe *quota.Error
	if errors.As(err, &qe) && errors.Is(err, quota.ErrRateLimited) {
		fmt.Println("rate limited; retry after", qe.RetryAfter)
	}
	clock.Advance(qe.RetryAfter)
	_, err = e.RateTake(acme, requests, 1)
	fmt.Println("after waiting:", err)
	// Output:
	// remaining: 0
	// rate limited; retry after 100ms
	// after waiting: <nil>
}

// Admit runs the claim policies for an object: each Instance claims one
// vCPU per replica from the Organization named in its spec. A denial is
// an error (errors.Is ErrExceeded) and a result with Milo's message.
func ExampleEngine_Admit() {
	e := engineWith(4)
	defer e.Close()
	_, err := e.ApplyClaimPolicy(quota.ClaimPolicy{
		Name:        "instance-vcpus",
		Trigger:     quota.TriggerRef{APIVersion: "compute.example.com/v1", Kind: "Instance"},
		Constraints: []quota.Constraint{{Expression: "trigger.spec.replicas > 0"}},
		Claim: quota.ClaimTemplate{
			Name:     "{{trigger.metadata.name}}-vcpus",
			Consumer: quota.Ref{Kind: "Organization", Name: "{{trigger.spec.org}}"},
			Requests: []quota.RequestTemplate{{ResourceType: vcpus, Amount: 3}},
		},
	})
	must(err)
	instance := func(name string) map[string]any {
		return map[string]any{"apiVersion": "compute.example.com/v1", "kind": "Instance",
			"metadata": map[string]any{"name": name, "namespace": "apps"},
			"spec":     map[string]any{"org": "acme", "replicas": 1}}
	}

	res, err := e.Admit(quota.Admission{Trigger: instance("web-1")})
	fmt.Println(res.Outcome, res.Claims[0].Namespace+"/"+res.Claims[0].Name, err)
	res, err = e.Admit(quota.Admission{Trigger: instance("web-2")})
	if errors.Is(err, quota.ErrExceeded) {
		fmt.Println(res.Outcome, res.Message)
	}
	// Output:
	// Allowed apps/web-1-vcpus <nil>
	// Denied instance.compute.example.com "web-2" is forbidden: You've reached your quota for this resource type (compute.example.com/vcpus): requested 3, available 1, limit 4
}

func engineWith(limit int64) *quota.Engine {
	e, err := quota.NewEngine(quota.Options{})
	must(err)
	must(e.CreateRegistration(quota.Registration{ResourceType: vcpus,
		ConsumerType: quota.KindRef{Kind: "Organization"}}))
	_, err = e.ApplyGrant(quota.Grant{Name: "acme-compute", Consumer: acme,
		Allowances: []quota.Allowance{{ResourceType: vcpus, Buckets: []quota.GrantBucket{{Amount: limit}}}}})
	must(err)
	return e
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
