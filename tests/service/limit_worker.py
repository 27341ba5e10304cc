"""One process hammering the shared limits in Redis: ``python -m tests.service.limit_worker URL PREFIX KIND N``.

``KIND`` is ``tokens`` (reject mode: admitted calls are counted) or ``calls`` (the budget). It waits
for the file named by the last argument to exist (so two workers start together), then prints one
JSON line: how many were granted and refused, and the Redis server's time before and after.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import redis.asyncio

from operators import BudgetPolicy, RateLimitPolicy
from service._limit_store import RedisLimitStore

TOKENS = RateLimitPolicy(rate_per_s=50.0, burst=5.0, mode="reject")
CALLS = BudgetPolicy(max_calls=30, window_s=3600.0)


async def _server_time(client: redis.asyncio.Redis) -> float:
    seconds, micros = await client.time()
    return seconds + micros / 1_000_000


async def main(url: str, prefix: str, kind: str, attempts: int, go: Path) -> dict[str, float]:
    client = redis.asyncio.Redis.from_url(url)
    store = RedisLimitStore(client, prefix=prefix, timeout_s=5.0)
    deadline = time.monotonic() + 30.0
    while not go.exists():  # the other worker's start: a condition with a deadline
        if time.monotonic() > deadline:
            raise SystemExit(f"{go} never appeared")
        await asyncio.sleep(0.001)
    granted = refused = 0
    start = await _server_time(client)
    for _ in range(attempts):
        if kind == "tokens":
            ok = (await store.take_tokens("llm", TOKENS, 1.0)).granted
        else:
            ok = (await store.spend_calls("llm", CALLS, 1)).granted
        granted += ok
        refused += not ok
    end = await _server_time(client)
    await store.aclose()
    return {"granted": granted, "refused": refused, "start": start, "end": end}


if __name__ == "__main__":
    url, prefix, kind, attempts, go = sys.argv[1:6]
    print(json.dumps(asyncio.run(main(url, prefix, kind, int(attempts), Path(go)))))
