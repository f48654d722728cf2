"""Value types: enums, input dataclasses and the typed results.

Inputs (``Ref``, ``Registration``, ``Grant``, ``Claim``, ``Request``) are
frozen dataclasses that normalise what they are given (tuples, mappings,
strings for enums) in ``__post_init__``; ``from_dict`` reads the Milo
v1alpha1 JSON shape (see doc/bindings-python.md). Results are frozen
dataclasses built from what the library returned.
"""

from __future__ import annotations

import enum
import math
import operator
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Tuple, Union

UNLIMITED = -1
"""The unlimited amount, in grant amounts, default limits and bucket limits."""

INT64_MAX = (1 << 63) - 1

MAX_REQUESTS = 20
MAX_DEPTH = 8


class ResourceClass(enum.IntEnum):
    ENTITY = 1
    ALLOCATION = 2
    FEATURE = 3
    RATE = 4


class Enforcement(enum.IntEnum):
    ENFORCE = 0
    WARN = 1


class ViolationAction(enum.IntEnum):
    """What happens when a request does not fit a limit (registration and
    grant bucket; DEFAULT in a grant bucket means the registration's,
    in a registration REJECT). THROTTLE only for Rate types."""

    DEFAULT = 0
    REJECT = 1
    THROTTLE = 2
    WARN = 3
    QUEUE = 4


class Window(enum.IntEnum):
    """How a rate limit counts time: GCRA, or aligned UTC windows."""

    ROLLING = 0
    CALENDAR = 1


class SelectorOp(enum.IntEnum):
    """Operators of a selector requirement (Milo: In, NotIn, Exists, DoesNotExist)."""

    IN = 1
    NOT_IN = 2
    EXISTS = 3
    DOES_NOT_EXIST = 4


# Rate periods in milliseconds, for GrantBucket.period_ms (any count of ms works).
PERIOD_SECOND = 1000
PERIOD_MINUTE = 60 * PERIOD_SECOND
PERIOD_HOUR = 60 * PERIOD_MINUTE
PERIOD_DAY = 24 * PERIOD_HOUR
PERIOD_MAX = 366 * PERIOD_DAY
"""The longest period: 366 days."""


class ClaimState(enum.IntEnum):
    RESERVED = 1
    GRANTED = 2
    RELEASED = 3
    PENDING = 4


class ClaimFlag(enum.IntFlag):
    NONE = 0
    QUEUE = 1 << 0
    AUTO_COMMIT = 1 << 1


class AnswerFlag(enum.IntFlag):
    NONE = 0
    WARNED = 1 << 0
    EXISTED = 1 << 1
    QUEUED = 1 << 2
    THROTTLED = 1 << 3


class BucketFlag(enum.IntFlag):
    NONE = 0
    DEFAULT_LIMIT = 1 << 0
    OVER_LIMIT = 1 << 1
    OBSERVED = 1 << 2


class EventType(enum.IntEnum):
    RESERVED = 1
    GRANTED = 2
    RELEASED = 3
    EXPIRED = 4
    QUEUED = 5
    DEQUEUED = 6


class Feature(enum.IntFlag):
    NONE = 0
    JSON = 1 << 0
    THREADS = 1 << 1


def enum_value(kind: Any, value: int) -> Any:
    """``kind(value)``, or the plain int for a value a newer library added."""
    try:
        return kind(value)
    except ValueError:
        return value


def _by_name(kind: Any, value: Any) -> Any:
    """Accept an enum member, its int, or its name in any case, with or
    without underscores ("Entity", "NotIn", "not_in")."""
    if isinstance(value, str):
        wanted = value.upper().replace("_", "")
        for name, member in kind.__members__.items():
            if name.replace("_", "") == wanted:
                return member
        raise ValueError(f"{kind.__name__}: unknown name {value!r}")
    return enum_value(kind, operator.index(value))


def _labels(value: Optional[Mapping[str, str]]) -> dict[str, str]:
    """A copy of a label mapping (dimensions, matchLabels); None is empty."""
    return dict(value or {})


def _labels_field() -> Any:
    """A dict field: compared, but left out of the hash (a dict has none)."""
    return field(default_factory=dict, hash=False)


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


def _opt(s: Optional[str]) -> Optional[str]:
    """The library treats NULL and "" alike; so do we (both read as None)."""
    return s or None


@dataclass(frozen=True)
class Ref:
    """A reference to a consumer or to the object that claims.

    ``Ref("Project", "acme", "web")`` is Project ``web`` in namespace
    ``acme``; ``Ref.cluster("Organization", "acme")`` (or ``Ref("Organization",
    None, "acme")``) a cluster-wide one. ``api_group`` is checked against
    registrations but is not part of the identity. Wherever a Ref is taken,
    a tuple ``(kind, name)`` or ``(kind, ns, name)`` works too.
    """

    kind: str
    ns: Optional[str]
    name: str
    api_group: Optional[str] = None

    def __post_init__(self) -> None:
        _set(self, "ns", _opt(self.ns))
        _set(self, "api_group", _opt(self.api_group))

    @classmethod
    def cluster(cls, kind: str, name: str, api_group: Optional[str] = None) -> "Ref":
        return cls(kind, None, name, api_group)

    @classmethod
    def of(cls, value: RefLike) -> "Ref":
        """A Ref from a Ref, a 2- or 3-tuple, or a Milo ref mapping."""
        if isinstance(value, Ref):
            return value
        if isinstance(value, Mapping):
            return cls(
                value["kind"], value.get("namespace"), value["name"], value.get("apiGroup")
            )
        if isinstance(value, tuple) and len(value) == 2:
            return cls(value[0], None, value[1])
        if isinstance(value, tuple) and len(value) == 3:
            return cls(*value)
        raise TypeError(f"not a reference: {value!r} (want Ref, (kind, name) or (kind, ns, name))")

    def __str__(self) -> str:
        return f"{self.kind}/{self.ns or ''}/{self.name}"


Consumer = Ref
"""``Consumer("Project", "acme", "web")``: the same class as ``Ref``."""

RefLike = Union[Ref, Tuple[str, str], Tuple[str, Optional[str], str], Mapping[str, Any]]


@dataclass(frozen=True)
class KindRef:
    """A kind of object (a registration's consumer type, an allowed claimer)."""

    kind: str
    api_group: Optional[str] = None

    def __post_init__(self) -> None:
        _set(self, "api_group", _opt(self.api_group))

    @classmethod
    def of(cls, value: Union["KindRef", str, Mapping[str, Any]]) -> "KindRef":
        if isinstance(value, KindRef):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping):
            return cls(value["kind"], value.get("apiGroup"))
        raise TypeError(f"not a kind: {value!r}")


def _spec(d: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(metadata, spec) of a Milo object, or ({}, d) for a bare spec."""
    if "spec" in d:
        return d.get("metadata") or {}, d["spec"]
    return {}, d


@dataclass(frozen=True)
class Registration:
    """A resource type (ResourceRegistration); input and result.

    ``generation`` is output only. Text fields read back as "" when unset.
    ``violation_action`` applies where a grant bucket names none (DEFAULT
    here is REJECT; THROTTLE only for a Rate type).
    """

    resource_type: str
    consumer_type: KindRef
    resource_class: ResourceClass = ResourceClass.ALLOCATION
    enforcement: Enforcement = Enforcement.ENFORCE
    base_unit: str = ""
    display_unit: str = ""
    description: str = ""
    unit_conversion_factor: int = 1
    claiming_resources: Tuple[KindRef, ...] = ()
    default_limit: int = 0
    allowed_dimensions: Tuple[str, ...] = ()
    generation: int = 0
    violation_action: ViolationAction = ViolationAction.DEFAULT

    def __post_init__(self) -> None:
        _set(self, "consumer_type", KindRef.of(self.consumer_type))
        _set(self, "resource_class", _by_name(ResourceClass, self.resource_class))
        _set(self, "enforcement", _by_name(Enforcement, self.enforcement))
        _set(self, "violation_action", _by_name(ViolationAction, self.violation_action))
        _set(self, "claiming_resources", tuple(KindRef.of(k) for k in self.claiming_resources))
        _set(self, "allowed_dimensions", tuple(self.allowed_dimensions))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Registration":
        """From a Milo ResourceRegistration (or its spec): resourceType,
        consumerType, type, baseUnit, displayUnit, description,
        unitConversionFactor, claimingResources, and the extensions
        defaultLimit, allowedDimensions, enforcement, violationAction
        ("Reject", "Throttle", "Warn", "Queue")."""
        _, s = _spec(d)
        return cls(
            s["resourceType"],
            s["consumerType"],
            s.get("type", ResourceClass.ALLOCATION),
            s.get("enforcement", Enforcement.ENFORCE),
            s.get("baseUnit", ""),
            s.get("displayUnit", ""),
            s.get("description", ""),
            s.get("unitConversionFactor", 1),
            tuple(s.get("claimingResources", ())),
            s.get("defaultLimit", 0),
            tuple(s.get("allowedDimensions", ())),
            violation_action=s.get("violationAction", ViolationAction.DEFAULT),
        )


@dataclass(frozen=True)
class SelectorRequirement:
    """One term of a selector's matchExpressions: ``key``, ``op`` (a
    SelectorOp or its name, "In" or "not_in" alike) and the values, 1-16
    for IN and NOT_IN, none for EXISTS and DOES_NOT_EXIST."""

    key: str
    op: SelectorOp
    values: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "op", _by_name(SelectorOp, self.op))
        values = (self.values,) if isinstance(self.values, str) else self.values
        _set(self, "values", tuple(values))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SelectorRequirement":
        """From a Milo label selector requirement: key, operator, values."""
        return cls(d["key"], d["operator"], tuple(d.get("values") or ()))


@dataclass(frozen=True)
class GrantBucket:
    """One bucket of an allowance: amount >= 0 or UNLIMITED.

    For a Rate type the amount is per ``period_ms`` (PERIOD_SECOND, ...,
    any count of ms up to PERIOD_MAX), in a ``window`` (Window), with a
    ``burst`` (rolling windows; 0 means one period's worth); for other
    types these stay 0. ``violation_action`` overrides the registration's
    (DEFAULT: the registration's). ``match_labels`` ({key: value}) and
    ``match_expressions`` (SelectorRequirements) make it a selector
    bucket that limits only the requests whose dimensions they match.
    """

    amount: int
    period_ms: int = 0
    burst: int = 0
    window: Window = Window.ROLLING
    violation_action: ViolationAction = ViolationAction.DEFAULT
    match_labels: Mapping[str, str] = _labels_field()
    match_expressions: Tuple[SelectorRequirement, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "window", _by_name(Window, self.window))
        _set(self, "violation_action", _by_name(ViolationAction, self.violation_action))
        _set(self, "match_labels", _labels(self.match_labels))
        _set(self, "match_expressions", tuple(self.match_expressions))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "GrantBucket":
        """From a Milo allowance bucket: amount, and the extension
        selector{matchLabels, matchExpressions[]{key, operator, values}}."""
        sel = d.get("selector") or {}
        return cls(
            d["amount"],
            match_labels=sel.get("matchLabels"),
            match_expressions=tuple(
                SelectorRequirement.from_dict(x) for x in sel.get("matchExpressions") or ()
            ),
        )


@dataclass(frozen=True)
class Allowance:
    """What a grant gives for one type. ``buckets`` takes ints or
    GrantBuckets, or one of them alone."""

    resource_type: str
    buckets: Tuple[GrantBucket, ...]

    def __post_init__(self) -> None:
        one = isinstance(self.buckets, (int, GrantBucket))
        items = (self.buckets,) if one else self.buckets
        _set(
            self,
            "buckets",
            tuple(b if isinstance(b, GrantBucket) else GrantBucket(b) for b in items),
        )

    @property
    def amounts(self) -> list[int]:
        return [b.amount for b in self.buckets]


@dataclass(frozen=True)
class Grant:
    """A grant (ResourceGrant); input and result. ``generation`` is output only.

    ``allowances`` takes Allowance objects or a mapping
    ``{resource_type: amount or [amounts]}``.
    """

    name: str
    consumer: Ref
    allowances: Tuple[Allowance, ...]
    ns: Optional[str] = None
    generation: int = 0

    def __post_init__(self) -> None:
        _set(self, "consumer", Ref.of(self.consumer))
        _set(self, "ns", _opt(self.ns))
        _set(self, "allowances", allowances_of(self.allowances))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Grant":
        """From a Milo ResourceGrant: metadata.name, metadata.namespace,
        spec.consumerRef, spec.allowances[].{resourceType, buckets[]}
        (buckets as GrantBucket.from_dict reads them)."""
        meta, s = _spec(d)
        return cls(
            meta["name"], Ref.of(s["consumerRef"]), allowances_from_dict(s), meta.get("namespace")
        )


def allowances_of(value: Any) -> Tuple[Allowance, ...]:
    """Allowances from Allowance objects or a mapping {type: an amount, a
    GrantBucket, or a list of them}."""
    items: Iterable[Any] = value
    if isinstance(items, Mapping):
        items = (Allowance(t, a) for t, a in items.items())
    return tuple(items)


def allowances_from_dict(spec: Mapping[str, Any]) -> Tuple[Allowance, ...]:
    """spec.allowances[].{resourceType, buckets[]} of a Milo grant (or grant template)."""
    return tuple(
        Allowance(a["resourceType"], tuple(GrantBucket.from_dict(b) for b in a["buckets"]))
        for a in spec.get("allowances") or ()
    )


@dataclass(frozen=True)
class Request:
    """An amount of a registered type, in a claim, a settlement or a resize.

    ``dimensions`` ({key: value}, claims only) label the request: each key
    must be an allowed dimension of the type; the request is charged to
    every selector bucket they match as well as to the base bucket.
    """

    resource_type: str
    amount: int
    dimensions: Mapping[str, str] = _labels_field()

    def __post_init__(self) -> None:
        _set(self, "dimensions", _labels(self.dimensions))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Request":
        """From a Milo request: resourceType, amount, and the extension dimensions."""
        return cls(d["resourceType"], d["amount"], d.get("dimensions"))


RequestsLike = Union[
    Iterable[Union[Request, Tuple[str, int], Tuple[str, int, Mapping[str, str]]]],
    Mapping[str, int],
]


def requests_of(value: Any, kind: Any = Request) -> Tuple[Any, ...]:
    """Requests (or, with kind=RequestTemplate, request templates) from
    objects of that kind, (type, amount) pairs, (type, amount, dimensions)
    triples or a mapping {type: amount}."""
    if isinstance(value, Mapping):
        return tuple(kind(t, a) for t, a in value.items())
    return tuple(r if isinstance(r, kind) else kind(*r) for r in value)


@dataclass(frozen=True)
class Claim:
    """A claim (ResourceClaim) to reserve, acquire or check.

    ``requests`` takes Request objects, (type, amount) pairs or a mapping
    ``{resource_type: amount}``; ``flags`` ClaimFlag bits.
    """

    name: str
    consumer: Ref
    requests: Tuple[Request, ...]
    ns: Optional[str] = None
    resource: Optional[Ref] = None
    flags: ClaimFlag = ClaimFlag.NONE
    ttl_ms: int = 0
    queue_timeout_ms: int = 0

    def __post_init__(self) -> None:
        _set(self, "consumer", Ref.of(self.consumer))
        _set(self, "ns", _opt(self.ns))
        _set(self, "resource", None if self.resource is None else Ref.of(self.resource))
        _set(self, "requests", requests_of(self.requests))
        _set(self, "flags", ClaimFlag(self.flags))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Claim":
        """From a Milo ResourceClaim: metadata.name, metadata.namespace,
        spec.consumerRef, spec.resourceRef, spec.requests[].{resourceType,
        amount, dimensions}."""
        meta, s = _spec(d)
        resource = s.get("resourceRef")
        return cls(
            meta["name"],
            Ref.of(s["consumerRef"]),
            tuple(Request.from_dict(r) for r in s["requests"]),
            meta.get("namespace"),
            None if resource is None else Ref.of(resource),
        )


@dataclass(frozen=True)
class Answer:
    """The answer to a decision (consume, rate_take, reserve, acquire,
    check, resize).

    On a denial it names the binding constraint: ``binding_request`` (index
    in the claim, or -1), ``bucket`` (``Kind/ns/name:resourceType``, with
    ``[selector]`` after it for a selector bucket: the most specific one
    that binds) and that bucket's ``requested``, ``available`` and
    ``limit``. When a rate limit binds (or, for an allowed rate_take, the
    limit with the least left) ``period_ms`` is its period, ``limit`` its
    amount per period and ``available`` what is left of it;
    ``retry_after_ms`` says after a rate denial when the same request
    would pass (-1: never, it exceeds the burst or a zero limit) and
    ``reset_after_ms`` when the limit is full again (rolling) or its
    window ends (calendar). For a claim set, ``binding_claim`` is the index
    of the member whose request binds (-1 otherwise).
    """

    status: int
    state: Union[ClaimState, int]
    flags: AnswerFlag
    binding_request: int
    requested: int
    available: int
    limit: int
    bucket: str
    period_ms: int = 0
    retry_after_ms: int = 0
    reset_after_ms: int = 0
    binding_claim: int = -1

    @property
    def throttled(self) -> bool:
        return bool(self.flags & AnswerFlag.THROTTLED)

    @property
    def warned(self) -> bool:
        return bool(self.flags & AnswerFlag.WARNED)

    @property
    def existed(self) -> bool:
        return bool(self.flags & AnswerFlag.EXISTED)

    @property
    def queued(self) -> bool:
        return bool(self.flags & AnswerFlag.QUEUED)


@dataclass(frozen=True)
class GrantRef:
    """A grant contributing to a bucket (contributingGrantRefs)."""

    ns: Optional[str]
    name: str
    amount: int
    last_observed_generation: int


@dataclass(frozen=True)
class RateInfo:
    """One rate limit of a Rate-type bucket, as read now.

    ``limit`` per ``period_ms`` (UNLIMITED: none), ``burst`` (the most at
    once; the limit for calendar windows), ``remaining`` (what could be
    taken now, UNLIMITED when unlimited), ``reset_after_ms`` (until full
    again, or until the calendar window ends) and the action that applies.
    """

    period_ms: int
    window: Union[Window, int]
    violation_action: Union[ViolationAction, int]
    limit: int
    burst: int
    remaining: int
    reset_after_ms: int


@dataclass(frozen=True)
class BucketInfo:
    """One reading of an allowance bucket (AllowanceBucket status)."""

    consumer: Ref
    resource_type: str
    limit: int
    allocated: int
    reserved: int
    available: int
    claim_count: int
    reserved_count: int
    grant_count: int
    observed_generation: int
    last_reconciliation_ns: int
    flags: BucketFlag
    grant_refs: Tuple[GrantRef, ...]
    observed: int
    drift: int
    pending: int
    rates: Tuple[RateInfo, ...] = ()
    selector: str = ""
    utilization_ppm: int = 0

    @property
    def unlimited(self) -> bool:
        return self.limit == UNLIMITED

    @property
    def utilization(self) -> Optional[float]:
        """(max(allocated, observed) + reserved) / limit: 1.0 is full, more
        is over the limit; None when unlimited; inf for use against 0."""
        if self.utilization_ppm == UNLIMITED:
            return None
        if self.utilization_ppm == INT64_MAX:
            return math.inf
        return self.utilization_ppm / 1_000_000


@dataclass(frozen=True)
class Allocation:
    """One request's allocation in a claim (status.allocations[])."""

    resource_type: str
    requested: int
    amount: int
    bucket: str


@dataclass(frozen=True)
class ClaimInfo:
    """A claim as stored: state, times (engine clock, ns) and allocations."""

    ns: Optional[str]
    name: str
    consumer: Ref
    resource: Optional[Ref]
    state: Union[ClaimState, int]
    flags: ClaimFlag
    created_ns: int
    updated_ns: int
    expires_ns: int
    allocations: Tuple[Allocation, ...]


@dataclass(frozen=True)
class Stats:
    """Engine counters since creation (see quota_stats in metrics.h)."""

    decisions: int
    allowed: int
    denied_exceeded: int
    denied_rate_limited: int
    throttled: int
    warnings: int
    queued: int
    admitted_from_queue: int
    expired: int
    released: int
    dequeued: int


@dataclass(frozen=True)
class Denial:
    """One entry of the audit ring of recent denials."""

    seq: int
    time_ns: int
    status: int
    requested: int
    available: int
    claim: str
    bucket: str
    message: str


@dataclass(frozen=True)
class Event:
    """A claim transition, as given to the engine's ``on_event`` callback."""

    type: Union[EventType, int]
    prev_state: Union[ClaimState, int]
    state: Union[ClaimState, int]
    ns: Optional[str]
    name: str


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    text: str = field(default="", compare=False)
