"""timeout: a call that has not finished in time fails with ``CallTimeoutError`` and is disposed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from operators._clock import check, finite, pick_scheduler, schedule_after
from operators._listener import NULL_LISTENER, ResilienceListener
from operators.errors import CallTimeoutError
from streams import Once, Slot, Step, subscribe_inner

__all__ = ["timeout"]

T = TypeVar("T")


def timeout(
    timeout_s: float,
    *,
    name: str = "call",
    listener: ResilienceListener = NULL_LISTENER,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[T]], Observable[T]]:
    """Fail a call that has not terminated ``timeout_s`` after it was subscribed.

    Unlike reactivex's ``timeout`` (which restarts on every item and raises a bare
    ``Exception``), the limit covers the whole call, and the error is typed. Items that
    arrive in time pass through. When the limit is reached the source is disposed first
    (cancelling the work), then ``CallTimeoutError`` goes downstream.

    Args:
        timeout_s: seconds on the scheduler's clock, > 0.
        name: the step's name, shown in the error and the listener's reports.
        listener: told of every timeout.
        scheduler: the clock; the subscription's scheduler when ``None``.
    """
    check(finite(timeout_s) and timeout_s > 0, f"timeout({name!r}).timeout_s", "a number > 0", timeout_s)

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

            def on_timeout() -> None:
                if finish():
                    upstream.dispose()
                    listener.call_timed_out(name, timeout_s)
                    observer.on_error(CallTimeoutError(name, timeout_s))

            timer = schedule_after(clock, timeout_s, on_timeout)

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
