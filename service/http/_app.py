"""The service's HTTP surface: health, metrics, queries (episodes, goals), archival, the console, ``/status``.

Every request passes the guard first (``service/http/_guard.py``: Host, Origin, body size
and time). Reads run on a worker thread with their own DuckDB cursor, so a slow query never
blocks the event loop. Bad parameters get a 400 with a message naming the parameter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from service._token import ServiceToken
from service.health import Health
from service.http._auth import ACCESS, Access
from service.http._backup_route import BACKUP_NOW, BackupNow, backup_route
from service.http._client_limits import ClientLimitPolicy
from service.http._console import CONSOLE_ROUTES, load_console
from service.http._dead_letters import DEAD_LETTER_READER, dead_letters_route
from service.http._event_hub import EventHub
from service.http._events import EVENTS, events_route
from service.http._goals import goals_handler
from service.http._guard import request_guard
from service.http._hosts import HostRules
from service.http._local_peer import refused_unless_local
from service.http._message_body import MessageLimits
from service.http._message_desk import MessageDesk
from service.http._messages import MESSAGE_DESK, MESSAGE_LIMITS, get_message, post_message
from service.http._metrics import HttpMetrics
from service.http._query_params import BadParameter, flag_param, limit_param, param, since_param, with_cursor
from service.http._request_metrics import request_metrics
from service.http._search import SearchBackend
from service.http._serve import HTTP_METRICS
from service.http._status import STATUS, StatusBoard, status_route
from sinks import EPISODES_MAX_LIMIT, ArchiveResult, EpisodeQuery, SinkError, read_episodes

__all__ = ["BadParameter", "build_app", "parse_episode_query", "parse_search_query"]

REGISTRY = web.AppKey("registry", CollectorRegistry)
HEALTH = web.AppKey("health", Health)
READER: web.AppKey[Callable[[], duckdb.DuckDBPyConnection]] = web.AppKey("reader")
ARCHIVE_DIR: web.AppKey[Path | None] = web.AppKey("archive_dir")
SEARCH: web.AppKey[SearchBackend | None] = web.AppKey("search")
ArchiveNow = Callable[[float | None], "Future[ArchiveResult]"]
ARCHIVE_NOW: web.AppKey[ArchiveNow | None] = web.AppKey("archive_now")
ARCHIVE_MAX_DAYS = 36_500


def parse_episode_query(request: web.Request) -> EpisodeQuery:
    """Build an :class:`EpisodeQuery` from ``type``, ``outcome``, ``since``, ``text``, ``archived`` and ``limit``.

    Raises:
        BadParameter: a parameter is malformed or out of range.
    """
    since = since_param(request)
    limit = limit_param(request)
    try:
        return EpisodeQuery(
            type=param(request, "type"),
            outcome=param(request, "outcome"),
            since=since,
            text=param(request, "text"),
            limit=limit,
            include_archive=flag_param(request, "archived"),
        )
    except ValueError as exc:
        raise BadParameter(str(exc)) from exc


def parse_search_query(request: web.Request, backend: SearchBackend) -> tuple[str, int, str | None, datetime | None]:
    """``q`` (required), ``k``, ``type`` and ``since`` of a search, checked against the backend's limits.

    Raises:
        BadParameter: a parameter is missing, malformed or out of range.
    """
    text = request.query.get("q", "")
    if not text.strip():
        raise BadParameter("q: expected a non-empty query text")
    if len(text) > backend.max_query_chars:
        raise BadParameter(f"q: expected at most {backend.max_query_chars} characters, got {len(text)}")
    k = backend.default_k
    k_text = param(request, "k")
    if k_text is not None:
        try:
            k = int(k_text)
        except ValueError:
            raise BadParameter(f"k: expected an integer, got {k_text!r}") from None
        if not 1 <= k <= backend.max_k:
            raise BadParameter(f"k: expected 1 to {backend.max_k}, got {k}")
    return text, k, param(request, "type"), since_param(request)


def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _healthz(request: web.Request) -> web.Response:
    ok, body = request.app[HEALTH].live()
    return web.json_response(body, status=200 if ok else 503)


async def _readyz(request: web.Request) -> web.Response:
    try:
        strict = flag_param(request, "strict")
    except BadParameter as exc:
        return _json_error(400, str(exc))
    ok, body = request.app[HEALTH].ready(strict=strict)
    return web.json_response(body, status=200 if ok else 503)


def _read_episodes(
    con: duckdb.DuckDBPyConnection, query: EpisodeQuery, archive_dir: Path | None
) -> list[dict[str, Any]]:
    try:
        return read_episodes(con, query, archive_dir=archive_dir)
    except duckdb.Error as exc:
        raise SinkError(f"episode query failed: {exc}") from exc


async def _episodes(request: web.Request) -> web.Response:
    try:
        query = parse_episode_query(request)
    except BadParameter as exc:
        return _json_error(400, str(exc))
    archive_dir = request.app[ARCHIVE_DIR]
    if query.include_archive and archive_dir is None:
        return _json_error(400, "archived: this service has no archive folder configured")
    try:
        rows = await asyncio.to_thread(
            with_cursor, request.app[READER], lambda con: _read_episodes(con, query, archive_dir)
        )
    except SinkError as exc:
        return _json_error(500, str(exc))
    return web.json_response({"episodes": rows, "count": len(rows), "limit_max": EPISODES_MAX_LIMIT})


async def _search(request: web.Request) -> web.Response:
    backend = request.app[SEARCH]
    if backend is None or backend.embedder is None:
        return _json_error(503, "search is not available: no query embedder is configured ([memory.search] embedder)")
    try:
        text, k, type_, since = parse_search_query(request, backend)
    except BadParameter as exc:
        return _json_error(400, str(exc))
    try:
        body = await asyncio.to_thread(backend.search, text, k=k, type=type_, since=since)
    except ValueError as exc:
        return _json_error(400, str(exc))
    except SinkError as exc:
        return _json_error(500, str(exc))
    return web.json_response({**body, "k_max": backend.max_k})


async def _archive(request: web.Request) -> web.Response:
    # the only route that changes memory: a published port must not let the network archive it away
    if (refused := refused_unless_local(request, "POST /archive", "archive")) is not None:
        return refused
    archive_now = request.app[ARCHIVE_NOW]
    if archive_now is None:
        return _json_error(503, "archival is not available on this service")
    days: float | None = None
    text = param(request, "older_than_days")
    if text is not None:
        try:
            days = float(text)
        except ValueError:
            return _json_error(400, f"older_than_days: expected a number, got {text!r}")
        if not 1 <= days <= ARCHIVE_MAX_DAYS:
            return _json_error(400, f"older_than_days: expected 1 to {ARCHIVE_MAX_DAYS}, got {text}")
    try:
        result = await asyncio.wrap_future(archive_now(days))
    except SinkError as exc:
        return _json_error(500, str(exc))
    return web.json_response(
        {"archived": result.archived, "reconciled": result.reconciled, "files": [str(p) for p in result.files]}
    )


def build_app(
    registry: CollectorRegistry,
    health: Health,
    reader: Callable[[], duckdb.DuckDBPyConnection],
    *,
    max_body_bytes: int = 1024 * 1024,
    body_timeout_s: float = 10.0,
    hosts: HostRules | None = None,
    search: SearchBackend | None = None,
    archive_dir: Path | None = None,
    archive_now: ArchiveNow | None = None,
    backup_now: BackupNow | None = None,
    status: StatusBoard | None = None,
    messages: MessageDesk | None = None,
    message_limits: MessageLimits | None = None,
    token: ServiceToken | None = None,
    limits: ClientLimitPolicy | None = None,
    metrics_public: bool = False,
    events: EventHub | None = None,
    clock: Callable[[], float] | None = None,
) -> web.Application:
    """The aiohttp application of the service.

    Args:
        registry: the runtime's Prometheus registry, served at /metrics.
        health: liveness/readiness state.
        reader: makes a fresh DuckDB cursor for one read (called on a worker thread).
        max_body_bytes: larger request bodies are refused with 413, on every route.
        body_timeout_s: a body must arrive whole this soon after its head (else 408).
        hosts: the names accepted in Host and Origin (default: the loopback names only);
            ``HostRules.for_service(settings.host, settings.allowed_hosts)`` for the service.
        search: what /search uses; without it /search answers 503.
        archive_dir: the Parquet archive, read by ``/episodes?archived=true``.
        archive_now: starts an archival run (``POST /archive``) for episodes older than the days
            given (``None``: the configured days) and returns its future.
        backup_now: starts a backup into the folder given (``POST /backup``) and returns its future.
        status: the protections ``GET /status`` shows (default: none yet).
        messages: takes ``POST /messages`` and answers ``GET /messages/{id}`` (``None``: they answer 503).
        message_limits: the sizes a message may have (default: ``MessageLimits()``).
        token: what every route but the open ones needs (``service/http/_auth.py``); ``None``
            asks for none, for tests of other layers (the service always gives one).
        limits: the per-client allowances and the cap on live streams; ``None`` limits nothing.
        metrics_public: serve ``/metrics`` without the token.
        events: the live stream's hub (``GET /events``); without it ``/events`` answers 503.
        clock: the allowances' clock, seconds (default: the running event loop's).
    """
    metrics = HttpMetrics(registry)
    access = Access.build(
        registry,
        metrics,
        token=token,
        limits=limits,
        metrics_public=metrics_public,
        clock=clock if clock is not None else (lambda: asyncio.get_running_loop().time()),
    )
    guard = request_guard(
        hosts if hosts is not None else HostRules.for_service(),
        max_body_bytes=max_body_bytes,
        body_timeout_s=body_timeout_s,
        metrics=metrics,
        admit=access.admit if token is not None or limits is not None else None,
    )
    measured = request_metrics(registry)
    app = web.Application(client_max_size=max_body_bytes, middlewares=[measured, guard.middleware])
    app[HTTP_METRICS] = metrics
    app[REGISTRY] = registry
    app[HEALTH] = health
    app[READER] = reader
    app[DEAD_LETTER_READER] = reader
    app[ARCHIVE_DIR] = archive_dir
    app[SEARCH] = search
    app[ARCHIVE_NOW] = archive_now
    app[BACKUP_NOW] = backup_now
    app[STATUS] = status if status is not None else StatusBoard(registry)
    console = load_console()
    app[MESSAGE_DESK] = messages
    app[MESSAGE_LIMITS] = message_limits or MessageLimits()
    app[ACCESS] = access
    app[EVENTS] = events
    if events is not None:

        async def end_streams(_app: web.Application) -> None:
            events.close()  # before the server waits for its handlers: a stream never ends by itself

        app.on_shutdown.append(end_streams)
    expect = guard.expect
    page, files = CONSOLE_ROUTES
    app.router.add_get(page, console.index, expect_handler=expect)
    app.router.add_get(files, console.asset, expect_handler=expect)
    app.router.add_get("/status", status_route, expect_handler=expect)
    app.router.add_get("/metrics", _metrics, expect_handler=expect)
    app.router.add_get("/healthz", _healthz, expect_handler=expect)
    app.router.add_get("/readyz", _readyz, expect_handler=expect)
    app.router.add_get("/episodes", _episodes, expect_handler=expect)
    app.router.add_get("/search", _search, expect_handler=expect)
    app.router.add_get("/goals", goals_handler(reader), expect_handler=expect)
    app.router.add_get("/dead-letters", dead_letters_route, expect_handler=expect)
    app.router.add_post("/archive", _archive, expect_handler=expect)
    app.router.add_post("/backup", backup_route, expect_handler=expect)
    app.router.add_post("/messages", post_message, expect_handler=expect)
    app.router.add_get("/messages/{id}", get_message, expect_handler=expect)
    app.router.add_get("/events", events_route, expect_handler=expect)
    return app
