"""Writing a batch of rows: columns built once as Arrow, then one transaction on the writer thread.

Never ``executemany``: a batch becomes columnar Arrow arrays (:func:`encode_rows`, done on the
producing thread so it overlaps the previous batch's insert) and one
``INSERT INTO t SELECT ... FROM arrow_batch`` per table (:func:`insert_encoded`, on the writer
thread), all in one transaction. Rows flagged ``may_exist`` (recovered input) are inserted with
an anti-join on ``id`` so a recovery never writes a row twice; the normal path pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from sinks._recording_rows import ExchangeRow, RecordedEventRow, RunRow
from sinks._rows import Acknowledgement, DeadLetterRow, EpisodeRow, Row, to_json_bytes

__all__ = ["BatchResult", "EncodedBatch", "encode_rows", "insert_encoded", "insert_skipping_existing", "write_rows"]

_TS = pa.timestamp("us", tz="UTC")


def _strings(values: list[Any]) -> pa.Array:
    return pa.array(values, pa.string())


def _json(values: list[Any]) -> pa.Array:
    return pa.array([None if v is None else to_json_bytes(v) for v in values], pa.binary()).cast(pa.string())


def _times(values: list[Any]) -> pa.Array:
    return pa.array(values, _TS)


@dataclass(frozen=True, slots=True)
class _Table:
    """How one row type becomes one table's Arrow columns."""

    name: str
    columns: tuple[tuple[str, Callable[[list[Any]], pa.Array]], ...]
    dedup_on_id: bool

    @property
    def column_list(self) -> str:
        return ", ".join(name for name, _ in self.columns)

    def arrow(self, rows: Sequence[Any]) -> pa.Table:
        return pa.table({name: build([getattr(r, name) for r in rows]) for name, build in self.columns})


_TABLES: dict[type[Any], _Table] = {
    EpisodeRow: _Table(
        "episodes",
        (
            ("id", _strings),
            ("time", _times),
            ("type", _strings),
            ("description", _strings),
            ("outcome", _strings),
            ("data", _json),
        ),
        dedup_on_id=True,
    ),
    DeadLetterRow: _Table(
        "dead_letters",
        (("id", _strings), ("time", _times), ("source", _strings), ("reason", _strings), ("raw", _strings)),
        dedup_on_id=True,
    ),
    RecordedEventRow: _Table(
        "events",
        (
            ("run_id", _strings),
            ("seq", lambda v: pa.array(v, pa.int64())),
            ("id", _strings),
            ("time", _times),
            ("type", _strings),
            ("source", _strings),
            ("payload", _json),
        ),
        dedup_on_id=False,
    ),
    ExchangeRow: _Table(
        "llm_exchanges",
        (
            ("run_id", _strings),
            ("seq", lambda v: pa.array(v, pa.int64())),
            ("time", _times),
            ("key", _strings),
            ("operation", _strings),
            ("backend", _strings),
            ("request", _json),
            ("response", _json),
            ("error", _json),
            ("duration_s", lambda v: pa.array(v, pa.float64())),
            ("first_chunk_s", lambda v: pa.array(v, pa.float64())),
        ),
        dedup_on_id=False,
    ),
    RunRow: _Table(
        "runs",
        (
            ("run_id", _strings),
            ("started_at", _times),
            ("kind", _strings),
            ("service_version", _strings),
            ("settings", _json),
        ),
        dedup_on_id=False,
    ),
}


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one committed batch held."""

    episodes: int
    dead_letters: int
    event_ids: frozenset[str]
    episode_types: tuple[str, ...]
    dead_letter_sources: tuple[str, ...]
    dead_letter_reasons: tuple[str, ...]
    recorded_events: int = 0
    exchanges: int = 0


@dataclass(frozen=True, slots=True)
class EncodedBatch:
    """A batch ready to insert: (table, Arrow data, anti-join on id) per table, and what to report."""

    tables: tuple[tuple[_Table, pa.Table, bool], ...]
    result: BatchResult


def encode_rows(rows: Sequence[Row]) -> EncodedBatch:
    """Build the Arrow tables of a batch (pure; safe on any thread)."""
    by_type: dict[type[Any], list[Any]] = {}
    for row in rows:
        by_type.setdefault(type(row), []).append(row)
    acknowledged_only: list[Acknowledgement] = by_type.pop(Acknowledgement, [])
    tables: list[tuple[_Table, pa.Table, bool]] = []
    for kind, members in by_type.items():
        spec = _TABLES[kind]
        anti_join = spec.dedup_on_id and any(getattr(r, "may_exist", False) for r in members)
        tables.append((spec, spec.arrow(members), anti_join))
    episodes: list[EpisodeRow] = by_type.get(EpisodeRow, [])
    letters: list[DeadLetterRow] = by_type.get(DeadLetterRow, [])
    acknowledged: list[EpisodeRow | DeadLetterRow] = [*episodes, *letters]
    result = BatchResult(
        episodes=len(episodes),
        dead_letters=len(letters),
        event_ids=frozenset(r.event_id for r in acknowledged if r.event_id is not None)
        | frozenset(a.event_id for a in acknowledged_only),
        episode_types=tuple(r.type for r in episodes),
        dead_letter_sources=tuple(r.source for r in letters),
        dead_letter_reasons=tuple(r.reason for r in letters),
        recorded_events=len(by_type.get(RecordedEventRow, [])),
        exchanges=len(by_type.get(ExchangeRow, [])),
    )
    return EncodedBatch(tables=tuple(tables), result=result)


def _insert(con: duckdb.DuckDBPyConnection, spec: _Table, data: pa.Table, anti_join: bool) -> None:
    view = f"_batch_{spec.name}"
    columns = spec.column_list
    con.register(view, data)
    try:
        where = (
            f" WHERE id NOT IN (SELECT id FROM {spec.name} WHERE id IN (SELECT id FROM {view}))" if anti_join else ""
        )
        con.execute(f"INSERT INTO {spec.name} ({columns}) SELECT {columns} FROM {view}{where}")
    finally:
        con.unregister(view)


def insert_skipping_existing(con: duckdb.DuckDBPyConnection, rows: Sequence[Row]) -> BatchResult:
    """Insert rows inside the caller's transaction, skipping those whose id is already stored."""
    batch = encode_rows(rows)
    for spec, data, _ in batch.tables:
        _insert(con, spec, data, spec.dedup_on_id)
    return batch.result


def insert_encoded(con: duckdb.DuckDBPyConnection, batch: EncodedBatch) -> BatchResult:
    """Insert an encoded batch in one transaction (run it on the writer thread)."""
    con.execute("BEGIN TRANSACTION")
    try:
        for spec, data, anti_join in batch.tables:
            _insert(con, spec, data, anti_join)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return batch.result


def write_rows(con: duckdb.DuckDBPyConnection, rows: Sequence[Row]) -> BatchResult:
    """Encode and insert a batch in one call (for single writes such as ``system.start``)."""
    return insert_encoded(con, encode_rows(rows))
