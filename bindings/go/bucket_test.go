package quota

import (
	"reflect"
	"testing"
)

func TestGetUnusedPairReadsTheDefault(t *testing.T) {
	e := newEngine(t, Options{})
	register(t, e, vcpus, func(r *Registration) { r.DefaultLimit = 7 })
	b := getBucket(t, e, beta, vcpus)
	want := BucketInfo{Consumer: beta, ResourceType: vcpus, Limit: 7, Available: 7, Flags: BucketDefaultLimit}
	if !reflect.DeepEqual(*b, want) {
		t.Fatalf("got  %+v\nwant %+v", *b, want)
	}
}

func TestConsumeAndGiveBack(t *testing.T) {
	e := vcpuEngine(t, 10, Options{})
	a := must1[Answer](t)(e.Consume(acme, vcpus, 6))
	wantEq(t, "answer", a, Answer{BindingRequest: -1, BindingClaim: -1})
	_, err := e.Consume(acme, vcpus, 5)
	qe := wantErr(t, err, ErrExceeded)
	wantEq(t, "available", qe.Answer.Available, int64(4))
	must(t, e.GiveBack(acme, vcpus, 6))
	wantErr(t, e.GiveBack(acme, vcpus, 1), ErrInvalid)
	_, err = e.Consume(acme, vcpus, 0)
	wantErr(t, err, ErrInvalid)
	b := getBucket(t, e, acme, vcpus)
	wantEq(t, "allocated", b.Allocated, int64(0))
	wantEq(t, "available", b.Available, int64(10))
}

func TestWarnModeAllowsAndFlags(t *testing.T) {
	e := newEngine(t, Options{})
	register(t, e, vcpus, func(r *Registration) { r.Enforcement = Warn; r.DefaultLimit = 2 })
	a := must1[Answer](t)(e.Consume(acme, vcpus, 3))
	if !a.Warned() || a.Bucket != "Organization//acme:"+vcpus || a.Limit != 2 {
		t.Fatalf("answer %+v", a)
	}
	wantEq(t, "flags", a.Flags.String(), "Warned")
	wantEq(t, "warnings", must1[Stats](t)(e.Stats()).Warnings, uint64(1))
}

func TestObserveUsage(t *testing.T) {
	e := vcpuEngine(t, 10, Options{})
	must1[Answer](t)(e.Consume(acme, vcpus, 2))
	must(t, e.ObserveUsage(acme, vcpus, 7))
	b := getBucket(t, e, acme, vcpus)
	if b.Observed != 7 || b.Drift != 5 || b.Available != 3 || b.Flags&BucketObserved == 0 {
		t.Fatalf("bucket %+v", b)
	}
	_, err := e.Consume(acme, vcpus, 4)
	wantErr(t, err, ErrExceeded)
	wantErr(t, e.ObserveUsage(acme, vcpus, -1), ErrInvalid)
}

func TestListBucketsWithFilters(t *testing.T) {
	e := vcpuEngine(t, 10, Options{})
	register(t, e, memory, func(r *Registration) { r.DefaultLimit = 100 })
	grant(t, e, beta, vcpus, GrantBucket{Amount: 3})
	must1[Answer](t)(e.Consume(acme, memory, 1))
	key := func(bs []BucketInfo) map[string]bool {
		out := map[string]bool{}
		for _, b := range bs {
			out[b.Consumer.Name+" "+b.ResourceType] = true
		}
		return out
	}
	all := key(must1[[]BucketInfo](t)(e.ListBuckets(BucketFilter{})))
	want := map[string]bool{"acme " + vcpus: true, "acme " + memory: true, "beta " + vcpus: true}
	if !reflect.DeepEqual(all, want) {
		t.Fatalf("all = %v", all)
	}
	wantEq(t, "acme's", len(must1[[]BucketInfo](t)(e.ListBuckets(BucketFilter{Consumer: &acme}))), 2)
	wantEq(t, "vcpus", len(must1[[]BucketInfo](t)(e.ListBuckets(BucketFilter{ResourceType: vcpus}))), 2)
	wantEq(t, "both", len(must1[[]BucketInfo](t)(e.ListBuckets(BucketFilter{Consumer: &beta, ResourceType: memory}))), 0)
	bad := Ref{Kind: "", Name: "x"}
	_, err := e.ListBuckets(BucketFilter{Consumer: &bad})
	wantErr(t, err, ErrInvalid)
}

func TestSelectorBuckets(t *testing.T) {
	e := newEngine(t, Options{})
	register(t, e, gpus, func(r *Registration) { r.AllowedDimensions = []string{"region"} })
	grant(t, e, acme, gpus, GrantBucket{Amount: 10}, GrantBucket{Amount: 4, MatchLabels: map[string]string{"region": "us"}})
	us := Claim{Name: "us-1", Consumer: acme, Requests: []Request{{ResourceType: gpus, Amount: 3, Dimensions: map[string]string{"region": "us"}}}}
	must1[Answer](t)(e.Acquire(us))
	us.Name = "us-2"
	_, err := e.Acquire(us)
	qe := wantErr(t, err, ErrExceeded)
	wantEq(t, "binding", qe.Answer.Bucket, "Organization//acme:"+gpus+"[region=us]")
	eu := us
	eu.Name, eu.Requests = "eu-1", []Request{{ResourceType: gpus, Amount: 7, Dimensions: map[string]string{"region": "eu"}}}
	must1[Answer](t)(e.Acquire(eu))
	sel := must1[*BucketInfo](t)(e.GetSelectorBucket(acme, gpus, "region=us"))
	if sel.Selector != "region=us" || sel.Limit != 4 || sel.Allocated != 3 {
		t.Fatalf("selector bucket %+v", sel)
	}
	wantEq(t, "base", getBucket(t, e, acme, gpus).Allocated, int64(10))
	_, err = e.GetSelectorBucket(acme, gpus, "region=eu")
	wantErr(t, err, ErrNotFound)
	wantEq(t, "allocation names the selector bucket",
		getClaim(t, e, "", "us-1").Allocations[0].Bucket, "Organization//acme:"+gpus+"[region=us]")
	list := must1[[]BucketInfo](t)(e.ListBuckets(BucketFilter{Consumer: &acme}))
	if len(list) != 2 || list[0].Selector != "" || list[1].Selector != "region=us" {
		t.Fatalf("list %+v", list)
	}
}

func TestHandles(t *testing.T) {
	e := vcpuEngine(t, 10, Options{})
	h := must1[*BucketHandle](t)(e.OpenBucket(acme, vcpus))
	must1[Answer](t)(h.Consume(8))
	_, err := h.Consume(3)
	qe := wantErr(t, err, ErrExceeded)
	wantEq(t, "op", qe.Op, "handle consume")
	wantEq(t, "allocated", getBucket(t, e, acme, vcpus).Allocated, int64(8))
	must(t, h.GiveBack(8))
	wantErr(t, h.GiveBack(1), ErrInvalid)
	must(t, h.Close())
	must(t, h.Close())
	_, err = h.Consume(1)
	qe = wantErr(t, err, ErrWrongState)
	wantEq(t, "detail", qe.Detail, "bucket handle is closed")
	wantErr(t, h.GiveBack(1), ErrWrongState)

	_, err = e.OpenBucket(acme, "no/such")
	wantErr(t, err, ErrUnregistered)
	_, err = e.OpenBucket(Ref{Kind: "Team", Name: "x"}, vcpus)
	wantErr(t, err, ErrNotAllowed)
}

func TestEngineCloseClosesHandles(t *testing.T) {
	e := vcpuEngine(t, 10, Options{})
	h1 := must1[*BucketHandle](t)(e.OpenBucket(acme, vcpus))
	h2 := must1[*BucketHandle](t)(e.OpenBucket(acme, vcpus))
	must1[Answer](t)(h1.Consume(1))
	must(t, h2.Close())
	must(t, e.Close())
	_, err := h1.Consume(1)
	wantErr(t, err, ErrWrongState)
	must(t, h1.Close())
}
