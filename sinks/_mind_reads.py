"""Reading the mind's tables: goals and memory blocks (any cursor; used to seed the mind at start and by ``/goals``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, get_args

import duckdb

from sinks._mind_rows import GoalRow, GoalStatus
from sinks._sql import translated

__all__ = ["read_blocks", "read_goals"]

_STATUSES: tuple[str, ...] = get_args(GoalStatus)


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    time: datetime = value
    return time.astimezone(UTC)


@translated("reading goals")
def read_goals(con: duckdb.DuckDBPyConnection, *, status: GoalStatus | None = None) -> list[GoalRow]:
    """Every stored goal (each at its latest version), or those with ``status``; oldest first.

    Raises:
        ValueError: ``status`` is not ``open``, ``done`` or ``dropped``.
        SinkError: the database could not be read.
    """
    if status is not None and status not in _STATUSES:
        raise ValueError(f"status: expected one of {', '.join(_STATUSES)}, got {status!r}")
    where = "WHERE status = ?" if status is not None else ""
    rows = con.execute(
        f"SELECT id, text, status, due, created, done, time, source FROM goals {where} ORDER BY created, id",
        [status] if status is not None else [],
    ).fetchall()
    goals: list[GoalRow] = []
    for r in rows:
        created, time = _utc(r[4]), _utc(r[6])
        assert created is not None and time is not None  # NOT NULL columns
        goals.append(
            GoalRow(
                id=r[0],
                text=r[1],
                status=r[2],
                due=_utc(r[3]),
                created=created,
                done=_utc(r[5]),
                time=time,
                source=r[7],
            )
        )
    return goals


@translated("reading memory blocks")
def read_blocks(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The memory blocks' texts by name (``self``, ``user``); a block never written is absent."""
    rows = con.execute("SELECT name, text FROM memory_blocks ORDER BY name").fetchall()
    return {str(name): str(text) for name, text in rows}
