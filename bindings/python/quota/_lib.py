"""Loading libquota and the ctypes mirrors of its public structs.

This module is the only place that knows the C layout. Everything here
follows include/quota/*.h of libquota 0.1; structs only ever grow at the
end; at load every mirror's size is compared with the library's own
(quota_type_size), and a library whose structs differ is refused.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_double,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path

# The headers these mirrors were written from.
HEADER_VERSION = (0, 1, 0)

BUCKET_ID_MAX = 1024
AUDIT_MESSAGE_MAX = 512


class Ref(Structure):
    _fields_ = [
        ("api_group", c_char_p),
        ("kind", c_char_p),
        ("ns", c_char_p),
        ("name", c_char_p),
    ]


class KindRef(Structure):
    _fields_ = [("api_group", c_char_p), ("kind", c_char_p)]


CLOCK_FN = CFUNCTYPE(c_int64, c_void_p)


class Event(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("type", c_int32),
        ("prev_state", c_int32),
        ("state", c_int32),
        ("reserved0", c_int32),
        ("ns", c_char_p),
        ("name", c_char_p),
    ]


EVENT_FN = CFUNCTYPE(None, POINTER(Event), c_void_p)
MALLOC_FN = CFUNCTYPE(c_void_p, c_size_t, c_void_p)
FREE_FN = CFUNCTYPE(None, c_void_p, c_void_p)


class Allocator(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("malloc_fn", MALLOC_FN),
        ("free_fn", FREE_FN),
        ("payload", c_void_p),
    ]


class EngineOptions(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("stripes", c_uint32),
        ("reserved_flags", c_uint32),
        ("clock", CLOCK_FN),
        ("clock_payload", c_void_p),
        ("released_retention_ms", c_int64),
        ("hash_key", c_uint64 * 2),
        ("event_fn", EVENT_FN),
        ("event_payload", c_void_p),
        ("journal_path", c_char_p),
        ("sync_mode", c_int32),
        ("sync_interval_ms", c_uint32),
    ]


class JournalStats(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("durable", c_int32),
        ("failed", c_int32),
    ] + [
        (name, c_uint64)
        for name in (
            "last_seq",
            "synced_seq",
            "snapshot_seq",
            "records",
            "bytes",
            "fsyncs",
            "compactions",
            "replayed",
            "cut_bytes",
        )
    ]


class Registration(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("resource_type", c_char_p),
        ("consumer_type", KindRef),
        ("resource_class", c_int32),
        ("enforcement", c_int32),
        ("base_unit", c_char_p),
        ("display_unit", c_char_p),
        ("description", c_char_p),
        ("unit_conversion_factor", c_int64),
        ("claiming_resources", POINTER(KindRef)),
        ("claiming_resource_count", c_uint32),
        ("allowed_dimension_count", c_uint32),
        ("allowed_dimensions", POINTER(c_char_p)),
        ("default_limit", c_int64),
        ("generation", c_int64),
        ("violation_action", c_int32),
        ("reserved_flags", c_uint32),
    ]


class Label(Structure):
    _fields_ = [("key", c_char_p), ("value", c_char_p)]


class SelectorRequirement(Structure):
    _fields_ = [
        ("key", c_char_p),
        ("op", c_int32),
        ("value_count", c_uint32),
        ("values", POINTER(c_char_p)),
    ]


class GrantBucket(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("amount", c_int64),
        ("period_ms", c_int64),
        ("burst", c_int64),
        ("window", c_int32),
        ("violation_action", c_int32),
        ("match_labels", POINTER(Label)),
        ("match_label_count", c_uint32),
        ("match_expression_count", c_uint32),
        ("match_expressions", POINTER(SelectorRequirement)),
    ]


class Allowance(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("resource_type", c_char_p),
        ("buckets", POINTER(GrantBucket)),
        ("bucket_count", c_uint32),
        ("reserved_flags", c_uint32),
    ]


class Grant(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("ns", c_char_p),
        ("name", c_char_p),
        ("consumer", Ref),
        ("allowances", POINTER(Allowance)),
        ("allowance_count", c_uint32),
        ("reserved_flags", c_uint32),
        ("generation", c_int64),
    ]


class Answer(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("status", c_int32),
        ("state", c_int32),
        ("flags", c_uint32),
        ("binding_request", c_int32),
        ("requested", c_int64),
        ("available", c_int64),
        ("limit", c_int64),
        ("bucket", c_char * BUCKET_ID_MAX),
        ("period_ms", c_int64),
        ("retry_after_ms", c_int64),
        ("reset_after_ms", c_int64),
        ("binding_claim", c_int32),
        ("reserved0", c_int32),
    ]


class GrantRef(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("ns", c_char_p),
        ("name", c_char_p),
        ("amount", c_int64),
        ("last_observed_generation", c_int64),
    ]


class RateInfo(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("period_ms", c_int64),
        ("window", c_int32),
        ("violation_action", c_int32),
        ("limit", c_int64),
        ("burst", c_int64),
        ("remaining", c_int64),
        ("reset_after_ms", c_int64),
    ]


class BucketInfo(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("consumer", Ref),
        ("resource_type", c_char_p),
        ("limit", c_int64),
        ("allocated", c_int64),
        ("reserved", c_int64),
        ("available", c_int64),
        ("claim_count", c_int64),
        ("reserved_count", c_int64),
        ("grant_count", c_int64),
        ("observed_generation", c_int64),
        ("last_reconciliation_ns", c_int64),
        ("flags", c_uint32),
        ("grant_ref_count", c_uint32),
        ("grant_refs", POINTER(POINTER(GrantRef))),
        ("observed", c_int64),
        ("drift", c_int64),
        ("pending", c_int64),
        ("rate_count", c_uint32),
        ("reserved0", c_uint32),
        ("rates", POINTER(POINTER(RateInfo))),
        ("selector", c_char_p),
        ("utilization_ppm", c_int64),
    ]


class Request(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("resource_type", c_char_p),
        ("amount", c_int64),
        ("dimensions", POINTER(Label)),
        ("dimension_count", c_uint32),
        ("reserved_flags", c_uint32),
    ]


class Claim(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("ns", c_char_p),
        ("name", c_char_p),
        ("consumer", Ref),
        ("resource", Ref),
        ("requests", POINTER(Request)),
        ("request_count", c_uint32),
        ("flags", c_uint32),
        ("ttl_ms", c_int64),
        ("queue_timeout_ms", c_int64),
    ]


class Allocation(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("resource_type", c_char_p),
        ("requested", c_int64),
        ("amount", c_int64),
        ("bucket", c_char_p),
        ("dimensions", POINTER(Label)),
        ("dimension_count", c_uint32),
        ("reserved0", c_uint32),
    ]


class ClaimInfo(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("ns", c_char_p),
        ("name", c_char_p),
        ("consumer", Ref),
        ("resource", Ref),
        ("state", c_int32),
        ("flags", c_uint32),
        ("created_ns", c_int64),
        ("updated_ns", c_int64),
        ("expires_ns", c_int64),
        ("allocation_count", c_uint32),
        ("reserved0", c_uint32),
        ("allocations", POINTER(POINTER(Allocation))),
    ]


class Stats(Structure):
    _fields_ = [("size", c_size_t)] + [
        (name, c_uint64)
        for name in (
            "decisions",
            "allowed",
            "denied_exceeded",
            "denied_rate_limited",
            "throttled",
            "warnings",
            "queued",
            "admitted_from_queue",
            "expired",
            "released",
            "dequeued",
        )
    ]


class Denial(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("seq", c_uint64),
        ("time_ns", c_int64),
        ("status", c_int32),
        ("reserved0", c_int32),
        ("requested", c_int64),
        ("available", c_int64),
        ("claim", c_char * 320),
        ("bucket", c_char * BUCKET_ID_MAX),
        ("message", c_char * AUDIT_MESSAGE_MAX),
    ]


class Constraint(Structure):
    _fields_ = [("size", c_size_t), ("expression", c_char_p), ("message", c_char_p)]


class TriggerRef(Structure):
    _fields_ = [("api_version", c_char_p), ("kind", c_char_p)]


class RequestTemplate(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("resource_type", c_char_p),
        ("amount", c_int64),
        ("dimensions", POINTER(Label)),
        ("dimension_count", c_uint32),
        ("reserved_flags", c_uint32),
    ]


class ClaimTemplate(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("name", c_char_p),
        ("generate_name", c_char_p),
        ("ns", c_char_p),
        ("consumer", Ref),
        ("resource", Ref),
        ("requests", POINTER(RequestTemplate)),
        ("request_count", c_uint32),
        ("reserved_flags", c_uint32),
    ]


class ClaimPolicy(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("name", c_char_p),
        ("trigger", TriggerRef),
        ("constraints", POINTER(Constraint)),
        ("constraint_count", c_uint32),
        ("flags", c_uint32),
        ("claim", POINTER(ClaimTemplate)),
        ("generation", c_int64),
    ]


class GrantTemplate(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("name", c_char_p),
        ("ns", c_char_p),
        ("consumer", Ref),
        ("allowances", POINTER(Allowance)),
        ("allowance_count", c_uint32),
        ("reserved_flags", c_uint32),
    ]


class ParentContext(Structure):
    _fields_ = [("api_group", c_char_p), ("kind", c_char_p), ("name_expression", c_char_p)]


class GrantPolicy(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("name", c_char_p),
        ("trigger", TriggerRef),
        ("constraints", POINTER(Constraint)),
        ("constraint_count", c_uint32),
        ("flags", c_uint32),
        ("grant", POINTER(GrantTemplate)),
        ("parent_context", ParentContext),
        ("generation", c_int64),
    ]


class Admission(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("trigger", c_void_p),  # const quota_doc *
        ("user", c_void_p),
        ("request_info", c_void_p),
        ("flags", c_uint32),
        ("reserved_flags", c_uint32),
        ("ttl_ms", c_int64),
    ]


class AdmissionResult(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("allowed", c_int32),
        ("outcome", c_int32),
        ("message", c_char_p),
        ("policy", c_char_p),
        ("answer", Answer),
        ("claim_count", c_uint32),
        ("reserved0", c_uint32),
        ("claims", POINTER(POINTER(Claim))),
    ]


class GrantChange(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("policy", c_char_p),
        ("ns", c_char_p),
        ("name", c_char_p),
        ("removed", c_int32),
        ("reserved0", c_int32),
        ("generation", c_int64),
        ("parent_kind", c_char_p),
        ("parent_api_group", c_char_p),
        ("parent_name", c_char_p),
    ]


def _p(t):
    return POINTER(t)


_pp = POINTER(c_void_p)
_e = c_void_p  # quota_engine *
_ref = _p(Ref)
_str = c_char_p
_doc = c_void_p  # quota_doc *


class ExprOptions(Structure):
    """quota_expr_options (no type id: checked by its init's size test)."""

    _fields_ = [("size", c_size_t), ("cost_limit", c_uint64)]


# name: (restype, argtypes). Every function of lib/libquota.map.
_PROTOTYPES = {
    "quota_strerror": (c_char_p, [c_int]),
    "quota_last_error": (c_char_p, []),
    "quota_version": (c_uint32, []),
    "quota_version_string": (c_char_p, []),
    "quota_features": (c_uint64, []),
    "quota_allocator_init": (c_int, [_p(Allocator), c_size_t]),
    "quota_set_allocator": (c_int, [_p(Allocator)]),
    "quota_free": (None, [c_void_p]),
    "quota_engine_options_init": (c_int, [_p(EngineOptions), c_size_t]),
    "quota_engine_new": (c_int, [_pp, _p(EngineOptions)]),
    "quota_engine_free": (None, [_e]),
    "quota_engine_tick": (c_int, [_e, c_int64, _p(c_uint64)]),
    "quota_engine_next_deadline": (c_int, [_e, _p(c_int64)]),
    "quota_engine_now": (c_int, [_e, _p(c_int64)]),
    "quota_consumer_set_parent": (c_int, [_e, _ref, _ref]),
    "quota_consumer_get_parent": (c_int, [_e, _ref, _p(_ref)]),
    "quota_registration_init": (c_int, [_p(Registration), c_size_t]),
    "quota_registration_create": (c_int, [_e, _p(Registration)]),
    "quota_registration_update": (c_int, [_e, _p(Registration)]),
    "quota_registration_delete": (c_int, [_e, _str]),
    "quota_registration_get": (c_int, [_e, _str, _p(_p(Registration))]),
    "quota_registration_list": (c_int, [_e, _p(_p(_p(Registration))), _p(c_size_t)]),
    "quota_grant_bucket_init": (c_int, [_p(GrantBucket), c_size_t]),
    "quota_allowance_init": (c_int, [_p(Allowance), c_size_t]),
    "quota_grant_init": (c_int, [_p(Grant), c_size_t]),
    "quota_grant_apply": (c_int, [_e, _p(Grant), _p(c_int64)]),
    "quota_grant_delete": (c_int, [_e, _str, _str]),
    "quota_grant_get": (c_int, [_e, _str, _str, _p(_p(Grant))]),
    "quota_grant_list": (c_int, [_e, _ref, _p(_p(_p(Grant))), _p(c_size_t)]),
    "quota_answer_init": (c_int, [_p(Answer), c_size_t]),
    "quota_bucket_get": (c_int, [_e, _ref, _str, _p(_p(BucketInfo))]),
    "quota_bucket_get_selector": (c_int, [_e, _ref, _str, _str, _p(_p(BucketInfo))]),
    "quota_bucket_iter_new": (c_int, [_e, _ref, _str, _pp]),
    "quota_bucket_iter_next": (c_int, [c_void_p, _p(_p(BucketInfo))]),
    "quota_bucket_iter_free": (None, [c_void_p]),
    "quota_consume": (c_int, [_e, _ref, _str, c_int64, _p(Answer)]),
    "quota_rate_take": (c_int, [_e, _ref, _str, c_int64, _p(Answer)]),
    "quota_give_back": (c_int, [_e, _ref, _str, c_int64]),
    "quota_usage_observe": (c_int, [_e, _ref, _str, c_int64]),
    "quota_bucket_handle_open": (c_int, [_e, _ref, _str, _pp]),
    "quota_bucket_handle_close": (None, [c_void_p]),
    "quota_handle_consume": (c_int, [c_void_p, c_int64, _p(Answer)]),
    "quota_handle_give_back": (c_int, [c_void_p, c_int64]),
    "quota_request_init": (c_int, [_p(Request), c_size_t]),
    "quota_claim_init": (c_int, [_p(Claim), c_size_t]),
    "quota_claim_reserve": (c_int, [_e, _p(Claim), _p(Answer)]),
    "quota_claim_acquire": (c_int, [_e, _p(Claim), _p(Answer)]),
    "quota_claim_set_reserve": (c_int, [_e, _p(Claim), c_uint32, _p(Answer)]),
    "quota_claim_set_acquire": (c_int, [_e, _p(Claim), c_uint32, _p(Answer)]),
    "quota_claim_set_check": (c_int, [_e, _p(Claim), c_uint32, _p(Answer)]),
    "quota_type_size": (c_size_t, [c_int32]),
    "quota_constant": (c_int64, [c_int32]),
    "quota_claim_check": (c_int, [_e, _p(Claim), _p(Answer)]),
    "quota_claim_commit": (c_int, [_e, _str, _str, _p(Request), c_uint32]),
    "quota_claim_release": (c_int, [_e, _str, _str]),
    "quota_claim_resize": (c_int, [_e, _str, _str, _p(Request), c_uint32, _p(Answer)]),
    "quota_claim_get": (c_int, [_e, _str, _str, _p(_p(ClaimInfo))]),
    "quota_claim_iter_new": (c_int, [_e, _ref, c_int32, _pp]),
    "quota_claim_iter_next": (c_int, [c_void_p, _p(_p(ClaimInfo))]),
    "quota_claim_iter_free": (None, [c_void_p]),
    "quota_stats_init": (c_int, [_p(Stats), c_size_t]),
    "quota_journal_stats_init": (c_int, [_p(JournalStats), c_size_t]),
    "quota_journal_stats_get": (c_int, [_e, _p(JournalStats)]),
    "quota_engine_sync": (c_int, [_e]),
    "quota_engine_compact": (c_int, [_e]),
    "quota_engine_save": (c_int, [_e, c_char_p]),
    "quota_engine_load": (c_int, [_e, c_char_p]),
    "quota_stats_get": (c_int, [_e, _p(Stats)]),
    "quota_metrics_prometheus": (c_int, [_e, _p(c_void_p), _p(c_size_t)]),
    "quota_audit_list": (c_int, [_e, _p(_p(_p(Denial))), _p(c_size_t)]),
    # documents (doc.h); strings go by pointer and length, never as c_char_p results
    "quota_doc_new_null": (c_int, [_pp]),
    "quota_doc_new_bool": (c_int, [c_int32, _pp]),
    "quota_doc_new_int": (c_int, [c_int64, _pp]),
    "quota_doc_new_double": (c_int, [c_double, _pp]),
    "quota_doc_new_string": (c_int, [c_char_p, c_size_t, _pp]),
    "quota_doc_new_list": (c_int, [_pp]),
    "quota_doc_new_map": (c_int, [_pp]),
    "quota_doc_list_append": (c_int, [_doc, _doc]),
    "quota_doc_map_set": (c_int, [_doc, c_char_p, c_size_t, _doc]),
    "quota_doc_ref": (_doc, [_doc]),
    "quota_doc_unref": (None, [_doc]),
    "quota_doc_get_type": (c_int, [_doc]),
    "quota_doc_get_bool": (c_int, [_doc, _p(c_int32)]),
    "quota_doc_get_int": (c_int, [_doc, _p(c_int64)]),
    "quota_doc_get_double": (c_int, [_doc, _p(c_double)]),
    "quota_doc_get_string": (c_int, [_doc, _pp, _p(c_size_t)]),
    "quota_doc_list_size": (c_int, [_doc, _p(c_size_t)]),
    "quota_doc_list_at": (c_int, [_doc, c_size_t, _pp]),
    "quota_doc_map_size": (c_int, [_doc, _p(c_size_t)]),
    "quota_doc_map_get": (c_int, [_doc, c_char_p, c_size_t, _pp]),
    "quota_doc_map_entry": (c_int, [_doc, c_size_t, _pp, _p(c_size_t), _pp]),
    "quota_doc_parse_json": (c_int, [c_char_p, c_size_t, _pp]),
    "quota_doc_to_json": (c_int, [_doc, _pp, _p(c_size_t)]),
    # policies, admission and grant provisioning (policy.h)
    "quota_constraint_init": (c_int, [_p(Constraint), c_size_t]),
    "quota_request_template_init": (c_int, [_p(RequestTemplate), c_size_t]),
    "quota_claim_template_init": (c_int, [_p(ClaimTemplate), c_size_t]),
    "quota_claim_policy_init": (c_int, [_p(ClaimPolicy), c_size_t]),
    "quota_grant_template_init": (c_int, [_p(GrantTemplate), c_size_t]),
    "quota_grant_policy_init": (c_int, [_p(GrantPolicy), c_size_t]),
    "quota_claim_policy_apply": (c_int, [_e, _p(ClaimPolicy), _p(c_int64)]),
    "quota_claim_policy_delete": (c_int, [_e, _str]),
    "quota_claim_policy_get": (c_int, [_e, _str, _p(_p(ClaimPolicy))]),
    "quota_claim_policy_list": (c_int, [_e, _p(_p(_p(ClaimPolicy))), _p(c_size_t)]),
    "quota_grant_policy_apply": (c_int, [_e, _p(GrantPolicy), _p(c_int64)]),
    "quota_grant_policy_delete": (c_int, [_e, _str]),
    "quota_grant_policy_get": (c_int, [_e, _str, _p(_p(GrantPolicy))]),
    "quota_grant_policy_list": (c_int, [_e, _p(_p(_p(GrantPolicy))), _p(c_size_t)]),
    "quota_admission_init": (c_int, [_p(Admission), c_size_t]),
    "quota_admit": (c_int, [_e, _p(Admission), _p(_p(AdmissionResult))]),
    "quota_grant_policies_sync": (
        c_int,
        [_e, _doc, c_int32, _p(_p(_p(GrantChange))), _p(c_size_t)],
    ),
    # expressions and templates (expr.h, template.h)
    "quota_expr_options_init": (c_int, [_p(ExprOptions), c_size_t]),
    "quota_expr_compile": (c_int, [_str, _p(c_char_p), c_uint32, _pp]),
    "quota_expr_eval": (c_int, [c_void_p, _p(_doc), c_uint32, _p(ExprOptions), _pp]),
    "quota_expr_eval_bool": (
        c_int,
        [c_void_p, _p(_doc), c_uint32, _p(ExprOptions), _p(c_int32)],
    ),
    "quota_expr_free": (None, [c_void_p]),
    "quota_template_compile": (c_int, [_str, _p(c_char_p), c_uint32, _pp]),
    "quota_template_render": (
        c_int,
        [c_void_p, _p(_doc), c_uint32, _p(ExprOptions), _pp, _p(c_size_t)],
    ),
    "quota_template_is_literal": (c_int, [c_void_p]),
    "quota_template_free": (None, [c_void_p]),
}

SONAME = "libquota.so.1"


def candidates() -> list[str]:
    """Where the library is looked for, in order (see doc/bindings-python.md)."""
    found = []
    env = os.environ.get("QUOTA_LIBRARY")
    if env:
        return [env]
    root = Path(__file__).resolve().parents[3]
    build = root / "build" / "lib" / SONAME
    if build.exists():
        found.append(str(build))
    for other in sorted(root.glob("build-*/lib/" + SONAME)):
        found.append(str(other))
    system = ctypes.util.find_library("quota")
    if system:
        found.append(system)
    return found


def _load() -> tuple[ctypes.CDLL, str]:
    tried = candidates()
    errors = []
    for path in tried:
        try:
            lib = ctypes.CDLL(path)
        except OSError as err:
            # A sanitizer build cannot load into a plain interpreter: try the next.
            errors.append(f"{path}: {err}")
            continue
        for name, (restype, argtypes) in _PROTOTYPES.items():
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes
        _check_version(lib, path)
        _check_layouts(lib, path)
        return lib, path
    detail = "; ".join(errors) if errors else "no candidate found"
    raise ImportError(
        "quota: cannot load libquota (set QUOTA_LIBRARY to the path of "
        f"{SONAME}, or build it with meson in build/): {detail}"
    )


def _check_version(lib: ctypes.CDLL, path: str) -> None:
    v = lib.quota_version()
    have = (v >> 16, (v >> 8) & 0xFF, v & 0xFF)
    if have[0] != HEADER_VERSION[0] or have < HEADER_VERSION:
        raise ImportError(
            f"quota: {path} is libquota {'.'.join(map(str, have))}; these bindings need "
            f"{HEADER_VERSION[0]}.x at least {'.'.join(map(str, HEADER_VERSION))}"
        )


#: The mirrors in quota_type_id order (include/quota/introspect.h).
_MIRRORS = (Ref, KindRef, Allocator, EngineOptions, Event, Registration, Label,
            SelectorRequirement, GrantBucket, Allowance, Grant, Answer, GrantRef, RateInfo,
            BucketInfo, Request, Claim, Allocation, ClaimInfo, Stats, Denial, Constraint,
            TriggerRef, RequestTemplate, ClaimTemplate, ClaimPolicy, GrantTemplate,
            ParentContext, GrantPolicy, Admission, AdmissionResult, GrantChange)


#: Mirrors of later ids, each with its id.
_MORE_MIRRORS = ((35, JournalStats),)


def _check_layouts(lib: ctypes.CDLL, path: str) -> None:
    """Refuse a library whose structs are not the ones mirrored here."""
    for type_id, mirror in (*enumerate(_MIRRORS, start=1), *_MORE_MIRRORS):
        want = lib.quota_type_size(type_id)
        if want != ctypes.sizeof(mirror):
            raise ImportError(
                f"quota: {path} has a {mirror.__name__} of {want} bytes; these bindings "
                f"know one of {ctypes.sizeof(mirror)}: rebuild them for this libquota"
            )


#: The loaded library, and the file it came from.
lib, path = _load()
