package quota

/*
#include <quota/quota.h>
*/
import "C"

import (
	"strconv"
	"strings"
	"time"
)

// Unlimited is the amount that means no limit, in grant amounts, default
// limits, and a bucket's Limit and Available.
const Unlimited int64 = C.QUOTA_UNLIMITED

// MaxRequests is the most requests one claim may carry.
const MaxRequests = C.QUOTA_MAX_REQUESTS

// MaxClaimSet is the most claims one claim set (ReserveSet, AcquireSet,
// CheckSet, and the claims of one admission) may hold.
const MaxClaimSet = C.QUOTA_MAX_CLAIM_SET

// MaxDepth is the most levels of a consumer hierarchy, the consumer
// itself included.
const MaxDepth = C.QUOTA_MAX_DEPTH

// ResourceClass is what a resource type measures. Immutable once
// registered.
type ResourceClass int32

const (
	ClassEntity     ResourceClass = C.QUOTA_RESOURCE_ENTITY     // countable objects
	ClassAllocation ResourceClass = C.QUOTA_RESOURCE_ALLOCATION // capacity (vCPU, bytes): the default
	ClassFeature    ResourceClass = C.QUOTA_RESOURCE_FEATURE    // a switch: limit 0 or more
	ClassRate       ResourceClass = C.QUOTA_RESOURCE_RATE       // amounts per period
)

func (c ResourceClass) String() string {
	return name(int64(c), "Entity", "Allocation", "Feature", "Rate")
}

// Enforcement says whether a registration denies what does not fit.
type Enforcement int32

const (
	Enforce Enforcement = C.QUOTA_ENFORCE // deny: the default
	Warn    Enforcement = C.QUOTA_WARN    // shadow mode: allow, count, flag the answer
)

func (e Enforcement) String() string {
	switch e {
	case Enforce:
		return "Enforce"
	case Warn:
		return "Warn"
	}
	return strconv.Itoa(int(e))
}

// Action is what happens when a request does not fit a limit, per
// registration and per grant bucket (see doc/semantics.md).
type Action int32

const (
	ActionDefault  Action = C.QUOTA_ACTION_DEFAULT  // the registration's, else reject
	ActionReject   Action = C.QUOTA_ACTION_REJECT   // deny
	ActionThrottle Action = C.QUOTA_ACTION_THROTTLE // rate types: deny with a retry time
	ActionWarn     Action = C.QUOTA_ACTION_WARN     // allow, count, flag the answer
	ActionQueue    Action = C.QUOTA_ACTION_QUEUE    // a claim waits as Pending
)

func (a Action) String() string {
	if a == ActionDefault {
		return "Default"
	}
	return name(int64(a), "Reject", "Throttle", "Warn", "Queue")
}

// Window is how a rate limit counts time.
type Window int32

const (
	WindowRolling  Window = C.QUOTA_WINDOW_ROLLING  // GCRA: capacity returns continuously
	WindowCalendar Window = C.QUOTA_WINDOW_CALENDAR // aligned UTC windows
)

func (w Window) String() string {
	switch w {
	case WindowRolling:
		return "Rolling"
	case WindowCalendar:
		return "Calendar"
	}
	return strconv.Itoa(int(w))
}

// Rate periods; any whole number of milliseconds up to MaxPeriod works.
const (
	PeriodSecond = time.Second
	PeriodMinute = time.Minute
	PeriodHour   = time.Hour
	PeriodDay    = 24 * time.Hour
	MaxPeriod    = time.Duration(C.QUOTA_PERIOD_MAX) * time.Millisecond
)

// SelectorOp is the operator of a selector requirement.
type SelectorOp int32

const (
	OpIn           SelectorOp = C.QUOTA_SELECTOR_IN
	OpNotIn        SelectorOp = C.QUOTA_SELECTOR_NOT_IN
	OpExists       SelectorOp = C.QUOTA_SELECTOR_EXISTS
	OpDoesNotExist SelectorOp = C.QUOTA_SELECTOR_DOES_NOT_EXIST
)

func (o SelectorOp) String() string {
	return name(int64(o), "In", "NotIn", "Exists", "DoesNotExist")
}

// ClaimState is the state of a stored claim.
type ClaimState int32

const (
	StateReserved ClaimState = C.QUOTA_CLAIM_RESERVED // held, not committed
	StateGranted  ClaimState = C.QUOTA_CLAIM_GRANTED  // committed
	StateReleased ClaimState = C.QUOTA_CLAIM_RELEASED // released or expired
	StatePending  ClaimState = C.QUOTA_CLAIM_PENDING  // queued, waiting for capacity
)

func (s ClaimState) String() string {
	if s == 0 {
		return "None"
	}
	return name(int64(s), "Reserved", "Granted", "Released", "Pending")
}

// ClaimFlags are the flags of a claim.
type ClaimFlags uint32

const (
	// ClaimQueue makes a claim that does not fit wait as Pending instead
	// of being denied (Pattern 2, deferred provisioning).
	ClaimQueue ClaimFlags = C.QUOTA_CLAIM_QUEUE
	// ClaimAutoCommit makes a queued claim Granted, not Reserved, when it
	// is admitted.
	ClaimAutoCommit ClaimFlags = C.QUOTA_CLAIM_AUTO_COMMIT
)

func (f ClaimFlags) String() string {
	return flagNames(uint64(f), "Queue", "AutoCommit")
}

// AnswerFlags are the flags of an Answer.
type AnswerFlags uint32

const (
	AnswerWarned    AnswerFlags = C.QUOTA_ANSWER_WARNED    // over a Warn-mode limit; allowed
	AnswerExisted   AnswerFlags = C.QUOTA_ANSWER_EXISTED   // an idempotent repeat
	AnswerQueued    AnswerFlags = C.QUOTA_ANSWER_QUEUED    // now Pending
	AnswerThrottled AnswerFlags = C.QUOTA_ANSWER_THROTTLED // a rate throttled: see RetryAfter
)

func (f AnswerFlags) String() string {
	return flagNames(uint64(f), "Warned", "Existed", "Queued", "Throttled")
}

// BucketFlags are the flags of a BucketInfo.
type BucketFlags uint32

const (
	BucketDefaultLimit BucketFlags = C.QUOTA_BUCKET_DEFAULT_LIMIT // no grant contributes
	BucketOverLimit    BucketFlags = C.QUOTA_BUCKET_OVER_LIMIT    // usage + reserved > limit
	BucketObserved     BucketFlags = C.QUOTA_BUCKET_OBSERVED      // external usage reported
)

func (f BucketFlags) String() string {
	return flagNames(uint64(f), "DefaultLimit", "OverLimit", "Observed")
}

// EventType is a claim transition reported to Options.OnEvent.
type EventType int32

const (
	EventReserved EventType = C.QUOTA_EVENT_RESERVED // now holds a reservation
	EventGranted  EventType = C.QUOTA_EVENT_GRANTED  // committed
	EventReleased EventType = C.QUOTA_EVENT_RELEASED // a held claim was released
	EventExpired  EventType = C.QUOTA_EVENT_EXPIRED  // a TTL or queue deadline passed
	EventQueued   EventType = C.QUOTA_EVENT_QUEUED   // did not fit and waits
	EventDequeued EventType = C.QUOTA_EVENT_DEQUEUED // a pending claim was released
)

func (t EventType) String() string {
	return name(int64(t), "Reserved", "Granted", "Released", "Expired", "Queued", "Dequeued")
}

// Feature bits of the library build, from Features.
type Feature uint64

const (
	FeatureJSON    Feature = C.QUOTA_FEATURE_JSON    // JSON entry points work
	FeatureThreads Feature = C.QUOTA_FEATURE_THREADS // engines are thread-safe
)

// name gives names[v-1], or the number for values a newer library adds.
func name(v int64, names ...string) string {
	if v >= 1 && v <= int64(len(names)) {
		return names[v-1]
	}
	return strconv.FormatInt(v, 10)
}

// flagNames joins the names of the set bits with "|", bit 0 first.
func flagNames(v uint64, names ...string) string {
	if v == 0 {
		return "0"
	}
	var parts []string
	for i, n := range names {
		if v&(1<<i) != 0 {
			parts = append(parts, n)
			v &^= 1 << i
		}
	}
	if v != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(v, 16))
	}
	return strings.Join(parts, "|")
}

// Ref names a consumer (who holds quota) or the object that claims.
// Namespace is empty for cluster-wide objects. APIGroup is optional;
// it is checked against registrations but is not part of the identity.
type Ref struct {
	APIGroup  string
	Kind      string
	Namespace string
	Name      string
}

// String is "Kind/namespace/name", the form bucket ids use.
func (r Ref) String() string {
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// KindRef is a kind of object: an optional api group and a kind.
type KindRef struct {
	APIGroup string
	Kind     string
}

// Registration declares a resource type. A zero field means the
// library's default (class Allocation, Enforce, conversion factor 1,
// default limit 0, action Reject).
type Registration struct {
	ResourceType         string        // 1-253 chars; identity, immutable
	ConsumerType         KindRef       // who holds it; immutable
	Class                ResourceClass // immutable; 0: ClassAllocation
	Enforcement          Enforcement
	BaseUnit             string
	DisplayUnit          string
	Description          string
	UnitConversionFactor int64     // >= 1; 0: 1
	ClaimingResources    []KindRef // allow-list of claiming kinds; empty: any
	DefaultLimit         int64     // limit without a grant; >= 0 or Unlimited
	AllowedDimensions    []string  // label keys claims may carry
	ViolationAction      Action
	Generation           int64 // output: 1 at creation, +1 per change
}

// Grant gives a consumer amounts of one or more resource types.
type Grant struct {
	Namespace  string
	Name       string
	Consumer   Ref
	Allowances []Allowance // 1-64, distinct types
	Generation int64       // output
}

// Allowance is what a grant gives for one type: 1-16 buckets that add up.
type Allowance struct {
	ResourceType string
	Buckets      []GrantBucket
}

// GrantBucket is one amount of an allowance. Period, Burst and Window
// apply to Rate types only (Period a whole number of milliseconds; the
// amount is then per period). A selector (MatchLabels, MatchExpressions)
// limits only the requests whose dimensions it matches.
type GrantBucket struct {
	Amount           int64 // >= 0 or Unlimited
	Period           time.Duration
	Burst            int64
	Window           Window
	ViolationAction  Action
	MatchLabels      map[string]string
	MatchExpressions []SelectorRequirement
}

// SelectorRequirement is one term of a selector's match expressions.
type SelectorRequirement struct {
	Key    string
	Op     SelectorOp
	Values []string // 1-16 for In and NotIn, none otherwise
}

// Request asks for an amount of one type. In a claim Amount is > 0 and
// Dimensions may carry labels whose keys are allowed dimensions of the
// type; in a settlement (Commit) or a Resize it is the new amount, >= 0,
// without dimensions.
type Request struct {
	ResourceType string
	Amount       int64
	Dimensions   map[string]string
}

// Claim is a named request for amounts of 1 to MaxRequests types on
// behalf of a consumer, all or nothing.
//
// TTL bounds how long a reservation may stay uncommitted and QueueTimeout
// how long a queued claim may wait; both are rounded up to whole
// milliseconds, zero meaning no limit.
type Claim struct {
	Namespace    string
	Name         string
	Consumer     Ref
	Resource     Ref // the object that consumes; optional (empty Kind)
	Requests     []Request
	Flags        ClaimFlags
	TTL          time.Duration
	QueueTimeout time.Duration
}

// Answer is the answer to a decision. On a denial it names the first
// binding constraint: the request (BindingRequest, -1 if none), for a
// claim set the claim it belongs to (BindingClaim, -1 if none or not a
// set), the bucket id ("Kind/ns/name:type[selector]") and that bucket's
// Requested (for a set, what the whole set needs there), Available and
// Limit. For a rate limit, Period is its period, Limit its
// amount per period, RetryAfter how long until the same request would
// pass (negative: never) and ResetAfter how long until it is full again or
// its window ends.
type Answer struct {
	State          ClaimState // the claim's state after the call; 0 for anonymous use
	Flags          AnswerFlags
	BindingRequest int
	BindingClaim   int
	Requested      int64
	Available      int64
	Limit          int64
	Bucket         string
	Period         time.Duration
	RetryAfter     time.Duration
	ResetAfter     time.Duration
}

// Warned reports an allow over a Warn-mode limit.
func (a Answer) Warned() bool { return a.Flags&AnswerWarned != 0 }

// Existed reports an idempotent repeat of an existing claim.
func (a Answer) Existed() bool { return a.Flags&AnswerExisted != 0 }

// Queued reports a claim that now waits as Pending.
func (a Answer) Queued() bool { return a.Flags&AnswerQueued != 0 }

// Throttled reports a rate denial that is worth retrying after RetryAfter.
func (a Answer) Throttled() bool { return a.Flags&AnswerThrottled != 0 }

// BucketInfo is a bucket as read now: one consistent reading.
type BucketInfo struct {
	Consumer           Ref
	ResourceType       string
	Selector           string // "" for the base bucket, else its canonical selector
	Limit              int64  // Unlimited or >= 0
	Allocated          int64
	Reserved           int64
	Available          int64 // Unlimited or >= 0
	ClaimCount         int64
	ReservedCount      int64
	GrantCount         int64
	GrantRefs          []GrantRef
	ObservedGeneration int64
	LastReconciliation time.Time
	Flags              BucketFlags
	Observed           int64
	Drift              int64
	Pending            int64
	Rates              []RateInfo
	UtilizationPPM     int64 // -1 when unlimited
}

// GrantRef is one grant contributing to a bucket.
type GrantRef struct {
	Namespace              string
	Name                   string
	Amount                 int64
	LastObservedGeneration int64
}

// RateInfo is one rate limit of a Rate-type bucket, as read now.
type RateInfo struct {
	Period          time.Duration
	Window          Window
	ViolationAction Action
	Limit           int64
	Burst           int64
	Remaining       int64
	ResetAfter      time.Duration
}

// ClaimInfo is a claim as read now.
type ClaimInfo struct {
	Namespace   string
	Name        string
	Consumer    Ref
	Resource    Ref
	State       ClaimState
	Flags       ClaimFlags
	Created     time.Time
	Updated     time.Time
	Expires     time.Time // TTL or queue deadline; zero if none
	Allocations []Allocation
}

// Allocation is what one request of a claim holds.
type Allocation struct {
	ResourceType string
	Requested    int64  // asked for at creation
	Amount       int64  // held now
	Bucket       string // the allocating bucket's id
}

// Stats are the engine's counters since its creation.
type Stats struct {
	Decisions         uint64
	Allowed           uint64
	DeniedExceeded    uint64
	DeniedRateLimited uint64
	Throttled         uint64
	Warnings          uint64
	Queued            uint64
	AdmittedFromQueue uint64
	Expired           uint64
	Released          uint64
	Dequeued          uint64
}

// Denial is one recorded denial of the audit ring.
type Denial struct {
	Seq       uint64
	Time      time.Time
	Code      Code
	Claim     string // "ns/name", or "" for anonymous consumption
	Bucket    string
	Requested int64
	Available int64
	Message   string
}

// Event is one claim transition.
type Event struct {
	Type      EventType
	PrevState ClaimState // 0 for a new claim
	State     ClaimState
	Namespace string
	Name      string
}
