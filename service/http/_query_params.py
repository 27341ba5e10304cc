"""The query parameters of the read routes: one checked reading each, with a 400 message naming the parameter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import duckdb
from aiohttp import web

__all__ = ["MAX_PARAM_CHARS", "BadParameter", "flag_param", "limit_param", "param", "since_param", "with_cursor"]

MAX_PARAM_CHARS = 200
T = TypeVar("T")


class BadParameter(ValueError):
    """A query parameter that cannot be used."""


def param(request: web.Request, name: str) -> str | None:
    """The parameter ``name``; ``None`` when absent or empty.

    Raises:
        BadParameter: longer than 200 characters.
    """
    value = request.query.get(name)
    if value is None or value == "":
        return None
    if len(value) > MAX_PARAM_CHARS:
        raise BadParameter(f"{name}: longer than {MAX_PARAM_CHARS} characters")
    return value


def since_param(request: web.Request) -> datetime | None:
    """``since``: an ISO 8601 time with a zone; ``None`` when absent.

    Raises:
        BadParameter: not ISO 8601, or without a zone.
    """
    since_text = param(request, "since")
    if since_text is None:
        return None
    try:
        since = datetime.fromisoformat(since_text)
    except ValueError:
        raise BadParameter(f"since: expected an ISO 8601 time with a zone, got {since_text!r}") from None
    if since.tzinfo is None:
        raise BadParameter(f"since: expected a time with a zone (e.g. ...Z or +00:00), got {since_text!r}")
    return since


def flag_param(request: web.Request, name: str) -> bool:
    """A true/false parameter (``1``/``true``/``yes``, ``0``/``false``/``no``, any case); ``False`` when absent.

    Raises:
        BadParameter: anything else.
    """
    value = param(request, name)
    if value is None:
        return False
    lowered = value.lower()
    if lowered in ("1", "true", "yes"):
        return True
    if lowered in ("0", "false", "no"):
        return False
    raise BadParameter(f"{name}: expected true or false, got {value!r}")


def limit_param(request: web.Request, default: int = 50) -> int:
    """``limit`` as an integer (its range is the query's to check); ``default`` when absent.

    Raises:
        BadParameter: not an integer.
    """
    limit_text = param(request, "limit")
    if limit_text is None:
        return default
    try:
        return int(limit_text)
    except ValueError:
        raise BadParameter(f"limit: expected an integer, got {limit_text!r}") from None


def with_cursor(reader: Callable[[], duckdb.DuckDBPyConnection], read: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """``read`` on a fresh cursor from ``reader``, closed after (called on a worker thread)."""
    cursor = reader()
    try:
        return read(cursor)
    finally:
        cursor.close()
