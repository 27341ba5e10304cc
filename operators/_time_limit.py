"""The mechanism under ``timeout`` and ``deadline``: fail a stream not terminated in time, after disposing it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from operators._clock import pick_scheduler, schedule_after
from streams import Once, Slot, Step, subscribe_inner

__all__ = ["time_limit"]

T = TypeVar("T")


def time_limit(
    seconds: float, expired: Callable[[], Exception], *, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[T]], Observable[T]]:
    """Fail the source with ``expired()`` when it has not terminated ``seconds`` after it was subscribed.

    The source is disposed first (cancelling its work), then the error goes downstream; items that
    arrive in time pass through. ``expired`` is called once, on expiry (it may report it).
    """

    def apply(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler_: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            clock = pick_scheduler(scheduler, scheduler_)
            lock = threading.Lock()
            done = False
            upstream = Slot()

            def finish() -> bool:
                nonlocal done
                with lock:
                    if done:
                        return False
                    done = True
                    return True

            def on_expiry() -> None:
                if finish():
                    upstream.dispose()
                    observer.on_error(expired())

            timer = schedule_after(clock, seconds, on_expiry)

            def on_next(value: T) -> None:
                if not done:
                    observer.on_next(value)

            def on_error(error: Exception) -> None:
                if finish():
                    timer.dispose()
                    observer.on_error(error)

            def on_completed() -> None:
                if finish():
                    timer.dispose()
                    observer.on_completed()

            upstream.set(subscribe_inner(source, on_next, on_error, on_completed, scheduler_))

            def dispose() -> None:
                timer.dispose()
                upstream.dispose()

            return Once(dispose)

        return Step(subscribe)

    return apply
