"""The end of a stream as an asyncio future: how the event loop waits for a pipeline to finish."""

from __future__ import annotations

import asyncio
from typing import Any

from reactivex import Observable, abc

__all__ = ["subscribe_to_completion"]


def subscribe_to_completion(
    source: Observable[Any], *, loop: asyncio.AbstractEventLoop, scheduler: abc.SchedulerBase | None = None
) -> tuple[asyncio.Future[None], abc.DisposableBase]:
    """Subscribe ``source`` and return a future that resolves when it completes (or fails with its error).

    The stream may end on any thread (the writer thread, for a sink); the future is settled on
    ``loop``'s thread. Items are ignored.

    Returns:
        The future, and the subscription (dispose it to cut the stream off).
    """
    finished: asyncio.Future[None] = loop.create_future()

    def settle(error: Exception | None) -> None:
        if finished.done():
            return
        if error is None:
            finished.set_result(None)
        else:
            finished.set_exception(error)

    def on_error(error: Exception) -> None:
        loop.call_soon_threadsafe(settle, error)

    def on_completed() -> None:
        loop.call_soon_threadsafe(settle, None)

    subscription = source.subscribe(on_error=on_error, on_completed=on_completed, scheduler=scheduler)
    return finished, subscription
