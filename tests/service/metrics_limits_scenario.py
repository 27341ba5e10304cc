"""The metrics scenario of the shared limits: a reply protection whose limits live in a real Redis that stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from reactivex.scheduler.eventloop import AsyncIOScheduler

from agent import Protection
from llm import ChatResult
from service._assembly import reply_protection
from service._limit_store import limit_store
from service.metrics import ResilienceMetrics
from service.settings import ResilienceSettings, Settings, SharedLimitsSettings
from service.settings._resilience import BudgetSettings, RateLimitSettings
from streams import from_coroutine
from tests.redis_server import RedisServer, redis_binary

ANSWER = ChatResult(model="m", content="hello")


async def _call(protection: Protection[ChatResult]) -> Any:
    done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def answer() -> ChatResult:
        return ANSWER

    protection.guard(from_coroutine(answer)).subscribe(
        on_next=done.set_result, on_error=done.set_result, scheduler=AsyncIOScheduler(asyncio.get_running_loop())
    )
    return await done


async def limits_outage(folder: Path, registry: CollectorRegistry) -> AsyncIterator[str]:
    """Calls shared through Redis, then Redis stopped: errors counted, calls decided on this instance's share."""
    server = RedisServer(redis_binary(), folder)
    try:
        shared = SharedLimitsSettings(
            backend="redis", redis_url=server.url, key_prefix="scenario", instances=2, timeout_s=0.1
        )
        settings = Settings(
            resilience=ResilienceSettings(
                rate_limit=RateLimitSettings(enabled=True, rate_per_s=1000.0, burst=1000.0),
                budget=BudgetSettings(enabled=True, max_calls=1000, window_s=3600.0),
                shared_limits=shared,
            )
        )
        store = limit_store(shared)
        assert store is not None
        metrics = ResilienceMetrics(registry)
        protection = reply_protection(settings, listener=metrics, limits=store)
        metrics.watch(protection)
        try:
            yield generate_latest(registry).decode()
            assert await _call(protection) == ANSWER  # shared: the gauge is 1
            yield generate_latest(registry).decode()
            server.stop()
            assert [await _call(protection) for _ in range(3)] == [ANSWER] * 3  # on this instance's share
            yield generate_latest(registry).decode()
        finally:
            await store.aclose()
    finally:
        server.stop()
