"""A cold observable around a coroutine: the way async effects (httpx) enter a stream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import Disposable

__all__ = ["from_coroutine"]

T = TypeVar("T")


def from_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> Observable[T]:
    """Run ``factory()`` as a task on each subscription; disposal cancels the task.

    The observable is cold: nothing runs until it is subscribed, and each subscription
    starts a fresh coroutine (so ``retry`` really calls again). It emits the coroutine's
    result then completes, or errors with the coroutine's exception.

    It must be subscribed on a thread with a running asyncio loop.
    """

    def subscribe(observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        task = asyncio.ensure_future(factory())

        def done(fut: asyncio.Future[T]) -> None:
            if fut.cancelled():
                return
            exc = fut.exception()
            if isinstance(exc, Exception):
                observer.on_error(exc)
            elif exc is not None:  # KeyboardInterrupt, SystemExit: not ours to turn into a value
                raise exc
            else:
                observer.on_next(fut.result())
                observer.on_completed()

        task.add_done_callback(done)

        def cancel() -> None:
            task.cancel()

        return Disposable(cancel)

    return reactivex.create(subscribe)
