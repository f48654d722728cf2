// Command controller is a Pattern 2 ("service-managed claims", deferred
// provisioning) controller loop over simulated compute instances.
//
// Each instance gets a queued claim (Acquire with quota.ClaimQueue) for
// one instance and its vCPUs. An instance is
// provisioned only once its claim is granted; until then it reports phase
// PendingQuota with the condition QuotaGranted=False. A claim that can
// never fit (it asks for more than the limit itself) or that waits past
// its queue timeout ends the instance in phase QuotaExceeded. Deleting an
// instance releases its claim, and the engine admits the queued claims
// that now fit; its event callback is the controller's watch: every claim
// transition enqueues the instance for reconciliation.
//
// The simulation runs on a manual clock so that its output is the same on
// every run. Pattern 1 (admission through ClaimCreationPolicies) is the
// admission example's.
package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"libquota.dev/quota"
)

const (
	instancesType = "compute.example.com/instances"
	vcpusType     = "compute.example.com/vcpus"
	claimNS       = "quota-system"
	queueTimeout  = 30 * time.Second
)

var org = quota.Ref{APIGroup: "resourcemanager.miloapis.com", Kind: "Organization", Name: "acme"}

// Condition is a Kubernetes-style status condition.
type Condition struct {
	Type, Status, Reason, Message string
}

// Instance is the simulated resource the controller manages.
type Instance struct {
	Name      string
	VCPUs     int64
	Phase     string // PendingQuota, Provisioning, Running, QuotaExceeded
	Condition Condition
	deleted   bool
}

// Controller reconciles instances against their quota claims.
type Controller struct {
	engine    *quota.Engine
	clock     *quota.ManualClock
	instances map[string]*Instance
	queue     []string // instance names to reconcile, in order
	queued    map[string]bool
}

func newController() (*Controller, error) {
	c := &Controller{
		clock:     quota.NewManualClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)),
		instances: map[string]*Instance{},
		queued:    map[string]bool{},
	}
	e, err := quota.NewEngine(quota.Options{
		Clock: c.clock.Now,
		// The watch: a claim changed, so reconcile its instance. It runs
		// after the engine call that delivered it has returned; it only
		// enqueues, like an informer's event handler.
		OnEvent: func(ev quota.Event) {
			if ev.Namespace == claimNS {
				c.enqueue(strings.TrimSuffix(ev.Name, "-quota"))
			}
		},
	})
	if err != nil {
		return nil, err
	}
	c.engine = e
	for _, r := range []quota.Registration{
		{ResourceType: instancesType, Class: quota.ClassEntity, BaseUnit: "instance"},
		{ResourceType: vcpusType, Class: quota.ClassAllocation, BaseUnit: "vCPU"},
	} {
		r.ConsumerType = quota.KindRef{APIGroup: org.APIGroup, Kind: org.Kind}
		r.ClaimingResources = []quota.KindRef{{APIGroup: "compute.example.com", Kind: "Instance"}}
		if err := e.CreateRegistration(r); err != nil {
			return nil, err
		}
	}
	_, err = e.ApplyGrant(quota.Grant{Namespace: "acme", Name: "acme-compute", Consumer: org,
		Allowances: []quota.Allowance{
			{ResourceType: instancesType, Buckets: []quota.GrantBucket{{Amount: 3}}},
			{ResourceType: vcpusType, Buckets: []quota.GrantBucket{{Amount: 8}}},
		}})
	return c, err
}

func (c *Controller) enqueue(name string) {
	if !c.queued[name] {
		c.queued[name] = true
		c.queue = append(c.queue, name)
	}
}

// run reconciles until nothing is left to do.
func (c *Controller) run() error {
	for len(c.queue) > 0 {
		name := c.queue[0]
		c.queue = c.queue[1:]
		delete(c.queued, name)
		if err := c.reconcile(name); err != nil {
			return fmt.Errorf("reconcile %s: %w", name, err)
		}
	}
	return nil
}

func claimFor(inst *Instance) quota.Claim {
	return quota.Claim{
		Namespace: claimNS,
		Name:      inst.Name + "-quota",
		Consumer:  org,
		Resource:  quota.Ref{APIGroup: "compute.example.com", Kind: "Instance", Namespace: "acme", Name: inst.Name},
		Requests: []quota.Request{
			{ResourceType: instancesType, Amount: 1},
			{ResourceType: vcpusType, Amount: inst.VCPUs},
		},
		Flags:        quota.ClaimQueue, // through Acquire: granted when admitted
		QueueTimeout: queueTimeout,
	}
}

func (c *Controller) reconcile(name string) error {
	inst := c.instances[name]
	if inst == nil {
		return nil
	}
	claim := claimFor(inst)
	if inst.deleted {
		delete(c.instances, name)
		err := c.engine.Release(claim.Namespace, claim.Name)
		if errors.Is(err, quota.ErrNotFound) {
			err = nil
		}
		if err == nil {
			fmt.Printf("%-8s deleted; its claim is released\n", name)
		}
		return err
	}
	if inst.Phase == "Running" || inst.Phase == "QuotaExceeded" {
		return nil
	}

	info, err := c.engine.GetClaim(claim.Namespace, claim.Name)
	if errors.Is(err, quota.ErrNotFound) {
		return c.createClaim(inst, claim)
	}
	if err != nil {
		return err
	}
	switch info.State {
	case quota.StateGranted:
		c.provision(inst)
	case quota.StateReserved: // not made by this controller, but fine
		if err := c.engine.Commit(claim.Namespace, claim.Name); err != nil {
			return err
		}
		c.provision(inst)
	case quota.StatePending:
		// Still waiting: nothing to do until its next event.
	case quota.StateReleased:
		c.set(inst, "QuotaExceeded", Condition{"QuotaGranted", "False", "QuotaExceeded",
			fmt.Sprintf("Insufficient quota available: not granted within %v", queueTimeout)})
	}
	return nil
}

func (c *Controller) createClaim(inst *Instance, claim quota.Claim) error {
	// A request above a limit itself can never be granted, and while
	// queued it would hold back every claim behind it: refuse it at once.
	for _, r := range claim.Requests {
		b, err := c.engine.GetBucket(claim.Consumer, r.ResourceType)
		if err != nil {
			return err
		}
		if b.Limit != quota.Unlimited && r.Amount > b.Limit {
			c.set(inst, "QuotaExceeded", Condition{"QuotaGranted", "False", "QuotaExceeded",
				fmt.Sprintf("Insufficient quota available: requested %d of %s, limit %d",
					r.Amount, r.ResourceType, b.Limit)})
			return nil
		}
	}
	a, err := c.engine.Acquire(claim)
	if err != nil {
		return err
	}
	if a.State == quota.StateGranted {
		c.provision(inst)
		return nil
	}
	c.set(inst, "PendingQuota", Condition{"QuotaGranted", "False", "PendingEvaluation",
		fmt.Sprintf("Waiting for quota claim to be granted (%s: requested %d, available %d)",
			resourceOf(a.Bucket), a.Requested, a.Available)})
	return nil
}

func (c *Controller) provision(inst *Instance) {
	c.set(inst, "Provisioning", Condition{"QuotaGranted", "True", "ClaimGranted", "Quota claim granted"})
	// ... the real provisioning would start here ...
	c.set(inst, "Running", inst.Condition)
}

func (c *Controller) set(inst *Instance, phase string, cond Condition) {
	inst.Phase, inst.Condition = phase, cond
	fmt.Printf("%-8s phase=%-13s %s=%s reason=%s: %s\n", inst.Name, phase, cond.Type, cond.Status,
		cond.Reason, cond.Message)
}

// resourceOf is the resource type of a bucket id "Kind/ns/name:type".
func resourceOf(bucket string) string {
	return bucket[strings.LastIndexByte(bucket, ':')+1:]
}

// The simulated cluster: what users do to instances.

func (c *Controller) create(name string, vcpus int64) error {
	fmt.Printf("-- t=%-4v create %s (%d vCPU)\n", c.elapsed(), name, vcpus)
	c.instances[name] = &Instance{Name: name, VCPUs: vcpus}
	c.enqueue(name)
	return c.run()
}

func (c *Controller) remove(name string) error {
	fmt.Printf("-- t=%-4v delete %s\n", c.elapsed(), name)
	c.instances[name].deleted = true
	c.enqueue(name)
	return c.run()
}

func (c *Controller) wait(d time.Duration) error {
	c.clock.Advance(d)
	fmt.Printf("-- t=%-4v time passes\n", c.elapsed())
	if _, err := c.engine.Tick(time.Time{}); err != nil { // expire overdue claims
		return err
	}
	return c.run()
}

var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func (c *Controller) elapsed() time.Duration { return c.clock.Now().Sub(start) }

func (c *Controller) report() error {
	fmt.Println("-- final state")
	names := make([]string, 0, len(c.instances))
	for n := range c.instances {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		inst := c.instances[n]
		fmt.Printf("%-8s %-13s %s=%s (%s)\n", n, inst.Phase, inst.Condition.Type,
			inst.Condition.Status, inst.Condition.Reason)
	}
	for _, typ := range []string{instancesType, vcpusType} {
		b, err := c.engine.GetBucket(org, typ)
		if err != nil {
			return err
		}
		fmt.Printf("bucket %s: allocated %d of %d, pending %d\n", typ, b.Allocated, b.Limit, b.Pending)
	}
	st, err := c.engine.Stats()
	if err != nil {
		return err
	}
	fmt.Printf("claims: %d granted at once, %d queued (%d admitted later, %d expired)\n",
		st.Allowed, st.Queued, st.AdmittedFromQueue, st.Expired)
	return nil
}

func main() {
	if err := simulate(); err != nil {
		fmt.Fprintln(os.Stderr, "controller:", err)
		os.Exit(1)
	}
}

func simulate() error {
	c, err := newController()
	if err != nil {
		return err
	}
	defer c.engine.Close()
	fmt.Println("acme may run 3 instances with 8 vCPUs in all")
	steps := []func() error{
		func() error { return c.create("web-1", 2) },
		func() error { return c.create("web-2", 2) },
		func() error { return c.create("web-3", 2) },
		func() error { return c.create("batch-1", 4) },   // a fourth instance: waits
		func() error { return c.create("huge-1", 16) },   // more than the limit: never
		func() error { return c.remove("web-1") },        // batch-1 fits now
		func() error { return c.create("web-4", 1) },     // waits for a slot...
		func() error { return c.wait(31 * time.Second) }, // ...that never comes
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return c.report()
}
