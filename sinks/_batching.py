"""The episode sink as an operator: rows in, committed batches out.

Rows are grouped with ``buffer_with_time_or_count`` (on the subscription's scheduler) and each
group is handed to the writer thread as one transaction. The output emits a
:class:`BatchResult` per committed batch, on the writer thread, and completes only after
the last batch is committed: completion of this stream *is* "everything is flushed".
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import Disposable

from sinks._row_batches import BatchResult, write_rows
from sinks._rows import Row
from sinks._writer import DuckWriter

__all__ = ["from_concurrent_future", "write_batches"]

R = TypeVar("R")


def from_concurrent_future(submit: Callable[[], Future[R]]) -> Observable[R]:
    """A cold observable of a thread-pool style future: emits its result or its error."""

    def subscribe(observer: abc.ObserverBase[R], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        future = submit()

        def done(fut: Future[R]) -> None:
            if fut.cancelled():
                return
            exc = fut.exception()
            if exc is None:
                observer.on_next(fut.result())
                observer.on_completed()
            elif isinstance(exc, Exception):
                observer.on_error(exc)
            else:
                raise exc

        future.add_done_callback(done)
        return Disposable()

    return reactivex.create(subscribe)


def write_batches(
    writer: DuckWriter, *, max_rows: int, max_wait_s: float, name: str = "episodes"
) -> Callable[[Observable[Row]], Observable[BatchResult]]:
    """Batch rows and write each batch in one transaction on ``writer``.

    Args:
        writer: the writer thread.
        max_rows: a batch is written when it holds this many rows...
        max_wait_s: ...or this many seconds after the previous batch was cut.
        name: the job name in errors and metrics.
    """

    def submit(batch: list[Row]) -> Observable[BatchResult]:
        return from_concurrent_future(lambda: writer.submit(name, lambda con: write_rows(con, batch)))

    def non_empty(batch: list[Row]) -> bool:
        return len(batch) > 0

    buffer: Callable[[Observable[Row]], Observable[list[Row]]] = ops.buffer_with_time_or_count(max_wait_s, max_rows)
    return reactivex.compose(buffer, ops.filter(non_empty), ops.flat_map(submit))
