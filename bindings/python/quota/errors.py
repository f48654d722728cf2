"""Exceptions: one class per libquota status code.

Every failing call raises the class that ``ERRORS`` maps its code to
(``QuotaError`` itself for codes this module does not know). The
exception carries ``code`` (the negative ``QUOTA_ERR_*`` value),
``detail`` (``quota_last_error()``, read on the calling thread right after
the failing call) and ``answer`` (the decision's ``Answer`` when the call
takes one, else ``None``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Optional

from ._lib import lib

if TYPE_CHECKING:
    from .types import Answer

# The status codes of include/quota/common.h; values never change.
OK = 0
ERR_INVALID = -1
ERR_NOMEM = -2
ERR_NOT_FOUND = -3
ERR_EXISTS = -4
ERR_CONFLICT = -5
ERR_EXCEEDED = -6
ERR_UNREGISTERED = -7
ERR_NOT_ALLOWED = -8
ERR_RATE_LIMITED = -9
ERR_IN_USE = -10
ERR_WRONG_STATE = -11
ERR_PARSE = -12
ERR_EVAL = -13
ERR_IO = -14
ERR_CORRUPT = -15
ERR_UNSUPPORTED = -16
ERR_OVERFLOW = -17
ERR_INTERNAL = -18
ITER_DONE = 1

# What QuotaError.code says for a failure without a known code.
UNKNOWN = -1000


def strerror(code: int) -> str:
    """The library's static name for a status code ("unknown status" if none)."""
    return lib.quota_strerror(code).decode()


class QuotaError(Exception):
    """A libquota call failed.

    Subclasses fix ``code``; ``QuotaError`` itself stands for codes this
    binding does not know (``code`` is then whatever the library returned).
    """

    code: int = UNKNOWN

    def __init__(
        self, detail: str = "", *, code: Optional[int] = None, answer: Optional[Answer] = None
    ) -> None:
        super().__init__(detail)
        if code is not None:
            self.code = code
        self.detail = detail
        self.answer = answer

    def __str__(self) -> str:
        name = strerror(self.code)
        return f"{name}: {self.detail}" if self.detail else name

    def __reduce__(self) -> Any:
        return (self.__class__, (self.detail,), dict(self.__dict__))


class InvalidArgument(QuotaError, ValueError):
    code = ERR_INVALID


class NoMemory(QuotaError, MemoryError):
    code = ERR_NOMEM


class NotFound(QuotaError, LookupError):
    code = ERR_NOT_FOUND


class AlreadyExists(QuotaError):
    code = ERR_EXISTS


class Conflict(QuotaError):
    code = ERR_CONFLICT


class QuotaExceeded(QuotaError):
    code = ERR_EXCEEDED


class Unregistered(QuotaError):
    code = ERR_UNREGISTERED


class NotAllowed(QuotaError):
    code = ERR_NOT_ALLOWED


class RateLimited(QuotaError):
    """A rate limit denied the request (its action rejects or throttles).

    From the answer: ``retry_after_ms``, how long until the same request
    would pass (-1: never, it exceeds the burst or a zero limit), and
    ``retry_after``, the same in seconds (``math.inf`` for never). Both are
    ``None`` for an exception made without an answer.
    """

    code = ERR_RATE_LIMITED

    def __init__(
        self, detail: str = "", *, code: Optional[int] = None, answer: Optional[Answer] = None
    ) -> None:
        super().__init__(detail, code=code, answer=answer)
        ms = None if answer is None else answer.retry_after_ms
        self.retry_after_ms: Optional[int] = ms
        self.retry_after: Optional[float] = None if ms is None else math.inf if ms < 0 else ms / 1000


class InUse(QuotaError):
    code = ERR_IN_USE


class WrongState(QuotaError):
    code = ERR_WRONG_STATE


class ParseError(QuotaError):
    code = ERR_PARSE


class EvalError(QuotaError):
    code = ERR_EVAL


class QuotaIOError(QuotaError):
    """``QUOTA_ERR_IO``; named so that it does not shadow the builtin ``IOError``."""

    code = ERR_IO


class Corrupt(QuotaError):
    code = ERR_CORRUPT


class Unsupported(QuotaError):
    code = ERR_UNSUPPORTED


class Overflow(QuotaError):
    code = ERR_OVERFLOW


class InternalError(QuotaError):
    code = ERR_INTERNAL


#: The one mapping from status code to exception class.
ERRORS: dict[int, type[QuotaError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NoMemory,
        NotFound,
        AlreadyExists,
        Conflict,
        QuotaExceeded,
        Unregistered,
        NotAllowed,
        RateLimited,
        InUse,
        WrongState,
        ParseError,
        EvalError,
        QuotaIOError,
        Corrupt,
        Unsupported,
        Overflow,
        InternalError,
    )
}


def error_for(code: int, detail: str = "", answer: Optional[Answer] = None) -> QuotaError:
    """The exception for a status code; unknown codes give ``QuotaError``."""
    return ERRORS.get(code, QuotaError)(detail, code=code, answer=answer)


def last_error() -> str:
    """``quota_last_error()`` of the calling thread, decoded."""
    return lib.quota_last_error().decode("utf-8", "replace")


def raise_for(code: int, answer: Optional[Answer] = None) -> None:
    """Raise the exception for a failed call's status.

    Call it on the thread that made the call, before any other libquota
    call on that thread: the detail is thread-local and the next failure
    overwrites it.
    """
    raise error_for(code, last_error(), answer)
