"""A protected call, once it ended, leaves no reference cycle: its layers are freed at once, not by the collector."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler

from agent import Protection, ProtectPolicies, protect
from operators import CallTimeoutError, RetryPolicy
from streams import from_coroutine


@pytest.fixture
def saved_garbage() -> Iterator[list[Any]]:
    """What the collector finds unreachable from here on, kept for the test to look at."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    gc.garbage.clear()
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


async def call_once(protection: Protection[str], make: Any, prompt: str) -> list[Any]:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[Any]] = loop.create_future()
    items: list[Any] = []
    protect(from_coroutine(make), protection, request={"prompt": prompt}).subscribe(
        items.append, done.set_exception, lambda: done.set_result(items), scheduler=AsyncIOThreadSafeScheduler(loop)
    )
    return await asyncio.wait_for(done, timeout=10.0)


async def test_a_cache_miss_that_succeeds_leaves_no_cycle(saved_garbage: list[Any]) -> None:
    protection: Protection[str] = Protection(ProtectPolicies(), name="llm", dead_letter=lambda letter: None)

    async def answer() -> str:
        return "answer"

    assert await call_once(protection, answer, "first") == ["answer"]
    await asyncio.sleep(0)  # the call's task finishes its last step
    gc.collect()
    assert [type(o).__name__ for o in saved_garbage] == []
    assert await call_once(protection, answer, "first") == ["answer"]  # and the hit is served


async def test_a_call_that_fails_and_falls_back_leaves_no_cycle_in_the_layers(saved_garbage: list[Any]) -> None:
    letters: list[Any] = []
    policies = ProtectPolicies(timeout_s=0.001, retry=RetryPolicy(max_attempts=1), stale_for_s=0.0)
    protection: Protection[str] = Protection(policies, name="llm", dead_letter=letters.append)

    async def slow() -> str:
        await asyncio.Event().wait()  # hangs until the time limit cancels it
        return "never"

    assert await call_once(protection, slow, "late") == []  # skipped: no stale answer to stand in
    assert len(letters) == 1 and isinstance(letters[0].error.last_error, CallTimeoutError)
    await asyncio.sleep(0)
    gc.collect()
    layers = {"Slot", "Once", "_Relay", "_Limited", "_Retrying", "Flight", "_LoopTimer"}
    assert [type(o).__name__ for o in saved_garbage if type(o).__name__ in layers] == []
