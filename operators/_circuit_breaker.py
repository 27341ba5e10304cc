"""circuit_breaker: calls pass through a shared :class:`CircuitBreaker`, which may reject them fast."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc

from operators._circuit_breaker_state import CircuitBreaker
from operators._clock import now_s, pick_scheduler
from operators.errors import CircuitOpenError
from streams import NOTHING, Slot, Step, subscribe_observer

__all__ = ["circuit_breaker"]

T = TypeVar("T")


def circuit_breaker(
    breaker: CircuitBreaker, *, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[T]], Observable[T]]:
    """Guard a call with ``breaker``.

    On subscription the breaker is asked for a permit; when it refuses, the stream fails
    at once with :class:`CircuitOpenError` and the source is never subscribed. Otherwise
    the source's completion or error (and its duration on the scheduler's clock) is
    reported to the breaker *before* it goes downstream, so an outer retry already sees
    the new state. A call disposed before it ends counts for nothing.

    Args:
        breaker: the state shared by every call to the same backend.
        scheduler: the clock; the subscription's scheduler when ``None``.
    """

    def apply(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler_: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            clock = pick_scheduler(scheduler, scheduler_)
            started = now_s(clock)
            try:
                permit = breaker.acquire(started)
            except CircuitOpenError as exc:
                observer.on_error(exc)
                return NOTHING
            guarded = _Guarded(breaker, permit, started, clock, observer)
            guarded.upstream.set(subscribe_observer(source, guarded, scheduler_))
            return guarded

        return Step(subscribe)

    return apply


class _Guarded(abc.DisposableBase):
    """One permitted call: the observer of its source, and its subscription (one object, not closures)."""

    __slots__ = ("breaker", "clock", "ended", "observer", "on_next", "permit", "started", "upstream")

    def __init__(
        self,
        breaker: CircuitBreaker,
        permit: int,
        started: float,
        clock: abc.SchedulerBase,
        observer: abc.ObserverBase[Any],
    ) -> None:
        self.breaker = breaker
        self.permit = permit
        self.started = started
        self.clock = clock
        self.observer = observer
        self.on_next = observer.on_next  # items go straight down
        self.ended = False
        self.upstream = Slot()

    def on_error(self, error: Exception) -> None:
        self.ended = True
        now = now_s(self.clock)
        self.breaker.on_error(self.permit, now, now - self.started, error)
        self.observer.on_error(error)

    def on_completed(self) -> None:
        self.ended = True
        now = now_s(self.clock)
        self.breaker.on_success(self.permit, now, now - self.started)
        self.observer.on_completed()

    def dispose(self) -> None:
        if self.upstream.disposed:  # disposed once only, as before
            return
        self.upstream.dispose()
        if not self.ended:
            self.breaker.release(self.permit)
