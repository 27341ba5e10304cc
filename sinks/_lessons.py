"""Errors the being made and the principles it drew from them: a small write and read API.

An error type is stored once: recording the same type again raises its ``repeat_count`` and
refreshes its time, description and cause instead of adding a row. Writes run on the writer
thread (pass these functions to :meth:`DuckWriter.call`); reads take any cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from sinks._sql import one_row, translated

__all__ = [
    "ErrorRecord",
    "Principle",
    "add_principle",
    "read_errors",
    "read_principles",
    "record_error",
    "set_principle_active",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorRecord:
    """One error type the being ran into, with how often it came back."""

    id: int
    time: datetime
    type: str
    description: str
    cause: str
    principle: str | None
    repeat_count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Principle:
    """A rule the being keeps, learnt from an error (``source_error_id``) or given."""

    id: int
    time: datetime
    text: str
    source_error_id: int | None
    active: bool


def _check_text(name: str, value: str) -> None:
    if not value.strip():
        raise ValueError(f"{name}: expected a non-empty text, got {value!r}")


def _check_time(time: datetime) -> None:
    if time.tzinfo is None:
        raise ValueError(f"time: expected a time with a zone, got {time.isoformat()}")


@translated("recording an error")
def record_error(
    con: duckdb.DuckDBPyConnection,
    *,
    type: str,
    description: str,
    time: datetime,
    cause: str = "my_assessment",
    principle: str | None = None,
    repeats: int = 1,
) -> int:
    """Record an error; a known ``type`` raises its ``repeat_count`` by ``repeats`` instead of adding a row.

    Returns:
        The error's id (the existing one for a repeat).

    Raises:
        ValueError: an empty type or description, a naive time, or ``repeats`` below 1.
    """
    _check_text("type", type)
    _check_text("description", description)
    _check_time(time)
    if repeats < 1:
        raise ValueError(f"repeats: expected >= 1, got {repeats}")
    con.execute("BEGIN TRANSACTION")
    try:
        row = one_row(con, "SELECT id FROM errors WHERE type = ? ORDER BY id LIMIT 1", [type])
        if row is None:
            inserted = one_row(
                con,
                "INSERT INTO errors (time, type, description, cause, principle, repeat_count) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                [time, type, description, cause, principle, repeats],
            )
            assert inserted is not None
            error_id = int(inserted[0])
        else:
            error_id = int(row[0])
            con.execute(
                "UPDATE errors SET repeat_count = repeat_count + ?, time = greatest(time, ?), description = ?, "
                "cause = ?, principle = coalesce(?, principle) WHERE id = ?",
                [repeats, time, description, cause, principle, error_id],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return error_id


@translated("adding a principle")
def add_principle(
    con: duckdb.DuckDBPyConnection,
    *,
    text: str,
    time: datetime,
    source_error_id: int | None = None,
    active: bool = True,
) -> int:
    """Store a principle; an identical text is kept once (its id is returned and it is reactivated).

    Raises:
        ValueError: an empty text, a naive time, or a ``source_error_id`` that names no error.
    """
    _check_text("text", text)
    _check_time(time)
    if source_error_id is not None:
        found = one_row(con, "SELECT 1 FROM errors WHERE id = ?", [source_error_id])
        if found is None:
            raise ValueError(f"source_error_id: no error with id {source_error_id}")
    existing = one_row(con, "SELECT id FROM principles WHERE text = ? ORDER BY id LIMIT 1", [text])
    if existing is not None:
        if active:
            con.execute("UPDATE principles SET active = true WHERE id = ?", [existing[0]])
        return int(existing[0])
    inserted = one_row(
        con,
        "INSERT INTO principles (time, text, source_error_id, active) VALUES (?, ?, ?, ?) RETURNING id",
        [time, text, source_error_id, active],
    )
    assert inserted is not None
    return int(inserted[0])


@translated("switching a principle")
def set_principle_active(con: duckdb.DuckDBPyConnection, principle_id: int, active: bool) -> bool:
    """Switch a principle on or off; False when no principle has that id."""
    row = one_row(con, "UPDATE principles SET active = ? WHERE id = ? RETURNING id", [active, principle_id])
    return row is not None


def _utc(value: Any) -> datetime:
    time: datetime = value
    return time.astimezone(UTC)


@translated("reading errors")
def read_errors(
    con: duckdb.DuckDBPyConnection, *, type: str | None = None, min_repeats: int = 1, limit: int = 100
) -> list[ErrorRecord]:
    """Errors, most repeated first (then newest)."""
    if not 1 <= limit <= 10_000:
        raise ValueError(f"limit: expected 1 to 10000, got {limit}")
    where = "WHERE repeat_count >= ?" + (" AND type = ?" if type is not None else "")
    params: list[Any] = [min_repeats] + ([type] if type is not None else [])
    rows = con.execute(
        "SELECT id, time, type, description, cause, principle, repeat_count FROM errors "
        f"{where} ORDER BY repeat_count DESC, time DESC, id LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [
        ErrorRecord(
            id=int(r[0]),
            time=_utc(r[1]),
            type=r[2],
            description=r[3],
            cause=r[4],
            principle=r[5],
            repeat_count=int(r[6]),
        )
        for r in rows
    ]


@translated("reading principles")
def read_principles(con: duckdb.DuckDBPyConnection, *, active_only: bool = True, limit: int = 100) -> list[Principle]:
    """Principles, oldest first (the order they were learnt)."""
    if not 1 <= limit <= 10_000:
        raise ValueError(f"limit: expected 1 to 10000, got {limit}")
    where = "WHERE active" if active_only else ""
    rows = con.execute(
        f"SELECT id, time, text, source_error_id, active FROM principles {where} ORDER BY time, id LIMIT ?", [limit]
    ).fetchall()
    return [
        Principle(
            id=int(r[0]),
            time=_utc(r[1]),
            text=r[2],
            source_error_id=None if r[3] is None else int(r[3]),
            active=bool(r[4]),
        )
        for r in rows
    ]
