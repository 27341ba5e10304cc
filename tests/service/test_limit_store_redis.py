"""The shared limits' Lua scripts against a real redis-server on loopback: one bucket and one budget for two
processes, waits in arrival order, expiry, scripts reloaded after a flush, and garbage under the keys."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from operators import BudgetPolicy, LimitStoreError, RateLimitPolicy
from service._limit_store import RedisLimitStore, limit_store
from service.settings import SharedLimitsSettings
from tests.redis_server import RedisServer, redis_binary
from tests.support import REPO

UNTIL_RESET = BudgetPolicy(max_calls=10, window_s=None)
WINDOW = BudgetPolicy(max_calls=3, window_s=60.0)
WAIT = RateLimitPolicy(rate_per_s=0.001, burst=1.0, max_wait_s=5000.0)  # one token per 1000 s: no refill meanwhile


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    running = RedisServer(redis_binary(), tmp_path)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def raw(server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(server.url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def store(server: RedisServer) -> AsyncIterator[RedisLimitStore]:
    made = limit_store(SharedLimitsSettings(backend="redis", redis_url=server.url, key_prefix="t", timeout_s=2.0))
    assert made is not None
    try:
        yield made
    finally:
        await made.aclose()


async def test_waits_queue_in_arrival_order_on_one_bucket(store: RedisLimitStore) -> None:
    grants = [await store.take_tokens("llm", WAIT, 1.0) for _ in range(3)]
    assert [g.granted for g in grants] == [True, True, True]
    assert [g.wait_s for g in grants] == [0.0, pytest.approx(1000.0, abs=1.0), pytest.approx(2000.0, abs=1.0)]
    assert grants[-1].tokens == 0.0


async def test_a_wait_beyond_max_wait_takes_nothing(store: RedisLimitStore) -> None:
    policy = RateLimitPolicy(rate_per_s=0.001, burst=1.0, max_wait_s=1500.0)
    assert (await store.take_tokens("llm", policy, 1.0)).granted
    assert (await store.take_tokens("llm", policy, 1.0)).wait_s == pytest.approx(1000.0, abs=1.0)
    refused = await store.take_tokens("llm", policy, 1.0)
    assert not refused.granted and refused.wait_s == pytest.approx(2000.0, abs=1.0)
    # nothing was taken by the refusal: a give-back of one token clears exactly the one debt
    assert await store.give_tokens("llm", policy, 1.0) == pytest.approx(0.0, abs=0.01)


async def test_reject_mode_refuses_any_wait(store: RedisLimitStore) -> None:
    policy = RateLimitPolicy(rate_per_s=0.001, burst=2.0, mode="reject")
    assert [(await store.take_tokens("llm", policy, 1.0)).granted for _ in range(3)] == [True, True, False]


def _workers(server: RedisServer, tmp_path: Path, kind: str, attempts: int) -> list[dict[str, float]]:
    go = tmp_path / "go"
    command = [sys.executable, "-m", "tests.service.limit_worker", server.url, "t", kind, str(attempts), str(go)]
    workers = [subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    go.touch()
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0
        results.append(json.loads(out))
    return results


def test_two_processes_together_never_exceed_rate_times_time_plus_burst(server: RedisServer, tmp_path: Path) -> None:
    results = _workers(server, tmp_path, "tokens", 400)  # rate 50/s, burst 5, reject mode (limit_worker)
    granted = sum(r["granted"] for r in results)
    start, end = min(r["start"] for r in results), max(r["end"] for r in results)
    assert granted <= 5 + 50 * (end - start)  # the server's clock: the same for both
    assert granted >= 5 and all(r["granted"] > 0 for r in results)
    assert sum(r["refused"] for r in results) == 800 - granted


def test_two_processes_share_one_budget_exactly(server: RedisServer, tmp_path: Path) -> None:
    results = _workers(server, tmp_path, "calls", 25)  # 30 calls per hour between them (limit_worker)
    assert sum(r["granted"] for r in results) == 30
    assert sum(r["refused"] for r in results) == 20


async def test_a_window_refusal_says_when_a_call_is_free_again(store: RedisLimitStore) -> None:
    policy = BudgetPolicy(max_calls=2, window_s=100.0)
    assert [(await store.spend_calls("llm", policy, 1)).remaining for _ in range(2)] == [1, 0]
    refused = await store.spend_calls("llm", policy, 1)
    assert (refused.granted, refused.remaining) == (False, 0)
    assert refused.free_in_s is not None and 99.0 < refused.free_in_s <= 100.0


async def test_a_heavy_call_spends_its_cost_or_nothing(store: RedisLimitStore) -> None:
    policy = BudgetPolicy(max_calls=5, window_s=100.0)
    assert (await store.spend_calls("llm", policy, 3)).remaining == 2
    assert not (await store.spend_calls("llm", policy, 3)).granted
    assert (await store.spend_calls("llm", policy, 2)).remaining == 0


async def test_an_until_reset_budget_lasts_until_reset(store: RedisLimitStore) -> None:
    policy = BudgetPolicy(max_calls=2, window_s=None)
    assert [(await store.spend_calls("llm", policy, 1)).granted for _ in range(3)] == [True, True, False]
    refused = await store.spend_calls("llm", policy, 1)
    assert refused.free_in_s is None
    await store.reset_calls("llm", policy)
    assert (await store.spend_calls("llm", policy, 1)).remaining == 1


async def test_every_key_expires(store: RedisLimitStore, raw: redis.asyncio.Redis) -> None:
    await store.take_tokens("llm", RateLimitPolicy(rate_per_s=100.0, burst=1.0), 1.0)
    await store.spend_calls("llm", BudgetPolicy(max_calls=5, window_s=60.0), 1)
    await store.spend_calls("other", BudgetPolicy(max_calls=5, window_s=None), 1)
    # an expiry is set once and only runs down: each is at most what it was set to
    assert 0 < await raw.pttl("t:limits:llm:bucket") <= 1010  # full again in 10 ms, then 1 s spare
    assert 0 < await raw.pttl("t:limits:llm:window") <= 61_000  # its last call leaves the window
    assert 0 < await raw.pttl("t:limits:llm:seq") <= 61_000
    assert 61_000 < await raw.pttl("t:limits:other:count") <= 86_400_000  # idle_ttl_s
    deadline = time.monotonic() + 10.0
    while await raw.exists("t:limits:llm:bucket"):  # Redis's own clock expires it
        assert time.monotonic() < deadline, "the bucket outlived its expiry"
        await asyncio.sleep(0.05)
    assert (await store.take_tokens("llm", RateLimitPolicy(rate_per_s=100.0, burst=1.0), 1.0)).wait_s == 0.0


async def test_the_scripts_are_loaded_again_after_a_flush(store: RedisLimitStore, raw: redis.asyncio.Redis) -> None:
    await store.take_tokens("llm", WAIT, 1.0)
    await raw.script_flush()
    assert (await store.take_tokens("llm", WAIT, 1.0)).wait_s == pytest.approx(1000.0, abs=1.0)


async def test_the_prefix_separates_groups(server: RedisServer, raw: redis.asyncio.Redis) -> None:
    stores = [
        limit_store(SharedLimitsSettings(backend="redis", redis_url=server.url, key_prefix=p)) for p in ("a", "b")
    ]
    try:
        for made in stores:
            assert made is not None
            assert (await made.take_tokens("llm", WAIT, 1.0)).wait_s == 0.0  # each group has its own bucket
        assert sorted(await raw.keys("*")) == [b"a:limits:llm:bucket", b"b:limits:llm:bucket"]
    finally:
        for made in stores:
            assert made is not None
            await made.aclose()


@pytest.mark.parametrize(
    "fields", [{"tokens": "abc", "at": "1"}, {"tokens": "1e308", "at": "x"}, {"tokens": "-1e300", "at": "0"}]
)
async def test_garbage_in_a_bucket_reads_as_a_full_bucket(
    store: RedisLimitStore, raw: redis.asyncio.Redis, fields: dict[Any, Any]
) -> None:
    await raw.hset("t:limits:llm:bucket", mapping=fields)
    grant = await store.take_tokens("llm", WAIT, 1.0)
    assert (grant.granted, grant.wait_s, grant.tokens) == (True, 0.0, 0.0)


async def test_garbage_in_an_until_reset_count_reads_as_nothing_spent(
    store: RedisLimitStore, raw: redis.asyncio.Redis
) -> None:
    await raw.set("t:limits:llm:count", "-50")
    assert (await store.spend_calls("llm", BudgetPolicy(max_calls=2, window_s=None), 1)).remaining == 1


async def test_a_key_of_another_type_is_a_store_failure(store: RedisLimitStore, raw: redis.asyncio.Redis) -> None:
    await raw.set("t:limits:llm:bucket", "a string")
    await raw.set("t:limits:llm:window", "a string")
    with pytest.raises(LimitStoreError, match="llm: limit store take_tokens: .*WRONGTYPE"):
        await store.take_tokens("llm", WAIT, 1.0)
    with pytest.raises(LimitStoreError, match="llm: limit store spend_calls: .*WRONGTYPE"):
        await store.spend_calls("llm", BudgetPolicy(), 1)


async def test_a_hung_redis_fails_within_the_time_limit(server: RedisServer) -> None:
    made = limit_store(SharedLimitsSettings(backend="redis", redis_url=server.url, timeout_s=0.1))
    assert made is not None
    try:
        await made.ping()
        with server.paused(), pytest.raises(LimitStoreError, match="gave no answer within 0.1 s"):
            await made.take_tokens("llm", WAIT, 1.0)
    finally:
        await made.aclose()


async def test_a_stopped_redis_is_a_store_failure(server: RedisServer) -> None:
    made = limit_store(SharedLimitsSettings(backend="redis", redis_url=server.url, timeout_s=0.1))
    assert made is not None
    server.stop()
    try:
        with pytest.raises(LimitStoreError, match="llm: limit store spend_calls: redis://127.0.0.1"):
            await made.spend_calls("llm", BudgetPolicy(), 1)
    finally:
        await made.aclose()


def test_no_store_is_made_for_the_process_backend() -> None:
    assert limit_store(SharedLimitsSettings()) is None


# Garbage under the keys (written by an operator's SET, another program on the same prefix, an
# instance with other limits) reads as missing, never as an outage or a refusal for ever.


@pytest.mark.parametrize("garbage", ["inf", "1e308", "9" * 400, "0x10"])
async def test_a_count_that_is_not_a_whole_number_reads_as_nothing_spent(
    store: RedisLimitStore, raw: redis.asyncio.Redis, garbage: str
) -> None:
    await raw.set("t:limits:llm:count", garbage)  # no expiry: read as spent, it refused every call for ever
    grant = await store.spend_calls("llm", UNTIL_RESET, 1)
    assert (grant.granted, grant.remaining) == (True, 9)
    assert await raw.get("t:limits:llm:count") == b"1"


async def test_more_spent_than_this_policy_allows_is_a_refusal_with_nothing_left_not_a_negative_count(
    server: RedisServer, raw: redis.asyncio.Redis
) -> None:
    # two instances on one prefix with different max_calls: the larger one spent 50, this one allows 10
    wide = limit_store(SharedLimitsSettings(backend="redis", redis_url=server.url, key_prefix="t", timeout_s=2.0))
    assert wide is not None
    try:
        for _ in range(50):
            assert (await wide.spend_calls("llm", BudgetPolicy(max_calls=100, window_s=None), 1)).granted
        for _ in range(4):
            assert (await wide.spend_calls("llm", BudgetPolicy(max_calls=100, window_s=60.0), 1)).granted
        narrow_until_reset = await wide.spend_calls("llm", UNTIL_RESET, 1)
        narrow_window = await wide.spend_calls("llm", WINDOW, 1)
    finally:
        await wide.aclose()
    assert (narrow_until_reset.granted, narrow_until_reset.remaining) == (False, 0)
    assert (narrow_window.granted, narrow_window.remaining) == (False, 0)
    assert narrow_window.free_in_s is not None and 0 < narrow_window.free_in_s <= 60.0


async def test_calls_far_in_the_future_in_a_window_are_garbage_not_an_outage(
    store: RedisLimitStore, raw: redis.asyncio.Redis
) -> None:
    # members that never leave the window: the refusal's free_in was "inf", an answer of the wrong shape,
    # so every call was an outage, for as long as the key lived (for ever: nothing refreshed its expiry)
    await raw.zadd("t:limits:llm:window", {"a": float("inf"), "b": float("inf"), "c": 1e18})
    grant = await store.spend_calls("llm", WINDOW, 1)
    assert (grant.granted, grant.remaining) == (True, 2)
    assert 0 < await raw.pttl("t:limits:llm:window") <= 61_000


async def test_a_sequence_that_is_not_a_whole_number_starts_again_and_no_call_is_lost(
    store: RedisLimitStore, raw: redis.asyncio.Redis
) -> None:
    assert (await store.spend_calls("llm", WINDOW, 1)).granted  # member "1" in the window
    await raw.set("t:limits:llm:seq", "garbage")  # INCRBY failed on it: an outage while the key lived
    assert (await store.spend_calls("llm", WINDOW, 1)).remaining == 1
    assert (await store.spend_calls("llm", WINDOW, 1)).remaining == 0  # the earlier call still counts
    assert await raw.zcard("t:limits:llm:window") == 3
