package quota

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The C names of the codes, in order from -1: each has its sentinel.
var allSentinels = []struct {
	code Code
	err  error
	name string
}{
	{-1, ErrInvalid, "invalid argument"},
	{-2, ErrNoMemory, "out of memory"},
	{-3, ErrNotFound, "not found"},
	{-4, ErrExists, "already exists"},
	{-5, ErrConflict, "conflict"},
	{-6, ErrExceeded, "quota exceeded"},
	{-7, ErrUnregistered, "resource type not registered"},
	{-8, ErrNotAllowed, "not allowed"},
	{-9, ErrRateLimited, "rate limited"},
	{-10, ErrInUse, "in use"},
	{-11, ErrWrongState, "wrong state"},
	{-12, ErrParse, "parse error"},
	{-13, ErrEval, "evaluation error"},
	{-14, ErrIO, "I/O error"},
	{-15, ErrCorrupt, "corrupt data"},
	{-16, ErrUnsupported, "unsupported"},
	{-17, ErrOverflow, "arithmetic overflow"},
	{-18, ErrInternal, "internal error"},
}

func TestEveryCodeHasItsSentinel(t *testing.T) {
	for _, s := range allSentinels {
		err := error(&Error{Code: s.code, Op: "op", Detail: "d"})
		if !errors.Is(err, s.err) {
			t.Errorf("code %d is not %v", s.code, s.err)
		}
		for _, other := range allSentinels {
			if other.code != s.code && errors.Is(err, other.err) {
				t.Errorf("code %d is also %v", s.code, other.err)
			}
		}
		wantEq(t, "Code.String", s.code.String(), s.name)
		wantEq(t, "sentinel", s.err.Error(), "quota: "+s.name)
		// Wrapped by a caller, it is still found.
		wrapped := fmt.Errorf("provisioning: %w", err)
		var qe *Error
		if !errors.As(wrapped, &qe) || qe.Code != s.code || !errors.Is(wrapped, s.err) {
			t.Errorf("wrapped code %d lost", s.code)
		}
	}
	wantEq(t, "unknown code", Code(-99).String(), "unknown status")
	unknown := &Error{Code: -99}
	if unknown.Unwrap() != nil || (&Error{Code: 1}).Unwrap() != nil {
		t.Error("an unknown code unwraps to a sentinel")
	}
	wantEq(t, "Error()", (&Error{Code: -3, Op: "get claim", Detail: "claim apps/x"}).Error(),
		"quota: get claim: not found: claim apps/x")
	wantEq(t, "Error() without op and detail", (&Error{Code: -3}).Error(), "quota: not found")
}

func TestInvalidNamesTheField(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	_, err := e.Acquire(vcpuClaim("x", -5))
	qe := wantErr(t, err, ErrInvalid)
	if !strings.Contains(qe.Detail, "requests[0].amount") || !strings.Contains(qe.Detail, "-5") {
		t.Errorf("detail %q does not name the field", qe.Detail)
	}
	wantEq(t, "op", qe.Op, "acquire")
	if qe.Answer == nil {
		t.Error("a decision's error carries its answer")
	}
}

func TestNULBytesAreRefusedBeforeC(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	bad := acme
	bad.Name = "ac\x00me"
	checks := map[string]error{
		"consume":      func() error { _, err := e.Consume(bad, vcpus, 1); return err }(),
		"release":      e.Release("apps", "x\x00y"),
		"registration": e.CreateRegistration(Registration{ResourceType: "a\x00b", ConsumerType: KindRef{Kind: "Organization"}}),
		"claim": func() error {
			c := vcpuClaim("x", 1)
			c.Requests[0].Dimensions = map[string]string{"region": "u\x00s"}
			_, err := e.Reserve(c)
			return err
		}(),
		"grant": func() error {
			_, err := e.ApplyGrant(Grant{Name: "g", Consumer: acme, Allowances: []Allowance{{
				ResourceType: vcpus, Buckets: []GrantBucket{{Amount: 1,
					MatchExpressions: []SelectorRequirement{{Key: "k", Op: OpIn, Values: []string{"\x00"}}}}}}}})
			return err
		}(),
		"bucket filter": func() error { _, err := e.ListBuckets(BucketFilter{ResourceType: "\x00"}); return err }(),
	}
	for what, err := range checks {
		qe := wantErr(t, err, ErrInvalid)
		if !strings.Contains(qe.Detail, "NUL") {
			t.Errorf("%s: detail %q", what, qe.Detail)
		}
	}
	wantEq(t, "nothing was consumed", getBucket(t, e, acme, vcpus).Allocated, int64(0))
}

func TestNotFoundConflictInUse(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	wantErr(t, e.Release("apps", "nope"), ErrNotFound)
	wantErr(t, e.Commit("apps", "nope"), ErrNotFound)
	_, err := e.GetClaim("apps", "nope")
	wantErr(t, err, ErrNotFound)
	_, err = e.GetGrant("", "nope")
	wantErr(t, err, ErrNotFound)
	wantErr(t, e.DeleteGrant("", "nope"), ErrNotFound)
	_, err = e.GetRegistration("no/such")
	wantErr(t, err, ErrNotFound)
	wantErr(t, e.GiveBack(beta, vcpus, 1), ErrNotFound) // beta has no bucket

	must1[Answer](t)(e.Acquire(vcpuClaim("a", 2)))
	_, err = e.Acquire(vcpuClaim("a", 3))
	qe := wantErr(t, err, ErrConflict)
	if !strings.Contains(qe.Detail, "apps/a") {
		t.Errorf("conflict detail %q", qe.Detail)
	}
	// Registered again with another class: a conflict too.
	err = e.CreateRegistration(Registration{ResourceType: vcpus, ConsumerType: KindRef{Kind: "Organization"}, Class: ClassEntity})
	wantErr(t, err, ErrConflict)
	wantErr(t, e.DeleteRegistration(vcpus), ErrInUse)
}

func TestExceededCarriesTheAnswer(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	register(t, e, memory, func(r *Registration) { r.DefaultLimit = 100 })
	c := vcpuClaim("big", 17)
	c.Requests = append([]Request{{ResourceType: memory, Amount: 8}}, c.Requests...)
	_, err := e.Reserve(c)
	qe := wantErr(t, err, ErrExceeded)
	a := qe.Answer
	if a == nil {
		t.Fatal("no answer")
	}
	wantEq(t, "binding request", a.BindingRequest, 1)
	wantEq(t, "bucket", a.Bucket, "Organization//acme:"+vcpus)
	wantEq(t, "requested", a.Requested, int64(17))
	wantEq(t, "available", a.Available, int64(16))
	wantEq(t, "limit", a.Limit, int64(16))
	wantEq(t, "retry after", qe.RetryAfter, 0)
	if !strings.Contains(qe.Detail, "requested 17, available 16") {
		t.Errorf("detail %q", qe.Detail)
	}
	wantEq(t, "nothing held", getBucket(t, e, acme, memory).Reserved, int64(0))
}

func TestUnregisteredAndNotAllowed(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	_, err := e.Consume(acme, "no/such", 1)
	wantErr(t, err, ErrUnregistered)
	_, err = e.ApplyGrant(Grant{Name: "g", Consumer: acme, Allowances: []Allowance{{ResourceType: "no/such", Buckets: []GrantBucket{{Amount: 1}}}}})
	wantErr(t, err, ErrUnregistered)
	_, err = e.Consume(Ref{Kind: "Team", Name: "t"}, vcpus, 1)
	wantErr(t, err, ErrNotAllowed)
	_, err = e.GetBucket(Ref{Kind: "Team", Name: "t"}, vcpus)
	wantErr(t, err, ErrNotAllowed)
}

func TestWrongStateAndOverflow(t *testing.T) {
	e := vcpuEngine(t, Unlimited, Options{})
	must1[Answer](t)(e.Reserve(vcpuClaim("r", 1)))
	must(t, e.Release("apps", "r"))
	qe := wantErr(t, e.Commit("apps", "r"), ErrWrongState)
	if !strings.Contains(qe.Detail, "released") {
		t.Errorf("detail %q", qe.Detail)
	}
	must1[Answer](t)(e.Consume(acme, vcpus, 1<<62))
	_, err := e.Consume(acme, vcpus, 1<<62)
	wantErr(t, err, ErrOverflow)
	_, err = e.ApplyGrant(Grant{Name: "huge", Consumer: beta, Allowances: []Allowance{{ResourceType: vcpus,
		Buckets: []GrantBucket{{Amount: 1 << 62}, {Amount: 1 << 62}}}}})
	wantErr(t, err, ErrOverflow)
}

func TestClosedEngine(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	h := must1[*BucketHandle](t)(e.OpenBucket(acme, vcpus))
	must(t, e.Close())
	must(t, e.Close()) // idempotent
	qe := wantErr(t, e.Release("apps", "x"), ErrWrongState)
	wantEq(t, "detail", qe.Detail, "engine is closed")
	_, err := e.Consume(acme, vcpus, 1)
	wantErr(t, err, ErrWrongState)
	_, err = h.Consume(1)
	wantErr(t, err, ErrWrongState)
	_, err = e.Stats()
	wantErr(t, err, ErrWrongState)
	must(t, h.Close())
}

// Each goroutine reads the detail of its own failed call, never another's,
// although goroutines move between OS threads at will.
func TestEachGoroutineReadsItsOwnDetail(t *testing.T) {
	e := vcpuEngine(t, 16, Options{})
	const goroutines, rounds = 16, 500
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		go func(g int) {
			for i := 0; i < rounds; i++ {
				amount := -int64(g*rounds + i + 1)
				_, err := e.Consume(acme, vcpus, amount)
				var qe *Error
				if !errors.As(err, &qe) || !strings.Contains(qe.Detail, fmt.Sprint(amount)) {
					errs <- fmt.Errorf("consume %d: got %v", amount, err)
					return
				}
				name := fmt.Sprintf("missing-%d-%d", g, i)
				err = e.Release("apps", name)
				if !errors.As(err, &qe) || !strings.Contains(qe.Detail, name) {
					errs <- fmt.Errorf("release %s: got %v", name, err)
					return
				}
			}
			errs <- nil
		}(g)
	}
	for g := 0; g < goroutines; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
