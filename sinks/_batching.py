"""The episode sink as an operator: rows in, committed batches out.

Rows are grouped with :func:`batch_rows` (by count, or by time on the subscription's
scheduler); each group is encoded as Arrow and handed to the writer thread as one transaction. The output emits a
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

from sinks._batch_operator import batch_rows
from sinks._row_batches import BatchResult, encode_rows, insert_encoded
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
        # Encoding here, on the producing thread, overlaps it with the writer's previous insert.
        encoded = encode_rows(batch)
        return from_concurrent_future(lambda: writer.submit(name, lambda con: insert_encoded(con, encoded)))

    return reactivex.compose(batch_rows(max_rows, max_wait_s), ops.flat_map(submit))
