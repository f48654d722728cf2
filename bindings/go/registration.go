package quota

/*
#include <quota/quota.h>
*/
import "C"

import "unsafe"

// CreateRegistration registers a resource type, or updates it when it is
// registered with the same immutable fields (ResourceType, ConsumerType,
// Class): the mutable ones are replaced and the generation bumped.
//
// Errors: ErrInvalid (the detail names the field), ErrConflict (registered
// with other immutable fields), ErrNoMemory.
func (e *Engine) CreateRegistration(r Registration) error {
	return e.putRegistration("create registration", false, &r)
}

// UpdateRegistration updates the mutable fields of a registered type.
// Errors as CreateRegistration, and ErrNotFound.
func (e *Engine) UpdateRegistration(r Registration) error {
	return e.putRegistration("update registration", true, &r)
}

func (e *Engine) putRegistration(op string, update bool, r *Registration) error {
	a := arena{op: op}
	defer a.free()
	p := a.registration(r)
	if a.err != nil {
		return a.err
	}
	c, err := e.enter(op)
	if err != nil {
		return err
	}
	s := cRegistrationPut(c, update, p)
	e.leave()
	return status(op, s)
}

// DeleteRegistration unregisters a resource type. Errors: ErrNotFound,
// ErrInUse (grants, claims, usage or open handles still use it).
func (e *Engine) DeleteRegistration(resourceType string) error {
	const op = "delete registration"
	if err := checkText(op, "resourceType", resourceType); err != nil {
		return err
	}
	c, err := e.enter(op)
	if err != nil {
		return err
	}
	s := cRegistrationDelete(c, resourceType)
	e.leave()
	return status(op, s)
}

// GetRegistration reads one registration. Errors: ErrNotFound.
func (e *Engine) GetRegistration(resourceType string) (*Registration, error) {
	const op = "get registration"
	if err := checkText(op, "resourceType", resourceType); err != nil {
		return nil, err
	}
	c, err := e.enter(op)
	if err != nil {
		return nil, err
	}
	var p *C.quota_registration
	s := cRegistrationGet(c, resourceType, &p)
	e.leave()
	if err := status(op, s); err != nil {
		return nil, err
	}
	defer freeC(unsafe.Pointer(p))
	r := goRegistration(p)
	return &r, nil
}

// ListRegistrations lists every registration, sorted by resource type.
func (e *Engine) ListRegistrations() ([]Registration, error) {
	const op = "list registrations"
	c, err := e.enter(op)
	if err != nil {
		return nil, err
	}
	var list **C.quota_registration
	var n C.size_t
	s := cRegistrationList(c, &list, &n)
	e.leave()
	if err := status(op, s); err != nil {
		return nil, err
	}
	return goList(list, n, goRegistration), nil
}
