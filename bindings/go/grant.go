package quota

/*
#include <quota/quota.h>
*/
import "C"

import "unsafe"

// ApplyGrant creates or replaces a grant and returns its generation,
// bumped whenever the spec changes. Bucket limits change at once and
// atomically; lowering one never revokes what is held.
//
// Errors: ErrInvalid (the detail names the field), ErrUnregistered (an
// allowance names an unknown type), ErrNotAllowed (the consumer's kind or
// group does not fit the registration), ErrOverflow (a limit would pass
// the int64 range), ErrNoMemory.
func (e *Engine) ApplyGrant(g Grant) (generation int64, err error) {
	const op = "apply grant"
	a := arena{op: op}
	defer a.free()
	p := a.grant(&g)
	if a.err != nil {
		return 0, a.err
	}
	c, err := e.enter(op)
	if err != nil {
		return 0, err
	}
	var gen C.int64_t
	s := cGrantApply(c, p, &gen)
	e.leave()
	return int64(gen), status(op, s)
}

// DeleteGrant deletes a grant; its amounts leave the limits at once.
// Errors: ErrNotFound.
func (e *Engine) DeleteGrant(ns, name string) error {
	const op = "delete grant"
	if err := checkName(op, ns, name); err != nil {
		return err
	}
	c, err := e.enter(op)
	if err != nil {
		return err
	}
	s := cGrantDelete(c, ns, name)
	e.leave()
	return status(op, s)
}

// GetGrant reads one grant. Errors: ErrNotFound.
func (e *Engine) GetGrant(ns, name string) (*Grant, error) {
	const op = "get grant"
	if err := checkName(op, ns, name); err != nil {
		return nil, err
	}
	c, err := e.enter(op)
	if err != nil {
		return nil, err
	}
	var p *C.quota_grant
	s := cGrantGet(c, ns, name, &p)
	e.leave()
	if err := status(op, s); err != nil {
		return nil, err
	}
	defer freeC(unsafe.Pointer(p))
	g := goGrant(p)
	return &g, nil
}

// ListGrants lists the grants of consumer (nil: all), sorted by
// namespace and name.
func (e *Engine) ListGrants(consumer *Ref) ([]Grant, error) {
	const op = "list grants"
	if err := checkOptionalRef(op, "consumer", consumer); err != nil {
		return nil, err
	}
	c, err := e.enter(op)
	if err != nil {
		return nil, err
	}
	var list **C.quota_grant
	var n C.size_t
	s := cGrantList(c, consumer, &list, &n)
	e.leave()
	if err := status(op, s); err != nil {
		return nil, err
	}
	return goList(list, n, goGrant), nil
}
