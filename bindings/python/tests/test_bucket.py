"""Buckets: get, iterate, consume, give back, observed usage, handles."""

from __future__ import annotations

import gc
import math

import quota
from quota import BucketFlag, Registration

from .support import ACME, RAM, VCPU, WEB, EngineTest

OTHER = quota.Consumer.cluster("Organization", "other")


class Buckets(EngineTest):
    def test_get_unused_pair_reads_the_default(self) -> None:
        b = self.engine.get_bucket(OTHER, VCPU)
        self.assertEqual((b.limit, b.allocated, b.available), (0, 0, 0))
        self.assertTrue(b.flags & BucketFlag.DEFAULT_LIMIT)
        self.assertEqual(b.consumer, OTHER)
        self.assertEqual(b.resource_type, VCPU)

    def test_consume_and_give_back(self) -> None:
        a = self.engine.consume(ACME, VCPU, 5)
        self.assertEqual((a.status, a.state, a.flags), (0, 0, quota.AnswerFlag.NONE))
        b = self.bucket()
        self.assertEqual((b.limit, b.allocated, b.reserved, b.available), (16, 5, 0, 11))
        self.engine.give_back(ACME, VCPU, 5)
        self.assertEqual(self.bucket().allocated, 0)
        with self.assertRaises(quota.InvalidArgument):
            self.engine.give_back(ACME, VCPU, 1)
        with self.assertRaises(quota.QuotaExceeded) as cm:
            self.engine.consume(ACME, VCPU, 17)
        self.assertEqual(cm.exception.answer.available, 16)

    def test_warn_mode_allows_and_flags(self) -> None:
        self.engine.update_registration(Registration(VCPU, "Organization", enforcement="warn"))
        a = self.engine.consume(ACME, VCPU, 20)
        self.assertTrue(a.warned)
        self.assertEqual(a.bucket, f"Organization//acme:{VCPU}")
        b = self.bucket()
        self.assertTrue(b.flags & BucketFlag.OVER_LIMIT)
        self.assertEqual(b.available, 0)
        self.assertEqual(self.engine.stats().warnings, 1)

    def test_utilization(self) -> None:
        self.assertEqual((self.bucket().utilization_ppm, self.bucket().utilization), (0, 0.0))
        self.engine.consume(ACME, VCPU, 4)
        self.engine.reserve(self.claim("r", 2))
        self.assertEqual((self.bucket().utilization_ppm, self.bucket().utilization), (375_000, 0.375))
        self.engine.apply_grant(quota.Grant("acme-compute", ACME, {VCPU: 4, RAM: quota.UNLIMITED}))
        self.assertEqual(self.bucket().utilization, 1.5, "over a lowered limit")
        self.assertEqual((self.bucket(RAM).utilization_ppm, self.bucket(RAM).utilization), (-1, None))
        self.engine.delete_grant("acme-compute")  # usage against a limit of 0
        self.assertEqual(self.bucket().utilization, math.inf)
        self.assertEqual(self.bucket().selector, "", "a base bucket")

    def test_observe_usage(self) -> None:
        self.engine.consume(ACME, VCPU, 2)
        self.engine.observe_usage(ACME, VCPU, 10)
        b = self.bucket()
        self.assertTrue(b.flags & BucketFlag.OBSERVED)
        self.assertEqual((b.observed, b.drift, b.available), (10, 8, 6))
        with self.assertRaises(quota.QuotaExceeded):
            self.engine.consume(ACME, VCPU, 7)
        with self.assertRaises(quota.InvalidArgument):
            self.engine.observe_usage(ACME, VCPU, -1)

    def test_iterate_with_filters(self) -> None:
        self.engine.apply_grant(quota.Grant("other", OTHER, {VCPU: 1}))
        every = {(b.consumer.name, b.resource_type) for b in self.engine.buckets()}
        self.assertEqual(every, {("acme", VCPU), ("acme", RAM), ("other", VCPU)})
        self.assertEqual({b.resource_type for b in self.engine.buckets(ACME)}, {VCPU, RAM})
        self.assertEqual({b.consumer.name for b in self.engine.buckets(resource_type=VCPU)}, {"acme", "other"})
        self.assertEqual(list(self.engine.buckets(WEB)), [])

    def test_iterator_lifetime(self) -> None:
        it = self.engine.buckets()
        self.assertFalse(it.closed)
        next(it)
        it.close()
        it.close()
        self.assertTrue(it.closed)
        self.assertEqual(list(it), [])
        with self.engine.buckets() as it2:
            self.assertEqual(len(list(it2)), 2)
            self.assertTrue(it2.closed, "exhausted iterators free themselves")
        # A dropped iterator is freed at the next open (not by its finaliser).
        next(self.engine.buckets())
        gc.collect()
        self.assertEqual(len(self.engine._graveyard), 1)
        self.engine.buckets().close()
        self.assertEqual(len(self.engine._graveyard), 0)
        self.assertEqual(self.engine._owned, {})


class Handles(EngineTest):
    def test_consume_and_give_back(self) -> None:
        with self.engine.open_bucket(ACME, VCPU) as h:
            for _ in range(16):
                h.consume(1)
            with self.assertRaises(quota.QuotaExceeded) as cm:
                h.consume(1)
            self.assertEqual(cm.exception.answer.available, 0)
            self.assertEqual(self.bucket().allocated, 16)
            h.give_back(16)
            with self.assertRaises(quota.InvalidArgument):
                h.give_back(1)
        self.assertTrue(h.closed)
        with self.assertRaises(quota.WrongState):
            h.consume(1)
        h.close()

    def test_open_handle_keeps_the_type(self) -> None:
        self.engine.create_registration(Registration("a/b", "Organization", default_limit=3))
        h = self.engine.open_bucket(ACME, "a/b")
        with self.assertRaises(quota.InUse):
            self.engine.delete_registration("a/b")
        h.close()
        self.engine.delete_registration("a/b")

    def test_open_refused(self) -> None:
        with self.assertRaises(quota.Unregistered):
            self.engine.open_bucket(ACME, "x/y")
        with self.assertRaises(quota.NotAllowed):
            self.engine.open_bucket(WEB, VCPU)

    def test_engine_close_closes_handles(self) -> None:
        h = self.engine.open_bucket(ACME, VCPU)
        it = self.engine.claims()
        self.engine.close()
        self.assertTrue(h.closed)
        self.assertTrue(it.closed)
        with self.assertRaises(quota.WrongState):
            h.consume(1)
        with self.assertRaises(quota.WrongState):
            self.engine.open_bucket(ACME, VCPU)
        h.close()
        del h, it
        gc.collect()

    def test_dropped_handle_is_reaped(self) -> None:
        self.engine.create_registration(Registration("a/b", "Organization", default_limit=3))
        self.engine.open_bucket(ACME, "a/b").consume(1)
        gc.collect()
        self.engine.give_back(ACME, "a/b", 1)
        self.engine.open_bucket(ACME, VCPU).close()  # reaps the dropped one
        self.engine.delete_registration("a/b")
