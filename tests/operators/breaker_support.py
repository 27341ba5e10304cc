"""Shared pieces of the circuit breaker tests: planned calls through one breaker in virtual time, trips, waits."""

from __future__ import annotations

from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import TestScheduler
from reactivex.testing.coldobservable import ColdObservable
from reactivex.testing.recorded import Recorded

from operators import BreakerPolicy, CircuitBreaker, CircuitOpenError, NullListener, circuit_breaker
from tests.operators.operator_support import on_completed, on_error, on_next, timed_values


def ok(duration: int = 1) -> list[Recorded[Any]]:
    """A call that answers ``ok`` after ``duration`` ticks."""
    return [on_next(duration, "ok"), on_completed(duration)]


def fail(duration: int = 1, error: Exception | None = None) -> list[Recorded[Any]]:
    """A call that fails after ``duration`` ticks (a ``ConnectionError`` unless ``error`` is given)."""
    return [on_error(duration, error or ConnectionError("down"))]


class Transitions(NullListener):
    """Keeps each transition with the virtual time it happened at."""

    def __init__(self, scheduler: TestScheduler) -> None:
        self.scheduler = scheduler
        self.seen: list[tuple[float, str, str]] = []
        self.outcomes: list[str] = []
        self.durations: list[float] = []

    def breaker_state(self, name: str, old: str, new: str) -> None:
        self.seen.append((self.scheduler.clock, old, new))

    def breaker_call(self, name: str, outcome: str, duration_s: float) -> None:
        self.outcomes.append(outcome)
        self.durations.append(duration_s)


class Run:
    """Calls planned at given ticks, each its own cold observable, all through one breaker."""

    def __init__(self, policy: BreakerPolicy, plan: list[tuple[int, list[Recorded[Any]]]]) -> None:
        self.scheduler = TestScheduler()
        self.listener = Transitions(self.scheduler)
        self.breaker = CircuitBreaker(policy, name="llm", listener=self.listener)
        self.calls: list[ColdObservable[Any]] = [self.scheduler.create_cold_observable(*msgs) for _, msgs in plan]
        triggers = self.scheduler.create_hot_observable(*[on_next(t, i) for i, (t, _) in enumerate(plan)])

        def one(i: int) -> Observable[str]:
            return self.calls[i].pipe(
                circuit_breaker(self.breaker),
                ops.catch(lambda e, _: reactivex.of(f"!{type(e).__name__}")),
            )

        self.results = self.scheduler.start(lambda: triggers.pipe(ops.flat_map(one)))

    def values(self) -> list[tuple[float, Any]]:
        """``(time, value)`` of what came out (a rejection or failure as ``!ErrorName``)."""
        return timed_values(self.results.messages)


COUNT4 = BreakerPolicy(failure_rate_threshold=0.5, window_calls=4, minimum_calls=4, open_for_s=30.0, half_open_calls=2)


def trip(breaker: CircuitBreaker, now: float) -> None:
    """One failing call at ``now`` (closed with a window of one, or a failing probe)."""
    breaker.on_error(breaker.acquire(now), now, 0.0, ConnectionError())


def rejected_for(breaker: CircuitBreaker, now: float) -> float | None:
    """The wait a call asking at ``now`` is told of (it must be rejected)."""
    with pytest.raises(CircuitOpenError) as raised:
        breaker.acquire(now)
    return raised.value.remaining_s


def judged_on_each_call(**changes: Any) -> BreakerPolicy:
    """A policy whose window is the last call alone (``window_calls=1, minimum_calls=1``), with ``changes``."""
    return BreakerPolicy(window_calls=1, minimum_calls=1, **changes)
