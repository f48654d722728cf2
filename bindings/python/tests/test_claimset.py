"""Claim sets (several claims decided as one) and the struct layout check
made when the library is loaded."""

from __future__ import annotations

import ctypes
import unittest

import quota
from quota import _doc, _lib
from quota import Claim, Registration, Request

from .support import WEB

CPUS = "compute.example.com/vcpus"


class ClaimSetTest(unittest.TestCase):
    def setUp(self) -> None:
        self.engine = quota.Engine()
        self.addCleanup(self.engine.close)
        self.engine.create_registration(Registration(CPUS, "Project"))
        self.engine.apply_grant(quota.Grant("cpus", WEB, {CPUS: [5]}, ns="acme"))

    def members(self, *amounts: int) -> list[Claim]:
        return [Claim(f"m{i}", WEB, [Request(CPUS, a)], ns="acme") for i, a in enumerate(amounts)]

    def test_totals_decide_all_or_nothing(self) -> None:
        with self.assertRaises(quota.QuotaExceeded) as cm:
            self.engine.acquire_set(self.members(3, 3))
        self.assertEqual(cm.exception.answer.binding_claim, 0)
        self.assertEqual(cm.exception.answer.requested, 6)
        self.assertEqual(self.engine.get_bucket(WEB, CPUS).allocated, 0)
        with self.assertRaises(quota.NotFound):
            self.engine.get_claim("m1", "acme")
        self.engine.check_set(self.members(3, 2))
        self.assertEqual(self.engine.get_bucket(WEB, CPUS).reserved, 0)
        answer = self.engine.reserve_set(self.members(3, 2))
        self.assertEqual(answer.state, quota.ClaimState.RESERVED)
        self.assertEqual(self.engine.get_bucket(WEB, CPUS).reserved, 5)
        again = self.engine.acquire_set(self.members(3, 2))
        self.assertTrue(again.existed)
        self.assertEqual(self.engine.get_bucket(WEB, CPUS).allocated, 5)

    def test_bad_member_is_named(self) -> None:
        with self.assertRaises(quota.InvalidArgument) as cm:
            self.engine.acquire_set(self.members(1, 0))
        self.assertIn("claims[1]", cm.exception.detail)


class LayoutTest(unittest.TestCase):
    def test_every_mirror_matches_the_library(self) -> None:
        for type_id, mirror in enumerate(_lib._MIRRORS, start=1):
            self.assertEqual(_lib.lib.quota_type_size(type_id), ctypes.sizeof(mirror), mirror.__name__)
        self.assertEqual(_lib.lib.quota_type_size(0), 0)
        self.assertEqual(_lib.lib.quota_type_size(100000), 0)

    def test_constants_match_the_library(self) -> None:
        constant = _lib.lib.quota_constant
        self.assertEqual(constant(2), quota.MAX_REQUESTS)
        self.assertEqual(constant(3), quota.MAX_DEPTH)
        self.assertEqual(constant(9), quota.MAX_CONSTRAINTS)
        self.assertEqual(constant(10), quota.CONSTRAINT_MESSAGE_MAX)
        self.assertEqual(constant(8), quota.UNLIMITED)
        self.assertEqual(constant(13), quota.MAX_CLAIM_SET)
        self.assertEqual(constant(12), _doc.MAX_DEPTH)

    def test_a_mismatch_is_refused(self) -> None:
        class Short(ctypes.Structure):
            _fields_ = [("size", ctypes.c_size_t)]

        saved = _lib._MIRRORS
        _lib._MIRRORS = (Short,) + saved[1:]
        try:
            with self.assertRaises(ImportError):
                _lib._check_layouts(_lib.lib, "libquota")
        finally:
            _lib._MIRRORS = saved


if __name__ == "__main__":
    unittest.main()
