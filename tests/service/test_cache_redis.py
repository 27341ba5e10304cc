"""The cache's shared tier against a real redis-server on loopback: round trip, TTL, namespacing, a Redis that
stops or hangs mid-test, and garbage under a key."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from prometheus_client import CollectorRegistry
from reactivex import Observable
from reactivex import operators as ops
from reactivex.scheduler.eventloop import AsyncIOScheduler

from agent import Protection, ProtectPolicies, protect
from llm import ChatResult, Usage
from operators import CachePolicy, CacheStoreError, RecordingListener, ResponseCache, cache
from service._cache_store import AiocacheStore, shared_store
from service.checks import Probe, check_named, run_checks
from service.metrics import ResilienceMetrics
from service.settings import CacheSettings, CheckSettings, ResilienceSettings, Settings
from streams import from_coroutine
from tests.redis_server import RedisServer, redis_binary
from tests.support import until

ANSWER = ChatResult(model="llama3.2", content="Привет! 👋", done_reason="stop", usage=Usage(prompt_tokens=7))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    running = RedisServer(redis_binary(), tmp_path)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def raw(server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    """A plain client, to look at and tamper with what the store wrote."""
    client = redis.asyncio.Redis.from_url(server.url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def store(server: RedisServer) -> AsyncIterator[AiocacheStore]:
    made = shared_store(CacheSettings(backend="redis", redis_url=server.url, store_timeout_s=0.5))
    assert made is not None
    try:
        yield made
    finally:
        await made.aclose()


def upstream(calls: list[str], value: ChatResult = ANSWER) -> Observable[ChatResult]:
    async def answer() -> ChatResult:
        calls.append("called")
        return value

    return from_coroutine(answer)


async def ask(response_cache: ResponseCache, key: str, calls: list[str]) -> list[Any]:
    items: list[Any] = await upstream(calls).pipe(cache(response_cache, key), ops.to_list())
    return items


async def test_a_chat_result_round_trips(store: AiocacheStore) -> None:
    await store.set("k", (ANSWER,), 60.0)
    assert await store.get("k") == (ANSWER,)
    assert await store.get("other") is None


async def test_keys_are_namespaced_and_values_are_json(store: AiocacheStore, raw: redis.asyncio.Redis) -> None:
    await store.set("abc", (ANSWER,), 60.0)
    assert await raw.keys("*") == [b"being:llm:abc"]
    payload = json.loads(await raw.get("being:llm:abc"))
    assert payload["format"] == 1 and payload["items"][0]["content"] == "Привет! 👋"


async def test_the_ttl_is_honoured(store: AiocacheStore, raw: redis.asyncio.Redis) -> None:
    await store.set("k", (ANSWER,), 0.3)
    assert 0 < await raw.pttl("being:llm:k") <= 300
    deadline = time.monotonic() + 5.0
    while await store.get("k") is not None:  # Redis's own clock expires it
        assert time.monotonic() < deadline, "the entry outlived its TTL"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    "garbage",
    [
        b"not json",
        b"\xff\xfe not utf-8",
        b'{"format": 2, "items": []}',
        b'{"format": 1, "items": {"model": "m"}}',
        b'{"format": 1, "items": [{"model": "m"}]}',
        b'{"format": 1, "items": [{"model": 1, "content": 2, "done_reason": null, "usage": {}}]}',
        b"[1, 2, 3]",
    ],
)
async def test_garbage_under_the_key_is_a_reported_miss(
    store: AiocacheStore, raw: redis.asyncio.Redis, garbage: bytes
) -> None:
    await raw.set("being:llm:k", garbage)
    with pytest.raises(CacheStoreError, match="llm: cache store get of k"):
        await store.get("k")
    listener = RecordingListener()
    calls: list[str] = []
    response_cache = ResponseCache(name="llm", listener=listener, shared=store)
    assert await ask(response_cache, "k", calls) == [ANSWER] and calls == ["called"]
    assert [(name, op) for name, op, _ in listener.of("cache_store_failed")] == [("llm", "get")]
    await until(lambda: response_cache.writes_pending == 0, what="the write")
    assert await store.get("k") == (ANSWER,)  # the good answer replaced the garbage


async def test_a_second_process_is_answered_from_redis(server: RedisServer) -> None:
    settings = CacheSettings(backend="redis", redis_url=server.url)
    first, second = shared_store(settings), shared_store(settings)
    assert first is not None and second is not None
    try:
        calls: list[str] = []
        one, two = ResponseCache(name="llm", shared=first), ResponseCache(name="llm", shared=second)
        assert await ask(one, "k", calls) == [ANSWER]
        await until(lambda: one.writes_pending == 0, what="the write")
        assert await ask(two, "k", calls) == [ANSWER]
        assert calls == ["called"] and len(two) == 1  # served by Redis, then kept in memory
    finally:
        await first.aclose()
        await second.aclose()


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, {"name": "llm", **labels})
    return found if found is not None else 0.0


async def test_a_redis_stopped_mid_test_still_answers_and_counts_errors(
    server: RedisServer, store: AiocacheStore, registry: CollectorRegistry
) -> None:
    metrics = ResilienceMetrics(registry)
    policies = ProtectPolicies(timeout_s=5.0, breaker=None, retry=None, rate_limit=None, budget=None)
    loop_scheduler = AsyncIOScheduler(asyncio.get_running_loop())
    protection: Protection[ChatResult] = Protection(
        policies, name="llm", dead_letter=lambda letter: None, listener=metrics, shared=store, scheduler=loop_scheduler
    )
    metrics.watch(protection)
    assert protection.cache is not None
    calls: list[str] = []

    async def call(prompt: str) -> list[Any]:
        items: list[Any] = await protect(upstream(calls), protection, request={"prompt": prompt}).pipe(ops.to_list())
        return items

    assert await call("before") == [ANSWER]
    await until(lambda: protection.cache is not None and protection.cache.writes_pending == 0, what="the write")
    assert value(registry, "being_cache_store_errors_total", operation="get") == 0
    server.stop()
    assert await call("after") == [ANSWER]  # Redis refused: a miss, then the call
    await until(lambda: protection.cache is not None and protection.cache.writes_pending == 0, what="the write")
    assert await call("before") == [ANSWER]  # memory still serves
    assert calls == ["called", "called"]
    assert value(registry, "being_cache_store_errors_total", operation="get") == 1
    assert value(registry, "being_cache_store_errors_total", operation="set") == 1
    assert value(registry, "being_cache_hits_total") == 1 and value(registry, "being_cache_misses_total") == 2


async def test_a_hung_redis_cannot_hold_a_reply(server: RedisServer) -> None:
    made = shared_store(CacheSettings(backend="redis", redis_url=server.url, store_timeout_s=0.1))
    assert made is not None
    listener = RecordingListener()
    response_cache = ResponseCache(CachePolicy(), name="llm", listener=listener, shared=made)
    calls: list[str] = []
    try:
        with server.paused():
            started = time.monotonic()
            assert await ask(response_cache, "k", calls) == [ANSWER]
            await until(lambda: response_cache.writes_pending == 0, what="the write to give up")
            assert time.monotonic() - started < 2.0
        errors = listener.of("cache_store_failed")
        assert [op for _, op, _ in errors] == ["get", "set"]
        assert all("no answer within 0.1 s" in str(error) for _, _, error in errors)
    finally:
        await made.aclose()


async def test_a_redis_that_never_ran_is_only_a_miss() -> None:
    """No server at all: nothing listens on the port, and the call is answered all the same."""
    made = shared_store(CacheSettings(backend="redis", redis_url="redis://127.0.0.1:1/0"))
    assert made is not None
    listener = RecordingListener()
    calls: list[str] = []
    try:
        response_cache = ResponseCache(name="llm", listener=listener, shared=made)
        assert await ask(response_cache, "k", calls) == [ANSWER]
        await until(lambda: response_cache.writes_pending == 0, what="the write to fail")
        assert [op for _, op, _ in listener.of("cache_store_failed")] == ["get", "set"]
    finally:
        await made.aclose()


async def test_closing_lets_a_write_under_way_end_first(server: RedisServer) -> None:
    made = shared_store(CacheSettings(backend="redis", redis_url=server.url, store_timeout_s=0.1))
    assert made is not None
    with server.paused():
        write = asyncio.ensure_future(made.set("k", (ANSWER,), 60.0))
        await asyncio.sleep(0)  # one loop turn: the write starts and waits for the hung server
        await made.aclose()
        assert write.done()
        with pytest.raises(CacheStoreError, match="no answer within 0.1 s"):
            write.result()


def test_being_check_reaches_the_redis_server_and_fails_within_its_own_time_limit(server: RedisServer) -> None:
    settings = Settings(
        checks=CheckSettings(remote_timeout_s=0.2),
        resilience=ResilienceSettings(cache=CacheSettings(backend="redis", redis_url=server.url)),
    )
    check = (check_named("cache store"),)
    [result] = run_checks(Probe(settings=settings, env={}), check)
    assert (result.ok, result.detail) == (True, f"{server.url} answers")
    with server.paused():  # a server that accepts and never answers: the check's own limit ends the wait
        [hung] = run_checks(Probe(settings=settings, env={}), check)
    assert not hung.ok and hung.detail.startswith(f"{server.url} does not answer within 0.2 s: ")
    server.stop()
    [down] = run_checks(Probe(settings=settings, env={}), check)
    assert not down.ok and down.detail.startswith(f"{server.url} does not answer within 0.2 s: ")
    [off] = run_checks(Probe(settings=Settings(), env={}), check)
    assert (off.ok, off.detail) == (True, "backend none: nothing to reach")


def test_the_redis_check_tries_once_within_its_limit_no_retries() -> None:
    # A server that accepts and never answers; redis-py's default retries would connect again and again.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        settings = Settings(
            checks=CheckSettings(remote_timeout_s=0.2),
            resilience=ResilienceSettings(cache=CacheSettings(backend="redis", redis_url=url)),
        )
        [result] = run_checks(Probe(settings=settings, env={}), (check_named("cache store"),))
        silent.setblocking(False)
        accepted = []
        while True:
            try:
                accepted.append(silent.accept()[0])
            except BlockingIOError:
                break
        for conn in accepted:
            conn.close()
    assert not result.ok and result.detail.startswith(f"{url} does not answer within 0.2 s: ")
    assert len(accepted) == 1
