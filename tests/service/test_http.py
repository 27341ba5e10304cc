"""The HTTP surface on a real loopback server: metrics, health, readiness, the episode query and its 400s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from service.http import Health, build_app
from service.metrics import PipelineMetrics
from sinks import DuckWriter, EpisodeRow, open_database, write_rows

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Served:
    def __init__(self, server: TestServer, writer: DuckWriter, health: Health, metrics: PipelineMetrics) -> None:
        self.server = server
        self.writer = writer
        self.health = health
        self.metrics = metrics
        self.client = httpx.AsyncClient(base_url=str(server.make_url("")), timeout=10)


@pytest.fixture
async def served(tmp_path: Path, registry: CollectorRegistry) -> AsyncIterator[Served]:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    rows = [
        EpisodeRow(id=f"e{n}", time=T0 + timedelta(minutes=n), type=kind, description=f"d{n}", outcome=outcome)
        for n, (kind, outcome) in enumerate(
            [("user.message", "success"), ("heavy_tick.observe", "success"), ("user.message", "fallback")]
        )
    ]
    writer.call("seed", lambda con: write_rows(con, rows))
    metrics = PipelineMetrics(registry)
    health = Health(writer_alive=lambda: writer.alive, pipeline_running=True)
    server = TestServer(build_app(registry, health, writer.reader, max_body_bytes=2048))
    await server.start_server()
    ctx = Served(server, writer, health, metrics)
    yield ctx
    await ctx.client.aclose()
    await server.close()
    writer.close()


async def test_metrics_are_served_in_prometheus_text_format(served: Served) -> None:
    served.metrics.event_in("user.message")
    response = await served.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'being_events_in_total{type="user.message"} 1.0' in response.text


async def test_health_and_readiness(served: Served) -> None:
    assert (await served.client.get("/healthz")).json()["status"] == "ok"
    assert (await served.client.get("/readyz")).status_code == 200
    served.health.stopping = True
    assert (await served.client.get("/readyz")).status_code == 503
    assert (await served.client.get("/healthz")).status_code == 200
    served.health.problems.append("pipeline failed")
    response = await served.client.get("/healthz")
    assert response.status_code == 503 and response.json()["problems"] == ["pipeline failed"]


async def test_episodes_newest_first_and_filtered(served: Served) -> None:
    body = (await served.client.get("/episodes")).json()
    assert [e["id"] for e in body["episodes"]] == ["e2", "e1", "e0"]
    body = (await served.client.get("/episodes", params={"type": "user.message", "outcome": "fallback"})).json()
    assert [e["id"] for e in body["episodes"]] == ["e2"]
    body = (await served.client.get("/episodes", params={"since": "2026-03-01T12:01:00Z", "limit": "1"})).json()
    assert [e["id"] for e in body["episodes"]] == ["e2"]
    assert body["episodes"][0]["time"] == "2026-03-01T12:02:00.000000Z"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "ten"}, "limit: expected an integer"),
        ({"limit": "0"}, "limit: expected 1 to 10000"),
        ({"limit": "100001"}, "limit: expected 1 to 10000"),
        ({"since": "yesterday"}, "since: expected an ISO 8601 time"),
        ({"since": "2026-03-01T12:00:00"}, "since: expected a time with a zone"),
        ({"type": "x" * 500}, "type: longer than 200"),
    ],
)
async def test_bad_parameters_get_a_400_that_names_them(served: Served, params: dict[str, str], message: str) -> None:
    response = await served.client.get("/episodes", params=params)
    assert response.status_code == 400
    assert message in response.json()["error"]


async def test_unknown_route_and_wrong_method(served: Served) -> None:
    assert (await served.client.get("/nope")).status_code == 404
    assert (await served.client.post("/metrics", content=b"x")).status_code == 405


@pytest.mark.parametrize(("peer", "allowed"), [("127.0.0.1", True), ("::1", True), ("172.17.0.1", False), ("", False)])
def test_post_archive_is_for_this_machine_only(peer: str, allowed: bool) -> None:
    from unittest import mock

    from aiohttp.test_utils import make_mocked_request

    from service.http._local_peer import from_this_machine as _from_this_machine

    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (peer, 4321) if name == "peername" else default
    request = make_mocked_request("POST", "/archive", transport=transport)
    assert _from_this_machine(request) is allowed
