"""The vector sink as an operator: ``VectorRow`` in, one committed batch result out per batch.

Like the episode sink (:func:`sinks.write_batches`): rows are grouped with
:func:`sinks.batch_rows` on the subscription's scheduler (no timer while nothing waits, which
matters on a replay's virtual clock), each group is one
:func:`write_vectors` job on the writer thread (checked, normalised, stored, indexed; refused
vectors become dead letters), and the output completes only after the last batch is committed.
With a ``bound``, the same job then keeps the count within it (:func:`sinks.bound_vectors`).

A bound that fails (DuckDB out of memory in its ``DELETE``, say) does not fail the stream: the
batch is committed already, nothing is lost, and the count is kept again after the next batch (and
by the upkeep's cleanup). The failure is logged (``vectors.bound_failed``, a warning the first time
after a bound that worked, then at debug level) and carried in the batch's result
(``VectorWriteResult.bound_failed``). Only a fatal DuckDB error, which leaves the database
unusable, goes down the stream.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime

import duckdb
import reactivex
from reactivex import Observable
from reactivex import operators as ops

from sinks._batch_operator import batch_rows
from sinks._batching import from_concurrent_future
from sinks._clock import utc_now
from sinks._vector_cleanup import CleanupPolicy, bound_vectors
from sinks._vector_index import VectorIndex
from sinks._vector_rows import VectorRow
from sinks._vector_writes import VectorWriteResult, write_vectors
from sinks._writer import DuckWriter
from sinks.errors import SinkError

__all__ = ["write_vector_batches"]

log = logging.getLogger("sinks")


def write_vector_batches(
    writer: DuckWriter,
    index: VectorIndex | None,
    *,
    max_rows: int,
    max_wait_s: float,
    name: str = "vectors",
    clock: Callable[[], datetime] = utc_now,
    bound: CleanupPolicy | None = None,
) -> Callable[[Observable[VectorRow]], Observable[VectorWriteResult]]:
    """Batch vectors and write each batch in one transaction on ``writer``, keeping ``index`` in step.

    Args:
        max_rows: a batch is written when it holds this many vectors...
        max_wait_s: ...or this many seconds after the previous batch was cut.
        name: the job name in errors and metrics, and the dead letters' source.
        clock: the time of dead letters.
        bound: its ``max_vectors`` is kept after each batch that stored a vector (``None``: only
            the upkeep's cleanup bounds the count).
    """

    failing = False  # the last bound failed (jobs run one at a time, on the writer thread)

    def job(batch: list[VectorRow], con: duckdb.DuckDBPyConnection) -> VectorWriteResult:
        nonlocal failing
        result = write_vectors(con, batch, index=index, clock=clock, source=name)
        if bound is None or not result.stored:
            return result
        try:
            evicted = bound_vectors(con, bound, index=index)
        except SinkError as exc:
            if isinstance(exc.__cause__, duckdb.FatalException):
                raise  # the database is unusable: the stream must stop
            level = logging.DEBUG if failing else logging.WARNING
            log.log(level, "vectors.bound_failed", extra={"job": name, "error": str(exc)})
            failing = True
            return dataclasses.replace(result, bound_failed=str(exc))
        failing = False
        return dataclasses.replace(result, evicted=evicted)

    def submit(batch: list[VectorRow]) -> Observable[VectorWriteResult]:
        return from_concurrent_future(lambda: writer.submit(name, lambda con: job(batch, con)))

    return reactivex.compose(batch_rows(max_rows, max_wait_s), ops.flat_map(submit))
