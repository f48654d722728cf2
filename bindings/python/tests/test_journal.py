"""Durable engines: recovery from the journal, sync modes, stats, the lock."""

from __future__ import annotations

import tempfile
import unittest
from pathlib import Path

import quota
from .support import ACME, VCPU


class Durable(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.path = str(Path(self.tmp.name) / "journal")

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def engine(self, **kw: object) -> quota.Engine:
        return quota.Engine(journal_path=self.path, **kw)  # type: ignore[arg-type]

    def test_changes_survive_the_engine(self) -> None:
        for mode in ("always", "batch", "none"):
            with self.subTest(mode=mode):
                Path(self.path).unlink(missing_ok=True)
                e = self.engine(sync_mode=mode)
                e.create_registration(quota.Registration(VCPU, "Organization"))
                e.apply_grant(quota.Grant("acme-compute", ACME, {VCPU: 4}))
                e.acquire(quota.Claim("a", ACME, {VCPU: 3}))
                e.sync()
                stats = e.journal_stats()
                self.assertEqual(stats["durable"], 1)
                self.assertEqual(stats["synced_seq"], stats["last_seq"])
                e.close()
                e = self.engine(sync_mode=mode)
                self.assertEqual(e.get_bucket(ACME, VCPU).allocated, 3)
                self.assertEqual(e.journal_stats()["replayed"], 3)
                with self.assertRaises(quota.QuotaExceeded):
                    e.acquire(quota.Claim("b", ACME, {VCPU: 2}))
                e.close()

    def test_one_engine_per_journal(self) -> None:
        e = self.engine()
        with self.assertRaises(quota.InUse):
            self.engine()
        e.close()
        self.engine().close()

    def test_bad_options_and_compaction(self) -> None:
        with self.assertRaises(quota.InvalidArgument):
            self.engine(sync_mode="sometimes")
        Path(self.path).unlink(missing_ok=True)
        e = self.engine()
        e.create_registration(quota.Registration(VCPU, "Organization"))
        e.compact()
        self.assertEqual(e.journal_stats()["compactions"], 1)
        e.close()
        e = self.engine()  # from the snapshot
        self.assertEqual(e.get_registration(VCPU).resource_type, VCPU)
        e.close()
        memory = quota.Engine()
        self.assertEqual(memory.journal_stats()["durable"], 0)
        memory.sync()
        memory.close()


if __name__ == "__main__":
    unittest.main()
