"""The one writer: a dedicated thread that owns the DuckDB connection and runs write jobs in order.

The event loop never touches the disk: it submits a job (a function of a cursor) and gets a
``concurrent.futures.Future``. Jobs run one at a time, in submission order. The queue is
bounded; a submitter blocks while it is full (backpressure, counted by the listener).

What survives a kill: every job whose future has resolved is committed (DuckDB's WAL is
replayed on the next open). Queued jobs that had not run are lost, which is why sources
acknowledge their input only after the write that holds it has resolved.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from sinks._schema import apply_schema
from sinks.errors import DatabaseBusyError, SinkClosedError, SinkError

__all__ = ["DuckWriter", "WriterListener", "open_database"]

log = logging.getLogger("sinks")

R = TypeVar("R")
Job = Callable[[duckdb.DuckDBPyConnection], Any]


class WriterListener:
    """What the writer reports; the runtime maps it to metrics. The base reports nowhere."""

    def queue_waited(self, seconds: float) -> None:
        """A submitter waited ``seconds`` for room in the queue."""

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


class _Stop:
    pass


class DuckWriter:
    """Owns one DuckDB connection and the thread that writes through it.

    Args:
        connection: an open connection (see :func:`open_database`); the writer closes it.
        max_pending: jobs that may wait; ``submit`` blocks beyond that.
        listener: receives queue waits and job durations.
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
        self._queue: queue.Queue[tuple[str, Job, Future[Any]] | _Stop] = queue.Queue(maxsize=max_pending)
        self._listener = listener or WriterListener()
        self._clock = clock
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="duckdb-writer", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """True while the writer thread runs."""
        return self._thread.is_alive()

    @property
    def pending(self) -> int:
        """Jobs waiting to run."""
        return self._queue.qsize()

    def submit(self, name: str, job: Callable[[duckdb.DuckDBPyConnection], R]) -> Future[R]:
        """Queue ``job`` to run on the writer thread; blocks while the queue is full.

        Raises:
            SinkClosedError: the writer is closed.
        """
        future: Future[R] = Future()
        with self._lock:
            if self._closed:
                raise SinkClosedError(f"writer closed; job {name!r} not run")
        started = self._clock()
        try:
            self._queue.put_nowait((name, job, future))
        except queue.Full:
            self._queue.put((name, job, future))
            self._listener.queue_waited(self._clock() - started)
        return future

    def call(self, name: str, job: Callable[[duckdb.DuckDBPyConnection], R], timeout_s: float | None = None) -> R:
        """Run ``job`` on the writer thread and wait for its result."""
        return self.submit(name, job).result(timeout=timeout_s)

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A cursor of the same database for reads from another thread (one per thread)."""
        return self._con.cursor()

    def close(self, *, checkpoint: bool = True, timeout_s: float | None = None) -> bool:
        """Run every queued job, checkpoint, close the connection.

        Returns:
            True when the thread finished within ``timeout_s``; False when it did not
            (the connection is then left to the process's exit, and the WAL to the next open).
        """
        with self._lock:
            if self._closed:
                return not self._thread.is_alive()
            self._closed = True
        try:
            self._queue.put(_Stop(), timeout=timeout_s)
        except queue.Full:
            return False
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            return False
        try:
            if checkpoint:
                self._con.execute("CHECKPOINT")
        except duckdb.Error as exc:
            log.error("sink.checkpoint_failed", extra={"error": str(exc)})
        finally:
            self._con.close()
        return True

    def _run(self) -> None:
        cursor = self._con.cursor()
        try:
            while True:
                item = self._queue.get()
                if isinstance(item, _Stop):
                    return
                name, job, future = item
                if not future.set_running_or_notify_cancel():
                    continue
                started = self._clock()
                try:
                    result = job(cursor)
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
        finally:
            cursor.close()
