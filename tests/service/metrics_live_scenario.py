"""The service's life in a few minutes of real time: answers, a held LLM, a failing LLM, archival, odd requests.

An async generator: it yields a scrape's text first once everything is built (the baseline),
then at each moment a gauge is up (a call held in flight, a message waiting), then at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from prometheus_client import CollectorRegistry

from tests.metrics_support import LiveService, counter_totals, live_service, seed_old_episode
from tests.support import until


def _value(registry: CollectorRegistry, series: str, **labels: str) -> float:
    return registry.get_sample_value(series, labels) or 0.0


async def _answered(service: LiveService, registry: CollectorRegistry, count: int) -> None:
    await until(
        lambda: _value(registry, "being_episodes_written_total", type="user.reply") >= count,
        timeout_s=30,
        what=f"{count} replies stored",
    )


async def live_run(folder: Path, registry: CollectorRegistry) -> AsyncIterator[str]:
    """Yield the scrapes of one service run (see the module docstring)."""
    seed_old_episode(folder / "data" / "being.duckdb")
    async with live_service(folder, registry) as service:
        chat = service.simulator.stats.requests
        yield await service.scrape()

        service.say("hello, being")
        await _answered(service, registry, 1)
        await until(
            lambda: (
                _value(registry, "being_archive_runs_total", trigger="schedule", outcome="success") >= 1
                and (_value(registry, "being_heavy_tick_seconds_count") >= 1)
                and (_value(registry, "being_event_loop_lag_seconds_count") >= 1)
            ),
            timeout_s=30,
            what="an upkeep run, a heavy tick and a loop-lag probe",
        )

        # A held LLM: one call in flight on the bulkhead, one message waiting in the lane.
        service.simulator.hold()
        before = chat["/api/chat"]
        service.say("are you there?", "and this one")
        await until(lambda: chat["/api/chat"] > before, timeout_s=30, what="a chat call in flight")
        await until(lambda: _value(registry, "being_lane_waiting", name="reply") >= 1, what="a message in the lane")
        idle = await asyncio.open_connection("127.0.0.1", service.runtime.bound_port)  # a connection that says nothing
        yield await service.scrape()
        idle[1].close()
        service.simulator.release()
        await _answered(service, registry, 3)

        # A failing LLM: both tries of two calls get a 500; the breaker (window 2) opens; a third is rejected.
        service.simulator.inject(*["status:500"] * 4)
        service.say("fail once", "fail twice")
        await until(lambda: _value(registry, "being_breaker_state", name="llm") == 1, timeout_s=30, what="open")
        service.say("rejected")
        await until(
            lambda: _value(registry, "being_breaker_calls_total", name="llm", outcome="rejected") >= 1,
            timeout_s=30,
            what="a call rejected by the open breaker",
        )
        # the failed calls' dead letters are counted once their batch is committed, which may come later
        await until(
            lambda: sum(t.value for t in counter_totals(registry, "being_dead_letters")) >= 1,
            timeout_s=30,
            what="a dead letter stored",
        )
        yield await service.scrape()

        assert (await service.client.post("/archive")).status_code == 200
        assert (await service.client.get("/no/such/route")).status_code == 404
        assert (await service.client.get("/episodes", params={"limit": "x"})).status_code == 400
        yield await service.scrape()
