"""``GET /events`` on a real loopback server: the stream, its filters, resume, heartbeats, slow clients, shutdown.

Episodes are handed to the hub as the runtime does (``publish`` on the loop); the clients are
real: httpx streams and raw sockets that never read.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import httpx
from prometheus_client import CollectorRegistry

from service._token import ServiceToken
from service.commands.tail import ServerEvent, parse_events
from service.http import EventHub, EventMetrics, EventStreamPolicy, Health, Served, build_app, serve
from service.settings import HttpSettings
from sinks import EpisodeRow
from tests.support import until

TOKEN = "events-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def rows(n: int, start: int = 0, type_: str = "user.message", size: int = 0) -> list[EpisodeRow]:
    return [
        EpisodeRow(
            id=f"e{i}",
            time=T0 + timedelta(seconds=i),
            type=type_,
            description=f"d{i}",
            outcome="success",
            data={"pad": "x" * size} if size else {},
        )
        for i in range(start, start + n)
    ]


def _no_reader() -> duckdb.DuckDBPyConnection:
    raise AssertionError("nothing is read")


@dataclass
class Stream:
    served: Served
    hub: EventHub
    registry: CollectorRegistry
    client: httpx.AsyncClient

    def sample(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0


@asynccontextmanager
async def _serve(registry: CollectorRegistry, policy: EventStreamPolicy) -> AsyncIterator[Stream]:
    hub = EventHub(policy, stream_id="run1", metrics=EventMetrics(registry))
    app = build_app(
        registry,
        Health(pipeline_running=True),
        _no_reader,
        token=ServiceToken(TOKEN, "environment", "DIGITAL_BEING_TOKEN"),
        events=hub,
    )
    served = await serve(app, HttpSettings(port=0))
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}", headers=AUTH, timeout=10)
    try:
        yield Stream(served, hub, registry, client)
    finally:
        await client.aclose()
        await served.close()


class Reader:
    """The events of one open stream, read on a task as they come."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.events: list[ServerEvent] = []
        self.lines: list[str] = []
        self.ended = False
        self._task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        buffered: list[str] = []
        async for line in self.response.aiter_lines():
            self.lines.append(line)
            buffered.append(line)
            if line == "":
                self.events.extend(parse_events(iter(buffered)))
                buffered = []
        self.ended = True

    def episodes(self) -> list[tuple[str | None, dict[str, object]]]:
        return [(e.id, json.loads("\n".join(e.data))) for e in self.events if e.event == "episode"]

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def _connected(stream: Stream, count: int) -> None:
    await until(lambda: stream.hub.clients == count, what=f"{count} stream(s) open")


async def test_stored_episodes_arrive_in_order_with_resumable_ids(registry: CollectorRegistry) -> None:
    async with _serve(registry, EventStreamPolicy()) as stream:
        async with stream.client.stream("GET", "/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert response.headers["cache-control"] == "no-cache, no-store"
            reader = Reader(response)
            await _connected(stream, 1)
            stream.hub.publish(rows(3))
            stream.hub.publish(rows(2, 3))
            await until(lambda: len(reader.episodes()) == 5, what="five episodes")
            got = reader.episodes()
            assert [i for i, _ in got] == [f"run1:{n}" for n in range(1, 6)]
            assert [e["id"] for _, e in got] == [f"e{n}" for n in range(5)]
            assert reader.events[0].retry_ms == 3000
            await reader.close()
        assert stream.sample("being_events_sent_total") == 5


async def test_type_filters_apply_to_the_stream(registry: CollectorRegistry) -> None:
    async with _serve(registry, EventStreamPolicy()) as stream:
        async with stream.client.stream("GET", "/events", params={"type": "user.reply,heavy_tick.*"}) as response:
            reader = Reader(response)
            await _connected(stream, 1)
            stream.hub.publish([*rows(1, 0, "user.message"), *rows(1, 1, "user.reply"), *rows(1, 2, "heavy_tick.x")])
            await until(lambda: len(reader.episodes()) == 2, what="two episodes")
            assert [e["type"] for _, e in reader.episodes()] == ["user.reply", "heavy_tick.x"]
            await reader.close()
        bad = await stream.client.get("/events", params={"type": "no spaces"})
        assert bad.status_code == 400 and "type" in bad.json()["error"]


async def test_a_client_that_reconnects_with_last_event_id_gets_what_it_missed(registry: CollectorRegistry) -> None:
    async with _serve(registry, EventStreamPolicy()) as stream:
        async with stream.client.stream("GET", "/events") as response:
            reader = Reader(response)
            await _connected(stream, 1)
            stream.hub.publish(rows(3))
            await until(lambda: len(reader.episodes()) == 3, what="three episodes")
            last = reader.episodes()[-1][0]
            await reader.close()
        stream.hub.publish(rows(2, 3))  # stored while the client was away
        assert last == "run1:3"
        async with stream.client.stream("GET", "/events", headers={"Last-Event-ID": last}) as response:
            reader = Reader(response)
            await until(lambda: len(reader.episodes()) == 2, what="the two missed")
            stream.hub.publish(rows(1, 5))
            await until(lambda: len(reader.episodes()) == 3, what="and the next")
            assert [e["id"] for _, e in reader.episodes()] == ["e3", "e4", "e5"]
            await reader.close()
        bad = await stream.client.get("/events", headers={"Last-Event-ID": "run1:99"})
        assert bad.status_code == 400 and "not been sent" in bad.json()["error"]


async def test_a_resume_the_ring_cannot_serve_starts_with_a_gap(registry: CollectorRegistry) -> None:
    async with _serve(registry, EventStreamPolicy(ring_size=4, client_max_lag=4)) as stream:
        stream.hub.publish(rows(10))
        for last, reason in (("run1:2", "too_old"), ("run0:7", "other_run")):
            async with stream.client.stream("GET", "/events", headers={"Last-Event-ID": last}) as response:
                reader = Reader(response)
                await until(lambda r=reader: len(r.episodes()) == 4, what="the ring's four")
                gap = next(e for e in reader.events if e.event == "gap")
                assert json.loads(gap.data[0]) == {"last_event_id": last, "reason": reason, "oldest_id": "run1:7"}
                assert [i for i, _ in reader.episodes()] == ["run1:7", "run1:8", "run1:9", "run1:10"]
                await reader.close()


async def test_a_quiet_stream_sends_heartbeats(registry: CollectorRegistry) -> None:
    async with (
        _serve(registry, EventStreamPolicy(heartbeat_s=0.02)) as stream,
        stream.client.stream("GET", "/events") as response,
    ):
        reader = Reader(response)
        await until(lambda: reader.lines.count(": heartbeat") >= 3, what="three heartbeats")
        await reader.close()


def _never_reading(port: int) -> socket.socket:
    """A client that asks for the stream and then reads nothing, with a small receive buffer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
    return sock


async def test_a_client_that_does_not_read_is_dropped_and_counted_the_others_get_everything(
    registry: CollectorRegistry,
) -> None:
    policy = EventStreamPolicy(ring_size=64, client_max_lag=32, write_timeout_s=600.0)
    async with _serve(registry, policy) as stream:
        slow = _never_reading(stream.served.port)
        try:
            async with stream.client.stream("GET", "/events") as response:
                reader = Reader(response)
                await _connected(stream, 2)
                sent = 0
                while stream.sample("being_events_clients_dropped_total", reason="slow") == 0:
                    assert sent < 20_000, "the client that does not read was never dropped"
                    stream.hub.publish(rows(16, sent, size=16_384))  # publish returns at once, whoever reads
                    sent += 16
                    await until(lambda n=sent: len(reader.episodes()) == n, what="the reader to catch up")
                await until(lambda: stream.hub.clients == 1, what="the slow stream to end")
                stream.hub.publish(rows(1, sent))
                await until(lambda: len(reader.episodes()) == sent + 1, what="the last one")
                assert [e["id"] for _, e in reader.episodes()] == [f"e{n}" for n in range(sent + 1)]
                await reader.close()
        finally:
            slow.close()


async def test_a_client_whose_connection_takes_nothing_is_cut_off_at_the_write_deadline(
    registry: CollectorRegistry,
) -> None:
    policy = EventStreamPolicy(ring_size=1000, client_max_lag=1000, write_timeout_s=0.2)
    async with _serve(registry, policy) as stream:
        slow = _never_reading(stream.served.port)
        try:
            await _connected(stream, 1)
            stream.hub.publish(rows(64, size=262_144))  # 16 MB: far more than the sockets' buffers hold
            await until(
                lambda: stream.sample("being_events_clients_dropped_total", reason="stalled") == 1,
                what="the stalled client cut off",
            )
            await until(lambda: stream.hub.clients == 0, what="the stalled stream to end")
            assert stream.sample("being_events_clients_dropped_total", reason="slow") == 0
        finally:
            slow.close()


async def test_closing_the_server_ends_every_stream(registry: CollectorRegistry) -> None:
    async with (
        _serve(registry, EventStreamPolicy(heartbeat_s=3600.0)) as stream,
        stream.client.stream("GET", "/events") as response,
    ):
        reader = Reader(response)
        await _connected(stream, 1)
        await stream.served.close()  # the app's shutdown ends the stream: close does not wait for it
        await until(lambda: reader.ended, what="the stream to end")
        assert stream.hub.closed and stream.hub.clients == 0
        await reader.close()
