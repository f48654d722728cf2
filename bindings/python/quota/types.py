"""Value types: enums, input dataclasses and the typed results.

Inputs (``Ref``, ``Registration``, ``Grant``, ``Claim``, ``Request``) are
frozen dataclasses that normalise what they are given (tuples, mappings,
strings for enums) in ``__post_init__``; ``from_dict`` reads the Milo
v1alpha1 JSON shape (see doc/bindings-python.md). Results are frozen
dataclasses built from what the library returned.
"""

from __future__ import annotations

import enum
import operator
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Tuple, Union

UNLIMITED = -1
"""The unlimited amount, in grant amounts, default limits and bucket limits."""

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
    """Accept an enum member, its int, or its name in any case ("Entity")."""
    if isinstance(value, str):
        try:
            return kind[value.upper()]
        except KeyError:
            raise ValueError(f"{kind.__name__}: unknown name {value!r}") from None
    return enum_value(kind, operator.index(value))


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

    def __post_init__(self) -> None:
        _set(self, "consumer_type", KindRef.of(self.consumer_type))
        _set(self, "resource_class", _by_name(ResourceClass, self.resource_class))
        _set(self, "enforcement", _by_name(Enforcement, self.enforcement))
        _set(self, "claiming_resources", tuple(KindRef.of(k) for k in self.claiming_resources))
        _set(self, "allowed_dimensions", tuple(self.allowed_dimensions))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Registration":
        """From a Milo ResourceRegistration (or its spec): resourceType,
        consumerType, type, baseUnit, displayUnit, description,
        unitConversionFactor, claimingResources, and the extensions
        defaultLimit, allowedDimensions, enforcement."""
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
        )


@dataclass(frozen=True)
class GrantBucket:
    """One bucket of an allowance: amount >= 0 or UNLIMITED."""

    amount: int


@dataclass(frozen=True)
class Allowance:
    """What a grant gives for one type. ``buckets`` takes ints or GrantBuckets."""

    resource_type: str
    buckets: Tuple[GrantBucket, ...]

    def __post_init__(self) -> None:
        items = (self.buckets,) if isinstance(self.buckets, int) else self.buckets
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
        items: Iterable[Any] = self.allowances
        if isinstance(items, Mapping):
            items = (Allowance(t, a) for t, a in items.items())
        _set(self, "allowances", tuple(items))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Grant":
        """From a Milo ResourceGrant: metadata.name, metadata.namespace,
        spec.consumerRef, spec.allowances[].{resourceType, buckets[].amount}."""
        meta, s = _spec(d)
        return cls(
            meta["name"],
            Ref.of(s["consumerRef"]),
            tuple(
                Allowance(a["resourceType"], tuple(b["amount"] for b in a["buckets"]))
                for a in s["allowances"]
            ),
            meta.get("namespace"),
        )


@dataclass(frozen=True)
class Request:
    """An amount of a registered type, in a claim, a settlement or a resize."""

    resource_type: str
    amount: int


RequestsLike = Union[Iterable[Union[Request, Tuple[str, int]]], Mapping[str, int]]


def requests_of(value: RequestsLike) -> Tuple[Request, ...]:
    """Requests from Request objects, (type, amount) pairs or a mapping."""
    if isinstance(value, Mapping):
        return tuple(Request(t, a) for t, a in value.items())
    return tuple(r if isinstance(r, Request) else Request(*r) for r in value)


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
        amount}."""
        meta, s = _spec(d)
        resource = s.get("resourceRef")
        return cls(
            meta["name"],
            Ref.of(s["consumerRef"]),
            tuple(Request(r["resourceType"], r["amount"]) for r in s["requests"]),
            meta.get("namespace"),
            None if resource is None else Ref.of(resource),
        )


@dataclass(frozen=True)
class Answer:
    """The answer to a decision (consume, reserve, acquire, check, resize).

    On a denial it names the binding constraint: ``binding_request`` (index
    in the claim, or -1), ``bucket`` (``Kind/ns/name:resourceType``) and that
    bucket's ``requested``, ``available`` and ``limit``.
    """

    status: int
    state: Union[ClaimState, int]
    flags: AnswerFlag
    binding_request: int
    requested: int
    available: int
    limit: int
    bucket: str

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

    @property
    def unlimited(self) -> bool:
        return self.limit == UNLIMITED


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
