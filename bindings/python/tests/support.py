"""Shared fixtures for the binding tests."""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import os
import unittest
from typing import Any, Optional

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


# The Milo reference examples (doc/policies.md, tests/policy-util.h).
RESOURCES = "myservice.miloapis.com/resources"
MILO_PROJECTS = "resourcemanager.miloapis.com/projects"
MILO_GROUP = "resourcemanager.miloapis.com"
MILO_V1 = "resourcemanager.miloapis.com/v1alpha1"
SVC_V1 = "myservice.miloapis.com/v1alpha1"
MILO_ACME = quota.Ref.cluster("Organization", "acme", MILO_GROUP)


def reference_claim_policy(**changes: Any) -> quota.ClaimPolicy:
    """MyResource objects claim one resource each from the Organization the
    user acts for."""
    policy = quota.ClaimPolicy(
        "myservice-resource-quota",
        (SVC_V1, "MyResource"),
        quota.ClaimTemplate(
            quota.Ref(
                "Organization",
                None,
                "{{user.extra['iam.miloapis.com/parent-name'][0]}}",
                MILO_GROUP,
            ),
            {RESOURCES: 1},
            generate_name="myresource-claim-",
            ns="{{trigger.metadata.namespace}}",
        ),
    )
    return dataclasses.replace(policy, **changes)


def reference_grant_policy(**changes: Any) -> quota.GrantPolicy:
    """Every Organization gets 100 resources, in a grant named after it."""
    policy = quota.GrantPolicy(
        "myservice-default-grant",
        (MILO_V1, "Organization"),
        quota.GrantTemplate(
            "{{trigger.metadata.name}}-myservice-quota",
            quota.Ref("Organization", None, "{{trigger.metadata.name}}", MILO_GROUP),
            {RESOURCES: 100},
            ns="{{trigger.metadata.namespace}}",
        ),
    )
    return dataclasses.replace(policy, **changes)


def trigger(
    api_version: str,
    kind: str,
    ns: Optional[str],
    name: Optional[str],
    uid: Optional[str] = None,
    spec: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """A trigger object; None fields are left out."""
    meta = {k: v for k, v in (("name", name), ("namespace", ns), ("uid", uid)) if v is not None}
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    if spec is not None:
        obj["spec"] = spec
    return obj


def my_resource(name: Optional[str], uid: Optional[str] = None, **spec: Any) -> dict[str, Any]:
    return trigger(SVC_V1, "MyResource", "default", name, uid, spec or {"size": "s"})


def organization(name: Optional[str], uid: Optional[str] = None, **spec: Any) -> dict[str, Any]:
    """An Organization: cluster-wide, with an empty namespace its templates read."""
    return trigger(MILO_V1, "Organization", "", name, uid, spec or None)


def user_in(org: str) -> dict[str, Any]:
    """alice, acting for organization org."""
    return {"username": "alice", "extra": {"iam.miloapis.com/parent-name": [org]}}


class PolicyTest(unittest.TestCase):
    """An engine with the reference registrations: resources (Entity) and
    projects, both held by resourcemanager.miloapis.com Organizations."""

    engine_options: dict[str, Any] = {}

    def setUp(self) -> None:
        self.engine = quota.Engine(**self.engine_options)
        self.addCleanup(self.engine.close)
        org = quota.KindRef("Organization", MILO_GROUP)
        resources = quota.Registration(
            RESOURCES, org, "Entity", base_unit="count", display_unit="resources"
        )
        self.engine.create_registration(resources)
        self.engine.create_registration(quota.Registration(MILO_PROJECTS, org))

    def grant(self, amount: int, name: str = "acme-myservice-quota", rt: str = RESOURCES) -> None:
        self.engine.apply_grant(quota.Grant(name, MILO_ACME, {rt: amount}))

    def usage(self, rt: str = RESOURCES) -> tuple[int, int, int, int]:
        """(limit, allocated, reserved, available) of acme's bucket."""
        b = self.engine.get_bucket(MILO_ACME, rt)
        return b.limit, b.allocated, b.reserved, b.available
