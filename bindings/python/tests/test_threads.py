"""Many threads on one engine: totals stay exact, limits hold, and every
thread reads its own error detail."""

from __future__ import annotations

import threading
import unittest
from typing import Callable

import quota
from quota import ClaimState, Registration

from .support import ACME, VCPU

THREADS = 8


def run_threads(work: Callable[[int], object]) -> list[object]:
    """Run work(t) on THREADS threads started together; re-raise failures."""
    results: list[object] = [None] * THREADS
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def body(t: int) -> None:
        try:
            start.wait()
            results[t] = work(t)
        except BaseException as err:  # reported by the main thread
            errors.append(err)

    threads = [threading.Thread(target=body, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    return results


class Threads(unittest.TestCase):
    def setUp(self) -> None:
        self.engine = quota.Engine()
        self.addCleanup(self.engine.close)
        self.engine.create_registration(Registration(VCPU, "Organization"))

    def limit(self, amount: int) -> None:
        self.engine.apply_grant(quota.Grant("g", ACME, {VCPU: amount}))

    def test_consume_give_back_totals_are_exact(self) -> None:
        self.limit(1000)
        rounds = 3000

        def work(t: int) -> tuple[int, int]:
            taken = given = 0
            for i in range(rounds):
                try:
                    self.engine.consume(ACME, VCPU, 1 + i % 3)
                    taken += 1 + i % 3
                except quota.QuotaExceeded as err:
                    self.assertEqual(err.answer.limit, 1000)
                if i % 2 and taken > given:
                    self.engine.give_back(ACME, VCPU, 1)
                    given += 1
            return taken, given

        results = run_threads(work)
        held = sum(t for t, _ in results) - sum(g for _, g in results)  # type: ignore[misc]
        b = self.engine.get_bucket(ACME, VCPU)
        self.assertEqual(b.allocated, held)
        self.assertLessEqual(b.allocated, 1000)
        self.engine.give_back(ACME, VCPU, held)
        self.assertEqual(self.engine.get_bucket(ACME, VCPU).allocated, 0)

    def test_filling_a_bucket_stops_exactly_at_the_limit(self) -> None:
        self.limit(2000)

        def work(t: int) -> int:
            n = 0
            while True:
                try:
                    self.engine.consume(ACME, VCPU, 1)
                except quota.QuotaExceeded as err:
                    self.assertEqual(err.answer.available, 0)
                    return n
                n += 1

        self.assertEqual(sum(run_threads(work)), 2000)  # type: ignore[arg-type]
        self.assertEqual(self.engine.get_bucket(ACME, VCPU).allocated, 2000)

    def test_shared_handle(self) -> None:
        self.limit(500)
        with self.engine.open_bucket(ACME, VCPU) as h:

            def work(t: int) -> int:
                n = 0
                for _ in range(2000):
                    try:
                        h.consume(1)
                        n += 1
                        h.give_back(1)
                        n -= 1
                        h.consume(1)
                        n += 1
                    except quota.QuotaExceeded:
                        pass
                return n

            self.assertEqual(sum(run_threads(work)), 500)  # type: ignore[arg-type]
        self.assertEqual(self.engine.get_bucket(ACME, VCPU).allocated, 500)

    def test_claims_are_exact(self) -> None:
        self.limit(600)

        def work(t: int) -> list[str]:
            held: list[str] = []
            i = 0
            while True:
                name = f"t{t}-{i}"
                i += 1
                claim = quota.Claim(name, ACME, {VCPU: 1}, ns="apps")
                try:
                    if i % 3 == 0:
                        self.engine.acquire(claim)
                    else:
                        with self.engine.reserve(claim) as r:
                            if i % 3 == 1:
                                r.commit()
                            # else: released at exit, capacity comes back
                except quota.QuotaExceeded:
                    return held
                if i % 3 != 2:
                    held.append(name)

        held = [n for names in run_threads(work) for n in names]  # type: ignore[union-attr]
        self.assertEqual(len(held), 600)
        b = self.engine.get_bucket(ACME, VCPU)
        self.assertEqual((b.allocated, b.reserved, b.claim_count), (600, 0, 600))
        self.assertEqual(len(list(self.engine.claims(state=ClaimState.GRANTED))), 600)

        def release(t: int) -> None:
            for name in held[t::THREADS]:
                self.engine.release(name, "apps")

        run_threads(release)
        b = self.engine.get_bucket(ACME, VCPU)
        self.assertEqual((b.allocated, b.reserved, b.claim_count), (0, 0, 0))

    def test_each_thread_reads_its_own_detail(self) -> None:
        self.limit(10**9)

        def work(t: int) -> int:
            for i in range(1500):
                name = f"missing-{t}-{i}"
                self.engine.consume(ACME, VCPU, 1)  # successes in between
                try:
                    self.engine.commit(name, "apps")
                except quota.NotFound as err:
                    self.assertEqual(err.detail, f"claim apps/{name}: not found")
                else:
                    self.fail("commit of a missing claim succeeded")
            return 0

        run_threads(work)
        self.assertEqual(self.engine.get_bucket(ACME, VCPU).allocated, THREADS * 1500)
