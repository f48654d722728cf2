"""An AI-serving limiter on libquota: per-model requests/s, tokens/s and
tokens/day with bursts, a different violation action per model (reject,
throttle, warn), RAM as a stock quota with observed usage, and a status
report per model.

It replays one minute of simulated traffic on a manual clock, so its output
is the same on every run (examples/python/expected-output.txt checks it).

    QUOTA_LIBRARY=build/lib/libquota.so.1 PYTHONPATH=bindings/python \\
        /usr/bin/python3 examples/python/ai_limiter.py
"""

from __future__ import annotations

import quota
from quota import (
    PERIOD_DAY,
    Claim,
    Request,
    PERIOD_SECOND,
    GrantBucket,
    Registration,
    ResourceClass,
    ViolationAction,
    Window,
)

REQUESTS = "ai.example.com/requests"
TOKENS = "ai.example.com/tokens"
RAM = "ai.example.com/ram-mb"

# name: (requests/s, burst, tokens/s, token burst, tokens/day, RAM MB, action)
MODELS = {
    "llama-3.2-1b": (50, 50, 500, 1000, 1_000_000, 1024, ViolationAction.THROTTLE),
    "production-llama-70b": (100, 500, 2000, 50_000, 50_000_000, 8192, ViolationAction.REJECT),
    "experimental-model": (5, 5, 100, 100, 100_000, 256, ViolationAction.WARN),
}


def model(name: str) -> quota.Ref:
    return quota.Consumer.cluster("Model", name)


def configure(engine: quota.Engine) -> None:
    engine.create_registration(Registration(REQUESTS, "Model", ResourceClass.RATE))
    engine.create_registration(Registration(TOKENS, "Model", ResourceClass.RATE))
    engine.create_registration(Registration(RAM, "Model"))
    for name, (rps, rburst, tps, tburst, per_day, ram, action) in MODELS.items():
        engine.apply_grant(
            quota.Grant(
                name,
                model(name),
                {
                    REQUESTS: [GrantBucket(rps, PERIOD_SECOND, rburst, violation_action=action)],
                    TOKENS: [
                        GrantBucket(tps, PERIOD_SECOND, tburst, violation_action=action),
                        GrantBucket(per_day, PERIOD_DAY, window=Window.CALENDAR,
                                    violation_action=action),
                    ],
                    RAM: [ram],
                },
            )
        )


class Tally:
    def __init__(self) -> None:
        self.served = self.rejected = self.throttled = self.warned = 0
        self.retry_ms = 0


def serve(engine: quota.Engine, name: str, n: int, tokens: int, tally: Tally) -> None:
    """One inference request: the request and its estimated tokens in one
    claim, so that both limits pass or neither is charged. What rates let
    through is spent; the claim itself is dropped at once."""
    claim = Claim(f"{name}-{n}", model(name), [Request(REQUESTS, 1), Request(TOKENS, tokens)])
    try:
        answer = engine.acquire(claim)
    except quota.RateLimited as err:
        if err.answer is not None and err.answer.throttled:
            tally.throttled += 1
            tally.retry_ms = max(tally.retry_ms, err.retry_after_ms or 0)
        else:
            tally.rejected += 1
        return
    engine.release(claim.name)
    tally.served += 1
    if answer.warned:
        tally.warned += 1


def report(engine: quota.Engine, tallies: dict[str, Tally]) -> None:
    print(f"{'model':<22} {'served':>6} {'rejected':>8} {'throttled':>9} {'warned':>6}"
          f" {'tokens/day left':>15} {'RAM':>6}")
    for name, t in tallies.items():
        day = [r for r in engine.get_bucket(model(name), TOKENS).rates
               if r.period_ms == PERIOD_DAY][0]
        ram = engine.get_bucket(model(name), RAM)
        util = "-" if ram.utilization is None else f"{ram.utilization:.0%}"
        print(f"{name:<22} {t.served:>6} {t.rejected:>8} {t.throttled:>9} {t.warned:>6}"
              f" {day.remaining:>15} {util:>6}")
    s = engine.stats()
    print(f"decisions {s.decisions}: allowed {s.allowed}, denied {s.denied_rate_limited},"
          f" throttled {s.throttled}, warnings {s.warnings}")


def main() -> None:
    clock = quota.ManualClock()
    with quota.Engine(clock=clock, released_retention_ms=0) as engine:
        configure(engine)
        tallies = {name: Tally() for name in MODELS}
        # Memory in use, as the model server measures it.
        engine.observe_usage(model("llama-3.2-1b"), RAM, 700)
        engine.observe_usage(model("production-llama-70b"), RAM, 7000)
        engine.observe_usage(model("experimental-model"), RAM, 300)
        # One minute: every 10 ms each model gets a burst of traffic well
        # above its rate for the first 20 seconds, then a steady trickle.
        n = 0
        for tick in range(6000):
            busy = tick < 2000
            for i, name in enumerate(MODELS):
                for _ in range(3 if busy else (1 if tick % 10 == i else 0)):
                    n += 1
                    serve(engine, name, n, 40 + 10 * i, tallies[name])
            clock.advance(ms=10)
        report(engine, tallies)
        slow = tallies["llama-3.2-1b"]
        print(f"llama-3.2-1b was told to retry after at most {slow.retry_ms} ms")


if __name__ == "__main__":
    main()
