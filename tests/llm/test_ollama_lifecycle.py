"""Disposal really closes the HTTP request, and the pool limits hold under load."""

from __future__ import annotations

import asyncio

import pytest
from reactivex.abc import DisposableBase

from llm import ChatResult, HttpConfig, LLMTimeoutError, Message, OllamaBackend
from llm.simulator import Simulator
from streams import from_coroutine

PROMPT = [Message.user("think about it")]


async def test_disposing_a_call_mid_flight_closes_its_request(sim: Simulator, backend: OllamaBackend) -> None:
    sim.inject("hang")
    results: list[ChatResult] = []
    errors: list[Exception] = []
    subscription: DisposableBase = from_coroutine(lambda: backend.chat(PROMPT)).subscribe(
        on_next=results.append, on_error=errors.append
    )
    await sim.stats.wait_until(lambda s: s.in_flight == 1)
    subscription.dispose()
    await sim.stats.wait_until(lambda s: s.disconnects == 1 and s.in_flight == 0)
    assert results == [] and errors == []
    # The pool is still usable after the cancelled request.
    assert (await backend.chat(PROMPT)).content


async def test_leaving_a_stream_early_closes_its_request(sim: Simulator, backend: OllamaBackend) -> None:
    sim.inject("hang")  # the first chunk arrives, then nothing
    stream = backend.chat_stream(PROMPT)
    first = await anext(stream)
    assert first.text and not first.done
    await stream.aclose()
    await sim.stats.wait_until(lambda s: s.disconnects == 1 and s.in_flight == 0)


async def test_a_hundred_concurrent_calls_share_four_connections(sim: Simulator) -> None:
    client = OllamaBackend(http=_pooled(sim, 4))
    sim.hold()
    calls = [asyncio.ensure_future(client.chat([Message.user(f"question {i}")])) for i in range(100)]
    await sim.stats.wait_until(lambda s: s.in_flight == 4)
    sim.release()
    results = await asyncio.gather(*calls)
    await client.aclose()
    assert len({r.content for r in results}) > 1
    assert sim.stats.total == 100
    assert sim.stats.max_in_flight_seen == 4
    assert sim.stats.connections <= 4


async def test_a_full_pool_waits_then_times_out(sim: Simulator) -> None:
    config = HttpConfig(base_url=sim.base_url, max_connections=1, max_keepalive_connections=1, pool_timeout_s=0.1)
    client = OllamaBackend(http=config)
    sim.hold()
    first = asyncio.ensure_future(client.chat(PROMPT))
    await sim.stats.wait_until(lambda s: s.in_flight == 1)
    with pytest.raises(LLMTimeoutError, match="PoolTimeout"):
        await client.chat(PROMPT)
    sim.release()
    assert (await first).content
    await client.aclose()


def _pooled(sim: Simulator, size: int) -> HttpConfig:
    return HttpConfig(base_url=sim.base_url, max_connections=size, max_keepalive_connections=size, pool_timeout_s=30.0)
