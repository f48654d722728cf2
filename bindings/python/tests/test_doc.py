"""Documents: Python values to quota_doc and back, through the library's
own reader, writer and (when built with cJSON) parser."""

from __future__ import annotations

import json
import math
import unittest
from typing import Any

import quota
from quota import _doc

INT64_MAX = (1 << 63) - 1
INT64_MIN = -(1 << 63)

NESTED = {
    "apiVersion": "myservice.miloapis.com/v1alpha1",
    "kind": "MyResource",
    "metadata": {
        "name": "r1",
        "namespace": "default",
        "labels": {"app.kubernetes.io/name": "web", "tier": "pro"},
        "annotations": {},
    },
    "spec": {
        "replicas": 3,
        "ratio": 0.25,
        "enabled": True,
        "owner": None,
        "regions": ["eu-west", "us-east"],
        "containers": [{"name": "web", "ports": [80, 443]}, {"name": "sidecar", "ports": []}],
        "matrix": [[1, 2], [3, [4, [5, []]]]],
    },
}

UNICODE = {
    "名前": "ドキュメント",
    "emoji": "\U0001f680 rocket, \u00e9t\u00e9, \u0645\u0631\u062d\u0628\u0627",
    "combining": "e\u0301",
    "nul": "a\0b",
    "key\0with nul": "\0",
    "": "the empty key",
    "bmp-edge": "\uffff\U00010000\U0010ffff",
}


def roundtrip(value: Any) -> Any:
    doc = _doc.build(value, "value")
    try:
        return _doc.read(doc)
    finally:
        _doc.lib.quota_doc_unref(doc)


def nest(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


class RoundTrip(unittest.TestCase):
    def test_scalars(self) -> None:
        for v in (None, True, False, 0, 1, -1, 0.5, -0.0, 1e308, 5e-324, "", "text"):
            back = roundtrip(v)
            self.assertEqual((back, type(back)), (v, type(v)), v)
        self.assertEqual(math.copysign(1, roundtrip(-0.0)), -1)
        self.assertEqual(roundtrip(math.inf), math.inf)
        self.assertEqual(roundtrip(-math.inf), -math.inf)
        self.assertTrue(math.isnan(roundtrip(math.nan)))

    def test_bools_stay_bools_and_ints_stay_ints(self) -> None:
        back = roundtrip([True, 1, 1.0, False, 0])
        self.assertEqual([type(x) for x in back], [bool, int, float, bool, int])

    def test_big_ints(self) -> None:
        for v in (INT64_MAX, INT64_MIN, INT64_MAX - 1, (1 << 53) + 1, -(1 << 53) - 1, 1 << 62):
            self.assertEqual(roundtrip(v), v)
            self.assertEqual(roundtrip({"n": [v]}), {"n": [v]})

    def test_ints_outside_int64_are_refused_by_path(self) -> None:
        for v in (INT64_MAX + 1, INT64_MIN - 1, 1 << 100):
            with self.assertRaises(quota.InvalidArgument) as cm:
                _doc.build({"spec": {"sizes": [1, v]}}, "trigger")
            want = f"trigger.spec.sizes[1]: {v} is outside the int64 range"
            self.assertEqual(cm.exception.detail, want)
        self.assertEqual(roundtrip(float(1 << 100)), float(1 << 100))  # say so with a float

    def test_nested(self) -> None:
        self.assertEqual(roundtrip(NESTED), NESTED)
        self.assertEqual(roundtrip([]), [])
        self.assertEqual(roundtrip({}), {})

    def test_unicode(self) -> None:
        self.assertEqual(roundtrip(UNICODE), UNICODE)
        self.assertEqual(list(roundtrip(UNICODE)), list(UNICODE))

    def test_maps_keep_their_order(self) -> None:
        keys = [f"k{(i * 7919) % 1000}" for i in range(1000)]
        value = {k: i for i, k in enumerate(keys)}
        back = roundtrip(value)
        self.assertEqual(list(back), keys)
        self.assertEqual(back, value)

    def test_tuples_and_mappings_convert(self) -> None:
        from collections import OrderedDict
        from types import MappingProxyType

        value = (1, ("a", OrderedDict(b=2)), MappingProxyType({"c": (3,)}))
        self.assertEqual(roundtrip(value), [1, ["a", {"b": 2}], {"c": [3]}])

    def test_depth_limit(self) -> None:
        self.assertEqual(roundtrip(nest(_doc.MAX_DEPTH)), nest(_doc.MAX_DEPTH))
        with self.assertRaises(quota.InvalidArgument) as cm:
            _doc.build({"a": nest(_doc.MAX_DEPTH)}, "trigger")
        self.assertIn("nests deeper than 64 levels", cm.exception.detail)
        cycle: list[Any] = []
        cycle.append(cycle)
        with self.assertRaises(quota.InvalidArgument):
            _doc.build(cycle, "trigger")

    def test_what_is_not_a_document(self) -> None:
        for bad in (b"bytes", {1, 2}, object(), 1j):
            with self.assertRaises(TypeError) as cm:
                _doc.build({"spec": {"x": bad}}, "trigger")
            self.assertIn("trigger.spec.x: a ", str(cm.exception))
        with self.assertRaises(TypeError) as cm:
            _doc.build({"spec": {1: "one"}}, "trigger")
        self.assertIn("trigger.spec: the key 1 is not a str", str(cm.exception))
        with self.assertRaises(quota.InvalidArgument) as cm2:
            _doc.build({"metadata": {"name": "a\udc80"}}, "trigger")
        self.assertIn("trigger.metadata.name: not encodable as UTF-8", cm2.exception.detail)
        with self.assertRaises(quota.InvalidArgument) as cm2:
            _doc.build({"labels": {"bad\udc80": 1}}, "trigger")
        self.assertIn("trigger.labels: the key", cm2.exception.detail)

    def test_paths_name_odd_keys_in_brackets(self) -> None:
        with self.assertRaises(quota.InvalidArgument) as cm:
            _doc.build({"metadata": {"labels": {"app.kubernetes.io/name": 1 << 64}}}, "trigger")
        self.assertTrue(
            cm.exception.detail.startswith("trigger.metadata.labels['app.kubernetes.io/name']: ")
        )


class Json(unittest.TestCase):
    """The library's JSON writer (always there) and parser (with cJSON)."""

    def test_writer_matches_json_dumps(self) -> None:
        for value in (NESTED, UNICODE, [INT64_MAX, INT64_MIN], {"f": [0.1, 1e300, -2.5]}):
            text = _doc.to_json(value)
            self.assertEqual(json.loads(text), value)
        self.assertEqual(_doc.to_json({"a": [1, True, None, "x"]}), '{"a":[1,true,null,"x"]}')
        self.assertEqual(json.loads(_doc.to_json(1.0)), 1.0)  # a double reads back as one
        self.assertIsInstance(json.loads(_doc.to_json(1.0)), float)

    def test_writer_refuses_nan(self) -> None:
        with self.assertRaises(quota.InvalidArgument):
            _doc.to_json({"x": math.nan})

    @unittest.skipUnless(quota.features() & quota.Feature.JSON, "built without cJSON")
    def test_parsed_documents_read_back(self) -> None:
        for value in (NESTED, UNICODE, [INT64_MAX, INT64_MIN, 0.5]):
            self.assertEqual(_doc.from_json(json.dumps(value)), value)
        # JSON numbers past int64 are doubles in the library, as the header says
        self.assertEqual(_doc.from_json(str(1 << 70)), float(1 << 70))
        with self.assertRaises(quota.ParseError):
            _doc.from_json('{"a": }')


if __name__ == "__main__":
    unittest.main()
