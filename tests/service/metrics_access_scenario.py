"""The scenario that moves the access series: a 429, a live stream resumed and read, a slow client dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx
from prometheus_client import CollectorRegistry, generate_latest

from service._token import ServiceToken
from service.http import ClientLimitPolicy, EventHub, EventMetrics, EventStreamPolicy, Health, build_app, serve
from service.http._event_hub import TypeFilter
from service.settings import HttpSettings
from sinks import EpisodeRow

TOKEN = "scenario-token-0123456789abc"


def _never_read() -> duckdb.DuckDBPyConnection:
    raise AssertionError("nothing is read from the database here")


def _episodes(n: int, start: int) -> list[EpisodeRow]:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    return [
        EpisodeRow(id=f"e{i}", time=at, type="user.message", description="m", outcome="ok")
        for i in range(start, start + n)
    ]


async def access_and_events(folder: Path, registry: CollectorRegistry) -> AsyncIterator[str]:
    """Reads over their allowance get 429; a stream resumes and reads; a client that reads nothing is dropped."""
    hub = EventHub(EventStreamPolicy(ring_size=8, client_max_lag=4), stream_id="run1", metrics=EventMetrics(registry))
    app = build_app(
        registry,
        Health(pipeline_running=True),
        _never_read,
        token=ServiceToken(TOKEN, "environment", "DIGITAL_BEING_TOKEN"),
        limits=ClientLimitPolicy(reads=3),
        events=hub,
    )
    served = await serve(app, HttpSettings(port=0))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        yield generate_latest(registry).decode()
        hub.publish(_episodes(2, 0))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}", headers=auth, timeout=10) as client:
            async with client.stream("GET", "/events", headers={"Last-Event-ID": "run1:1"}) as response:
                lines = response.aiter_lines()
                while await anext(lines) != "event: episode":
                    pass
                silent = hub.join(hub.resume_at(None), TypeFilter())  # a client that never reads
                hub.publish(_episodes(5, 2))
                assert silent.dropped == "slow"
                hub.leave(silent)
                yield generate_latest(registry).decode()  # one stream open
            statuses = [(await client.get("/metrics")).status_code for _ in range(3)]  # /events was the first
        assert statuses == [200, 200, 429], statuses
        yield generate_latest(registry).decode()
    finally:
        await served.close()
