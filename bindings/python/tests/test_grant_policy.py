"""Grant policies through the bindings: grants made when a trigger is
added, kept up to date, moved between tiers and removed when it is
deleted; ownership, conflicts, evaluation errors and parent contexts
(tests/test-grant-policy.c)."""

from __future__ import annotations

import dataclasses
import unittest
from typing import Any

import quota
from quota import GrantChange, ParentContext, TriggerEvent

from .support import (
    MILO_ACME,
    MILO_GROUP,
    MILO_PROJECTS,
    MILO_V1,
    RESOURCES,
    PolicyTest,
    my_resource,
    organization,
    reference_claim_policy,
    reference_grant_policy,
    trigger,
    user_in,
)

ADDED, UPDATED, DELETED = TriggerEvent.ADDED, TriggerEvent.UPDATED, TriggerEvent.DELETED


def tier_policy(tier: str, amount: int, grant_name: str) -> quota.GrantPolicy:
    constraint = (f"trigger.spec.tier == '{tier}'", f"{tier} tier")
    p = reference_grant_policy(name=f"tier-{tier}", constraints=[constraint])
    return dataclasses.replace(
        p, grant=dataclasses.replace(p.grant, name=grant_name, allowances={RESOURCES: amount})
    )


def zz_broken(
    grant_name: str = "{{trigger.metadata.name}}-x",
    consumer_name: str = "{{trigger.metadata.name}}",
    **changes: Any,
) -> quota.GrantPolicy:
    """A second policy for Organizations, sorted after the reference one."""
    p = reference_grant_policy(name="zz-broken", **changes)
    consumer = dataclasses.replace(p.grant.consumer, name=consumer_name)
    template = dataclasses.replace(p.grant, name=grant_name, consumer=consumer)
    return dataclasses.replace(p, grant=template)


class GrantPolicyTest(PolicyTest):
    def sync(
        self, event: Any, name: str = "acme", uid: str = "u", **spec: Any
    ) -> list[GrantChange]:
        return self.engine.sync_grant_policies(organization(name, uid, **spec), event)

    def amount(self, name: str) -> int:
        return self.engine.get_grant(name).allowances[0].amounts[0]

    def grant_names(self) -> list[str]:
        return [g.name for g in self.engine.list_grants()]


class ReferenceOrganization(GrantPolicyTest):
    def test_lifecycle(self) -> None:
        e = self.engine
        e.apply_grant_policy(reference_grant_policy())
        e.apply_claim_policy(reference_claim_policy())
        self.assertEqual(self.usage(), (0, 0, 0, 0))

        # the Organization is created: its grant appears
        changes = self.sync(ADDED, uid="org-uid-1")
        self.assertEqual(
            changes,
            [GrantChange("myservice-default-grant", "acme-myservice-quota", None, False, 1)],
        )
        got = e.get_grant("acme-myservice-quota")
        self.assertEqual(got.consumer, MILO_ACME)
        self.assertEqual(got.allowances[0].resource_type, RESOURCES)
        self.assertEqual(self.usage(), (100, 0, 0, 100))
        # Pattern 1 now admits against it
        self.assertTrue(e.admit(my_resource("r1", "r1"), user_in("acme")).allowed)
        self.assertEqual(self.usage(), (100, 1, 0, 99))

        # an update that changes nothing keeps the grant as it is
        self.assertEqual(self.sync(UPDATED, uid="org-uid-1")[0].generation, 1)
        # the policy's amount changes: the next sync applies it
        p = reference_grant_policy()
        more = dataclasses.replace(p.grant, allowances={RESOURCES: 150})
        e.apply_grant_policy(dataclasses.replace(p, grant=more))
        self.assertEqual(self.usage(), (100, 1, 0, 99))
        self.assertEqual(self.sync("updated", uid="org-uid-1")[0].generation, 2)
        self.assertEqual(self.usage(), (150, 1, 0, 149))

        # the Organization is deleted: its grant goes; the claim stays, over the limit
        changes = self.sync(DELETED, uid="org-uid-1")
        self.assertEqual(
            changes,
            [GrantChange("myservice-default-grant", "acme-myservice-quota", None, True, 0)],
        )
        with self.assertRaises(quota.NotFound):
            e.get_grant("acme-myservice-quota")
        self.assertEqual(self.usage(), (0, 1, 0, 0))
        self.assertEqual(self.sync(DELETED, uid="org-uid-1"), [])  # nothing left to do
        self.assertEqual(e.list_grants(), [])

    def test_milo_dicts_end_to_end(self) -> None:
        from .test_policy import CLAIM_POLICY_DICT, GRANT_POLICY_DICT

        self.engine.apply_grant_policy(GRANT_POLICY_DICT)
        self.engine.apply_claim_policy(CLAIM_POLICY_DICT)
        (change,) = self.sync("Added", name="acme", uid="org-1")
        self.assertEqual(change.parent, quota.Ref.cluster("Organization", "acme", MILO_GROUP))
        r = self.engine.admit(my_resource("r", "r"), user_in("acme"))
        self.assertEqual((r.allowed, self.usage()), (True, (100, 1, 0, 99)))


class Tiers(GrantPolicyTest):
    def test_upgrade_moves_the_grant_in_one_change(self) -> None:
        self.engine.apply_grant_policy(tier_policy("free", 5, "{{trigger.metadata.name}}-free"))
        self.engine.apply_grant_policy(tier_policy("pro", 100, "{{trigger.metadata.name}}-pro"))
        self.assertEqual([c.name for c in self.sync(ADDED, tier="free")], ["acme-free"])
        self.assertEqual(self.usage(), (5, 0, 0, 5))
        self.assertEqual(self.amount("acme-free"), 5)

        changes = self.sync(UPDATED, tier="pro")
        self.assertEqual(
            [(c.policy, c.name, c.removed) for c in changes],
            [("tier-pro", "acme-pro", False), ("tier-free", "acme-free", True)],
        )
        self.assertEqual(self.usage(), (100, 0, 0, 100))
        self.assertEqual(self.grant_names(), ["acme-pro"])
        # use 20, then downgrade: the limit drops, nothing is revoked
        self.engine.consume(MILO_ACME, RESOURCES, 20)
        self.sync(UPDATED, tier="free")
        self.assertEqual(self.usage(), (5, 20, 0, 0))
        # a tier no policy knows: no grant at all
        changes = self.sync(UPDATED, tier="gold")
        self.assertEqual([(c.name, c.removed) for c in changes], [("acme-free", True)])
        self.assertEqual(self.engine.list_grants(), [])

    def test_one_grant_name_in_both_tiers(self) -> None:
        self.engine.apply_grant_policy(tier_policy("free", 5, "{{trigger.metadata.name}}-quota"))
        self.engine.apply_grant_policy(tier_policy("pro", 100, "{{trigger.metadata.name}}-quota"))
        self.sync(ADDED, tier="free")
        (c,) = self.sync(UPDATED, tier="pro")
        self.assertEqual((c.policy, c.removed, c.generation), ("tier-pro", False, 2))
        self.assertEqual(self.amount("acme-quota"), 100)
        (c,) = self.sync(DELETED, tier="pro")
        self.assertEqual((c.policy, c.removed), ("tier-pro", True))
        self.assertEqual(self.engine.list_grants(), [])

    def test_several_policies_add_up(self) -> None:
        def named(name: str, rt: str, amount: int) -> quota.GrantPolicy:
            p = reference_grant_policy(name=name)
            template = dataclasses.replace(
                p.grant, name="{{trigger.metadata.name}}-" + name, allowances={rt: amount}
            )
            return dataclasses.replace(p, grant=template)

        self.engine.apply_grant_policy(reference_grant_policy())
        self.engine.apply_grant_policy(named("addon", RESOURCES, 25))
        self.engine.apply_grant_policy(named("projects", MILO_PROJECTS, 3))
        changes = self.sync(ADDED)
        policies = [c.policy for c in changes]
        self.assertEqual(policies, ["addon", "myservice-default-grant", "projects"])
        self.assertEqual(self.usage(), (125, 0, 0, 125))
        self.assertEqual(self.usage(MILO_PROJECTS), (3, 0, 0, 3))
        bucket = self.engine.get_bucket(MILO_ACME, RESOURCES)
        self.assertEqual((bucket.grant_count, bucket.observed_generation), (2, 1))  # one change
        self.assertEqual(len(self.sync(DELETED)), 3)
        self.assertEqual((self.usage(), self.usage(MILO_PROJECTS)), ((0, 0, 0, 0), (0, 0, 0, 0)))


class Removal(GrantPolicyTest):
    def test_disabled_and_deleted_policies_take_nothing_back(self) -> None:
        paid = reference_grant_policy(constraints=["trigger.metadata.labels.plan == 'paid'"])
        self.engine.apply_grant_policy(paid)

        def org(plan: str) -> dict[str, Any]:
            o = organization("acme", "u")
            o["metadata"]["labels"] = {"plan": plan}
            return o

        self.engine.sync_grant_policies(org("paid"), ADDED)
        self.assertEqual(self.usage(), (100, 0, 0, 100))
        # the constraint stops holding: the grant goes, and comes back
        self.engine.sync_grant_policies(org("trial"), UPDATED)
        self.assertEqual(self.usage(), (0, 0, 0, 0))
        self.engine.sync_grant_policies(org("paid"), UPDATED)
        # disabled: its grant stays, even when the constraint would not hold
        self.engine.apply_grant_policy(dataclasses.replace(paid, disabled=True))
        self.assertEqual(self.engine.sync_grant_policies(org("trial"), UPDATED), [])
        self.assertEqual(self.usage(), (100, 0, 0, 100))
        # deleted: the same; the object's deletion still removes the grant
        self.engine.delete_grant_policy(paid.name)
        self.engine.sync_grant_policies(org("trial"), UPDATED)
        self.assertEqual(self.usage(), (100, 0, 0, 100))
        (c,) = self.engine.sync_grant_policies(org("trial"), DELETED)
        self.assertEqual((c.removed, c.policy), (True, "myservice-default-grant"))
        self.assertEqual(self.usage(), (0, 0, 0, 0))

    def test_identity_without_uid(self) -> None:
        self.engine.apply_grant_policy(reference_grant_policy())
        self.engine.sync_grant_policies(organization("acme"), ADDED)
        self.assertEqual(self.grant_names(), ["acme-myservice-quota"])
        # another version of the same object is the same object
        v1 = trigger(MILO_GROUP + "/v1", "Organization", "", "acme")
        self.engine.sync_grant_policies(v1, DELETED)
        self.assertEqual(self.grant_names(), [])
        with self.assertRaises(quota.InvalidArgument) as cm:
            self.engine.sync_grant_policies(organization(None), ADDED)
        self.assertIn("trigger.metadata", cm.exception.detail)


class Failures(GrantPolicyTest):
    """A sync that fails raises with the C detail, naming the policy, and
    changes nothing."""

    def assert_refused(self, exc: type, detail: str, **kw: Any) -> None:
        """Adding acme (sync's keywords) raises exc, with detail; no grant changes."""
        before = self.engine.list_grants()
        with self.assertRaises(exc) as cm:
            self.sync(ADDED, **kw)
        self.assertIs(type(cm.exception), exc)
        self.assertIn(detail, cm.exception.detail)
        self.assertEqual(self.engine.list_grants(), before)

    def test_ownership_and_conflicts(self) -> None:
        self.engine.apply_grant_policy(reference_grant_policy())
        self.grant(7)  # the host's grant of the name the policy renders
        self.assert_refused(
            quota.Conflict, "grant /acme-myservice-quota exists and was made by the host"
        )
        self.assertEqual(self.amount("acme-myservice-quota"), 7)
        self.engine.delete_grant("acme-myservice-quota")
        self.sync(ADDED)
        self.assertEqual(self.amount("acme-myservice-quota"), 100)
        # two objects that render one grant: the second is a conflict
        self.assert_refused(quota.Conflict, "exists and was made for another object", uid="u2")
        self.sync(DELETED, uid="u2")  # takes nothing of the first's
        self.assertEqual(self.amount("acme-myservice-quota"), 100)
        self.sync(DELETED)
        # two policies that render one grant for one object
        self.engine.apply_grant_policy(reference_grant_policy(name="another"))
        self.assert_refused(
            quota.Conflict,
            "policies another and myservice-default-grant both render grant /acme-myservice-quota",
        )
        self.assertEqual(self.engine.list_grants(), [])

    def test_evaluation_errors(self) -> None:
        self.engine.apply_grant_policy(reference_grant_policy())
        cases = [
            (
                zz_broken(constraints=[("trigger.spec.tier == 'pro'", "pro tier")]),
                quota.EvalError,
                "policy zz-broken: trigger.constraints[0].expression (pro tier): column",
            ),
            (  # a template that fails
                zz_broken("{{trigger.spec.name}}"),
                quota.EvalError,
                "policy zz-broken: target.resourceGrantTemplate.metadata.name: column",
            ),
            (  # a rendered grant that is not valid
                zz_broken(consumer_name="{{trigger.metadata.namespace}}"),
                quota.InvalidArgument,
                "policy zz-broken: the grant it renders: grant.consumerRef.name",
            ),
            (  # a nameExpression that yields no string
                zz_broken(parent_context=ParentContext("Organization", "size(trigger.kind)")),
                quota.EvalError,
                "policy zz-broken: target.parentContext.nameExpression",
            ),
        ]
        for policy, exc, detail in cases:
            with self.subTest(detail=detail):
                self.engine.apply_grant_policy(policy)
                self.assert_refused(exc, detail, size="s")
                self.assertEqual(self.engine.list_grants(), [])
        # a registration that went away after the policy was applied
        self.engine.delete_grant_policy("zz-broken")
        gone = "gone.example.com/things"
        self.engine.create_registration(quota.Registration(gone, "Organization"))
        p = reference_grant_policy(name="gone")
        self.engine.apply_grant_policy(
            dataclasses.replace(
                p,
                grant=quota.GrantTemplate(
                    "{{trigger.metadata.name}}-gone",
                    quota.Ref("Organization", None, "{{trigger.metadata.name}}"),
                    {gone: 1},
                ),
            )
        )
        self.engine.delete_registration(gone)
        self.assert_refused(
            quota.Unregistered,
            "policy gone: the grant it renders: grant.allowances[0].resourceType",
        )
        self.assertEqual(self.engine.list_grants(), [])
        self.assertEqual(self.sync(DELETED), [])  # the deletion needs no evaluation

    def test_bad_arguments(self) -> None:
        acme = organization("acme", "u")
        for event in (0, 4):
            with self.assertRaises(quota.InvalidArgument) as cm:
                self.engine.sync_grant_policies(acme, event)
            self.assertIn("event", cm.exception.detail)
        with self.assertRaises(ValueError):
            self.engine.sync_grant_policies(acme, "created")
        with self.assertRaises(quota.InvalidArgument) as cm:
            self.engine.sync_grant_policies({"kind": "Organization"}, ADDED)
        self.assertIn("trigger.apiVersion", cm.exception.detail)
        self.assertEqual(self.engine.sync_grant_policies(acme, ADDED), [])  # no policy for it


class Parents(GrantPolicyTest):
    def test_parent_context_is_reported(self) -> None:
        workloads = "projects.example.com/workloads"
        self.engine.create_registration(quota.Registration(workloads, "Project"))
        self.engine.apply_grant_policy(
            quota.GrantPolicy(
                "project-workloads",
                (MILO_V1, "Project"),
                quota.GrantTemplate(
                    "{{trigger.metadata.name}}-workloads",
                    quota.Ref("Project", "{{trigger.spec.parent}}", "{{trigger.metadata.name}}"),
                    {workloads: 10},
                    ns="{{trigger.spec.parent}}",
                ),
                parent_context=ParentContext("Organization", "trigger.spec.parent", MILO_GROUP),
            )
        )
        project = trigger(MILO_V1, "Project", "", "web", "p1", {"parent": "acme"})
        (c,) = self.engine.sync_grant_policies(project, ADDED)
        self.assertEqual((c.ns, c.name), ("acme", "web-workloads"))
        self.assertEqual(c.parent, quota.Ref("Organization", None, "acme", MILO_GROUP))
        web = quota.Ref("Project", "acme", "web")
        self.assertEqual(self.engine.get_bucket(web, workloads).limit, 10)
        (c,) = self.engine.sync_grant_policies(project, DELETED)
        self.assertEqual((c.removed, c.parent), (True, None))


if __name__ == "__main__":
    unittest.main()
