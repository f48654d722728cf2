"""Every status code maps to its exception; each code the C API can
produce today is produced here by a real call."""

from __future__ import annotations

import math
import pickle
import unittest

import quota
from quota import errors

from .support import ACME, RAM, VCPU, WEB, AllocatorTest, EngineTest, libc

INT64_MAX = (1 << 63) - 1

EXPECTED = {
    -1: quota.InvalidArgument,
    -2: quota.NoMemory,
    -3: quota.NotFound,
    -4: quota.AlreadyExists,
    -5: quota.Conflict,
    -6: quota.QuotaExceeded,
    -7: quota.Unregistered,
    -8: quota.NotAllowed,
    -9: quota.RateLimited,
    -10: quota.InUse,
    -11: quota.WrongState,
    -12: quota.ParseError,
    -13: quota.EvalError,
    -14: quota.QuotaIOError,
    -15: quota.Corrupt,
    -16: quota.Unsupported,
    -17: quota.Overflow,
    -18: quota.InternalError,
}


class MappingTable(unittest.TestCase):
    def test_every_code_has_its_class(self) -> None:
        self.assertEqual(quota.ERRORS, EXPECTED)
        for code, cls in EXPECTED.items():
            err = quota.error_for(code, "detail text")
            self.assertIs(type(err), cls)
            self.assertIsInstance(err, quota.QuotaError)
            self.assertEqual(err.code, code)
            self.assertEqual(cls.code, code)
            self.assertEqual(err.detail, "detail text")
            self.assertIsNone(err.answer)
            self.assertEqual(str(err), f"{quota.strerror(code)}: detail text")

    def test_codes_match_the_library_names(self) -> None:
        for code in EXPECTED:
            self.assertNotEqual(quota.strerror(code), "unknown status", code)
        self.assertEqual(quota.strerror(-6), "quota exceeded")
        self.assertEqual(quota.strerror(errors.ITER_DONE), "iteration done")

    def test_unknown_codes_give_the_base_class(self) -> None:
        for code in (-19, -99, -1000, 7):
            err = quota.error_for(code, "x")
            self.assertIs(type(err), quota.QuotaError)
            self.assertEqual(err.code, code)
            self.assertEqual(str(err), "unknown status: x")

    def test_python_bases(self) -> None:
        self.assertTrue(issubclass(quota.InvalidArgument, ValueError))
        self.assertTrue(issubclass(quota.NoMemory, MemoryError))
        self.assertTrue(issubclass(quota.NotFound, LookupError))
        self.assertFalse(issubclass(quota.QuotaIOError, OSError))

    def test_rate_limited_retry_after_comes_from_the_answer(self) -> None:
        self.assertIsNone(quota.error_for(-9, "").retry_after)
        self.assertIsNone(quota.RateLimited("r").retry_after_ms)
        answer = quota.Answer(-9, 0, quota.AnswerFlag.THROTTLED, -1, 3, 0, 10, "b", 1000, 250, 900)
        err = quota.error_for(-9, "r", answer)
        self.assertEqual((err.retry_after_ms, err.retry_after), (250, 0.25))
        back = pickle.loads(pickle.dumps(err))
        self.assertEqual((back.retry_after_ms, back.retry_after, back.answer), (250, 0.25, answer))
        never = quota.RateLimited("r", answer=quota.Answer(-9, 0, 0, -1, 3, 0, 0, "b", 1000, -1, 0))
        self.assertEqual((never.retry_after_ms, never.retry_after), (-1, math.inf))

    def test_constructors_and_pickling(self) -> None:
        err = quota.NotFound("claim /x: not found")
        self.assertEqual(err.code, -3)
        back = pickle.loads(pickle.dumps(err))
        self.assertIs(type(back), quota.NotFound)
        self.assertEqual((back.code, back.detail), (-3, "claim /x: not found"))
        odd = pickle.loads(pickle.dumps(quota.error_for(-77, "odd")))
        self.assertEqual((type(odd), odd.code), (quota.QuotaError, -77))

    def test_last_error_is_never_none(self) -> None:
        self.assertIsInstance(quota.last_error(), str)


class RealCalls(EngineTest):
    """One real call per code the library returns today."""

    def assertRaisesCode(self, cls: type, fn, *args, **kw):  # type: ignore[no-untyped-def]
        with self.assertRaises(cls) as cm:
            fn(*args, **kw)
        err = cm.exception
        self.assertIs(type(err), cls)
        self.assertEqual(err.code, cls.code)
        self.assertTrue(err.detail, "the detail must come from quota_last_error()")
        return err

    def test_invalid(self) -> None:
        err = self.assertRaisesCode(
            quota.InvalidArgument, self.engine.acquire, self.claim("bad", amount=0)
        )
        self.assertIn("amount", err.detail)
        self.assertEqual(err.answer.status, -1)
        err = self.assertRaisesCode(quota.InvalidArgument, self.engine.tick, -5)
        self.assertIn("now_ns", err.detail)
        with self.assertRaises(quota.InvalidArgument):
            quota.Engine(stripes=3)

    def test_invalid_caught_by_the_binding(self) -> None:
        # ctypes would truncate at the NUL and wrap the int: refused first.
        err = self.assertRaisesCode(
            quota.InvalidArgument, self.engine.get_registration, "compute\0evil"
        )
        self.assertIn("NUL", err.detail)
        err = self.assertRaisesCode(
            quota.InvalidArgument, self.engine.consume, ACME, VCPU, 1 << 64
        )
        self.assertIn("int64", err.detail)
        self.assertRaisesCode(quota.InvalidArgument, self.engine.get_registration, "\udc80")
        with self.assertRaises(TypeError):
            self.engine.get_registration(42)  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            self.engine.consume(ACME, VCPU, 1.5)  # type: ignore[arg-type]
        self.assertEqual(self.bucket().allocated, 0)

    def test_not_found(self) -> None:
        self.assertRaisesCode(quota.NotFound, self.engine.get_registration, "nope")
        self.assertRaisesCode(quota.NotFound, self.engine.delete_grant, "nope")
        self.assertRaisesCode(quota.NotFound, self.engine.get_claim, "nope", "ns")
        err = self.assertRaisesCode(quota.NotFound, self.engine.give_back, ("Organization", "zed"), VCPU, 1)
        self.assertIn("zed", err.detail)

    def test_conflict(self) -> None:
        err = self.assertRaisesCode(
            quota.Conflict,
            self.engine.create_registration,
            quota.Registration(VCPU, "Project"),
        )
        self.assertIn(VCPU, err.detail)
        self.engine.acquire(self.claim("c1", 1))
        self.assertRaisesCode(quota.Conflict, self.engine.acquire, self.claim("c1", 2))

    def test_exceeded_carries_the_answer(self) -> None:
        err = self.assertRaisesCode(
            quota.QuotaExceeded,
            self.engine.acquire,
            quota.Claim("big", ACME, {RAM: 1, VCPU: 17}),
        )
        a = err.answer
        self.assertEqual(a.status, -6)
        self.assertEqual(a.binding_request, 1)
        self.assertEqual((a.requested, a.available, a.limit), (17, 16, 16))
        self.assertEqual(a.bucket, f"Organization//acme:{VCPU}")
        self.assertIn("requested 17", err.detail)
        err = self.assertRaisesCode(quota.QuotaExceeded, self.engine.consume, ACME, VCPU, 99)
        self.assertEqual(err.answer.requested, 99)

    def test_unregistered(self) -> None:
        self.assertRaisesCode(quota.Unregistered, self.engine.consume, ACME, "x/y", 1)
        self.assertRaisesCode(
            quota.Unregistered, self.engine.apply_grant, quota.Grant("g", ACME, {"x/y": 1})
        )

    def test_not_allowed(self) -> None:
        err = self.assertRaisesCode(quota.NotAllowed, self.engine.consume, WEB, VCPU, 1)
        self.assertIn("Project", err.detail)

    def test_rate_limited(self) -> None:
        rps = "serving.example.com/requests"
        self.engine.create_registration(quota.Registration(rps, "Organization", "rate"))
        err = self.assertRaisesCode(quota.RateLimited, self.engine.rate_take, ACME, rps)
        self.assertEqual((err.answer.status, err.retry_after_ms, err.retry_after), (-9, -1, math.inf))
        self.assertIn("no rate granted", err.detail)

    def test_in_use(self) -> None:
        self.assertRaisesCode(quota.InUse, self.engine.delete_registration, VCPU)

    def test_wrong_state(self) -> None:
        self.engine.reserve(self.claim("w"))
        self.engine.release("w")
        err = self.assertRaisesCode(quota.WrongState, self.engine.commit, "w")
        self.assertIn("released", err.detail)
        err = self.assertRaisesCode(quota.WrongState, quota.set_allocator, libc.malloc, libc.free)
        self.assertIn("engine", err.detail)

    def test_parse(self) -> None:
        policy = quota.ClaimPolicy(
            "things",
            ("example.com/v1", "Thing"),
            quota.ClaimTemplate(ACME, {VCPU: 1}, name="{{trigger.metadata.name}}"),
            ["trigger.spec =="],
        )
        err = self.assertRaisesCode(quota.ParseError, self.engine.apply_claim_policy, policy)
        self.assertIn("policy.trigger.constraints[0].expression: column", err.detail)

    def test_eval(self) -> None:
        policy = quota.GrantPolicy(
            "tiers",
            ("example.com/v1", "Org"),
            quota.GrantTemplate("{{trigger.metadata.name}}", ACME, {VCPU: 1}),
            ["trigger.spec.tier == 'pro'"],
        )
        self.engine.apply_grant_policy(policy)
        org = {"apiVersion": "example.com/v1", "kind": "Org", "metadata": {"name": "o"}}
        err = self.assertRaisesCode(quota.EvalError, self.engine.sync_grant_policies, org, "added")
        self.assertIn("policy tiers: trigger.constraints[0].expression", err.detail)

    def test_overflow(self) -> None:
        # acme-compute gives 64 RAM already: one more INT64_MAX overflows.
        err = self.assertRaisesCode(
            quota.Overflow, self.engine.apply_grant, quota.Grant("max", ACME, {RAM: INT64_MAX})
        )
        self.assertIn("INT64_MAX", err.detail)
        self.assertEqual(self.bucket(RAM).limit, 64)

    def test_closed_engine(self) -> None:
        self.engine.close()
        err = self.assertRaisesCode(quota.WrongState, self.engine.get_registration, VCPU)
        self.assertEqual(err.detail, "engine is closed")


class NoMemory(AllocatorTest):
    """QUOTA_ERR_NOMEM through the allocator hook, the library's fault seam."""

    fail_now: object = False

    def malloc(self, n: int) -> int:
        if self.fail_now == "raise":
            raise RuntimeError("malloc broke")
        return 0 if self.fail_now else libc.malloc(n)

    def test_nomem_then_recovery(self) -> None:
        with quota.Engine() as e:
            e.create_registration(quota.Registration(VCPU, "Organization"))
            self.fail_now = True
            with self.assertRaises(quota.NoMemory) as cm:
                e.get_registration(VCPU)
            self.assertEqual(cm.exception.code, -2)
            self.assertIn("memory", cm.exception.detail)
            with self.assertRaises(quota.NoMemory):
                e.acquire(quota.Claim("c", ACME, {VCPU: 1}))
            self.fail_now = False
            self.assertEqual(e.get_registration(VCPU).generation, 1)
            self.assertEqual(e.list_grants(), [])

    def test_iterator_next_can_be_retried(self) -> None:
        with quota.Engine() as e:
            e.create_registration(quota.Registration(VCPU, "Organization"))
            for i in range(20):
                e.apply_grant(quota.Grant(f"g{i}", ("Organization", f"org{i}"), {VCPU: 1}))
            seen = []
            with e.buckets() as it:
                seen.append(next(it))
                self.fail_now = True
                with self.assertRaises(quota.NoMemory) as cm:
                    while True:  # items already copied out still come
                        seen.append(next(it))
                self.assertIn("iterator", cm.exception.detail)
                self.fail_now = False
                seen.extend(it)
            names = sorted(b.consumer.name for b in seen)
            self.assertEqual(names, sorted(f"org{i}" for i in range(20)))

    def test_exception_in_malloc_is_a_failed_allocation(self) -> None:
        with quota.Engine() as e:
            self.fail_now = "raise"
            with self.assertLogs("quota", "ERROR") as logs:
                with self.assertRaises(quota.NoMemory):
                    e.list_registrations()
            self.assertIn("allocator", logs.output[0])
            self.assertEqual(str(quota.allocator_errors[-1]), "malloc broke")
            self.fail_now = False

    def test_engine_new(self) -> None:
        self.fail_now = True
        with self.assertRaises(quota.NoMemory):
            quota.Engine()

    def test_allocator_arguments(self) -> None:
        with self.assertRaises(TypeError):
            quota.set_allocator(libc.malloc)


if __name__ == "__main__":
    unittest.main()
