"""deadline: a request not finished in time, every try and wait counted, fails with ``DeadlineExceededError``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc

from operators._clock import check, finite, pick_scheduler, schedule_after
from operators.errors import DeadlineExceededError
from streams._step import Once, Slot, Step, subscribe_inner

__all__ = ["deadline"]

T = TypeVar("T")


def deadline(
    deadline_s: float, *, name: str = "call", scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[T]], Observable[T]]:
    """Fail a request that has not terminated ``deadline_s`` after it was subscribed.

    Put outside ``retry``, it bounds the request as a whole: every try, every backoff and
    every wait for a token or a slot, whatever the retry policy would still do. At the
    deadline the source is disposed first (the try in flight is cancelled, a pending
    backoff is dropped, a waiting call gives its token back), then
    :class:`DeadlineExceededError` goes downstream. Items that arrive in time pass through.

    It differs from :func:`timeout` (one try's limit) in its error only: a deadline is not
    transient, so nothing outside should retry it, and its fallbacks say ``deadline``.

    Args:
        deadline_s: seconds on the scheduler's clock, > 0.
        name: the step's name, shown in the error.
        scheduler: the clock; the subscription's scheduler when ``None``.
    """
    check(finite(deadline_s) and deadline_s > 0, f"deadline({name!r}).deadline_s", "a number > 0", deadline_s)

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

            def on_deadline() -> None:
                if finish():
                    upstream.dispose()
                    observer.on_error(DeadlineExceededError(name, deadline_s))

            timer = schedule_after(clock, deadline_s, on_deadline)

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
