package quota

import (
	"strings"
	"testing"
	"time"
)

func TestVersionAndFeatures(t *testing.T) {
	v := Version()
	if parts := strings.Split(v, "."); len(parts) != 3 || parts[0] != "0" {
		t.Errorf("Version() = %q", v)
	}
	if Features()&FeatureThreads == 0 {
		t.Error("FeatureThreads is always set")
	}
	must(t, initLibrary())
}

func TestOptions(t *testing.T) {
	_, err := NewEngine(Options{Stripes: 3})
	qe := wantErr(t, err, ErrInvalid)
	if !strings.Contains(qe.Detail, "stripes") {
		t.Errorf("detail %q", qe.Detail)
	}
	e := vcpuEngine(t, 16, Options{Stripes: 1, HashKey: [2]uint64{1, 2}, ReleasedRetention: -1})
	must1[Answer](t)(e.Acquire(vcpuClaim("gone", 1)))
	must(t, e.Release("apps", "gone"))
	_, err = e.GetClaim("apps", "gone")
	wantErr(t, err, ErrNotFound) // retention 0: forgotten at once
}

func TestDefaultRetentionRemembers(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	must1[Answer](t)(e.Acquire(vcpuClaim("kept", 1)))
	must(t, e.Release("apps", "kept"))
	wantEq(t, "state", getClaim(t, e, "apps", "kept").State, StateReleased)
	must(t, e.Release("apps", "kept")) // a no-op
}

func TestRetention(t *testing.T) {
	clk := NewManualClock(start)
	e := vcpuEngine(t, 16, Options{Clock: clk.Now, ReleasedRetention: 1500 * time.Microsecond})
	must1[Answer](t)(e.Acquire(vcpuClaim("r", 1)))
	must(t, e.Release("apps", "r"))
	clk.Advance(time.Millisecond)
	must1[uint64](t)(e.Tick(time.Time{}))
	getClaim(t, e, "apps", "r") // 1.5 ms rounds up to 2 ms: still there
	clk.Advance(time.Millisecond)
	must1[uint64](t)(e.Tick(time.Time{}))
	_, err := e.GetClaim("apps", "r")
	wantErr(t, err, ErrNotFound)
}

func TestManualClockAndTick(t *testing.T) {
	clk := NewManualClock(start)
	e := vcpuEngine(t, 4, Options{Clock: clk.Now})
	wantTime(t, "Now", must1[time.Time](t)(e.Now()), start)
	c := vcpuClaim("t", 4)
	c.TTL = time.Second
	must1[Answer](t)(e.Reserve(c))
	wantTime(t, "expires", getClaim(t, e, "apps", "t").Expires, start.Add(time.Second))
	clk.Advance(999 * time.Millisecond)
	wantEq(t, "expired", must1[uint64](t)(e.Tick(time.Time{})), uint64(0))
	clk.Advance(time.Millisecond)
	wantEq(t, "expired", must1[uint64](t)(e.Tick(time.Time{})), uint64(1))
	wantEq(t, "reserved", getBucket(t, e, acme, vcpus).Reserved, int64(0))
	qe := wantErr(t, e.Commit("apps", "t"), ErrWrongState)
	if !strings.Contains(qe.Detail, "expired") {
		t.Errorf("detail %q", qe.Detail)
	}
	c.Name, c.TTL = "t2", time.Nanosecond // rounds up to 1 ms, never to "no TTL"
	must1[Answer](t)(e.Reserve(c))
	wantEq(t, "tick at a time", must1[uint64](t)(e.Tick(clk.Now().Add(time.Millisecond))), uint64(1))
	c.Name, c.TTL = "t3", -time.Nanosecond
	_, err := e.Reserve(c)
	wantErr(t, err, ErrInvalid)
}

func TestRealTimeByDefault(t *testing.T) {
	e := newEngine(t, Options{})
	now := must1[time.Time](t)(e.Now())
	if d := time.Since(now); d < -time.Second || d > time.Second {
		t.Errorf("engine time %v is %v from now", now, d)
	}
}

func TestClockPanicIsRaisedAfterTheCall(t *testing.T) {
	clk := NewManualClock(start)
	boom := false
	e := vcpuEngine(t, 4, Options{Clock: func() time.Time {
		if boom {
			panic("clock broke")
		}
		return clk.Now()
	}})
	boom = true
	func() {
		defer func() {
			if r := recover(); r != "clock broke" {
				t.Errorf("recovered %v", r)
			}
		}()
		e.Now()
		t.Error("no panic")
	}()
	boom = false
	// The library was not left holding a lock.
	must1[Answer](t)(e.Acquire(vcpuClaim("after", 1)))
}

func TestParents(t *testing.T) {
	e := newEngine(t, Options{})
	must(t, e.CreateRegistration(Registration{ResourceType: vcpus, ConsumerType: KindRef{Kind: "Project"}, DefaultLimit: 100}))
	p, err := e.Parent(web)
	if err != nil || p != nil {
		t.Fatalf("Parent of a root = %v, %v", p, err)
	}
	must(t, e.SetParent(web, acme))
	p = must1[*Ref](t)(e.Parent(web))
	wantEq(t, "parent", *p, acme)
	// The Organization level caps its projects.
	grant(t, e, acme, vcpus, GrantBucket{Amount: 3})
	c := Claim{Name: "c", Consumer: web, Requests: []Request{{ResourceType: vcpus, Amount: 4}}}
	_, err = e.Acquire(c)
	qe := wantErr(t, err, ErrExceeded)
	wantEq(t, "binding bucket", qe.Answer.Bucket, "Organization//acme:"+vcpus)
	c.Requests[0].Amount = 3
	must1[Answer](t)(e.Acquire(c))
	wantEq(t, "org allocated", getBucket(t, e, acme, vcpus).Allocated, int64(3))
	wantErr(t, e.ClearParent(web), ErrInUse)
	err = e.SetParent(acme, web)
	qe = wantErr(t, err, ErrInvalid)
	if !strings.Contains(qe.Detail, "cycle") {
		t.Errorf("detail %q", qe.Detail)
	}
	must(t, e.Release("", "c"))
	must(t, e.ClearParent(web))
	p, err = e.Parent(web)
	if err != nil || p != nil {
		t.Fatalf("Parent after ClearParent = %v, %v", p, err)
	}
}

func TestStatsPrometheusAudit(t *testing.T) {
	e := vcpuEngine(t, 4, Options{})
	must1[Answer](t)(e.Acquire(vcpuClaim("a", 3)))
	_, err := e.Acquire(vcpuClaim("b", 3))
	wantErr(t, err, ErrExceeded)
	must(t, e.Release("apps", "a"))
	st := must1[Stats](t)(e.Stats())
	want := Stats{Decisions: 2, Allowed: 1, DeniedExceeded: 1, Released: 1}
	wantEq(t, "stats", st, want)

	text := must1[string](t)(e.Prometheus())
	for _, line := range []string{
		`quota_bucket_limit{consumer_kind="Organization",consumer_namespace="",consumer_name="acme",resource_type="` + vcpus + `"} 4`,
		`quota_decisions_total{result="denied_exceeded"} 1`,
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("exposition lacks %q:\n%s", line, text)
		}
	}

	denials := must1[[]Denial](t)(e.Audit())
	if len(denials) != 1 {
		t.Fatalf("audit = %+v", denials)
	}
	d := denials[0]
	wantEq(t, "seq", d.Seq, uint64(1))
	wantEq(t, "code", d.Code, Code(-6))
	wantEq(t, "claim", d.Claim, "apps/b")
	wantEq(t, "bucket", d.Bucket, "Organization//acme:"+vcpus)
	wantEq(t, "requested", d.Requested, int64(3))
	wantEq(t, "available", d.Available, int64(1))
	if !strings.Contains(d.Message, "requested 3, available 1") || d.Time.IsZero() {
		t.Errorf("denial %+v", d)
	}
}
