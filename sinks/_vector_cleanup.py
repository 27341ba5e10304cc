"""Keeping vector memory bounded: a time-to-live and a maximum count, evicting the least used first.

Order of eviction beyond ``max_vectors``: fewest accesses, then oldest last access (never
accessed counts as oldest), then oldest creation, then id — so the vectors the being keeps
recalling stay. The time-to-live removes vectors not used (nor created) for ``ttl_days``.
Deletes run in batches of ``batch_rows``, one transaction each, and never VACUUM: DuckDB
reuses the freed space, and a ``CHECKPOINT`` at shutdown compacts what it can.
Access counts still in memory are written first, so the order uses every hit.

The count is also kept as vectors are written (:func:`bound_vectors`, after each committed
batch): once more than ``max_vectors`` are stored, the least used go until
``max_vectors - max_vectors // 100`` are left, so memory never holds more than ``max_vectors``
after a commit, and the eviction (a sort of the table's access columns, tens of milliseconds on
100,000 vectors) runs once per hundredth of ``max_vectors`` written, not on every batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from sinks._clock import utc_now
from sinks._sql import scalar, translated
from sinks._vector_access import flush_access
from sinks._vector_index import VectorIndex

__all__ = ["CleanupPolicy", "CleanupResult", "bound_vectors", "cleanup_vectors"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CleanupPolicy:
    """How much vector memory to keep.

    Args:
        max_vectors: at most this many vectors in all (every embedder together).
        ttl_days: vectors unused for this many days are removed (0: no time limit).
        batch_rows: rows deleted per transaction.

    Raises:
        ValueError: a value out of range.
    """

    max_vectors: int = 100_000
    ttl_days: float = 0.0
    batch_rows: int = 10_000

    def __post_init__(self) -> None:
        if self.max_vectors < 0:
            raise ValueError(f"CleanupPolicy.max_vectors: expected >= 0, got {self.max_vectors}")
        if self.ttl_days < 0:
            raise ValueError(f"CleanupPolicy.ttl_days: expected >= 0, got {self.ttl_days}")
        if self.batch_rows < 1:
            raise ValueError(f"CleanupPolicy.batch_rows: expected >= 1, got {self.batch_rows}")


@dataclass(frozen=True, slots=True)
class CleanupResult:
    """What a cleanup removed: ``expired`` by the time-to-live, ``evicted`` beyond the count."""

    expired: int
    evicted: int
    remaining: int


def _delete(con: duckdb.DuckDBPyConnection, select_ids: str, params: list[object], index: VectorIndex | None) -> int:
    """Delete the ids chosen by ``select_ids`` in one transaction; returns how many."""
    con.execute("BEGIN TRANSACTION")
    try:
        deleted = con.execute(f"DELETE FROM vectors WHERE id IN ({select_ids}) RETURNING id", params).fetchall()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if index is not None:
        index.remove(str(r[0]) for r in deleted)
    return len(deleted)


@translated("vector cleanup")
def cleanup_vectors(
    con: duckdb.DuckDBPyConnection,
    policy: CleanupPolicy,
    *,
    index: VectorIndex | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> CleanupResult:
    """Apply ``policy`` (run it on the writer thread); the index, when given, forgets what was deleted."""
    if index is not None:
        flush_access(con, index.access)
    expired = 0
    if policy.ttl_days > 0:
        cutoff = clock() - timedelta(days=policy.ttl_days)
        while True:
            n = _delete(
                con,
                "SELECT id FROM vectors WHERE coalesce(last_access, created_at) < ? LIMIT ?",
                [cutoff, policy.batch_rows],
                index,
            )
            expired += n
            if n < policy.batch_rows:
                break
    excess = int(scalar(con, "SELECT count(*) FROM vectors")) - policy.max_vectors
    evicted = _evict(con, excess, policy.batch_rows, index)
    remaining = int(scalar(con, "SELECT count(*) FROM vectors"))
    return CleanupResult(expired=expired, evicted=evicted, remaining=remaining)


def _evict(con: duckdb.DuckDBPyConnection, excess: int, batch_rows: int, index: VectorIndex | None) -> int:
    """Delete the ``excess`` least used vectors, ``batch_rows`` per transaction; returns how many."""
    evicted = 0
    while excess > 0:
        n = _delete(
            con,
            "SELECT id FROM vectors ORDER BY access_count, last_access NULLS FIRST, created_at, id LIMIT ?",
            [min(excess, batch_rows)],
            index,
        )
        evicted += n
        excess -= n
        if n == 0:
            break
    return evicted


def _low_water(max_vectors: int) -> int:
    return max_vectors - max_vectors // 100


@translated("bounding vector memory")
def bound_vectors(con: duckdb.DuckDBPyConnection, policy: CleanupPolicy, *, index: VectorIndex | None = None) -> int:
    """After a write: when more than ``policy.max_vectors`` are stored, evict the least used to 99 % of it.

    Run it on the writer thread; the index, when given, forgets what was deleted. Returns how many
    were evicted (0 while the count is within the bound: one ``count(*)``, about a millisecond).
    """
    stored = int(scalar(con, "SELECT count(*) FROM vectors"))
    if stored <= policy.max_vectors:
        return 0
    if index is not None:
        flush_access(con, index.access)
    return _evict(con, stored - _low_water(policy.max_vectors), policy.batch_rows, index)
