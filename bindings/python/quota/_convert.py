"""Conversions between the dataclasses of types.py and the C structs.

Inputs are checked for what ctypes would otherwise get silently wrong
(embedded NUL characters truncate a C string; ints outside int64 wrap);
everything else is left to the library, which validates every argument.
Struct fields assigned from bytes or arrays are kept alive by ctypes.
"""

from __future__ import annotations

import functools
import operator
from ctypes import byref, c_char_p, pointer, sizeof
from typing import Any, Mapping, Optional, Sequence

from . import _lib
from .errors import InvalidArgument
from .policy import (
    AdmissionResult,
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
    TriggerRef,
)
from .types import (
    INT64_MAX,
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
    Denial,
    Grant,
    GrantBucket,
    GrantRef,
    KindRef,
    RateInfo,
    Ref,
    Registration,
    Request,
    SelectorOp,
    SelectorRequirement,
    Stats,
    ViolationAction,
    Window,
    enum_value,
)

lib = _lib.lib

INT64_MIN = -INT64_MAX - 1


def utf8(value: str, field: str) -> bytes:
    """A str as UTF-8 (a lone surrogate cannot be encoded)."""
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise InvalidArgument(f"{field}: not encodable as UTF-8 ({err.reason})") from None


def text(value: Optional[str], field: str) -> Optional[bytes]:
    """A str as NUL-terminated UTF-8 (None stays NULL)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{field}: expected str, got {type(value).__name__}")
    if "\0" in value:
        raise InvalidArgument(f"{field}: contains a NUL character")
    return utf8(value, field)


def i64(value: Any, field: str) -> int:
    """An int within int64 (ctypes would wrap anything else)."""
    v = operator.index(value)
    if not INT64_MIN <= v <= INT64_MAX:
        raise InvalidArgument(f"{field}: {v} is outside the int64 range")
    return v


def s(b: Optional[bytes]) -> str:
    return b.decode("utf-8", "replace") if b else ""


def opt(b: Optional[bytes]) -> Optional[str]:
    return b.decode("utf-8", "replace") if b else None


def init(struct_type: Any) -> Any:
    """A struct filled by its quota_*_init function (defaults and size)."""
    obj = struct_type()
    getattr(lib, _INIT[struct_type])(byref(obj), sizeof(obj))
    return obj


_INIT = {
    _lib.EngineOptions: "quota_engine_options_init",
    _lib.Registration: "quota_registration_init",
    _lib.GrantBucket: "quota_grant_bucket_init",
    _lib.Allowance: "quota_allowance_init",
    _lib.Grant: "quota_grant_init",
    _lib.Answer: "quota_answer_init",
    _lib.Request: "quota_request_init",
    _lib.Claim: "quota_claim_init",
    _lib.Stats: "quota_stats_init",
    _lib.JournalStats: "quota_journal_stats_init",
    _lib.Allocator: "quota_allocator_init",
    _lib.Constraint: "quota_constraint_init",
    _lib.RequestTemplate: "quota_request_template_init",
    _lib.ClaimTemplate: "quota_claim_template_init",
    _lib.ClaimPolicy: "quota_claim_policy_init",
    _lib.GrantTemplate: "quota_grant_template_init",
    _lib.GrantPolicy: "quota_grant_policy_init",
    _lib.Admission: "quota_admission_init",
}


def array(struct_type: Any, items: Sequence[Any], fill: Any) -> Any:
    """An initialised C array of struct_type, each element filled by fill(c, item)."""
    arr = (struct_type * len(items))()
    fn = getattr(lib, _INIT[struct_type])
    size = sizeof(struct_type)
    for c, item in zip(arr, items):
        fn(byref(c), size)
        fill(c, item)
    return arr


# --- inputs ---------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _c_ref(ref: Ref, field: str) -> _lib.Ref:
    return _lib.Ref(
        text(ref.api_group, field + ".api_group"),
        text(ref.kind, field + ".kind"),
        text(ref.ns, field + ".ns"),
        text(ref.name, field + ".name"),
    )


def c_ref(value: Any, field: str = "ref") -> _lib.Ref:
    """A quota_ref from a Ref or a tuple; the same Ref converts once (cached)."""
    return _c_ref(value if isinstance(value, Ref) else Ref.of(value), field)


def strings(items: Sequence[str], field: str) -> Any:
    """A C array of strings (const char *const *)."""
    return (c_char_p * len(items))(*(text(v, field) for v in items))


def labels(items: Mapping[str, str], field: str) -> Any:
    """A C array of quota_label from {key: value}, or None when empty."""
    if not items:
        return None
    arr = (_lib.Label * len(items))()
    for c, (k, v) in zip(arr, items.items()):
        c.key = text(k, field + ".key")
        c.value = text(v, field + ".value")
    return arr


def _fill_kind(c: _lib.KindRef, k: KindRef) -> None:
    c.api_group = text(k.api_group, "api_group")
    c.kind = text(k.kind, "kind")


def c_registration(r: Registration) -> _lib.Registration:
    c = init(_lib.Registration)
    c.resource_type = text(r.resource_type, "resource_type")
    _fill_kind(c.consumer_type, r.consumer_type)
    c.resource_class = int(r.resource_class)
    c.enforcement = int(r.enforcement)
    c.base_unit = text(r.base_unit, "base_unit")
    c.display_unit = text(r.display_unit, "display_unit")
    c.description = text(r.description, "description")
    c.unit_conversion_factor = i64(r.unit_conversion_factor, "unit_conversion_factor")
    kinds = (_lib.KindRef * len(r.claiming_resources))()
    for ck, k in zip(kinds, r.claiming_resources):
        _fill_kind(ck, k)
    c.claiming_resources = kinds
    c.claiming_resource_count = len(kinds)
    c.allowed_dimensions = strings(r.allowed_dimensions, "allowed_dimensions[]")
    c.allowed_dimension_count = len(r.allowed_dimensions)
    c.default_limit = i64(r.default_limit, "default_limit")
    c.violation_action = int(r.violation_action)
    return c


def _fill_requirement(c: _lib.SelectorRequirement, x: SelectorRequirement) -> None:
    c.key = text(x.key, "match_expressions[].key")
    c.op = int(x.op)
    c.values = strings(x.values, "match_expressions[].values[]")
    c.value_count = len(x.values)


def _fill_grant_bucket(c: _lib.GrantBucket, b: GrantBucket) -> None:
    c.amount = i64(b.amount, "amount")
    c.period_ms = i64(b.period_ms, "period_ms")
    c.burst = i64(b.burst, "burst")
    c.window = int(b.window)
    c.violation_action = int(b.violation_action)
    c.match_labels = labels(b.match_labels, "match_labels")
    c.match_label_count = len(b.match_labels)
    exprs = (_lib.SelectorRequirement * len(b.match_expressions))()
    for cx, x in zip(exprs, b.match_expressions):
        _fill_requirement(cx, x)
    c.match_expressions = exprs
    c.match_expression_count = len(exprs)


def _fill_allowance(c: _lib.Allowance, a: Allowance) -> None:
    c.resource_type = text(a.resource_type, "resource_type")
    c.buckets = array(_lib.GrantBucket, a.buckets, _fill_grant_bucket)
    c.bucket_count = len(a.buckets)


def _fill_grant(c: Any, g: Any) -> None:
    """A quota_grant or quota_grant_template from a Grant or GrantTemplate."""
    c.ns = text(g.ns, "ns")
    c.name = text(g.name, "name")
    c.consumer = c_ref(g.consumer, "consumer")
    c.allowances = array(_lib.Allowance, g.allowances, _fill_allowance)
    c.allowance_count = len(g.allowances)


def c_grant(g: Grant) -> _lib.Grant:
    c = init(_lib.Grant)
    _fill_grant(c, g)
    return c


def _fill_request(c: Any, r: Any) -> None:
    """A quota_request or quota_request_template from a Request or RequestTemplate."""
    c.resource_type = text(r.resource_type, "resource_type")
    c.amount = i64(r.amount, "amount")
    c.dimensions = labels(r.dimensions, "dimensions")
    c.dimension_count = len(r.dimensions)


def c_requests(requests: Sequence[Request]) -> Any:
    return array(_lib.Request, requests, _fill_request)


def c_claim(cl: Claim) -> _lib.Claim:
    c = init(_lib.Claim)
    c.ns = text(cl.ns, "ns")
    c.name = text(cl.name, "name")
    c.consumer = c_ref(cl.consumer, "consumer")
    if cl.resource is not None:
        c.resource = c_ref(cl.resource, "resource")
    c.requests = c_requests(cl.requests)
    c.request_count = len(cl.requests)
    c.flags = int(cl.flags)
    c.ttl_ms = i64(cl.ttl_ms, "ttl_ms")
    c.queue_timeout_ms = i64(cl.queue_timeout_ms, "queue_timeout_ms")
    return c


def _fill_constraint(c: _lib.Constraint, x: Constraint) -> None:
    c.expression = text(x.expression, "constraints[].expression")
    c.message = text(x.message or None, "constraints[].message")


def _fill_policy(c: Any, p: Any) -> None:
    """What claim and grant policies share: name, trigger, constraints, flags."""
    c.name = text(p.name, "name")
    c.trigger.api_version = text(p.trigger.api_version, "trigger.api_version")
    c.trigger.kind = text(p.trigger.kind, "trigger.kind")
    c.constraints = array(_lib.Constraint, p.constraints, _fill_constraint)
    c.constraint_count = len(p.constraints)
    c.flags = int(p.flags)


def c_claim_policy(p: ClaimPolicy) -> _lib.ClaimPolicy:
    c = init(_lib.ClaimPolicy)
    _fill_policy(c, p)
    t = init(_lib.ClaimTemplate)
    tt = p.claim
    t.name = text(tt.name, "claim.name")
    t.generate_name = text(tt.generate_name, "claim.generate_name")
    t.ns = text(tt.ns, "claim.ns")
    t.consumer = c_ref(tt.consumer, "claim.consumer")
    if tt.resource is not None:
        t.resource = c_ref(tt.resource, "claim.resource")
    t.requests = array(_lib.RequestTemplate, tt.requests, _fill_request)
    t.request_count = len(tt.requests)
    c.claim = pointer(t)
    return c


def c_grant_policy(p: GrantPolicy) -> _lib.GrantPolicy:
    c = init(_lib.GrantPolicy)
    _fill_policy(c, p)
    t = init(_lib.GrantTemplate)
    _fill_grant(t, p.grant)
    c.grant = pointer(t)
    pc = p.parent_context
    if pc is not None:
        c.parent_context.api_group = text(pc.api_group, "parent_context.api_group")
        c.parent_context.kind = text(pc.kind, "parent_context.kind")
        c.parent_context.name_expression = text(
            pc.name_expression, "parent_context.name_expression"
        )
    return c


# --- results --------------------------------------------------------------


def ref(c: _lib.Ref) -> Ref:
    return Ref(s(c.kind), opt(c.ns), s(c.name), opt(c.api_group))


def answer(c: _lib.Answer) -> Answer:
    return Answer(
        c.status,
        enum_value(ClaimState, c.state),
        AnswerFlag(c.flags),
        c.binding_request,
        c.requested,
        c.available,
        c.limit,
        s(c.bucket),
        c.period_ms,
        c.retry_after_ms,
        c.reset_after_ms,
        c.binding_claim,
    )


def _kind(c: _lib.KindRef) -> KindRef:
    return KindRef(s(c.kind), opt(c.api_group))


def registration(c: _lib.Registration) -> Registration:
    return Registration(
        s(c.resource_type),
        _kind(c.consumer_type),
        c.resource_class,
        c.enforcement,
        s(c.base_unit),
        s(c.display_unit),
        s(c.description),
        c.unit_conversion_factor,
        tuple(_kind(c.claiming_resources[i]) for i in range(c.claiming_resource_count)),
        c.default_limit,
        tuple(s(c.allowed_dimensions[i]) for i in range(c.allowed_dimension_count)),
        c.generation,
        enum_value(ViolationAction, c.violation_action),
    )


def _requirement(c: _lib.SelectorRequirement) -> SelectorRequirement:
    values = tuple(s(c.values[v]) for v in range(c.value_count))
    return SelectorRequirement(s(c.key), enum_value(SelectorOp, c.op), values)


def _labels(items: Any, count: int) -> dict[str, str]:
    return {s(items[k].key): s(items[k].value) for k in range(count)}


def _grant_bucket(c: _lib.GrantBucket) -> GrantBucket:
    return GrantBucket(
        c.amount,
        c.period_ms,
        c.burst,
        enum_value(Window, c.window),
        enum_value(ViolationAction, c.violation_action),
        _labels(c.match_labels, c.match_label_count),
        tuple(_requirement(c.match_expressions[k]) for k in range(c.match_expression_count)),
    )


def _allowances(c: Any) -> tuple[Allowance, ...]:
    """The allowances of a quota_grant or quota_grant_template."""
    allowances = []
    for i in range(c.allowance_count):
        a = c.allowances[i]
        buckets = tuple(_grant_bucket(a.buckets[j]) for j in range(a.bucket_count))
        allowances.append(Allowance(s(a.resource_type), buckets))
    return tuple(allowances)


def grant(c: _lib.Grant) -> Grant:
    return Grant(s(c.name), ref(c.consumer), _allowances(c), opt(c.ns), c.generation)


def _rate(c: _lib.RateInfo) -> RateInfo:
    return RateInfo(
        c.period_ms,
        enum_value(Window, c.window),
        enum_value(ViolationAction, c.violation_action),
        c.limit,
        c.burst,
        c.remaining,
        c.reset_after_ms,
    )


def bucket(c: _lib.BucketInfo) -> BucketInfo:
    refs = []
    for i in range(c.grant_ref_count):
        g = c.grant_refs[i].contents
        refs.append(GrantRef(opt(g.ns), s(g.name), g.amount, g.last_observed_generation))
    return BucketInfo(
        ref(c.consumer),
        s(c.resource_type),
        c.limit,
        c.allocated,
        c.reserved,
        c.available,
        c.claim_count,
        c.reserved_count,
        c.grant_count,
        c.observed_generation,
        c.last_reconciliation_ns,
        BucketFlag(c.flags),
        tuple(refs),
        c.observed,
        c.drift,
        c.pending,
        tuple(_rate(c.rates[i].contents) for i in range(c.rate_count)),
        s(c.selector),
        c.utilization_ppm,
    )


def _optional_ref(c: _lib.Ref) -> Optional[Ref]:
    """A Ref, or None for an unset one (no kind)."""
    return ref(c) if c.kind else None


def _requests(c: Any, kind: Any) -> tuple[Any, ...]:
    """The requests of a quota_claim or quota_claim_template, as kind."""
    return tuple(
        kind(s(r.resource_type), r.amount, _labels(r.dimensions, r.dimension_count))
        for r in (c.requests[i] for i in range(c.request_count))
    )


def claim(c: _lib.Claim) -> Claim:
    return Claim(
        s(c.name),
        ref(c.consumer),
        _requests(c, Request),
        opt(c.ns),
        _optional_ref(c.resource),
        ClaimFlag(c.flags),
        c.ttl_ms,
        c.queue_timeout_ms,
    )


def _trigger(c: _lib.TriggerRef) -> TriggerRef:
    return TriggerRef(s(c.api_version), s(c.kind))


def _constraints(c: Any) -> tuple[Constraint, ...]:
    return tuple(
        Constraint(s(x.expression), s(x.message))
        for x in (c.constraints[i] for i in range(c.constraint_count))
    )


def claim_policy(c: _lib.ClaimPolicy) -> ClaimPolicy:
    t = c.claim.contents
    template = ClaimTemplate(
        ref(t.consumer),
        _requests(t, RequestTemplate),
        opt(t.name),
        opt(t.generate_name),
        opt(t.ns),
        _optional_ref(t.resource),
    )
    return ClaimPolicy(
        s(c.name),
        _trigger(c.trigger),
        template,
        _constraints(c),
        bool(c.flags & PolicyFlag.DISABLED),
        bool(c.flags & PolicyFlag.FAIL_OPEN),
        c.generation,
    )


def grant_policy(c: _lib.GrantPolicy) -> GrantPolicy:
    t = c.grant.contents
    pc = c.parent_context
    parent = None
    if pc.kind:
        parent = ParentContext(s(pc.kind), s(pc.name_expression), opt(pc.api_group))
    return GrantPolicy(
        s(c.name),
        _trigger(c.trigger),
        GrantTemplate(s(t.name), ref(t.consumer), _allowances(t), opt(t.ns)),
        _constraints(c),
        parent,
        bool(c.flags & PolicyFlag.DISABLED),
        c.generation,
    )


def admission_result(c: _lib.AdmissionResult, code: int) -> AdmissionResult:
    return AdmissionResult(
        bool(c.allowed),
        enum_value(AdmitOutcome, c.outcome),
        s(c.message),
        s(c.policy),
        answer(c.answer),
        tuple(claim(c.claims[i].contents) for i in range(c.claim_count)),
        code,
    )


def grant_change(c: _lib.GrantChange) -> GrantChange:
    parent = None
    if c.parent_kind:
        parent = Ref(s(c.parent_kind), None, s(c.parent_name), opt(c.parent_api_group))
    return GrantChange(s(c.policy), s(c.name), opt(c.ns), bool(c.removed), c.generation, parent)


def claim_info(c: _lib.ClaimInfo) -> ClaimInfo:
    allocations = []
    for i in range(c.allocation_count):
        a = c.allocations[i].contents
        allocations.append(Allocation(s(a.resource_type), a.requested, a.amount, s(a.bucket)))
    return ClaimInfo(
        opt(c.ns),
        s(c.name),
        ref(c.consumer),
        _optional_ref(c.resource),
        enum_value(ClaimState, c.state),
        ClaimFlag(c.flags),
        c.created_ns,
        c.updated_ns,
        c.expires_ns,
        tuple(allocations),
    )


def stats(c: _lib.Stats) -> Stats:
    return Stats(*(getattr(c, name) for name, _ in _lib.Stats._fields_[1:]))


def denial(c: _lib.Denial) -> Denial:
    return Denial(
        c.seq,
        c.time_ns,
        c.status,
        c.requested,
        c.available,
        s(c.claim),
        s(c.bucket),
        s(c.message),
    )
