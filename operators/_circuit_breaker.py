"""circuit_breaker: calls pass through a shared :class:`CircuitBreaker`, which may reject them fast."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from operators._circuit_breaker_state import CircuitBreaker
from operators._clock import now_s, pick_scheduler
from operators.errors import CircuitOpenError
from streams import NOTHING, Once, Slot, Step, subscribe_inner

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
            ended = False

            def on_error(error: Exception) -> None:
                nonlocal ended
                ended = True
                now = now_s(clock)
                breaker.on_error(permit, now, now - started, error)
                observer.on_error(error)

            def on_completed() -> None:
                nonlocal ended
                ended = True
                now = now_s(clock)
                breaker.on_success(permit, now, now - started)
                observer.on_completed()

            upstream = Slot()
            upstream.set(subscribe_inner(source, observer.on_next, on_error, on_completed, scheduler_))

            def dispose() -> None:
                upstream.dispose()
                if not ended:
                    breaker.release(permit)

            return Once(dispose)

        return Step(subscribe)

    return apply
