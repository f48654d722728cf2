package quota

// The fault-injection seam of the tests (cgo is not allowed in _test.go
// files): a counting allocator from shim.c that can be told to fail.
// Unexported; nothing else uses it.

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// testAllocator installs (true) or removes the counting allocator; only
// while no engine exists.
func testAllocator(enable bool) error {
	return status("set allocator", C.gq_test_allocator(cBool(enable)))
}

// testFailAfter lets n more allocations through, then fails them all;
// n < 0 never fails.
func testFailAfter(n int64) { C.gq_test_fail_after(C.int64_t(n)) }

// testAllocationsLive is the number of allocations the library holds.
func testAllocationsLive() int64 { return int64(C.gq_test_allocations_live()) }

// docJSON is the document v makes, as quota_doc_to_json writes it; for
// the tests.
func docJSON(v any) (string, error) {
	const op = "document"
	enc, err := encodeDocs(op, []string{"value"}, v)
	if err != nil {
		return "", err
	}
	defer enc.release()
	var text *C.char
	var n C.size_t
	p, size := enc.bytes()
	if err := status(op, C.gq_doc_json(p, size, &text, &n)); err != nil {
		return "", err
	}
	defer freeC(unsafe.Pointer(text))
	return C.GoStringN(text, C.int(n)), nil
}
