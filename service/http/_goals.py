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

from service.http._query_params import with_cursor
from sinks import GoalRow, GoalStatus, SinkError, read_goals

__all__ = ["GOAL_STATUSES", "goal_json", "goals_handler", "read_goal_rows"]

GOAL_STATUSES: tuple[GoalStatus, ...] = ("open", "done", "dropped")


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


def read_goal_rows(con: duckdb.DuckDBPyConnection, status: GoalStatus | None) -> list[dict[str, Any]]:
    """The goals of ``status`` (every goal when ``None``) as JSON values.

    Raises:
        SinkError: the read failed.
    """
    try:
        return [goal_json(goal) for goal in read_goals(con, status=status)]
    except duckdb.Error as exc:
        raise SinkError(f"goal query failed: {exc}") from exc


def goals_handler(
    reader: Callable[[], duckdb.DuckDBPyConnection],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The handler of ``GET /goals`` over cursors made by ``reader`` (one per request, on a worker thread)."""

    async def goals(request: web.Request) -> web.Response:
        given = request.query.get("status") or None
        status = next((s for s in GOAL_STATUSES if s == given), None)
        if given is not None and status is None:
            message = f"status: expected one of {', '.join(GOAL_STATUSES)}, got {given[:40]!r}"
            return web.json_response({"error": message}, status=400)
        try:
            rows = await asyncio.to_thread(with_cursor, reader, lambda con: read_goal_rows(con, status))
        except SinkError as exc:
            return web.json_response({"error": str(exc)}, status=500)
        return web.json_response({"goals": rows, "count": len(rows), "status": status})

    return goals
