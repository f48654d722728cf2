"""Grants: apply, delete, get, list, generations, Milo dicts."""

from __future__ import annotations

import quota
from quota import (
    PERIOD_DAY,
    PERIOD_SECOND,
    Allowance,
    Grant,
    GrantBucket,
    SelectorOp,
    SelectorRequirement,
    ViolationAction,
    Window,
)

from .support import ACME, RAM, VCPU, WEB, EngineTest


class Grants(EngineTest):
    def test_get(self) -> None:
        g = self.engine.get_grant("acme-compute")
        self.assertEqual(g.name, "acme-compute")
        self.assertIsNone(g.ns)
        self.assertEqual(g.consumer, ACME)
        self.assertEqual(g.generation, 1)
        self.assertEqual(
            g.allowances,
            (Allowance(VCPU, (GrantBucket(16),)), Allowance(RAM, (GrantBucket(64),))),
        )
        self.assertEqual(g.allowances[0].amounts, [16])

    def test_apply_replaces_and_bumps_generation(self) -> None:
        g = Grant("acme-compute", ACME, [Allowance(VCPU, [10, 6, 4])])
        self.assertEqual(self.engine.apply_grant(g), 2)
        self.assertEqual(self.engine.apply_grant(g), 2, "an identical apply keeps it")
        b = self.bucket()
        self.assertEqual((b.limit, b.grant_count), (20, 1))
        self.assertEqual(b.grant_refs[0].name, "acme-compute")
        self.assertEqual(b.grant_refs[0].last_observed_generation, 2)
        self.assertEqual(self.bucket(RAM).limit, 0, "RAM left the grant")

    def test_namespaced_grants_and_unlimited(self) -> None:
        self.engine.apply_grant(Grant("extra", ACME, {VCPU: quota.UNLIMITED}, ns="billing"))
        g = self.engine.get_grant("extra", "billing")
        self.assertEqual(g.ns, "billing")
        b = self.bucket()
        self.assertTrue(b.unlimited)
        self.assertEqual(b.available, quota.UNLIMITED)
        self.assertEqual([(r.ns, r.name) for r in b.grant_refs], [(None, "acme-compute"), ("billing", "extra")])
        with self.assertRaises(quota.NotFound):
            self.engine.get_grant("extra")

    def test_list_and_filter(self) -> None:
        other = quota.Consumer.cluster("Organization", "other")
        self.engine.apply_grant(Grant("b-other", other, {VCPU: 1}))
        self.engine.apply_grant(Grant("a-acme", ("Organization", "acme"), {RAM: 1}))
        self.assertEqual([g.name for g in self.engine.list_grants()], ["a-acme", "acme-compute", "b-other"])
        self.assertEqual([g.name for g in self.engine.list_grants(ACME)], ["a-acme", "acme-compute"])
        self.assertEqual([g.name for g in self.engine.list_grants(other)], ["b-other"])
        self.assertEqual(self.engine.list_grants(WEB), [])

    def test_delete(self) -> None:
        self.engine.delete_grant("acme-compute")
        self.assertEqual(self.bucket().limit, 0)
        with self.assertRaises(quota.NotFound):
            self.engine.get_grant("acme-compute")

    def test_refused_grants(self) -> None:
        with self.assertRaises(quota.NotAllowed):
            self.engine.apply_grant(Grant("g", WEB, {VCPU: 1}))
        with self.assertRaises(quota.InvalidArgument) as cm:
            self.engine.apply_grant(Grant("g", ACME, {VCPU: -2}))
        self.assertIn("amount", cm.exception.detail)
        with self.assertRaises(quota.InvalidArgument):
            self.engine.apply_grant(Grant("g", ACME, {}))

    def test_rate_and_selector_fields_read_back(self) -> None:
        tokens = "serving.example.com/tokens"
        self.engine.create_registration(
            quota.Registration(tokens, "Organization", "rate", allowed_dimensions=["region", "tier"])
        )
        buckets = (
            GrantBucket(1000, PERIOD_SECOND, burst=2000, violation_action=ViolationAction.THROTTLE),
            GrantBucket(50_000, PERIOD_DAY, window="calendar"),
            GrantBucket(
                100,
                PERIOD_SECOND,
                match_labels={"region": "eu", "tier": "gold"},
                match_expressions=[SelectorRequirement("tier", "not_in", ["spot", "preemptible"])],
            ),
        )
        g = Grant("tokens", ACME, [Allowance(tokens, buckets)])
        self.engine.apply_grant(g)
        got = self.engine.get_grant("tokens")
        self.assertEqual(got.allowances, g.allowances)
        self.assertEqual(self.engine.list_grants(ACME)[1].allowances, g.allowances)
        self.assertIs(got.allowances[0].buckets[1].window, Window.CALENDAR)
        self.assertEqual(got.allowances[0].buckets[2].match_expressions[0].op, SelectorOp.NOT_IN)
        self.assertEqual(self.engine.apply_grant(got), 1, "what was read back applies unchanged")
        # One GrantBucket alone in the mapping form.
        self.engine.apply_grant(Grant("one", ACME, {tokens: GrantBucket(5, PERIOD_SECOND)}))
        self.assertEqual(self.engine.get_grant("one").allowances[0].buckets, (GrantBucket(5, PERIOD_SECOND),))

    def test_rate_fields_on_a_stock_type_are_refused(self) -> None:
        with self.assertRaises(quota.InvalidArgument) as cm:
            self.engine.apply_grant(Grant("g", ACME, {VCPU: GrantBucket(1, PERIOD_SECOND)}))
        self.assertIn("period_ms", cm.exception.detail)

    def test_milo_dict(self) -> None:
        gen = self.engine.apply_grant(
            {
                "apiVersion": "quota.miloapis.com/v1alpha1",
                "kind": "ResourceGrant",
                "metadata": {"name": "acme-more", "namespace": "quota-system"},
                "spec": {
                    "consumerRef": {"apiGroup": "resourcemanager.miloapis.com", "kind": "Organization", "name": "acme"},
                    "allowances": [{"resourceType": VCPU, "buckets": [{"amount": 100}, {"amount": 4}]}],
                },
            }
        )
        self.assertEqual(gen, 1)
        g = self.engine.get_grant("acme-more", "quota-system")
        self.assertEqual(g.consumer, quota.Ref.cluster("Organization", "acme", "resourcemanager.miloapis.com"))
        self.assertEqual(g.allowances[0].amounts, [100, 4])
        self.assertEqual(self.bucket().limit, 120)
