"""``GET /goals``: the being's goals, read on a worker thread with a cursor of their own.

``?status=open`` (or ``done``, ``dropped``) keeps one status; without it every goal is listed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import duckdb
from aiohttp import web

from sinks import GoalRow, SinkError

__all__ = ["GOAL_STATUSES", "goal_json", "goals_handler", "read_goal_rows"]

GOAL_STATUSES = ("open", "done", "dropped")


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def goal_json(goal: GoalRow) -> dict[str, Any]:
    """One goal as JSON values (times in ISO 8601 UTC)."""
    return {
        "id": goal.id,
        "text": goal.text,
        "status": goal.status,
        "due": _time(goal.due),
        "created": _time(goal.created),
        "done": _time(goal.done),
        "time": _time(goal.time),
        "source": goal.source,
    }


def read_goal_rows(con: duckdb.DuckDBPyConnection, status: str | None) -> list[dict[str, Any]]:
    """The goals of ``status`` (every goal when ``None``) as JSON values.

    Raises:
        SinkError: the read failed.
    """
    from sinks import read_goals  # the goals table's reads live with its sink

    try:
        return [goal_json(goal) for goal in read_goals(con, status=status)]
    except duckdb.Error as exc:
        raise SinkError(f"goal query failed: {exc}") from exc


def goals_handler(
    reader: Callable[[], duckdb.DuckDBPyConnection],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The handler of ``GET /goals`` over cursors made by ``reader`` (one per request, on a worker thread)."""

    def read(status: str | None) -> list[dict[str, Any]]:
        cursor = reader()
        try:
            return read_goal_rows(cursor, status)
        finally:
            cursor.close()

    async def goals(request: web.Request) -> web.Response:
        status = request.query.get("status") or None
        if status is not None and status not in GOAL_STATUSES:
            message = f"status: expected one of {', '.join(GOAL_STATUSES)}, got {status[:40]!r}"
            return web.json_response({"error": message}, status=400)
        try:
            rows = await asyncio.to_thread(read, status)
        except SinkError as exc:
            return web.json_response({"error": str(exc)}, status=500)
        return web.json_response({"goals": rows, "count": len(rows), "status": status})

    return goals
