"""Prometheus series of what is stored: database and WAL size, vectors held, archival runs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sized
from concurrent.futures import Future
from pathlib import Path
from typing import Protocol

import duckdb
from prometheus_client import CollectorRegistry, Counter, Gauge

from sinks import SinkClosedError

__all__ = ["StorageMetrics"]

ARCHIVE_TRIGGERS = ("schedule", "request")
"""What started an archival run: the upkeep timer, or ``being archive`` (``POST /archive``)."""


class _Index(Sized, Protocol):
    def nbytes(self) -> int: ...


class _Writer(Protocol):
    def submit(self, name: str, job: Callable[[duckdb.DuckDBPyConnection], float]) -> Future[float]: ...


def _duckdb_bytes(con: duckdb.DuckDBPyConnection) -> float:
    row = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()
    return float(row[0] or 0) if row is not None else 0.0


class _Sampled:
    """A value read on the writer thread: each scrape reads the last result and asks for the next.

    The scrape never waits for the writer (it runs on the event loop); the value it reports is
    the one the previous scrape asked for.
    """

    def __init__(self, writer: _Writer) -> None:
        self._writer = writer
        self._last = 0.0
        self._asked: Future[float] | None = None

    def __call__(self) -> float:
        asked = self._asked
        if asked is not None and asked.done():
            self._asked = None
            if asked.exception() is None:
                self._last = asked.result()
        if self._asked is None:
            try:
                self._asked = self._writer.submit("metrics.duckdb_memory", _duckdb_bytes)
            except SinkClosedError:  # the service is stopping: the last value stays
                self._asked = None
        return self._last


def _free(folder: Path) -> float:
    try:
        return float(shutil.disk_usage(folder).free)
    except FileNotFoundError:
        return 0.0


def _size(path: Path) -> float:
    try:
        return float(os.stat(path).st_size)
    except FileNotFoundError:
        return 0.0


class StorageMetrics:
    """What the service stores, read at each scrape, and its archival runs.

    - ``being_database_bytes``, ``being_wal_bytes`` gauges: the DuckDB file and its write-ahead log
      (0 when the log is absent: everything is checkpointed)
    - ``being_disk_free_bytes`` gauge: free space on the database's file system (for this user)
    - ``being_vectors_stored`` gauge: vectors in the in-memory index (what ``/search`` searches)
    - ``being_vector_index_bytes`` gauge: bytes of that index's arrays (their spare capacity included)
    - ``being_duckdb_memory_bytes`` gauge: DuckDB's own memory (``duckdb_memory()``: its buffer pool
      and the rest it tracks), as read on the writer thread after the previous scrape
    - ``being_archive_runs_total{trigger,outcome}``, ``being_archived_episodes_total{trigger}``
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.database_bytes = Gauge("being_database_bytes", "Size of the DuckDB database file", registry=registry)
        self.wal_bytes = Gauge(
            "being_wal_bytes", "Size of the DuckDB write-ahead log (0: absent, all checkpointed)", registry=registry
        )
        self.disk_free = Gauge(
            "being_disk_free_bytes", "Free space on the file system of the database", registry=registry
        )
        self.vectors = Gauge("being_vectors_stored", "Vectors in the memory index", registry=registry)
        self.index_bytes = Gauge(
            "being_vector_index_bytes",
            "Bytes of the memory index's arrays (spare capacity included)",
            registry=registry,
        )
        self.duckdb_memory = Gauge(
            "being_duckdb_memory_bytes",
            "DuckDB's own memory (duckdb_memory()), as read on the writer thread after the previous scrape",
            registry=registry,
        )
        self.archive_runs = Counter(
            "being_archive_runs",
            "Archival runs, by what started them and how they ended",
            ["trigger", "outcome"],
            registry=registry,
        )
        self.archived = Counter(
            "being_archived_episodes",
            "Episodes moved to the Parquet archive, by trigger",
            ["trigger"],
            registry=registry,
        )
        for trigger in ARCHIVE_TRIGGERS:
            self.archived.labels(trigger=trigger)
            for outcome in ("success", "failure"):
                self.archive_runs.labels(trigger=trigger, outcome=outcome)

    def watch(self, database: Path, vectors: _Index) -> None:
        """Read the files' sizes and the index's length and size at each scrape."""
        wal = database.with_name(database.name + ".wal")
        self.database_bytes.set_function(lambda: _size(database))
        self.wal_bytes.set_function(lambda: _size(wal))
        self.disk_free.set_function(lambda: _free(database.parent))
        self.vectors.set_function(lambda: float(len(vectors)))
        self.index_bytes.set_function(lambda: float(vectors.nbytes()))

    def watch_duckdb_memory(self, writer: _Writer) -> None:
        """Read DuckDB's memory on the writer thread, one scrape behind (see :class:`_Sampled`)."""
        self.duckdb_memory.set_function(_Sampled(writer))

    def archive_run(self, trigger: str, archived: int | None) -> None:
        """One archival run ended: ``archived`` episodes moved, or ``None`` when it failed."""
        outcome = "failure" if archived is None else "success"
        self.archive_runs.labels(trigger=trigger, outcome=outcome).inc()
        if archived:
            self.archived.labels(trigger=trigger).inc(archived)
