"""bounded_buffer: hand items to the consumer on the scheduler through a queue of fixed size."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable, SerialDisposable

from operators._clock import check, pick_scheduler
from operators._listener import NULL_LISTENER, ResilienceListener

__all__ = ["Overflow", "bounded_buffer"]

T = TypeVar("T")

Overflow = Literal["block", "drop_oldest", "drop_newest"]


def bounded_buffer(
    size: int,
    overflow: Overflow = "drop_oldest",
    *,
    name: str = "buffer",
    listener: ResilienceListener = NULL_LISTENER,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[T]], Observable[T]]:
    """Decouple a producer from its consumer with at most ``size`` items waiting.

    Items are delivered one per scheduled action, in order. When the queue is full:
    ``drop_oldest`` discards the oldest waiting item, ``drop_newest`` discards the arriving
    one (each drop is reported to the listener), and ``block`` makes the producer deliver
    the oldest waiting item itself before queueing, so it waits exactly as long as the
    consumer takes and nothing is lost (this cannot deadlock on a single event loop, as a
    real wait would). Completion and errors are delivered after the items before them.

    Args:
        size: items that may wait, >= 1.
        overflow: what a full queue does.
        name: the buffer's name for the listener's reports.
        listener: told of every drop.
        scheduler: where deliveries run; the subscription's scheduler when ``None``.
    """
    check(isinstance(size, int) and size >= 1, f"bounded_buffer({name!r}).size", "an integer >= 1", size)
    check(
        overflow in ("block", "drop_oldest", "drop_newest"),
        f"bounded_buffer({name!r}).overflow",
        "'block', 'drop_oldest' or 'drop_newest'",
        overflow,
    )

    def apply(source: Observable[T]) -> Observable[T]:
        def subscribe(observer: abc.ObserverBase[T], scheduler_: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            clock = pick_scheduler(scheduler, scheduler_)
            # One re-entrant lock for the queue and for delivery, so items leave in order
            # whichever thread delivers them (the drain, or a blocked producer).
            lock = threading.RLock()
            queue: deque[T] = deque()
            end: list[Exception | None] = []  # [None] completed, [error] failed
            drain = SerialDisposable()
            scheduled = False
            stopped = False

            def deliver_one() -> bool:
                """Deliver the next item or the end; False when there is nothing to deliver."""
                if stopped:
                    return False
                if queue:
                    observer.on_next(queue.popleft())
                    return True
                if end:
                    finish(end[0])
                return False

            def finish(error: Exception | None) -> None:
                nonlocal stopped
                stopped = True
                if error is None:
                    observer.on_completed()
                else:
                    observer.on_error(error)

            def run(_: abc.SchedulerBase, __: Any = None) -> None:
                nonlocal scheduled
                with lock:
                    scheduled = False
                    if deliver_one() and (queue or end):
                        schedule()
                    elif end and not stopped:
                        finish(end[0])

            def schedule() -> None:
                nonlocal scheduled
                if not scheduled:
                    scheduled = True
                    drain.disposable = clock.schedule(run)

            def on_next(value: T) -> None:
                with lock:
                    if stopped or end:
                        return
                    if len(queue) >= size:
                        if overflow == "drop_newest":
                            listener.buffer_dropped(name, 1)
                            return
                        if overflow == "drop_oldest":
                            queue.popleft()
                            listener.buffer_dropped(name, 1)
                        else:
                            deliver_one()
                    queue.append(value)
                    schedule()

            def on_end(error: Exception | None) -> None:
                with lock:
                    if not end:
                        end.append(error)
                        schedule()

            def on_error(error: Exception) -> None:
                on_end(error)

            def on_completed() -> None:
                on_end(None)

            upstream = source.subscribe(on_next, on_error, on_completed, scheduler=scheduler_)

            def stop() -> None:
                nonlocal stopped
                with lock:
                    stopped = True
                    queue.clear()

            return CompositeDisposable(upstream, drain, Disposable(stop))

        return Observable(subscribe)

    return apply
