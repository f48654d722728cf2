"""Rate limits on an injected clock: per-model AI serving limits (requests
per second with a burst, tokens per second and per calendar day), the four
violation actions, rate_take's answers, the retry time every rate-limited
call reports, and a bucket's rate listing."""

from __future__ import annotations

import math
import unittest
from typing import Any, Sequence

import quota
from quota import (
    PERIOD_DAY,
    PERIOD_HOUR,
    PERIOD_SECOND,
    Claim,
    ClaimState,
    GrantBucket,
    RateInfo,
    Registration,
    ResourceClass,
    ViolationAction,
    Window,
)

REQUESTS = "ai.example.com/requests"
TOKENS = "ai.example.com/tokens"
GPUS = "ai.example.com/gpus"

# ManualClock starts at 2023-11-14 22:13:20 UTC: 6400 s before midnight,
# 2800 s before the next hour.
TO_MIDNIGHT_MS = 6_400_000
TO_THE_HOUR_MS = 2_800_000

REJECT, THROTTLE, WARN, QUEUE = (
    ViolationAction.REJECT,
    ViolationAction.THROTTLE,
    ViolationAction.WARN,
    ViolationAction.QUEUE,
)


def model(name: str) -> quota.Ref:
    return quota.Consumer.cluster("Model", name)


def per_second(amount: int, burst: int = 0, action: Any = ViolationAction.DEFAULT) -> GrantBucket:
    return GrantBucket(amount, PERIOD_SECOND, burst, violation_action=action)


def calendar(amount: int, period_ms: int, action: Any = ViolationAction.DEFAULT) -> GrantBucket:
    return GrantBucket(amount, period_ms, window=Window.CALENDAR, violation_action=action)


class RateTest(unittest.TestCase):
    """An engine on a ManualClock with requests and tokens registered as
    Rate types of the kind Model (nothing without a grant)."""

    def setUp(self) -> None:
        self.clock = quota.ManualClock()
        self.engine = quota.Engine(clock=self.clock)
        self.addCleanup(self.engine.close)
        for rt in (REQUESTS, TOKENS):
            self.engine.create_registration(Registration(rt, "Model", ResourceClass.RATE))

    def limit(self, name: str, rt: str, *buckets: GrantBucket) -> quota.Ref:
        """Grant the model these buckets of rt; returns its ref."""
        self.engine.apply_grant(quota.Grant(f"{name}-{rt.split('/')[1]}", model(name), {rt: buckets}))
        return model(name)

    def rate_limited(self, fn: Any, *args: Any) -> quota.RateLimited:
        with self.assertRaises(quota.RateLimited) as cm:
            fn(*args)
        return cm.exception

    def rates(self, consumer: quota.Ref, rt: str) -> Sequence[RateInfo]:
        return self.engine.get_bucket(consumer, rt).rates


class RequestsPerSecond(RateTest):
    def test_burst_then_steady_refill(self) -> None:
        chat = self.limit("chat", REQUESTS, per_second(100, burst=200))
        # A rested limiter gives its whole burst at once, and no more.
        a = self.engine.rate_take(chat, REQUESTS, 150)
        self.assertEqual((a.limit, a.available, a.period_ms, a.reset_after_ms), (100, 50, 1000, 1500))
        self.assertEqual(self.engine.rate_take(chat, REQUESTS, 50).available, 0)
        err = self.rate_limited(self.engine.rate_take, chat, REQUESTS)
        self.assertEqual((err.retry_after_ms, err.retry_after), (10, 0.01))
        a = err.answer
        self.assertEqual((a.status, a.retry_after_ms, a.reset_after_ms), (-9, 10, 2000))
        self.assertEqual(a.bucket, f"Model//chat:{REQUESTS}")
        self.assertFalse(a.throttled, "the default action rejects")
        self.assertIn("retry after 10 ms", err.detail)
        # One request comes back every 10 ms.
        self.clock.advance(ms=9)
        self.assertEqual(self.rate_limited(self.engine.rate_take, chat, REQUESTS).retry_after_ms, 1)
        self.clock.advance(ms=1)
        self.assertEqual(self.engine.rate_take(chat, REQUESTS).available, 0)
        # More than the burst can never pass.
        self.clock.advance(seconds=10)
        err = self.rate_limited(self.engine.rate_take, chat, REQUESTS, 201)
        self.assertEqual((err.retry_after_ms, err.retry_after), (-1, math.inf))
        self.assertEqual(self.engine.rate_take(chat, REQUESTS).available, 199, "n defaults to 1")

    def test_nothing_without_a_grant_and_not_for_stock_types(self) -> None:
        err = self.rate_limited(self.engine.rate_take, model("none"), REQUESTS)
        self.assertEqual(err.retry_after_ms, -1)
        self.assertIn("no rate granted", err.detail)
        self.engine.create_registration(Registration(GPUS, "Model"))
        with self.assertRaises(quota.InvalidArgument) as cm:
            self.engine.rate_take(model("none"), GPUS)
        self.assertIn("not a Rate type", cm.exception.detail)
        with self.assertRaises(quota.InvalidArgument):
            self.engine.rate_take(model("none"), REQUESTS, 0)


class TokensPerSecondAndPerDay(RateTest):
    def test_every_limit_must_pass_and_the_day_resets_at_midnight(self) -> None:
        chat = self.limit("chat", TOKENS, per_second(1000, burst=2000), calendar(8000, PERIOD_DAY))
        a = self.engine.rate_take(chat, TOKENS, 2000)
        self.assertEqual((a.period_ms, a.available), (PERIOD_SECOND, 0), "the tightest limit")
        for _ in range(3):
            self.clock.advance(seconds=2)
            self.engine.rate_take(chat, TOKENS, 2000)
        # 8000 today: the second is rested again, the day is spent.
        self.clock.advance(seconds=2)
        err = self.rate_limited(self.engine.rate_take, chat, TOKENS, 1)
        a = err.answer
        until_midnight = TO_MIDNIGHT_MS - 8000
        self.assertEqual((a.period_ms, a.limit, a.available), (PERIOD_DAY, 8000, 0))
        self.assertEqual((err.retry_after_ms, a.reset_after_ms), (until_midnight, until_midnight))
        self.assertEqual(err.retry_after, until_midnight / 1000)
        self.assertEqual([r.remaining for r in self.rates(chat, TOKENS)], [2000, 0], "all or nothing")
        self.clock.advance(ms=until_midnight - 1)
        self.rate_limited(self.engine.rate_take, chat, TOKENS, 1)
        self.clock.advance(ms=1)
        a = self.engine.rate_take(chat, TOKENS, 2000)
        self.assertEqual([r.remaining for r in self.rates(chat, TOKENS)], [0, 6000])

    def test_bucket_lists_its_rates(self) -> None:
        chat = self.limit(
            "chat",
            TOKENS,
            calendar(8000, PERIOD_DAY),
            per_second(1000, burst=2000, action=THROTTLE),
            GrantBucket(5000, PERIOD_HOUR),
        )
        b = self.engine.get_bucket(chat, TOKENS)
        self.assertEqual(
            b.rates,
            (  # sorted by period; burst 0 is one period's worth
                RateInfo(PERIOD_SECOND, Window.ROLLING, THROTTLE, 1000, 2000, 2000, 0),
                RateInfo(PERIOD_HOUR, Window.ROLLING, REJECT, 5000, 5000, 5000, 0),
                RateInfo(PERIOD_DAY, Window.CALENDAR, REJECT, 8000, 8000, 8000, TO_MIDNIGHT_MS),
            ),  # the action that applies: the registration's default, REJECT
        )
        self.assertIsInstance(b.rates[2].window, Window)
        self.assertEqual((b.limit, b.utilization_ppm, b.utilization), (quota.UNLIMITED, -1, None))
        # Another grant for the same (period, window) adds to that limiter.
        self.engine.apply_grant(quota.Grant("more", chat, {TOKENS: per_second(500)}))
        self.engine.rate_take(chat, TOKENS, 100)
        first = self.rates(chat, TOKENS)[0]
        self.assertEqual((first.limit, first.burst, first.remaining), (1500, 2500, 2400))
        self.assertEqual(first.reset_after_ms, 100 * 1000 // 1500 + 1)  # 66.7 ms, rounded up


class Actions(RateTest):
    """The seed's models: a small one throttled, production queued, dev
    rejected, an experimental one warned."""

    def setUp(self) -> None:
        super().setUp()
        self.clock.advance(ms=TO_THE_HOUR_MS)  # start on the hour
        self.small = self.limit("llama-3.2-1b", REQUESTS, per_second(50, action=THROTTLE))
        self.limit("llama-3.2-1b", TOKENS, per_second(500, action=THROTTLE))
        self.prod = self.limit("production-llama-70b", REQUESTS, per_second(100, 500, QUEUE))
        self.limit(
            "production-llama-70b",
            TOKENS,
            per_second(2000, 50000, QUEUE),
            calendar(5_000_000, PERIOD_HOUR, QUEUE),
            calendar(50_000_000, PERIOD_DAY, QUEUE),
        )
        self.dev = self.limit("dev-qwen-0.5b", REQUESTS, per_second(10, action=REJECT))
        self.limit(
            "dev-qwen-0.5b",
            TOKENS,
            per_second(100, action=REJECT),
            calendar(100_000, PERIOD_HOUR, REJECT),
            calendar(1_000_000, PERIOD_DAY, REJECT),
        )
        self.exp = self.limit("experimental-model", REQUESTS, per_second(5, action=WARN))

    def take_until_denied(self, consumer: quota.Ref, rt: str, n: int = 1) -> quota.RateLimited:
        for _ in range(10_000):
            try:
                self.engine.rate_take(consumer, rt, n)
            except quota.RateLimited as err:
                return err
        self.fail("never denied")

    def test_throttle(self) -> None:
        for _ in range(50):
            self.engine.rate_take(self.small, REQUESTS)
        err = self.rate_limited(self.engine.rate_take, self.small, REQUESTS)
        self.assertTrue(err.answer.throttled)
        self.assertTrue(err.answer.flags & quota.AnswerFlag.THROTTLED)
        self.assertEqual((err.retry_after_ms, err.retry_after), (20, 0.02), "one request per 20 ms")
        s = self.engine.stats()
        self.assertEqual((s.throttled, s.denied_rate_limited), (1, 0))

    def test_reject_and_the_hourly_calendar(self) -> None:
        err = self.take_until_denied(self.dev, REQUESTS)
        self.assertFalse(err.answer.throttled)
        self.assertEqual(err.retry_after_ms, 100)
        # 100 tokens every second from the top of the hour: the hour's
        # 100,000 run out after 1000 s, until the next hour.
        seconds = 0
        while seconds < 5000:
            try:
                self.engine.rate_take(self.dev, TOKENS, 100)
            except quota.RateLimited as e:
                err = e
                break
            seconds += 1
            self.clock.advance(seconds=1)
        self.assertEqual(seconds, 1000)
        self.assertEqual((err.answer.period_ms, err.retry_after_ms), (PERIOD_HOUR, 2600 * 1000))
        self.assertFalse(err.answer.throttled)
        s = self.engine.stats()
        self.assertEqual((s.denied_rate_limited, s.throttled), (2, 0))

    def test_warn(self) -> None:
        for _ in range(5):
            self.assertFalse(self.engine.rate_take(self.exp, REQUESTS).warned)
        a = self.engine.rate_take(self.exp, REQUESTS)  # over, let through
        self.assertTrue(a.warned)
        self.assertEqual((a.status, a.limit), (0, 5))
        self.assertEqual(self.engine.stats().warnings, 1)
        # A warned limiter saturates at empty: no debt to pay back.
        self.clock.advance(seconds=1)
        self.assertEqual(self.rates(self.exp, REQUESTS)[0].remaining, 5)

    def test_queue(self) -> None:
        # 500 requests of 100 tokens fit both bursts; the next one waits.
        answers = [
            self.engine.acquire(Claim(f"req-{i}", self.prod, {REQUESTS: 1, TOKENS: 100}))
            for i in range(501)
        ]
        self.assertTrue(all(a.state == ClaimState.GRANTED for a in answers[:500]))
        last = answers[500]
        self.assertTrue(last.queued)
        self.assertEqual((last.state, last.binding_request), (ClaimState.PENDING, 0))
        # Calls that cannot wait are throttled instead of queued.
        err = self.rate_limited(self.engine.rate_take, self.prod, REQUESTS)
        self.assertTrue(err.answer.throttled)
        self.assertEqual(err.retry_after_ms, 10)
        # More than the burst is denied, not queued forever.
        err = self.rate_limited(self.engine.acquire, Claim("huge", self.prod, {TOKENS: 50001}))
        self.assertEqual(err.retry_after_ms, -1)
        # Admitted once a request (10 ms) and 100 tokens (50 ms) are back.
        self.clock.advance(ms=49)
        self.engine.tick()
        self.assertEqual(self.engine.get_claim("req-500").state, ClaimState.PENDING)
        self.clock.advance(ms=1)
        self.engine.tick()
        self.assertEqual(self.engine.get_claim("req-500").state, ClaimState.GRANTED)
        s = self.engine.stats()
        self.assertEqual((s.queued, s.admitted_from_queue), (1, 1))

    def test_registration_action_where_buckets_name_none(self) -> None:
        chat = self.limit("chat", REQUESTS, per_second(1))
        self.engine.rate_take(chat, REQUESTS)
        self.assertFalse(self.rate_limited(self.engine.rate_take, chat, REQUESTS).answer.throttled)
        self.engine.update_registration(Registration(REQUESTS, "Model", "rate", violation_action="throttle"))
        self.assertTrue(self.rate_limited(self.engine.rate_take, chat, REQUESTS).answer.throttled)
        self.engine.update_registration(Registration(REQUESTS, "Model", "rate", violation_action=WARN))
        self.assertTrue(self.engine.rate_take(chat, REQUESTS).warned)
        # A grant bucket's own action wins over the registration's.
        self.assertTrue(self.take_until_denied(self.small, REQUESTS).answer.throttled)


class RetryAfterOnEveryCall(RateTest):
    """Each call that can be rate-limited reports when to retry."""

    def setUp(self) -> None:
        super().setUp()
        self.chat = self.limit("chat", TOKENS, per_second(10))

    def assertRetry(self, fn: Any, *args: Any, ms: int = 100) -> None:
        err = self.rate_limited(fn, *args)
        self.assertEqual((err.retry_after_ms, err.retry_after), (ms, ms / 1000), fn.__name__)
        self.assertEqual((err.answer.period_ms, err.answer.limit), (PERIOD_SECOND, 10))

    def test_consume_handles_and_claims(self) -> None:
        self.engine.consume(self.chat, TOKENS, 10)  # consume on a Rate type takes
        self.assertRetry(self.engine.consume, self.chat, TOKENS, 1)
        with self.engine.open_bucket(self.chat, TOKENS) as h:
            self.assertRetry(h.consume, 2, ms=200)
        claim = Claim("c", self.chat, {TOKENS: 1})
        self.assertRetry(self.engine.acquire, claim)
        self.assertRetry(self.engine.reserve, claim)
        self.assertRetry(self.engine.check, claim)

    def test_resize(self) -> None:
        self.engine.acquire(Claim("r", self.chat, {TOKENS: 5}))
        self.assertRetry(self.engine.resize, "r", {TOKENS: 11})  # 6 more, 5 left
        self.clock.advance(ms=100)
        self.assertEqual(self.engine.resize("r", {TOKENS: 11}).status, 0)


if __name__ == "__main__":
    unittest.main()
