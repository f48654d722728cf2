"""Registrations: create, update, delete, get, list, Milo dicts."""

from __future__ import annotations

import quota
from quota import Enforcement, KindRef, Registration, ResourceClass, ViolationAction

from .support import ACME, PROJECTS, RAM, VCPU, EngineTest


class Registrations(EngineTest):
    def test_round_trip_of_every_field(self) -> None:
        reg = Registration(
            PROJECTS,
            KindRef("Organization", "resourcemanager.example.com"),
            ResourceClass.ENTITY,
            Enforcement.WARN,
            base_unit="count",
            display_unit="projects",
            description="projects per organization",
            unit_conversion_factor=1,
            claiming_resources=[KindRef("Project", "resourcemanager.example.com"), "Folder"],
            default_limit=quota.UNLIMITED,
            allowed_dimensions=["region", "tier"],
            violation_action=ViolationAction.QUEUE,
        )
        self.engine.create_registration(reg)
        got = self.engine.get_registration(PROJECTS)
        self.assertEqual(got.generation, 1)
        self.assertEqual(got, Registration(**{**reg.__dict__, "generation": 1}))
        self.assertEqual(got.claiming_resources[1], KindRef("Folder"))

    def test_defaults(self) -> None:
        got = self.engine.get_registration(VCPU)
        self.assertEqual(got.resource_class, ResourceClass.ALLOCATION)
        self.assertEqual(got.enforcement, Enforcement.ENFORCE)
        self.assertEqual(got.consumer_type, KindRef("Organization"))
        self.assertEqual((got.base_unit, got.description, got.default_limit), ("", "", 0))
        self.assertEqual((got.unit_conversion_factor, got.claiming_resources), (1, ()))

    def test_create_again_updates_and_update_bumps(self) -> None:
        self.engine.create_registration(Registration(VCPU, "Organization", description="x"))
        self.assertEqual(self.engine.get_registration(VCPU).generation, 2)
        self.engine.update_registration(Registration(VCPU, "Organization", default_limit=5))
        got = self.engine.get_registration(VCPU)
        self.assertEqual((got.generation, got.default_limit, got.description), (3, 5, ""))
        self.engine.create_registration(Registration(VCPU, "Organization", default_limit=5))
        self.assertEqual(self.engine.get_registration(VCPU).generation, 3)

    def test_update_missing(self) -> None:
        with self.assertRaises(quota.NotFound):
            self.engine.update_registration(Registration("x/y", "Organization"))

    def test_delete(self) -> None:
        self.engine.create_registration(Registration(PROJECTS, "Organization"))
        self.engine.delete_registration(PROJECTS)
        with self.assertRaises(quota.NotFound):
            self.engine.get_registration(PROJECTS)
        with self.assertRaises(quota.NotFound):
            self.engine.delete_registration(PROJECTS)
        with self.assertRaises(quota.InUse):
            self.engine.delete_registration(VCPU)
        self.engine.delete_grant("acme-compute")
        self.engine.delete_registration(VCPU)

    def test_list_is_sorted(self) -> None:
        self.engine.create_registration(Registration(PROJECTS, "Organization"))
        names = [r.resource_type for r in self.engine.list_registrations()]
        self.assertEqual(names, sorted([VCPU, RAM, PROJECTS]))

    def test_enum_names_and_ints(self) -> None:
        r = Registration("a/b", "Organization", "feature", "warn")
        self.assertEqual((r.resource_class, r.enforcement), (ResourceClass.FEATURE, Enforcement.WARN))
        self.assertEqual(Registration("a/b", "Organization", 4).resource_class, ResourceClass.RATE)
        with self.assertRaises(ValueError):
            Registration("a/b", "Organization", "gizmo")

    def test_invalid_names_the_field(self) -> None:
        with self.assertRaises(quota.InvalidArgument) as cm:
            self.engine.create_registration(Registration("a/b", "Organization", unit_conversion_factor=0))
        self.assertIn("unitConversionFactor", cm.exception.detail)

    def test_violation_action(self) -> None:
        self.assertEqual(self.engine.get_registration(VCPU).violation_action, ViolationAction.DEFAULT)
        self.engine.update_registration(Registration(VCPU, "Organization", violation_action="warn"))
        got = self.engine.get_registration(VCPU)
        self.assertEqual((got.violation_action, got.generation), (ViolationAction.WARN, 2))
        self.assertTrue(self.engine.consume(ACME, VCPU, 20).warned, "over the limit, let through")
        # Throttling needs a rate: refused for a stock type, as is an unknown action.
        for action in (ViolationAction.THROTTLE, 9):
            with self.assertRaises(quota.InvalidArgument) as cm:
                self.engine.update_registration(Registration(VCPU, "Organization", violation_action=action))
            self.assertIn("violationAction", cm.exception.detail)
        self.assertEqual(self.engine.get_registration(VCPU).violation_action, ViolationAction.WARN)

    def test_milo_dict(self) -> None:
        obj = {
            "apiVersion": "quota.miloapis.com/v1alpha1",
            "kind": "ResourceRegistration",
            "metadata": {"name": "myservice-resources"},
            "spec": {
                "resourceType": "myservice.miloapis.com/resources",
                "consumerType": {"apiGroup": "resourcemanager.miloapis.com", "kind": "Organization"},
                "type": "Entity",
                "baseUnit": "count",
                "displayUnit": "resources",
                "claimingResources": [{"apiGroup": "myservice.miloapis.com", "kind": "MyResource"}],
                "defaultLimit": 3,
                "violationAction": "Queue",
            },
        }
        self.engine.create_registration(obj)
        got = self.engine.get_registration("myservice.miloapis.com/resources")
        self.assertEqual(got.consumer_type, KindRef("Organization", "resourcemanager.miloapis.com"))
        self.assertEqual(got.resource_class, ResourceClass.ENTITY)
        self.assertEqual((got.base_unit, got.display_unit, got.default_limit), ("count", "resources", 3))
        self.assertEqual(got.claiming_resources, (KindRef("MyResource", "myservice.miloapis.com"),))
        self.assertEqual(got.violation_action, ViolationAction.QUEUE)
        # A bare spec works too.
        self.assertEqual(Registration.from_dict(obj["spec"]), Registration.from_dict(obj))
        self.assertEqual(self.engine.get_bucket(ACME, "myservice.miloapis.com/resources").limit, 3)
