"""retry: try a call again after transient errors, with capped exponential backoff and full jitter."""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from reactivex import Observable, abc

from operators._clock import check, finite, now_s, pick_scheduler, schedule_after
from operators._listener import NULL_LISTENER, ResilienceListener
from operators._predicates import is_transient, retry_after_of
from operators._retry_budget import RetryBudget
from operators.errors import RetryExhaustedError
from streams import Slot, Step, subscribe_observer

__all__ = ["RetryPolicy", "retry"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently a call is tried.

    The wait before retry ``n`` (1 for the second attempt) is
    ``min(max_delay_s, base_delay_s × multiplier^(n-1))``; with ``jitter`` it is drawn
    uniformly from 0 to that ("full jitter"), so clients that failed together do not
    come back together.

    Attributes:
        max_attempts: attempts in all, the first included (1 means never retry).
        base_delay_s: the wait before the first retry, before jitter.
        max_delay_s: no wait is longer; a server asking for a longer ``retry_after_s`` ends the retries.
        multiplier: growth of the wait from one retry to the next, >= 1.
        jitter: draw each wait uniformly from [0, wait].
    """

    max_attempts: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 10.0
    multiplier: float = 2.0
    jitter: bool = True

    def __post_init__(self) -> None:
        w = "RetryPolicy"
        check(
            isinstance(self.max_attempts, int) and self.max_attempts >= 1,
            f"{w}.max_attempts",
            "an integer >= 1",
            self.max_attempts,
        )
        check(
            finite(self.base_delay_s) and self.base_delay_s >= 0, f"{w}.base_delay_s", "seconds >= 0", self.base_delay_s
        )
        check(
            finite(self.max_delay_s) and self.max_delay_s >= self.base_delay_s,
            f"{w}.max_delay_s",
            f"seconds >= base_delay_s ({self.base_delay_s:g})",
            self.max_delay_s,
        )
        check(finite(self.multiplier) and self.multiplier >= 1, f"{w}.multiplier", "a number >= 1", self.multiplier)

    def backoff_s(self, retry_number: int, rng: _random.Random) -> float:
        """The wait before retry ``retry_number`` (1-based)."""
        cap = min(self.max_delay_s, self.base_delay_s * self.multiplier ** (retry_number - 1))
        return rng.uniform(0.0, cap) if self.jitter else cap


def retry(
    policy: RetryPolicy | None = None,
    *,
    name: str = "call",
    retry_on: Callable[[Exception], bool] = is_transient,
    budget: RetryBudget | None = None,
    random: _random.Random | None = None,
    listener: ResilienceListener = NULL_LISTENER,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[T]], Observable[T]]:
    """Resubscribe to a failed call while its error is transient and attempts remain.

    Waits are scheduled on the scheduler (virtual time in tests). A server's
    ``retry_after_s`` (read from the error) is honoured as a lower bound on the wait. An
    error ``retry_on`` rejects goes downstream unchanged, at once. When retry gives up
    (attempts used, retry budget spent, or a ``retry_after_s`` beyond ``max_delay_s``)
    the stream fails with :class:`RetryExhaustedError` carrying the attempt count and the
    last error. Items an attempt emitted before failing are not taken back.

    Args:
        policy: attempts and backoff.
        name: the step's name for errors and reports.
        retry_on: which errors are worth another try (default :func:`is_transient`).
        budget: a retry budget shared with other calls to the same backend; ``None`` for none.
        random: the jitter source (tests pass a seeded one).
        listener: told of each retry and each give-up.
        scheduler: the clock; the subscription's scheduler when ``None``.
    """
    pol = policy if policy is not None else RetryPolicy()
    rng = random if random is not None else _random.Random()
    rules = _Rules(pol, name, retry_on, budget, rng, listener)

    def apply(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler_: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            retrying = _Retrying(rules, source, observer, pick_scheduler(scheduler, scheduler_), scheduler_)
            if budget is not None:
                budget.record_call(now_s(retrying.clock))
            retrying.attempt()
            return retrying.serial

        return Step(subscribe)

    return apply


@dataclass(frozen=True, slots=True)
class _Rules:
    """What every subscription of one ``retry`` shares."""

    policy: RetryPolicy
    name: str
    retry_on: Callable[[Exception], bool]
    budget: RetryBudget | None
    rng: _random.Random
    listener: ResilienceListener


class _Retrying:
    """One subscription's attempts.

    An object rather than closures that name each other (an attempt's error handler schedules
    the next attempt, which subscribes with that handler): once it ended and was disposed it
    holds no reference cycle, so it is freed at once instead of by the garbage collector.
    """

    __slots__ = ("attempts", "clock", "observer", "on_completed", "on_next", "rules", "scheduler", "serial", "source")

    def __init__(
        self,
        rules: _Rules,
        source: Observable[Any],
        observer: abc.ObserverBase[Any],
        clock: abc.SchedulerBase,
        scheduler: abc.SchedulerBase | None,
    ) -> None:
        self.rules = rules
        self.source = source
        self.observer = observer
        # each attempt's items and completion go straight down; only its error stops here
        self.on_next = observer.on_next
        self.on_completed = observer.on_completed
        self.clock = clock
        self.scheduler = scheduler
        self.serial = Slot()
        self.attempts = 0

    def give_up(self, reason: str, error: Exception) -> None:
        self.rules.listener.retry_gave_up(self.rules.name, self.attempts, reason)
        exhausted = RetryExhaustedError(self.rules.name, self.attempts, reason, error)
        exhausted.__cause__ = error
        self.observer.on_error(exhausted)

    def on_error(self, error: Exception) -> None:
        rules = self.rules
        pol = rules.policy
        if not rules.retry_on(error):
            self.observer.on_error(error)
            return
        if self.attempts >= pol.max_attempts:
            self.give_up("attempts", error)
            return
        delay = pol.backoff_s(self.attempts, rules.rng)
        asked = retry_after_of(error)
        if asked is not None:
            if asked > pol.max_delay_s:
                self.give_up("retry_after", error)
                return
            delay = max(delay, asked)
        if rules.budget is not None and not rules.budget.try_spend(now_s(self.clock)):
            self.give_up("retry_budget", error)
            return
        rules.listener.retry_attempt(rules.name, self.attempts + 1, delay)
        self.serial.set(schedule_after(self.clock, delay, self.attempt))

    def attempt(self) -> None:
        self.attempts += 1
        # Assigned before subscribing: a source that fails at once schedules the next
        # attempt into ``serial`` from inside ``subscribe``, and must not be overwritten.
        current = Slot()
        self.serial.set(current)
        current.set(subscribe_observer(self.source, self, self.scheduler))
