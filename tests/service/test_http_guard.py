"""Every route refuses what a browser on another site or a flood sends: unknown Host, foreign Origin, big bodies.

A real loopback server (``service.http.serve``) and real clients: httpx for ordinary
requests, raw asyncio sockets for what no ordinary client sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx
import pytest
from prometheus_client import CollectorRegistry

from service.http import Health, HostRules, Served, build_app, serve
from service.settings import HttpSettings
from sinks import ArchiveResult
from tests.support import until

MAX_BODY = 4096


@dataclass
class Archive:
    """A stand-in for the writer's archival job that records each run."""

    runs: list[float | None] = field(default_factory=list)

    def __call__(self, days: float | None) -> Future[ArchiveResult]:
        self.runs.append(days)
        done: Future[ArchiveResult] = Future()
        done.set_result(ArchiveResult(archived=0, reconciled=0, files=()))
        return done


@dataclass
class Server:
    served: Served
    archive: Archive
    registry: CollectorRegistry
    client: httpx.AsyncClient

    def sample(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


def _no_reader() -> duckdb.DuckDBPyConnection:
    raise AssertionError("these tests read nothing")


@asynccontextmanager
async def _start(
    registry: CollectorRegistry, settings: HttpSettings, *, allowed_hosts: tuple[str, ...] = ()
) -> AsyncIterator[Server]:
    archive = Archive()
    app = build_app(
        registry,
        Health(pipeline_running=True),
        _no_reader,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
        hosts=HostRules.for_service(settings.host, allowed_hosts),
        archive_dir=Path("unused"),
        archive_now=archive,
    )
    served = await serve(app, settings)
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}", timeout=10)
    try:
        yield Server(served, archive, registry, client)
    finally:
        await client.aclose()
        await served.close()


@pytest.fixture
async def server(registry: CollectorRegistry) -> AsyncIterator[Server]:
    settings = HttpSettings(port=0, max_body_bytes=MAX_BODY)
    async with _start(registry, settings, allowed_hosts=("being.lan",)) as ctx:
        yield ctx


async def _exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` on a fresh connection and read until the server closes it (deadline 10 s)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(10):
            return await reader.read()
    finally:
        writer.close()


# --- Host -------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8766", "127.0.0.1.evil.example", "localhost:x"])
async def test_a_request_naming_another_host_gets_421(server: Server, host: str) -> None:
    response = await server.client.get("/healthz", headers={"Host": host})
    assert response.status_code == 421
    assert "http.allowed_hosts" in response.json()["error"]
    assert server.sample("being_http_requests_refused_total", reason="host") == 1


async def test_dns_rebinding_cannot_read_the_episodes(server: Server) -> None:
    # the attack: evil.example now resolves to 127.0.0.1, so the page's fetch reaches us with its own name
    response = await server.client.get("/episodes", headers={"Host": "evil.example"})
    assert response.status_code == 421
    assert "episodes" not in response.json()


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:1234", "LOCALHOST.", "127.0.0.1:8766", "[::1]:8766", "[::1]", "being.lan:80"]
)
async def test_loopback_names_and_allowed_hosts_are_served_on_any_port(server: Server, host: str) -> None:
    response = await server.client.get("/healthz", headers={"Host": host})
    assert response.status_code == 200, response.text


async def test_a_request_without_host_gets_400(server: Server) -> None:
    answer = await _exchange(server.served.port, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"Host header" in answer


# --- Origin -----------------------------------------------------------------------------


async def test_a_cross_site_post_is_refused_with_403(server: Server) -> None:
    response = await server.client.post("/archive", headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert "another site" in response.json()["error"]
    assert server.archive.runs == []
    assert server.sample("being_http_requests_refused_total", reason="origin") == 1


@pytest.mark.parametrize("origin", ["null", "http://localhost.evil.example", "file://", "ftp://localhost", "garbage"])
async def test_origins_that_are_not_an_allowed_host_are_refused(server: Server, origin: str) -> None:
    response = await server.client.post("/archive", headers={"Origin": origin})
    assert response.status_code == 403
    assert server.archive.runs == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "http://localhost:3000"}, {"Origin": "https://127.0.0.1"}, {"Origin": "http://being.lan:8766"}],
)
async def test_a_post_without_origin_or_from_an_allowed_host_is_served(server: Server, headers: dict[str, str]) -> None:
    response = await server.client.post("/archive", headers=headers)
    assert response.status_code == 200, response.text
    assert server.archive.runs == [None]


async def test_reads_are_not_refused_for_their_origin(server: Server) -> None:
    # a cross-site read is the browser's business (no CORS headers here); Host already stops rebinding
    response = await server.client.get("/healthz", headers={"Origin": "http://evil.example"})
    assert response.status_code == 200


# --- bodies -----------------------------------------------------------------------------


async def test_a_20_mb_body_to_archive_gets_413_before_it_runs(server: Server) -> None:
    response = await server.client.post("/archive", content=b"x" * (20 * 1024 * 1024))
    assert response.status_code == 413
    assert f"http.max_body_bytes ({MAX_BODY})" in response.json()["error"]
    assert server.archive.runs == []
    assert server.sample("being_http_requests_refused_total", reason="body_too_large") == 1


async def test_content_length_over_the_limit_is_refused_before_the_body_is_sent(server: Server) -> None:
    # only the head goes out: the answer must come without waiting for the 20 MB it announces
    head = b"POST /archive HTTP/1.1\r\nHost: localhost\r\nContent-Length: 20971520\r\nConnection: close\r\n\r\n"
    reader, writer = await asyncio.open_connection("127.0.0.1", server.served.port)
    try:
        writer.write(head)
        await writer.drain()
        async with asyncio.timeout(10):
            status = await reader.readline()
        assert status.startswith(b"HTTP/1.1 413"), status
    finally:
        writer.close()
    assert server.archive.runs == []


@pytest.mark.parametrize(
    ("host", "length", "status"),
    [("localhost", 20 * 1024 * 1024, b"413"), ("evil.example", 10, b"421"), ("localhost", 10, b"100")],
)
async def test_a_client_that_expects_100_continue_is_refused_before_it_sends_its_body(
    server: Server, host: str, length: int, status: bytes
) -> None:
    head = f"POST /archive HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\nExpect: 100-continue\r\n\r\n"
    reader, writer = await asyncio.open_connection("127.0.0.1", server.served.port)
    try:
        writer.write(head.encode())
        await writer.drain()
        async with asyncio.timeout(10):
            assert (await reader.readline()).split(b" ")[1] == status
            if status == b"100":
                await reader.readline()
                writer.write(b"b" * length)
                assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    finally:
        writer.close()
    assert server.archive.runs == ([None] if status == b"100" else [])


async def test_a_chunked_body_is_counted_and_refused_once_over_the_limit(server: Server) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"y" * 1024

    response = await server.client.post("/archive", content=chunks())
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413
    assert server.archive.runs == []


async def test_a_body_within_the_limit_reaches_every_route(server: Server) -> None:
    assert (await server.client.post("/archive", content=b"z" * MAX_BODY)).status_code == 200
    assert (await server.client.request("GET", "/healthz", content=b"z" * 100)).status_code == 200


async def test_a_broken_chunked_body_gets_400(server: Server) -> None:
    request = (
        b"POST /archive HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"zz\r\nnot a chunk size\r\n"
    )
    answer = await _exchange(server.served.port, request)
    assert answer.split(b" ", 2)[1] == b"400", answer[:200]  # from the parser, or the guard if the head came first
    assert server.archive.runs == []


# --- slow and many clients --------------------------------------------------------------


def _tiny_timeouts() -> HttpSettings:
    return HttpSettings(port=0, max_body_bytes=MAX_BODY, header_timeout_s=0.1, body_timeout_s=0.1)


@pytest.fixture
async def impatient(registry: CollectorRegistry) -> AsyncIterator[Server]:
    async with _start(registry, _tiny_timeouts()) as ctx:
        yield ctx


async def _closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """What the server sent before closing the connection (a reset counts as closed)."""
    try:
        async with asyncio.timeout(10):
            return await reader.read()
    except ConnectionResetError:
        return b""


async def test_a_connection_that_never_finishes_its_head_is_closed(impatient: Server) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", impatient.served.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
    await writer.drain()
    assert await _closed_by_server(reader) == b""
    writer.close()
    assert impatient.served.header_timeouts == 1
    assert impatient.sample("being_http_header_timeouts_total") == 1


async def test_many_half_open_connections_are_all_closed_and_others_still_served(impatient: Server) -> None:
    port = impatient.served.port
    opened = [await asyncio.open_connection("127.0.0.1", port) for _ in range(60)]
    for n, (_, writer) in enumerate(opened):
        writer.write(b"GET /healthz HTTP/1.1\r\n" if n % 2 else b"")  # half a head, or nothing at all
    answer = await _exchange(port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200")
    for reader, writer in opened:
        assert await _closed_by_server(reader) == b""
        writer.close()
    assert impatient.served.header_timeouts == 60
    assert impatient.served.open_connections == 0


async def test_a_body_that_does_not_arrive_in_time_gets_408_and_the_connection_is_closed(impatient: Server) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", impatient.served.port)
    writer.write(b"POST /archive HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n" + b"a" * 10)
    await writer.drain()
    answer = await _closed_by_server(reader)
    writer.close()
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert impatient.archive.runs == []
    assert impatient.sample("being_http_requests_refused_total", reason="body_timeout") == 1


async def test_a_kept_alive_connection_is_served_again_then_closed_when_idle(impatient: Server) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", impatient.served.port)
    for _ in range(2):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await writer.drain()
        async with asyncio.timeout(10):
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(next(x for x in head.split(b"\r\n") if x.lower().startswith(b"content-length")).split(b":")[1])
            await reader.readexactly(length)
    assert await _closed_by_server(reader) == b""
    writer.close()


async def test_a_slow_answer_is_not_cut_by_the_head_timer(registry: CollectorRegistry) -> None:
    release: asyncio.Event = asyncio.Event()
    loop = asyncio.get_running_loop()

    calls: list[float | None] = []
    tasks: list[asyncio.Task[None]] = []

    def archive_later(days: float | None) -> Future[ArchiveResult]:
        calls.append(days)
        done: Future[ArchiveResult] = Future()

        async def finish() -> None:
            await release.wait()
            done.set_result(ArchiveResult(archived=1, reconciled=0, files=()))

        tasks.append(loop.create_task(finish()))
        return done

    app = build_app(registry, Health(pipeline_running=True), _no_reader, archive_now=archive_later)
    served = await serve(app, _tiny_timeouts())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}", timeout=10) as client:
            answer = asyncio.ensure_future(client.post("/archive"))
            # a connection opened now is closed by its head timer: the answer has waited longer than that
            await until(lambda: calls == [None], what="the archive route to run")
            reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
            assert await _closed_by_server(reader) == b""
            writer.close()
            assert not answer.done()
            release.set()
            response = await answer
        assert response.status_code == 200 and response.json()["archived"] == 1
    finally:
        await served.close()


async def test_connections_beyond_the_limit_are_closed_at_once_and_counted(registry: CollectorRegistry) -> None:
    async with _start(registry, HttpSettings(port=0, max_connections=3, header_timeout_s=60.0)) as server:
        port = server.served.port
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        await until(lambda: server.served.open_connections == 3, what="3 open connections")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert await _closed_by_server(reader) == b""
        writer.close()
        assert server.served.refused_connections == 1
        assert server.sample("being_http_connections_refused_total") == 1
        assert server.sample("being_http_connections_open") == 3
        _, first = held.pop()
        first.close()
        await until(lambda: server.served.open_connections == 2, what="2 open connections")
        answer = await _exchange(port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200")
        for _, writer in held:
            writer.close()
