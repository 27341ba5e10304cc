"""``POST /messages`` against bodies the JSON parser itself refuses in unusual ways: a clear 400, nothing stored."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from service.http import Health, MessageDesk, MessageLimits, build_app
from sinks import DuckWriter, open_database
from streams import Event, IngestState, ingest

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def served(
    tmp_path: Path, registry: CollectorRegistry
) -> AsyncIterator[tuple[httpx.AsyncClient, DuckWriter, list[Event]]]:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    state = IngestState()
    health = Health(writer_alive=lambda: writer.alive, pipeline_running=True)
    desk = MessageDesk(writer, state, clock=lambda: T0, max_pending=3, max_wait_s=5.0, replies_on=True)
    app = build_app(
        registry, health, writer.reader, max_body_bytes=1 << 20, messages=desk, message_limits=MessageLimits()
    )
    server = TestServer(app)
    await server.start_server()
    emitted: list[Event] = []
    subscription = ingest(state).subscribe(emitted.append)
    client = httpx.AsyncClient(base_url=str(server.make_url("")), timeout=30)
    try:
        yield client, writer, emitted
    finally:
        subscription.dispose()
        await client.aclose()
        await server.close()
        writer.close()


async def test_a_number_of_more_digits_than_python_converts_is_a_400_and_nothing_is_stored(
    served: tuple[httpx.AsyncClient, DuckWriter, list[Event]],
) -> None:
    client, writer, emitted = served
    digits = sys.get_int_max_str_digits()
    for raw in (b'{"text": ' + b"9" * (digits + 1) + b"}", b'{"text": "hi", "urgent": -' + b"1" * (digits + 1) + b"}"):
        response = await client.post("/messages", content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        assert response.json() == {"error": f"body: not JSON this service reads: a number of more than {digits} digits"}
    stored = writer.call("count", lambda con: con.execute("SELECT count(*) FROM ingest").fetchall()[0][0])
    assert stored == 0
    assert emitted == []
