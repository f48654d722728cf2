"""The engine: options, lifetime, clock, hierarchy, counters, metrics,
audit; the library itself (loading, version, features)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import unittest
import weakref
from pathlib import Path

import quota
from quota import Registration

from .support import ACME, VCPU, WEB, EngineTest

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


class Library(unittest.TestCase):
    def test_version_and_features(self) -> None:
        v = quota.version()
        self.assertEqual((v.major, v.minor), (0, 1))
        self.assertEqual(v.text, f"{v.major}.{v.minor}.{v.patch}")
        self.assertTrue(quota.features() & quota.Feature.THREADS)
        self.assertTrue(os.path.exists(quota.library_path))

    def test_version_check(self) -> None:
        from quota import _lib

        class Fake:
            def __init__(self, v: int) -> None:
                self.quota_version = lambda: v

        _lib._check_version(Fake(0x000100), "ok")  # type: ignore[arg-type]
        _lib._check_version(Fake(0x000203), "newer minor")  # type: ignore[arg-type]
        for v in (0x010100, 0x000009):
            with self.assertRaises(ImportError) as cm:
                _lib._check_version(Fake(v), "/x/libquota.so.1")  # type: ignore[arg-type]
            self.assertIn("/x/libquota.so.1 is libquota", str(cm.exception))

    def _import_with(self, library: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, QUOTA_LIBRARY=library, PYTHONPATH=str(PACKAGE_ROOT))
        return subprocess.run(
            [sys.executable, "-c", "import quota; print(quota.library_path)"],
            env=env, capture_output=True, text=True, timeout=60,
        )

    def test_quota_library_is_honoured(self) -> None:
        out = self._import_with(quota.library_path)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), quota.library_path)
        bad = self._import_with("/nonexistent/libquota.so.1")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("ImportError: quota: cannot load libquota", bad.stderr)
        self.assertIn("QUOTA_LIBRARY", bad.stderr)


class Lifetime(unittest.TestCase):
    def test_close_is_idempotent_and_final(self) -> None:
        e = quota.Engine()
        self.assertFalse(e.closed)
        e.close()
        e.close()
        self.assertTrue(e.closed)
        self.assertIn("closed", repr(e))
        with self.assertRaises(quota.WrongState):
            e.stats()

    def test_context_manager_closes_on_exception(self) -> None:
        with self.assertRaises(ZeroDivisionError):
            with quota.Engine() as e:
                1 / 0
        self.assertTrue(e.closed)

    def test_dropped_engine_is_freed(self) -> None:
        e = quota.Engine(on_event=lambda ev: None, clock=quota.ManualClock())
        ref = weakref.ref(e)
        del e
        gc.collect()
        self.assertIsNone(ref())

    def test_options(self) -> None:
        for stripes in (1, 2, 65536):
            quota.Engine(stripes=stripes).close()
        for bad in (3, 65537 * 2, -1, 1 << 40):
            with self.assertRaises(quota.InvalidArgument, msg=bad):
                quota.Engine(stripes=bad)
        with self.assertRaises(quota.InvalidArgument):
            quota.Engine(released_retention_ms=-1)
        with self.assertRaises(quota.InvalidArgument):
            quota.Engine(hash_key=(1, 1 << 64))
        with self.assertRaises(quota.InvalidArgument):
            quota.Engine(hash_key=(1, 2, 3))  # type: ignore[arg-type]
        with quota.Engine(hash_key=(1, 2), released_retention_ms=0) as e:
            e.create_registration(Registration(VCPU, "Organization", default_limit=1))
            e.acquire(quota.Claim("c", ACME, {VCPU: 1}))
            e.release("c")
            with self.assertRaises(quota.NotFound, msg="retention 0 forgets at once"):
                e.get_claim("c")

    def test_default_retention_remembers(self) -> None:
        with quota.Engine() as e:
            e.create_registration(Registration(VCPU, "Organization", default_limit=1))
            e.acquire(quota.Claim("c", ACME, {VCPU: 1}))
            e.release("c")
            self.assertEqual(e.get_claim("c").state, quota.ClaimState.RELEASED)


class Clock(unittest.TestCase):
    def test_manual_clock(self) -> None:
        clock = quota.ManualClock(5_000_000_000)
        with quota.Engine(clock=clock) as e:
            self.assertEqual(e.now(), 5_000_000_000)
            clock.advance(seconds=1.5)
            self.assertEqual(e.now(), 6_500_000_000)
            clock.ns = 1  # going back: the engine keeps the latest time it saw
            self.assertEqual(e.now(), 6_500_000_000)

    def test_exception_in_the_clock_is_contained(self) -> None:
        ticks = iter([7_000_000_000])

        def clock() -> int:
            return next(ticks)  # StopIteration on the second call

        with quota.Engine(clock=clock) as e:
            self.assertEqual(e.now(), 7_000_000_000)
            with self.assertLogs("quota", "ERROR") as logs:
                self.assertEqual(e.now(), 7_000_000_000, "0 from a failing clock: time stands")
            self.assertIn("clock", logs.output[0])
            self.assertIsInstance(e.callback_errors[-1], StopIteration)

    def test_real_time_by_default(self) -> None:
        import time

        with quota.Engine() as e:
            self.assertLess(abs(e.now() - time.time_ns()), 10 * 1_000_000_000)


class Hierarchy(EngineTest):
    def test_set_and_get_parent(self) -> None:
        self.assertIsNone(self.engine.get_parent(WEB))
        self.engine.set_parent(WEB, ACME)
        self.assertEqual(self.engine.get_parent(WEB), ACME)
        self.engine.set_parent(("Project", "acme", "web"), ("Organization", "acme"))
        self.engine.set_parent(WEB, None)
        self.assertIsNone(self.engine.get_parent(WEB))

    def test_cycle_and_in_use(self) -> None:
        self.engine.set_parent(WEB, ACME)
        with self.assertRaises(quota.InvalidArgument) as cm:
            self.engine.set_parent(ACME, WEB)
        self.assertIn("cycle", cm.exception.detail)
        self.engine.create_registration(Registration("p/vcpus", "Project", default_limit=8))
        self.engine.apply_grant(quota.Grant("org-cap", ACME, {"p/vcpus": 3}))
        self.engine.consume(WEB, "p/vcpus", 2)
        with self.assertRaises(quota.QuotaExceeded) as denied:
            self.engine.consume(WEB, "p/vcpus", 2)
        self.assertEqual(denied.exception.answer.bucket, "Organization//acme:p/vcpus")
        with self.assertRaises(quota.InUse):
            self.engine.set_parent(WEB, None)


class Observability(EngineTest):
    def test_stats(self) -> None:
        self.engine.acquire(self.claim("a", 16))
        with self.assertRaises(quota.QuotaExceeded):
            self.engine.acquire(self.claim("b", 1))
        self.engine.release("a")
        s = self.engine.stats()
        self.assertEqual((s.decisions, s.allowed, s.denied_exceeded, s.released), (2, 1, 1, 1))
        self.assertEqual(s.queued + s.expired + s.dequeued + s.warnings, 0)

    def test_prometheus(self) -> None:
        self.engine.consume(ACME, VCPU, 3)
        text = self.engine.prometheus()
        self.assertIn("# TYPE quota_decisions_total counter", text)
        self.assertIn(
            'quota_bucket_allocated{consumer_kind="Organization",consumer_namespace="",'
            f'consumer_name="acme",resource_type="{VCPU}"}} 3',
            text,
        )
        self.assertTrue(text.endswith("\n"))

    def test_audit(self) -> None:
        self.assertEqual(self.engine.audit(), [])
        for i in range(3):
            with self.assertRaises(quota.QuotaExceeded):
                self.engine.acquire(quota.Claim(f"d{i}", ACME, {VCPU: 17 + i}, ns="apps"))
        with self.assertRaises(quota.QuotaExceeded):
            self.engine.consume(ACME, VCPU, 99)
        log = self.engine.audit()
        self.assertEqual([d.seq for d in log], [1, 2, 3, 4])
        self.assertEqual([d.requested for d in log], [17, 18, 19, 99])
        self.assertEqual(log[0].claim, "apps/d0")
        self.assertEqual(log[3].claim, "")
        self.assertEqual(log[0].status, -6)
        self.assertEqual(log[0].bucket, f"Organization//acme:{VCPU}")
        self.assertIn("requested 17", log[0].message)
