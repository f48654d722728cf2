package quota

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// Reserve reserves every request of a claim, atomically: either every
// bucket (every level, every matching selector bucket, every rate limit)
// holds its share, or nothing changed. Repeating it with the same
// (namespace, name) and spec returns the existing claim's state
// (AnswerExisted) and charges nothing. With ClaimQueue a claim that does
// not fit waits as StatePending (AnswerQueued) instead of being denied.
//
// Errors: ErrExceeded (the *Error's Answer names the binding request and
// bucket), ErrRateLimited, ErrInvalid, ErrUnregistered, ErrNotAllowed,
// ErrConflict (the name is taken by another spec), ErrOverflow,
// ErrNoMemory.
func (e *Engine) Reserve(c Claim) (Answer, error) {
	return e.decide("reserve", opReserve, &c)
}

// Acquire reserves and commits in one step (StateGranted). An identical
// claim that is still reserved is committed; a granted one is returned as
// is. Errors as Reserve.
func (e *Engine) Acquire(c Claim) (Answer, error) {
	return e.decide("acquire", opAcquire, &c)
}

// Check is a dry run: would Acquire succeed now? It changes and stores
// nothing and ignores an existing claim of that name. Errors as Reserve,
// without ErrConflict.
func (e *Engine) Check(c Claim) (Answer, error) {
	return e.decide("check", opCheck, &c)
}

func (e *Engine) decide(op string, kind claimOp, cl *Claim) (Answer, error) {
	a := arena{op: op}
	defer a.free()
	p := a.claim(cl)
	if a.err != nil {
		return Answer{}, a.err
	}
	c, err := e.enter(op)
	if err != nil {
		return Answer{}, err
	}
	d := cClaimDecide(c, kind, p)
	e.leave()
	return decision(op, d)
}

// ReserveSet reserves a set of 1 to MaxClaimSet claims as one: either
// every request of every claim fits, counted together where claims share
// a bucket (a level, a selector bucket, a rate limit), and every claim is
// reserved, or nothing is held and nothing stored. The claims need
// distinct (namespace, name) and may not carry ClaimQueue: a set is
// decided at once.
//
// Idempotency works per claim: a member that exists with the same spec
// is taken as it is and charges nothing more, and when every member
// existed the answer carries AnswerExisted. A member that exists with
// another spec is ErrConflict for the whole set.
//
// On a denial the *Error's Answer names the first request that charges
// the binding bucket: BindingClaim indexes claims, BindingRequest that
// claim's requests, and Requested is what the whole set needs there.
// Errors as Reserve; the detail of a bad field starts with "claims[i]: ".
func (e *Engine) ReserveSet(claims ...Claim) (Answer, error) {
	return e.decideSet("reserve set", opReserve, claims)
}

// AcquireSet is ReserveSet ending granted: reserved members are
// committed. Errors as ReserveSet.
func (e *Engine) AcquireSet(claims ...Claim) (Answer, error) {
	return e.decideSet("acquire set", opAcquire, claims)
}

// CheckSet is a dry run of AcquireSet: would the whole set fit now? It
// changes and stores nothing and, like Check, does not look at existing
// claims. Errors as ReserveSet, without ErrConflict.
func (e *Engine) CheckSet(claims ...Claim) (Answer, error) {
	return e.decideSet("check set", opCheck, claims)
}

func (e *Engine) decideSet(op string, kind claimOp, cs []Claim) (Answer, error) {
	a := arena{op: op}
	defer a.free()
	p := a.claims(cs)
	if a.err != nil {
		return Answer{}, a.err
	}
	c, err := e.enter(op)
	if err != nil {
		return Answer{}, err
	}
	d := cClaimSetDecide(c, kind, p, len(cs))
	e.leave()
	return decision(op, d)
}

// Commit commits a reservation (StateReserved -> StateGranted). With
// settlements, each listed type commits the amount actually used (0 up to
// the reserved amount) and the rest returns at once; unlisted types
// commit in full. Committing a granted claim is a no-op.
//
// Errors: ErrNotFound, ErrWrongState (released, expired, or still
// pending), ErrInvalid (a bad settlement), ErrNoMemory.
func (e *Engine) Commit(ns, name string, actual ...Request) error {
	const op = "commit"
	if err := checkName(op, ns, name); err != nil {
		return err
	}
	a := arena{op: op}
	defer a.free()
	p, n := a.requests(actual, "actual")
	if a.err != nil {
		return a.err
	}
	c, err := e.enter(op)
	if err != nil {
		return err
	}
	s := cClaimCommit(c, ns, name, p, int(n))
	e.leave()
	return status(op, s)
}

// Release releases a claim from any state; what it held returns at once
// and queued claims that now fit are admitted. Releasing a released
// claim is a no-op.
//
// Errors: ErrNotFound, ErrInvalid, ErrNoMemory.
func (e *Engine) Release(ns, name string) error {
	const op = "release"
	if err := checkName(op, ns, name); err != nil {
		return err
	}
	c, err := e.enter(op)
	if err != nil {
		return err
	}
	s := cClaimRelease(c, ns, name)
	e.leave()
	return status(op, s)
}

// Resize changes the amounts of a granted claim, atomically: each request
// names one of its types with the new amount (>= 0); unlisted types keep
// theirs. Increases must fit; decreases always succeed.
//
// Errors: ErrExceeded (nothing changed), ErrNotFound, ErrWrongState (not
// granted), ErrInvalid, ErrOverflow.
func (e *Engine) Resize(ns, name string, requests ...Request) (Answer, error) {
	const op = "resize"
	if err := checkName(op, ns, name); err != nil {
		return Answer{}, err
	}
	a := arena{op: op}
	defer a.free()
	p, n := a.requests(requests, "requests")
	if a.err != nil {
		return Answer{}, a.err
	}
	c, err := e.enter(op)
	if err != nil {
		return Answer{}, err
	}
	d := cClaimResize(c, ns, name, p, int(n))
	e.leave()
	return decision(op, d)
}

// GetClaim reads a claim, also a released one within the engine's
// ReleasedRetention. Errors: ErrNotFound.
func (e *Engine) GetClaim(ns, name string) (*ClaimInfo, error) {
	const op = "get claim"
	if err := checkName(op, ns, name); err != nil {
		return nil, err
	}
	c, err := e.enter(op)
	if err != nil {
		return nil, err
	}
	var p *C.quota_claim_info
	s := cClaimGet(c, ns, name, &p)
	e.leave()
	if err := status(op, s); err != nil {
		return nil, err
	}
	defer freeC(unsafe.Pointer(p))
	info := goClaim(p)
	return &info, nil
}

// ClaimFilter selects the claims ListClaims returns; the zero value
// selects all.
type ClaimFilter struct {
	Consumer *Ref       // only this consumer's claims
	State    ClaimState // only claims in this state
}

// ListClaims lists claims, weakly consistent like ListBuckets.
func (e *Engine) ListClaims(f ClaimFilter) ([]ClaimInfo, error) {
	const op = "list claims"
	if err := checkOptionalRef(op, "consumer", f.Consumer); err != nil {
		return nil, err
	}
	c, err := e.enter(op)
	if err != nil {
		return nil, err
	}
	defer e.leave()
	var it *C.quota_claim_iter
	if err := status(op, cClaimIterNew(c, f.Consumer, f.State, &it)); err != nil {
		return nil, err
	}
	defer C.quota_claim_iter_free(it)
	itp := unsafe.Pointer(it)
	return goIter(op, func(p **C.quota_claim_info) C.gq_status { return cClaimIterNext(itp, p) }, goClaim)
}
