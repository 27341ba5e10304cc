"""``GET /dead-letters``: what could not be processed, newest first (``source``, ``since``, ``limit``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import duckdb
from aiohttp import web

from service.http._query_params import limit_param, param, since_param, with_cursor
from sinks import DEAD_LETTERS_MAX_LIMIT, DeadLetterQuery, SinkError, read_dead_letters

__all__ = ["DEAD_LETTER_READER", "dead_letters_route", "parse_dead_letter_query"]

DEAD_LETTER_READER: web.AppKey[Callable[[], duckdb.DuckDBPyConnection]] = web.AppKey("dead_letter_reader")


def parse_dead_letter_query(request: web.Request) -> DeadLetterQuery:
    """The query of ``source``, ``since`` (ISO 8601 with a zone) and ``limit`` (1 to 10,000; 50).

    Raises:
        ValueError: a parameter is malformed or out of range (the message names it).
    """
    since = since_param(request)
    limit = limit_param(request)
    return DeadLetterQuery(source=param(request, "source"), since=since, limit=limit)


async def dead_letters_route(request: web.Request) -> web.Response:
    """Dead letters, newest first: ``{"dead_letters": [...], "count": n, "limit_max": 10000}``."""
    try:
        query = parse_dead_letter_query(request)
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    try:
        rows = await asyncio.to_thread(
            with_cursor, request.app[DEAD_LETTER_READER], lambda con: read_dead_letters(con, query)
        )
    except SinkError as exc:
        return web.json_response({"error": str(exc)}, status=500)
    return web.json_response({"dead_letters": rows, "count": len(rows), "limit_max": DEAD_LETTERS_MAX_LIMIT})
