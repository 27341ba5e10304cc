"""Per-call cost of ``agent.protect`` around an instant call, beside the stack a Python user would pick instead.

All in one run, N sequential calls each, on what ``being run`` runs: a uvloop loop (asyncio's own
when uvloop is not installed) and reactivex's ``AsyncIOThreadSafeScheduler`` on it, used from the
loop's own thread:

- bare: ``await instant()``; and ``from_coroutine(instant)`` subscribed alone (the cost of
  entering a stream at all: one task per call);
- ours, miss: the whole chain (catch → cache → deadline → retry → breaker → rate_limit →
  budget → timeout) around ``from_coroutine(instant)``, a new request each call (cache miss,
  breaker closed, tokens always there);
- ours, hit: the same chain, the same request each call (served from the cache);
- ours, the stack's layers: only rate_limit → retry → breaker → timeout (no catch, cache or
  budget), to set beside the stack with a timeout;
- stack: tenacity ``AsyncRetrying`` + aiobreaker + aiolimiter around ``instant()``; the same
  with ``asyncio.timeout`` per try, which our chain also has; and the same run in a task per
  call, as a service that makes calls concurrently runs it (each of our calls is a task);
- both again around a call that takes 1 ms (``asyncio.sleep``), to put the overhead in scale;
- ours (miss, and the stack's layers) on a subclass of the same scheduler, which the operators'
  clock does not recognise: its timers go through ``schedule_relative`` (handed to the loop with
  ``call_soon_threadsafe``) and it reads ``scheduler.now``. That is what the clock's shortcuts
  (a timer straight on the loop, the loop's own clock) save per call.

Targets: ours (miss) no slower per call than the stack; a hit at least 10 × cheaper than a miss
(printed around the instant call and around the 1 ms call).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from importlib import metadata
from typing import Any

from aiobreaker import CircuitBreaker as AioBreaker
from aiolimiter import AsyncLimiter
from reactivex import Observable
from reactivex.abc import SchedulerBase
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from agent import Protection, ProtectPolicies, protect
from operators import BudgetPolicy, CachePolicy, RateLimitPolicy, is_transient
from streams import from_coroutine


async def instant() -> str:
    return "answer"


async def one_ms() -> str:
    await asyncio.sleep(0.001)
    return "answer"


def policies(calls: int) -> ProtectPolicies:
    """Every layer on, none of them in the way: a closed breaker, tokens and budget for every call."""
    return ProtectPolicies(
        rate_limit=RateLimitPolicy(rate_per_s=1e9, burst=1e9),
        budget=BudgetPolicy(max_calls=10 * calls, window_s=None),
        cache=CachePolicy(max_entries=1024),
    )


def stack_layers() -> ProtectPolicies:
    """Only what the stack has (rate limit, retry, breaker) and a timeout; no retry budget, as tenacity has none."""
    return ProtectPolicies(
        deadline_s=None,  # the stack has no deadline over its retries
        rate_limit=RateLimitPolicy(rate_per_s=1e9, burst=1e9),
        retry_budget=None,
        budget=None,
        cache=None,
        catch=False,
    )


class OwnPaths(AsyncIOThreadSafeScheduler):
    """The production scheduler, as a subclass: the operators' clock takes none of its shortcuts for it."""


def production_loop() -> tuple[Callable[[], asyncio.AbstractEventLoop] | None, str]:
    """The loop factory ``runtime.run_service`` uses (uvloop when installed), and its name."""
    try:
        import uvloop
    except ImportError:
        return None, "asyncio"
    return uvloop.new_event_loop, f"uvloop {metadata.version('uvloop')}"


def awaiting(source: Observable[Any], scheduler: SchedulerBase) -> Awaitable[Any]:
    """Subscribe on the loop's scheduler; a future for the last item."""
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    last: list[Any] = []
    source.subscribe(
        on_next=last.append,
        on_error=future.set_exception,
        on_completed=lambda: future.set_result(last[-1] if last else None),
        scheduler=scheduler,
    )
    return future


async def per_call(n: int, one: Callable[[int], Awaitable[Any]]) -> float:
    """Seconds per call, best of three rounds of ``n`` sequential calls."""
    best = float("inf")
    for round_ in range(3):
        started = time.perf_counter()
        for i in range(n):
            await one(round_ * n + i)
        best = min(best, (time.perf_counter() - started) / n)
    return best


async def in_turn(n: int, *ones: Callable[[int], Awaitable[Any]], rounds: int = 5) -> list[float]:
    """Seconds per call of each, best of ``rounds`` rounds of ``n`` calls taken in turn (so load falls on all alike)."""
    best = [float("inf")] * len(ones)
    for round_ in range(rounds):
        for k, one in enumerate(ones):
            started = time.perf_counter()
            for i in range(n):
                await one((round_ * len(ones) + k) * n + i)
            best[k] = min(best[k], (time.perf_counter() - started) / n)
    return best


async def measure(n: int, n_slow: int) -> dict[str, float]:
    scheduler = AsyncIOThreadSafeScheduler(asyncio.get_running_loop())  # the scheduler runtime.py makes
    own_paths = OwnPaths(asyncio.get_running_loop())
    protection: Protection[str] = Protection(policies(3 * n), name="bench", dead_letter=lambda letter: None)
    hits: Protection[str] = Protection(policies(3 * n), name="bench", dead_letter=lambda letter: None)
    lean: Protection[str] = Protection(stack_layers(), name="bench", dead_letter=lambda letter: None)
    breaker = AioBreaker(fail_max=10, timeout_duration=timedelta(seconds=30))
    limiter = AsyncLimiter(1e9, 1)

    async def bare(i: int) -> str:
        return await instant()

    def entered(i: int) -> Awaitable[Any]:
        return awaiting(from_coroutine(instant), scheduler)

    def ours_miss(i: int) -> Awaitable[Any]:
        return awaiting(protect(from_coroutine(instant), protection, request={"prompt": f"p{i}"}), scheduler)

    def ours_hit(i: int) -> Awaitable[Any]:
        return awaiting(protect(from_coroutine(instant), hits, request={"prompt": "same"}), scheduler)

    def ours_lean(i: int) -> Awaitable[Any]:
        return awaiting(protect(from_coroutine(instant), lean), scheduler)

    def ours_miss_own_paths(i: int) -> Awaitable[Any]:
        return awaiting(protect(from_coroutine(instant), protection, request={"prompt": f"o{i}"}), own_paths)

    def ours_lean_own_paths(i: int) -> Awaitable[Any]:
        return awaiting(protect(from_coroutine(instant), lean), own_paths)

    def ours_slow(i: int) -> Awaitable[Any]:
        return awaiting(protect(from_coroutine(one_ms), protection, request={"prompt": f"s{i}"}), scheduler)

    async def stack(i: int, call: Callable[[], Awaitable[str]] = instant) -> str:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(3),
            wait=wait_random_exponential(multiplier=0.5, max=10),
            retry=retry_if_exception(lambda e: isinstance(e, Exception) and is_transient(e)),
            reraise=True,
        ):
            with attempt:
                async with limiter:
                    result: str = await breaker.call_async(call)
                    return result
        raise AssertionError("unreachable")

    async def stack_in_task(i: int) -> str:
        return await asyncio.get_running_loop().create_task(stack_timeout(i))

    async def stack_slow(i: int) -> str:
        return await stack(i, one_ms)

    async def stack_timeout(i: int) -> str:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(3),
            wait=wait_random_exponential(multiplier=0.5, max=10),
            retry=retry_if_exception(lambda e: isinstance(e, Exception) and is_transient(e)),
            reraise=True,
        ):
            with attempt:
                async with limiter, asyncio.timeout(120.0):
                    result: str = await breaker.call_async(instant)
                    return result
        raise AssertionError("unreachable")

    assert await ours_miss(-1) == "answer" and await ours_hit(-1) == "answer" and await stack(-1) == "answer"
    miss_with, miss_without = await in_turn(n, ours_miss, ours_miss_own_paths)
    lean_with, lean_without = await in_turn(n, ours_lean, ours_lean_own_paths)
    return {
        "bare await": await per_call(n, bare),
        "from_coroutine alone": await per_call(n, entered),
        "ours, cache miss": await per_call(n, ours_miss),
        "ours, cache hit": await per_call(n, ours_hit),
        "ours, the stack's layers + timeout": await per_call(n, ours_lean),
        "tenacity+aiobreaker+aiolimiter": await per_call(n, stack),
        "  ... + asyncio.timeout": await per_call(n, stack_timeout),
        "  ... + timeout, a task per call": await per_call(n, stack_in_task),
        "ours around a 1 ms call": await per_call(n_slow, ours_slow),
        "the stack around a 1 ms call": await per_call(n_slow, stack_slow),
        "shortcuts: miss, with": miss_with,
        "  ... without (own paths)": miss_without,
        "shortcuts: stack's layers, with": lean_with,
        "  ... without (own paths)  ": lean_without,
    }


def main(quick: bool) -> None:
    n, n_slow = (2_000, 200) if quick else (20_000, 1_000)
    factory, loop_name = production_loop()
    with asyncio.Runner(loop_factory=factory) as runner:
        figures = runner.run(measure(n, n_slow))
    print(f"on {loop_name} with AsyncIOThreadSafeScheduler, as the service runs")
    print(f"{n} sequential calls per round ({n_slow} for the 1 ms call), best of 3 rounds; µs per call")
    for label, seconds in figures.items():
        print(f"  {label:<32} {seconds * 1e6:9.2f}")
    miss, hit = figures["ours, cache miss"], figures["ours, cache hit"]
    stack, stack_timeout = figures["tenacity+aiobreaker+aiolimiter"], figures["  ... + asyncio.timeout"]
    print(f"  ours (miss) / stack                  {miss / stack:6.2f}  (target <= 1)")
    print(f"  ours (miss) / stack with timeout     {miss / stack_timeout:6.2f}")
    lean = figures["ours, the stack's layers + timeout"]
    print(f"  same layers: ours / stack+timeout    {lean / stack_timeout:6.2f}")
    print(f"  ... both a task per call             {lean / figures['  ... + timeout, a task per call']:6.2f}")
    print(f"  miss / hit                           {miss / hit:6.2f}  (target >= 10)")
    print(f"  miss around a 1 ms call / hit        {figures['ours around a 1 ms call'] / hit:6.0f}")
    slow_ratio = figures["ours around a 1 ms call"] / figures["the stack around a 1 ms call"]
    print(f"  ours / stack around a 1 ms call      {slow_ratio:6.2f}")
    shortcut_miss = figures["  ... without (own paths)"] / figures["shortcuts: miss, with"]
    print(f"  clock shortcuts: miss without / with {shortcut_miss:6.2f}")
    shortcut_lean = figures["  ... without (own paths)  "] / figures["shortcuts: stack's layers, with"]
    print(f"  ... the stack's layers without / with {shortcut_lean:5.2f}")
    print(f"  our layers over from_coroutine alone {(miss - figures['from_coroutine alone']) * 1e6:6.2f} µs")
    print(f"  the stack's layers over a bare await {(stack - figures['bare await']) * 1e6:6.2f} µs")
