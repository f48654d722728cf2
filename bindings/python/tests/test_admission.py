"""Admission (Pattern 1) through the bindings: the reference example and
its 403 denial, constraints, dry runs, two-phase creates, idempotent
retries, failing closed and open, conflicts, rate limits, bad
admissions, events and threads (tests/test-admission.c)."""

from __future__ import annotations

import dataclasses
import re
import threading
import unittest
from typing import Any, Optional

import quota
from quota import AdmitOutcome, errors

from .support import (
    MILO_ACME,
    MILO_PROJECTS,
    RESOURCES,
    PolicyTest,
    my_resource,
    reference_claim_policy,
    trigger,
    user_in,
)

REQUEST_INFO = {
    "verb": "create",
    "resource": "myresources",
    "apiGroup": "myservice.miloapis.com",
    "namespace": "default",
}
DENIED_R3 = (
    'myresources.myservice.miloapis.com "r3" is forbidden: You\'ve reached your quota for this '
    "resource type (myservice.miloapis.com/resources): requested 1, available 0, limit 2"
)
ALLOWED, DENIED = AdmitOutcome.ALLOWED, AdmitOutcome.DENIED
# generated names: the prefix and 12 of Kubernetes' consonants and digits
GENERATED = re.compile(r"myresource-claim-[bcdfghjklmnpqrstvwxz2456789]{12}")


def k_with_metadata(meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "K", "metadata": meta}


class AdmissionTest(PolicyTest):
    """The reference engine: acme may hold 2 resources, and the reference
    claim policy is applied."""

    def setUp(self) -> None:
        super().setUp()
        self.grant(2)
        self.engine.apply_claim_policy(reference_claim_policy())

    def admit(
        self, name: Optional[str], uid: Optional[str] = None, org: str = "acme", **kw: Any
    ) -> quota.AdmissionResult:
        return self.engine.admit(my_resource(name, uid), user_in(org), **kw)

    def state(self, c: quota.Claim) -> quota.ClaimState:
        return self.engine.get_claim(c).state  # type: ignore[return-value]


class Pattern1(AdmissionTest):
    def test_reference_example(self) -> None:
        r = self.admit("r1", "uid-1", request_info=REQUEST_INFO)
        self.assertEqual((r.allowed, r.outcome, r.code), (True, AdmitOutcome.ALLOWED, 0))
        self.assertEqual((r.message, r.policy), ("", ""))
        self.assertIsNone(r.error())
        self.assertIs(r.raise_if_denied(), r)
        self.assertEqual(len(r.claims), 1)
        c = r.claims[0]
        self.assertRegex(c.name, GENERATED)
        self.assertEqual(c.ns, "default")
        self.assertEqual(c.consumer, MILO_ACME)
        r1 = quota.Ref("MyResource", "default", "r1", "myservice.miloapis.com")
        self.assertEqual(c.resource, r1)
        self.assertEqual(c.requests, (quota.Request("myservice.miloapis.com/resources", 1),))
        self.assertEqual(self.state(c), quota.ClaimState.GRANTED)
        self.assertEqual(r.answer.state, quota.ClaimState.GRANTED)
        self.admit("r2", "uid-2", request_info=REQUEST_INFO)
        self.assertEqual(self.usage(), (2, 2, 0, 0))

        # the third is denied, 403-style, and nothing is charged: an answer, not an exception
        r = self.admit("r3", "uid-3", request_info=REQUEST_INFO)
        self.assertEqual((r.allowed, r.outcome, r.code), (False, DENIED, errors.ERR_EXCEEDED))
        self.assertEqual(r.message, DENIED_R3)
        self.assertEqual(quota.last_error(), DENIED_R3)
        self.assertEqual(r.policy, "myservice-resource-quota")
        self.assertEqual((r.answer.binding_claim, r.answer.binding_request), (0, 0))
        self.assertEqual(r.answer.bucket, "Organization//acme:myservice.miloapis.com/resources")
        self.assertEqual((r.answer.requested, r.answer.available, r.answer.limit), (1, 0, 2))
        with self.assertRaises(quota.NotFound):
            self.engine.get_claim(r.claims[0])
        self.assertEqual(self.usage(), (2, 2, 0, 0))
        with self.assertRaises(quota.QuotaExceeded) as cm:
            r.raise_if_denied()
        self.assertEqual(cm.exception.detail, DENIED_R3)
        self.assertEqual(cm.exception.answer, r.answer)
        self.assertIsInstance(r.error(), quota.QuotaExceeded)

        # without requestInfo: the kind lower-cased and the apiVersion's group
        r = self.admit("r4", "uid-4")
        self.assertTrue(
            r.message.startswith(
                'myresource.myservice.miloapis.com "r4" is forbidden: You\'ve reached your quota'
            )
        )
        # another organization has no grant
        globex = self.admit("r5", "uid-5", "globex")
        self.assertIn("requested 1, available 0, limit 0", globex.message)

        # the object r1 is deleted: release its claim by the name admission gave
        first = self.admit("r1", "uid-1")
        self.assertTrue(first.answer.existed)
        self.engine.release(first.claims[0])
        self.assertTrue(self.admit("r3", "uid-3").allowed)
        self.assertEqual(self.usage(), (2, 2, 0, 0))

    def test_core_group_message(self) -> None:
        pods = reference_claim_policy(name="pods", trigger=("v1", "Pod"))
        pods = dataclasses.replace(
            pods,
            claim=dataclasses.replace(
                pods.claim,
                name="{{trigger.metadata.name}}-quota",
                generate_name=None,
                consumer=quota.Ref("Organization", None, "acme"),
            ),
        )
        self.engine.apply_claim_policy(pods)
        self.engine.delete_grant("acme-myservice-quota")
        pod = trigger("v1", "Pod", "web", "api-0")
        r = self.engine.admit(pod)
        self.assertTrue(r.message.startswith('pod "api-0" is forbidden: '), r.message)
        self.assertEqual(r.claims[0].name, "api-0-quota")
        self.assertIsNone(r.claims[0].resource.api_group)  # type: ignore[union-attr]
        r = self.engine.admit(pod, request_info={"resource": "pods", "apiGroup": ""})
        self.assertTrue(r.message.startswith('pods "api-0" is forbidden: '), r.message)

    def test_no_policy_applies(self) -> None:
        other = trigger("myservice.miloapis.com/v1alpha1", "Other", "default", "o", "u1")
        r = self.engine.admit(other, user_in("acme"))
        self.assertEqual((r.allowed, r.outcome, r.claims), (True, AdmitOutcome.NO_POLICY, ()))
        self.assertEqual(r.answer.binding_claim, -1)
        # a constraint that does not hold: the policy does not apply, no denial
        large = reference_claim_policy(constraints=[("trigger.spec.size == 'l'", "large only")])
        self.engine.apply_claim_policy(large)
        for i in range(5):
            self.assertEqual(self.admit(f"s{i}", f"s{i}").outcome, AdmitOutcome.NO_POLICY)
        self.assertEqual(self.usage(), (2, 0, 0, 2))
        # a disabled policy is never evaluated
        self.engine.apply_claim_policy(
            reference_claim_policy(constraints=["trigger.no.such.thing"], disabled=True)
        )
        self.assertEqual(self.admit("d1", "d1").outcome, AdmitOutcome.NO_POLICY)

    def test_user_and_request_info_are_variables(self) -> None:
        self.engine.apply_claim_policy(
            reference_claim_policy(
                constraints=[
                    "user.username.startsWith('a')",
                    "requestInfo == null || requestInfo.verb == 'create'",
                ]
            )
        )
        self.assertEqual(self.admit("a", "a").outcome, AdmitOutcome.ALLOWED)
        bob = {"username": "bob", "extra": {"iam.miloapis.com/parent-name": ["acme"]}}
        r = self.engine.admit(my_resource("b", "b"), bob)
        self.assertEqual(r.outcome, AdmitOutcome.NO_POLICY)
        r = self.admit("c", "c", request_info={"verb": "update"})
        self.assertEqual(r.outcome, AdmitOutcome.NO_POLICY)

    def test_policies_share_one_claim_set(self) -> None:
        self.grant(1, "acme-projects", MILO_PROJECTS)
        projects = reference_claim_policy(name="b-projects")
        projects = dataclasses.replace(
            projects,
            claim=dataclasses.replace(
                projects.claim, generate_name="project-claim-", requests={MILO_PROJECTS: 1}
            ),
        )
        self.engine.apply_claim_policy(projects)
        self.engine.apply_claim_policy(reference_claim_policy(name="a-resources"))
        r = self.admit("one", "one")
        self.assertEqual([c.name[:8] for c in r.claims], ["myresour", "project-", "myresour"])
        self.assertNotEqual(r.claims[0].name, r.claims[2].name)  # each policy its own suffix
        self.assertEqual(self.usage(), (2, 2, 0, 0))
        r = self.admit("two", "two")
        self.assertEqual((r.outcome, r.answer.binding_claim, r.policy), (DENIED, 0, "a-resources"))
        self.assertEqual(self.usage(MILO_PROJECTS), (1, 1, 0, 0))


class Modes(AdmissionTest):
    def setUp(self) -> None:
        self.clock = quota.ManualClock()
        self.engine_options = {"clock": self.clock}
        super().setUp()

    def test_dry_run(self) -> None:
        for _ in range(3):
            r = self.admit("d", "d", dry_run=True)
            self.assertEqual((r.allowed, r.outcome, len(r.claims)), (True, ALLOWED, 1))
            with self.assertRaises(quota.NotFound):
                self.engine.get_claim(r.claims[0])
        self.assertEqual(self.usage(), (2, 0, 0, 2))
        self.grant(0)
        r = self.admit("d", "d", dry_run=True)
        self.assertEqual((r.allowed, r.outcome, r.code), (False, DENIED, errors.ERR_EXCEEDED))
        self.assertEqual(self.usage(), (0, 0, 0, 0))

    def test_two_phase_create(self) -> None:
        r = self.admit("p1", "p1", reserve_only=True, ttl_ms=1000)
        self.assertEqual(r.answer.state, quota.ClaimState.RESERVED)
        self.assertEqual(self.state(r.claims[0]), quota.ClaimState.RESERVED)
        self.assertEqual(self.usage(), (2, 0, 1, 1))
        # a retry of the reservation holds nothing more
        again = self.admit("p1", "p1", reserve_only=True, ttl_ms=1000)
        self.assertTrue(again.answer.existed)
        self.assertEqual(again.claims[0].name, r.claims[0].name)
        self.assertEqual(self.usage(), (2, 0, 1, 1))
        # the object was created: commit by the names the admission returned
        for c in r.claims:
            self.engine.commit(c)
        self.assertEqual(self.usage(), (2, 1, 0, 1))
        # the next create fails after admission: release
        r = self.admit("p2", "p2", reserve_only=True, ttl_ms=1000)
        self.assertEqual(self.usage(), (2, 1, 1, 0))
        for c in r.claims:
            self.engine.release(c.name, c.ns)
        self.assertEqual(self.usage(), (2, 1, 0, 1))
        # one nobody commits expires with its TTL
        self.admit("p2", "p2", reserve_only=True, ttl_ms=1000)
        self.assertEqual(self.usage(), (2, 1, 1, 0))
        self.clock.advance(ms=1001)
        self.assertEqual(self.engine.tick(), 1)
        self.assertEqual(self.usage(), (2, 1, 0, 1))

    def test_idempotent_retry(self) -> None:
        names = set()
        for i in range(4):
            r = self.admit("x", "uid-x")
            self.assertEqual((r.outcome, r.answer.existed), (AdmitOutcome.ALLOWED, i > 0))
            names.add(r.claims[0].name)
            self.assertEqual(self.usage(), (2, 1, 0, 1))
        self.assertEqual(len(names), 1)
        # the retry also passes when the bucket is full meanwhile
        self.admit("y", "uid-y")
        r = self.admit("x", "uid-x")
        self.assertTrue(r.allowed and r.answer.existed)
        self.assertEqual(self.usage(), (2, 2, 0, 0))
        # a recreated object (same name, new uid) is a new claim
        self.grant(10)
        r = self.admit("x", "uid-x2")
        self.assertNotIn(r.claims[0].name, names)
        self.assertEqual(self.usage(), (10, 3, 0, 7))
        # neither uid nor name: a generated name cannot be stable
        r = self.admit(None, None)
        self.assertEqual((r.outcome, r.code), (AdmitOutcome.FAILED_CLOSED, errors.ERR_EVAL))
        self.assertIn("generateName needs a stable suffix", r.message)

    def test_fail_closed_and_open(self) -> None:
        team = reference_claim_policy(name="z-team")
        team = dataclasses.replace(
            team,
            claim=dataclasses.replace(
                team.claim,
                generate_name="team-",
                consumer=quota.Ref("Organization", None, "{{ user.extra['team'][0] }}"),
            ),
        )
        self.engine.apply_claim_policy(team)
        r = self.admit("f1", "f1")
        self.assertEqual(
            (r.allowed, r.outcome, r.code, r.policy),
            (False, AdmitOutcome.FAILED_CLOSED, errors.ERR_EVAL, "z-team"),
        )
        self.assertIn(
            "is forbidden: the quota policy failed: policy z-team: "
            "target.resourceClaimTemplate.spec.consumerRef.name: column ",
            r.message,
        )
        self.assertIn("no such key 'team'", r.message)
        self.assertEqual(len(r.claims), 1)  # the reference policy's, not charged
        with self.assertRaises(quota.EvalError) as cm:
            r.raise_if_denied()
        self.assertEqual(cm.exception.detail, r.message)
        self.assertEqual(self.usage(), (2, 0, 0, 2))

        # the same policy failing open is left out; the other claim is charged
        self.engine.apply_claim_policy(dataclasses.replace(team, fail_open=True))
        r = self.admit("f1", "f1")
        self.assertEqual(
            (r.allowed, r.outcome, r.code, r.policy),
            (True, AdmitOutcome.FAILED_OPEN, 0, "z-team"),
        )
        self.assertTrue(
            r.message.startswith(
                "the quota policy failed and was left out (fail open): policy z-team: "
            )
        )
        self.assertIsNone(r.error())
        self.assertEqual(self.usage(), (2, 1, 0, 1))
        # a denial still wins over a policy that failed open
        self.admit("f2", "f2")
        self.assertEqual(self.admit("f3", "f3").outcome, AdmitOutcome.DENIED)

    def test_conflict(self) -> None:
        by_name = reference_claim_policy()
        by_name = dataclasses.replace(
            by_name,
            claim=dataclasses.replace(
                by_name.claim, name="{{ trigger.metadata.name }}", generate_name=None
            ),
        )
        self.engine.apply_claim_policy(by_name)
        self.engine.acquire(quota.Claim("taken", MILO_ACME, {RESOURCES: 2}, ns="default"))
        r = self.admit("taken", "t")
        self.assertEqual((r.outcome, r.code), (AdmitOutcome.DENIED, errors.ERR_CONFLICT))
        self.assertIn(
            "is forbidden: quota claim default/taken exists with a different spec", r.message
        )
        self.assertIsInstance(r.error(), quota.Conflict)

    def test_rate_limited(self) -> None:
        rate = "myservice.miloapis.com/creations"
        self.engine.create_registration(quota.Registration(rate, "Organization", "rate"))
        one_a_second = quota.GrantBucket(1, quota.PERIOD_SECOND)
        self.engine.apply_grant(quota.Grant("acme-rate", MILO_ACME, {rate: one_a_second}))
        p = reference_claim_policy()
        p = dataclasses.replace(p, claim=dataclasses.replace(p.claim, requests={rate: 1}))
        self.engine.apply_claim_policy(p)
        self.assertTrue(self.admit("a", "a").allowed)
        r = self.admit("b", "b")
        self.assertEqual((r.outcome, r.code), (AdmitOutcome.DENIED, errors.ERR_RATE_LIMITED))
        self.assertIn(
            "You've reached your rate limit for this resource type "
            "(myservice.miloapis.com/creations): requested 1, available 0 of 1 per 1000 ms; "
            "retry after 1000 ms",
            r.message,
        )
        with self.assertRaises(quota.RateLimited) as cm:
            r.raise_if_denied()
        self.assertEqual(cm.exception.retry_after, 1.0)
        self.clock.advance(ms=1000)
        self.assertTrue(self.admit("b", "b").allowed)


class BadAdmissions(AdmissionTest):
    """An admission that cannot be decided raises, with the C detail."""

    def test_bad_triggers(self) -> None:
        cases = [
            ([1], "trigger: must be a map"),
            (None, "trigger: must be a map"),
            ({"kind": "MyResource"}, "trigger.apiVersion"),
            ({"apiVersion": "v1", "kind": 3}, "trigger.kind: must be a string"),
            ({"apiVersion": "v1", "kind": ""}, "trigger.kind"),
            ({"apiVersion": "v1", "kind": "K", "metadata": 1}, "trigger.metadata"),
            (k_with_metadata({"name": 1}), "trigger.metadata.name"),
            (k_with_metadata({"uid": "a\nb"}), "trigger.metadata.uid"),
        ]
        for value, field in cases:
            with self.subTest(field=field):
                with self.assertRaises(quota.InvalidArgument) as cm:
                    self.engine.admit(value)  # type: ignore[arg-type]
                self.assertIn(field, cm.exception.detail)

    def test_bad_arguments(self) -> None:
        with self.assertRaises(quota.InvalidArgument) as cm:
            self.admit("b", "b", dry_run=True, reserve_only=True)
        self.assertIn("admission.flags", cm.exception.detail)
        with self.assertRaises(quota.InvalidArgument) as cm:
            self.admit("b", "b", reserve_only=True, ttl_ms=-1)
        self.assertIn("admission.ttl_ms", cm.exception.detail)
        # refused before the library: no document for these
        with self.assertRaises(quota.InvalidArgument) as cm:
            self.engine.admit(my_resource("b", "b", replicas=1 << 64))
        want = f"trigger.spec.replicas: {1 << 64} is outside the int64 range"
        self.assertEqual(cm.exception.detail, want)
        with self.assertRaises(TypeError):
            self.engine.admit(my_resource("b", "b"), user={"groups": {"a", "b"}})
        with self.assertRaises(quota.InvalidArgument):
            self.admit("b", "b", ttl_ms=1 << 63)
        self.assertEqual(self.usage(), (2, 0, 0, 2))
        self.engine.close()
        with self.assertRaises(quota.WrongState):
            self.admit("b", "b")


class Observed(AdmissionTest):
    def setUp(self) -> None:
        self.events: list[quota.Event] = []
        self.engine_options = {"on_event": self.events.append}
        super().setUp()

    def test_events_and_counters(self) -> None:
        r = self.admit("e", "e")
        self.assertEqual(
            [(ev.type, ev.name) for ev in self.events],
            [(quota.EventType.GRANTED, r.claims[0].name)],
        )
        self.admit("f", "f")
        self.admit("g", "g")  # denied
        self.admit("h", "h", dry_run=True)  # not counted
        self.engine.admit(my_resource("i", "i"))  # no user: fails closed
        text = self.engine.prometheus()
        for result, n in (("allowed", 2), ("denied", 1), ("failed_closed", 1), ("no_policy", 0)):
            self.assertIn(f'quota_admissions_total{{result="{result}"}} {n}\n', text)


class Threads(PolicyTest):
    def test_eight_threads_never_admit_past_the_limit(self) -> None:
        self.grant(100)
        self.engine.apply_claim_policy(reference_claim_policy())
        allowed: list[int] = []
        failures: list[BaseException] = []

        def work(t: int) -> None:
            try:
                n = 0
                for i in range(50):
                    r = self.engine.admit(my_resource(f"t{t}-{i}", f"t{t}-{i}"), user_in("acme"))
                    n += r.allowed
                    if not r.allowed:
                        self.assertEqual(r.code, errors.ERR_EXCEEDED)
                allowed.append(n)
            except BaseException as err:  # noqa: B902 - reported below
                failures.append(err)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(failures, [])
        self.assertEqual(sum(allowed), 100)
        self.assertEqual(self.usage(), (100, 100, 0, 0))


if __name__ == "__main__":
    unittest.main()
