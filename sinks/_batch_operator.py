"""``batch_rows``: cut a stream into lists by count or by time, cheaply.

It does what ``buffer_with_time_or_count`` does, at a fraction of the cost per item
(reactivex builds that operator from windows and inner observables, about 6 µs an item;
this one is a list append under a lock), which matters on the sink's hot path. Unlike
reactivex's buffer it also hands over what it holds before passing an error on, so an
upstream failure loses no row that had already arrived.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SerialDisposable
from reactivex.scheduler import TimeoutScheduler

__all__ = ["batch_rows"]

T = TypeVar("T")


def batch_rows(max_items: int, max_wait_s: float) -> Callable[[Observable[T]], Observable[list[T]]]:
    """Emit a list when it holds ``max_items``, or ``max_wait_s`` after its first item arrived.

    Time comes from the scheduler the result is subscribed with. On completion (or error)
    the partial list is emitted first. Empty lists are never emitted.

    Raises:
        ValueError: ``max_items`` < 1 or ``max_wait_s`` <= 0.
    """
    if max_items < 1:
        raise ValueError(f"batch_rows: max_items must be >= 1, got {max_items}")
    if not max_wait_s > 0:
        raise ValueError(f"batch_rows: max_wait_s must be > 0, got {max_wait_s}")

    def operator(source: Observable[T]) -> Observable[list[T]]:
        def subscribe(
            observer: abc.ObserverBase[list[T]], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            clock = scheduler or TimeoutScheduler.singleton()
            lock = threading.RLock()
            state: dict[str, Any] = {"items": [], "generation": 0}
            timer = SerialDisposable()

            def cut() -> None:
                items: list[T] = state["items"]
                if items:
                    state["items"] = []
                    state["generation"] += 1
                    observer.on_next(items)

            def on_timer(generation: int) -> None:
                with lock:
                    if state["generation"] == generation:
                        cut()

            def on_next(item: T) -> None:
                with lock:
                    items: list[T] = state["items"]
                    items.append(item)
                    if len(items) >= max_items:
                        cut()
                    elif len(items) == 1:
                        generation = state["generation"]
                        timer.disposable = clock.schedule_relative(max_wait_s, lambda _s, _st: on_timer(generation))

            def on_error(error: Exception) -> None:
                with lock:
                    cut()
                    observer.on_error(error)

            def on_completed() -> None:
                with lock:
                    cut()
                    observer.on_completed()

            upstream = source.subscribe(on_next, on_error, on_completed, scheduler=scheduler)
            return CompositeDisposable(upstream, timer)

        return Observable(subscribe)

    return operator
