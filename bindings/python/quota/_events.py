"""The claim event callback and the clock, as C callbacks.

The C library calls its event callback on whichever thread delivers,
after every engine lock is released. The trampoline here only copies the
event (its strings live only during the callback) into a queue; the
Python callable runs afterwards, when the engine call that delivered it
has returned to Python and its error detail has been read. So the
callable never runs inside a C frame, can neither clobber the
thread-local detail of the call that delivered it nor raise into C, and
may call back into the engine. Events reach it one at a time, in the
order of the transitions, like the C contract.
"""

from __future__ import annotations

import collections
import logging
import threading
import traceback
from typing import Any, Callable, Deque, Optional

from . import _lib
from ._convert import INT64_MAX, INT64_MIN, opt, s
from .types import ClaimState, Event, EventType, enum_value

log = logging.getLogger("quota")

#: How many callback exceptions an engine keeps (the oldest are dropped).
ERRORS_KEPT = 100


def keep_error(errors: Deque[BaseException], err: BaseException, what: str) -> None:
    """Store an exception raised by a callback and log it, without frames' locals."""
    if err.__traceback__ is not None:
        traceback.clear_frames(err.__traceback__)
    errors.append(err)
    log.error("quota: exception in the %s callback", what, exc_info=err)


class EventPump:
    """Copies events in the C callback; hands them to the callable later."""

    def __init__(self, fn: Callable[[Event], Any], errors: Deque[BaseException]) -> None:
        self._fn = fn
        self._errors = errors
        self._queue: Deque[Event] = collections.deque()
        self._lock = threading.Lock()
        self._delivering = False
        self.c_callback = _lib.EVENT_FN(self._trampoline)

    def _trampoline(self, ev_p: Any, payload: Optional[int]) -> None:
        try:
            ev = ev_p.contents
            self._queue.append(
                Event(
                    enum_value(EventType, ev.type),
                    enum_value(ClaimState, ev.prev_state),
                    enum_value(ClaimState, ev.state),
                    opt(ev.ns),
                    s(ev.name),
                )
            )
        except BaseException as err:  # nothing may propagate into C
            keep_error(self._errors, err, "event")

    def pending(self) -> bool:
        return bool(self._queue)

    def drain(self) -> None:
        """Deliver queued events unless another thread (or an outer frame of
        this one) is delivering already; that one then delivers them."""
        with self._lock:
            if self._delivering or not self._queue:
                return
            self._delivering = True
        try:
            while True:
                with self._lock:
                    if not self._queue:
                        self._delivering = False
                        return
                    ev = self._queue.popleft()
                try:
                    self._fn(ev)
                except Exception as err:
                    keep_error(self._errors, err, "event")
        except BaseException:
            with self._lock:
                self._delivering = False
            raise


def clock_callback(clock: Callable[[], int], errors: Deque[BaseException]) -> Any:
    """A C clock calling clock() for nanoseconds since the epoch.

    It runs inside engine calls, with engine locks held: it must be quick
    and must not call the engine. If it raises, the exception is kept and
    the engine is told 0, which it reads as "no time has passed".
    """

    def trampoline(payload: Optional[int]) -> int:
        try:
            return max(INT64_MIN, min(INT64_MAX, int(clock())))
        except BaseException as err:
            keep_error(errors, err, "clock")
            return 0

    return _lib.CLOCK_FN(trampoline)


class ManualClock:
    """A clock for tests: it stands still until advanced.

    ``Engine(clock=ManualClock())``; ``clock.advance(ms=1500)``.
    """

    def __init__(self, start_ns: int = 1_700_000_000 * 1_000_000_000) -> None:
        self.ns = start_ns
        self._lock = threading.Lock()

    def __call__(self) -> int:
        return self.ns

    def advance(self, seconds: float = 0, ms: int = 0, ns: int = 0) -> int:
        with self._lock:
            self.ns += int(seconds * 1_000_000_000) + ms * 1_000_000 + ns
            return self.ns
