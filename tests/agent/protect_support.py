"""What the protect tests share: calls at given ticks through one Protection, on virtual time."""

from __future__ import annotations

import random
from typing import Any

from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.coldobservable import ColdObservable
from reactivex.testing.recorded import Recorded

from agent import Protection, ProtectPolicies, protect
from operators import (
    BreakerPolicy,
    BudgetPolicy,
    CachePolicy,
    DeadLetter,
    Fallback,
    FallbackPolicy,
    FallbackRule,
    RateLimitPolicy,
    RecordingListener,
    RetryPolicy,
)

on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed

POLICIES = ProtectPolicies(
    timeout_s=10.0,
    deadline_s=None,
    breaker=BreakerPolicy(window_calls=2, minimum_calls=2, open_for_s=100.0),
    retry=RetryPolicy(max_attempts=2, base_delay_s=1.0, jitter=False),
    rate_limit=RateLimitPolicy(rate_per_s=1.0, burst=5.0),
    budget=BudgetPolicy(max_calls=3, window_s=None),
    cache=CachePolicy(ttl_s=1000.0),
    stale_for_s=0.0,
)
FALLBACK: FallbackPolicy[str] = FallbackPolicy(rules=(FallbackRule(value="(thinking later)"),))
HELLO = {"model": "m", "prompt": "hello"}
OTHER = {"model": "m", "prompt": "other"}


def layers_off(**given: Any) -> ProtectPolicies:
    """Policies with every layer off, catch too, but for what is ``given``."""
    off: dict[str, Any] = {
        "timeout_s": None,
        "deadline_s": None,
        "breaker": None,
        "retry": None,
        "retry_budget": None,
        "rate_limit": None,
        "budget": None,
        "cache": None,
        "bulkhead": None,
        "catch": False,
    }
    return ProtectPolicies(**{**off, **given})


class Run:
    """Calls at given ticks, each a cold observable with a request, through one Protection."""

    def __init__(
        self,
        plan: list[tuple[int, dict[str, Any], list[Recorded[Any]]]],
        policies: ProtectPolicies = POLICIES,
        fallback: FallbackPolicy[str] | None = FALLBACK,
    ) -> None:
        scheduler = self.scheduler = TestScheduler()
        self.listener = RecordingListener()
        self.letters: list[DeadLetter] = []
        self.protection: Protection[str] = Protection(
            policies,
            name="llm",
            dead_letter=self.letters.append,
            fallback=fallback,
            listener=self.listener,
            random=random.Random(7),
        )
        self.calls: list[ColdObservable[str]] = [scheduler.create_cold_observable(*msgs) for _, _, msgs in plan]
        triggers = scheduler.create_hot_observable(*[on_next(t, i) for i, (t, _, _) in enumerate(plan)])

        def one(i: int) -> Observable[str | Fallback[str]]:
            return protect(self.calls[i], self.protection, request=plan[i][1])

        self.results = scheduler.start(lambda: triggers.pipe(ops.flat_map(one)), disposed=5000)
        self.subs = [c.subscriptions for c in self.calls]

    def reasons(self) -> list[str]:
        """The reason of each dead letter, in order."""
        return [letter.reason for letter in self.letters]


def answer(at: int, text: str = "answer") -> list[Recorded[Any]]:
    """A call that answers ``at`` ticks after it is subscribed."""
    return [on_next(at, text), on_completed(at)]


def hang() -> list[Recorded[Any]]:
    """A call that never answers within the run."""
    return [on_next(100_000, "never")]


def prompt(i: int) -> dict[str, Any]:
    """A request of its own (no two share a cache key)."""
    return {"model": "m", "prompt": f"question {i}"}
