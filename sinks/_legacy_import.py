"""Importing the predecessor's memory: its SQLite episodes, errors, principles and vectors, into DuckDB.

Idempotent: episodes and vectors get ids derived from their legacy ids and contents (an
existing id is skipped), and errors and principles are recorded in ``legacy_imports`` (an
error's own dedup would otherwise raise its ``repeat_count`` again on every run). Refused
rows become dead letters (source ``legacy.<table>``) and are listed in the report with the
reason; a table that cannot be read at all is a problem of the report, and the rest is
still imported.

Legacy times have no zone; they are read in the zone given (the ``[memory]`` setting,
UTC by default). Legacy vectors have no embedder name: they are stored under the one given
(by default Ollama's name for ``nomic-embed-text``, so new embeddings of that model share
their space).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import duckdb
import pyarrow as pa

from sinks._clock import utc_now
from sinks._legacy_read import (
    LegacyEpisode,
    LegacyError,
    LegacyPrinciple,
    LegacyRead,
    LegacyVector,
    Refusal,
    open_sqlite,
    read_legacy_episodes,
    read_legacy_errors,
    read_legacy_principles,
    read_legacy_vectors,
)
from sinks._lessons import add_principle, record_error
from sinks._row_batches import write_rows
from sinks._rows import DeadLetterRow, EpisodeRow, Row
from sinks._sql import one_row, scalar, translated
from sinks._vector_index import VectorIndex
from sinks._vector_rows import VectorRow
from sinks._vector_writes import write_vectors
from streams import stable_id

__all__ = ["LEGACY_EMBEDDER", "LegacyReport", "import_legacy"]

LEGACY_EMBEDDER = "model:nomic-embed-text:768"
_TS = pa.timestamp("us", tz="UTC")


@dataclass(slots=True)
class LegacyReport:
    """What an import did, per table: imported, already there, refused (with reasons), unreadable."""

    imported: dict[str, int] = field(default_factory=dict)
    existing: dict[str, int] = field(default_factory=dict)
    refused: list[Refusal] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was refused and every table could be read."""
        return not self.refused and not self.problems

    def lines(self) -> list[str]:
        """The report for a person, one line each."""
        out = [
            f"{table}: {self.imported.get(table, 0)} imported, {self.existing.get(table, 0)} already there, "
            f"{sum(1 for r in self.refused if r.table == table)} refused"
            for table in ("episodes", "errors", "principles", "vectors")
            if table in self.imported or table in self.existing
        ]
        out += [f"refused {r.table} #{r.legacy_id}: {r.reason}" for r in self.refused]
        out += [f"problem: {p}" for p in self.problems]
        return out


def _take(report: LegacyReport, read: LegacyRead, where: Path) -> None:
    if read.problem is not None:
        report.problems.append(f"{where.name}: {read.problem}")
    report.refused.extend(read.refused)


def _letters(refused: list[Refusal], time: datetime) -> list[DeadLetterRow]:
    return [
        DeadLetterRow(
            id=stable_id("legacy", r.table, r.legacy_id, r.reason),
            time=time,
            source=f"legacy.{r.table}",
            reason=f"legacy import: {r.reason}",
            raw=r.raw,
            may_exist=True,
        )
        for r in refused
    ]


def _episode_row(e: LegacyEpisode) -> EpisodeRow:
    return EpisodeRow(
        id=stable_id("legacy-episode", str(e.legacy_id), e.type, e.description),
        time=e.time,
        type=e.type,
        description=e.description,
        outcome=e.outcome,
        data=e.data,
        may_exist=True,
    )


def _import_episodes(con: duckdb.DuckDBPyConnection, read: LegacyRead, report: LegacyReport, now: datetime) -> None:
    rows: list[Row] = [_episode_row(e) for e in read.rows]
    before = int(scalar(con, "SELECT count(*) FROM episodes"))
    write_rows(con, [*rows, *_letters(read.refused, now)])
    added = int(scalar(con, "SELECT count(*) FROM episodes")) - before
    report.imported["episodes"] = added
    report.existing["episodes"] = len(rows) - added


def _ledger_has(con: duckdb.DuckDBPyConnection, kind: str, key: str) -> str | None:
    row = one_row(con, "SELECT new_id FROM legacy_imports WHERE kind = ? AND key = ?", [kind, key])
    return None if row is None else str(row[0])


def _import_lessons(
    con: duckdb.DuckDBPyConnection, errors: LegacyRead, principles: LegacyRead, report: LegacyReport, now: datetime
) -> None:
    error_ids: dict[int, int] = {}
    counts = {"errors": [0, 0], "principles": [0, 0]}
    for e in errors.rows:
        assert isinstance(e, LegacyError)
        key = stable_id("legacy-error", str(e.legacy_id), e.type, e.description)
        known = _ledger_has(con, "error", key)
        if known is not None:
            error_ids[e.legacy_id] = int(known)
            counts["errors"][1] += 1
            continue
        new_id = record_error(
            con,
            type=e.type,
            description=e.description,
            time=e.time,
            cause=e.cause,
            principle=e.principle,
            repeats=e.repeat_count,
        )
        con.execute("INSERT INTO legacy_imports VALUES ('error', ?, ?, ?)", [key, str(new_id), now])
        error_ids[e.legacy_id] = new_id
        counts["errors"][0] += 1
    for p in principles.rows:
        assert isinstance(p, LegacyPrinciple)
        key = stable_id("legacy-principle", str(p.legacy_id), p.text)
        if _ledger_has(con, "principle", key) is not None:
            counts["principles"][1] += 1
            continue
        source = error_ids.get(p.source_error_id) if p.source_error_id is not None else None
        new_id = add_principle(con, text=p.text, time=p.time, source_error_id=source, active=p.active)
        con.execute("INSERT INTO legacy_imports VALUES ('principle', ?, ?, ?)", [key, str(new_id), now])
        counts["principles"][0] += 1
    letters = _letters(errors.refused + principles.refused, now)
    if letters:
        write_rows(con, letters)
    for table, (added, known_count) in counts.items():
        report.imported[table] = added
        report.existing[table] = known_count


def _episode_ids(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    """Legacy episode id → our episode id, for the episodes imported so far."""
    rows = con.execute(
        "SELECT json_extract_string(data, '$.legacy_id'), id FROM episodes "
        "WHERE json_extract_string(data, '$.legacy_id') IS NOT NULL"
    ).fetchall()
    out: dict[int, str] = {}
    for legacy, new in rows:
        if str(legacy).isdigit():
            out[int(legacy)] = str(new)
    return out


def _import_vectors(
    con: duckdb.DuckDBPyConnection,
    read: LegacyRead,
    report: LegacyReport,
    *,
    embedder: str,
    index: VectorIndex | None,
    now: datetime,
) -> None:
    episodes = _episode_ids(con)
    rows: list[VectorRow] = []
    stats: dict[str, LegacyVector] = {}
    for v in read.rows:
        assert isinstance(v, LegacyVector)
        episode = None if v.episode_id is None else episodes.get(v.episode_id, f"legacy:{v.episode_id}")
        row = VectorRow(
            id=stable_id("legacy-vector", str(v.legacy_id), v.text),
            text=v.text,
            embedding=v.embedding,
            embedder=embedder,
            type=v.type,
            created_at=v.created_at,
            episode_id=episode,
        )
        rows.append(row)
        stats[row.id] = v
    if read.refused:
        write_rows(con, _letters(read.refused, now))
    result = write_vectors(con, rows, index=index, clock=lambda: now, source="legacy.vectors")
    by_id = {r.id: stats[r.id] for r in rows}
    report.refused.extend(Refusal("vectors", str(by_id[vid].legacy_id), reason) for vid, reason in result.refused)
    report.imported["vectors"] = result.stored
    report.existing["vectors"] = result.existing
    used = [(vid, v) for vid, v in stats.items() if v.access_count or v.last_access is not None]
    if used and result.stored:
        table = pa.table(
            {
                "id": pa.array([vid for vid, _ in used], pa.string()),
                "n": pa.array([v.access_count for _, v in used], pa.int64()),
                "last": pa.array([v.last_access for _, v in used], _TS),
            }
        )
        con.register("_legacy_access", table)
        try:
            con.execute(
                "UPDATE vectors SET access_count = b.n, last_access = b.last FROM _legacy_access b "
                "WHERE vectors.id = b.id AND vectors.access_count = 0 AND vectors.last_access IS NULL"
            )
        finally:
            con.unregister("_legacy_access")


@translated("legacy import")
def import_legacy(
    con: duckdb.DuckDBPyConnection,
    *,
    episodes_path: Path | None = None,
    vectors_path: Path | None = None,
    zone: tzinfo = UTC,
    embedder: str = LEGACY_EMBEDDER,
    dim: int = 768,
    index: VectorIndex | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> LegacyReport:
    """Import the predecessor's databases (run it on the writer thread, or on a file no one else holds).

    Args:
        episodes_path: the legacy ``episodes.db`` (episodes, errors, principles).
        vectors_path: the legacy ``vector_memory.db``.
        zone: the zone legacy local times are read in.
        embedder: the embedder name legacy vectors are stored under.
        dim: the legacy vector length (blobs must hold ``dim`` float32 values).
        index: the in-memory vector index to keep in step.
        clock: the time of dead letters and ledger entries.

    Raises:
        LegacyImportError: a given file does not exist or cannot be opened as SQLite.
    """
    report = LegacyReport()
    now = clock()
    if episodes_path is not None:
        with open_sqlite(episodes_path) as lite:
            episodes = read_legacy_episodes(lite, zone)
            errors = read_legacy_errors(lite, zone)
            principles = read_legacy_principles(lite, zone)
        for read in (episodes, errors, principles):
            _take(report, read, episodes_path)
        _import_episodes(con, episodes, report, now)
        _import_lessons(con, errors, principles, report, now)
    if vectors_path is not None:
        with open_sqlite(vectors_path) as lite:
            vectors = read_legacy_vectors(lite, dim)
        _take(report, vectors, vectors_path)
        _import_vectors(con, vectors, report, embedder=embedder, index=index, now=now)
    return report
