"""Ownership: everything the library hands out is freed. Two checks: the
resident set over 100,000 calls, and an exact count of the library's live
allocations through the allocator hook."""

from __future__ import annotations

import gc
import os
import threading
import unittest
from typing import Any, Callable

import quota
from quota import Registration, _convert

from .support import (
    ACME,
    MILO_GROUP,
    RESOURCES,
    SANITIZED,
    VCPU,
    WEB,
    AllocatorTest,
    libc,
    my_resource,
    organization,
    reference_claim_policy,
    reference_grant_policy,
    user_in,
)

CALLS_PER_ROUND = 23
TOKENS = "serving.example.com/tokens"


def setup(e: quota.Engine) -> None:
    e.create_registration(Registration(VCPU, "Organization", description="vcpus"))
    e.apply_grant(quota.Grant("g", ACME, {VCPU: 100}))
    e.set_parent(WEB, ACME)
    # Rates and a selector bucket: results with rate lists, labels and expressions.
    e.create_registration(Registration(TOKENS, "Organization", "rate", allowed_dimensions=["region"]))
    us = quota.SelectorRequirement("region", "in", ["us"])
    buckets = [
        quota.GrantBucket(quota.UNLIMITED, quota.PERIOD_SECOND),
        quota.GrantBucket(quota.UNLIMITED, quota.PERIOD_DAY, window="calendar", match_expressions=[us]),
        quota.GrantBucket(quota.UNLIMITED, quota.PERIOD_SECOND, match_labels={"region": "us"}),
    ]
    e.apply_grant(quota.Grant("t", ACME, {TOKENS: buckets}))


def one_round(e: quota.Engine, i: int) -> None:
    """CALLS_PER_ROUND calls touching every kind of returned memory."""
    e.get_registration(VCPU)
    e.list_registrations()
    e.get_grant("g")
    e.list_grants(ACME)
    e.get_bucket(ACME, VCPU)
    list(e.buckets())
    with e.reserve(quota.Claim(f"c{i % 7}", ACME, {VCPU: 1}, ns="n")) as r:
        r.commit(actual={VCPU: 1})
    e.get_claim(f"c{i % 7}", "n")  # 10 calls so far
    list(e.claims())
    e.release(f"c{i % 7}", "n")
    e.consume(ACME, VCPU, 2)
    e.give_back(ACME, VCPU, 2)
    with e.open_bucket(ACME, VCPU) as h:
        h.consume(1)
        h.give_back(1)
    e.get_parent(WEB)
    try:
        e.consume(ACME, VCPU, 1000)  # a denial: answer, detail, audit record
    except quota.QuotaExceeded:
        pass
    e.stats()
    e.rate_take(ACME, TOKENS, 5)
    e.get_bucket(ACME, TOKENS, "region=us")
    e.get_grant("t")
    if i % 10 == 0:  # the larger texts, less often
        e.prometheus()
        e.audit()


ADMISSION_CALLS_PER_ROUND = 16
REQUEST_INFO = {"verb": "create", "resource": "myresources", "apiGroup": "myservice.miloapis.com"}


def policy_setup(e: quota.Engine) -> None:
    """The reference policies, a grant policy with a parent context and a
    fail-open policy that always fails, for Organization acme."""
    org = quota.KindRef("Organization", MILO_GROUP)
    e.create_registration(Registration(RESOURCES, org, "Entity"))
    e.apply_claim_policy(reference_claim_policy())
    failing = reference_claim_policy(name="z-fails", fail_open=True, constraints=["trigger.nope"])
    e.apply_claim_policy(failing)
    parent = quota.ParentContext("Organization", "trigger.metadata.name", MILO_GROUP)
    e.apply_grant_policy(reference_grant_policy(parent_context=parent))
    e.sync_grant_policies(organization("acme", "org-acme"), "added")


def admission_round(e: quota.Engine, i: int) -> None:
    """ADMISSION_CALLS_PER_ROUND calls through every path of admit and sync."""
    name = f"r{i % 7}"
    r = e.admit(my_resource(name, name), user_in("acme"), REQUEST_INFO)  # allowed, failed open
    for c in r.claims:
        e.release(c)
    e.admit(my_resource(name, name, size="m"), user_in("acme"), dry_run=True)
    r = e.admit(my_resource(name, name), user_in("acme"), reserve_only=True, ttl_ms=1000)
    e.commit(r.claims[0])
    e.release(r.claims[0])  # 5 calls so far
    e.admit(my_resource(name, name), user_in("globex"))  # denied: no grant for globex
    e.admit(my_resource(name, name))  # no user: fails closed
    try:
        e.admit({"kind": "NoVersion"})  # not decided: no result
    except quota.InvalidArgument:
        pass
    try:
        e.admit(my_resource(name, name, deep={"a": [1, 2, {"b": object()}]}))  # no document
    except TypeError:
        pass
    e.sync_grant_policies(organization("acme", "org-acme", tier="pro"), "updated")  # 10
    e.sync_grant_policies(organization("o" + name, name), "added")
    e.sync_grant_policies(organization("o" + name, name), "deleted")
    e.get_claim_policy("myservice-resource-quota")
    e.list_grant_policies()
    try:
        e.apply_claim_policy(reference_claim_policy(constraints=["trigger.spec =="]))
    except quota.ParseError:
        pass
    e.apply_grant_policy(reference_grant_policy(disabled=bool(i % 2)))  # 16


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@unittest.skipIf(SANITIZED, "AddressSanitizer's quarantine grows the resident set by design")
@unittest.skipUnless(os.path.exists("/proc/self/statm"), "needs /proc")
class ResidentSet(unittest.TestCase):
    def assert_flat(self, prepare: Any, step: Any, calls: int, per_step: int) -> None:
        with quota.Engine(released_retention_ms=0) as e:
            prepare(e)
            for i in range(300):
                step(e, i)
            before = rss_bytes()
            for i in range(calls // per_step):
                step(e, i)
            growth = rss_bytes() - before
        # One leaked result (or document) per call would be several megabytes.
        self.assertLess(growth, 2 * 1024 * 1024, f"grew by {growth} bytes")

    def test_100000_calls_do_not_grow(self) -> None:
        self.assert_flat(setup, one_round, 100_000, CALLS_PER_ROUND)

    def test_50000_admission_calls_do_not_grow(self) -> None:
        self.assert_flat(policy_setup, admission_round, 50_000, ADMISSION_CALLS_PER_ROUND)


class CountingAllocator(AllocatorTest):
    """Counts the blocks the library holds, exactly."""

    def setUp(self) -> None:
        self.live: set[int] = set()
        self.foreign: list[int] = []  # freed but never allocated (or freed twice)
        self.lock = threading.Lock()
        super().setUp()

    def malloc(self, n: int) -> int:
        p = libc.malloc(n)
        with self.lock:
            self.live.add(p)
        return p

    def free(self, p: int) -> None:
        with self.lock:
            if p in self.live:
                self.live.remove(p)
            else:
                self.foreign.append(p)
                return
        libc.free(p)


class LiveAllocations(CountingAllocator):
    def rounds(self, prepare: Any, step: Any, n: int) -> quota.Engine:
        """An engine on which n rounds, after 50 to warm up, hold no more blocks."""
        e = quota.Engine(released_retention_ms=0, on_event=lambda ev: None)
        prepare(e)
        for i in range(50):
            step(e, i)
        held = len(self.live)
        for i in range(50, 50 + n):
            step(e, i)
        self.assertEqual(len(self.live), held, "calls returned memory that was not freed")
        return e

    def assert_all_freed(self, e: quota.Engine) -> None:
        e.close()
        self.assertEqual(self.live, set(), "the engine left allocations behind")
        self.assertEqual(self.foreign, [])

    def test_results_are_freed_exactly(self) -> None:
        e = self.rounds(setup, one_round, 500)
        # Handles and iterators left open are freed by the engine's close.
        e.open_bucket(ACME, VCPU)
        next(e.buckets())
        e.claims()
        self.assert_all_freed(e)

    def test_admissions_and_documents_are_freed_exactly(self) -> None:
        self.assert_all_freed(self.rounds(policy_setup, admission_round, 300))


class ConvertedInputs(unittest.TestCase):
    """A converted input keeps every buffer it points to alive (ctypes
    keeps them in the struct), so nothing is freed before the C call."""

    def churn(self) -> None:
        gc.collect()
        junk = [bytes([i % 251]) * 48 for i in range(20_000)]  # reuse freed memory
        del junk

    def test_grant_selector_buffers(self) -> None:
        expr = quota.SelectorRequirement("tier", "in", ["gold", "silver"])
        bucket = quota.GrantBucket(3, match_labels={"region": "us"}, match_expressions=[expr])
        c = _convert.c_grant(quota.Grant("g", ACME, {TOKENS: bucket}))
        del expr, bucket
        self.churn()
        b = c.allowances[0].buckets[0]
        self.assertEqual((b.match_labels[0].key, b.match_labels[0].value), (b"region", b"us"))
        x = b.match_expressions[0]
        self.assertEqual((x.key, x.op, x.value_count), (b"tier", 1, 2))
        self.assertEqual([x.values[0], x.values[1]], [b"gold", b"silver"])

    def test_claim_dimension_buffers(self) -> None:
        req = quota.Request(TOKENS, 1, {"region": "us", "tier": "gold"})
        c = _convert.c_claim(quota.Claim("c", ACME, [req]))
        del req
        self.churn()
        r = c.requests[0]
        dims = [(r.dimensions[i].key, r.dimensions[i].value) for i in range(r.dimension_count)]
        self.assertEqual(dims, [(b"region", b"us"), (b"tier", b"gold")])


class AllocationFailures(CountingAllocator):
    """Each allocation of an admission (documents included) and of a grant
    policy sync fails in turn: NoMemory, nothing leaked, nothing changed;
    or the call gets through with the answer it gets without failures."""

    def setUp(self) -> None:
        self.fail_after = -1  # allocations left before one fails; -1: none fails
        super().setUp()

    def malloc(self, n: int) -> int:
        with self.lock:
            if self.fail_after == 0:
                return 0
            if self.fail_after > 0:
                self.fail_after -= 1
        return super().malloc(n)

    def sweep(self, call: Any, undo: Any, state: Any) -> int:
        """call() with the k-th allocation failing, k = 0, 1, ... until it
        needs fewer; returns how many ended in NoMemory."""
        want = call()
        undo(want)
        held, before = len(self.live), state()
        failures = 0
        for k in range(10_000):
            self.fail_after = k
            try:
                got = call()
            except quota.NoMemory:
                self.fail_after = -1
                failures += 1
                self.assertEqual((len(self.live), state()), (held, before), f"failing {k}")
                continue
            left, self.fail_after = self.fail_after, -1
            self.assertEqual(got, want, f"failing allocation {k}")
            undo(got)
            self.assertEqual((len(self.live), state()), (held, before), f"failing {k}")
            if left > 0:
                return failures
        self.fail("the sweep did not end")

    def test_admit(self) -> None:
        with quota.Engine(released_retention_ms=0) as e:
            policy_setup(e)
            e.admit(my_resource("x", "x"), user_in("globex"))  # the audit ring: made now

            def undo(r: quota.AdmissionResult) -> None:
                for c in r.claims:
                    e.release(c)

            def nothing(r: quota.AdmissionResult) -> None:
                pass

            def usage() -> Any:
                return e.get_bucket(quota.Ref.cluster("Organization", "acme"), RESOURCES)

            def admit(**kw: Any) -> Callable[[], quota.AdmissionResult]:
                obj = my_resource("f", "f", labels={"a": [1, 2.5, None, True]})
                return lambda: e.admit(obj, user_in("acme"), REQUEST_INFO, **kw)

            self.assertGreater(self.sweep(admit(), undo, usage), 20)
            self.assertGreater(self.sweep(admit(dry_run=True), nothing, usage), 20)
            self.assertGreater(self.sweep(admit(reserve_only=True), undo, usage), 20)
            denied = lambda: e.admit(my_resource("g", "g"), user_in("globex"))  # noqa: E731
            self.assertGreater(self.sweep(denied, nothing, usage), 20)

    def test_sync(self) -> None:
        with quota.Engine(released_retention_ms=0) as e:
            policy_setup(e)
            beta = organization("beta", "b", tier="pro")

            def sync() -> list[quota.GrantChange]:
                return e.sync_grant_policies(beta, "added")

            def undo(changes: Any) -> None:
                e.sync_grant_policies(beta, "deleted")

            self.assertGreater(self.sweep(sync, undo, e.list_grants), 10)
