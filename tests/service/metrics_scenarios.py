"""Scenarios that move the series a short live run leaves still: each yields scrapes, the baseline first.

The live run (``metrics_live_scenario.live_run``) moves what a service does every day; these
drive the rarer paths on the real components: a protection whose every limit is hit (virtual
time), a writer whose queue is over its bound, a recovered row already stored, an HTTP server
at its connection cap, the checks.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler

from agent import Protection, ProtectPolicies, protect
from operators import (
    BreakerPolicy,
    BudgetPolicy,
    BulkheadPolicy,
    CachePolicy,
    Fallback,
    FallbackPolicy,
    FallbackRule,
    RateLimitPolicy,
    RetryPolicy,
)
from service.health import ComponentHealth, Status
from service.http import Health, build_app, serve
from service.metrics import HealthCollector, PipelineMetrics, ResilienceMetrics, ServiceMetrics
from service.settings import HttpSettings
from sinks import DuckWriter, EpisodeRow, open_database, write_rows
from tests.service.metrics_access_scenario import access_and_events
from tests.service.metrics_limits_scenario import limits_outage
from tests.service.metrics_live_scenario import live_run
from tests.service.metrics_mind_scenario import mind_thinks
from tests.support import until

on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed

Scenario = Callable[[Path, CollectorRegistry], AsyncIterator[str]]


def _scrape(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def _drive(protection: Protection[str], plan: list[tuple[int, str, list[object]]], scheduler: TestScheduler) -> None:
    calls = [scheduler.create_cold_observable(*msgs) for _, _, msgs in plan]
    triggers = scheduler.create_hot_observable(*[on_next(t, i) for i, (t, _, _) in enumerate(plan)])

    def one(i: int) -> Observable[str | Fallback[str]]:
        return protect(calls[i], protection, request={"prompt": plan[i][1]})

    scheduler.start(lambda: triggers.pipe(ops.flat_map(one)), disposed=2000)


async def every_limit(folder: Path, registry: CollectorRegistry) -> AsyncIterator[str]:
    """Two protections on virtual time: timeouts, retries given up, cache hits and evictions, every refusal."""
    metrics = ResilienceMetrics(registry)
    fallback: FallbackPolicy[str] = FallbackPolicy(rules=(FallbackRule(value="later"),))
    limits = Protection(
        ProtectPolicies(
            timeout_s=5.0,
            breaker=BreakerPolicy(window_calls=3, minimum_calls=3, open_for_s=100.0),
            retry=RetryPolicy(max_attempts=2, base_delay_s=1.0, jitter=False),
            rate_limit=RateLimitPolicy(rate_per_s=0.001, burst=4.0, mode="reject"),
            budget=BudgetPolicy(max_calls=10, window_s=None),
            cache=CachePolicy(max_entries=1),
        ),
        name="llm",
        dead_letter=lambda letter: None,
        fallback=fallback,
        listener=metrics,
        random=random.Random(1),
    )
    crowd = Protection(
        ProtectPolicies(
            bulkhead=BulkheadPolicy(max_concurrent=1, max_waiting=1),
            budget=BudgetPolicy(max_calls=2, window_s=None),
            cache=CachePolicy(max_entries=1),
        ),
        name="crowd",
        dead_letter=lambda letter: None,
        fallback=fallback,
        listener=metrics,
    )
    metrics.watch(limits)
    metrics.watch(crowd)
    yield _scrape(registry)
    _drive(
        limits,
        [
            (210, "a", [on_next(1, "A"), on_completed(1)]),
            (220, "a", [on_next(1, "never")]),  # a cache hit
            (230, "b", [on_next(100, "slow")]),  # times out twice: retry gives up
            (233, "f", [on_next(1, "F"), on_completed(1)]),  # evicts a from the one-entry cache
            (237, "g", [on_next(1, "G")]),  # no token left: refused by the rate limit
            (300, "c", [on_next(1, "C")]),  # rejected by the open breaker
        ],
        TestScheduler(),
    )
    scheduler = TestScheduler()
    waiting: list[str] = []
    scheduler.schedule_absolute(215, lambda *_: waiting.append(_scrape(registry)))
    _drive(
        crowd,
        [
            (210, "x", [on_next(50, "X"), on_completed(50)]),  # holds the one slot
            (211, "y", [on_next(50, "Y"), on_completed(50)]),  # waits for it
            (212, "z", [on_next(1, "Z"), on_completed(1)]),  # refused: the queue is full
            (400, "w", [on_next(1, "W"), on_completed(1)]),  # x and y spent the budget: refused
        ],
        scheduler,
    )
    yield waiting[0]
    yield _scrape(registry)


async def writer_over_bound(folder: Path, registry: CollectorRegistry) -> AsyncIterator[str]:
    """A writer held by a slow job: jobs admitted over its bound, a source waiting for room; a recovered row."""
    metrics = PipelineMetrics(registry)
    con = open_database(folder / "writer.duckdb")
    writer = DuckWriter(con, max_pending=1, listener=metrics)
    metrics.watch_writer(writer)
    yield _scrape(registry)
    gate = threading.Event()
    writer.submit("slow", lambda _: gate.wait(30))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    row = EpisodeRow(id="e1", time=at, type="user.message", description="m", outcome="success", event_id="ev1")
    first = writer.submit("batch", lambda c: write_rows(c, [row]))
    again = EpisodeRow(
        id="e1", time=at, type="user.message", description="m", outcome="success", event_id="ev1", may_exist=True
    )
    second = writer.submit("batch", lambda c: write_rows(c, [again]))  # over the bound: queued all the same
    room = asyncio.ensure_future(writer.room())
    yield _scrape(registry)  # two jobs pending behind the slow one
    gate.set()
    await room
    for job in (first, second):
        metrics.batch_committed(await asyncio.wrap_future(job))
    assert writer.close(checkpoint=True, timeout_s=30)
    yield _scrape(registry)


async def http_at_its_limits(folder: Path, registry: CollectorRegistry) -> AsyncIterator[str]:
    """A server with room for one connection: an idle one closed at its header timeout, one refused, a bad Host."""
    app = build_app(registry, Health(pipeline_running=True), lambda: _never_read())
    served = await serve(app, HttpSettings(port=0, max_connections=1, header_timeout_s=0.2))
    try:
        yield _scrape(registry)
        idle = await asyncio.open_connection("127.0.0.1", served.port)
        await until(lambda: (registry.get_sample_value("being_http_connections_open") or 0) == 1, what="open")
        refused = await asyncio.open_connection("127.0.0.1", served.port)
        assert await refused[0].read() == b""  # closed at once
        refused[1].close()
        assert await idle[0].read() == b""  # closed at its header timeout
        idle[1].close()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}", timeout=10) as client:
            response = await client.get("/healthz", headers={"Host": "evil.example"})
        assert response.status_code == 421
        yield _scrape(registry)
    finally:
        await served.close()


def _never_read() -> object:
    raise AssertionError("nothing is read from the database here")


async def checks_run(folder: Path, registry: CollectorRegistry) -> AsyncIterator[str]:
    """The checks report each result through ``record_check``."""
    metrics = ServiceMetrics(registry, version="0.0.0-test")
    yield _scrape(registry)
    metrics.record_check("data_folder", "ok")
    metrics.record_check("disk_free", "warning")
    metrics.record_check("http_port", "critical")
    yield _scrape(registry)
    metrics.record_checks([_Outcome("disk_free", ok=False, severity="warning"), _Outcome("llm", ok=True)])
    assert registry.get_sample_value("being_checks_total", {"check": "disk_free", "result": "warning"}) == 2
    assert registry.get_sample_value("being_checks_total", {"check": "llm", "result": "ok"}) == 1
    with pytest.raises(ValueError, match="result expected one of"):
        metrics.record_check("llm", "fine")
    yield _scrape(registry)


@dataclass(frozen=True)
class _Outcome:
    name: str
    ok: bool
    severity: str = "critical"


async def health_changes(folder: Path, registry: CollectorRegistry) -> AsyncIterator[str]:
    """Readiness as series: ready while running, a component degraded then down, not ready while stopping."""
    health = Health(pipeline_running=True)
    llm = _Settable(ComponentHealth(Status.OK, "answers"))
    health.add("llm", llm)
    HealthCollector(health, registry)
    yield _scrape(registry)
    llm.now = ComponentHealth(Status.DEGRADED, "fallbacks")
    yield _scrape(registry)
    health.stopping = True
    yield _scrape(registry)


class _Settable:
    def __init__(self, now: ComponentHealth) -> None:
        self.now = now

    def health(self) -> ComponentHealth:
        return self.now


SCENARIOS: dict[str, Scenario] = {
    "live_run": live_run,
    "every_limit": every_limit,
    "writer_over_bound": writer_over_bound,
    "http_at_its_limits": http_at_its_limits,
    "checks_run": checks_run,
    "health_changes": health_changes,
    "access_and_events": access_and_events,
    "mind_thinks": mind_thinks,
    "limits_outage": limits_outage,
}
