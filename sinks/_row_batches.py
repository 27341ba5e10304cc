"""Writing a batch of rows: one transaction, each table's rows as one Arrow table.

Never ``executemany``: a batch becomes columnar Arrow arrays and one
``INSERT INTO t SELECT ... FROM arrow_batch`` per table, the fastest bulk path DuckDB
has from Python. Rows flagged ``may_exist`` (recovered input) are inserted with an
anti-join on ``id`` so a recovery never writes a row twice; the normal path pays nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from sinks._rows import DeadLetterRow, EpisodeRow, Row, to_json

__all__ = ["BatchResult", "write_rows"]

_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one committed batch held."""

    episodes: int
    dead_letters: int
    event_ids: frozenset[str]
    episode_types: tuple[str, ...]
    dead_letter_sources: tuple[str, ...]
    dead_letter_reasons: tuple[str, ...]


def _episodes_table(rows: Sequence[EpisodeRow]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array([r.id for r in rows], pa.string()),
            "time": pa.array([r.time for r in rows], _TS),
            "type": pa.array([r.type for r in rows], pa.string()),
            "description": pa.array([r.description for r in rows], pa.string()),
            "outcome": pa.array([r.outcome for r in rows], pa.string()),
            "data": pa.array([to_json(r.data) for r in rows], pa.string()),
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


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: str, data: pa.Table, anti_join: bool) -> None:
    view = f"_batch_{table}"
    con.register(view, data)
    try:
        where = f" WHERE id NOT IN (SELECT id FROM {table} WHERE id IN (SELECT id FROM {view}))" if anti_join else ""
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {view}{where}")
    finally:
        con.unregister(view)


def write_rows(con: duckdb.DuckDBPyConnection, rows: Sequence[Row]) -> BatchResult:
    """Write a batch of episodes and dead letters in one transaction (run it on the writer thread)."""
    episodes = [r for r in rows if isinstance(r, EpisodeRow)]
    letters = [r for r in rows if isinstance(r, DeadLetterRow)]
    con.execute("BEGIN TRANSACTION")
    try:
        if episodes:
            _insert(
                con,
                "episodes",
                "id, time, type, description, outcome, data",
                _episodes_table(episodes),
                any(r.may_exist for r in episodes),
            )
        if letters:
            _insert(
                con,
                "dead_letters",
                "id, time, source, reason, raw",
                _dead_letters_table(letters),
                any(r.may_exist for r in letters),
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return BatchResult(
        episodes=len(episodes),
        dead_letters=len(letters),
        event_ids=frozenset(r.event_id for r in rows if r.event_id is not None),
        episode_types=tuple(r.type for r in episodes),
        dead_letter_sources=tuple(r.source for r in letters),
        dead_letter_reasons=tuple(r.reason for r in letters),
    )
