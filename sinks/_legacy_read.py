"""Reading the predecessor's SQLite files: rows turned into our types, or refused with a reason.

Nothing here writes. A table that cannot be read at all (missing, truncated file, not a
database) is a *problem* of the whole table; a row that cannot be used (a time that does
not parse, a blob of the wrong size) is a *refusal* of that row. Both carry a sentence
meant for the person running the import.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sinks.errors import LegacyImportError

__all__ = [
    "LegacyError",
    "LegacyPrinciple",
    "LegacyRead",
    "LegacyVector",
    "Refusal",
    "legacy_time",
    "open_sqlite",
    "read_legacy_episodes",
    "read_legacy_errors",
    "read_legacy_principles",
    "read_legacy_vectors",
]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A legacy row or table that was not imported, and why."""

    table: str
    legacy_id: str
    reason: str
    raw: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LegacyEpisode:
    legacy_id: int
    time: datetime
    type: str
    description: str
    outcome: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class LegacyError:
    legacy_id: int
    time: datetime
    type: str
    description: str
    cause: str
    principle: str | None
    repeat_count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LegacyPrinciple:
    legacy_id: int
    time: datetime
    text: str
    source_error_id: int | None
    active: bool


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LegacyVector:
    legacy_id: int
    episode_id: int | None
    type: str
    text: str
    embedding: npt.NDArray[np.float32]
    created_at: datetime
    access_count: int
    last_access: datetime | None


@dataclass(slots=True)
class LegacyRead:
    """What one table gave: usable rows, refused rows, and whether the table was readable."""

    rows: list[Any] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    problem: str | None = None


@contextmanager
def open_sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    """Open a SQLite file read-only (never creating it).

    Raises:
        LegacyImportError: the file does not exist or SQLite cannot open it.
    """
    if not path.is_file():
        raise LegacyImportError(f"{path}: no such file")
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise LegacyImportError(f"{path}: cannot open as SQLite: {exc}") from exc
    try:
        yield con
    finally:
        con.close()


def legacy_time(text: object, zone: tzinfo) -> datetime:
    """A legacy ``YYYY-MM-DDTHH:MM:SS`` local time (no zone) read in ``zone``, as UTC.

    A time that carries its own offset keeps it. Raises ValueError for anything else.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected a text time, got {type(text).__name__} {text!r}")
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def _epoch(value: object, what: str) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError(f"{what}: expected epoch seconds, got {value!r}")


def _columns(con: sqlite3.Connection, table: str) -> set[str] | None:
    rows = con.execute("SELECT name FROM pragma_table_info(?)", [table]).fetchall()
    return {str(r[0]) for r in rows} if rows else None


def _select(con: sqlite3.Connection, table: str, wanted: list[str], optional: list[str]) -> tuple[list[str], list[Any]]:
    """Rows of ``table`` with the wanted columns (and the optional ones that exist)."""
    columns = _columns(con, table)
    if columns is None:
        raise LookupError(f"no table {table!r}")
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise LookupError(f"table {table!r} lacks column(s) {', '.join(missing)}")
    names = wanted + [c for c in optional if c in columns]
    rows = con.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY id").fetchall()
    return names, rows


def _read(con: sqlite3.Connection, table: str, wanted: list[str], optional: list[str]) -> tuple[LegacyRead, list[Any]]:
    result = LegacyRead()
    try:
        names, rows = _select(con, table, wanted, optional)
    except LookupError as exc:
        result.problem = str(exc)
        return result, []
    except sqlite3.Error as exc:
        result.problem = f"cannot read table {table!r}: {exc}"
        return result, []
    return result, [dict(zip(names, r, strict=True)) for r in rows]


def _raw(row: dict[str, Any]) -> str:
    shown = {k: (f"<{len(v)} bytes>" if isinstance(v, bytes) else v) for k, v in row.items()}
    return json.dumps(shown, ensure_ascii=False, sort_keys=True, default=str)


def _data(text: object, legacy_id: int) -> dict[str, Any]:
    """The legacy JSON ``data`` as an object with ``legacy_id`` added; unparseable text is kept as ``raw_data``."""
    out: dict[str, Any] = {}
    if isinstance(text, str) and text.strip():
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            out["raw_data"] = text
        else:
            if isinstance(parsed, dict):
                out.update(parsed)
            else:
                out["value"] = parsed
    out["legacy_id"] = legacy_id
    return out


def read_legacy_episodes(con: sqlite3.Connection, zone: tzinfo) -> LegacyRead:
    """The ``episodes`` table: times read in ``zone``; outcome kept as given (empty → ``unknown``)."""
    result, rows = _read(con, "episodes", ["id", "timestamp", "event_type", "description"], ["outcome", "data"])
    for row in rows:
        try:
            if not isinstance(row["event_type"], str) or not row["event_type"].strip():
                raise ValueError(f"event_type: expected a non-empty text, got {row['event_type']!r}")
            result.rows.append(
                LegacyEpisode(
                    legacy_id=int(row["id"]),
                    time=legacy_time(row["timestamp"], zone),
                    type=row["event_type"],
                    description=str(row["description"] or ""),
                    outcome=str(row.get("outcome") or "unknown"),
                    data=_data(row.get("data"), int(row["id"])),
                )
            )
        except (ValueError, TypeError, OverflowError) as exc:
            result.refused.append(Refusal("episodes", str(row["id"]), str(exc), _raw(row)))
    return result


def read_legacy_errors(con: sqlite3.Connection, zone: tzinfo) -> LegacyRead:
    """The ``errors`` table (``principle_formed`` becomes ``principle``)."""
    result, rows = _read(
        con,
        "errors",
        ["id", "timestamp", "error_type", "description"],
        ["cause", "principle_formed", "repeat_count"],
    )
    for row in rows:
        try:
            count = int(row.get("repeat_count") or 1)
            if count < 1:
                raise ValueError(f"repeat_count: expected >= 1, got {count}")
            if not isinstance(row["error_type"], str) or not row["error_type"].strip():
                raise ValueError(f"error_type: expected a non-empty text, got {row['error_type']!r}")
            result.rows.append(
                LegacyError(
                    legacy_id=int(row["id"]),
                    time=legacy_time(row["timestamp"], zone),
                    type=row["error_type"],
                    description=str(row["description"] or row["error_type"]),
                    cause=str(row.get("cause") or "my_assessment"),
                    principle=row.get("principle_formed"),
                    repeat_count=count,
                )
            )
        except (ValueError, TypeError, OverflowError) as exc:
            result.refused.append(Refusal("errors", str(row["id"]), str(exc), _raw(row)))
    return result


def read_legacy_principles(con: sqlite3.Connection, zone: tzinfo) -> LegacyRead:
    """The ``principles`` table."""
    result, rows = _read(con, "principles", ["id", "timestamp", "text"], ["source_error_id", "active"])
    for row in rows:
        try:
            if not isinstance(row["text"], str) or not row["text"].strip():
                raise ValueError(f"text: expected a non-empty text, got {row['text']!r}")
            source = row.get("source_error_id")
            result.rows.append(
                LegacyPrinciple(
                    legacy_id=int(row["id"]),
                    time=legacy_time(row["timestamp"], zone),
                    text=row["text"],
                    source_error_id=None if source is None else int(source),
                    active=bool(row.get("active", 1)),
                )
            )
        except (ValueError, TypeError, OverflowError) as exc:
            result.refused.append(Refusal("principles", str(row["id"]), str(exc), _raw(row)))
    return result


def read_legacy_vectors(con: sqlite3.Connection, dim: int) -> LegacyRead:
    """The ``vectors`` table (with or without ``access_count``/``last_access``): float32 blobs of ``dim``.

    Finiteness and norm are not checked here: the vector write checks them (and dead-letters
    what fails) like any other vector.
    """
    result, rows = _read(
        con,
        "vectors",
        ["id", "embedding", "created_at"],
        ["episode_id", "event_type", "text", "access_count", "last_access"],
    )
    expected = dim * 4
    for row in rows:
        try:
            blob = row["embedding"]
            if not isinstance(blob, bytes):
                raise ValueError(f"embedding: expected a BLOB, got {type(blob).__name__}")
            if len(blob) != expected:
                raise ValueError(f"embedding: expected {expected} bytes ({dim} float32), got {len(blob)}")
            last = row.get("last_access")
            episode = row.get("episode_id")
            result.rows.append(
                LegacyVector(
                    legacy_id=int(row["id"]),
                    episode_id=None if episode is None else int(episode),
                    type=str(row.get("event_type") or "unknown"),
                    text=str(row.get("text") or ""),
                    embedding=np.frombuffer(blob, dtype="<f4").astype(np.float32),
                    created_at=_epoch(row["created_at"], "created_at"),
                    access_count=max(int(row.get("access_count") or 0), 0),
                    last_access=None if last is None else _epoch(last, "last_access"),
                )
            )
        except (ValueError, TypeError, OverflowError, OSError) as exc:
            result.refused.append(Refusal("vectors", str(row["id"]), str(exc), _raw(row)))
    return result
