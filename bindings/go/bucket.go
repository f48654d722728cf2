package quota

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// GetBucket reads the base bucket of (consumer, resourceType). A
// registered pair without a bucket yet reads as the registration's
// default (flag BucketDefaultLimit).
//
// Errors: ErrInvalid, ErrUnregistered, ErrNotAllowed (the consumer's kind
// does not hold the type), ErrNoMemory.
func (e *Engine) GetBucket(consumer Ref, resourceType string) (*BucketInfo, error) {
	return e.getBucket("get bucket", consumer, resourceType, false, "")
}

// GetSelectorBucket reads the selector bucket of (consumer, resourceType)
// whose canonical selector is selector (as BucketInfo.Selector prints it;
// "" reads the base bucket). Errors as GetBucket, and ErrNotFound.
func (e *Engine) GetSelectorBucket(consumer Ref, resourceType, selector string) (*BucketInfo, error) {
	return e.getBucket("get selector bucket", consumer, resourceType, true, selector)
}

func (e *Engine) getBucket(op string, r Ref, typ string, withSelector bool, selector string) (*BucketInfo, error) {
	if err := checkKeyed(op, r, typ); err != nil {
		return nil, err
	}
	if err := checkText(op, "selector", selector); err != nil {
		return nil, err
	}
	c, err := e.enter(op)
	if err != nil {
		return nil, err
	}
	var p *C.quota_bucket_info
	s := cBucketGet(c, r, typ, withSelector, selector, &p)
	e.leave()
	if err := status(op, s); err != nil {
		return nil, err
	}
	defer freeC(unsafe.Pointer(p))
	b := goBucket(p)
	return &b, nil
}

// BucketFilter selects the buckets ListBuckets returns; the zero value
// selects all.
type BucketFilter struct {
	Consumer     *Ref   // only this consumer's buckets
	ResourceType string // only this type
}

// ListBuckets lists buckets, each selector bucket right after its base
// bucket. The listing is weakly consistent: every bucket that exists
// throughout is listed once, each as one consistent reading, while other
// goroutines keep working.
func (e *Engine) ListBuckets(f BucketFilter) ([]BucketInfo, error) {
	const op = "list buckets"
	if err := checkOptionalRef(op, "consumer", f.Consumer); err != nil {
		return nil, err
	}
	if err := checkText(op, "resourceType", f.ResourceType); err != nil {
		return nil, err
	}
	c, err := e.enter(op)
	if err != nil {
		return nil, err
	}
	defer e.leave()
	var it *C.quota_bucket_iter
	if err := status(op, cBucketIterNew(c, f.Consumer, f.ResourceType, &it)); err != nil {
		return nil, err
	}
	defer C.quota_bucket_iter_free(it)
	itp := unsafe.Pointer(it)
	return goIter(op, func(p **C.quota_bucket_info) C.gq_status { return cBucketIterNext(itp, p) }, goBucket)
}

// Consume charges amount to the (consumer, resourceType) bucket without a
// claim, if it fits (anonymous consumption). On a Rate type it is
// RateTake.
//
// Errors: ErrExceeded (the *Error's Answer names the bucket), ErrInvalid
// (amount <= 0), ErrUnregistered, ErrNotAllowed, ErrOverflow,
// ErrNoMemory (first use of the bucket only).
func (e *Engine) Consume(consumer Ref, resourceType string, amount int64) (Answer, error) {
	return e.keyed("consume", opConsume, consumer, resourceType, amount)
}

// GiveBack returns anonymously consumed capacity.
//
// Errors: ErrInvalid (amount <= 0, more than the bucket's anonymous
// consumption, or a Rate type), ErrNotFound (no bucket),
// ErrUnregistered, ErrNotAllowed.
func (e *Engine) GiveBack(consumer Ref, resourceType string, amount int64) error {
	_, err := e.keyed("give back", opGiveBack, consumer, resourceType, amount)
	return err
}

// ObserveUsage reports externally measured usage of (consumer,
// resourceType); admission then counts max(allocated, observed) +
// reserved. Each report replaces the last.
//
// Errors: ErrInvalid (value < 0), ErrUnregistered, ErrNotAllowed,
// ErrNoMemory.
func (e *Engine) ObserveUsage(consumer Ref, resourceType string, value int64) error {
	_, err := e.keyed("observe usage", opObserve, consumer, resourceType, value)
	return err
}

// RateTake takes n from the rate limits of (consumer, resourceType), a
// Rate type, and of every level above it: all of them or none. The
// answer reports the limit with the least left (Limit, Available, Period,
// ResetAfter); on ErrRateLimited the binding limit and RetryAfter.
// Taken amounts are spent: nothing gives them back.
//
// Errors: ErrRateLimited, ErrInvalid (n <= 0, not a Rate type),
// ErrUnregistered, ErrNotAllowed, ErrOverflow, ErrNoMemory.
func (e *Engine) RateTake(consumer Ref, resourceType string, n int64) (Answer, error) {
	return e.keyed("rate take", opRateTake, consumer, resourceType, n)
}

func (e *Engine) keyed(op string, kind keyedOp, r Ref, typ string, n int64) (Answer, error) {
	if err := checkKeyed(op, r, typ); err != nil {
		return Answer{}, err
	}
	c, err := e.enter(op)
	if err != nil {
		return Answer{}, err
	}
	d := cKeyed(c, kind, r, typ, n)
	e.leave()
	return decision(op, d)
}

func checkKeyed(op string, r Ref, typ string) error {
	if err := checkRef(op, "consumer", r); err != nil {
		return err
	}
	return checkText(op, "resourceType", typ)
}

// BucketHandle is a prepared bucket: one lookup, then Consume and
// GiveBack without lookup or allocation. Safe for concurrent use. Close
// it when done; Engine.Close closes the handles still open. While a
// handle is open its type cannot be unregistered.
type BucketHandle struct {
	e *Engine
	h unsafe.Pointer // the quota_bucket_handle; nil once closed; guarded by e.mu
}

// A handle is open while both it and its engine are; Engine.Close frees
// the C handles it still has in e.handles.

// OpenBucket opens a handle on the (consumer, resourceType) bucket,
// creating the bucket if need be. Errors as GetBucket.
func (e *Engine) OpenBucket(consumer Ref, resourceType string) (*BucketHandle, error) {
	const op = "open bucket"
	if err := checkKeyed(op, consumer, resourceType); err != nil {
		return nil, err
	}
	c, err := e.enter(op)
	if err != nil {
		return nil, err
	}
	var p *C.quota_bucket_handle
	s := cHandleOpen(c, consumer, resourceType, &p)
	if p != nil {
		// Recorded before leave, so that a Close cannot come in between
		// and free the engine under a handle it does not know of.
		e.handlesMu.Lock()
		e.handles[unsafe.Pointer(p)] = struct{}{}
		e.handlesMu.Unlock()
	}
	e.leave()
	if err := status(op, s); err != nil {
		return nil, err
	}
	return &BucketHandle{e: e, h: unsafe.Pointer(p)}, nil
}

// Consume is Engine.Consume on the handle's bucket.
func (h *BucketHandle) Consume(amount int64) (Answer, error) {
	const op = "handle consume"
	p, err := h.enter(op)
	if err != nil {
		return Answer{}, err
	}
	d := cHandleConsume(p, amount)
	h.e.leave()
	return decision(op, d)
}

// GiveBack is Engine.GiveBack on the handle's bucket.
func (h *BucketHandle) GiveBack(amount int64) error {
	const op = "handle give back"
	p, err := h.enter(op)
	if err != nil {
		return err
	}
	s := cHandleGiveBack(p, amount)
	h.e.leave()
	return status(op, s)
}

func (h *BucketHandle) enter(op string) (unsafe.Pointer, error) {
	h.e.mu.RLock()
	if h.h == nil || h.e.c == nil {
		h.e.mu.RUnlock()
		return nil, newError(codeWrongState, op, "bucket handle is closed")
	}
	return h.h, nil
}

// Close closes the handle; it waits for calls in progress on it. Later
// calls return ErrWrongState. Idempotent; always returns nil.
func (h *BucketHandle) Close() error {
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	if h.h != nil && h.e.c != nil {
		C.quota_bucket_handle_close((*C.quota_bucket_handle)(h.h))
		delete(h.e.handles, h.h)
	}
	h.h = nil
	return nil
}
