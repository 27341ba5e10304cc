"""The service's HTTP surface: /metrics, /healthz, /readyz and the episode query.

Reads run on a worker thread with their own DuckDB cursor, so a slow query never blocks the
event loop. Bad parameters get a 400 with a message naming the parameter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import duckdb
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from service.http._health import Health
from sinks import EPISODES_MAX_LIMIT, EpisodeQuery, SinkError, read_episodes

__all__ = ["BadParameter", "build_app", "parse_episode_query"]

REGISTRY = web.AppKey("registry", CollectorRegistry)
HEALTH = web.AppKey("health", Health)
READER: web.AppKey[Callable[[], duckdb.DuckDBPyConnection]] = web.AppKey("reader")

_MAX_PARAM_CHARS = 200


class BadParameter(ValueError):
    """A query parameter that cannot be used."""


def _param(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    if len(value) > _MAX_PARAM_CHARS:
        raise BadParameter(f"{name}: longer than {_MAX_PARAM_CHARS} characters")
    return value


def parse_episode_query(request: web.Request) -> EpisodeQuery:
    """Build an :class:`EpisodeQuery` from ``type``, ``outcome``, ``since`` and ``limit``.

    Raises:
        BadParameter: a parameter is malformed or out of range.
    """
    since_text = _param(request, "since")
    since: datetime | None = None
    if since_text is not None:
        try:
            since = datetime.fromisoformat(since_text)
        except ValueError:
            raise BadParameter(f"since: expected an ISO 8601 time with a zone, got {since_text!r}") from None
        if since.tzinfo is None:
            raise BadParameter(f"since: expected a time with a zone (e.g. ...Z or +00:00), got {since_text!r}")
    limit_text = _param(request, "limit")
    limit = 50
    if limit_text is not None:
        try:
            limit = int(limit_text)
        except ValueError:
            raise BadParameter(f"limit: expected an integer, got {limit_text!r}") from None
    try:
        return EpisodeQuery(type=_param(request, "type"), outcome=_param(request, "outcome"), since=since, limit=limit)
    except ValueError as exc:
        raise BadParameter(str(exc)) from exc


def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _healthz(request: web.Request) -> web.Response:
    ok, body = request.app[HEALTH].live()
    return web.json_response(body, status=200 if ok else 503)


async def _readyz(request: web.Request) -> web.Response:
    ok, body = request.app[HEALTH].ready()
    return web.json_response(body, status=200 if ok else 503)


def _read(reader: Callable[[], duckdb.DuckDBPyConnection], query: EpisodeQuery) -> list[dict[str, Any]]:
    cursor = reader()
    try:
        return read_episodes(cursor, query)
    except duckdb.Error as exc:
        raise SinkError(f"episode query failed: {exc}") from exc
    finally:
        cursor.close()


async def _episodes(request: web.Request) -> web.Response:
    try:
        query = parse_episode_query(request)
    except BadParameter as exc:
        return _json_error(400, str(exc))
    try:
        rows = await asyncio.to_thread(_read, request.app[READER], query)
    except SinkError as exc:
        return _json_error(500, str(exc))
    return web.json_response({"episodes": rows, "count": len(rows), "limit_max": EPISODES_MAX_LIMIT})


def build_app(
    registry: CollectorRegistry,
    health: Health,
    reader: Callable[[], duckdb.DuckDBPyConnection],
    *,
    max_body_bytes: int = 1024 * 1024,
) -> web.Application:
    """The aiohttp application of the service.

    Args:
        registry: the runtime's Prometheus registry, served at /metrics.
        health: liveness/readiness state.
        reader: makes a fresh DuckDB cursor for one read (called on a worker thread).
        max_body_bytes: larger request bodies are refused with 413.
    """
    app = web.Application(client_max_size=max_body_bytes)
    app[REGISTRY] = registry
    app[HEALTH] = health
    app[READER] = reader
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/episodes", _episodes)
    return app
