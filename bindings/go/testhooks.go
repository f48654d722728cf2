package quota

// The fault-injection seam of the tests (cgo is not allowed in _test.go
// files): a counting allocator from shim.c that can be told to fail.
// Unexported; nothing else uses it.

/*
#include "shim.h"
*/
import "C"

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
