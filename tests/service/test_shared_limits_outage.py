"""The reply protection with its limits in a real Redis that hangs or stops mid-run: calls go on at once on this
instance's share of the limits, counted in metrics and health and logged once, and are shared again after."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from reactivex.scheduler.eventloop import AsyncIOScheduler

from agent import Protection
from llm import ChatResult
from operators import BudgetExceededError, RecordingListener
from service._assembly import reply_protection
from service._limit_store import RedisLimitStore, limit_store
from service._listeners import FanOutListener
from service.checks import Probe, check_named, run_checks
from service.health import SharedLimitsHealth, Status
from service.metrics import ResilienceMetrics
from service.settings import CheckSettings, ResilienceSettings, Settings, SharedLimitsSettings
from service.settings._resilience import BudgetSettings, RateLimitSettings
from streams import from_coroutine
from tests.redis_server import RedisServer, redis_binary

ANSWER = ChatResult(model="m", content="hello")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    running = RedisServer(redis_binary(), tmp_path)
    try:
        yield running
    finally:
        running.stop()


def settings_for(server: RedisServer, *, max_calls: int, retry_interval_s: float) -> Settings:
    return Settings(
        checks=CheckSettings(remote_timeout_s=0.2),
        resilience=ResilienceSettings(
            rate_limit=RateLimitSettings(enabled=True, rate_per_s=1000.0, burst=1000.0),
            budget=BudgetSettings(enabled=True, max_calls=max_calls, window_s=3600.0),
            shared_limits=SharedLimitsSettings(
                backend="redis",
                redis_url=server.url,
                key_prefix="outage",
                instances=2,
                timeout_s=0.1,
                retry_interval_s=retry_interval_s,
            ),
        ),
    )


class Instance:
    """One instance's protection over the shared limits, with its metrics, health and a recording listener."""

    def __init__(self, settings: Settings, store: RedisLimitStore) -> None:
        self.registry = CollectorRegistry()
        self.metrics = ResilienceMetrics(self.registry)
        self.health = SharedLimitsHealth(where="redis", instances=2, clock=lambda: datetime.now(UTC))
        self.recording = RecordingListener()
        listener = FanOutListener(self.metrics, self.health, self.recording)
        self.protection: Protection[ChatResult] = reply_protection(settings, listener=listener, limits=store)
        self.metrics.watch(self.protection)

    async def call(self) -> Any:
        """One guarded call: its answer, or the error it failed with."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        async def answer() -> ChatResult:
            return ANSWER

        self.protection.guard(from_coroutine(answer)).subscribe(
            on_next=done.set_result, on_error=done.set_result, scheduler=AsyncIOScheduler(asyncio.get_running_loop())
        )
        return await done

    def sample(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, {"name": "llm", **labels})
        return 0.0 if value is None else value

    def shared(self) -> bool:
        limits = self.protection.limits
        assert limits is not None
        return limits.shared


async def test_a_hung_redis_falls_back_at_once_then_the_limits_are_shared_again(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(server, max_calls=1000, retry_interval_s=0.3)
    store = limit_store(settings.resilience.shared_limits)
    assert store is not None
    instance = Instance(settings, store)
    caplog.set_level(logging.INFO, logger="service")
    try:
        assert await instance.call() == ANSWER
        assert instance.sample("being_shared_limits_shared") == 1.0
        with server.paused():
            answers = [await instance.call() for _ in range(4)]
            assert answers == [ANSWER] * 4  # not one waited for Redis beyond its 0.1 s limit to go on
            assert not instance.shared()
            assert instance.sample("being_shared_limits_shared") == 0.0
            assert instance.sample("being_shared_limits_fallbacks_total", limit="rate_limit") == 4.0
            assert instance.sample("being_shared_limits_fallbacks_total", limit="budget") == 4.0
            assert instance.sample("being_shared_limits_errors_total", operation="take_tokens") >= 1.0
            health = instance.health.health()
            assert health.status is Status.DEGRADED
            assert "gave no answer within 0.1 s" in health.detail
            assert health.detail.endswith("1/2 share of the limits: budget 4, rate_limit 4")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10.0
        while not instance.shared():  # the next call after the retry interval asks Redis again
            assert loop.time() < deadline, "the limits were never shared again"
            assert await instance.call() == ANSWER
            await asyncio.sleep(0.05)
        assert instance.sample("being_shared_limits_shared") == 1.0
        assert instance.health.health().status is Status.OK
        assert instance.recording.of("limits_state") == [("llm", "local"), ("llm", "shared")]
        logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("shared_limits.")]
        assert logged == ["shared_limits.unreachable", "shared_limits.restored"]  # once per outage, not per call
    finally:
        await store.aclose()


async def test_a_stopped_redis_leaves_each_instance_its_share_of_the_budget(server: RedisServer) -> None:
    settings = settings_for(server, max_calls=6, retry_interval_s=60.0)
    store = limit_store(settings.resilience.shared_limits)
    assert store is not None
    instance = Instance(settings, store)
    try:
        assert await instance.call() == ANSWER  # shared: 5 of 6 left in Redis
        server.stop()
        outcomes = [await instance.call() for _ in range(4)]
        assert outcomes[:3] == [ANSWER] * 3  # this instance's half of 6, counted here from the outage on
        assert isinstance(outcomes[3], BudgetExceededError) and outcomes[3].max_calls == 3
        assert instance.sample("being_shared_limits_fallbacks_total", limit="budget") == 4.0
        assert instance.sample("being_budget_rejected_total") == 1.0
    finally:
        await store.aclose()


async def test_two_instances_share_the_budget_through_redis(server: RedisServer) -> None:
    settings = settings_for(server, max_calls=5, retry_interval_s=60.0)
    stores = [limit_store(settings.resilience.shared_limits) for _ in range(2)]
    instances = [Instance(settings, s) for s in stores if s is not None]
    try:
        outcomes = [await instances[i % 2].call() for i in range(8)]
        assert outcomes[:5] == [ANSWER] * 5
        assert all(isinstance(o, BudgetExceededError) and o.max_calls == 5 for o in outcomes[5:])
        assert all(i.shared() for i in instances)
    finally:
        for made in stores:
            assert made is not None
            await made.aclose()


def test_the_startup_check_warns_when_the_limits_redis_does_not_answer(server: RedisServer) -> None:
    settings = settings_for(server, max_calls=5, retry_interval_s=5.0)
    check = (check_named("shared limits"),)
    [result] = run_checks(Probe(settings=settings, env={}), check)
    assert (result.ok, result.detail) == (True, f"{server.url} answers (limits shared by 2 instance(s))")
    server.stop()
    [down] = run_checks(Probe(settings=settings, env={}), check)
    assert not down.ok and down.severity.value == "warning"
    assert down.detail.startswith(f"{server.url} does not answer within 0.2 s: ")
    assert down.detail.endswith("(until it does, each instance keeps 1/2 of the limits)")
    [off] = run_checks(Probe(settings=Settings(), env={}), check)
    assert (off.ok, off.detail) == (True, "backend process: nothing to reach")
    unused = Settings(resilience=ResilienceSettings(shared_limits=settings.resilience.shared_limits))
    [idle] = run_checks(Probe(settings=unused, env={}), check)
    assert idle.ok and idle.detail.startswith("not asked")
