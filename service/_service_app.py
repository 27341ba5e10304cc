"""The live service's HTTP application, built from the settings and the runtime's parts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry

from llm import vectorizer_for
from service._message_parts import message_desk, message_limits
from service._service_jobs import archive_on_request, backup_job
from service._token import ServiceToken
from service.http import ClientLimitPolicy, EventHub, Health, HostRules, SearchBackend, StatusBoard, build_app
from service.metrics import StorageMetrics
from service.settings import Settings
from sinks import DuckWriter, VectorIndex
from streams import IngestState

__all__ = ["service_app"]


def service_app(
    settings: Settings,
    *,
    registry: CollectorRegistry,
    health: Health,
    writer: DuckWriter,
    index: VectorIndex,
    storage: StorageMetrics,
    status: StatusBoard,
    ingest: IngestState,
    token: ServiceToken,
    events: EventHub,
    clock: Callable[[], datetime],
    on_message_headers: Callable[[str, Mapping[str, str]], None] = lambda _id, _headers: None,
) -> web.Application:
    """Every route of the running service, wired to the writer thread and the runtime's state.

    ``on_message_headers`` is told each new ``POST /messages`` message's id and trace headers.
    """
    http = settings.http
    search = settings.memory.search
    backend = SearchBackend(
        index=index,
        embedder=vectorizer_for(search.embedder, search.lexical_dim),
        reader=writer.reader,
        default_k=search.default_k,
        max_k=search.max_k,
        max_query_chars=search.max_query_chars,
    )
    return build_app(
        registry,
        health,
        writer.reader,
        max_body_bytes=http.max_body_bytes,
        body_timeout_s=http.body_timeout_s,
        hosts=HostRules.for_service(http.host, http.allowed_hosts),
        search=backend,
        archive_dir=Path(settings.memory.archive_dir),
        archive_now=lambda days: writer.submit("archive", lambda con: archive_on_request(con, settings, storage, days)),
        backup_now=lambda out: writer.submit("backup", lambda con: backup_job(con, settings, out)),
        status=status,
        messages=message_desk(
            settings, writer, ingest, clock=clock, stopping=lambda: health.stopping, on_headers=on_message_headers
        ),
        message_limits=message_limits(settings),
        token=token,
        limits=ClientLimitPolicy.from_settings(http.limits),
        metrics_public=http.metrics_public,
        events=events,
    )
