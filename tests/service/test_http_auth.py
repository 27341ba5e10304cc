"""Every route needs the token, except the probes: a table-driven test over the app's own route table.

A route added to the app without being added to ``OPEN_ROUTES`` is covered by the table test
at once: a request without the token must get 401 there. Real loopback server, real httpx.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from service._token import ServiceToken
from service.http import OPEN_ROUTES, EventHub, EventStreamPolicy, Health, Served, build_app, serve
from service.settings import HttpSettings
from sinks import ArchiveResult

TOKEN = "s3cret-token-for-tests-0123456789"
MAX_BODY = 4096


def _no_reader() -> duckdb.DuckDBPyConnection:
    raise AssertionError("these tests read nothing")


def _archive(_days: float | None) -> Future[ArchiveResult]:
    done: Future[ArchiveResult] = Future()
    done.set_result(ArchiveResult(archived=0, reconciled=0, files=()))
    return done


def _backup(_out: Path) -> Future[dict[str, Any]]:
    done: Future[dict[str, Any]] = Future()
    done.set_result({"tables": {}})
    return done


def _app(registry: CollectorRegistry, *, metrics_public: bool = False) -> web.Application:
    return build_app(
        registry,
        Health(pipeline_running=True),
        _no_reader,
        max_body_bytes=MAX_BODY,
        archive_dir=Path("unused"),
        archive_now=_archive,
        backup_now=_backup,
        token=ServiceToken(TOKEN, "environment", "DIGITAL_BEING_TOKEN"),
        metrics_public=metrics_public,
        events=EventHub(EventStreamPolicy(), stream_id="run1"),
    )


@asynccontextmanager
async def _serve(app: web.Application) -> AsyncIterator[tuple[Served, httpx.AsyncClient]]:
    served = await serve(app, HttpSettings(port=0, max_body_bytes=MAX_BODY))
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}", timeout=10)
    try:
        yield served, client
    finally:
        await client.aclose()
        await served.close()


def _routes(app: web.Application) -> list[tuple[str, str, str]]:
    """(method, pattern, a concrete path) of every route the app has, HEAD included."""
    table: list[tuple[str, str, str]] = []
    for route in app.router.routes():
        resource = route.resource
        assert resource is not None
        pattern = resource.canonical
        path = re.sub(r"\{[^}]+\}", "x", pattern)
        table.append((route.method, pattern, path))
    assert len(table) >= 8, table  # the table is the app's, not empty
    return table


async def _status(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> tuple[int, httpx.Headers]:
    async with client.stream(method, path, **kwargs) as response:  # /events never ends: the head is enough
        return response.status_code, response.headers


async def test_every_route_but_the_open_ones_answers_401_without_the_token(registry: CollectorRegistry) -> None:
    app = _app(registry)
    async with _serve(app) as (_served, client):
        for method, pattern, path in _routes(app):
            status, headers = await _status(client, method, path)
            if pattern in OPEN_ROUTES:
                assert status != 401, (method, pattern)
                continue
            assert status == 401, (method, pattern, status)
            assert headers["www-authenticate"] == 'Bearer realm="being"'
            for wrong in ("Bearer not-the-token-at-all-0000", "Basic dXNlcjpwYXNz", "Bearer", TOKEN):
                status, _ = await _status(client, method, path, headers={"Authorization": wrong})
                assert status == 401, (method, pattern, wrong)
            status, _ = await _status(client, method, path, headers={"Authorization": f"Bearer {TOKEN}"})
            assert status != 401, (method, pattern)
            for scheme in ("bearer", "BEARER"):  # the scheme's case does not matter (RFC 9110)
                status, _ = await _status(client, method, path, headers={"Authorization": f"{scheme} {TOKEN}"})
                assert status != 401, (method, pattern, scheme)
        unauthorized = registry.get_sample_value("being_http_requests_refused_total", {"reason": "unauthorized"})
        assert unauthorized is not None and unauthorized > 0


def test_the_open_routes_are_the_probes_and_the_console_files_only() -> None:
    # a route joins this set only with a reason in docs/http.md ("Authentication"): it must hold no data
    # (the console's page and files are the same for everyone; the page asks for the token itself)
    assert frozenset({"/healthz", "/readyz", "/", "/console/{name}"}) == OPEN_ROUTES


async def test_a_path_no_route_serves_gets_401_before_404(registry: CollectorRegistry) -> None:
    async with _serve(_app(registry)) as (_served, client):
        assert (await client.get("/no/such/route")).status_code == 401
        answer = await client.get("/no/such/route", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 404


async def test_the_token_in_the_query_is_taken_on_events_only(registry: CollectorRegistry) -> None:
    async with _serve(_app(registry)) as (_served, client):
        refused = await client.get("/episodes", params={"token": TOKEN})
        assert refused.status_code == 401
        assert "only on /events" in refused.json()["error"]
        assert TOKEN not in refused.text  # an error never repeats the token
        status, headers = await _status(client, "GET", "/events", params={"token": TOKEN})
        assert status == 200 and headers["content-type"].startswith("text/event-stream")
        status, _ = await _status(client, "GET", "/events", params={"token": TOKEN[:-1] + "x"})
        assert status == 401


async def test_metrics_can_be_public(registry: CollectorRegistry) -> None:
    async with _serve(_app(registry)) as (_served, client):
        assert (await client.get("/metrics")).status_code == 401
    async with _serve(_app(CollectorRegistry(), metrics_public=True)) as (_served, client):
        assert (await client.get("/metrics")).status_code == 200
        assert (await client.get("/episodes")).status_code == 401


async def test_a_body_without_the_token_is_refused_before_it_is_read(registry: CollectorRegistry) -> None:
    async with _serve(_app(registry)) as (_served, client):
        big = b"x" * (MAX_BODY * 4)
        answer = await client.post("/archive", content=big)
        assert answer.status_code == 401  # not 413: the body's size is not even looked at
        assert registry.get_sample_value("being_http_requests_refused_total", {"reason": "body_too_large"}) == 0


async def test_the_host_and_origin_rules_still_come_first(registry: CollectorRegistry) -> None:
    async with _serve(_app(registry)) as (_served, client):
        assert (await client.get("/episodes", headers={"Host": "evil.example"})).status_code == 421
        crossed = await client.post(
            "/archive", headers={"Origin": "https://evil.example", "Authorization": f"Bearer {TOKEN}"}
        )
        assert crossed.status_code == 403


def test_the_token_never_shows_in_its_repr() -> None:
    token = ServiceToken(TOKEN, "generated", "/data/being.duckdb.token")
    assert TOKEN not in repr(token) and TOKEN not in str(token)
    assert token.matches(TOKEN)
    assert not token.matches(TOKEN + "x") and not token.matches("") and not token.matches("\udcff")


@pytest.mark.parametrize("header", ["Bearer   " + TOKEN, "bearer\t" + TOKEN])
async def test_spaces_around_the_token_are_not_part_of_it(registry: CollectorRegistry, header: str) -> None:
    async with _serve(_app(registry)) as (_served, client):
        answer = await client.get("/episodes", headers={"Authorization": header})
        assert answer.status_code != 401
