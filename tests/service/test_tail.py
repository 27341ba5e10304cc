"""``being tail`` against a real loopback server: it prints what is stored and resumes after a cut connection."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import duckdb
import pytest
from prometheus_client import CollectorRegistry

from service._discovery import ServiceAddress, publish_address
from service._token import ServiceToken, publish_token
from service.cli import main
from service.http import EventHub, EventMetrics, EventStreamPolicy, Health, build_app, serve
from service.settings import HttpSettings
from tests.service.test_http_events import rows
from tests.support import until

TOKEN = "tail-token-0123456789abcdefgh"


def _no_reader() -> duckdb.DuckDBPyConnection:
    raise AssertionError("nothing is read")


async def test_tail_prints_each_episode_once_across_a_cut_connection(
    tmp_path: Path, registry: CollectorRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "being.duckdb"
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndatabase_path = "{database}"\n', encoding="utf-8")
    hub = EventHub(EventStreamPolicy(retry_ms=10), stream_id="run1", metrics=EventMetrics(registry))
    token = ServiceToken(TOKEN, "generated", str(database) + ".token")
    app = build_app(registry, Health(pipeline_running=True), _no_reader, token=token, events=hub)
    served = await serve(app, HttpSettings(port=0))
    publish_address(database, ServiceAddress("127.0.0.1", served.port, os.getpid()))
    publish_token(database, token)
    try:
        tail = asyncio.ensure_future(
            asyncio.to_thread(main, ["tail", "--json", "--count", "3", "--type", "user.*", "--config", str(config)])
        )
        await until(lambda: hub.clients == 1, timeout_s=30, what="tail connected")
        hub.publish([*rows(1, 0), *rows(1, 1, "heavy_tick.observe"), *rows(1, 2)])
        await until(lambda: (registry.get_sample_value("being_events_sent_total") or 0) == 2, what="two sent")
        (stream,) = hub.streams
        hub.drop(stream, "slow")  # the connection is cut under it
        await until(
            lambda: registry.get_sample_value("being_events_resumes_total", {"outcome": "resumed"}) == 1,
            timeout_s=30,
            what="tail to reconnect with Last-Event-ID",
        )
        hub.publish(rows(1, 3))
        assert await asyncio.wait_for(tail, 30) == 0
    finally:
        await served.close()
    printed = [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()]
    assert printed == ["e0", "e2", "e3"]  # each once, the filtered one left out
