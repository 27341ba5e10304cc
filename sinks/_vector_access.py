"""Access statistics of vectors: counted in memory on each search hit, written in batches.

A search must not write (it runs beside the writer, often many times a second), so hits are
counted here and :func:`flush_access` adds them to ``access_count``/``last_access`` in one
``UPDATE ... FROM`` per flush. What a kill loses: the hits counted since the last flush, which
only makes a few vectors look less used to the cleanup.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime

import duckdb
import pyarrow as pa

from sinks._sql import translated

__all__ = ["AccessLog", "flush_access"]

_TS = pa.timestamp("us", tz="UTC")


class AccessLog:
    """Hits per vector id since the last flush (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, tuple[int, datetime]] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._hits)

    def record(self, ids: Iterable[str], time: datetime) -> None:
        """Count one hit for each id at ``time``."""
        with self._lock:
            for vid in ids:
                count, last = self._hits.get(vid, (0, time))
                self._hits[vid] = (count + 1, max(last, time))

    def take(self) -> dict[str, tuple[int, datetime]]:
        """Everything counted so far; the log is empty afterwards."""
        with self._lock:
            taken, self._hits = self._hits, {}
        return taken

    def give_back(self, hits: dict[str, tuple[int, datetime]]) -> None:
        """Return hits whose write failed, so the next flush writes them."""
        with self._lock:
            for vid, (count, last) in hits.items():
                old_count, old_last = self._hits.get(vid, (0, last))
                self._hits[vid] = (old_count + count, max(old_last, last))


@translated("writing access statistics")
def flush_access(con: duckdb.DuckDBPyConnection, log: AccessLog) -> int:
    """Write the counted hits in one transaction (run it on the writer thread); returns the ids updated.

    Hits of vectors deleted meanwhile are dropped. If the write fails the hits go back to the log
    and the error is raised.
    """
    hits = log.take()
    if not hits:
        return 0
    ids = list(hits)
    table = pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "hits": pa.array([hits[i][0] for i in ids], pa.int64()),
            "last": pa.array([hits[i][1] for i in ids], _TS),
        }
    )
    con.register("_access_batch", table)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            row = con.execute(
                "UPDATE vectors SET access_count = vectors.access_count + b.hits, "
                "last_access = greatest(coalesce(vectors.last_access, b.last), b.last) "
                "FROM _access_batch b WHERE vectors.id = b.id RETURNING vectors.id"
            ).fetchall()
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            log.give_back(hits)
            raise
    finally:
        con.unregister("_access_batch")
    return len(row)
