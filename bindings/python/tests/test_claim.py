"""Claims: reserve, acquire, check, commit with settlement, release,
resize, get, iterate; the queue; TTLs; the Reservation context manager."""

from __future__ import annotations

import quota
from quota import ClaimFlag, ClaimState, Claim, KindRef, Registration

from .support import ACME, RAM, VCPU, WEB, EngineTest


class Claims(EngineTest):
    def test_reserve_commit_release(self) -> None:
        r = self.engine.reserve(Claim("web-1", ACME, {VCPU: 4, RAM: 8}, ns="apps"))
        self.assertEqual(r.answer.state, ClaimState.RESERVED)
        self.assertEqual((r.name, r.ns), ("web-1", "apps"))
        self.assertEqual((self.bucket().reserved, self.bucket().reserved_count), (4, 1))
        info = self.engine.get_claim("web-1", "apps")
        self.assertEqual(info.state, ClaimState.RESERVED)
        self.assertEqual([(a.resource_type, a.requested, a.amount) for a in info.allocations], [(VCPU, 4, 4), (RAM, 8, 8)])
        self.assertEqual(info.allocations[0].bucket, f"Organization//acme:{VCPU}")
        self.assertEqual(info.consumer, ACME)
        self.assertIsNone(info.resource)
        self.engine.commit("web-1", "apps", actual={VCPU: 3})
        info = r.info()
        self.assertEqual(info.state, ClaimState.GRANTED)
        self.assertEqual([a.amount for a in info.allocations], [3, 8])
        self.assertEqual((self.bucket().allocated, self.bucket().reserved), (3, 0))
        self.engine.commit("web-1", "apps")  # a granted claim: no-op
        self.engine.release(info)  # anything with .name and .ns works
        self.assertEqual(self.engine.get_claim("web-1", "apps").state, ClaimState.RELEASED)
        self.assertEqual(self.bucket().allocated, 0)
        self.engine.release("web-1", "apps")  # released: no-op

    def test_settlement_must_fit_the_reservation(self) -> None:
        self.engine.reserve(self.claim("s", 4))
        with self.assertRaises(quota.InvalidArgument):
            self.engine.commit("s", actual={VCPU: 5})
        with self.assertRaises(quota.InvalidArgument):
            self.engine.commit("s", actual=[quota.Request(RAM, 1)])
        self.engine.commit("s", actual=[(VCPU, 0)])
        self.assertEqual(self.bucket().allocated, 0)

    def test_acquire_and_idempotency(self) -> None:
        a = self.engine.acquire(self.claim("a", 2))
        self.assertEqual((a.state, a.existed), (ClaimState.GRANTED, False))
        again = self.engine.acquire(self.claim("a", 2))
        self.assertTrue(again.existed)
        self.assertEqual(self.bucket().allocated, 2, "never charged twice")
        r = self.engine.reserve(self.claim("a", 2))
        self.assertTrue(r.answer.existed)
        self.assertTrue(r.settled, "an existing granted claim counts as committed")
        with self.assertRaises(quota.Conflict):
            self.engine.reserve(self.claim("a", 3))

    def test_check_changes_nothing(self) -> None:
        a = self.engine.check(self.claim("c", 16))
        self.assertEqual(a.status, 0)
        self.assertEqual(self.bucket().allocated, 0)
        with self.assertRaises(quota.NotFound):
            self.engine.get_claim("c")
        with self.assertRaises(quota.QuotaExceeded) as cm:
            self.engine.check(self.claim("c", 17))
        self.assertEqual(cm.exception.answer.requested, 17)
        self.assertEqual(self.engine.stats().decisions, 2)

    def test_resize(self) -> None:
        self.engine.acquire(self.claim("r", 4))
        self.engine.resize("r", {VCPU: 10})
        self.assertEqual(self.bucket().allocated, 10)
        with self.assertRaises(quota.QuotaExceeded) as cm:
            self.engine.resize("r", [quota.Request(VCPU, 17)])
        self.assertEqual(cm.exception.answer.binding_request, 0)
        self.engine.resize("r", {VCPU: 1})
        self.assertEqual(self.bucket().allocated, 1)
        self.engine.reserve(self.claim("only-reserved", 1))
        with self.assertRaises(quota.WrongState):
            self.engine.resize("only-reserved", {VCPU: 2})
        with self.assertRaises(quota.NotFound):
            self.engine.resize("nope", {VCPU: 2})

    def test_iterate(self) -> None:
        self.engine.acquire(self.claim("g1"))
        self.engine.acquire(self.claim("g2"))
        self.engine.reserve(self.claim("r1"))
        self.assertEqual({c.name for c in self.engine.claims()}, {"g1", "g2", "r1"})
        self.assertEqual({c.name for c in self.engine.claims(state=ClaimState.GRANTED)}, {"g1", "g2"})
        self.assertEqual({c.name for c in self.engine.claims(ACME, ClaimState.RESERVED)}, {"r1"})
        self.assertEqual(list(self.engine.claims(quota.Consumer.cluster("Organization", "x"))), [])
        with self.assertRaises(quota.InvalidArgument):
            self.engine.claims(state=9)  # type: ignore[arg-type]

    def test_resource_refs_and_the_allow_list(self) -> None:
        self.engine.create_registration(
            Registration("a/vms", "Organization", default_limit=5, claiming_resources=[KindRef("Instance")])
        )
        vm = quota.Ref("Instance", "apps", "vm-1")
        self.engine.acquire(Claim("vm-1", ACME, {"a/vms": 1}, resource=vm))
        self.assertEqual(self.engine.get_claim("vm-1").resource, vm)
        with self.assertRaises(quota.NotAllowed) as cm:
            self.engine.acquire(Claim("disk", ACME, {"a/vms": 1}, resource=("Disk", "apps", "d")))
        self.assertEqual(cm.exception.answer.status, -8)

    def test_queue(self) -> None:
        self.engine.acquire(self.claim("big", 16))
        a = self.engine.reserve(self.claim("waits", 4, flags=ClaimFlag.QUEUE | ClaimFlag.AUTO_COMMIT)).answer
        self.assertTrue(a.queued)
        self.assertEqual(a.state, ClaimState.PENDING)
        self.assertEqual(self.bucket().pending, 1)
        with self.assertRaises(quota.WrongState):
            self.engine.commit("waits")
        self.engine.release("big")
        self.assertEqual(self.engine.get_claim("waits").state, ClaimState.GRANTED)
        self.assertEqual(self.engine.stats().admitted_from_queue, 1)

    def test_ttl_expiry_with_a_manual_clock(self) -> None:
        clock = quota.ManualClock()
        with quota.Engine(clock=clock) as e:
            e.create_registration(Registration(VCPU, "Organization", default_limit=4))
            e.reserve(self.claim("t", 4, ttl_ms=1000))
            self.assertEqual(e.now(), clock.ns)
            self.assertEqual(e.get_claim("t").expires_ns, clock.ns + 1_000_000_000)
            clock.advance(ms=999)
            self.assertEqual(e.tick(), 0)
            clock.advance(ms=1)
            self.assertEqual(e.tick(), 1)
            self.assertEqual(e.get_bucket(ACME, VCPU).reserved, 0)
            with self.assertRaises(quota.WrongState) as cm:
                e.commit("t")
            self.assertIn("expired", cm.exception.detail)
            e.reserve(self.claim("t2", 1, ttl_ms=10))
            self.assertEqual(e.tick(clock.ns + 10_000_000), 1, "tick at an explicit time")

    def test_queue_deadline(self) -> None:
        clock = quota.ManualClock()
        with quota.Engine(clock=clock) as e:
            e.create_registration(Registration(VCPU, "Organization", default_limit=1))
            e.acquire(self.claim("holder"))
            a = e.reserve(self.claim("waits", flags=ClaimFlag.QUEUE, queue_timeout_ms=50)).answer
            self.assertEqual(a.state, ClaimState.PENDING)
            self.assertEqual(e.get_claim("waits").expires_ns, clock.ns + 50_000_000)
            clock.advance(ms=50)
            self.assertEqual(e.tick(), 1)
            with self.assertRaises(quota.WrongState) as cm:
                e.commit("waits")
            self.assertIn("queue deadline", cm.exception.detail)
            self.assertEqual(e.stats().expired, 1)

    def test_claim_from_milo_dict(self) -> None:
        obj = {
            "metadata": {"name": "instance-1", "namespace": "apps"},
            "spec": {
                "consumerRef": {"kind": "Organization", "name": "acme"},
                "resourceRef": {"kind": "Instance", "name": "web-1", "namespace": "apps"},
                "requests": [{"resourceType": VCPU, "amount": 2}],
            },
        }
        with self.engine.reserve(obj) as r:
            r.commit()
        info = self.engine.get_claim("instance-1", "apps")
        self.assertEqual(info.resource, quota.Ref("Instance", "apps", "web-1"))
        self.assertEqual(self.engine.acquire(obj).existed, True)

    def test_claim_normalises_inputs(self) -> None:
        c = Claim("n", ("Project", "acme", "web"), [(VCPU, 1)], ns="", flags=1)
        self.assertEqual(c.consumer, WEB)
        self.assertIsNone(c.ns)
        self.assertEqual(c.requests, (quota.Request(VCPU, 1),))
        self.assertEqual(c.flags, ClaimFlag.QUEUE)
        with self.assertRaises(TypeError):
            Claim("n", ["Project", "web"], {VCPU: 1})  # type: ignore[arg-type]


class ReservationContext(EngineTest):
    def test_committed_is_kept(self) -> None:
        with self.engine.reserve(self.claim("k", 4)) as r:
            r.commit()
        self.assertEqual(self.engine.get_claim("k").state, ClaimState.GRANTED)
        self.assertEqual(self.bucket().allocated, 4)

    def test_not_committed_is_released(self) -> None:
        with self.engine.reserve(self.claim("k", 4)) as r:
            self.assertEqual(self.bucket().reserved, 4)
        self.assertTrue(r.settled)
        self.assertEqual(self.engine.get_claim("k").state, ClaimState.RELEASED)
        self.assertEqual(self.bucket().reserved, 0)

    def test_exception_releases_and_propagates(self) -> None:
        with self.assertRaises(RuntimeError):
            with self.engine.reserve(self.claim("k", 4)):
                raise RuntimeError("provisioning failed")
        self.assertEqual(self.engine.get_claim("k").state, ClaimState.RELEASED)
        self.assertEqual(self.bucket().reserved, 0)

    def test_released_inside_is_not_released_again(self) -> None:
        with self.engine.reserve(self.claim("k", 4)) as r:
            r.release()
        self.assertEqual(self.engine.stats().released, 1)

    def test_denied_reserve_holds_nothing(self) -> None:
        with self.assertRaises(quota.QuotaExceeded):
            with self.engine.reserve(self.claim("k", 17)):
                self.fail("not reached")
        self.assertEqual(self.bucket().reserved, 0)

    def test_release_failure_at_exit_does_not_mask_the_block_error(self) -> None:
        r = self.engine.reserve(self.claim("k", 1))
        self.engine.close()  # release at exit will fail: engine is closed
        with self.assertLogs("quota", "ERROR"):
            with self.assertRaises(KeyError):
                with r:
                    raise KeyError("original")
        r2 = quota.Reservation(self.engine, self.claim("k2"), r.answer)
        with self.assertRaises(quota.WrongState):
            with r2:
                pass
