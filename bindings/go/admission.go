package quota

// Admission (Milo's Pattern 1) and grant provisioning: the policies of
// policy.go at work on objects given as documents (document.go).

/*
#include "shim.h"
*/
import "C"

import (
	"time"
	"unsafe"
)

// Admission asks to admit an object.
//
// Trigger, User and RequestInfo are documents: a map[string]any (or any
// other map with string keys), []any, string, bool, nil, an integer or
// float type, or json.Number, nested; []byte and json.RawMessage are JSON
// text (read with encoding/json, numbers kept exact, keys in their
// order; empty text is null); any other type (a struct, a pointer) goes through
// encoding/json. Integers that do not fit int64 become doubles, as JSON
// numbers do. The documents are built for the call and freed after it.
type Admission struct {
	// Trigger is the object being created (required): a map with string
	// "apiVersion" and "kind", and usually "metadata" with "name",
	// "namespace" and "uid".
	Trigger any
	// User and RequestInfo are the variables user and requestInfo (Milo's
	// user info and request info); nil makes them null. When RequestInfo
	// has string "resource" and "apiGroup" keys, denial messages use them.
	User        any
	RequestInfo any
	// DryRun evaluates and decides (as CheckSet does) but charges
	// nothing.
	DryRun bool
	// ReserveOnly leaves the claims reserved (two-phase create): Commit
	// them by the names in AdmissionResult.Claims once the object exists,
	// or Release them if its creation fails. Not with DryRun.
	ReserveOnly bool
	// TTL, with ReserveOnly, is how long the reservations may stay
	// uncommitted (rounded up to whole milliseconds); 0 means no limit.
	TTL time.Duration
}

// AdmitOutcome says how an admission ended. Values never change.
type AdmitOutcome int32

const (
	// AdmitNoPolicy: no enabled policy applies (none for the apiVersion
	// and kind, or their constraints do not hold). Allowed; nothing
	// charged.
	AdmitNoPolicy AdmitOutcome = C.QUOTA_ADMIT_NO_POLICY
	// AdmitAllowed: every rendered claim fits, and is held (in a dry
	// run, would be).
	AdmitAllowed AdmitOutcome = C.QUOTA_ADMIT_ALLOWED
	// AdmitDenied: the claims do not fit together (ErrExceeded,
	// ErrRateLimited, ErrOverflow), or one exists with another spec
	// (ErrConflict). Nothing charged.
	AdmitDenied AdmitOutcome = C.QUOTA_ADMIT_DENIED
	// AdmitFailedClosed: a policy failed (ErrEval): denied, nothing
	// charged.
	AdmitFailedClosed AdmitOutcome = C.QUOTA_ADMIT_FAILED_CLOSED
	// AdmitFailedOpen: a FailOpen policy failed and was left out; the
	// others' claims fit. Allowed.
	AdmitFailedOpen AdmitOutcome = C.QUOTA_ADMIT_FAILED_OPEN
)

func (o AdmitOutcome) String() string {
	if o == 0 {
		return "None"
	}
	return name(int64(o), "NoPolicy", "Allowed", "Denied", "FailedClosed", "FailedOpen")
}

// AdmissionResult is the answer to an admission.
type AdmissionResult struct {
	Allowed bool
	Outcome AdmitOutcome // 0 when the admission was not decided
	// Message is, for a denial, Milo's 403 text:
	// `<resource>.<group> "<name>" is forbidden: <reason>`; for
	// AdmitFailedOpen, the failure that was let through; else "".
	Message string
	// Policy is the policy whose claim bound (denied) or that failed.
	Policy string
	// Answer is the claim set's answer: BindingClaim indexes Claims;
	// Existed() when every claim existed already (a retry: nothing was
	// charged again).
	Answer Answer
	// Claims are the claims the policies rendered, also in a dry run and
	// on a denial, in the order of their policies' names.
	Claims []Claim
}

var admissionFields = []string{"trigger", "user", "requestInfo"}

// Admit admits an object (Milo's Pattern 1): every enabled claim policy
// for its apiVersion and kind whose constraints hold renders its claim,
// and the claims are acquired as one claim set (all fit together or
// nothing is charged); reserved with ReserveOnly; checked with DryRun.
// Claim names are derived from the object's identity, so a retried
// admission finds its claims and charges nothing twice. A constraint
// that yields false means the policy does not apply, never a denial.
//
// The call is synchronous and never waits (an admission takes
// microseconds): it takes no context.
//
// When the admission was decided, the result says how, with its
// message, also when it was denied. The error follows the library's
// status:
//
//   - nil: allowed (AdmitNoPolicy, AdmitAllowed, AdmitFailedOpen);
//   - ErrExceeded, ErrRateLimited (the *Error's RetryAfter set),
//     ErrConflict, ErrOverflow: AdmitDenied;
//   - ErrEval: AdmitFailedClosed;
//
// each an *Error whose Detail is the result's Message and whose Answer
// is the result's Answer. ErrInvalid (a bad admission: no trigger, one
// without string apiVersion and kind, DryRun with ReserveOnly, a value
// that cannot be a document; ErrParse for bad JSON text) and ErrNoMemory
// come with a zero result (Outcome 0): nothing was decided.
//
// A webhook answers from the result: allowed when res.Allowed, a 403
// with res.Message when res.Outcome is not 0, an error otherwise.
func (e *Engine) Admit(a Admission) (AdmissionResult, error) {
	const op = "admit"
	docs, err := encodeDocs(op, admissionFields, a.Trigger, a.User, a.RequestInfo)
	if err != nil {
		return AdmissionResult{}, err
	}
	defer docs.release()
	var flags uint32
	if a.DryRun {
		flags |= C.QUOTA_ADMIT_DRY_RUN
	}
	if a.ReserveOnly {
		flags |= C.QUOTA_ADMIT_RESERVE_ONLY
	}
	c, err := e.enter(op)
	if err != nil {
		return AdmissionResult{}, err
	}
	var r *C.quota_admission_result
	d := cAdmit(c, docs, flags, ceilMS(a.TTL), &r)
	e.leave()
	answer, err := decision(op, d)
	if r == nil {
		if err == nil { // every decided admission has a result
			err = newError(C.QUOTA_ERR_INTERNAL, op, "the library gave no result")
		}
		return AdmissionResult{}, err
	}
	defer freeC(unsafe.Pointer(r))
	res := AdmissionResult{
		Allowed: r.allowed != 0,
		Outcome: AdmitOutcome(r.outcome),
		Message: goStr(r.message),
		Policy:  goStr(r.policy),
		Answer:  answer,
		Claims: goSlice(r.claims, r.claim_count, func(p **C.quota_claim) Claim {
			return goClaimSpec(*p)
		}),
	}
	return res, err
}

// TriggerEvent is what happened to a trigger object of grant policies.
// Values never change.
type TriggerEvent int32

const (
	TriggerAdded   TriggerEvent = C.QUOTA_TRIGGER_ADDED
	TriggerUpdated TriggerEvent = C.QUOTA_TRIGGER_UPDATED
	TriggerDeleted TriggerEvent = C.QUOTA_TRIGGER_DELETED
)

func (t TriggerEvent) String() string {
	return name(int64(t), "Added", "Updated", "Deleted")
}

// GrantChange is a grant that a grant policy holds or removed for a
// trigger, as SyncGrantPolicies reports it.
type GrantChange struct {
	Policy    string
	Namespace string
	Name      string
	// Removed: the sync removed the grant. Otherwise the grant stands as
	// the policy renders it, applied now or already so.
	Removed bool
	// Generation is the grant's generation after the sync (it moves only
	// when the sync changed the grant); 0 when removed.
	Generation int64
	// Parent is the policy's parent context: its APIGroup and Kind, and
	// as Name the value of its nameExpression. Zero when the policy has
	// none, and for removed grants.
	Parent Ref
}

// SyncGrantPolicies tells the grant policies what happened to a trigger
// object (a document, as Admission.Trigger; it needs a metadata.uid or a
// name); they bring its grants up to date, all at once. Call it from the
// watch of the trigger kinds: on TriggerAdded and TriggerUpdated every
// enabled grant policy for the object whose constraints hold applies its
// grant (several add up), and one whose constraints do not hold, or that
// now renders another name, removes the grant it made for this object;
// on TriggerDeleted every grant made for the object is removed. All the
// grants applied and removed are one change: the bucket limits move
// together, or nothing changes.
//
// The changes list the grants the object's policies hold after the sync
// and those removed, in the order of the policies' names.
//
// Errors: ErrEval (a constraint, template or nameExpression failed),
// ErrInvalid (a bad trigger or event, or a rendered grant that is not
// valid), ErrConflict (a rendered grant exists and is not this object's,
// or two policies render one grant), ErrUnregistered, ErrNotAllowed,
// ErrOverflow, ErrNoMemory; the detail names the policy. On error
// nothing changed.
func (e *Engine) SyncGrantPolicies(trigger any, event TriggerEvent) ([]GrantChange, error) {
	const op = "sync grant policies"
	doc, err := encodeDocs(op, admissionFields[:1], trigger)
	if err != nil {
		return nil, err
	}
	defer doc.release()
	c, err := e.enter(op)
	if err != nil {
		return nil, err
	}
	var list **C.quota_grant_change
	var n C.size_t
	s := cGrantSync(c, doc, event, &list, &n)
	e.leave()
	if err := status(op, s); err != nil {
		return nil, err
	}
	return goList(list, n, goGrantChange), nil
}

func goGrantChange(g *C.quota_grant_change) GrantChange {
	return GrantChange{
		Policy:     goStr(g.policy),
		Namespace:  goStr(g.ns),
		Name:       goStr(g.name),
		Removed:    g.removed != 0,
		Generation: int64(g.generation),
		Parent: Ref{APIGroup: goStr(g.parent_api_group), Kind: goStr(g.parent_kind),
			Name: goStr(g.parent_name)},
	}
}
