package quota

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// rateEngine: acme may take 100 tokens per second with a burst of 200,
// on a clock that moves only when told.
func rateEngine(t *testing.T, action Action) (*Engine, *ManualClock) {
	t.Helper()
	clk := NewManualClock(start)
	e := newEngine(t, Options{Clock: clk.Now})
	register(t, e, tokens, func(r *Registration) { r.Class = ClassRate })
	grant(t, e, acme, tokens, GrantBucket{Amount: 100, Period: PeriodSecond, Burst: 200, ViolationAction: action})
	return e, clk
}

func TestRateTakeBurstAndRefill(t *testing.T) {
	e, clk := rateEngine(t, ActionDefault)
	a := must1[Answer](t)(e.RateTake(acme, tokens, 150))
	want := Answer{BindingRequest: -1, BindingClaim: -1, Limit: 100, Available: 50, Bucket: "Organization//acme:" + tokens,
		Period: time.Second, ResetAfter: 1500 * time.Millisecond}
	if a != want {
		t.Fatalf("got  %+v\nwant %+v", a, want)
	}
	must1[Answer](t)(e.RateTake(acme, tokens, 50))
	_, err := e.RateTake(acme, tokens, 1)
	qe := wantErr(t, err, ErrRateLimited)
	wantEq(t, "retry after", qe.RetryAfter, 10*time.Millisecond)
	wantEq(t, "answer's", qe.Answer.RetryAfter, 10*time.Millisecond)
	wantEq(t, "throttled", qe.Answer.Throttled(), false)
	if !strings.Contains(qe.Detail, "retry after 10 ms") {
		t.Errorf("detail %q", qe.Detail)
	}
	clk.Advance(9 * time.Millisecond)
	_, err = e.RateTake(acme, tokens, 1)
	wantEq(t, "retry after", wantErr(t, err, ErrRateLimited).RetryAfter, time.Millisecond)
	clk.Advance(time.Millisecond)
	must1[Answer](t)(e.RateTake(acme, tokens, 1))
	// Above the burst: never.
	clk.Advance(10 * time.Second)
	_, err = e.RateTake(acme, tokens, 201)
	if qe := wantErr(t, err, ErrRateLimited); qe.RetryAfter >= 0 {
		t.Errorf("retry after %v, want negative (never)", qe.RetryAfter)
	}
	// Consume on a Rate type is a rate take; give back is refused.
	must1[Answer](t)(e.Consume(acme, tokens, 1))
	wantErr(t, e.GiveBack(acme, tokens, 1), ErrInvalid)
	st := must1[Stats](t)(e.Stats())
	wantEq(t, "denied", st.DeniedRateLimited, uint64(3))
}

func TestRateThrottleAndBucketRates(t *testing.T) {
	e, _ := rateEngine(t, ActionThrottle)
	must1[Answer](t)(e.RateTake(acme, tokens, 200))
	_, err := e.RateTake(acme, tokens, 20)
	qe := wantErr(t, err, ErrRateLimited)
	if !qe.Answer.Throttled() || qe.RetryAfter != 200*time.Millisecond {
		t.Fatalf("answer %+v", qe.Answer)
	}
	b := getBucket(t, e, acme, tokens)
	want := []RateInfo{{Period: time.Second, Window: WindowRolling, ViolationAction: ActionThrottle,
		Limit: 100, Burst: 200, Remaining: 0, ResetAfter: 2 * time.Second}}
	if !reflect.DeepEqual(b.Rates, want) {
		t.Fatalf("rates %+v", b.Rates)
	}
	wantEq(t, "limit while rated", b.Limit, Unlimited)
	wantEq(t, "throttled", must1[Stats](t)(e.Stats()).Throttled, uint64(1))
}

func TestRateCalendarWindow(t *testing.T) {
	clk := NewManualClock(time.Date(2026, 1, 2, 23, 59, 0, 0, time.UTC))
	e := newEngine(t, Options{Clock: clk.Now})
	register(t, e, tokens, func(r *Registration) { r.Class = ClassRate })
	grant(t, e, acme, tokens, GrantBucket{Amount: 1000, Period: PeriodDay, Window: WindowCalendar})
	a := must1[Answer](t)(e.RateTake(acme, tokens, 1000))
	wantEq(t, "resets at midnight UTC", a.ResetAfter, time.Minute)
	_, err := e.RateTake(acme, tokens, 1)
	wantEq(t, "retry at midnight", wantErr(t, err, ErrRateLimited).RetryAfter, time.Minute)
	clk.Advance(time.Minute)
	must1[Answer](t)(e.RateTake(acme, tokens, 1000))
}

// Stock and rate requests in one atomic claim: a rate denial holds nothing.
func TestRateInAClaim(t *testing.T) {
	e, clk := rateEngine(t, ActionDefault)
	register(t, e, vcpus, func(r *Registration) { r.DefaultLimit = 8 })
	c := Claim{Name: "job", Consumer: acme, Requests: []Request{
		{ResourceType: vcpus, Amount: 2}, {ResourceType: tokens, Amount: 150}}}
	must1[Answer](t)(e.Acquire(c))
	c.Name = "job-2"
	_, err := e.Acquire(c)
	qe := wantErr(t, err, ErrRateLimited)
	wantEq(t, "binding request", qe.Answer.BindingRequest, 1)
	wantEq(t, "vCPUs untouched", getBucket(t, e, acme, vcpus).Allocated, int64(2))
	must(t, e.Release("", "job"))
	_, err = e.RateTake(acme, tokens, 51)
	wantErr(t, err, ErrRateLimited) // spent: a release gives no rate back
	clk.Advance(time.Second)
	must1[Answer](t)(e.Acquire(c))
}
