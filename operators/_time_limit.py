"""The mechanism under ``timeout`` and ``deadline``: fail a stream not terminated in time, after disposing it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc

from operators._clock import Expiry, pick_scheduler
from streams import NOTHING, Slot, Step, subscribe_observer

__all__ = ["time_limit"]

T = TypeVar("T")


def time_limit(
    seconds: float, expired: Callable[[], Exception], *, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[T]], Observable[T]]:
    """Fail the source with ``expired()`` when it has not terminated ``seconds`` after it was subscribed.

    The source is disposed first (cancelling its work), then the error goes downstream; items that
    arrive in time pass through. ``expired`` is called once, on expiry (it may report it).
    """

    expiry = Expiry(seconds)

    def apply(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler_: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            limited = _Limited(observer, expired)
            limited.timer = expiry.start(pick_scheduler(scheduler, scheduler_), limited.on_expiry)
            limited.upstream.set(subscribe_observer(source, limited, scheduler_))
            return limited

        return Step(subscribe)

    return apply


class _Limited(abc.DisposableBase):
    """One subscription's state: the timer, the source's subscription, whether it ended.

    An object rather than closures that name each other: what is left once it ended and was
    disposed holds no reference cycle, so it is freed at once instead of by the garbage
    collector (``agent.protect`` makes two of these per call).
    """

    __slots__ = ("_expired", "done", "lock", "observer", "timer", "upstream")

    def __init__(self, observer: abc.ObserverBase[Any], expired: Callable[[], Exception]) -> None:
        self.observer = observer
        self._expired = expired
        self.lock = threading.Lock()
        self.done = False
        self.upstream = Slot()
        self.timer: abc.DisposableBase = NOTHING

    def finish(self) -> bool:
        with self.lock:
            if self.done:
                return False
            self.done = True
            return True

    def on_expiry(self) -> None:
        if self.finish():
            self.upstream.dispose()
            self.observer.on_error(self._expired())

    def on_next(self, value: Any) -> None:
        if not self.done:
            self.observer.on_next(value)

    def on_error(self, error: Exception) -> None:
        if self.finish():
            self.timer.dispose()
            self.observer.on_error(error)

    def on_completed(self) -> None:
        if self.finish():
            self.timer.dispose()
            self.observer.on_completed()

    def dispose(self) -> None:
        self.timer.dispose()
        self.upstream.dispose()
