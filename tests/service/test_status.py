"""``GET /status``: each protection's state read from its shared objects, and the route before and after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from agent import Protection, ProtectPolicies
from operators import BreakerPolicy, BudgetPolicy, BulkheadPolicy, CachePolicy, RateLimitPolicy
from service.http import Health, StatusBoard, build_app
from service.metrics import ResilienceMetrics
from sinks import DuckWriter, open_database


def every_layer(registry: CollectorRegistry) -> Protection[Any]:
    policies = ProtectPolicies(
        breaker=BreakerPolicy(minimum_calls=4, window_calls=4),
        budget=BudgetPolicy(max_calls=10, window_s=60.0),
        rate_limit=RateLimitPolicy(rate_per_s=1.0, burst=5.0),
        cache=CachePolicy(max_entries=8),
        bulkhead=BulkheadPolicy(max_concurrent=2, max_waiting=4),
    )
    metrics = ResilienceMetrics(registry)
    protection: Protection[Any] = Protection(policies, name="reply", listener=metrics)
    metrics.watch(protection)
    return protection


def test_a_fresh_protection_shows_every_layer_at_rest(registry: CollectorRegistry) -> None:
    board = StatusBoard(registry)
    board.watch(every_layer(registry), lambda: 100.0)
    [status] = board.report()["protections"]
    assert status == {
        "name": "reply",
        "breaker": {"state": "closed", "failure_rate": None, "slow_call_rate": None, "probes_running": 0},
        "budget": {"remaining": 10, "max_calls": 10, "window_s": 60.0},
        "rate_limit": {"tokens": 5.0, "burst": 5.0, "rate_per_s": 1.0, "mode": "wait"},
        "cache": {"entries": 0, "max_entries": 8, "ttl_s": 600.0, "hits": 0, "misses": 0, "shared": False},
        "bulkhead": {"in_flight": 0, "waiting": 0, "max_concurrent": 2},
    }


def test_spent_budget_tokens_an_open_breaker_and_cache_hits_show(registry: CollectorRegistry) -> None:
    protection = every_layer(registry)
    now = 100.0
    board = StatusBoard(registry)
    board.watch(protection, lambda: now)
    assert protection.budget is not None and protection.bucket is not None
    assert protection.breaker is not None and protection.cache is not None
    protection.budget.spend(now, 3)
    protection.bucket.reserve(now, 2.0)
    for n in range(4):  # three failures of four: over the 50 % threshold
        permit = protection.breaker.acquire(now)
        if n == 0:
            protection.breaker.on_success(permit, now, 0.1)
        else:
            protection.breaker.on_error(permit, now, 0.1, RuntimeError("down"))
    protection.cache.put("k", ("answer",), now)
    listener = protection.listener
    listener.cache_hit("reply")
    listener.cache_hit("reply")
    listener.cache_miss("reply")
    [status] = board.report()["protections"]
    assert status["breaker"] == {"state": "open", "failure_rate": 0.75, "slow_call_rate": 0.0, "probes_running": 0}
    assert status["budget"]["remaining"] == 7
    assert status["rate_limit"]["tokens"] == 3.0
    assert status["cache"] == {
        "entries": 1,
        "max_entries": 8,
        "ttl_s": 600.0,
        "hits": 2,
        "misses": 1,
        "shared": False,
    }
    now = 161.0  # the spent calls have left the budget's window; the bucket has refilled
    [later] = board.report()["protections"]
    assert later["budget"]["remaining"] == 10
    assert later["rate_limit"]["tokens"] == 5.0


def test_layers_switched_off_are_null_and_counts_unknown_without_a_registry() -> None:
    protection: Protection[Any] = Protection(
        ProtectPolicies(breaker=None, retry=None, cache=CachePolicy()), name="mind"
    )
    board = StatusBoard()  # no registry: the hit counters are not known
    board.watch(protection, lambda: 0.0)
    [status] = board.report()["protections"]
    assert status["breaker"] is None and status["budget"] is None
    assert status["rate_limit"] is None and status["bulkhead"] is None
    assert status["cache"]["hits"] is None and status["cache"]["misses"] is None


@pytest.fixture
async def client(tmp_path: Path, registry: CollectorRegistry) -> AsyncIterator[tuple[httpx.AsyncClient, StatusBoard]]:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    board = StatusBoard(registry)
    health = Health(writer_alive=lambda: writer.alive, pipeline_running=True)
    server = TestServer(build_app(registry, health, writer.reader, status=board))
    await server.start_server()
    http = httpx.AsyncClient(base_url=str(server.make_url("")), timeout=10)
    yield http, board
    await http.aclose()
    await server.close()
    writer.close()


async def test_the_route_lists_nothing_before_the_pipeline_and_then_the_protection(
    client: tuple[httpx.AsyncClient, StatusBoard], registry: CollectorRegistry
) -> None:
    http, board = client
    before = await http.get("/status")
    assert before.status_code == 200 and before.json() == {"protections": []}
    board.watch(every_layer(registry), lambda: 0.0)
    after = await http.get("/status")
    assert [p["name"] for p in after.json()["protections"]] == ["reply"]
    assert after.json()["protections"][0]["breaker"]["state"] == "closed"


async def test_the_route_is_read_only(client: tuple[httpx.AsyncClient, StatusBoard]) -> None:
    http, _ = client
    assert (await http.post("/status")).status_code == 405
