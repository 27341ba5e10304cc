"""priority_merge: a bounded flat_map whose waiting items start by priority, not by arrival.

``merge(max_concurrent=N)`` starts its queued inner streams first in, first out, so an urgent
message that arrives behind twenty ordinary ones is answered last. This operator keeps the
waiting *items* in a heap instead, and builds an item's inner stream only when a slot takes it.

It is built from ``merge(max_concurrent)`` itself: each item pushes itself onto the heap and
hands merge a ticket, a deferred stream that, when merge subscribes it (when a slot frees),
pops the best item waiting at that moment and subscribes that item's inner stream. There are
as many tickets as items, so every item is started exactly once; merge keeps its meaning for
concurrency, completion, errors and disposal.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from typing import TypeVar

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

from operators._clock import check
from operators._listener import NULL_LISTENER, ResilienceListener

__all__ = ["priority_merge"]

T = TypeVar("T")
R = TypeVar("R")


def priority_merge(
    inner: Callable[[T], Observable[R]],
    *,
    max_concurrent: int,
    priority: Callable[[T], int],
    name: str = "lane",
    listener: ResilienceListener = NULL_LISTENER,
) -> Callable[[Observable[T]], Observable[R]]:
    """Flatten ``inner(item)`` of each item, at most ``max_concurrent`` at once, the highest priority first.

    Items that find every slot taken wait; when a slot frees, the waiting item with the highest
    ``priority(item)`` starts (first come first served among equal priorities). ``inner(item)``
    is called when the item starts, not when it arrives. Otherwise it is
    ``ops.map(inner)`` + ``ops.merge(max_concurrent=...)``: it completes when the source and
    every started stream have completed; an error of the source, of an inner stream, of
    ``priority`` or of ``inner`` goes downstream at once and disposes the rest (waiting items
    are dropped); disposing it disposes the source and every running stream.

    Args:
        inner: the stream to run for an item (a reply's LLM call, say).
        max_concurrent: how many inner streams run at once.
        priority: an item's priority, read once, when it arrives; larger starts sooner.
        name: the lane's name in reports.
        listener: told how many items are waiting (``lane_waiting``) whenever that changes,
            and 0 when the subscription ends.

    Raises:
        ValueError: ``max_concurrent`` is not an integer >= 1.
    """
    check(
        isinstance(max_concurrent, int) and not isinstance(max_concurrent, bool) and max_concurrent >= 1,
        f"priority_merge({name!r}).max_concurrent",
        "an integer >= 1",
        max_concurrent,
    )

    def apply(source: Observable[T]) -> Observable[R]:
        def lane(_: abc.SchedulerBase) -> Observable[R]:
            # One heap per subscription. The lock only guards the heap (nothing is called under it):
            # the pipeline runs on the loop's thread, but a source may emit from another one.
            lock = threading.Lock()
            waiting: list[tuple[int, int, T]] = []
            order = itertools.count()

            def start_best(_: abc.SchedulerBase) -> Observable[R]:
                with lock:
                    item = heapq.heappop(waiting)[2]
                    left = len(waiting)
                listener.lane_waiting(name, left)
                return inner(item)

            def ticket(item: T) -> Observable[R]:
                rank = -priority(item)  # a min-heap: the highest priority has the smallest rank
                with lock:
                    heapq.heappush(waiting, (rank, next(order), item))
                    queued = len(waiting)
                listener.lane_waiting(name, queued)
                return reactivex.defer(start_best)

            def ended() -> None:
                with lock:
                    left = len(waiting)
                    waiting.clear()
                if left:
                    listener.lane_waiting(name, 0)

            merged: Observable[R] = source.pipe(ops.map(ticket), ops.merge(max_concurrent=max_concurrent))
            return merged.pipe(ops.finally_action(ended))

        return reactivex.defer(lane)

    return apply
