"""Policy value types (include/quota/policy.h): claim and grant creation
policies, the answer to an admission, the changes of a grant policy sync.

Inputs are frozen dataclasses that normalise what they are given, as in
types.py. ``ClaimPolicy.from_dict`` and ``GrantPolicy.from_dict`` read
Milo's ClaimCreationPolicy and GrantCreationPolicy objects; a field they
miss reaches the library empty, and the apply names it with Milo's
spelling ("policy.target.resourceClaimTemplate.spec.consumerRef.kind:
..."), so the library stays the one place that validates.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Tuple, Union

from .errors import QuotaError, error_for
from .types import (
    Allowance,
    Answer,
    Claim,
    Ref,
    _by_name,
    _labels,
    _labels_field,
    _opt,
    _set,
    _spec,
    allowances_from_dict,
    allowances_of,
    requests_of,
)

MAX_CONSTRAINTS = 10
"""Most constraints in one policy (QUOTA_MAX_CONSTRAINTS)."""
CONSTRAINT_MESSAGE_MAX = 256
"""Longest constraint message, in bytes."""
MAX_CLAIM_SET = 16
"""Most claims one admission decides (QUOTA_MAX_CLAIM_SET)."""


class PolicyFlag(enum.IntFlag):
    NONE = 0
    DISABLED = 1 << 0
    FAIL_OPEN = 1 << 1


class AdmitFlag(enum.IntFlag):
    NONE = 0
    DRY_RUN = 1 << 0
    RESERVE_ONLY = 1 << 1


class AdmitOutcome(enum.IntEnum):
    """How an admission ended (quota_admit_outcome)."""

    NO_POLICY = 1
    ALLOWED = 2
    DENIED = 3
    FAILED_CLOSED = 4
    FAILED_OPEN = 5


class TriggerEvent(enum.IntEnum):
    """What happened to a grant policy's trigger object."""

    ADDED = 1
    UPDATED = 2
    DELETED = 3


@dataclass(frozen=True)
class Constraint:
    """An expression over the policy's variables that must yield a bool;
    one that yields false makes the policy skip the object. The message
    (at most 256 bytes) is quoted when the expression fails."""

    expression: str
    message: str = ""

    @classmethod
    def of(
        cls, value: Union["Constraint", str, Tuple[str, str], Mapping[str, Any]]
    ) -> "Constraint":
        """From a Constraint, an expression, (expression, message), or a
        Milo constraint mapping {expression, message}."""
        if isinstance(value, Constraint):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping):
            return cls(value.get("expression", ""), value.get("message") or "")
        return cls(*value)


@dataclass(frozen=True)
class TriggerRef:
    """The objects a policy reacts to: exactly this apiVersion and kind."""

    api_version: str
    kind: str

    @classmethod
    def of(cls, value: Union["TriggerRef", Tuple[str, str], Mapping[str, Any]]) -> "TriggerRef":
        """From a TriggerRef, (api_version, kind), or Milo's
        trigger.resource {apiVersion, kind}."""
        if isinstance(value, TriggerRef):
            return value
        if isinstance(value, Mapping):
            return cls(value.get("apiVersion", ""), value.get("kind", ""))
        return cls(*value)


def _constraints(value: Any) -> Tuple[Constraint, ...]:
    return tuple(Constraint.of(c) for c in value)


def _ref_template(value: Any) -> Ref:
    """A Ref from a Ref, a tuple or a Milo ref whose fields may be missing
    (the library names what is)."""
    if isinstance(value, Mapping):
        return Ref(
            value.get("kind", ""),
            value.get("namespace"),
            value.get("name", ""),
            value.get("apiGroup"),
        )
    return Ref.of(value)


def _trigger_spec(d: Mapping[str, Any], kind: str) -> Tuple[str, Mapping[str, Any]]:
    """(metadata.name, spec) of a Milo policy of that kind (or of its spec)."""
    if d.get("kind", kind) != kind:
        raise ValueError(f"{kind}.from_dict: got a {d['kind']}")
    meta, spec = _spec(d)
    return meta.get("name", ""), spec


@dataclass(frozen=True)
class RequestTemplate:
    """One request of a claim template: resource_type is a template (a
    literal one must be registered at apply), amount static (> 0),
    dimension values templates."""

    resource_type: str
    amount: int
    dimensions: Mapping[str, str] = _labels_field()

    def __post_init__(self) -> None:
        _set(self, "dimensions", _labels(self.dimensions))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RequestTemplate":
        """From a Milo request: resourceType, amount, and the extension dimensions."""
        return cls(d.get("resourceType", ""), d.get("amount", 0), d.get("dimensions"))


@dataclass(frozen=True)
class ClaimTemplate:
    """What a claim policy renders (Milo resourceClaimTemplate).

    Exactly one of ``name`` and ``generate_name`` (templates; a generated
    name gets a 12-character suffix derived from the policy and the
    trigger's identity, the same on every retry). ``ns`` (template; None:
    the trigger's namespace). ``consumer`` is charged: kind and api_group
    literal, ns and name templates. ``resource`` (the resourceRef), None
    for the trigger itself. ``requests`` takes RequestTemplates, (type,
    amount) pairs, (type, amount, dimensions) triples or {type: amount}.
    """

    consumer: Ref
    requests: Tuple[RequestTemplate, ...]
    name: Optional[str] = None
    generate_name: Optional[str] = None
    ns: Optional[str] = None
    resource: Optional[Ref] = None

    def __post_init__(self) -> None:
        _set(self, "consumer", _ref_template(self.consumer))
        _set(self, "requests", requests_of(self.requests, RequestTemplate))
        _set(self, "name", _opt(self.name))
        _set(self, "generate_name", _opt(self.generate_name))
        _set(self, "ns", _opt(self.ns))
        if self.resource is not None:
            _set(self, "resource", _ref_template(self.resource))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ClaimTemplate":
        """From a Milo resourceClaimTemplate: metadata{name | generateName,
        namespace}, spec{consumerRef, requests[], resourceRef}."""
        meta, s = _spec(d)
        resource = s.get("resourceRef")
        return cls(
            _ref_template(s.get("consumerRef") or {}),
            tuple(RequestTemplate.from_dict(r) for r in s.get("requests") or ()),
            meta.get("name"),
            meta.get("generateName"),
            meta.get("namespace"),
            None if resource is None else _ref_template(resource),
        )


@dataclass(frozen=True)
class ClaimPolicy:
    """A ClaimCreationPolicy: input of ``Engine.apply_claim_policy`` and
    result of ``get_claim_policy``/``list_claim_policies``.

    ``constraints`` take Constraints, expressions, (expression, message)
    pairs or Milo mappings (at most 10, ANDed). ``disabled`` keeps it
    without evaluating it; ``fail_open`` lets an admission through when
    this policy fails (libquota fails closed otherwise). ``generation`` is
    output only.
    """

    name: str
    trigger: TriggerRef
    claim: ClaimTemplate
    constraints: Tuple[Constraint, ...] = ()
    disabled: bool = False
    fail_open: bool = False
    generation: int = 0

    def __post_init__(self) -> None:
        _set(self, "trigger", TriggerRef.of(self.trigger))
        if isinstance(self.claim, Mapping):
            _set(self, "claim", ClaimTemplate.from_dict(self.claim))
        _set(self, "constraints", _constraints(self.constraints))

    @property
    def flags(self) -> PolicyFlag:
        return (PolicyFlag.DISABLED if self.disabled else PolicyFlag.NONE) | (
            PolicyFlag.FAIL_OPEN if self.fail_open else PolicyFlag.NONE
        )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ClaimPolicy":
        """From a Milo ClaimCreationPolicy: metadata.name,
        spec.trigger.resource{apiVersion, kind},
        spec.trigger.constraints[]{expression, message},
        spec.target.resourceClaimTemplate, spec.disabled, and the
        extension spec.failOpen."""
        name, s = _trigger_spec(d, "ClaimCreationPolicy")
        trigger = s.get("trigger") or {}
        target = s.get("target") or {}
        return cls(
            name,
            TriggerRef.of(trigger.get("resource") or {}),
            ClaimTemplate.from_dict(target.get("resourceClaimTemplate") or {}),
            _constraints(trigger.get("constraints") or ()),
            bool(s.get("disabled", False)),
            bool(s.get("failOpen", False)),
        )


@dataclass(frozen=True)
class GrantTemplate:
    """What a grant policy renders (Milo resourceGrantTemplate): ``name``
    and ``ns`` templates (ns None: cluster-wide), ``consumer`` with ns and
    name templates, and static ``allowances`` as a Grant takes them."""

    name: str
    consumer: Ref
    allowances: Tuple[Allowance, ...]
    ns: Optional[str] = None

    def __post_init__(self) -> None:
        _set(self, "consumer", _ref_template(self.consumer))
        _set(self, "ns", _opt(self.ns))
        _set(self, "allowances", allowances_of(self.allowances))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "GrantTemplate":
        """From a Milo resourceGrantTemplate: metadata{name, namespace},
        spec{consumerRef, allowances[]} (as Grant.from_dict reads them)."""
        meta, s = _spec(d)
        return cls(
            meta.get("name", ""),
            _ref_template(s.get("consumerRef") or {}),
            allowances_from_dict(s),
            meta.get("namespace"),
        )


@dataclass(frozen=True)
class ParentContext:
    """Where a rendered grant belongs (Milo parentContext): kind and
    api_group literal, name_expression an expression over ``trigger``
    whose value each GrantChange reports."""

    kind: str
    name_expression: str
    api_group: Optional[str] = None

    def __post_init__(self) -> None:
        _set(self, "api_group", _opt(self.api_group))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ParentContext":
        return cls(d.get("kind", ""), d.get("nameExpression", ""), d.get("apiGroup"))


@dataclass(frozen=True)
class GrantPolicy:
    """A GrantCreationPolicy: input of ``Engine.apply_grant_policy`` and
    result of ``get_grant_policy``/``list_grant_policies``. Fields as
    ClaimPolicy's; no fail_open; ``parent_context`` optional."""

    name: str
    trigger: TriggerRef
    grant: GrantTemplate
    constraints: Tuple[Constraint, ...] = ()
    parent_context: Optional[ParentContext] = None
    disabled: bool = False
    generation: int = 0

    def __post_init__(self) -> None:
        _set(self, "trigger", TriggerRef.of(self.trigger))
        if isinstance(self.grant, Mapping):
            _set(self, "grant", GrantTemplate.from_dict(self.grant))
        if isinstance(self.parent_context, Mapping):
            _set(self, "parent_context", ParentContext.from_dict(self.parent_context))
        _set(self, "constraints", _constraints(self.constraints))

    @property
    def flags(self) -> PolicyFlag:
        return PolicyFlag.DISABLED if self.disabled else PolicyFlag.NONE

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "GrantPolicy":
        """From a Milo GrantCreationPolicy: as ClaimPolicy.from_dict, with
        spec.target.resourceGrantTemplate and spec.target.parentContext
        {apiGroup, kind, nameExpression}."""
        name, s = _trigger_spec(d, "GrantCreationPolicy")
        trigger = s.get("trigger") or {}
        target = s.get("target") or {}
        parent = target.get("parentContext")
        return cls(
            name,
            TriggerRef.of(trigger.get("resource") or {}),
            GrantTemplate.from_dict(target.get("resourceGrantTemplate") or {}),
            _constraints(trigger.get("constraints") or ()),
            None if parent is None else ParentContext.from_dict(parent),
            bool(s.get("disabled", False)),
        )


@dataclass(frozen=True)
class AdmissionResult:
    """The answer to ``Engine.admit``, for every admission that was decided.

    - ``allowed``; ``outcome`` (AdmitOutcome); ``code``, the C status:
      0 when allowed, else the code of the denial (ERR_EXCEEDED,
      ERR_RATE_LIMITED, ERR_CONFLICT, ERR_OVERFLOW: DENIED; ERR_EVAL:
      FAILED_CLOSED).
    - ``message``: for a denial Milo's 403 text, ``<resource>.<group>
      "<name>" is forbidden: <reason>``; for FAILED_OPEN the failure let
      through; "" otherwise.
    - ``policy``: the policy whose claim bound, or that failed; "" otherwise.
    - ``answer``: the claim set's Answer (``binding_claim`` indexes
      ``claims``; ``existed`` on a retry that charged nothing).
    - ``claims``: the claims rendered (also in a dry run and on a denial),
      in the order of their policies' names; commit or release them by
      these after ``reserve_only``, release them when the object goes.
    """

    allowed: bool
    outcome: Union[AdmitOutcome, int]
    message: str
    policy: str
    answer: Answer
    claims: Tuple[Claim, ...]
    code: int = 0

    def error(self) -> Optional[QuotaError]:
        """The exception a denial maps to (QuotaExceeded, RateLimited,
        Conflict, Overflow, EvalError), with the message as its detail and
        the answer; None when allowed."""
        if self.code >= 0:
            return None
        return error_for(self.code, self.message, self.answer)

    def raise_if_denied(self) -> "AdmissionResult":
        """Raise error() when denied; return self when allowed."""
        err = self.error()
        if err is not None:
            raise err
        return self


@dataclass(frozen=True)
class GrantChange:
    """A grant that a grant policy holds or removed for a trigger after a
    sync: ``removed``, else the grant stands as rendered (``generation``
    moves only when the sync changed it; 0 when removed). ``parent``: the
    policy's parent context, its name the nameExpression's value (None
    without one, and for removed grants)."""

    policy: str
    name: str
    ns: Optional[str]
    removed: bool
    generation: int
    parent: Optional[Ref] = None


def trigger_event(value: Union[TriggerEvent, int, str]) -> Union[TriggerEvent, int]:
    """A TriggerEvent from itself, its int, or its name ("added", "Updated")."""
    return _by_name(TriggerEvent, value)  # type: ignore[no-any-return]
