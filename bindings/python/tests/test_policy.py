"""Claim and grant creation policies: apply, get, list, delete,
generations, Milo dicts, and every refusal of an apply mapped to its
exception with the library's detail, changing nothing."""

from __future__ import annotations

import dataclasses
import unittest
from typing import Any, Callable

import quota
from quota import (
    ClaimPolicy,
    ClaimTemplate,
    Constraint,
    GrantPolicy,
    ParentContext,
    RequestTemplate,
)

from .support import (
    MILO_GROUP,
    MILO_PROJECTS,
    MILO_V1,
    RESOURCES,
    SVC_V1,
    PolicyTest,
    reference_claim_policy,
    reference_grant_policy,
)

CLAIM_POLICY_DICT = {
    "apiVersion": "quota.miloapis.com/v1alpha1",
    "kind": "ClaimCreationPolicy",
    "metadata": {"name": "myservice-resource-quota"},
    "spec": {
        "trigger": {
            "resource": {"apiVersion": SVC_V1, "kind": "MyResource"},
            "constraints": [
                {"expression": "trigger.spec.size != 'huge'", "message": "no huge ones"},
            ],
        },
        "target": {
            "resourceClaimTemplate": {
                "metadata": {
                    "generateName": "myresource-claim-",
                    "namespace": "{{trigger.metadata.namespace}}",
                },
                "spec": {
                    # libquota needs the consumer named; Milo takes it from the request
                    "consumerRef": {
                        "apiGroup": MILO_GROUP,
                        "kind": "Organization",
                        "name": "{{user.extra['iam.miloapis.com/parent-name'][0]}}",
                    },
                    "requests": [{"resourceType": RESOURCES, "amount": 1}],
                },
            }
        },
    },
}

GRANT_POLICY_DICT = {
    "apiVersion": "quota.miloapis.com/v1alpha1",
    "kind": "GrantCreationPolicy",
    "metadata": {"name": "myservice-default-grant"},
    "spec": {
        "trigger": {"resource": {"apiVersion": MILO_V1, "kind": "Organization"}},
        "target": {
            "resourceGrantTemplate": {
                "metadata": {
                    "name": "{{trigger.metadata.name}}-myservice-quota",
                    "namespace": "{{trigger.metadata.namespace}}",
                },
                "spec": {
                    "consumerRef": {
                        "apiGroup": MILO_GROUP,
                        "kind": "Organization",
                        "name": "{{trigger.metadata.name}}",
                    },
                    "allowances": [{"resourceType": RESOURCES, "buckets": [{"amount": 100}]}],
                },
            },
            "parentContext": {
                "apiGroup": MILO_GROUP,
                "kind": "Organization",
                "nameExpression": "trigger.metadata.name",
            },
        },
    },
}


CLAIM_SPEC = "spec.target.resourceClaimTemplate.spec"
DIMENSIONS = {"region": "{{trigger.spec.region}}", "tier": "gold"}


def applied(p: Any) -> Any:
    """The policy as get reads it back after its first apply."""
    return dataclasses.replace(p, generation=1)


def deep_replace(d: Any, path: str, value: Any) -> Any:
    """A copy of nested dicts d with the key at the dotted path set (or
    removed, for value None)."""
    head, _, rest = path.partition(".")
    out = dict(d)
    if rest:
        out[head] = deep_replace(d.get(head, {}), rest, value)
    elif value is None:
        out.pop(head, None)
    else:
        out[head] = value
    return out


def with_template(p: ClaimPolicy, **changes: Any) -> ClaimPolicy:
    return dataclasses.replace(p, claim=dataclasses.replace(p.claim, **changes))


def with_grant(p: GrantPolicy, **changes: Any) -> GrantPolicy:
    return dataclasses.replace(p, grant=dataclasses.replace(p.grant, **changes))


class ClaimPolicies(PolicyTest):
    def test_lifecycle(self) -> None:
        e = self.engine
        p = reference_claim_policy(constraints=[("trigger.spec.size != 'huge'", "no huge ones")])
        self.assertEqual(e.apply_claim_policy(p), 1)
        got = e.get_claim_policy(p.name)
        self.assertEqual(got, applied(p))
        want = (Constraint("trigger.spec.size != 'huge'", "no huge ones"),)
        self.assertEqual(got.constraints, want)
        self.assertEqual(e.apply_claim_policy(got), 1)  # a copy applies as it is
        self.assertEqual(e.apply_claim_policy(p), 1)  # identical: the same generation
        changed = with_template(p, requests={RESOURCES: 2})
        self.assertEqual(e.apply_claim_policy(changed), 2)
        self.assertEqual(e.apply_claim_policy(dataclasses.replace(changed, disabled=True)), 3)
        other = reference_claim_policy(name="another", trigger=(SVC_V1, "Zebra"))
        self.assertEqual(e.apply_claim_policy(other), 1)
        listed = e.list_claim_policies()
        self.assertEqual([x.name for x in listed], ["another", p.name])
        self.assertTrue(listed[1].disabled)
        self.assertEqual(listed[1].flags, quota.PolicyFlag.DISABLED)
        self.assertEqual(listed[1].claim.requests, (RequestTemplate(RESOURCES, 2),))
        e.delete_claim_policy("another")
        with self.assertRaises(quota.NotFound):
            e.delete_claim_policy("another")
        with self.assertRaises(quota.NotFound):
            e.get_claim_policy("another")
        # a grant policy of that name is another object
        with self.assertRaises(quota.NotFound):
            e.get_grant_policy(p.name)
        e.delete_claim_policy(p.name)
        self.assertEqual(e.list_claim_policies(), [])

    def test_every_field_reads_back(self) -> None:
        self.engine.create_registration(
            quota.Registration(
                "compute.example.com/vcpus",
                quota.KindRef("Organization", MILO_GROUP),
                claiming_resources=[quota.KindRef("Instance", "compute.example.com")],
                allowed_dimensions=["region", "tier"],
            )
        )
        p = ClaimPolicy(
            "every-field",
            quota.TriggerRef(SVC_V1, "MyResource"),
            ClaimTemplate(
                quota.Ref("Organization", "{{trigger.metadata.namespace}}", "acme", MILO_GROUP),
                [
                    RequestTemplate(RESOURCES, 3),
                    ("compute.example.com/vcpus", 4, DIMENSIONS),
                ],
                name="{{trigger.metadata.name}}-claim",
                ns="quota-system",
                resource=quota.Ref(
                    "Instance",
                    "{{trigger.metadata.namespace}}",
                    "{{trigger.metadata.name}}",
                    "compute.example.com",
                ),
            ),
            ["has(trigger.spec.region)", Constraint("trigger.spec.region != ''", "a region")],
            fail_open=True,
        )
        self.engine.apply_claim_policy(p)
        got = self.engine.get_claim_policy("every-field")
        self.assertEqual(got, applied(p))
        self.assertEqual(got.claim.requests[1].dimensions, DIMENSIONS)
        self.assertEqual(got.flags, quota.PolicyFlag.FAIL_OPEN)

    def test_from_milo_dict(self) -> None:
        p = ClaimPolicy.from_dict(CLAIM_POLICY_DICT)
        want = reference_claim_policy(constraints=[("trigger.spec.size != 'huge'", "no huge ones")])
        self.assertEqual(p, want)
        self.assertEqual(self.engine.apply_claim_policy(CLAIM_POLICY_DICT), 1)
        self.assertEqual(self.engine.get_claim_policy(p.name), applied(want))
        disabled = deep_replace(CLAIM_POLICY_DICT, "spec.disabled", True)
        self.assertTrue(ClaimPolicy.from_dict(disabled).disabled)
        fail_open = deep_replace(disabled, "spec.failOpen", True)
        self.assertTrue(ClaimPolicy.from_dict(fail_open).fail_open)
        with self.assertRaises(ValueError):
            ClaimPolicy.from_dict(GRANT_POLICY_DICT)
        with self.assertRaises(ValueError):
            GrantPolicy.from_dict(CLAIM_POLICY_DICT)

    def test_a_missing_field_is_named_by_the_library(self) -> None:
        # Milo's own example names no consumer: libquota needs one
        milo = deep_replace(CLAIM_POLICY_DICT, CLAIM_SPEC + ".consumerRef", None)
        cases = [
            (milo, "policy.target.resourceClaimTemplate.spec.consumerRef.kind"),
            (deep_replace(CLAIM_POLICY_DICT, "metadata", None), "policy.name"),
            (
                deep_replace(CLAIM_POLICY_DICT, "spec.trigger.resource.kind", None),
                "policy.trigger.kind",
            ),
            (
                deep_replace(CLAIM_POLICY_DICT, CLAIM_SPEC + ".requests", None),
                "resourceClaimTemplate.spec.requests: 0 entries",
            ),
            (
                deep_replace(CLAIM_POLICY_DICT, "spec.trigger.constraints", [{"message": "m"}]),
                "policy.trigger.constraints[0].expression",
            ),
        ]
        for d, field in cases:
            with self.assertRaises(quota.InvalidArgument, msg=field) as cm:
                self.engine.apply_claim_policy(d)
            self.assertIn(field, cm.exception.detail)
        self.assertEqual(self.engine.list_claim_policies(), [])


def text_of(n: int) -> str:
    return "a" * n


INVALID, PARSE = quota.InvalidArgument, quota.ParseError
CLAIM_TEMPLATE = "policy.target.resourceClaimTemplate"
GRANT_TEMPLATE = "policy.target.resourceGrantTemplate"
Change = Callable[[Any], Any]


def change(**fields: Any) -> Change:
    return lambda p: dataclasses.replace(p, **fields)


def template(**fields: Any) -> Change:
    return lambda p: with_template(p, **fields)


def grant(**fields: Any) -> Change:
    return lambda p: with_grant(p, **fields)


def parent(kind: str, expression: str) -> Change:
    return change(parent_context=ParentContext(kind, expression))


# (what to change, exception, what the detail says): the checks of
# tests/test-policy.c, through the bindings.
CLAIM_CASES: list[tuple[Change, type, str]] = [
    (change(name=""), INVALID, "policy.name"),
    (change(name=text_of(254)), INVALID, "policy.name"),
    (change(trigger=("V1", "MyResource")), INVALID, "policy.trigger.apiVersion"),
    (change(trigger=("Example.com/v1", "K")), INVALID, "policy.trigger.apiVersion"),
    (
        change(trigger=(SVC_V1, "myResource")),
        INVALID,
        'policy.trigger.kind: "myResource" does not match ^[A-Z][a-zA-Z0-9]*$',
    ),
    (change(trigger=(SVC_V1, "M" + "a" * 63)), INVALID, "policy.trigger.kind"),
    (change(constraints=["true"] * 11), INVALID, "policy.trigger.constraints: 11 entries"),
    (change(constraints=[""]), INVALID, "policy.trigger.constraints[0].expression"),
    (
        change(constraints=["true", "trigger.spec =="]),
        PARSE,
        "policy.trigger.constraints[1].expression: column",
    ),
    (
        change(constraints=["nobody.x == 1"]),
        PARSE,
        "policy.trigger.constraints[0].expression: column 1: undeclared reference to 'nobody'",
    ),
    (
        change(constraints=[("true", text_of(257))]),
        INVALID,
        "policy.trigger.constraints[0].message",
    ),
    (
        change(constraints=[("true", "a\nb")]),
        INVALID,
        "policy.trigger.constraints[0].message: control character",
    ),
    (change(constraints=[text_of(1025)]), PARSE, "policy.trigger.constraints[0].expression"),
    (
        template(name="fixed"),
        INVALID,
        CLAIM_TEMPLATE + ".metadata: set exactly one of name and generateName",
    ),
    (template(generate_name=None), INVALID, CLAIM_TEMPLATE + ".metadata: set exactly one"),
    (
        template(generate_name="{{ trigger.metadata.name"),
        PARSE,
        CLAIM_TEMPLATE + ".metadata.generateName: column 1",
    ),
    (template(ns=text_of(64)), INVALID, CLAIM_TEMPLATE + ".metadata.namespace"),
    (template(ns="{{ user.name + }}"), PARSE, CLAIM_TEMPLATE + ".metadata.namespace: column"),
    (
        template(consumer=quota.Ref("", None, "acme")),
        INVALID,
        CLAIM_TEMPLATE + ".spec.consumerRef.kind",
    ),
    (
        template(consumer=quota.Ref("Organization", None, "")),
        INVALID,
        CLAIM_TEMPLATE + ".spec.consumerRef.name",
    ),
    (
        template(resource=quota.Ref("", None, "{{trigger.metadata.name}}")),
        INVALID,
        CLAIM_TEMPLATE + ".spec.resourceRef.kind",
    ),
    (template(requests=()), INVALID, CLAIM_TEMPLATE + ".spec.requests: 0 entries"),
    (
        template(requests=[("{{trigger.spec.type}}", 1)] * 21),
        INVALID,
        CLAIM_TEMPLATE + ".spec.requests: 21 entries",
    ),
    (template(requests={RESOURCES: 0}), INVALID, CLAIM_TEMPLATE + ".spec.requests[0].amount"),
    (template(requests={"": 1}), INVALID, CLAIM_TEMPLATE + ".spec.requests[0].resourceType"),
    (
        template(requests={"example.com/unknown": 1}),
        quota.Unregistered,
        CLAIM_TEMPLATE + ".spec.requests[0].resourceType: example.com/unknown is not registered",
    ),
    (
        template(requests=[(RESOURCES, 1), (RESOURCES, 2)]),
        INVALID,
        CLAIM_TEMPLATE + ".spec.requests[1].resourceType",
    ),
    (
        template(requests=[(RESOURCES, 1, {"-bad": "x"})]),
        INVALID,
        CLAIM_TEMPLATE + ".spec.requests[0].dimensions[0].key",
    ),
    (
        template(requests=[(RESOURCES, 1, {"region": "{{trigger.spec.region}}"})]),
        INVALID,
        CLAIM_TEMPLATE + ".spec.requests[0].dimensions",
    ),
    (
        template(consumer=quota.Ref("Project", None, "web")),
        quota.NotAllowed,
        CLAIM_TEMPLATE + ".spec.consumerRef.kind",
    ),
    (
        template(consumer=quota.Ref("Organization", None, "acme", "other.example.com")),
        quota.NotAllowed,
        CLAIM_TEMPLATE + ".spec.consumerRef.apiGroup",
    ),
]

GRANT_CASES: list[tuple[Change, type, str]] = [
    (grant(name=""), INVALID, GRANT_TEMPLATE + ".metadata.name"),
    (grant(name=text_of(254)), INVALID, GRANT_TEMPLATE + ".metadata.name: longer than"),
    (grant(name="{{ trigger.metadata.name }"), PARSE, GRANT_TEMPLATE + ".metadata.name: column 1"),
    (grant(allowances=()), INVALID, GRANT_TEMPLATE + ".spec.allowances: 0 entries"),
    (
        grant(allowances={RESOURCES: -5}),
        INVALID,
        GRANT_TEMPLATE + ".spec.allowances[0].buckets[0].amount",
    ),
    (
        grant(allowances={RESOURCES: []}),
        INVALID,
        GRANT_TEMPLATE + ".spec.allowances[0].buckets: 0 entries",
    ),
    (
        grant(allowances={RESOURCES: quota.GrantBucket(1, quota.PERIOD_SECOND)}),
        INVALID,
        GRANT_TEMPLATE + ".spec.allowances[0].buckets[0].period_ms",
    ),
    (
        grant(allowances={"example.com/unknown": 1}),
        quota.Unregistered,
        GRANT_TEMPLATE + ".spec.allowances[0].resourceType",
    ),
    (
        grant(consumer=quota.Ref("Project", None, "{{trigger.metadata.name}}")),
        quota.NotAllowed,
        GRANT_TEMPLATE + ".spec.consumerRef.kind",
    ),
    (
        grant(consumer=quota.Ref("Organization", None, "")),
        INVALID,
        GRANT_TEMPLATE + ".spec.consumerRef.name",
    ),
    (
        parent("Organization", ""),
        INVALID,
        "policy.target.parentContext.nameExpression: must not be empty",
    ),
    (parent("", "trigger.metadata.name"), INVALID, "policy.target.parentContext.kind"),
    (
        parent("Organization", "trigger.metadata."),
        PARSE,
        "policy.target.parentContext.nameExpression: column",
    ),
    (
        parent("Organization", "user.name"),
        PARSE,
        "policy.target.parentContext.nameExpression: column 1: undeclared reference to 'user'",
    ),
    (
        change(constraints=["user.name == 'x'"]),
        PARSE,
        "policy.trigger.constraints[0].expression: column 1: undeclared reference to 'user'",
    ),
    (change(trigger=(MILO_V1, "organization")), INVALID, "policy.trigger.kind"),
]


class Refusals(PolicyTest):
    """Each refused apply raises the exception of its C code with the C
    detail, and leaves the applied policy as it was (generation 1)."""

    def check(self, ok: Any, cases: Any, apply: Any, get: Any) -> None:
        apply(ok)
        for i, (change, exc, field) in enumerate(cases):
            with self.subTest(case=i, field=field):
                with self.assertRaises(exc) as cm:
                    apply(change(ok))
                self.assertIs(type(cm.exception), exc)
                self.assertIn(field, cm.exception.detail)
                self.assertEqual(get(ok.name), applied(ok))

    def test_claim_policy_checks(self) -> None:
        e = self.engine
        self.check(reference_claim_policy(), CLAIM_CASES, e.apply_claim_policy, e.get_claim_policy)

    def test_grant_policy_checks(self) -> None:
        e = self.engine
        self.check(reference_grant_policy(), GRANT_CASES, e.apply_grant_policy, e.get_grant_policy)

    def test_refused_before_the_library(self) -> None:
        """What ctypes would pass wrong: a NUL cuts a C string, a big int wraps."""
        ok = reference_claim_policy()
        with self.assertRaises(quota.InvalidArgument) as cm:
            self.engine.apply_claim_policy(dataclasses.replace(ok, name="a\0b"))
        self.assertEqual(cm.exception.detail, "name: contains a NUL character")
        with self.assertRaises(quota.InvalidArgument) as cm:
            self.engine.apply_claim_policy(with_template(ok, requests={RESOURCES: 1 << 63}))
        self.assertIn("outside the int64 range", cm.exception.detail)
        with self.assertRaises(quota.InvalidArgument) as cm:
            self.engine.apply_grant_policy(reference_grant_policy(constraints=["x\0"]))
        self.assertIn("contains a NUL character", cm.exception.detail)
        with self.assertRaises(TypeError):
            self.engine.apply_claim_policy(dataclasses.replace(ok, name=5))  # type: ignore
        self.assertEqual(self.engine.list_claim_policies(), [])

    def test_apply_reports_every_literal_type(self) -> None:
        # a claimable type, claimed by MyResource only: another trigger kind may not
        self.engine.create_registration(
            quota.Registration(
                "claimed.example.com/things",
                "Organization",
                claiming_resources=[quota.KindRef("MyResource", "myservice.miloapis.com")],
            )
        )
        p = reference_claim_policy(name="things", trigger=(SVC_V1, "Other"))
        acme = quota.Ref("Organization", None, "acme")
        p = with_template(p, requests={"claimed.example.com/things": 1}, consumer=acme)
        with self.assertRaises(quota.NotAllowed) as cm:
            self.engine.apply_claim_policy(p)
        self.assertIn("policy.trigger", cm.exception.detail)
        self.engine.apply_claim_policy(dataclasses.replace(p, trigger=(SVC_V1, "MyResource")))


class GrantPolicies(PolicyTest):
    def test_lifecycle(self) -> None:
        e = self.engine
        context = ParentContext("Organization", "trigger.metadata.name", MILO_GROUP)
        p = reference_grant_policy(parent_context=context)
        self.assertEqual(e.apply_grant_policy(p), 1)
        got = e.get_grant_policy(p.name)
        self.assertEqual(got, applied(p))
        self.assertEqual(got.grant.allowances[0].amounts, [100])
        self.assertEqual(e.apply_grant_policy(got), 1)
        self.assertEqual(e.apply_grant_policy(with_grant(p, allowances={RESOURCES: 200})), 2)
        p3 = parent("Organization", "trigger.metadata.name + ''")(p)
        self.assertEqual(e.apply_grant_policy(p3), 3)
        self.assertEqual(e.get_grant_policy(p.name).parent_context, p3.parent_context)
        p4 = dataclasses.replace(p3, parent_context=None, disabled=True)
        self.assertEqual(e.apply_grant_policy(p4), 4)
        got = e.get_grant_policy(p.name)
        self.assertIsNone(got.parent_context)
        self.assertEqual((got.disabled, got.flags), (True, quota.PolicyFlag.DISABLED))
        self.assertEqual([x.name for x in e.list_grant_policies()], [p.name])
        e.delete_grant_policy(p.name)
        with self.assertRaises(quota.NotFound):
            e.delete_grant_policy(p.name)
        self.assertEqual(e.list_grant_policies(), [])

    def test_from_milo_dict(self) -> None:
        context = ParentContext("Organization", "trigger.metadata.name", MILO_GROUP)
        want = reference_grant_policy(parent_context=context)
        self.assertEqual(GrantPolicy.from_dict(GRANT_POLICY_DICT), want)
        self.assertEqual(self.engine.apply_grant_policy(GRANT_POLICY_DICT), 1)
        self.assertEqual(self.engine.get_grant_policy(want.name), applied(want))
        # selectors and several buckets, as ResourceGrant dicts carry them
        d = deep_replace(
            GRANT_POLICY_DICT,
            "spec.target.resourceGrantTemplate.spec.allowances",
            [
                {"resourceType": RESOURCES, "buckets": [{"amount": 5}, {"amount": 7}]},
                {"resourceType": MILO_PROJECTS, "buckets": [{"amount": 3}]},
            ],
        )
        p = GrantPolicy.from_dict(deep_replace(d, "spec.target.parentContext", None))
        self.assertIsNone(p.parent_context)
        self.assertEqual([a.amounts for a in p.grant.allowances], [[5, 7], [3]])
        self.assertEqual(self.engine.apply_grant_policy(p), 2)


if __name__ == "__main__":
    unittest.main()
