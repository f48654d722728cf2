"""Documents (doc.h): Python values as the library's quota_doc, and back.

A document is built node by node with the quota_doc_new_* calls (so it
works in a build without cJSON) and released with quota_doc_unref when the
call it was made for returns; none outlives the call, and no finaliser
ever releases one (see engine.py: a finaliser may run inside a C call).

The mapping is JSON's, exactly: None, bool, int (within int64), float
(NaN and infinities included), str (any Unicode, NUL characters
included), list or tuple, and a mapping with str keys, which keeps its
order. Anything else is a TypeError; an int outside int64 or a str with a
lone surrogate an InvalidArgument naming where it sits
("trigger.spec.replicas: ..."), as is nesting deeper than the library
allows (MAX_DEPTH).
"""

from __future__ import annotations

from ctypes import byref, c_double, c_int32, c_int64, c_size_t, c_void_p, string_at
from typing import Any, Mapping, Optional

from . import _lib
from ._convert import i64, utf8
from .errors import InvalidArgument, raise_for

lib = _lib.lib

#: QUOTA_DOC_MAX_DEPTH: how deep lists and maps may nest (a scalar is 0 deep).
MAX_DEPTH = 64

# quota_doc_type
NULL, BOOL, INT, DOUBLE, STRING, LIST, MAP = range(7)


def _check(rc: int) -> None:
    if rc:
        raise_for(rc)


def _new(fn: Any, *args: Any) -> int:
    out = c_void_p()
    _check(fn(*args, byref(out)))
    return out.value  # type: ignore[return-value]


def _member(field: str, key: str) -> str:
    return f"{field}.{key}" if key.isidentifier() else f"{field}[{key!r}]"


def build(value: Any, field: str, depth: int = 0) -> int:
    """A new document for value, one reference owned by the caller."""
    if value is None:
        return _new(lib.quota_doc_new_null)
    if isinstance(value, bool):
        return _new(lib.quota_doc_new_bool, int(value))
    if isinstance(value, int):
        return _new(lib.quota_doc_new_int, i64(value, field))
    if isinstance(value, float):
        return _new(lib.quota_doc_new_double, value)
    if isinstance(value, str):
        b = utf8(value, field)
        return _new(lib.quota_doc_new_string, b, len(b))
    if isinstance(value, (Mapping, list, tuple)):
        if depth >= MAX_DEPTH:
            raise InvalidArgument(f"{field}: nests deeper than {MAX_DEPTH} levels")
        return _container(value, field, depth)
    raise TypeError(
        f"{field}: a {type(value).__name__} is not a document value "
        "(None, bool, int, float, str, list, tuple, or a mapping with str keys)"
    )


def _container(value: Any, field: str, depth: int) -> int:
    is_map = isinstance(value, Mapping)
    doc = _new(lib.quota_doc_new_map if is_map else lib.quota_doc_new_list)
    try:
        if is_map:
            for key, item in value.items():
                if not isinstance(key, str):
                    raise TypeError(f"{field}: the key {key!r} is not a str")
                k = utf8(key, f"{field}: the key {key!r}")
                child = build(item, _member(field, key), depth + 1)
                _check(lib.quota_doc_map_set(doc, k, len(k), child))  # takes child, always
        else:
            for i, item in enumerate(value):
                _check(lib.quota_doc_list_append(doc, build(item, f"{field}[{i}]", depth + 1)))
    except BaseException:
        lib.quota_doc_unref(doc)
        raise
    return doc


def read(doc: int) -> Any:
    """The Python value of a document (borrowed; not released here)."""
    t = lib.quota_doc_get_type(doc)
    if t == NULL:
        return None
    if t == BOOL:
        flag = c_int32()
        _check(lib.quota_doc_get_bool(doc, byref(flag)))
        return bool(flag.value)
    if t == INT:
        i = c_int64()
        _check(lib.quota_doc_get_int(doc, byref(i)))
        return i.value
    if t == DOUBLE:
        d = c_double()
        _check(lib.quota_doc_get_double(doc, byref(d)))
        return d.value
    n = c_size_t()
    if t == STRING:
        p = c_void_p()
        _check(lib.quota_doc_get_string(doc, byref(p), byref(n)))
        return string_at(p.value, n.value).decode("utf-8") if n.value else ""
    item = c_void_p()
    if t == LIST:
        _check(lib.quota_doc_list_size(doc, byref(n)))
        items = []
        for i in range(n.value):
            _check(lib.quota_doc_list_at(doc, i, byref(item)))
            items.append(read(item.value))  # type: ignore[arg-type]
        return items
    if t == MAP:
        _check(lib.quota_doc_map_size(doc, byref(n)))
        key = c_void_p()
        key_len = c_size_t()
        entries = {}
        for i in range(n.value):
            _check(lib.quota_doc_map_entry(doc, i, byref(key), byref(key_len), byref(item)))
            name = string_at(key.value, key_len.value).decode("utf-8")  # type: ignore[arg-type]
            entries[name] = read(item.value)  # type: ignore[arg-type]
        return entries
    _check(t)
    raise TypeError(f"document type {t} is not known to these bindings")


class Documents:
    """The documents made for one call, released together when it ends.

    ``with Documents() as docs: lib.quota_x(docs.add(value, "trigger"))``.
    """

    def __init__(self) -> None:
        self._docs: list[int] = []

    def add(self, value: Any, field: str) -> int:
        doc = build(value, field)
        self._docs.append(doc)
        return doc

    def optional(self, value: Any, field: str) -> Optional[int]:
        """add(), but None stays NULL (the library reads it as null)."""
        return None if value is None else self.add(value, field)

    def __enter__(self) -> "Documents":
        return self

    def __exit__(self, *exc: Any) -> None:
        while self._docs:
            lib.quota_doc_unref(self._docs.pop())


def to_json(value: Any) -> str:
    """value as the library writes it (quota_doc_to_json: compact, in order)."""
    with Documents() as docs:
        doc = docs.add(value, "value")
        out = c_void_p()
        n = c_size_t()
        _check(lib.quota_doc_to_json(doc, byref(out), byref(n)))
        try:
            return string_at(out.value, n.value).decode("utf-8")
        finally:
            lib.quota_free(out)


def from_json(text: str) -> Any:
    """The value of JSON text as the library parses it (needs cJSON:
    Unsupported otherwise)."""
    b = utf8(text, "text")
    doc = _new(lib.quota_doc_parse_json, b, len(b))
    try:
        return read(doc)
    finally:
        lib.quota_doc_unref(doc)
