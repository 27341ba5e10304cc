"""Writing a batch of rows: columns built once as Arrow, then one transaction on the writer thread.

Never ``executemany``: a batch becomes columnar Arrow arrays (:func:`encode_rows`, done on the
producing thread so it overlaps the previous batch's insert) and one
``INSERT INTO t SELECT ... FROM arrow_batch`` per table (:func:`insert_encoded`, on the writer
thread). Rows flagged ``may_exist`` (recovered input) are inserted with an anti-join on ``id``
so a recovery never writes a row twice; the normal path pays nothing for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from sinks._rows import DeadLetterRow, EpisodeRow, Row, to_json_bytes

__all__ = ["BatchResult", "EncodedBatch", "encode_rows", "insert_encoded", "write_rows"]

_TS = pa.timestamp("us", tz="UTC")
_EPISODE_COLUMNS = "id, time, type, description, outcome, data"
_DEAD_LETTER_COLUMNS = "id, time, source, reason, raw"


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one committed batch held."""

    episodes: int
    dead_letters: int
    event_ids: frozenset[str]
    episode_types: tuple[str, ...]
    dead_letter_sources: tuple[str, ...]
    dead_letter_reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EncodedBatch:
    """A batch ready to insert: one Arrow table per target table, and what to report once committed."""

    episodes: pa.Table | None
    episodes_may_exist: bool
    dead_letters: pa.Table | None
    dead_letters_may_exist: bool
    result: BatchResult


def _episodes_table(rows: Sequence[EpisodeRow]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array([r.id for r in rows], pa.string()),
            "time": pa.array([r.time for r in rows], _TS),
            "type": pa.array([r.type for r in rows], pa.string()),
            "description": pa.array([r.description for r in rows], pa.string()),
            "outcome": pa.array([r.outcome for r in rows], pa.string()),
            "data": pa.array([to_json_bytes(r.data) for r in rows], pa.binary()).cast(pa.string()),
        }
    )


def _dead_letters_table(rows: Sequence[DeadLetterRow]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array([r.id for r in rows], pa.string()),
            "time": pa.array([r.time for r in rows], _TS),
            "source": pa.array([r.source for r in rows], pa.string()),
            "reason": pa.array([r.reason for r in rows], pa.string()),
            "raw": pa.array([r.raw for r in rows], pa.string()),
        }
    )


def encode_rows(rows: Sequence[Row]) -> EncodedBatch:
    """Build the Arrow tables of a batch (pure; safe on any thread)."""
    episodes = [r for r in rows if isinstance(r, EpisodeRow)]
    letters = [r for r in rows if isinstance(r, DeadLetterRow)]
    result = BatchResult(
        episodes=len(episodes),
        dead_letters=len(letters),
        event_ids=frozenset(r.event_id for r in rows if r.event_id is not None),
        episode_types=tuple(r.type for r in episodes),
        dead_letter_sources=tuple(r.source for r in letters),
        dead_letter_reasons=tuple(r.reason for r in letters),
    )
    return EncodedBatch(
        episodes=_episodes_table(episodes) if episodes else None,
        episodes_may_exist=any(r.may_exist for r in episodes),
        dead_letters=_dead_letters_table(letters) if letters else None,
        dead_letters_may_exist=any(r.may_exist for r in letters),
        result=result,
    )


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: str, data: pa.Table, anti_join: bool) -> None:
    view = f"_batch_{table}"
    con.register(view, data)
    try:
        where = f" WHERE id NOT IN (SELECT id FROM {table} WHERE id IN (SELECT id FROM {view}))" if anti_join else ""
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {view}{where}")
    finally:
        con.unregister(view)


def insert_encoded(con: duckdb.DuckDBPyConnection, batch: EncodedBatch) -> BatchResult:
    """Insert an encoded batch in one transaction (run it on the writer thread)."""
    con.execute("BEGIN TRANSACTION")
    try:
        if batch.episodes is not None:
            _insert(con, "episodes", _EPISODE_COLUMNS, batch.episodes, batch.episodes_may_exist)
        if batch.dead_letters is not None:
            _insert(con, "dead_letters", _DEAD_LETTER_COLUMNS, batch.dead_letters, batch.dead_letters_may_exist)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return batch.result


def write_rows(con: duckdb.DuckDBPyConnection, rows: Sequence[Row]) -> BatchResult:
    """Encode and insert a batch in one call (for single writes such as ``system.start``)."""
    return insert_encoded(con, encode_rows(rows))
