"""The one writer: a dedicated thread that owns the DuckDB connection and runs write jobs in order.

The event loop never touches the disk and never waits for it: it submits a job (a function of
a cursor) and gets a ``concurrent.futures.Future`` back at once. Jobs run one at a time, in
submission order.

Admission never blocks (policy *admit and report*, see ``sinks/_job_queue.py``): the queue has
a bound (``max_pending``), and a job submitted at or over it is queued all the same and counted
(:meth:`WriterListener.admitted_over_bound`); memories are never dropped. What bounds the pile
is the sources' own admission (the inbox keeps at most ``inbox.max_pending_events`` events
unacknowledged). A source that wants to wait for room awaits :meth:`DuckWriter.room` (or the
future of :meth:`DuckWriter.wait_for_room`) before it submits.

What survives a kill: every job whose future has resolved is committed (DuckDB's WAL is
replayed on the next open). Queued jobs that had not run are lost, which is why sources
acknowledge their input only after the write that holds it has resolved; see
``docs/durability.md`` for the other faults and for :meth:`DuckWriter.checkpoint`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from sinks._job_queue import JobQueue
from sinks._schema import apply_schema
from sinks.errors import DatabaseBusyError, DatabaseInvalidatedError, SinkError

__all__ = ["DuckWriter", "WriterListener", "open_database"]

log = logging.getLogger("sinks")

R = TypeVar("R")
Job = Callable[[duckdb.DuckDBPyConnection], Any]


class WriterListener:
    """What the writer reports; the runtime maps it to metrics. The base reports nowhere.

    ``admitted_over_bound`` and ``queue_waited`` are called on the submitting thread (or the
    writer thread, for a waiter it releases); ``over_bound_ended`` and ``job_done`` on the
    writer thread.
    """

    def queue_waited(self, seconds: float) -> None:
        """A source waited ``seconds`` for room (:meth:`DuckWriter.room`) before it submitted."""

    def admitted_over_bound(self, pending: int) -> None:
        """A job was queued while ``pending`` jobs already waited, at or over the bound; it was not refused."""

    def over_bound_ended(self, seconds: float) -> None:
        """The queue had stayed at or over its bound for ``seconds`` and is below it again."""

    def job_done(self, name: str, seconds: float, failed: bool) -> None:
        """A job named ``name`` ran for ``seconds`` (``failed`` when it raised)."""


def open_database(
    path: str | Path, *, threads: int = 2, memory_limit_mb: int = 1024, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open (and create, with its folder) a database file and bring its schema up to date.

    Raises:
        DatabaseBusyError: another process holds the file.
        SinkError: the file cannot be opened or is not a DuckDB database.
    """
    target = Path(path)
    if not read_only:
        target.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int | float | list[str]] = {
        "threads": threads,
        "memory_limit": f"{memory_limit_mb}MB",
    }
    try:
        con = duckdb.connect(str(target), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusyError(f"{target} is held by another process (is `being run` running?)") from exc
        raise SinkError(f"cannot open {target}: {exc}") from exc
    except duckdb.Error as exc:
        raise SinkError(f"cannot open {target}: {exc}") from exc
    if not read_only:
        try:
            apply_schema(con)
        except duckdb.Error as exc:
            con.close()
            raise SinkError(f"cannot bring the schema of {target} up to date: {exc}") from exc
    return con


def _checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CHECKPOINT")


class DuckWriter:
    """Owns one DuckDB connection and the thread that writes through it.

    Args:
        connection: an open connection (see :func:`open_database`); the writer closes it.
        max_pending: the queue's bound: from this many waiting jobs on, ``has_room`` is false and
            further jobs are admitted over the bound (queued and counted, never refused).
        listener: receives admissions over the bound, waits for room and job durations.
        clock: monotonic seconds, for durations.
    """

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        *,
        max_pending: int = 256,
        listener: WriterListener | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._con = connection
        self._queue: JobQueue[tuple[str, Job, Future[Any]]] = JobQueue(max_pending, clock=clock)
        self._listener = listener or WriterListener()
        self._clock = clock
        self._invalidated: DatabaseInvalidatedError | None = None
        self._thread = threading.Thread(target=self._run, name="duckdb-writer", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """True while the writer thread runs and its database is usable (not invalidated)."""
        return self._thread.is_alive() and self._invalidated is None

    @property
    def invalidated(self) -> DatabaseInvalidatedError | None:
        """The fatal error that invalidated the database (every later job fails with it), if any."""
        return self._invalidated

    @property
    def pending(self) -> int:
        """Jobs waiting to run (the one running is not counted)."""
        return len(self._queue)

    @property
    def bound(self) -> int:
        """The queue's bound (``max_pending``)."""
        return self._queue.bound

    @property
    def has_room(self) -> bool:
        """True while fewer than ``bound`` jobs wait (and the writer is open)."""
        return self._queue.has_room

    def submit(self, name: str, job: Callable[[duckdb.DuckDBPyConnection], R]) -> Future[R]:
        """Queue ``job`` to run on the writer thread; returns at once, whatever the queue holds.

        A job submitted while the queue is at or over its bound is queued all the same and
        reported to the listener (:meth:`WriterListener.admitted_over_bound`).

        Raises:
            SinkClosedError: the writer is closed.
        """
        future: Future[R] = Future()
        before = self._queue.put((name, job, future), name)
        if before >= self._queue.bound:
            self._listener.admitted_over_bound(before)
        return future

    def wait_for_room(self, what: str = "submitter") -> Future[None]:
        """A future that resolves once the queue is below its bound (already resolved if it is now).

        The time it took is reported to the listener (:meth:`WriterListener.queue_waited`) when
        there was a wait. Cancel it to give up.

        Raises:
            SinkClosedError: the writer is closed.
        """
        room = self._queue.room(what)
        if not room.done():
            started = self._clock()

            def waited(fut: Future[None]) -> None:
                if not fut.cancelled():
                    self._listener.queue_waited(self._clock() - started)

            room.add_done_callback(waited)
        return room

    async def room(self, what: str = "submitter") -> None:
        """Wait, on the event loop, until the queue is below its bound; returns at once if it is.

        Raises:
            SinkClosedError: the writer is closed.
        """
        if self._queue.has_room:
            return
        await asyncio.wrap_future(self.wait_for_room(what))

    def call(self, name: str, job: Callable[[duckdb.DuckDBPyConnection], R], timeout_s: float | None = None) -> R:
        """Run ``job`` on the writer thread and wait for its result (never on the event loop)."""
        return self.submit(name, job).result(timeout=timeout_s)

    def checkpoint(self) -> Future[None]:
        """Run DuckDB's ``CHECKPOINT`` on the writer thread, after every job queued before it.

        When the future resolves, every row committed by those jobs is in the main database
        file (written and synced; the WAL is emptied), so input that they acknowledge may be
        let go (see ``docs/durability.md``). On failure it fails with :class:`SinkError`, or
        with :class:`DatabaseInvalidatedError` when DuckDB invalidated the database (a full disk
        during a checkpoint does that).

        Raises:
            SinkClosedError: the writer is closed.
        """
        return self.submit("checkpoint", _checkpoint)

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A cursor of the same database for reads from another thread (one per thread)."""
        return self._con.cursor()

    def close(self, *, checkpoint: bool = True, timeout_s: float | None = None) -> bool:
        """Run every queued job, checkpoint, close the connection.

        Returns:
            True when the thread finished within ``timeout_s``; False when it did not
            (the connection is then left to the process's exit, and the WAL to the next open).
        """
        if not self._queue.close():
            return not self._thread.is_alive()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            return False
        try:
            if checkpoint and self._invalidated is None:
                self._con.execute("CHECKPOINT")
        except duckdb.Error as exc:
            # the process is stopping and nothing is left to hand it to; the WAL keeps the rows
            log.error("sink.checkpoint_failed", extra={"error": str(exc)})
        finally:
            self._con.close()
        return True

    def _run(self) -> None:
        cursor = self._con.cursor()
        try:
            while True:
                item, over_for = self._queue.get()
                if over_for is not None:
                    self._listener.over_bound_ended(over_for)
                if item is None:
                    return
                name, job, future = item
                if future.set_running_or_notify_cancel():
                    self._run_one(cursor, name, job, future)
        finally:
            cursor.close()

    def _run_one(self, cursor: duckdb.DuckDBPyConnection, name: str, job: Job, future: Future[Any]) -> None:
        started = self._clock()
        if self._invalidated is not None:
            refused = DatabaseInvalidatedError(f"{name}: not run, the database was invalidated: {self._invalidated}")
            refused.__cause__ = self._invalidated
            self._listener.job_done(name, self._clock() - started, failed=True)
            future.set_exception(refused)
            return
        try:
            result = job(cursor)
        except duckdb.FatalException as exc:
            # DuckDB refuses every later statement until the database is opened again
            self._listener.job_done(name, self._clock() - started, failed=True)
            fatal = DatabaseInvalidatedError(f"{name}: {exc}")
            fatal.__cause__ = exc
            self._invalidated = fatal
            log.error("sink.database_invalidated", extra={"job": name, "error": str(exc)})
            future.set_exception(fatal)
        except duckdb.Error as exc:
            self._listener.job_done(name, self._clock() - started, failed=True)
            error = SinkError(f"{name}: {exc}")
            error.__cause__ = exc
            future.set_exception(error)
        except Exception as exc:  # noqa: BLE001 - any failure is handed to the submitter, not lost
            self._listener.job_done(name, self._clock() - started, failed=True)
            future.set_exception(exc)
        else:
            self._listener.job_done(name, self._clock() - started, failed=False)
            future.set_result(result)
