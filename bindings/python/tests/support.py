"""Shared fixtures for the binding tests."""

from __future__ import annotations

import ctypes
import gc
import os
import unittest
from typing import Any

import quota

VCPU = "compute.example.com/vcpus"
RAM = "compute.example.com/ram"
PROJECTS = "resourcemanager.example.com/projects"

ACME = quota.Consumer.cluster("Organization", "acme")
WEB = quota.Consumer("Project", "acme", "web")

# Set by the meson test when libquota is built with AddressSanitizer.
SANITIZED = bool(os.environ.get("QUOTA_TEST_SANITIZED"))


class EngineTest(unittest.TestCase):
    """Each test gets an engine with vCPU and RAM registered for
    Organizations and a grant of 16 vCPUs and 64 RAM to acme."""

    engine_options: dict[str, Any] = {}

    def setUp(self) -> None:
        self.engine = quota.Engine(**self.engine_options)
        self.addCleanup(self.engine.close)
        for rt in (VCPU, RAM):
            self.engine.create_registration(quota.Registration(rt, "Organization"))
        self.engine.apply_grant(quota.Grant("acme-compute", ACME, {VCPU: 16, RAM: 64}))

    def bucket(self, rt: str = VCPU, consumer: Any = ACME) -> quota.BucketInfo:
        return self.engine.get_bucket(consumer, rt)

    def claim(self, name: str, amount: int = 1, rt: str = VCPU, **kw: Any) -> quota.Claim:
        return quota.Claim(name, kw.pop("consumer", ACME), {rt: amount}, **kw)


def no_engines() -> None:
    """Collect engines that tests dropped, so that the allocator may change."""
    gc.collect()


libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]


class AllocatorTest(unittest.TestCase):
    """Installs self.malloc and self.free as the library's allocator for
    the test; no engine may exist meanwhile."""

    def malloc(self, n: int) -> int:
        return libc.malloc(n)

    def free(self, p: int) -> None:
        libc.free(p)

    def setUp(self) -> None:
        no_engines()
        quota.set_allocator(self.malloc, self.free)
        self.addCleanup(self._restore)

    def _restore(self) -> None:
        no_engines()
        quota.set_allocator()
