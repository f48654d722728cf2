"""Expressions and templates (expr.h, template.h) and Engine.next_deadline."""

from __future__ import annotations

import gc
import threading
import unittest

import quota
from quota import EvalError, Expression, InvalidArgument, ParseError, Template, WrongState, expr

from .support import EngineTest

TRIGGER = {"metadata": {"name": "web", "labels": {"tier": "pro"}}, "spec": {"replicas": 3}}


class ExpressionTest(unittest.TestCase):
    def test_values_of_every_type(self) -> None:
        with Expression("trigger.spec.replicas * 2") as x:
            self.assertEqual(x.evaluate(trigger=TRIGGER), 6)
        cases = {
            "trigger.metadata.labels": {"tier": "pro"},
            "[1, 2.5, 'a', true, null]": [1, 2.5, "a", True, None],
            "size(trigger.metadata.name)": 3,
            "has(trigger.spec.replicas) && !has(trigger.spec.size)": True,
            "user == null": True,  # left out: null
        }
        for source, want in cases.items():
            with Expression(source) as x:
                self.assertEqual(x.evaluate(trigger=TRIGGER), want, source)

    def test_bool(self) -> None:
        with Expression("trigger.metadata.labels.tier in ['pro', 'enterprise']") as x:
            self.assertTrue(x.evaluate_bool(trigger=TRIGGER))
            self.assertFalse(x.evaluate_bool(trigger={"metadata": {"labels": {"tier": "free"}}}))
        with Expression("trigger.metadata.name") as x:
            with self.assertRaises(EvalError) as cm:
                x.evaluate_bool(trigger=TRIGGER)
            self.assertIn("expected bool", str(cm.exception))

    def test_errors_name_the_column(self) -> None:
        with self.assertRaises(ParseError) as cm:
            Expression("trigger.spec.replicas +")
        self.assertIn("column", str(cm.exception))
        with self.assertRaises(ParseError):
            Expression("nobody.name")  # not a variable
        with Expression("trigger.spec.missing") as x:
            with self.assertRaises(EvalError) as cm:
                x.evaluate(trigger=TRIGGER)
            self.assertIn("missing", str(cm.exception))
        with Expression("9223372036854775807 + 1", []) as x:
            with self.assertRaises(EvalError):
                x.evaluate()

    def test_cost_limit(self) -> None:
        with Expression("[1, 2, 3, 4, 5, 6, 7, 8].all(i, [1, 2, 3, 4, 5, 6, 7, 8].all(j, i * j > 0))", []) as x:
            self.assertTrue(x.evaluate())
            with self.assertRaises(EvalError) as cm:
                x.evaluate(cost_limit=20)
            self.assertIn("cost budget of 20 steps", str(cm.exception))
            with self.assertRaises(InvalidArgument):
                x.evaluate(cost_limit=0)
            with self.assertRaises(TypeError):
                x.evaluate(cost_limit=1.5)

    def test_variables(self) -> None:
        with Expression("a + b", ["a", "b"]) as x:
            self.assertEqual(x.variables, ("a", "b"))
            self.assertEqual(x.evaluate(a=1, b=2), 3)
            with self.assertRaises(TypeError):
                x.evaluate(a=1, c=2)
        with self.assertRaises(InvalidArgument):
            Expression("a", ["a", "a"])  # duplicate name
        with self.assertRaises(InvalidArgument):
            Expression("x", ["x\0y"])
        with self.assertRaises(TypeError):
            Expression("x", "x")
        with self.assertRaises(ParseError):
            Expression("1" * (expr.EXPR_MAX_LENGTH + 1), [])

    def test_closed(self) -> None:
        x = Expression("1", [])
        x.close()
        x.close()
        self.assertTrue(x.closed)
        with self.assertRaises(WrongState):
            x.evaluate()

    def test_dropped_ones_are_freed_later(self) -> None:
        for _ in range(3):
            Expression("trigger.spec.replicas")  # never closed
        gc.collect()
        self.assertGreater(len(expr._graveyard), 0)
        with Expression("1", []) as x:
            x.evaluate()
        self.assertEqual(len(expr._graveyard), 0)

    def test_threads_share_one(self) -> None:
        errors: list[BaseException] = []
        with Expression("trigger.spec.replicas * 2") as x:

            def run(n: int) -> None:
                try:
                    for i in range(200):
                        got = x.evaluate(trigger={"spec": {"replicas": n * 1000 + i}})
                        assert got == 2 * (n * 1000 + i), got
                except BaseException as err:  # noqa: BLE001 - reported below
                    errors.append(err)

            threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        self.assertEqual(errors, [])


class TemplateTest(unittest.TestCase):
    def test_render(self) -> None:
        with Template("{{ trigger.metadata.name }}-quota") as t:
            self.assertFalse(t.is_literal)
            self.assertEqual(t.render(trigger=TRIGGER), "web-quota")
        with Template("plain text") as t:
            self.assertTrue(t.is_literal)
            self.assertEqual(t.render(), "plain text")
        with Template("{{ trigger.metadata.name + '}}' }}!") as t:
            self.assertEqual(t.render(trigger=TRIGGER), "web}}!")

    def test_errors(self) -> None:
        with self.assertRaises(ParseError):
            Template("{{ trigger.metadata.name ")
        with Template("{{ trigger.spec.replicas }}") as t:
            with self.assertRaises(EvalError) as cm:
                t.render(trigger=TRIGGER)  # an int, not a string
            self.assertIn("column", str(cm.exception))
        t = Template("x")
        t.close()
        with self.assertRaises(WrongState):
            t.render()
        with self.assertRaises(WrongState):
            t.is_literal


class NextDeadlineTest(EngineTest):
    engine_options = {"clock": quota.ManualClock(1_000_000_000)}

    def test_reservation_ttl(self) -> None:
        e = self.engine
        self.assertEqual(e.next_deadline(), 0)
        e.reserve(self.claim("r", ttl_ms=5000))
        self.assertEqual(e.next_deadline(), e.now() + 5_000_000_000)
        clock = self.engine_options["clock"]
        clock.advance(ms=5000)
        self.assertEqual(e.tick(), 1)
        # what is left is the released claim's retention (60 s by default)
        self.assertEqual(e.next_deadline(), e.now() + 60_000_000_000)


if __name__ == "__main__":
    unittest.main()
