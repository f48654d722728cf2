"""The Engine and the objects it hands out: bucket handles, reservations,
iterators.

Threads: an Engine may be used by many threads at once (ctypes releases
the GIL during each C call, and the C engine is thread-safe). A failed
call's detail is read on the same thread right after the call, before
anything else can run a libquota call there. ``close()`` must not race
with other calls on the engine or its handles, as in C.

Ownership: results are copied into Python objects and the C memory is
freed at once. Handles and iterators own C objects: close them (or use
``with``); one dropped without closing is freed at the engine's next
``open_bucket``/``buckets``/``claims`` call or at ``close()``, never from a
finaliser, because a finaliser can run inside a C call that holds engine
locks (the clock or an allocator hook).
"""

from __future__ import annotations

import collections
import os
import threading
from ctypes import POINTER, byref, c_int64, c_size_t, c_uint64, c_void_p, string_at
from types import TracebackType
from typing import Any, Callable, Deque, Generic, Iterator, Mapping, Optional, Sequence, TypeVar, Union

from . import _convert as cv
from . import _lib
from ._doc import Documents
from ._events import ERRORS_KEPT, EventPump, clock_callback, log
from .errors import (
    ITER_DONE,
    InternalError,
    InvalidArgument,
    WrongState,
    error_for,
    last_error,
    raise_for,
)
from .policy import (
    AdmissionResult,
    AdmitFlag,
    ClaimPolicy,
    GrantChange,
    GrantPolicy,
    TriggerEvent,
    trigger_event,
)
from .types import (
    Answer,
    BucketInfo,
    Claim,
    ClaimInfo,
    ClaimState,
    Denial,
    Event,
    Grant,
    Ref,
    RefLike,
    Registration,
    RequestsLike,
    Stats,
    requests_of,
)

lib = _lib.lib
T = TypeVar("T")

ClaimLike = Union[Claim, Mapping[str, Any]]


def _claim_of(value: ClaimLike) -> Claim:
    return value if isinstance(value, Claim) else Claim.from_dict(value)


def _key(claim: Union[str, Any], ns: Optional[str]) -> tuple[Optional[bytes], Optional[bytes]]:
    """(ns, name) as C strings, from a name or anything with .name and .ns."""
    if not isinstance(claim, str):
        claim, ns = claim.name, claim.ns
    return cv.text(ns, "ns"), cv.text(claim, "name")


def _optional_ref(value: Optional[RefLike], field: str) -> Optional[_lib.Ref]:
    return None if value is None else cv.c_ref(value, field)


class _Owned:
    """A C object (handle or iterator) and the function that frees it."""

    __slots__ = ("ptr", "free")

    def __init__(self, ptr: int, free: Callable[[int], None]) -> None:
        self.ptr: Optional[int] = ptr
        self.free = free


#: quota_sync_mode by name.
SYNC_MODES = {"always": 0, "batch": 1, "none": 2}


class Engine:
    """A libquota engine: registrations, grants, buckets and claims.

    Options (all keyword, all optional), as quota_engine_options:

    - ``stripes``: lock stripes, a power of two in [1, 65536]; 0 = 64.
    - ``clock``: a callable returning nanoseconds since the epoch (see
      ``ManualClock``); it runs inside engine calls with locks held, so it
      must be quick and must not call the engine. Default: real time.
    - ``released_retention_ms``: how long released claims stay readable
      (default 60000).
    - ``hash_key``: two ints, for reproducible tests only.
    - ``on_event``: a callable taking an ``Event``, for every claim
      transition (see doc/bindings-python.md for when and where it runs).
    - ``journal_path``: make the engine durable: it recovers what the
      journal at this path (and the files beside it) holds, and records
      every change there (include/quota/journal.h).
    - ``sync_mode``: ``"always"`` (default), ``"batch"`` or ``"none"``.
    - ``sync_interval_ms``: for ``"batch"``, the longest a change waits
      for its fsync (0 = 10).

    Exceptions raised by ``on_event`` or ``clock`` are logged to the
    ``quota`` logger and kept in ``callback_errors``; they never reach C
    nor the caller.
    """

    def __init__(
        self,
        *,
        stripes: int = 0,
        clock: Optional[Callable[[], int]] = None,
        released_retention_ms: Optional[int] = None,
        hash_key: Optional[tuple[int, int]] = None,
        on_event: Optional[Callable[[Event], Any]] = None,
        journal_path: Optional[str] = None,
        sync_mode: str = "always",
        sync_interval_ms: int = 0,
    ) -> None:
        self._e: Optional[int] = None
        self._lock = threading.Lock()
        self._owned: dict[int, _Owned] = {}
        self._graveyard: list[_Owned] = []
        self.callback_errors: Deque[BaseException] = collections.deque(maxlen=ERRORS_KEPT)
        o = cv.init(_lib.EngineOptions)
        if not 0 <= stripes <= 0xFFFFFFFF:
            raise InvalidArgument(f"stripes: {stripes} out of range")
        o.stripes = stripes
        if released_retention_ms is not None:
            o.released_retention_ms = cv.i64(released_retention_ms, "released_retention_ms")
        if hash_key is not None:
            if len(hash_key) != 2:
                raise InvalidArgument(f"hash_key: two 64-bit words, got {len(hash_key)}")
            for i, word in enumerate(hash_key):
                if not 0 <= word < 1 << 64:
                    raise InvalidArgument(f"hash_key[{i}]: {word} is not a 64-bit word")
                o.hash_key[i] = word
        # The C callbacks must outlive the engine: kept here, dropped after free.
        self._clock_fn = clock_callback(clock, self.callback_errors) if clock else None
        if self._clock_fn is not None:
            o.clock = self._clock_fn
        self._pump = EventPump(on_event, self.callback_errors) if on_event else None
        if self._pump is not None:
            o.event_fn = self._pump.c_callback
        if sync_mode not in SYNC_MODES:
            raise InvalidArgument(f"sync_mode: {sync_mode!r} is not one of {sorted(SYNC_MODES)}")
        o.sync_mode = SYNC_MODES[sync_mode]
        if not 0 <= sync_interval_ms <= 0xFFFFFFFF:
            raise InvalidArgument(f"sync_interval_ms: {sync_interval_ms} out of range")
        o.sync_interval_ms = sync_interval_ms
        path = os.fsencode(journal_path) if journal_path is not None else None
        o.journal_path = path  # the engine copies it
        out = c_void_p()
        rc = lib.quota_engine_new(byref(out), byref(o))
        if rc:
            raise_for(rc)
        self._e = out.value

    # --- lifetime ---------------------------------------------------------

    def close(self) -> None:
        """Free the engine, closing its handles and iterators first.

        Idempotent. Events not yet delivered are delivered first. Must not
        run while other threads use the engine or its handles.
        """
        self._close(deliver=True)

    def _close(self, deliver: bool) -> None:
        if self._e is None:
            return
        if deliver and self._pump is not None:
            self._pump.drain()
        with self._lock:
            e, self._e = self._e, None
            if e is None:
                return
            owned = list(self._owned.values())
            self._owned.clear()
            self._graveyard.clear()
        for cell in owned:
            ptr, cell.ptr = cell.ptr, None
            cell.free(ptr)
        lib.quota_engine_free(e)
        self._clock_fn = None
        if self._pump is not None:
            self._pump.c_callback = None

    @property
    def closed(self) -> bool:
        return self._e is None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._close(deliver=False)
        except Exception:  # at interpreter exit the module may be gone
            pass

    def __repr__(self) -> str:
        return f"<quota.Engine {'closed' if self._e is None else hex(self._e)}>"

    def _ptr(self) -> int:
        e = self._e
        if e is None:
            raise WrongState("engine is closed")
        return e

    def _done(self, rc: int, answer: Optional[_lib.Answer] = None) -> Optional[Answer]:
        """Finish a call that may have delivered events: raise on failure
        (detail read first, before any callback runs), deliver events."""
        err = None
        if rc < 0:
            detail = last_error()
            err = error_for(rc, detail, None if answer is None else cv.answer(answer))
        if self._pump is not None and self._pump.pending():
            self._pump.drain()
        if err is not None:
            raise err
        return None if answer is None else cv.answer(answer)

    def _adopt(self, ptr: int, free: Callable[[int], None]) -> _Owned:
        cell = _Owned(ptr, free)
        with self._lock:
            if self._e is not None:
                self._owned[id(cell)] = cell
                return cell
        free(ptr)
        raise WrongState("engine is closed")

    def _release(self, cell: _Owned) -> None:
        with self._lock:
            if self._owned.pop(id(cell), None) is None:
                return
            ptr, cell.ptr = cell.ptr, None
        cell.free(ptr)

    def _bury(self, cell: _Owned) -> None:
        # Called from finalisers: no C call here (see the module docstring).
        self._graveyard.append(cell)

    def _reap(self) -> None:
        while self._graveyard:
            try:
                cell = self._graveyard.pop()
            except IndexError:
                return
            self._release(cell)

    def _get(self, fn: Any, struct: Any, convert: Callable[[Any], T], *args: Any) -> T:
        out = POINTER(struct)()
        rc = fn(self._ptr(), *args, byref(out))
        if rc:
            raise_for(rc)
        try:
            return convert(out.contents)
        finally:
            lib.quota_free(out)

    def _list(self, fn: Any, struct: Any, convert: Callable[[Any], T], *args: Any) -> list[T]:
        out = POINTER(POINTER(struct))()
        n = c_size_t()
        rc = fn(self._ptr(), *args, byref(out), byref(n))
        self._done(rc)
        try:
            return [convert(out[i].contents) for i in range(n.value)]
        finally:
            lib.quota_free(out)

    # --- time -------------------------------------------------------------

    def now(self) -> int:
        """The engine's clock, in nanoseconds since the epoch."""
        out = c_int64()
        rc = lib.quota_engine_now(self._ptr(), byref(out))
        if rc:
            raise_for(rc)
        return out.value

    def tick(self, now_ns: int = 0) -> int:
        """Expire reservations whose TTL passed (0: at the engine's time);
        returns how many expired."""
        expired = c_uint64()
        rc = lib.quota_engine_tick(self._ptr(), cv.i64(now_ns, "now_ns"), byref(expired))
        self._done(rc)
        return expired.value

    def next_deadline(self) -> int:
        """When tick() next has work (engine clock, ns): the earliest TTL,
        queue deadline, retention end or rate wake-up; 0 when nothing is
        scheduled. A host without other traffic can sleep until then."""
        out = c_int64()
        rc = lib.quota_engine_next_deadline(self._ptr(), byref(out))
        if rc:
            raise_for(rc)
        return out.value

    # --- registrations ----------------------------------------------------

    def create_registration(self, reg: Union[Registration, Mapping[str, Any]]) -> None:
        """Register a type, or update it when its immutable fields match."""
        self._register(lib.quota_registration_create, reg)

    def update_registration(self, reg: Union[Registration, Mapping[str, Any]]) -> None:
        """Update an existing registration (NotFound if there is none)."""
        self._register(lib.quota_registration_update, reg)

    def _register(self, fn: Any, reg: Union[Registration, Mapping[str, Any]]) -> None:
        if not isinstance(reg, Registration):
            reg = Registration.from_dict(reg)
        self._done(fn(self._ptr(), byref(cv.c_registration(reg))))

    def delete_registration(self, resource_type: str) -> None:
        rc = lib.quota_registration_delete(self._ptr(), cv.text(resource_type, "resource_type"))
        self._done(rc)

    def get_registration(self, resource_type: str) -> Registration:
        return self._get(
            lib.quota_registration_get,
            _lib.Registration,
            cv.registration,
            cv.text(resource_type, "resource_type"),
        )

    def list_registrations(self) -> list[Registration]:
        return self._list(lib.quota_registration_list, _lib.Registration, cv.registration)

    # --- grants -----------------------------------------------------------

    def _apply(self, fn: Any, c_struct: Any) -> int:
        """Create or replace an object; its generation."""
        gen = c_int64()
        self._done(fn(self._ptr(), byref(c_struct), byref(gen)))
        return gen.value

    def apply_grant(self, grant: Union[Grant, Mapping[str, Any]]) -> int:
        """Create or replace a grant; returns its generation."""
        if not isinstance(grant, Grant):
            grant = Grant.from_dict(grant)
        return self._apply(lib.quota_grant_apply, cv.c_grant(grant))

    def delete_grant(self, name: str, ns: Optional[str] = None) -> None:
        rc = lib.quota_grant_delete(self._ptr(), cv.text(ns, "ns"), cv.text(name, "name"))
        self._done(rc)

    def get_grant(self, name: str, ns: Optional[str] = None) -> Grant:
        return self._get(
            lib.quota_grant_get, _lib.Grant, cv.grant, cv.text(ns, "ns"), cv.text(name, "name")
        )

    def list_grants(self, consumer: Optional[RefLike] = None) -> list[Grant]:
        """All grants, or those of one consumer, sorted by (ns, name)."""
        return self._list(
            lib.quota_grant_list, _lib.Grant, cv.grant, _optional_ref(consumer, "consumer")
        )

    # --- consumers --------------------------------------------------------

    def set_parent(self, child: RefLike, parent: Optional[RefLike]) -> None:
        """Set a consumer's parent, or clear it with None."""
        rc = lib.quota_consumer_set_parent(
            self._ptr(), cv.c_ref(child, "child"), _optional_ref(parent, "parent")
        )
        self._done(rc)

    def get_parent(self, child: RefLike) -> Optional[Ref]:
        out = POINTER(_lib.Ref)()
        rc = lib.quota_consumer_get_parent(self._ptr(), cv.c_ref(child, "child"), byref(out))
        if rc:
            raise_for(rc)
        if not out:
            return None
        try:
            return cv.ref(out.contents)
        finally:
            lib.quota_free(out)

    # --- buckets ----------------------------------------------------------

    def get_bucket(self, consumer: RefLike, resource_type: str, selector: str = "") -> BucketInfo:
        """The base bucket of (consumer, type), or with ``selector`` (its
        canonical text, as ``BucketInfo.selector`` prints it) one of its
        selector buckets (NotFound when there is none)."""
        args = [cv.c_ref(consumer, "consumer"), cv.text(resource_type, "resource_type")]
        fn = lib.quota_bucket_get
        if selector:
            fn = lib.quota_bucket_get_selector
            args.append(cv.text(selector, "selector"))
        return self._get(fn, _lib.BucketInfo, cv.bucket, *args)

    def buckets(
        self, consumer: Optional[RefLike] = None, resource_type: Optional[str] = None
    ) -> "BucketIterator":
        """Iterate over buckets (weakly consistent), optionally filtered."""
        self._reap()
        out = c_void_p()
        rc = lib.quota_bucket_iter_new(
            self._ptr(),
            _optional_ref(consumer, "consumer"),
            cv.text(resource_type, "resource_type"),
            byref(out),
        )
        if rc:
            raise_for(rc)
        return BucketIterator(self, self._adopt(out.value, lib.quota_bucket_iter_free))

    def consume(self, consumer: RefLike, resource_type: str, amount: int) -> Answer:
        """Charge amount to the bucket without a claim, if it fits (on a
        Rate type: rate_take)."""
        return self._take(lib.quota_consume, consumer, resource_type, amount)

    def rate_take(self, consumer: RefLike, resource_type: str, n: int = 1) -> Answer:
        """Take n from the rate limits of a Rate type, at every level: all
        or none. RateLimited (with ``retry_after``) when a limit denies; the
        answer reports the limit with the least left. Taken is spent:
        give_back does not return it."""
        return self._take(lib.quota_rate_take, consumer, resource_type, n)

    def _take(self, fn: Any, consumer: RefLike, resource_type: str, amount: int) -> Answer:
        a = cv.init(_lib.Answer)
        rc = fn(
            self._ptr(),
            cv.c_ref(consumer, "consumer"),
            cv.text(resource_type, "resource_type"),
            cv.i64(amount, "amount"),
            byref(a),
        )
        return self._done(rc, a)  # type: ignore[return-value]

    def give_back(self, consumer: RefLike, resource_type: str, amount: int) -> None:
        """Return anonymously consumed capacity."""
        rc = lib.quota_give_back(
            self._ptr(),
            cv.c_ref(consumer, "consumer"),
            cv.text(resource_type, "resource_type"),
            cv.i64(amount, "amount"),
        )
        self._done(rc)

    def observe_usage(self, consumer: RefLike, resource_type: str, value: int) -> None:
        """Report externally measured usage (quota_usage_observe)."""
        rc = lib.quota_usage_observe(
            self._ptr(),
            cv.c_ref(consumer, "consumer"),
            cv.text(resource_type, "resource_type"),
            cv.i64(value, "value"),
        )
        self._done(rc)

    def open_bucket(self, consumer: RefLike, resource_type: str) -> "BucketHandle":
        """A prepared handle on one bucket: consume and give back without lookups."""
        self._reap()
        out = c_void_p()
        rc = lib.quota_bucket_handle_open(
            self._ptr(),
            cv.c_ref(consumer, "consumer"),
            cv.text(resource_type, "resource_type"),
            byref(out),
        )
        if rc:
            raise_for(rc)
        return BucketHandle(self, self._adopt(out.value, lib.quota_bucket_handle_close))

    # --- claims -----------------------------------------------------------

    def _admit(self, fn: Any, claim: ClaimLike) -> Answer:
        a = cv.init(_lib.Answer)
        rc = fn(self._ptr(), byref(cv.c_claim(_claim_of(claim))), byref(a))
        return self._done(rc, a)  # type: ignore[return-value]

    def reserve(self, claim: ClaimLike) -> "Reservation":
        """Reserve every request of a claim, atomically.

        Returns a Reservation, also a context manager that releases the
        claim at exit unless it was committed. QuotaExceeded (with
        ``.answer``) when it does not fit.
        """
        claim = _claim_of(claim)
        return Reservation(self, claim, self._admit(lib.quota_claim_reserve, claim))

    def acquire(self, claim: ClaimLike) -> Answer:
        """Reserve and commit in one step."""
        return self._admit(lib.quota_claim_acquire, claim)

    def check(self, claim: ClaimLike) -> Answer:
        """Dry run of acquire: changes nothing; raises as acquire would."""
        return self._admit(lib.quota_claim_check, claim)

    def _admit_set(self, fn: Any, claims: Sequence[ClaimLike]) -> Answer:
        members = [cv.c_claim(_claim_of(c)) for c in claims]
        arr = (_lib.Claim * len(members))(*members)
        a = cv.init(_lib.Answer)
        rc = fn(self._ptr(), arr, len(members), byref(a))
        return self._done(rc, a)  # type: ignore[return-value]

    def reserve_set(self, claims: Sequence[ClaimLike]) -> Answer:
        """Reserve several claims as one: on what they need together at
        every shared bucket, all are held or none. On a denial
        ``answer.binding_claim`` names the member."""
        return self._admit_set(lib.quota_claim_set_reserve, claims)

    def acquire_set(self, claims: Sequence[ClaimLike]) -> Answer:
        """reserve_set, ending with every member committed."""
        return self._admit_set(lib.quota_claim_set_acquire, claims)

    def check_set(self, claims: Sequence[ClaimLike]) -> Answer:
        """Dry run of acquire_set."""
        return self._admit_set(lib.quota_claim_set_check, claims)

    def commit(
        self, claim: Union[str, Any], ns: Optional[str] = None, *, actual: Optional[RequestsLike] = None
    ) -> None:
        """Commit a reservation, optionally settling for the ``actual``
        amounts ({type: amount} or Requests) that were used."""
        c_ns, c_name = _key(claim, ns)
        reqs = requests_of(actual) if actual else ()
        arr = cv.c_requests(reqs) if reqs else None
        self._done(lib.quota_claim_commit(self._ptr(), c_ns, c_name, arr, len(reqs)))

    def release(self, claim: Union[str, Any], ns: Optional[str] = None) -> None:
        """Release a claim from any state (a released one: no-op)."""
        c_ns, c_name = _key(claim, ns)
        self._done(lib.quota_claim_release(self._ptr(), c_ns, c_name))

    def resize(
        self, claim: Union[str, Any], requests: RequestsLike, ns: Optional[str] = None
    ) -> Answer:
        """Set new amounts for some types of a granted claim."""
        c_ns, c_name = _key(claim, ns)
        reqs = requests_of(requests)
        a = cv.init(_lib.Answer)
        rc = lib.quota_claim_resize(
            self._ptr(), c_ns, c_name, cv.c_requests(reqs), len(reqs), byref(a)
        )
        return self._done(rc, a)  # type: ignore[return-value]

    def get_claim(self, claim: Union[str, Any], ns: Optional[str] = None) -> ClaimInfo:
        return self._get(lib.quota_claim_get, _lib.ClaimInfo, cv.claim_info, *_key(claim, ns))

    def claims(
        self, consumer: Optional[RefLike] = None, state: Optional[ClaimState] = None
    ) -> "ClaimIterator":
        """Iterate over claims (weakly consistent), optionally filtered."""
        self._reap()
        out = c_void_p()
        rc = lib.quota_claim_iter_new(
            self._ptr(), _optional_ref(consumer, "consumer"), int(state or 0), byref(out)
        )
        if rc:
            raise_for(rc)
        return ClaimIterator(self, self._adopt(out.value, lib.quota_claim_iter_free))

    # --- policies ---------------------------------------------------------

    def apply_claim_policy(self, policy: Union[ClaimPolicy, Mapping[str, Any]]) -> int:
        """Create or replace a claim policy (a ClaimPolicy, or a Milo
        ClaimCreationPolicy dict); returns its generation. Everything is
        checked first and a refused policy changes nothing: InvalidArgument,
        ParseError (an expression or template does not compile),
        Unregistered, NotAllowed, with the field in ``detail``."""
        if not isinstance(policy, ClaimPolicy):
            policy = ClaimPolicy.from_dict(policy)
        return self._apply(lib.quota_claim_policy_apply, cv.c_claim_policy(policy))

    def delete_claim_policy(self, name: str) -> None:
        """Delete a claim policy (NotFound if there is none); its claims stay."""
        self._done(lib.quota_claim_policy_delete(self._ptr(), cv.text(name, "name")))

    def get_claim_policy(self, name: str) -> ClaimPolicy:
        return self._get(
            lib.quota_claim_policy_get, _lib.ClaimPolicy, cv.claim_policy, cv.text(name, "name")
        )

    def list_claim_policies(self) -> list[ClaimPolicy]:
        """Every claim policy, sorted by name."""
        return self._list(lib.quota_claim_policy_list, _lib.ClaimPolicy, cv.claim_policy)

    def apply_grant_policy(self, policy: Union[GrantPolicy, Mapping[str, Any]]) -> int:
        """Create or replace a grant policy (a GrantPolicy, or a Milo
        GrantCreationPolicy dict); returns its generation. Checked as
        apply_claim_policy, and its allowances as apply_grant's (also
        Overflow). Grants already made change at their trigger's next sync."""
        if not isinstance(policy, GrantPolicy):
            policy = GrantPolicy.from_dict(policy)
        return self._apply(lib.quota_grant_policy_apply, cv.c_grant_policy(policy))

    def delete_grant_policy(self, name: str) -> None:
        """Delete a grant policy (NotFound if there is none); the grants it
        made stay until their trigger is deleted."""
        self._done(lib.quota_grant_policy_delete(self._ptr(), cv.text(name, "name")))

    def get_grant_policy(self, name: str) -> GrantPolicy:
        return self._get(
            lib.quota_grant_policy_get, _lib.GrantPolicy, cv.grant_policy, cv.text(name, "name")
        )

    def list_grant_policies(self) -> list[GrantPolicy]:
        """Every grant policy, sorted by name."""
        return self._list(lib.quota_grant_policy_list, _lib.GrantPolicy, cv.grant_policy)

    def admit(
        self,
        trigger: Mapping[str, Any],
        user: Optional[Mapping[str, Any]] = None,
        request_info: Optional[Mapping[str, Any]] = None,
        dry_run: bool = False,
        reserve_only: bool = False,
        ttl_ms: int = 0,
    ) -> AdmissionResult:
        """Admit an object being created (Pattern 1): every enabled claim
        policy for its apiVersion and kind whose constraints hold renders
        its claim, and the claims are decided as one set.

        ``trigger`` is the object (a dict with "apiVersion", "kind" and
        usually "metadata" with "name", "namespace" and "uid"); ``user`` and
        ``request_info`` are the variables ``user`` and ``requestInfo``
        (None: null). ``dry_run`` charges nothing; ``reserve_only`` leaves
        the claims RESERVED (with ``ttl_ms``) for the caller to commit or
        release by the names in ``result.claims``.

        A decided admission returns its AdmissionResult, allowed or not: a
        denial (quota, rate limit, conflict: outcome DENIED) and a policy
        that failed (FAILED_CLOSED) are answers, with ``allowed`` False and
        the 403 text in ``message``; ``result.raise_if_denied()`` turns
        them into the exception of their C code. Only an admission that
        could not be decided raises: InvalidArgument (a trigger without
        string apiVersion and kind, both flags, a negative ttl_ms; also a
        value that is no document), NoMemory.
        """
        a = cv.init(_lib.Admission)
        a.flags = int(
            (AdmitFlag.DRY_RUN if dry_run else AdmitFlag.NONE)
            | (AdmitFlag.RESERVE_ONLY if reserve_only else AdmitFlag.NONE)
        )
        a.ttl_ms = cv.i64(ttl_ms, "ttl_ms")
        out = POINTER(_lib.AdmissionResult)()
        with Documents() as docs:
            a.trigger = docs.add(trigger, "trigger")
            a.user = docs.optional(user, "user")
            a.request_info = docs.optional(request_info, "request_info")
            rc = lib.quota_admit(self._ptr(), byref(a), byref(out))
            if not out:
                self._done(rc)
                raise InternalError(f"quota_admit returned {rc} without a result")
        try:
            result = cv.admission_result(out.contents, rc)
        finally:
            lib.quota_free(out)
        self._done(0)  # deliver the claims' events
        return result

    def sync_grant_policies(
        self, trigger: Mapping[str, Any], event: Union[TriggerEvent, int, str]
    ) -> list[GrantChange]:
        """Tell the grant policies what happened to an object (``event``: a
        TriggerEvent or its name, "added", "updated", "deleted"); its
        grants are brought up to date all at once. Returns the grants its
        policies hold after the sync and those removed, in the order of the
        policies' names. On error nothing changed: EvalError, InvalidArgument,
        Conflict (a rendered grant is the host's or another object's),
        Unregistered, NotAllowed, Overflow; the detail names the policy."""
        with Documents() as docs:
            return self._list(
                lib.quota_grant_policies_sync,
                _lib.GrantChange,
                cv.grant_change,
                docs.add(trigger, "trigger"),
                int(trigger_event(event)),
            )

    # --- observability ----------------------------------------------------

    def stats(self) -> Stats:
        out = cv.init(_lib.Stats)
        rc = lib.quota_stats_get(self._ptr(), byref(out))
        if rc:
            raise_for(rc)
        return cv.stats(out)

    # --- durability ---------------------------------------------------

    def sync(self) -> None:
        """Make every change acknowledged so far durable (fsync)."""
        rc = lib.quota_engine_sync(self._ptr())
        if rc:
            raise_for(rc)

    def compact(self) -> None:
        """Write a snapshot of the whole state and start a fresh journal."""
        rc = lib.quota_engine_compact(self._ptr())
        if rc:
            raise_for(rc)

    def journal_stats(self) -> dict[str, int]:
        """The journal's counters (``durable`` is 0 for an engine in memory)."""
        out = cv.init(_lib.JournalStats)
        rc = lib.quota_journal_stats_get(self._ptr(), byref(out))
        if rc:
            raise_for(rc)
        return {name: int(getattr(out, name)) for name, _ in _lib.JournalStats._fields_[1:]}

    def prometheus(self) -> str:
        """Prometheus text exposition of the counters and every bucket."""
        out = c_void_p()
        n = c_size_t()
        rc = lib.quota_metrics_prometheus(self._ptr(), byref(out), byref(n))
        if rc:
            raise_for(rc)
        try:
            return string_at(out.value, n.value).decode("utf-8", "replace")
        finally:
            lib.quota_free(out)

    def audit(self) -> list[Denial]:
        """The most recent denials, oldest first."""
        return self._list(lib.quota_audit_list, _lib.Denial, cv.denial)


class _Child:
    """Something an engine owns a C object for."""

    def __init__(self, engine: Engine, cell: _Owned) -> None:
        self._engine = engine
        self._cell = cell

    def close(self) -> None:
        """Free the C object. Idempotent; no other thread may be using it."""
        self._engine._release(self._cell)

    @property
    def closed(self) -> bool:
        return self._cell.ptr is None

    def __del__(self) -> None:
        cell = getattr(self, "_cell", None)
        if cell is not None and cell.ptr is not None:
            self._engine._bury(cell)

    def _ptr(self) -> int:
        ptr = self._cell.ptr
        if ptr is None:
            raise WrongState(f"{type(self).__name__} is closed")
        return ptr


class BucketHandle(_Child):
    """A prepared bucket handle (quota_bucket_handle): no lookup, no
    allocation per call. Thread-safe; close before the engine (or let the
    engine's close do it)."""

    def consume(self, amount: int) -> Answer:
        a = cv.init(_lib.Answer)
        rc = lib.quota_handle_consume(self._ptr(), cv.i64(amount, "amount"), byref(a))
        return self._engine._done(rc, a)  # type: ignore[return-value]

    def give_back(self, amount: int) -> None:
        rc = lib.quota_handle_give_back(self._ptr(), cv.i64(amount, "amount"))
        self._engine._done(rc)

    def __enter__(self) -> "BucketHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _CIterator(_Child, Generic[T]):
    _next_fn: Any
    _struct: Any
    _convert: Callable[[Any], T]

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        ptr = self._cell.ptr
        if ptr is None:
            raise StopIteration
        out = POINTER(self._struct)()
        rc = self._next_fn(ptr, byref(out))
        if rc == ITER_DONE:
            self.close()
            raise StopIteration
        if rc:
            raise_for(rc)
        return type(self)._convert(out.contents)

    def __enter__(self) -> "_CIterator[T]":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class BucketIterator(_CIterator[BucketInfo]):
    """Buckets, one consistent reading each; freed at the end or on close()."""

    _next_fn = lib.quota_bucket_iter_next
    _struct = _lib.BucketInfo
    _convert = cv.bucket


class ClaimIterator(_CIterator[ClaimInfo]):
    """Claims, one consistent reading each; freed at the end or on close()."""

    _next_fn = lib.quota_claim_iter_next
    _struct = _lib.ClaimInfo
    _convert = cv.claim_info


class Reservation:
    """The result of ``Engine.reserve``: the claim, its answer, and a
    context manager.

    ``with engine.reserve(claim) as r: ...; r.commit()`` — at exit a
    reservation that was neither committed nor released is released,
    whether the block raised or not. A committed one is kept.
    """

    def __init__(self, engine: Engine, claim: Claim, answer: Answer) -> None:
        self.engine = engine
        self.claim = claim
        self.answer = answer
        # An idempotent repeat may find the claim granted already.
        self._settled = answer.state == ClaimState.GRANTED

    @property
    def name(self) -> str:
        return self.claim.name

    @property
    def ns(self) -> Optional[str]:
        return self.claim.ns

    @property
    def settled(self) -> bool:
        """True once committed or released through this object."""
        return self._settled

    def info(self) -> ClaimInfo:
        return self.engine.get_claim(self.claim)

    def commit(self, actual: Optional[RequestsLike] = None) -> None:
        self.engine.commit(self.claim, actual=actual)
        self._settled = True

    def release(self) -> None:
        self.engine.release(self.claim)
        self._settled = True

    def __enter__(self) -> "Reservation":
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self._settled:
            return
        try:
            self.release()
        except Exception:
            if exc_type is None:
                raise
            # The block's own exception matters more; do not mask it.
            log.exception("quota: releasing %s at the end of a failed block", self.claim.name)

    def __repr__(self) -> str:
        return f"<quota.Reservation {self.claim.ns or ''}/{self.claim.name} {self.answer.state!r}>"
