"""Writing a batch of rows: columns built once as Arrow, then one transaction on the writer thread.

Never ``executemany``: a batch becomes columnar Arrow arrays (:func:`encode_rows`, done on the
producing thread so it overlaps the previous batch's insert) and one
``INSERT INTO t SELECT ... FROM arrow_batch`` per table (:func:`insert_encoded`, on the writer
thread), all in one transaction. The rows of a table that hold a ``may_exist`` row (recovered
input) are inserted with an anti-join on ``id`` that returns the ids it inserted (one statement
per table), so a recovery never writes a row twice and :class:`BatchResult` says exactly which
rows were inserted and how many were skipped as already stored. A batch with no ``may_exist``
row pays nothing for it: its result is built with its Arrow columns, before it reaches the
writer thread.

The mind's rows are keyed: a :class:`GoalRow` replaces the stored goal with its ``id`` and a
:class:`MemoryBlockRow` the block with its ``name`` (delete then insert, in the batch's
transaction; within a batch the last version of a key wins), a :class:`PrincipleRow` is stored
once per text (compared lower-cased with runs of white space made one, against the table and
within the batch), and a :class:`NoteRow` once per ``id``, as a pending note whose text
:func:`sinks.append_pending_notes` appends to its file after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
import pyarrow as pa

from sinks._mind_rows import GoalRow, MemoryBlockRow, NoteRow, PrincipleRow, principle_key
from sinks._recording_rows import ExchangeRow, RecordedEventRow, RunRow, SeedPartRow
from sinks._rows import Acknowledgement, DeadLetterRow, EpisodeRow, Row, to_json_column

__all__ = ["BatchResult", "EncodedBatch", "encode_rows", "insert_encoded", "insert_skipping_existing", "write_rows"]

_TS = pa.timestamp("us", tz="UTC")


def _strings(values: list[Any]) -> pa.Array:
    return pa.array(values, pa.string())


def _json(values: list[Any]) -> pa.Array:
    return pa.array(to_json_column(values), pa.string())


def _times(values: list[Any]) -> pa.Array:
    return pa.array(values, _TS)


_Mode = Literal["append", "upsert", "once_per_text", "new_ids"]
"""How a table takes a batch's rows: ``append`` them; ``upsert`` (replace the rows with the same
``key``); ``once_per_text`` (leave out a text already stored); ``new_ids`` (leave out an id already
stored, always checked)."""

# The same normalisation as sinks.principle_key, in SQL.
_PRINCIPLE_KEY_SQL = "lower(trim(regexp_replace({}, '\\s+', ' ', 'g')))"


@dataclass(frozen=True, slots=True)
class _Table:
    """How one row type becomes one table's Arrow columns."""

    name: str
    columns: tuple[tuple[str, Callable[[list[Any]], pa.Array]], ...]
    dedup_on_id: bool
    mode: _Mode = "append"
    key: str = "id"

    @property
    def column_list(self) -> str:
        return ", ".join(name for name, _ in self.columns)

    def arrow(self, rows: Sequence[Any]) -> pa.Table:
        if rows and getattr(rows[0], "_fields", None) == tuple(name for name, _ in self.columns):
            # named tuples whose fields are the columns, in order (RecordedEventRow): one zip makes the columns
            return pa.table(
                {
                    name: build(list(values))
                    for (name, build), values in zip(self.columns, zip(*rows, strict=True), strict=True)
                }
            )
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
    SeedPartRow: _Table(
        "run_seeds",
        (
            ("run_id", _strings),
            ("time", _times),
            ("seq", lambda v: pa.array(v, pa.int64())),
            ("part", _strings),
            ("body", _json),
        ),
        dedup_on_id=False,
    ),
    GoalRow: _Table(
        "goals",
        (
            ("id", _strings),
            ("text", _strings),
            ("status", _strings),
            ("due", _times),
            ("created", _times),
            ("done", _times),
            ("time", _times),
            ("source", _strings),
        ),
        dedup_on_id=False,
        mode="upsert",
    ),
    MemoryBlockRow: _Table(
        "memory_blocks",
        (("name", _strings), ("text", _strings), ("time", _times)),
        dedup_on_id=False,
        mode="upsert",
        key="name",
    ),
    PrincipleRow: _Table(
        "principles",
        (("time", _times), ("text", _strings), ("source", _strings)),
        dedup_on_id=False,
        mode="once_per_text",
        key="text",
    ),
    NoteRow: _Table(
        "notes",
        (("id", _strings), ("path", _strings), ("text", _strings), ("time", _times)),
        dedup_on_id=False,
        mode="new_ids",
    ),
}


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one committed batch did.

    Attributes:
        episodes: episodes inserted (rows skipped as already stored are not counted).
        dead_letters: dead letters inserted.
        event_ids: every event whose rows are now stored, inserted by this batch or found
            already stored (skipped), so its input may be acknowledged.
        episode_types: the type of each inserted episode.
        dead_letter_sources: the source of each inserted dead letter.
        dead_letter_reasons: the reason of each inserted dead letter.
        recorded_events: recorded event rows inserted.
        exchanges: LLM exchange rows inserted.
        inserted: rows inserted, by table, for every table the batch held rows of.
        skipped: rows not inserted because their id was already stored, by table (only the
            tables where some were skipped).
        notes_appended: notes appended to their files after the commit (see ``sinks/_notes.py``).
        notes_failed: notes left pending by an I/O error, to be tried again.
        episode_ids: the id of each inserted episode (beside ``episode_types``).
        episode_rows: the inserted episodes themselves, in the batch's order (the live stream's source).
    """

    episodes: int
    dead_letters: int
    event_ids: frozenset[str]
    episode_types: tuple[str, ...]
    dead_letter_sources: tuple[str, ...]
    dead_letter_reasons: tuple[str, ...]
    recorded_events: int = 0
    exchanges: int = 0
    inserted: Mapping[str, int] = field(default_factory=dict)
    skipped: Mapping[str, int] = field(default_factory=dict)
    notes_appended: int = 0
    notes_failed: int = 0
    episode_ids: tuple[str, ...] = ()
    episode_rows: tuple[EpisodeRow, ...] = ()

    @property
    def rows(self) -> int:
        """Every row the batch held: inserted and skipped, all tables."""
        return sum(self.inserted.values()) + sum(self.skipped.values())


@dataclass(frozen=True, slots=True)
class _Part:
    """One table's share of a batch: its rows, their Arrow columns, and whether some may be stored already."""

    kind: type[Any]
    spec: _Table
    rows: Sequence[Any]
    data: pa.Table
    may_exist: bool


@dataclass(frozen=True, slots=True)
class EncodedBatch:
    """A batch ready to insert: one part per table, and its result if no row is skipped."""

    tables: tuple[_Part, ...]
    result: BatchResult


def _summary(
    parts: Mapping[type[Any], Sequence[Any]], event_ids: frozenset[str], skipped: Mapping[str, int]
) -> BatchResult:
    """The result of inserting ``parts`` (the rows actually inserted, by row type)."""
    episodes: Sequence[EpisodeRow] = parts.get(EpisodeRow, ())
    letters: Sequence[DeadLetterRow] = parts.get(DeadLetterRow, ())
    return BatchResult(
        episodes=len(episodes),
        dead_letters=len(letters),
        event_ids=event_ids,
        episode_types=tuple(r.type for r in episodes),
        episode_ids=tuple(r.id for r in episodes),
        dead_letter_sources=tuple(r.source for r in letters),
        dead_letter_reasons=tuple(r.reason for r in letters),
        recorded_events=len(parts.get(RecordedEventRow, ())),
        exchanges=len(parts.get(ExchangeRow, ())),
        inserted={_TABLES[kind].name: len(members) for kind, members in parts.items()},
        skipped=skipped,
        episode_rows=tuple(episodes),
    )


def encode_rows(rows: Sequence[Row]) -> EncodedBatch:
    """Build the Arrow tables of a batch (pure; safe on any thread)."""
    by_type: dict[type[Any], list[Any]] = {}
    for row in rows:
        by_type.setdefault(type(row), []).append(row)
    acknowledged_only: list[Acknowledgement] = by_type.pop(Acknowledgement, [])
    tables: list[_Part] = []
    dropped: dict[str, int] = {}
    for kind, members in list(by_type.items()):
        spec = _TABLES[kind]
        may_exist = spec.dedup_on_id and any(getattr(r, "may_exist", False) for r in members)
        if spec.mode != "append":
            kept = _one_per_key(spec, members)
            if len(kept) < len(members):
                dropped[spec.name] = len(members) - len(kept)
                by_type[kind] = members = kept
        elif may_exist:
            kept = _first_of_each_id(members)
            if len(kept) < len(members):
                dropped[spec.name] = len(members) - len(kept)
                by_type[kind] = members = kept
        tables.append(_Part(kind, spec, members, spec.arrow(members), may_exist))
    acknowledged = [*by_type.get(EpisodeRow, ()), *by_type.get(DeadLetterRow, ())]
    event_ids = frozenset(r.event_id for r in acknowledged if r.event_id is not None) | frozenset(
        a.event_id for a in acknowledged_only
    )
    return EncodedBatch(tables=tuple(tables), result=_summary(by_type, event_ids, dropped))


def _first_of_each_id(rows: list[Any]) -> list[Any]:
    """Drop a ``may_exist`` row whose id came earlier in the same batch.

    The anti-join on insert sees only what the table already holds, so an original row and its
    recovered copy in one batch (a replay of a recording with a crash recovery in it) would both
    be stored. Every copy still acknowledges its event.
    """
    seen: set[str] = set()
    kept: list[Any] = []
    for row in rows:
        if row.may_exist and row.id in seen:
            continue
        seen.add(row.id)
        kept.append(row)
    return kept


def _one_per_key(spec: _Table, rows: list[Any]) -> list[Any]:
    """One row per key within a batch: the last version for an upsert, the first otherwise."""
    if spec.mode == "upsert":
        last: dict[Any, Any] = {}
        for row in rows:
            last.pop(getattr(row, spec.key), None)  # re-inserted: the order of the last versions
            last[getattr(row, spec.key)] = row
        return list(last.values())
    key: Callable[[Any], Any] = (
        (lambda r: principle_key(r.text)) if spec.mode == "once_per_text" else (lambda r: getattr(r, spec.key))
    )
    seen: set[Any] = set()
    kept: list[Any] = []
    for row in rows:
        if key(row) not in seen:
            seen.add(key(row))
            kept.append(row)
    return kept


def _write_keyed(con: duckdb.DuckDBPyConnection, part: _Part) -> list[Any]:
    """Write a keyed table's part (see ``_Mode``); returns the rows actually written."""
    spec = part.spec
    columns = spec.column_list
    # found by name in the statements below, as in _insert (no view registered and dropped)
    _being_arrow_batch = part.data
    if spec.mode == "upsert":
        con.execute(f"DELETE FROM {spec.name} WHERE {spec.key} IN (SELECT {spec.key} FROM _being_arrow_batch)")
        con.execute(f"INSERT INTO {spec.name} ({columns}) SELECT {columns} FROM _being_arrow_batch")
        return list(part.rows)
    if spec.mode == "once_per_text":
        stored = _PRINCIPLE_KEY_SQL.format("text")
        written = con.execute(
            f"INSERT INTO {spec.name} ({columns}) SELECT {columns} FROM _being_arrow_batch"
            f" WHERE {_PRINCIPLE_KEY_SQL.format('_being_arrow_batch.text')} NOT IN (SELECT {stored} FROM {spec.name})"
            " RETURNING text"
        ).fetchall()
        texts = {row[0] for row in written}
        return [r for r in part.rows if r.text in texts]
    inserted = _insert_new(con, spec, part.data)
    return [r for r in part.rows if r.id in inserted]


def _insert(con: duckdb.DuckDBPyConnection, spec: _Table, data: pa.Table) -> None:
    # DuckDB finds the Arrow table by the local variable's name (a replacement scan): measured with
    # a 10-row batch, half the cost of registering a view and dropping it again (0.8 ms, 1.7 ms)
    _being_arrow_batch = data  # read by name in the statement below
    columns = spec.column_list
    con.execute(f"INSERT INTO {spec.name} ({columns}) SELECT {columns} FROM _being_arrow_batch")


def _insert_new(con: duckdb.DuckDBPyConnection, spec: _Table, data: pa.Table) -> set[str]:
    """Insert the rows whose id the table does not hold yet; one statement, which returns the ids it inserted."""
    _being_arrow_batch = data  # read by name in the statement below (see _insert)
    columns = spec.column_list
    inserted = con.execute(
        f"INSERT INTO {spec.name} ({columns}) SELECT {columns} FROM _being_arrow_batch"
        f" WHERE id NOT IN (SELECT id FROM {spec.name} WHERE id IN (SELECT id FROM _being_arrow_batch)) RETURNING id"
    ).fetchall()
    return {row[0] for row in inserted}


def _insert_parts(con: duckdb.DuckDBPyConnection, batch: EncodedBatch, *, check_all: bool) -> BatchResult:
    """Insert every part, leaving out rows already stored where they may be; no transaction of its own."""
    kept: dict[type[Any], Sequence[Any]] = {}
    skipped: dict[str, int] = dict(batch.result.skipped)  # repeats within the batch, dropped when encoded
    found = False
    for part in batch.tables:
        if part.spec.mode != "append":
            rows = _write_keyed(con, part)
            if len(rows) < len(part.rows):
                skipped[part.spec.name] = skipped.get(part.spec.name, 0) + len(part.rows) - len(rows)
                found = True
            kept[part.kind] = rows
            continue
        if not (part.may_exist or (check_all and part.spec.dedup_on_id)):
            _insert(con, part.spec, part.data)
            kept[part.kind] = part.rows
            continue
        inserted = _insert_new(con, part.spec, part.data)
        rows = [r for r in part.rows if r.id in inserted]
        if len(rows) < len(part.rows):
            skipped[part.spec.name] = skipped.get(part.spec.name, 0) + len(part.rows) - len(rows)
            found = True
        kept[part.kind] = rows
    if not found:
        return batch.result
    return _summary(kept, batch.result.event_ids, skipped)


def insert_skipping_existing(con: duckdb.DuckDBPyConnection, rows: Sequence[Row]) -> BatchResult:
    """Insert rows inside the caller's transaction, skipping those whose id is already stored."""
    return _insert_parts(con, encode_rows(rows), check_all=True)


def insert_encoded(
    con: duckdb.DuckDBPyConnection,
    batch: EncodedBatch,
    *,
    also: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> BatchResult:
    """Insert an encoded batch in one transaction (run it on the writer thread).

    Args:
        also: more writes for the same transaction, run after the batch's own and before the
            commit (the outbox's record of its lines, :meth:`sinks.Outbox.record_written`).

    Raises:
        duckdb.Error: the batch failed and nothing of it is stored. When the rollback fails
            too (a failed ``COMMIT`` has already ended the transaction) the first error is
            raised, with the rollback's as a note.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        result = _insert_parts(con, batch, check_all=False)
        if also is not None:
            also(con)
        con.execute("COMMIT")
    except BaseException as exc:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error as rollback_exc:
            exc.add_note(f"rollback: {rollback_exc}")
        raise
    return result


def write_rows(con: duckdb.DuckDBPyConnection, rows: Sequence[Row]) -> BatchResult:
    """Encode and insert a batch in one call (for single writes such as ``system.start``)."""
    return insert_encoded(con, encode_rows(rows))
