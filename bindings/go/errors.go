package quota

/*
#include <quota/quota.h>
*/
import "C"

import (
	"strconv"
	"time"
)

// Code is a libquota status code: 0 for success, negative QUOTA_ERR_*
// values for errors. The values never change.
type Code int

// String is the library's name for the code (quota_strerror), e.g.
// "quota exceeded"; unknown codes read "unknown status".
func (c Code) String() string {
	return C.GoString(C.quota_strerror(C.int(c)))
}

const (
	codeRateLimited = Code(C.QUOTA_ERR_RATE_LIMITED)
	codeWrongState  = Code(C.QUOTA_ERR_WRONG_STATE)
	codeUnsupported = Code(C.QUOTA_ERR_UNSUPPORTED)
)

// Sentinel errors, one per status code. Every error the package returns
// for a failed library call is an *Error whose Unwrap gives one of these,
// so errors.Is(err, quota.ErrExceeded) tests the code.
var (
	ErrInvalid      = newSentinel(C.QUOTA_ERR_INVALID)
	ErrNoMemory     = newSentinel(C.QUOTA_ERR_NOMEM)
	ErrNotFound     = newSentinel(C.QUOTA_ERR_NOT_FOUND)
	ErrExists       = newSentinel(C.QUOTA_ERR_EXISTS)
	ErrConflict     = newSentinel(C.QUOTA_ERR_CONFLICT)
	ErrExceeded     = newSentinel(C.QUOTA_ERR_EXCEEDED)
	ErrUnregistered = newSentinel(C.QUOTA_ERR_UNREGISTERED)
	ErrNotAllowed   = newSentinel(C.QUOTA_ERR_NOT_ALLOWED)
	ErrRateLimited  = newSentinel(C.QUOTA_ERR_RATE_LIMITED)
	ErrInUse        = newSentinel(C.QUOTA_ERR_IN_USE)
	ErrWrongState   = newSentinel(C.QUOTA_ERR_WRONG_STATE)
	ErrParse        = newSentinel(C.QUOTA_ERR_PARSE)
	ErrEval         = newSentinel(C.QUOTA_ERR_EVAL)
	ErrIO           = newSentinel(C.QUOTA_ERR_IO)
	ErrCorrupt      = newSentinel(C.QUOTA_ERR_CORRUPT)
	ErrUnsupported  = newSentinel(C.QUOTA_ERR_UNSUPPORTED)
	ErrOverflow     = newSentinel(C.QUOTA_ERR_OVERFLOW)
	ErrInternal     = newSentinel(C.QUOTA_ERR_INTERNAL)
)

// sentinels is indexed by -code.
var sentinels [-C.QUOTA_ERR_INTERNAL + 1]error

type sentinel struct{ code Code }

func (s *sentinel) Error() string { return "quota: " + s.code.String() }

func newSentinel(code C.int) error {
	s := &sentinel{Code(code)}
	sentinels[-code] = s
	return s
}

// Error is a failed libquota call.
//
// Code is the status the library returned, Op the operation ("reserve",
// "grant apply", ...), Detail the library's message for it
// (quota_last_error, read on the thread that made the call). Answer is
// the decision's answer for consume, rate take, handle consume, reserve,
// acquire, check, resize, the claim set calls and admit, naming the
// binding bucket (and for a set the binding claim) on a denial; nil for
// other calls. RetryAfter is set on ErrRateLimited: how long until the
// same request would pass (negative: it never can).
type Error struct {
	Code       Code
	Op         string
	Detail     string
	Answer     *Answer
	RetryAfter time.Duration
}

// Error reads "quota: <op>: <code name>: <detail>".
func (e *Error) Error() string {
	msg := "quota: "
	if e.Op != "" {
		msg += e.Op + ": "
	}
	msg += e.Code.String()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap gives the sentinel of the code (ErrExceeded, ...), or nil for a
// code these bindings do not know.
func (e *Error) Unwrap() error {
	if e.Code < 0 && int(-e.Code) < len(sentinels) {
		return sentinels[-e.Code]
	}
	return nil
}

// newError makes an error the bindings raise themselves, before or
// instead of a library call.
func newError(code Code, op, detail string) *Error {
	return &Error{Code: code, Op: op, Detail: detail}
}

func errClosed(op string) error {
	return newError(codeWrongState, op, "engine is closed")
}

func errInvalid(op, field, why string) error {
	return newError(C.QUOTA_ERR_INVALID, op, field+": "+why)
}

func errNUL(op, field, value string) error {
	return errInvalid(op, field, strconv.Quote(value)+" contains a NUL byte")
}
