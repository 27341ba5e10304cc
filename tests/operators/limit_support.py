"""Shared checks of the time limits (timeout, deadline) in virtual time: in time, at the limit, after it, timers."""

from __future__ import annotations

from typing import Any

from reactivex import abc
from reactivex.disposable import Disposable
from reactivex.testing import TestScheduler
from reactivex.testing.recorded import Recorded

from streams import Step, subscribe_inner
from tests.operators.operator_support import on_completed, on_error, on_next, subscribe


def assert_an_answer_in_time_passes_through(operator: Any) -> None:
    """An answer at tick 19 of a 20 tick limit comes through, completes, and the source is let go then."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(19, "answer"), on_completed(19))
    results = scheduler.start(lambda: source.pipe(operator))
    assert results.messages == [on_next(219, "answer"), on_completed(219)]
    assert source.subscriptions == [subscribe(200, 219)]


def assert_an_error_in_time_passes_through(operator: Any) -> None:
    """An error of the source before the limit comes through as it is, and the source is let go then."""
    scheduler = TestScheduler()
    error = ConnectionError("refused")
    source = scheduler.create_cold_observable(on_error(3, error))
    results = scheduler.start(lambda: source.pipe(operator))
    assert results.messages == [on_error(203, error)]
    assert source.subscriptions == [subscribe(200, 203)]


def assert_it_errors_at_the_limit(operator: Any, error: Exception) -> None:
    """A source still running at tick 20 of a 20 tick limit gets ``error`` then, after what came in time."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(5, "partial"), on_next(30, "late"), on_completed(40))
    results = scheduler.start(lambda: source.pipe(operator))
    assert results.messages == [on_next(205, "partial"), on_error(220, error)]
    assert source.subscriptions == [subscribe(200, 220)]


class TimerSpy(TestScheduler):
    """A TestScheduler that keeps each relative timer it sets as ``[seconds, cancelled at]`` (None: never)."""

    def __init__(self) -> None:
        super().__init__()
        self.timers: list[list[Any]] = []

    def schedule_relative(
        self, duetime: Any, action: abc.ScheduledAction[Any], state: Any = None
    ) -> abc.DisposableBase:
        timer: list[Any] = [duetime, None]
        self.timers.append(timer)
        inner = super().schedule_relative(duetime, action, state=state)

        def cancel() -> None:
            if timer[1] is None:
                timer[1] = self.clock
            inner.dispose()

        return Disposable(cancel)

    def cancelled(self, seconds: float) -> list[Any]:
        """When each timer of ``seconds`` was cancelled (None: it was not)."""
        return [at for duetime, at in self.timers if duetime == seconds]


def assert_the_limit_is_kept_by_an_uncancellable_call(operator: Any, error: Exception) -> None:
    """A call that ignores its disposal and answers late, subscribed by another operator (no auto-detaching
    observer in between): it is disposed at the limit, then the error goes on, and nothing after it."""
    scheduler = TestScheduler()
    seen: list[tuple[float, str]] = []

    def late(observer: abc.ObserverBase[Any], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        scheduler.schedule_relative(25, lambda *_: observer.on_next("late"))
        scheduler.schedule_relative(30, lambda *_: observer.on_completed())
        scheduler.schedule_relative(35, lambda *_: observer.on_error(ConnectionError("later still")))
        return Disposable(lambda: seen.append((scheduler.clock, "source disposed")))

    def call(*_: Any) -> None:
        subscribe_inner(
            Step(late).pipe(operator),
            lambda value: seen.append((scheduler.clock, value)),
            lambda exc: seen.append((scheduler.clock, repr(exc))),
            lambda: seen.append((scheduler.clock, "completed")),
            scheduler,
        )

    scheduler.schedule_absolute(200, call)
    scheduler.advance_to(300)
    assert seen == [(220.0, "source disposed"), (220.0, repr(error))]


def assert_the_timer_is_cancelled_when_the_call_ends_or_is_disposed(operator: Any, seconds: float) -> None:
    """The limit's timer is cancelled at the end of a call (even when no one disposes it) or at its disposal."""
    assert _timers_cancelled(operator, seconds, [on_next(5, "a"), on_completed(7)], None) == [207.0]
    assert _timers_cancelled(operator, seconds, [on_error(3, ConnectionError("down"))], None) == [203.0]
    assert _timers_cancelled(operator, seconds, [on_next(50, "late")], 210.0) == [210.0]


def _timers_cancelled(
    operator: Any, seconds: float, messages: list[Recorded[Any]], dispose_at: float | None
) -> list[Any]:
    """A call subscribed at 200 by another operator (no auto-disposal at its end), disposed at ``dispose_at``."""
    scheduler = TimerSpy()
    source = scheduler.create_cold_observable(*messages)
    held: list[abc.DisposableBase] = []

    def call(*_: Any) -> None:
        held.append(subscribe_inner(source.pipe(operator), lambda _: None, lambda _: None, lambda: None, scheduler))

    scheduler.schedule_absolute(200, call)
    if dispose_at is not None:
        scheduler.schedule_absolute(dispose_at, lambda *_: held[0].dispose())
    scheduler.advance_to(300)
    return scheduler.cancelled(seconds)


def assert_a_limit_below_a_second_is_kept(operator: Any, error: Exception) -> None:
    """Half a second (``operator``'s limit) is half a tick here: an answer one tick later comes too late."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(1, "late"), on_completed(1))
    results = scheduler.start(lambda: source.pipe(operator))
    assert results.messages == [on_error(200.5, error)]  # type: ignore[arg-type]
