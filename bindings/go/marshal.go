package quota

// Conversions between Go values and the library's structs.
//
// Inputs are laid out in C memory (an arena freed after the call), since
// a struct handed to C may not hold Go pointers. Each struct starts as a
// copy of a template that the library's _init function filled once, so
// the library's defaults and size fields hold without an _init call per
// struct. Outputs are copied into Go values before the library's memory
// is freed.

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// templates holds one struct of each input type as its _init made it.
var templates struct {
	once         sync.Once
	err          error
	registration C.quota_registration
	grantBucket  C.quota_grant_bucket
	allowance    C.quota_allowance
	grant        C.quota_grant
	request      C.quota_request
	claim        C.quota_claim

	constraint      C.quota_constraint
	requestTemplate C.quota_request_template
	claimTemplate   C.quota_claim_template
	claimPolicy     C.quota_claim_policy
	grantTemplate   C.quota_grant_template
	grantPolicy     C.quota_grant_policy
}

// headerVersion is the version of the headers these bindings were built with.
const headerVersion = C.QUOTA_VERSION

// initLibrary checks the library's version and fills the templates, once.
func initLibrary() error {
	t := &templates
	t.once.Do(func() {
		v := uint32(C.quota_version())
		if v>>16 != headerVersion>>16 || v < headerVersion {
			t.err = newError(C.QUOTA_ERR_UNSUPPORTED, "init", fmt.Sprintf(
				"libquota %s is loaded; these bindings need %d.x, at least %d.%d.%d",
				C.GoString(C.quota_version_string()), headerVersion>>16,
				headerVersion>>16, headerVersion>>8&0xff, headerVersion&0xff))
			return
		}
		for _, rc := range []C.int{
			C.quota_registration_init(&t.registration, C.sizeof_quota_registration),
			C.quota_grant_bucket_init(&t.grantBucket, C.sizeof_quota_grant_bucket),
			C.quota_allowance_init(&t.allowance, C.sizeof_quota_allowance),
			C.quota_grant_init(&t.grant, C.sizeof_quota_grant),
			C.quota_request_init(&t.request, C.sizeof_quota_request),
			C.quota_claim_init(&t.claim, C.sizeof_quota_claim),
			C.quota_constraint_init(&t.constraint, C.sizeof_quota_constraint),
			C.quota_request_template_init(&t.requestTemplate, C.sizeof_quota_request_template),
			C.quota_claim_template_init(&t.claimTemplate, C.sizeof_quota_claim_template),
			C.quota_claim_policy_init(&t.claimPolicy, C.sizeof_quota_claim_policy),
			C.quota_grant_template_init(&t.grantTemplate, C.sizeof_quota_grant_template),
			C.quota_grant_policy_init(&t.grantPolicy, C.sizeof_quota_grant_policy),
		} {
			if rc != C.QUOTA_OK {
				t.err = newError(Code(rc), "init", "initialising the input structs failed")
				return
			}
		}
	})
	return t.err
}

// arena is C memory for one call's inputs, in chunks; free releases it.
// The first bad input (a string with a NUL byte, a period that is not a
// whole number of milliseconds) is kept in err, and the call is not made.
type arena struct {
	op   string
	cur  unsafe.Pointer   // the chunk being filled
	more []unsafe.Pointer // earlier chunks, for inputs above arenaChunk
	off  uintptr
	size uintptr
	err  error
}

const arenaChunk = 1024 // within glibc's per-thread cache: most calls need one

func (a *arena) alloc(n uintptr) unsafe.Pointer {
	n = (n + 7) &^ 7
	if a.cur == nil || a.off+n > a.size {
		size := uintptr(arenaChunk)
		if n > size {
			size = n
		}
		if a.cur != nil {
			a.more = append(a.more, a.cur)
		}
		a.cur = C.malloc(C.size_t(size))
		a.off, a.size = 0, size
	}
	p := unsafe.Add(a.cur, a.off)
	a.off += n
	return p
}

func (a *arena) free() {
	C.free(a.cur)
	for _, p := range a.more {
		C.free(p)
	}
	a.cur, a.more = nil, nil
}

func (a *arena) fail(err error) {
	if a.err == nil {
		a.err = err
	}
}

// str copies s as a NUL-terminated C string; field+sub names it in an
// error (two parts, joined only then: this runs on every claim).
func (a *arena) str(s, field, sub string) *C.char {
	if strings.IndexByte(s, 0) >= 0 {
		a.fail(errNUL(a.op, field+sub, s))
	}
	p := a.alloc(uintptr(len(s)) + 1)
	b := unsafe.Slice((*byte)(p), len(s)+1)
	copy(b, s)
	b[len(s)] = 0
	return (*C.char)(p)
}

// optStr is str, or NULL for "".
func (a *arena) optStr(s, field, sub string) *C.char {
	if s == "" {
		return nil
	}
	return a.str(s, field, sub)
}

func (a *arena) ref(dst *C.quota_ref, r Ref, field string) {
	dst.api_group = a.optStr(r.APIGroup, field, ".apiGroup")
	dst.kind = a.str(r.Kind, field, ".kind")
	dst.ns = a.optStr(r.Namespace, field, ".namespace")
	dst.name = a.str(r.Name, field, ".name")
}

// array allocates n elements of size bytes each, nil for none.
func (a *arena) array(n int, size uintptr) unsafe.Pointer {
	if n == 0 {
		return nil
	}
	return a.alloc(uintptr(n) * size)
}

func (a *arena) strs(v []string, field string) **C.char {
	p := (**C.char)(a.array(len(v), unsafe.Sizeof((*C.char)(nil))))
	if p != nil {
		out := unsafe.Slice(p, len(v))
		for i, s := range v {
			out[i] = a.str(s, field, "")
		}
	}
	return p
}

// labels lays a map out as quota_labels, sorted by key.
func (a *arena) labels(m map[string]string, field, sub string) (*C.quota_label, C.uint32_t) {
	p := (*C.quota_label)(a.array(len(m), C.sizeof_quota_label))
	if p == nil {
		return nil, 0
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := unsafe.Slice(p, len(keys))
	for i, k := range keys {
		out[i].key = a.str(k, field, sub)
		out[i].value = a.str(m[k], field, sub)
	}
	return p, C.uint32_t(len(keys))
}

func (a *arena) requests(rs []Request, field string) (*C.quota_request, C.uint32_t) {
	p := (*C.quota_request)(a.array(len(rs), C.sizeof_quota_request))
	if p == nil {
		return nil, 0
	}
	for i, r := range rs {
		c := &unsafe.Slice(p, len(rs))[i]
		*c = templates.request
		c.resource_type = a.str(r.ResourceType, field, ".resourceType")
		c.amount = C.int64_t(r.Amount)
		c.dimensions, c.dimension_count = a.labels(r.Dimensions, field, ".dimensions")
	}
	return p, C.uint32_t(len(rs))
}

func (a *arena) claim(c *Claim) *C.quota_claim {
	p := (*C.quota_claim)(a.alloc(C.sizeof_quota_claim))
	a.claimAt(p, c)
	return p
}

// claims lays out a claim set as one array. The detail of a bad field
// starts with "claims[i]: ", as the library's does.
func (a *arena) claims(cs []Claim) *C.quota_claim {
	p := (*C.quota_claim)(a.array(len(cs), C.sizeof_quota_claim))
	for i := range cs {
		a.claimAt(&unsafe.Slice(p, len(cs))[i], &cs[i])
		if a.err != nil {
			if qe, ok := a.err.(*Error); ok {
				qe.Detail = fmt.Sprintf("claims[%d]: %s", i, qe.Detail)
			}
			break
		}
	}
	return p
}

func (a *arena) claimAt(p *C.quota_claim, c *Claim) {
	*p = templates.claim
	p.ns = a.optStr(c.Namespace, "claim.metadata.namespace", "")
	p.name = a.str(c.Name, "claim.metadata.name", "")
	a.ref(&p.consumer, c.Consumer, "claim.consumerRef")
	if c.Resource != (Ref{}) {
		a.ref(&p.resource, c.Resource, "claim.resourceRef")
	}
	p.requests, p.request_count = a.requests(c.Requests, "claim.requests")
	p.flags = C.uint32_t(c.Flags)
	p.ttl_ms = C.int64_t(ceilMS(c.TTL))
	p.queue_timeout_ms = C.int64_t(ceilMS(c.QueueTimeout))
}

func (a *arena) registration(r *Registration) *C.quota_registration {
	p := (*C.quota_registration)(a.alloc(C.sizeof_quota_registration))
	*p = templates.registration
	p.resource_type = a.str(r.ResourceType, "registration.resourceType", "")
	p.consumer_type.api_group = a.optStr(r.ConsumerType.APIGroup, "registration.consumerType.apiGroup", "")
	p.consumer_type.kind = a.str(r.ConsumerType.Kind, "registration.consumerType.kind", "")
	if r.Class != 0 {
		p.resource_class = C.int32_t(r.Class)
	}
	p.enforcement = C.int32_t(r.Enforcement)
	p.base_unit = a.optStr(r.BaseUnit, "registration.baseUnit", "")
	p.display_unit = a.optStr(r.DisplayUnit, "registration.displayUnit", "")
	p.description = a.optStr(r.Description, "registration.description", "")
	if r.UnitConversionFactor != 0 {
		p.unit_conversion_factor = C.int64_t(r.UnitConversionFactor)
	}
	kinds := (*C.quota_kind_ref)(a.array(len(r.ClaimingResources), C.sizeof_quota_kind_ref))
	for i, k := range r.ClaimingResources {
		c := &unsafe.Slice(kinds, len(r.ClaimingResources))[i]
		c.api_group = a.optStr(k.APIGroup, "registration.claimingResources.apiGroup", "")
		c.kind = a.str(k.Kind, "registration.claimingResources.kind", "")
	}
	p.claiming_resources = kinds
	p.claiming_resource_count = C.uint32_t(len(r.ClaimingResources))
	p.allowed_dimensions = a.strs(r.AllowedDimensions, "registration.allowedDimensions")
	p.allowed_dimension_count = C.uint32_t(len(r.AllowedDimensions))
	p.default_limit = C.int64_t(r.DefaultLimit)
	p.violation_action = C.int32_t(r.ViolationAction)
	return p
}

func (a *arena) grant(g *Grant) *C.quota_grant {
	p := (*C.quota_grant)(a.alloc(C.sizeof_quota_grant))
	*p = templates.grant
	p.ns = a.optStr(g.Namespace, "grant.metadata.namespace", "")
	p.name = a.str(g.Name, "grant.metadata.name", "")
	a.ref(&p.consumer, g.Consumer, "grant.consumerRef")
	p.allowances, p.allowance_count = a.allowances(g.Allowances)
	return p
}

func (a *arena) allowances(als []Allowance) (*C.quota_allowance, C.uint32_t) {
	p := (*C.quota_allowance)(a.array(len(als), C.sizeof_quota_allowance))
	for i, src := range als {
		dst := &unsafe.Slice(p, len(als))[i]
		*dst = templates.allowance
		dst.resource_type = a.str(src.ResourceType, "grant.allowances.resourceType", "")
		dst.buckets = a.grantBuckets(src.Buckets)
		dst.bucket_count = C.uint32_t(len(src.Buckets))
	}
	return p, C.uint32_t(len(als))
}

// Policies. Fields are named as the library's details name them.

func (a *arena) trigger(dst *C.quota_trigger_ref, t TriggerRef) {
	dst.api_version = a.str(t.APIVersion, "policy.trigger.apiVersion", "")
	dst.kind = a.str(t.Kind, "policy.trigger.kind", "")
}

func (a *arena) constraints(cs []Constraint) (*C.quota_constraint, C.uint32_t) {
	p := (*C.quota_constraint)(a.array(len(cs), C.sizeof_quota_constraint))
	for i, c := range cs {
		dst := &unsafe.Slice(p, len(cs))[i]
		*dst = templates.constraint
		dst.expression = a.str(c.Expression, "policy.trigger.constraints.expression", "")
		dst.message = a.optStr(c.Message, "policy.trigger.constraints.message", "")
	}
	return p, C.uint32_t(len(cs))
}

func (a *arena) claimPolicy(cp *ClaimPolicy) *C.quota_claim_policy {
	p := (*C.quota_claim_policy)(a.alloc(C.sizeof_quota_claim_policy))
	*p = templates.claimPolicy
	p.name = a.str(cp.Name, "policy.name", "")
	a.trigger(&p.trigger, cp.Trigger)
	p.constraints, p.constraint_count = a.constraints(cp.Constraints)
	if cp.Disabled {
		p.flags |= C.QUOTA_POLICY_DISABLED
	}
	if cp.FailOpen {
		p.flags |= C.QUOTA_POLICY_FAIL_OPEN
	}
	const field = "policy.target.resourceClaimTemplate"
	src := &cp.Claim
	t := (*C.quota_claim_template)(a.alloc(C.sizeof_quota_claim_template))
	*t = templates.claimTemplate
	t.name = a.optStr(src.Name, field, ".metadata.name")
	t.generate_name = a.optStr(src.GenerateName, field, ".metadata.generateName")
	t.ns = a.optStr(src.Namespace, field, ".metadata.namespace")
	a.ref(&t.consumer, src.Consumer, field+".spec.consumerRef")
	if src.Resource != (Ref{}) {
		a.ref(&t.resource, src.Resource, field+".spec.resourceRef")
	}
	rs := (*C.quota_request_template)(a.array(len(src.Requests), C.sizeof_quota_request_template))
	for i, r := range src.Requests {
		dst := &unsafe.Slice(rs, len(src.Requests))[i]
		*dst = templates.requestTemplate
		dst.resource_type = a.str(r.ResourceType, field, ".spec.requests.resourceType")
		dst.amount = C.int64_t(r.Amount)
		dst.dimensions, dst.dimension_count = a.labels(r.Dimensions, field, ".spec.requests.dimensions")
	}
	t.requests, t.request_count = rs, C.uint32_t(len(src.Requests))
	p.claim = t
	return p
}

func (a *arena) grantPolicy(gp *GrantPolicy) *C.quota_grant_policy {
	p := (*C.quota_grant_policy)(a.alloc(C.sizeof_quota_grant_policy))
	*p = templates.grantPolicy
	p.name = a.str(gp.Name, "policy.name", "")
	a.trigger(&p.trigger, gp.Trigger)
	p.constraints, p.constraint_count = a.constraints(gp.Constraints)
	if gp.Disabled {
		p.flags |= C.QUOTA_POLICY_DISABLED
	}
	const field = "policy.target.resourceGrantTemplate"
	t := (*C.quota_grant_template)(a.alloc(C.sizeof_quota_grant_template))
	*t = templates.grantTemplate
	t.name = a.str(gp.Grant.Name, field, ".metadata.name")
	t.ns = a.optStr(gp.Grant.Namespace, field, ".metadata.namespace")
	a.ref(&t.consumer, gp.Grant.Consumer, field+".spec.consumerRef")
	t.allowances, t.allowance_count = a.allowances(gp.Grant.Allowances)
	p.grant = t
	const pc = "policy.target.parentContext"
	p.parent_context.api_group = a.optStr(gp.ParentContext.APIGroup, pc, ".apiGroup")
	p.parent_context.kind = a.optStr(gp.ParentContext.Kind, pc, ".kind")
	p.parent_context.name_expression = a.optStr(gp.ParentContext.NameExpression, pc, ".nameExpression")
	return p
}

func (a *arena) grantBuckets(bs []GrantBucket) *C.quota_grant_bucket {
	p := (*C.quota_grant_bucket)(a.array(len(bs), C.sizeof_quota_grant_bucket))
	for i, b := range bs {
		c := &unsafe.Slice(p, len(bs))[i]
		*c = templates.grantBucket
		c.amount = C.int64_t(b.Amount)
		if b.Period%time.Millisecond != 0 {
			a.fail(errInvalid(a.op, "grant.allowances.buckets.period",
				b.Period.String()+" is not a whole number of milliseconds"))
		}
		c.period_ms = C.int64_t(b.Period / time.Millisecond)
		c.burst = C.int64_t(b.Burst)
		c.window = C.int32_t(b.Window)
		c.violation_action = C.int32_t(b.ViolationAction)
		c.match_labels, c.match_label_count = a.labels(b.MatchLabels,
			"grant.allowances.buckets.selector.matchLabels", "")
		exprs := (*C.quota_selector_requirement)(a.array(len(b.MatchExpressions),
			C.sizeof_quota_selector_requirement))
		for j, m := range b.MatchExpressions {
			e := &unsafe.Slice(exprs, len(b.MatchExpressions))[j]
			e.key = a.str(m.Key, "grant.allowances.buckets.selector.matchExpressions.key", "")
			e.op = C.int32_t(m.Op)
			e.value_count = C.uint32_t(len(m.Values))
			e.values = a.strs(m.Values, "grant.allowances.buckets.selector.matchExpressions.values")
		}
		c.match_expressions = exprs
		c.match_expression_count = C.uint32_t(len(b.MatchExpressions))
	}
	return p
}

// ceilMS is d in milliseconds, rounded away from zero, so that a positive
// duration never becomes 0 ("none") and a negative one stays negative
// for the library to refuse.
func ceilMS(d time.Duration) int64 {
	ms := int64(d / time.Millisecond)
	if d%time.Millisecond > 0 {
		ms++
	} else if d%time.Millisecond < 0 {
		ms--
	}
	return ms
}

// checkText refuses a string C would read cut short.
func checkText(op, field, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return errNUL(op, field, s)
	}
	return nil
}

// checkName refuses a (namespace, name) pair with a NUL byte.
func checkName(op, ns, name string) error {
	if err := checkText(op, "namespace", ns); err != nil {
		return err
	}
	return checkText(op, "name", name)
}

// checkOptionalRef is checkRef for an optional reference (nil passes).
func checkOptionalRef(op, field string, r *Ref) error {
	if r == nil {
		return nil
	}
	return checkRef(op, field, *r)
}

// checkRef refuses a reference with a NUL byte in any part.
func checkRef(op, field string, r Ref) error {
	for _, s := range [...]string{r.APIGroup, r.Kind, r.Namespace, r.Name} {
		if err := checkText(op, field, s); err != nil {
			return err
		}
	}
	return nil
}

// Outputs.

func goStr(p *C.char) string { return C.GoString(p) }

func nsTime(ns C.int64_t) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(ns))
}

func goRef(r *C.quota_ref) Ref {
	return Ref{APIGroup: goStr(r.api_group), Kind: goStr(r.kind), Namespace: goStr(r.ns), Name: goStr(r.name)}
}

// element i of a library array of sized structs: the stride is the
// first element's size, which a newer library may have grown.
func element(base unsafe.Pointer, i int) unsafe.Pointer {
	return unsafe.Add(base, uintptr(i)*uintptr(*(*C.size_t)(base)))
}

// goSized converts a library array of n sized structs (nil for none),
// stepping by the size each carries.
func goSized[P, T any](p *P, n C.uint32_t, conv func(*P) T) []T {
	if n == 0 {
		return nil
	}
	out := make([]T, n)
	for i := range out {
		out[i] = conv((*P)(element(unsafe.Pointer(p), i)))
	}
	return out
}

// goSlice converts a library array of n elements (nil for none).
func goSlice[P, T any](p *P, n C.uint32_t, conv func(*P) T) []T {
	if n == 0 {
		return nil
	}
	in := unsafe.Slice(p, n)
	out := make([]T, n)
	for i := range out {
		out[i] = conv(&in[i])
	}
	return out
}

// goList converts a library list of n objects and frees it.
func goList[P, T any](list **P, n C.size_t, conv func(*P) T) []T {
	defer freeC(unsafe.Pointer(list))
	out := make([]T, n)
	for i, p := range unsafe.Slice(list, n) {
		out[i] = conv(p)
	}
	return out
}

// goIter reads an iterator to its end, converting each item (which the
// iterator owns) before the next call; next wraps its _next function.
func goIter[P, T any](op string, next func(**P) C.gq_status, conv func(*P) T) ([]T, error) {
	var out []T
	for {
		var p *P
		s := next(&p)
		if err := status(op, s); err != nil {
			return nil, err
		}
		if s.rc == C.QUOTA_ITER_DONE {
			return out, nil
		}
		out = append(out, conv(p))
	}
}

func goStrings(p **C.char, n C.uint32_t) []string {
	return goSlice(p, n, func(s **C.char) string { return goStr(*s) })
}

func goKindRef(k *C.quota_kind_ref) KindRef {
	return KindRef{goStr(k.api_group), goStr(k.kind)}
}

func goLabels(p *C.quota_label, n C.uint32_t) map[string]string {
	if n == 0 {
		return nil
	}
	out := make(map[string]string, n)
	for _, l := range unsafe.Slice(p, n) {
		out[goStr(l.key)] = goStr(l.value)
	}
	return out
}

func goRegistration(r *C.quota_registration) Registration {
	out := Registration{
		ResourceType:         goStr(r.resource_type),
		ConsumerType:         goKindRef(&r.consumer_type),
		ClaimingResources:    goSlice(r.claiming_resources, r.claiming_resource_count, goKindRef),
		Class:                ResourceClass(r.resource_class),
		Enforcement:          Enforcement(r.enforcement),
		BaseUnit:             goStr(r.base_unit),
		DisplayUnit:          goStr(r.display_unit),
		Description:          goStr(r.description),
		UnitConversionFactor: int64(r.unit_conversion_factor),
		DefaultLimit:         int64(r.default_limit),
		AllowedDimensions:    goStrings(r.allowed_dimensions, r.allowed_dimension_count),
		ViolationAction:      Action(r.violation_action),
		Generation:           int64(r.generation),
	}
	return out
}

func goGrant(g *C.quota_grant) Grant {
	return Grant{
		Namespace:  goStr(g.ns),
		Name:       goStr(g.name),
		Consumer:   goRef(&g.consumer),
		Generation: int64(g.generation),
		Allowances: goAllowances(g.allowances, g.allowance_count),
	}
}

func goAllowances(p *C.quota_allowance, n C.uint32_t) []Allowance {
	return goSized(p, n, func(al *C.quota_allowance) Allowance {
		return Allowance{ResourceType: goStr(al.resource_type),
			Buckets: goSized(al.buckets, al.bucket_count, goGrantBucket)}
	})
}

func goGrantBucket(b *C.quota_grant_bucket) GrantBucket {
	return GrantBucket{
		Amount:          int64(b.amount),
		Period:          time.Duration(b.period_ms) * time.Millisecond,
		Burst:           int64(b.burst),
		Window:          Window(b.window),
		ViolationAction: Action(b.violation_action),
		MatchLabels:     goLabels(b.match_labels, b.match_label_count),
		MatchExpressions: goSlice(b.match_expressions, b.match_expression_count,
			func(m *C.quota_selector_requirement) SelectorRequirement {
				return SelectorRequirement{Key: goStr(m.key), Op: SelectorOp(m.op),
					Values: goStrings(m.values, m.value_count)}
			}),
	}
}

func goConstraint(c *C.quota_constraint) Constraint {
	return Constraint{Expression: goStr(c.expression), Message: goStr(c.message)}
}

func goTrigger(t *C.quota_trigger_ref) TriggerRef {
	return TriggerRef{APIVersion: goStr(t.api_version), Kind: goStr(t.kind)}
}

func goClaimPolicy(p *C.quota_claim_policy) ClaimPolicy {
	t := p.claim
	return ClaimPolicy{
		Name:        goStr(p.name),
		Trigger:     goTrigger(&p.trigger),
		Constraints: goSized(p.constraints, p.constraint_count, goConstraint),
		Disabled:    p.flags&C.QUOTA_POLICY_DISABLED != 0,
		FailOpen:    p.flags&C.QUOTA_POLICY_FAIL_OPEN != 0,
		Claim: ClaimTemplate{
			Name:         goStr(t.name),
			GenerateName: goStr(t.generate_name),
			Namespace:    goStr(t.ns),
			Consumer:     goRef(&t.consumer),
			Resource:     goRef(&t.resource),
			Requests: goSized(t.requests, t.request_count, func(r *C.quota_request_template) RequestTemplate {
				return RequestTemplate{ResourceType: goStr(r.resource_type), Amount: int64(r.amount),
					Dimensions: goLabels(r.dimensions, r.dimension_count)}
			}),
		},
		Generation: int64(p.generation),
	}
}

func goGrantPolicy(p *C.quota_grant_policy) GrantPolicy {
	t := p.grant
	pc := &p.parent_context
	return GrantPolicy{
		Name:        goStr(p.name),
		Trigger:     goTrigger(&p.trigger),
		Constraints: goSized(p.constraints, p.constraint_count, goConstraint),
		Disabled:    p.flags&C.QUOTA_POLICY_DISABLED != 0,
		Grant: GrantTemplate{
			Name:       goStr(t.name),
			Namespace:  goStr(t.ns),
			Consumer:   goRef(&t.consumer),
			Allowances: goAllowances(t.allowances, t.allowance_count),
		},
		ParentContext: ParentContext{APIGroup: goStr(pc.api_group), Kind: goStr(pc.kind),
			NameExpression: goStr(pc.name_expression)},
		Generation: int64(p.generation),
	}
}

// goClaimSpec converts a claim as a caller would make it (the claims an
// admission rendered).
func goClaimSpec(c *C.quota_claim) Claim {
	return Claim{
		Namespace: goStr(c.ns),
		Name:      goStr(c.name),
		Consumer:  goRef(&c.consumer),
		Resource:  goRef(&c.resource),
		Requests: goSized(c.requests, c.request_count, func(r *C.quota_request) Request {
			return Request{ResourceType: goStr(r.resource_type), Amount: int64(r.amount),
				Dimensions: goLabels(r.dimensions, r.dimension_count)}
		}),
		Flags:        ClaimFlags(c.flags),
		TTL:          time.Duration(c.ttl_ms) * time.Millisecond,
		QueueTimeout: time.Duration(c.queue_timeout_ms) * time.Millisecond,
	}
}

func goBucket(b *C.quota_bucket_info) BucketInfo {
	out := BucketInfo{
		Consumer:           goRef(&b.consumer),
		ResourceType:       goStr(b.resource_type),
		Selector:           goStr(b.selector),
		Limit:              int64(b.limit),
		Allocated:          int64(b.allocated),
		Reserved:           int64(b.reserved),
		Available:          int64(b.available),
		ClaimCount:         int64(b.claim_count),
		ReservedCount:      int64(b.reserved_count),
		GrantCount:         int64(b.grant_count),
		ObservedGeneration: int64(b.observed_generation),
		LastReconciliation: nsTime(b.last_reconciliation_ns),
		Flags:              BucketFlags(b.flags),
		Observed:           int64(b.observed),
		Drift:              int64(b.drift),
		Pending:            int64(b.pending),
		UtilizationPPM:     int64(b.utilization_ppm),
	}
	out.GrantRefs = goSlice(b.grant_refs, b.grant_ref_count, func(p **C.quota_grant_ref) GrantRef {
		g := *p
		return GrantRef{Namespace: goStr(g.ns), Name: goStr(g.name), Amount: int64(g.amount),
			LastObservedGeneration: int64(g.last_observed_generation)}
	})
	out.Rates = goSlice(b.rates, b.rate_count, func(p **C.quota_rate_info) RateInfo {
		r := *p
		return RateInfo{
			Period:          time.Duration(r.period_ms) * time.Millisecond,
			Window:          Window(r.window),
			ViolationAction: Action(r.violation_action),
			Limit:           int64(r.limit),
			Burst:           int64(r.burst),
			Remaining:       int64(r.remaining),
			ResetAfter:      msDuration(int64(r.reset_after_ms)),
		}
	})
	return out
}

func goClaim(c *C.quota_claim_info) ClaimInfo {
	out := ClaimInfo{
		Namespace: goStr(c.ns),
		Name:      goStr(c.name),
		Consumer:  goRef(&c.consumer),
		Resource:  goRef(&c.resource),
		State:     ClaimState(c.state),
		Flags:     ClaimFlags(c.flags),
		Created:   nsTime(c.created_ns),
		Updated:   nsTime(c.updated_ns),
		Expires:   nsTime(c.expires_ns),
	}
	out.Allocations = goSlice(c.allocations, c.allocation_count, func(p **C.quota_allocation) Allocation {
		al := *p
		return Allocation{ResourceType: goStr(al.resource_type), Requested: int64(al.requested),
			Amount: int64(al.amount), Bucket: goStr(al.bucket)}
	})
	return out
}

func goDenial(d *C.quota_denial) Denial {
	return Denial{
		Seq:       uint64(d.seq),
		Time:      nsTime(d.time_ns),
		Code:      Code(d.status),
		Claim:     goStr(&d.claim[0]),
		Bucket:    goStr(&d.bucket[0]),
		Requested: int64(d.requested),
		Available: int64(d.available),
		Message:   goStr(&d.message[0]),
	}
}

func goStats(s *C.quota_stats) Stats {
	return Stats{
		Decisions:         uint64(s.decisions),
		Allowed:           uint64(s.allowed),
		DeniedExceeded:    uint64(s.denied_exceeded),
		DeniedRateLimited: uint64(s.denied_rate_limited),
		Throttled:         uint64(s.throttled),
		Warnings:          uint64(s.warnings),
		Queued:            uint64(s.queued),
		AdmittedFromQueue: uint64(s.admitted_from_queue),
		Expired:           uint64(s.expired),
		Released:          uint64(s.released),
		Dequeued:          uint64(s.dequeued),
	}
}

// freeC releases memory the library returned.
func freeC(p unsafe.Pointer) { C.quota_free(p) }
