"""Garbage under the shared limits' keys in a real redis-server: it reads as missing, never as an outage or a
refusal for ever, and a refusal never reports less than nothing left.

The keys may be written by anything with access to the Redis (an operator's SET, another program
using the same prefix, an instance with other limits): the scripts must not trust them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio

from operators import BudgetPolicy
from service._limit_store import RedisLimitStore, limit_store
from service.settings import SharedLimitsSettings
from tests.redis_server import RedisServer, redis_binary

UNTIL_RESET = BudgetPolicy(max_calls=10, window_s=None)
WINDOW = BudgetPolicy(max_calls=3, window_s=60.0)


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
