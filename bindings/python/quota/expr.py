"""Expressions and templates (expr.h, template.h): the CEL subset the
policies use, compiled once and evaluated many times (doc/expressions.md).

``Expression("trigger.spec.replicas * 2", ["trigger"])`` compiles (raising
ParseError with the column for a bad one); ``evaluate(trigger={...})``
gives the value as a Python value and ``evaluate_bool`` a bool (EvalError
when evaluation fails). Variables left out are null. ``Template`` works the
same for text with ``{{ }}`` parts and ``render``.

A compiled expression or template owns a C object: close it (or use
``with``). One dropped without closing is freed at the next compile,
evaluation or render of any of them, never from a finaliser (see
engine.py). Both are thread-safe: many threads may evaluate one at once.
"""

from __future__ import annotations

import threading
from ctypes import byref, c_char_p, c_int32, c_size_t, c_void_p, sizeof, string_at
from typing import Any, Callable, Optional, Sequence

from . import _lib
from ._convert import text
from ._doc import Documents, read
from .errors import InvalidArgument, WrongState, raise_for

lib = _lib.lib

#: The longest expression, in bytes (QUOTA_EXPR_MAX_LENGTH).
EXPR_MAX_LENGTH = 1024
#: The most variables an expression may have (QUOTA_EXPR_MAX_VARS).
EXPR_MAX_VARS = 64
#: The default cost budget of one evaluation, in steps.
EXPR_DEFAULT_COST_LIMIT = 1000000

# C objects whose owner was collected without close(): freed by the next
# call of this module, never from the finaliser itself.
_graveyard: list[tuple[Callable[[int], None], int]] = []
_graveyard_lock = threading.Lock()


def _reap() -> None:
    while _graveyard:
        with _graveyard_lock:
            if not _graveyard:
                return
            free, ptr = _graveyard.pop()
        free(ptr)


def _options(cost_limit: Optional[int]) -> Optional[_lib.ExprOptions]:
    if cost_limit is None:
        return None
    if isinstance(cost_limit, bool) or not isinstance(cost_limit, int):
        raise TypeError(f"cost_limit: expected int, got {type(cost_limit).__name__}")
    if not 1 <= cost_limit < 1 << 64:
        raise InvalidArgument(f"cost_limit: must be from 1 to 2**64 - 1, got {cost_limit}")
    opts = _lib.ExprOptions()
    if lib.quota_expr_options_init(byref(opts), sizeof(opts)):
        raise_for(-1)
    opts.cost_limit = cost_limit
    return opts


class _Compiled:
    _compile: Callable[..., int]
    _free: Callable[[int], None]

    def __init__(self, source: str, variables: Sequence[str]) -> None:
        _reap()
        if isinstance(variables, str):
            raise TypeError("variables: a sequence of names, not one str")
        self.variables = tuple(variables)
        names = [text(v, f"variables[{i}]") for i, v in enumerate(self.variables)]
        arr = (c_char_p * max(1, len(names)))(*names)
        out = c_void_p()
        rc = type(self)._compile(text(source, "source"), arr, len(names), byref(out))
        if rc:
            raise_for(rc)
        self.source = source
        self._p: Optional[int] = out.value

    def close(self) -> None:
        """Free the C object. Idempotent; no other thread may be using it."""
        p, self._p = self._p, None
        if p is not None:
            type(self)._free(p)

    @property
    def closed(self) -> bool:
        return self._p is None

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        p = getattr(self, "_p", None)
        if p is not None:
            with _graveyard_lock:
                _graveyard.append((type(self)._free, p))

    def __repr__(self) -> str:
        return f"<quota.{type(self).__name__} {getattr(self, 'source', '?')!r}>"

    def _call(self, fn: Callable[..., int], values: dict[str, Any], *rest: Any) -> None:
        _reap()
        if self._p is None:
            raise WrongState(f"{type(self).__name__} is closed")
        unknown = sorted(set(values) - set(self.variables))
        if unknown:
            raise TypeError(f"not a variable of this {type(self).__name__.lower()}: {unknown[0]}")
        with Documents() as docs:
            arr = (c_void_p * max(1, len(self.variables)))(
                *(docs.add(values.get(v), v) for v in self.variables)
            )
            rc = fn(self._p, arr, len(self.variables), *rest)
        if rc:
            raise_for(rc)


class Expression(_Compiled):
    """A compiled expression (quota_expr)."""

    _compile = staticmethod(lib.quota_expr_compile)
    _free = staticmethod(lib.quota_expr_free)

    def __init__(
        self, source: str, variables: Sequence[str] = ("trigger", "user", "requestInfo")
    ) -> None:
        super().__init__(source, variables)

    def evaluate(self, *, cost_limit: Optional[int] = None, **values: Any) -> Any:
        """The value for these variables (each a document value; left out: null)."""
        out = c_void_p()
        self._call(lib.quota_expr_eval, values, _options(cost_limit), byref(out))
        try:
            return read(out.value)  # type: ignore[arg-type]
        finally:
            lib.quota_doc_unref(out)

    def evaluate_bool(self, *, cost_limit: Optional[int] = None, **values: Any) -> bool:
        """The value, which must be a bool (EvalError otherwise)."""
        out = c_int32()
        self._call(lib.quota_expr_eval_bool, values, _options(cost_limit), byref(out))
        return bool(out.value)


class Template(_Compiled):
    """A compiled template (quota_template): text with ``{{ expr }}`` parts."""

    _compile = staticmethod(lib.quota_template_compile)
    _free = staticmethod(lib.quota_template_free)

    def __init__(
        self, source: str, variables: Sequence[str] = ("trigger", "user", "requestInfo")
    ) -> None:
        super().__init__(source, variables)

    @property
    def is_literal(self) -> bool:
        """Plain text, without parts."""
        if self._p is None:
            raise WrongState("Template is closed")
        rc = lib.quota_template_is_literal(self._p)
        if rc < 0:
            raise_for(rc)
        return rc == 1

    def render(self, *, cost_limit: Optional[int] = None, **values: Any) -> str:
        """The text for these variables; each part must give a string."""
        out = c_void_p()
        n = c_size_t()
        self._call(lib.quota_template_render, values, _options(cost_limit), byref(out), byref(n))
        try:
            return string_at(out.value, n.value).decode("utf-8") if n.value else ""
        finally:
            lib.quota_free(out)
