"""An in-memory shared limit store on a TestScheduler's clock, for the shared rate limit and budget in virtual time.

It decides with the project's own TokenBucket and CallBudget (one per name), read on the
scheduler's clock as if it were the store's; it can be told to fail, and its requests take
``latency`` ticks to be answered (``enter``), so a test can dispose a call while it asks.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.testing import TestScheduler

from operators import (
    BudgetExceededError,
    BudgetPolicy,
    CallBudget,
    CallGrant,
    Enter,
    RateLimitedError,
    RateLimitPolicy,
    TokenBucket,
    TokenGrant,
)


class FakeLimitStore:
    """Buckets and budgets by name in memory; ``error`` set: every request fails with it."""

    def __init__(self, scheduler: TestScheduler) -> None:
        self.scheduler = scheduler
        self.buckets: dict[str, TokenBucket] = {}
        self.budgets: dict[str, CallBudget] = {}
        self.requests: list[tuple[float, str]] = []
        self.error: Exception | None = None

    def _now(self) -> float:
        return float(self.scheduler.clock)

    def _asked(self, operation: str) -> None:
        self.requests.append((self._now(), operation))
        if self.error is not None:
            raise self.error

    def bucket(self, name: str, policy: RateLimitPolicy) -> TokenBucket:
        return self.buckets.setdefault(name, TokenBucket(policy, name=name))

    def budget(self, name: str, policy: BudgetPolicy) -> CallBudget:
        return self.budgets.setdefault(name, CallBudget(policy, name=name))

    async def take_tokens(self, name: str, policy: RateLimitPolicy, cost: float) -> TokenGrant:
        self._asked("take_tokens")
        bucket = self.bucket(name, policy)
        try:
            wait = bucket.reserve(self._now(), cost)
        except RateLimitedError as exc:
            return TokenGrant(False, exc.wait_s, bucket.available(self._now()))
        return TokenGrant(True, wait, bucket.available(self._now()))

    async def give_tokens(self, name: str, policy: RateLimitPolicy, cost: float) -> float:
        self._asked("give_tokens")
        bucket = self.bucket(name, policy)
        bucket.refund(self._now(), cost)
        return bucket.available(self._now())

    async def spend_calls(self, name: str, policy: BudgetPolicy, cost: int) -> CallGrant:
        self._asked("spend_calls")
        budget = self.budget(name, policy)
        try:
            remaining = budget.spend(self._now(), cost)
        except BudgetExceededError as exc:
            return CallGrant(False, budget.remaining(self._now()), exc.free_in_s)
        return CallGrant(True, remaining, None)

    async def reset_calls(self, name: str, policy: BudgetPolicy) -> None:
        self._asked("reset_calls")
        self.budget(name, policy).reset()

    def operations(self) -> list[str]:
        return [operation for _, operation in self.requests]


def on_virtual_time(scheduler: TestScheduler, latency: int) -> Enter:
    """Run a store's coroutine ``latency`` ticks after subscription (0: at once); disposal before then cancels it."""

    def enter(factory: Callable[[], Coroutine[Any, Any, Any]]) -> Observable[Any]:
        def subscribe_(observer: abc.ObserverBase[Any], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            def run(*_: Any) -> None:
                coro = factory()
                try:
                    coro.send(None)
                except StopIteration as stop:
                    observer.on_next(stop.value)
                    observer.on_completed()
                except Exception as exc:  # noqa: BLE001 - the store's failure goes down the stream
                    observer.on_error(exc)
                else:
                    coro.close()
                    raise AssertionError("the fake store suspended")

            if latency == 0:
                run()
                return Disposable()
            return scheduler.schedule_relative(latency, run)

        return reactivex.create(subscribe_)

    return enter
