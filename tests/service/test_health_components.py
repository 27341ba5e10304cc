"""Readiness components and the loop's lag: each state reached for real (disk, writer, Redis) or on virtual time."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from service._cache_store import shared_store
from service.health import (
    CacheStoreHealth,
    ComponentHealth,
    DatabaseHealth,
    DiskHealth,
    Health,
    InboxHealth,
    LLMHealth,
    LoopLag,
    Status,
)
from service.settings import CacheSettings
from sinks import DuckWriter, open_database
from tests.redis_server import RedisServer, redis_binary

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Seconds:
    """A virtual monotonic clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Moments:
    """A virtual wall clock."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_the_loops_lag_is_the_probes_lateness_or_how_overdue_it_is() -> None:
    clock = Seconds()
    lag = LoopLag(0.5, clock=clock)
    assert lag.lag() is None
    lag.expect()
    clock.now += 0.5
    lag.beat()
    assert lag.lag() == 0.0
    clock.now += 0.5 + 0.25  # woke a quarter second late
    lag.beat()
    assert lag.lag() == pytest.approx(0.25)
    clock.now += 0.5 + 7.0  # blocked: the probe is overdue and has not woken yet
    assert lag.lag() == pytest.approx(7.0)


def test_liveness_fails_while_the_loop_is_late_beyond_the_limit() -> None:
    clock = Seconds()
    lag = LoopLag(0.5, clock=clock)
    lag.expect()
    health = Health(pipeline_running=True, loop_lag=lag.lag, loop_lag_limit_s=5.0)
    clock.now += 0.6
    ok, body = health.live()
    assert ok and body["loop_lag_s"] == pytest.approx(0.1) and body["loop_lag_limit_s"] == 5.0
    clock.now += 6.0
    ok, body = health.live()
    assert not ok and body["status"] == "failing"
    assert not health.ready()[0]


def test_disk_free_against_both_thresholds(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free // (1024 * 1024)
    beyond = free * 4 + 10
    ok = DiskHealth(tmp_path, critical_free_mb=0, warning_free_mb=0).health()
    assert ok.status is Status.OK and ok.detail.endswith(f"free on the disk of {tmp_path}")
    low = DiskHealth(tmp_path, critical_free_mb=0, warning_free_mb=beyond).health()
    assert low.status is Status.DEGRADED and "below checks.disk_warning_free_mb" in low.detail
    full = DiskHealth(tmp_path, critical_free_mb=beyond, warning_free_mb=beyond).health()
    assert full.status is Status.FAILING and "below checks.disk_critical_free_mb" in full.detail
    health = Health(pipeline_running=True)
    health.add("disk", DiskHealth(tmp_path, critical_free_mb=beyond, warning_free_mb=beyond), critical=True)
    ready, body = health.ready()
    assert not ready and body["status"] == "not ready"


def test_the_database_is_degraded_while_the_writers_queue_is_over_its_bound(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "being.duckdb"), max_pending=1)
    component = DatabaseHealth(writer)
    gate = threading.Event()
    try:
        assert component.health() == ComponentHealth(Status.OK, "0 write jobs queued (bound 1)")
        blocking = writer.submit("hold", lambda con: gate.wait(30))
        queued = [writer.submit("after", lambda con: None) for _ in range(2)]
        report = component.health()
        assert report.status is Status.DEGRADED and "at or over the bound of 1" in report.detail
    finally:
        gate.set()
        blocking.result(timeout=30)
        for future in queued:
            future.result(timeout=30)
        writer.close()
    assert writer.invalidated is None


def test_the_inbox_is_degraded_while_a_message_waits_too_long_even_as_others_are_answered() -> None:
    clock = Seconds()
    out: set[str] = set()
    inbox = InboxHealth(lambda: out, clock=clock, stalled_after_s=60.0)
    assert inbox.health() == ComponentHealth(Status.OK, "no message waiting for its answer")
    out |= {"a", "b", "c"}
    assert inbox.health().detail == "3 message(s) being answered, the oldest for 0 s"
    clock.now += 30.0
    out -= {"b", "c"}
    out |= {"d", "e"}  # others come and go: "a" still waits
    assert inbox.health().status is Status.OK
    clock.now += 31.0
    stalled = inbox.health()
    assert stalled == ComponentHealth(
        Status.DEGRADED, "3 message(s) read and unanswered, the oldest for 61 s (stalled after 60 s)"
    )
    out.discard("a")  # answered: the oldest left came 31 s ago
    assert inbox.health().detail == "2 message(s) being answered, the oldest for 31 s"
    out.clear()
    assert inbox.health().status is Status.OK


def test_an_llm_call_in_flight_past_the_limit_degrades_and_an_answer_recovers() -> None:
    clock = Moments()
    llm = LLMHealth(clock=clock, stuck_after_s=5.0)
    token = llm.call_started()
    clock.advance(4.0)
    assert llm.health().status is Status.OK
    clock.advance(1.0)
    stuck = llm.health()
    assert stuck.status is Status.DEGRADED
    assert (
        stuck.detail
        == "1 call(s) in flight, the oldest for 5 s without an answer (since 2026-03-01T12:00:00Z; stuck after 5 s)"
    )
    second = llm.call_started()
    llm.call_ended(token, answered=False)
    assert llm.health().status is Status.OK  # the other call is new
    clock.advance(6.0)
    assert llm.health().status is Status.DEGRADED
    llm.call_ended(second, answered=True)
    assert llm.health() == ComponentHealth(Status.OK, "the latest call was answered at 2026-03-01T12:00:11Z")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    started = RedisServer(redis_binary(), tmp_path)
    yield started
    started.stop()


async def test_the_cache_store_is_degraded_while_redis_does_not_answer(server: RedisServer) -> None:
    store = shared_store(CacheSettings(backend="redis", redis_url=server.url, store_timeout_s=0.2))
    assert store is not None
    clock = Moments()
    component = CacheStoreHealth(store, where=server.url, clock=clock)
    try:
        assert component.health().detail == f"{server.url}: not probed yet"
        assert await component.probe()
        assert component.health().status is Status.OK
        with server.paused():
            assert not await component.probe()
            hung = component.health()
        assert hung.status is Status.DEGRADED and "no answer within 0.2 s" in hung.detail
        assert await component.probe()
        assert component.health().status is Status.OK
        server.stop()
        clock.advance(5.0)
        assert not await component.probe()
        down = component.health()
        assert down.status is Status.DEGRADED and down.detail.startswith(f"{server.url} since 2026-03-01T12:00:05Z: ")
        health = Health(pipeline_running=True)
        health.add("cache_store", component)
        ready, body = health.ready()
        assert ready and body["status"] == "degraded"
    finally:
        await store.aclose()
