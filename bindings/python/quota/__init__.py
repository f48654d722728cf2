"""Python bindings for libquota, over ctypes.

    import quota

    with quota.Engine() as e:
        e.create_registration(quota.Registration("compute.example.com/vcpus", "Organization"))
        acme = quota.Consumer.cluster("Organization", "acme")
        e.apply_grant(quota.Grant("acme-compute", acme, {"compute.example.com/vcpus": 16}))
        claim = quota.Claim("web-1", acme, {"compute.example.com/vcpus": 4})
        with e.reserve(claim) as r:
            ...  # create the instance
            r.commit()

The library is loaded from $QUOTA_LIBRARY, else from a meson build tree
next to these sources (build/, build-*/), else from the system
(ctypes.util.find_library). See doc/bindings-python.md.
"""

from __future__ import annotations

import collections
import logging
from typing import Callable, Deque, Optional

from . import _lib
from ._convert import init
from ._events import ERRORS_KEPT, ManualClock, keep_error
from .engine import (
    BucketHandle,
    BucketIterator,
    ClaimIterator,
    Engine,
    Reservation,
)
from .expr import EXPR_DEFAULT_COST_LIMIT, EXPR_MAX_LENGTH, EXPR_MAX_VARS, Expression, Template
from .errors import (
    ERRORS,
    AlreadyExists,
    Conflict,
    Corrupt,
    EvalError,
    InternalError,
    InUse,
    InvalidArgument,
    NoMemory,
    NotAllowed,
    NotFound,
    Overflow,
    ParseError,
    QuotaError,
    QuotaExceeded,
    QuotaIOError,
    RateLimited,
    Unregistered,
    Unsupported,
    WrongState,
    error_for,
    last_error,
    raise_for,
    strerror,
)
from .policy import (
    CONSTRAINT_MESSAGE_MAX,
    MAX_CLAIM_SET,
    MAX_CONSTRAINTS,
    AdmissionResult,
    AdmitFlag,
    AdmitOutcome,
    ClaimPolicy,
    ClaimTemplate,
    Constraint,
    GrantChange,
    GrantPolicy,
    GrantTemplate,
    ParentContext,
    PolicyFlag,
    RequestTemplate,
    TriggerEvent,
    TriggerRef,
)
from .types import (
    MAX_DEPTH,
    MAX_REQUESTS,
    PERIOD_DAY,
    PERIOD_HOUR,
    PERIOD_MAX,
    PERIOD_MINUTE,
    PERIOD_SECOND,
    UNLIMITED,
    Allocation,
    Allowance,
    Answer,
    AnswerFlag,
    BucketFlag,
    BucketInfo,
    Claim,
    ClaimFlag,
    ClaimInfo,
    ClaimState,
    Consumer,
    Denial,
    Enforcement,
    Event,
    EventType,
    Feature,
    Grant,
    GrantBucket,
    GrantRef,
    KindRef,
    RateInfo,
    Ref,
    Registration,
    Request,
    ResourceClass,
    SelectorOp,
    SelectorRequirement,
    Stats,
    Version,
    ViolationAction,
    Window,
)

__version__ = "0.1.0"

#: The file libquota was loaded from.
library_path: str = _lib.path


def version() -> Version:
    """The loaded library's version (quota_version, quota_version_string)."""
    v = _lib.lib.quota_version()
    text = _lib.lib.quota_version_string().decode()
    return Version(v >> 16, (v >> 8) & 0xFF, v & 0xFF, text)


def features() -> Feature:
    """The QUOTA_FEATURE_* bits of the loaded library."""
    return Feature(_lib.lib.quota_features())


_allocator: Optional[_lib.Allocator] = None
#: Exceptions raised by the allocator hooks (logged too); the last ERRORS_KEPT.
allocator_errors: Deque[BaseException] = collections.deque(maxlen=ERRORS_KEPT)


def set_allocator(
    malloc: Optional[Callable[[int], Optional[int]]] = None,
    free: Optional[Callable[[int], None]] = None,
) -> None:
    """Install an allocator for the whole library, or go back to libc with
    no arguments (quota_set_allocator).

    ``malloc(n)`` returns the address of n bytes aligned for any type, or
    None/0 to fail the allocation (the call then raises NoMemory: a
    fault-injection seam for tests); ``free(address)`` releases one. They
    run inside library calls, with engine locks held, on any thread: keep
    them short and never call libquota from them. An exception in malloc
    counts as a failed allocation; one in free is logged.

    Only while no engine exists (else WrongState), and not concurrently
    with any other libquota call.
    """
    global _allocator
    if (malloc is None) != (free is None):
        raise TypeError("set_allocator: give both malloc and free, or neither")
    if malloc is None:
        a = None
    else:
        a = init(_lib.Allocator)
        a.malloc_fn = _lib.MALLOC_FN(_guard_malloc(malloc))
        a.free_fn = _lib.FREE_FN(_guard_free(free))  # type: ignore[arg-type]
    rc = _lib.lib.quota_set_allocator(a)
    if rc:
        raise_for(rc)
    _allocator = a  # keeps the C callbacks alive while installed


def _guard_malloc(malloc: Callable[[int], Optional[int]]) -> Callable[[int, Optional[int]], int]:
    def trampoline(n: int, payload: Optional[int]) -> int:
        try:
            return malloc(n) or 0
        except BaseException as err:
            keep_error(allocator_errors, err, "allocator")
            return 0

    return trampoline


def _guard_free(free: Callable[[int], None]) -> Callable[[Optional[int], Optional[int]], None]:
    def trampoline(p: Optional[int], payload: Optional[int]) -> None:
        try:
            free(p or 0)
        except BaseException as err:
            keep_error(allocator_errors, err, "allocator")

    return trampoline


logging.getLogger("quota").addHandler(logging.NullHandler())

__all__ = [
    "AdmissionResult",
    "AdmitFlag",
    "AdmitOutcome",
    "AlreadyExists",
    "Allocation",
    "Allowance",
    "Answer",
    "AnswerFlag",
    "BucketFlag",
    "BucketHandle",
    "BucketInfo",
    "BucketIterator",
    "CONSTRAINT_MESSAGE_MAX",
    "Claim",
    "ClaimFlag",
    "ClaimInfo",
    "ClaimIterator",
    "ClaimPolicy",
    "ClaimState",
    "ClaimTemplate",
    "Conflict",
    "Constraint",
    "Consumer",
    "Corrupt",
    "Denial",
    "ERRORS",
    "Enforcement",
    "EXPR_DEFAULT_COST_LIMIT",
    "EXPR_MAX_LENGTH",
    "EXPR_MAX_VARS",
    "Engine",
    "EvalError",
    "Event",
    "EventType",
    "Expression",
    "Feature",
    "Grant",
    "GrantBucket",
    "GrantChange",
    "GrantPolicy",
    "GrantRef",
    "GrantTemplate",
    "InUse",
    "InternalError",
    "InvalidArgument",
    "KindRef",
    "MAX_CLAIM_SET",
    "MAX_CONSTRAINTS",
    "MAX_DEPTH",
    "MAX_REQUESTS",
    "ManualClock",
    "NoMemory",
    "NotAllowed",
    "NotFound",
    "Overflow",
    "PERIOD_DAY",
    "PERIOD_HOUR",
    "PERIOD_MAX",
    "PERIOD_MINUTE",
    "PERIOD_SECOND",
    "ParentContext",
    "ParseError",
    "PolicyFlag",
    "QuotaError",
    "QuotaExceeded",
    "QuotaIOError",
    "RateInfo",
    "RateLimited",
    "Ref",
    "Registration",
    "Request",
    "RequestTemplate",
    "Reservation",
    "ResourceClass",
    "SelectorOp",
    "SelectorRequirement",
    "Stats",
    "Template",
    "TriggerEvent",
    "TriggerRef",
    "UNLIMITED",
    "Unregistered",
    "Unsupported",
    "Version",
    "ViolationAction",
    "Window",
    "WrongState",
    "allocator_errors",
    "error_for",
    "features",
    "last_error",
    "library_path",
    "set_allocator",
    "strerror",
    "version",
]
