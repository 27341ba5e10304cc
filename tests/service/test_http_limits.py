"""Per-client allowances: exact counts and Retry-After on a counter clock, then 429s from a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import duckdb
import httpx
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from service._token import ServiceToken
from service.http import ClientLimitPolicy, EventHub, EventStreamPolicy, Health, build_app, serve
from service.http._client_limits import ClientLimiter
from service.settings import HttpSettings, load_settings

TOKEN = "limits-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Clock:
    """Seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_whole_window_is_allowed_at_once_then_one_per_spacing() -> None:
    clock = Clock()
    limiter = ClientLimiter(ClientLimitPolicy(window_s=60.0, reads=600, ingest=3), clock)
    assert [limiter.admit("a", "reads") for _ in range(600)] == [None] * 600
    wait = limiter.admit("a", "reads")
    assert wait == pytest.approx(0.1)  # the next one in 60 s / 600
    clock.now += 0.1
    assert limiter.admit("a", "reads") is None
    assert limiter.admit("a", "reads") == pytest.approx(0.1)


def test_ingest_and_reads_and_clients_are_counted_apart() -> None:
    clock = Clock()
    limiter = ClientLimiter(ClientLimitPolicy(window_s=60.0, reads=2, ingest=3), clock)
    assert [limiter.admit("a", "ingest") for _ in range(3)] == [None, None, None]
    assert limiter.admit("a", "ingest") == pytest.approx(20.0)
    assert limiter.admit("a", "reads") is None  # another allowance
    assert limiter.admit("b", "ingest") is None  # another client
    clock.now += 60.0
    assert [limiter.admit("a", "ingest") for _ in range(3)] == [None, None, None]  # a window later: all back


def test_refused_requests_do_not_push_the_client_further_back() -> None:
    clock = Clock()
    limiter = ClientLimiter(ClientLimitPolicy(window_s=10.0, reads=1), clock)
    assert limiter.admit("a", "reads") is None
    for _ in range(1000):  # hammering while refused
        assert limiter.admit("a", "reads") == pytest.approx(10.0)
    clock.now += 10.0
    assert limiter.admit("a", "reads") is None


def test_the_clients_remembered_are_bounded_the_longest_idle_forgotten_first() -> None:
    clock = Clock()
    limiter = ClientLimiter(ClientLimitPolicy(window_s=60.0, reads=1, max_clients=3), clock)
    for name in ("a", "b", "c"):
        assert limiter.admit(name, "reads") is None
    assert limiter.admit("a", "reads") is not None  # a is used again: b is now the longest idle
    assert limiter.admit("d", "reads") is None
    assert limiter.clients == 3 and limiter.forgotten == 1
    assert limiter.admit("a", "reads") is not None  # still remembered
    assert limiter.admit("b", "reads") is None  # forgotten: let in (forgetting only ever lets in sooner)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window_s": 0.0}, "window_s"),
        ({"reads": 0}, "reads"),
        ({"ingest": True}, "ingest"),
        ({"client": "cookie"}, "client"),
        ({"max_event_clients": 0}, "max_event_clients"),
    ],
)
def test_a_bad_policy_is_refused_when_built(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClientLimitPolicy(**kwargs)  # type: ignore[arg-type]


def test_the_policy_comes_from_the_settings() -> None:
    settings = load_settings(env={"BEING_HTTP_LIMITS_READS_PER_WINDOW": "7", "BEING_HTTP_LIMITS_CLIENT": "token"})
    policy = ClientLimitPolicy.from_settings(settings.http.limits)
    assert (policy.reads, policy.ingest, policy.window_s, policy.client) == (7, 60, 60.0, "token")


def _no_reader() -> duckdb.DuckDBPyConnection:
    raise AssertionError("nothing is read")


async def _ok(_request: web.Request) -> web.Response:
    return web.json_response({"accepted": True}, status=202)


@asynccontextmanager
async def _serve(
    registry: CollectorRegistry, policy: ClientLimitPolicy, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(
        registry,
        Health(pipeline_running=True),
        _no_reader,
        token=ServiceToken(TOKEN, "environment", "DIGITAL_BEING_TOKEN"),
        limits=policy,
        clock=clock,
        events=EventHub(EventStreamPolicy(), stream_id="run1"),
    )
    served = await serve(app, HttpSettings(port=0))
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}", timeout=10)
    try:
        yield client
    finally:
        await client.aclose()
        await served.close()


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_over_the_allowance_a_client_gets_429_with_retry_after(registry: CollectorRegistry) -> None:
    clock = Clock()
    async with _serve(registry, ClientLimitPolicy(window_s=30.0, reads=3, ingest=2), clock) as client:
        assert [(await client.get("/metrics", headers=AUTH)).status_code for _ in range(3)] == [200] * 3
        refused = await client.get("/metrics", headers=AUTH)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "10"  # 30 s / 3
        assert "reads_per_window" in refused.json()["error"]
        # the real ingest route, here with no message desk behind it (503): what counts is that it was let through
        assert [(await client.post("/messages", headers=AUTH)).status_code for _ in range(2)] == [503, 503]
        ingest = await client.post("/messages", headers=AUTH)
        assert (ingest.status_code, ingest.headers["retry-after"]) == (429, "15")
        assert (await client.get("/healthz")).status_code == 200  # probes are never limited
        clock.now += 10.0
        assert (await client.get("/metrics", headers=AUTH)).status_code == 200
        assert _sample(registry, "being_http_rate_limited_total", limit="reads") == 1
        assert _sample(registry, "being_http_rate_limited_total", limit="ingest") == 1
        assert _sample(registry, "being_http_requests_refused_total", reason="rate_limited") == 2
        assert _sample(registry, "being_http_requests_total", route="/metrics", method="GET", status="429") == 1


async def test_requests_without_the_token_count_against_the_address_too(registry: CollectorRegistry) -> None:
    clock = Clock()
    async with _serve(registry, ClientLimitPolicy(window_s=60.0, reads=5), clock) as client:
        statuses = [(await client.get("/episodes")).status_code for _ in range(5)]
        assert statuses == [401] * 5
        assert (await client.get("/episodes", headers=AUTH)).status_code == 429  # same address, same allowance


async def test_2000_tiny_requests_get_429s_past_the_allowance_and_the_service_answers(
    registry: CollectorRegistry,
) -> None:
    clock = Clock()
    async with _serve(registry, ClientLimitPolicy(window_s=60.0, reads=100), clock) as client:
        statuses = [(await client.get("/metrics", headers=AUTH)).status_code for _ in range(2000)]
        assert statuses.count(200) == 100 and statuses.count(429) == 1900
        assert (await client.get("/healthz")).status_code == 200


async def test_the_live_streams_open_at_once_are_capped(registry: CollectorRegistry) -> None:
    clock = Clock()
    async with _serve(registry, ClientLimitPolicy(max_event_clients=2), clock) as client:
        async with (
            client.stream("GET", "/events", headers=AUTH) as first,
            client.stream("GET", "/events", headers=AUTH) as second,
        ):
            assert (first.status_code, second.status_code) == (200, 200)
            third = await client.get("/events", headers=AUTH)
            assert third.status_code == 429 and int(third.headers["retry-after"]) >= 1
            assert "max_event_clients" in third.json()["error"]
        assert _sample(registry, "being_http_rate_limited_total", limit="events") == 1
