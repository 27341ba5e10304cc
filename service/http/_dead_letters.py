"""``GET /dead-letters``: what could not be processed, newest first (``source``, ``since``, ``limit``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import duckdb
from aiohttp import web

from sinks import DEAD_LETTERS_MAX_LIMIT, DeadLetterQuery, SinkError, read_dead_letters

__all__ = ["DEAD_LETTER_READER", "dead_letters_route", "parse_dead_letter_query"]

DEAD_LETTER_READER: web.AppKey[Callable[[], duckdb.DuckDBPyConnection]] = web.AppKey("dead_letter_reader")
_MAX_PARAM_CHARS = 200


class _Bad(ValueError):
    pass


def _param(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    if not value:
        return None
    if len(value) > _MAX_PARAM_CHARS:
        raise _Bad(f"{name}: longer than {_MAX_PARAM_CHARS} characters")
    return value


def parse_dead_letter_query(request: web.Request) -> DeadLetterQuery:
    """The query of ``source``, ``since`` (ISO 8601 with a zone) and ``limit`` (1 to 10,000; 50).

    Raises:
        ValueError: a parameter is malformed or out of range (the message names it).
    """
    since: datetime | None = None
    since_text = _param(request, "since")
    if since_text is not None:
        try:
            since = datetime.fromisoformat(since_text)
        except ValueError:
            raise _Bad(f"since: expected an ISO 8601 time with a zone, got {since_text!r}") from None
        if since.tzinfo is None:
            raise _Bad(f"since: expected a time with a zone (e.g. ...Z or +00:00), got {since_text!r}")
    limit = 50
    limit_text = _param(request, "limit")
    if limit_text is not None:
        try:
            limit = int(limit_text)
        except ValueError:
            raise _Bad(f"limit: expected an integer, got {limit_text!r}") from None
    return DeadLetterQuery(source=_param(request, "source"), since=since, limit=limit)


def _read(reader: Callable[[], duckdb.DuckDBPyConnection], query: DeadLetterQuery) -> list[dict[str, Any]]:
    cursor = reader()
    try:
        return read_dead_letters(cursor, query)
    finally:
        cursor.close()


async def dead_letters_route(request: web.Request) -> web.Response:
    """Dead letters, newest first: ``{"dead_letters": [...], "count": n, "limit_max": 10000}``."""
    try:
        query = parse_dead_letter_query(request)
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    try:
        rows = await asyncio.to_thread(_read, request.app[DEAD_LETTER_READER], query)
    except SinkError as exc:
        return web.json_response({"error": str(exc)}, status=500)
    return web.json_response({"dead_letters": rows, "count": len(rows), "limit_max": DEAD_LETTERS_MAX_LIMIT})
