"""The episode sink as an operator: rows in, committed batches out.

Rows are grouped with :func:`batch_rows` (by count, or by time on the subscription's
scheduler); each group is encoded as Arrow and handed to the writer thread as one transaction. The output emits a
:class:`BatchResult` per committed batch, on the writer thread, and completes only after
the last batch is committed: completion of this stream *is* "everything is flushed".

Notes are the one write outside the transaction: after a batch that holds :class:`NoteRow` s
commits (and after the first batch of a sink, to finish what a kill left pending), the same
job appends the pending notes to their files in the notes folder (``sinks/_notes.py``: exactly
once, even across a kill; a refused note becomes a dead letter, counted in the batch's result).

With an :class:`sinks.Outbox`, the same job appends the batch's replies and being messages to
the outbox file right after the commit, and the batch's transaction records the lines the
passes before it wrote (``sinks/_outbox.py``: no transaction of the outbox's own per batch).

What survives a kill: every batch whose result was emitted is committed, with its goals, memory
blocks, principles and notes; a note committed but not yet in its file is appended by the next
start's first batch; an outbox line written but not recorded is resolved by the next start.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

import duckdb
import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import Disposable

from sinks._batch_operator import batch_rows
from sinks._notes import NOTES_MAX_BYTES, NotesResult, append_pending_notes
from sinks._outbox import Outbox
from sinks._row_batches import BatchResult, EncodedBatch, encode_rows, insert_encoded
from sinks._rows import Row
from sinks._writer import DuckWriter

__all__ = ["commit_then_notes", "from_concurrent_future", "write_batches"]

log = logging.getLogger("sinks")

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


def _with_notes(result: BatchResult, notes: NotesResult) -> BatchResult:
    """The batch's result with what its notes pass did (refused notes count as dead letters)."""
    refused = notes.refused
    inserted = dict(result.inserted)
    if refused:
        inserted["dead_letters"] = inserted.get("dead_letters", 0) + len(refused)
    return dataclasses.replace(
        result,
        dead_letters=result.dead_letters + len(refused),
        dead_letter_sources=result.dead_letter_sources + tuple(r.source for r in refused),
        dead_letter_reasons=result.dead_letter_reasons + tuple(r.reason for r in refused),
        inserted=inserted,
        notes_appended=notes.appended,
        notes_failed=notes.failed,
    )


def commit_then_notes(
    con: duckdb.DuckDBPyConnection,
    batch: EncodedBatch,
    *,
    notes: bool,
    notes_dir: str | Path | None = None,
    notes_max_bytes: int = NOTES_MAX_BYTES,
    outbox: Outbox | None = None,
) -> BatchResult:
    """Insert ``batch`` in one transaction, then append its outbox lines (with ``outbox``) and
    (when ``notes``) the pending notes to their files.

    A database error while marking the notes does not undo the committed batch: it is logged,
    the notes stay pending and count as failed. An outbox's I/O error leaves its lines in doubt
    for the next pass (``sinks/_outbox.py``).
    """
    if outbox is None:
        result = insert_encoded(con, batch)
    else:
        result = insert_encoded(con, batch, also=outbox.record_written)
        outbox.write_committed(con, result.episode_rows)
    if not notes:
        return result
    try:
        done = append_pending_notes(con, notes_dir=notes_dir, max_bytes=notes_max_bytes)
    except duckdb.Error as exc:
        log.error("sink.notes_failed", extra={"error": str(exc)})
        done = NotesResult(failed=result.inserted.get("notes", 0))
    return _with_notes(result, done)


def write_batches(
    writer: DuckWriter,
    *,
    max_rows: int,
    max_wait_s: float,
    name: str = "episodes",
    notes_dir: str | Path | None = None,
    notes_max_bytes: int = NOTES_MAX_BYTES,
    outbox: Outbox | None = None,
) -> Callable[[Observable[Row]], Observable[BatchResult]]:
    """Batch rows and write each batch in one transaction on ``writer``.

    Args:
        writer: the writer thread.
        max_rows: a batch is written when it holds this many rows...
        max_wait_s: ...or this many seconds after the previous batch was cut.
        name: the job name in errors and metrics.
        notes_dir: the folder notes are appended in; ``None``: ``notes`` beside the database.
        notes_max_bytes: the cap on a notes file's whole size.
        outbox: where each batch's replies and being messages are appended after its commit
            (``None``: nowhere); used on the writer thread only.
    """
    if notes_max_bytes < 1:
        raise ValueError(f"write_batches.notes_max_bytes: expected >= 1, got {notes_max_bytes}")
    first = [True]

    def submit(batch: list[Row]) -> Observable[BatchResult]:
        # Encoding here, on the producing thread, overlaps it with the writer's previous insert.
        encoded = encode_rows(batch)
        notes = first[0] or "notes" in encoded.result.inserted
        first[0] = False

        def job(con: duckdb.DuckDBPyConnection) -> BatchResult:
            return commit_then_notes(
                con, encoded, notes=notes, notes_dir=notes_dir, notes_max_bytes=notes_max_bytes, outbox=outbox
            )

        return from_concurrent_future(lambda: writer.submit(name, job))

    return reactivex.compose(batch_rows(max_rows, max_wait_s), ops.flat_map(submit))
