"""The claim event callback: order, lifetime, threads, re-entrancy, and
exceptions that must not escape."""

from __future__ import annotations

import gc
import threading
import unittest

import quota
from quota import ClaimFlag, ClaimState, Event, EventType, Registration

from .support import ACME, VCPU


def engine_with(callback, limit: int = 16, **options) -> quota.Engine:  # type: ignore[no-untyped-def]
    e = quota.Engine(on_event=callback, **options)
    e.create_registration(Registration(VCPU, "Organization"))
    e.apply_grant(quota.Grant("g", ACME, {VCPU: limit}))
    return e


def claim(name: str, amount: int = 1, **kw) -> quota.Claim:  # type: ignore[no-untyped-def]
    return quota.Claim(name, ACME, {VCPU: amount}, ns="apps", **kw)


class Events(unittest.TestCase):
    def setUp(self) -> None:
        self.events: list[Event] = []
        self.engine = engine_with(self.events.append)
        self.addCleanup(self.engine.close)

    def test_every_transition_in_order(self) -> None:
        e = self.engine
        e.reserve(claim("a"))
        e.commit("a", "apps")
        e.release("a", "apps")
        e.acquire(claim("big", 16))
        e.reserve(claim("q", 2, flags=ClaimFlag.QUEUE))
        e.release("big", "apps")
        e.release("q", "apps")
        e.acquire(claim("full", 16))
        e.reserve(claim("p", 2, flags=ClaimFlag.QUEUE))  # under the limit, over what is free
        e.release("p", "apps")
        got = [(ev.type, ev.name, ev.prev_state, ev.state) for ev in self.events]
        R, G, X, P = ClaimState.RESERVED, ClaimState.GRANTED, ClaimState.RELEASED, ClaimState.PENDING
        self.assertEqual(
            got,
            [
                (EventType.RESERVED, "a", 0, R),
                (EventType.GRANTED, "a", R, G),
                (EventType.RELEASED, "a", G, X),
                (EventType.GRANTED, "big", 0, G),
                (EventType.QUEUED, "q", 0, P),
                (EventType.RELEASED, "big", G, X),
                (EventType.RESERVED, "q", P, R),
                (EventType.RELEASED, "q", R, X),
                (EventType.GRANTED, "full", 0, G),
                (EventType.QUEUED, "p", 0, P),
                (EventType.DEQUEUED, "p", P, X),
            ],
        )
        self.assertTrue(all(ev.ns == "apps" for ev in self.events))

    def test_expiry_event(self) -> None:
        clock = quota.ManualClock()
        events: list[Event] = []
        with engine_with(events.append, clock=clock) as e:
            e.reserve(claim("t", ttl_ms=5))
            clock.advance(ms=5)
            self.assertEqual(e.tick(), 1)
        self.assertEqual(events[-1].type, EventType.EXPIRED)
        self.assertEqual(events[-1].state, ClaimState.RELEASED)

    def test_callback_kept_alive(self) -> None:
        seen: list[str] = []
        # The only reference to the callable is the engine's.
        e = engine_with(lambda ev: seen.append(ev.name), limit=100)
        self.addCleanup(e.close)
        gc.collect()
        for i in range(50):
            e.acquire(claim(f"c{i}"))
            gc.collect() if i % 10 == 0 else None
        self.assertEqual(seen, [f"c{i}" for i in range(50)])

    def test_callback_may_call_the_engine(self) -> None:
        states: list[object] = []

        def on_event(ev: Event) -> None:
            states.append(e.get_claim(ev.name, ev.ns).state)
            if ev.name == "first" and ev.type == EventType.GRANTED:
                e.release("first", "apps")  # nested transition: delivered after this one

        e = engine_with(on_event)
        self.addCleanup(e.close)
        e.acquire(claim("first"))
        self.assertEqual(states, [ClaimState.GRANTED, ClaimState.RELEASED])
        self.assertEqual(e.get_bucket(ACME, VCPU).allocated, 0)

    def test_exceptions_are_contained(self) -> None:
        calls: list[str] = []

        def on_event(ev: Event) -> None:
            calls.append(ev.name)
            raise ValueError(f"boom {ev.name}")

        e = engine_with(on_event)
        self.addCleanup(e.close)
        with self.assertLogs("quota", "ERROR") as logs:
            a = e.acquire(claim("x"))
            e.release("x", "apps")
        self.assertEqual(a.state, ClaimState.GRANTED, "the call itself succeeded")
        self.assertEqual(calls, ["x", "x"])
        self.assertEqual([str(err) for err in e.callback_errors], ["boom x", "boom x"])
        self.assertEqual(len(logs.output), 2)
        e.callback_errors.clear()

    def test_callback_cannot_clobber_the_error_detail(self) -> None:
        # The commit of an expired reservation fails and delivers EXPIRED in
        # the same call; a callback making a failing call of its own must not
        # change what the commit's exception says.
        clock = quota.ManualClock()

        def on_event(ev: Event) -> None:
            try:
                e.get_registration("no/such-type")
            except quota.NotFound:
                pass

        e = engine_with(on_event, clock=clock)
        self.addCleanup(e.close)
        e.reserve(claim("t", ttl_ms=5))
        clock.advance(ms=10)
        with self.assertRaises(quota.WrongState) as cm:
            e.commit("t", "apps")
        self.assertIn("apps/t: expired before it was committed", cm.exception.detail)

    def test_events_pending_at_close_are_delivered(self) -> None:
        self.engine.acquire(claim("z"))
        self.engine.close()
        self.assertEqual(self.events[-1].name, "z")


class EventsFromThreads(unittest.TestCase):
    def test_many_threads(self) -> None:
        lock = threading.Lock()
        seen: dict[str, list[EventType]] = {}
        threads_seen: set[int] = set()
        busy = threading.Event()

        def on_event(ev: Event) -> None:
            with lock:
                seen.setdefault(ev.name, []).append(ev.type)
                threads_seen.add(threading.get_ident())
            if ev.name.endswith("-0"):
                busy.wait(0.001)  # let deliveries overlap with other threads' calls
            if ev.name == "t3-7":
                raise RuntimeError("contained")

        e = engine_with(on_event, limit=1_000_000)
        self.addCleanup(e.close)
        n_threads, per_thread = 8, 200

        def work(t: int) -> None:
            for i in range(per_thread):
                name = f"t{t}-{i}"
                r = e.reserve(claim(name))
                r.commit()
                e.release(name, "apps")

        with self.assertLogs("quota", "ERROR"):
            threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
        self.assertEqual(len(seen), n_threads * per_thread)
        for name, types in seen.items():
            self.assertEqual(types, [EventType.RESERVED, EventType.GRANTED, EventType.RELEASED], name)
        # Delivered by the threads making calls (whichever got there first).
        self.assertTrue(threads_seen)
        self.assertLessEqual(threads_seen, {th.ident for th in threads})
        self.assertEqual([str(x) for x in e.callback_errors], ["contained"] * 3)
