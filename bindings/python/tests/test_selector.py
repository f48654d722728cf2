"""Dimensions and selector buckets: labelled requests, grant buckets with
match_labels / match_expressions, reading selector buckets, the most
specific bucket named in a denial, rates per selector, bad input, Milo
dicts."""

from __future__ import annotations

import unittest
from typing import Any

import quota
from quota import PERIOD_SECOND, Claim, GrantBucket, Registration, Request, SelectorOp
from quota import SelectorRequirement as Req

from .support import WEB

GPUS = "compute.example.com/gpus"
TOKENS = "serving.example.com/tokens"
DIMS = ("region", "tier", "gpu")
BUCKET = f"Project/acme/web:{GPUS}"


class SelectorTest(unittest.TestCase):
    """GPUs (a stock type) and tokens (a Rate type) for Projects, both
    allowing the dimensions region, tier and gpu."""

    def setUp(self) -> None:
        self.engine = quota.Engine(clock=quota.ManualClock())
        self.addCleanup(self.engine.close)
        self.engine.create_registration(Registration(GPUS, "Project", allowed_dimensions=DIMS))
        self.engine.create_registration(Registration(TOKENS, "Project", "rate", allowed_dimensions=DIMS))

    def grant(self, *buckets: Any, rt: str = GPUS, name: str = "gpus") -> None:
        self.engine.apply_grant(quota.Grant(name, WEB, {rt: buckets}, ns="acme"))

    def acquire(self, name: str, amount: int, rt: str = GPUS, **dims: str) -> quota.Answer:
        return self.engine.acquire(Claim(name, WEB, [Request(rt, amount, dims)], ns="acme"))

    def denied(self, cls: type, name: str, amount: int, rt: str = GPUS, **dims: str) -> Any:
        with self.assertRaises(cls) as cm:
            self.acquire(name, amount, rt, **dims)
        return cm.exception

    def held(self, selector: str, rt: str = GPUS) -> int:
        b = self.engine.get_bucket(WEB, rt, selector)
        self.assertEqual(b.selector, selector)
        return b.allocated + b.reserved


class SelectorBuckets(SelectorTest):
    def test_base_and_region_us_buckets(self) -> None:
        self.grant(
            10,
            GrantBucket(4, match_labels={"region": "us"}),
            GrantBucket(2, match_expressions=[Req("region", SelectorOp.IN, ["us"])]),  # the same
            GrantBucket(3, match_labels={"tier": "gold", "region": "us"}),
        )
        # One bucket per distinct selector, each after its base, the most
        # specific first; equal selectors add up.
        listed = [(b.selector, b.limit) for b in self.engine.buckets(WEB, GPUS)]
        self.assertEqual(listed, [("", 10), ("region=us,tier=gold", 3), ("region=us", 6)])

        self.acquire("c1", 3, region="us", tier="gold", gpu="a100")
        self.assertEqual([self.held(s) for s in ("region=us,tier=gold", "region=us", "")], [3, 3, 3])
        self.assertEqual(self.engine.get_bucket(WEB, GPUS, "region=us,tier=gold").utilization, 1.0)
        self.assertEqual(self.engine.get_bucket(WEB, GPUS, "region=us").utilization_ppm, 500_000)
        alloc = self.engine.get_claim("c1", "acme").allocations[0]
        self.assertEqual(alloc.bucket, f"{BUCKET}[region=us,tier=gold]")

        # Silver in us: only region=us and the base bind; the denial names
        # the most specific bucket that binds.
        self.acquire("c2", 3, region="us", tier="silver")
        err = self.denied(quota.QuotaExceeded, "c3", 1, region="us")
        a = err.answer
        self.assertEqual(a.bucket, f"{BUCKET}[region=us]")
        self.assertEqual((a.limit, a.available, a.requested), (6, 0, 1))
        self.assertIn("[region=us]", err.detail)
        # Elsewhere only the base binds: 4 left.
        self.assertEqual(self.denied(quota.QuotaExceeded, "c4", 5, region="eu").answer.bucket, BUCKET)
        self.acquire("c4", 4, region="eu")
        self.assertEqual(self.engine.get_claim("c4", "acme").allocations[0].bucket, BUCKET)
        with self.assertRaises(quota.NotFound):
            self.engine.get_bucket(WEB, GPUS, "region=eu")
        # Releasing gives back at every bucket the claim was charged to.
        self.engine.release("c1", "acme")
        self.assertEqual([self.held(s) for s in ("region=us,tier=gold", "region=us", "")], [0, 3, 7])

    def test_operators_and_canonical_text(self) -> None:
        self.grant(
            100,
            GrantBucket(2, match_expressions=[Req("gpu", "DoesNotExist")]),
            GrantBucket(5, match_expressions=[Req("region", "NotIn", ["us", "eu", "us"])]),
            GrantBucket(7, match_expressions=[Req("tier", "exists"), Req("region", "in", ("us", "eu"))]),
        )
        for sel in ("!gpu", "region notin (eu,us)", "region in (eu,us),tier"):
            self.assertEqual(self.held(sel), 0)
        # Anonymous use carries no labels: !gpu and notin match it.
        self.engine.consume(WEB, GPUS, 2)
        with self.assertRaises(quota.QuotaExceeded) as cm:
            self.engine.consume(WEB, GPUS, 1)
        self.assertEqual(cm.exception.answer.bucket, f"{BUCKET}[!gpu]")
        self.assertEqual(self.held("region notin (eu,us)"), 2)
        self.acquire("c1", 3, gpu="a100", region="asia")
        err = self.denied(quota.QuotaExceeded, "c2", 1, gpu="a100", region="asia")
        self.assertEqual(err.answer.bucket, f"{BUCKET}[region notin (eu,us)]")
        self.acquire("c3", 7, gpu="h100", region="eu", tier="gold")
        self.assertEqual(self.held("region in (eu,us),tier"), 7)

    def test_dimensions_are_part_of_the_spec(self) -> None:
        self.grant(10, GrantBucket(6, match_labels={"region": "us"}))
        self.acquire("c", 3, region="us", tier="silver")
        self.denied(quota.Conflict, "c", 3, region="us")
        again = self.engine.acquire(
            Claim("c", WEB, [(GPUS, 3, {"tier": "silver", "region": "us"})], ns="acme")
        )
        self.assertTrue(again.existed, "the same labels in another order")
        self.assertEqual(self.held("region=us"), 3)

    def test_rate_per_selector(self) -> None:
        self.grant(
            GrantBucket(100, PERIOD_SECOND),
            GrantBucket(10, PERIOD_SECOND, match_labels={"region": "eu"}),
            rt=TOKENS,
        )
        self.acquire("t1", 10, TOKENS, region="eu")
        err = self.denied(quota.RateLimited, "t2", 1, TOKENS, region="eu")
        self.assertEqual(err.answer.bucket, f"Project/acme/web:{TOKENS}[region=eu]")
        self.assertEqual((err.retry_after_ms, err.retry_after), (100, 0.1))
        self.acquire("t3", 50, TOKENS)  # not limited by the eu selector
        eu = self.engine.get_bucket(WEB, TOKENS, "region=eu")
        self.assertEqual([(r.limit, r.remaining) for r in eu.rates], [(10, 0)])
        self.assertEqual(self.engine.get_bucket(WEB, TOKENS).rates[0].remaining, 40)


class BadInput(SelectorTest):
    """The library validates dimensions and selectors and names the field;
    a refused call changes nothing."""

    def setUp(self) -> None:
        super().setUp()
        self.grant(10)
        self.before = list(self.engine.buckets())

    def tearDown(self) -> None:
        self.assertEqual(list(self.engine.buckets()), self.before)

    def invalid(self, fn: Any, *args: Any, **kw: Any) -> str:
        with self.assertRaises(quota.InvalidArgument) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.code, -1)
        return cm.exception.detail

    def test_dimensions(self) -> None:
        detail = self.invalid(self.acquire, "x", 1, GPUS, zone="a")
        self.assertIn("claim.requests[0].dimensions[0].key", detail)
        self.assertIn("zone", detail)
        self.assertIn("dimensions[0].value", self.invalid(self.acquire, "x", 1, GPUS, region="v" * 64))
        self.assertIn("dimensions[0].key", self.invalid(self.acquire, "x", 1, GPUS, **{"-region": "us"}))
        self.assertIn("dimensions[1].value", self.invalid(self.acquire, "x", 1, GPUS, region="us", tier="gold!"))
        with self.assertRaises(quota.InvalidArgument) as cm:
            self.acquire("x", 1, GPUS, region="u\0s")
        self.assertIn("NUL", cm.exception.detail)  # caught before C would cut it short
        with self.assertRaises(TypeError):
            self.engine.acquire(Claim("x", WEB, [Request(GPUS, 1, {"region": 1})]))  # type: ignore[dict-item]
        # Settlements and resizes carry no dimensions.
        self.acquire("ok", 1)
        detail = self.invalid(self.engine.resize, "ok", [Request(GPUS, 2, {"region": "us"})], "acme")
        self.assertIn("only a claim's requests carry dimensions", detail)
        self.engine.release("ok", "acme")

    def test_selectors(self) -> None:
        def bad(*exprs: Req, labels: Any = None) -> str:
            g = quota.Grant("bad", WEB, {GPUS: GrantBucket(1, match_labels=labels, match_expressions=exprs)})
            return self.invalid(self.engine.apply_grant, g)

        self.assertIn("matchExpressions[0].operator", bad(Req("region", 9, ["us"])))
        self.assertIn("matchExpressions[0].values", bad(Req("region", SelectorOp.IN)))
        self.assertIn("values", bad(Req("region", SelectorOp.NOT_IN)))
        self.assertIn("take no values", bad(Req("region", SelectorOp.EXISTS, ["us"])))
        self.assertIn("not an allowed dimension", bad(Req("zone", SelectorOp.EXISTS)))
        self.assertIn("not an allowed dimension", bad(labels={"zone": "a"}))
        with self.assertRaises(quota.NotFound):
            self.engine.get_grant("bad")
        with self.assertRaises(ValueError):
            Req("region", "Near")


class MiloDicts(SelectorTest):
    def test_grant_selector_and_claim_dimensions(self) -> None:
        self.engine.apply_grant(
            {
                "metadata": {"name": "gpus", "namespace": "acme"},
                "spec": {
                    "consumerRef": {"kind": "Project", "namespace": "acme", "name": "web"},
                    "allowances": [
                        {
                            "resourceType": GPUS,
                            "buckets": [
                                {"amount": 10},
                                {
                                    "amount": 4,
                                    "selector": {
                                        "matchLabels": {"region": "us"},
                                        "matchExpressions": [
                                            {"key": "tier", "operator": "NotIn", "values": ["spot"]},
                                            {"key": "gpu", "operator": "Exists"},
                                        ],
                                    },
                                },
                                {
                                    "amount": 1,
                                    "selector": {
                                        "matchExpressions": [
                                            {"key": "gpu", "operator": "DoesNotExist"},
                                            {"key": "region", "operator": "In", "values": ["eu"]},
                                        ]
                                    },
                                },
                            ],
                        }
                    ],
                },
            }
        )
        b = self.engine.get_grant("gpus", "acme").allowances[0].buckets
        self.assertEqual(b[0], GrantBucket(10))
        self.assertEqual(b[1].match_labels, {"region": "us"})
        self.assertEqual(
            b[1].match_expressions,
            (Req("tier", SelectorOp.NOT_IN, ("spot",)), Req("gpu", SelectorOp.EXISTS)),
        )
        self.assertEqual(b[2].match_expressions[0].op, SelectorOp.DOES_NOT_EXIST)
        selectors = [x.selector for x in self.engine.buckets(WEB, GPUS)]
        self.assertEqual(selectors, ["", "gpu,region=us,tier notin (spot)", "!gpu,region=eu"])

        claim = {
            "metadata": {"name": "c1", "namespace": "acme"},
            "spec": {
                "consumerRef": {"kind": "Project", "namespace": "acme", "name": "web"},
                "requests": [{"resourceType": GPUS, "amount": 4, "dimensions": {"region": "us", "gpu": "a100"}}],
            },
        }
        self.assertEqual(Claim.from_dict(claim).requests[0].dimensions, {"region": "us", "gpu": "a100"})
        self.engine.acquire(claim)
        self.assertEqual(self.held("gpu,region=us,tier notin (spot)"), 4)
        claim["metadata"]["name"] = "c2"  # type: ignore[index]
        with self.assertRaises(quota.QuotaExceeded) as cm:
            self.engine.acquire(claim)
        self.assertEqual(cm.exception.answer.bucket, f"{BUCKET}[gpu,region=us,tier notin (spot)]")


if __name__ == "__main__":
    unittest.main()
