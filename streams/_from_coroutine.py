"""A cold observable around a coroutine: the way async effects (httpx) enter a stream."""

from __future__ import annotations

import asyncio
import inspect
import sys
import types
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from reactivex import Observable, abc

from streams._step import Once, Step

__all__ = ["from_coroutine"]

T = TypeVar("T")

# Python 3.12 can run a task's first step at once, inside the task (``current_task()`` is
# right, so anyio's cancel scopes and ``asyncio.timeout`` work): a call goes out when it is
# subscribed, and one that ends without waiting is delivered before ``subscribe`` returns.
_EAGER: dict[str, Any] = {"eager_start": True} if sys.version_info >= (3, 12) else {}


def from_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> Observable[T]:
    """Run ``factory()`` as a task on each subscription; disposal cancels the task.

    The observable is cold: nothing runs until it is subscribed, and each subscription
    starts a fresh coroutine (so ``retry`` really calls again). A subscription disposed before
    its task took a step closes the coroutine, which then never runs. It emits the coroutine's
    result then completes, or errors with the coroutine's exception, from inside the task
    as soon as the coroutine ends (no further turn of the loop). From Python 3.12 on, the
    task's first step runs as it is subscribed (an eager task).

    It must be subscribed on a thread with a running asyncio loop.
    """

    def subscribe(observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        loop = asyncio.get_running_loop()  # first: without a loop, no coroutine is made and left unawaited
        task = asyncio.Task(_deliver(factory(), observer, loop), loop=loop, **_EAGER)

        def cancel() -> None:
            if task.cancel():  # it had not ended (a call that ended is left alone, at no cost)
                _close_unstarted(task)

        return Once(cancel)

    return Step(subscribe)


def _close_unstarted(task: asyncio.Task[None]) -> None:
    """Close the call's coroutine when ``task`` was cancelled before its first step: no step will await it.

    Found through the unstarted ``_deliver`` coroutine's frame, whose locals are its arguments:
    holding the call's coroutine anywhere else for this rare case made every call dearer (5 µs a
    subscription, measured against this).
    """
    deliver = task.get_coro()
    if not isinstance(deliver, types.CoroutineType) or inspect.getcoroutinestate(deliver) != inspect.CORO_CREATED:
        return
    frame = deliver.cr_frame
    inner = frame.f_locals.get("coroutine") if frame is not None else None
    if isinstance(inner, Coroutine):  # a coroutine, or an object that acts as one (a tracked replay call)
        inner.close()


async def _deliver(
    coroutine: Coroutine[Any, Any, T], observer: abc.ObserverBase[T], loop: asyncio.AbstractEventLoop
) -> None:
    """Await ``coroutine`` and tell ``observer`` how it ended (a cancelled one tells nothing: it was disposed)."""
    try:
        value = await coroutine
    except Exception as exc:  # noqa: BLE001 - the coroutine's error is the stream's error
        _tell(loop, observer.on_error, exc)
        return
    if _tell(loop, observer.on_next, value):
        _tell(loop, observer.on_completed)


def _tell(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> bool:
    """Call an observer's callback; an error it raises goes to the loop's exception handler, as a callback's would."""
    try:
        callback(*args)
    except Exception as exc:  # noqa: BLE001 - reported, not lost: nothing downstream is left to take it
        loop.call_exception_handler({"message": "an observer of from_coroutine raised", "exception": exc})
        return False
    return True
