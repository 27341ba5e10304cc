"""Per-call cost of ``agent.protect`` around an instant call, beside the stack a Python user would pick instead.

All in one run, N sequential calls each, on what ``being run`` runs: a uvloop loop (asyncio's own
when uvloop is not installed) and reactivex's ``AsyncIOThreadSafeScheduler`` on it, used from the
loop's own thread. Each comparison takes its sides in turn, round after round (so the machine's
load falls on both alike), and prints the median per call of each side and the median of the
rounds' ratios:

- the production chain: ``protect`` with the service's default policies (catch → cache →
  deadline → retry with its retry budget → breaker → timeout; no rate limit, budget or
  bulkhead, as config.toml ships), a new request each call (cache miss, breaker closed),
  beside the same layers built from the libraries: a canonical key and a bounded dict cache,
  ``asyncio.timeout`` over tenacity ``AsyncRetrying`` (3 attempts, jittered backoff, transient
  errors) over aiobreaker with ``asyncio.timeout`` per try, and a fallback on failure; the stack
  awaited inline, and in a task per call (each of our calls is a task, as a service that makes
  calls concurrently runs them);
- the stack's layers: ours with only rate_limit → retry → breaker → timeout, beside tenacity +
  aiobreaker + aiolimiter + ``asyncio.timeout`` (inline, and a task per call);
- a cache hit beside a miss; both around a call that takes 1 ms (``asyncio.sleep``), in scale;
- shared limits: rate_limit + budget with their state in Redis (a loopback ``redis-server``, when
  one is installed) beside the same in the process: the cost of one Lua script per limit per call;
- the clock's shortcut: the production chain on the production scheduler beside the same on a
  subclass of it, which the operators' clock does not recognise (its timers go through
  ``schedule_relative``, handed to the loop with ``call_soon_threadsafe``, and it reads
  ``scheduler.now``): what the shortcut saves per call, on the path the service takes.

Targets: the production chain no slower per call than the like-for-like stack (ratio <= 1); a
hit at least 10 × cheaper than a miss.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import statistics
import time
from collections import OrderedDict
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
from operators import BudgetPolicy, RateLimitPolicy, SharedLimits, SharedLimitsPolicy, is_transient
from streams import from_coroutine


async def instant() -> str:
    return "answer"


async def one_ms() -> str:
    await asyncio.sleep(0.001)
    return "answer"


def production() -> ProtectPolicies:
    """The service's default policies (``Settings().resilience.policies()`` is these)."""
    return ProtectPolicies()


def stack_layers() -> ProtectPolicies:
    """What the small stack has (rate limit, retry, breaker) and a timeout; no retry budget: tenacity has none."""
    return ProtectPolicies(
        deadline_s=None,  # the stack has no deadline over its retries
        rate_limit=RateLimitPolicy(rate_per_s=1e9, burst=1e9),
        retry_budget=None,
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


One = Callable[[int], Awaitable[Any]]


async def in_turn(n: int, *ones: One, rounds: int) -> list[list[float]]:
    """Seconds per call of each side in each round: ``rounds`` rounds of ``n`` calls, the sides taken in turn."""
    seconds: list[list[float]] = [[] for _ in ones]
    for round_ in range(rounds):
        for k, one in enumerate(ones):
            started = time.perf_counter()
            for i in range(n):
                await one((round_ * len(ones) + k) * n + i)
            seconds[k].append((time.perf_counter() - started) / n)
    return seconds


class Table:
    """Comparisons measured in turn, printed as medians per call and the median of the rounds' ratios."""

    def __init__(self, n: int, rounds: int) -> None:
        self.n, self.rounds = n, rounds
        self.lines: list[str] = []
        self.ratios: dict[str, float] = {}

    async def compare(self, title: str, a: tuple[str, One], b: tuple[str, One], *, n: int | None = None) -> float:
        calls = n if n is not None else self.n
        runs_a, runs_b = await in_turn(calls, a[1], b[1], rounds=self.rounds)
        ratio = statistics.median(x / y for x, y in zip(runs_a, runs_b, strict=True))
        self.lines.append(f"{title}")
        self.lines.append(f"  {a[0]:<44} {statistics.median(runs_a) * 1e6:9.2f} µs")
        self.lines.append(f"  {b[0]:<44} {statistics.median(runs_b) * 1e6:9.2f} µs")
        self.lines.append(f"  {'ratio (median of the rounds)':<44} {ratio:9.2f}")
        self.ratios[title] = ratio
        return ratio


def canonical(request: dict[str, Any]) -> str:
    """The stack's cache key: what anyone would write (sorted JSON, SHA-256)."""
    return hashlib.sha256(json.dumps(request, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


async def measure(n: int, n_slow: int, rounds: int) -> Table:
    loop = asyncio.get_running_loop()
    scheduler = AsyncIOThreadSafeScheduler(loop)  # the scheduler runtime.py makes
    own_paths = OwnPaths(loop)
    made = Protection[str]
    ours_state: Protection[str] = made(production(), name="bench", dead_letter=lambda letter: None)
    hits: Protection[str] = made(production(), name="bench", dead_letter=lambda letter: None)
    lean: Protection[str] = made(stack_layers(), name="bench", dead_letter=lambda letter: None)
    defaults = production()
    breaker = AioBreaker(fail_max=10, timeout_duration=timedelta(seconds=30))
    limiter = AsyncLimiter(1e9, 1)
    cached: OrderedDict[str, str] = OrderedDict()

    def retrying() -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(3),
            wait=wait_random_exponential(multiplier=0.5, max=10),
            retry=retry_if_exception(lambda e: isinstance(e, Exception) and is_transient(e)),
            reraise=True,
        )

    def ours(i: int) -> Awaitable[Any]:
        return awaiting(protect(from_coroutine(instant), ours_state, request={"prompt": f"p{i}"}), scheduler)

    def ours_own_paths(i: int) -> Awaitable[Any]:
        return awaiting(protect(from_coroutine(instant), ours_state, request={"prompt": f"o{i}"}), own_paths)

    def ours_hit(i: int) -> Awaitable[Any]:
        return awaiting(protect(from_coroutine(instant), hits, request={"prompt": "same"}), scheduler)

    def ours_lean(i: int) -> Awaitable[Any]:
        return awaiting(protect(from_coroutine(instant), lean), scheduler)

    def ours_slow(i: int) -> Awaitable[Any]:
        return awaiting(protect(from_coroutine(one_ms), ours_state, request={"prompt": f"s{i}"}), scheduler)

    async def stack_chain(i: int, call: Callable[[], Awaitable[str]] = instant, prefix: str = "p") -> str:
        """The production chain's layers from the libraries: cache, fallback, deadline, retry, breaker, timeout."""
        key = canonical({"prompt": f"{prefix}{i}"})
        hit = cached.get(key)
        if hit is not None:
            return hit
        try:
            async with asyncio.timeout(defaults.deadline_s):
                async for attempt in retrying():
                    with attempt:
                        async with asyncio.timeout(defaults.timeout_s):
                            result: str = await breaker.call_async(call)
                        break
        except Exception:  # noqa: BLE001 - the fallback, as catch gives one
            return "fallback"
        cached[key] = result
        if len(cached) > 1024:
            cached.popitem(last=False)
        return result

    async def stack_chain_in_task(i: int) -> str:
        return await loop.create_task(stack_chain(i, prefix="t"))

    async def stack_slow(i: int) -> str:
        return await stack_chain(i, one_ms, "s")

    async def small_stack(i: int) -> str:
        async for attempt in retrying():
            with attempt:
                async with limiter, asyncio.timeout(120.0):
                    result: str = await breaker.call_async(instant)
                    return result
        raise AssertionError("unreachable")

    async def small_stack_in_task(i: int) -> str:
        return await loop.create_task(small_stack(i))

    async def bare(i: int) -> str:
        return await instant()

    def entered(i: int) -> Awaitable[Any]:
        return awaiting(from_coroutine(instant), scheduler)

    assert await ours(-1) == "answer" and await ours_hit(-1) == "answer" and await stack_chain(-1) == "answer"
    table = Table(n, rounds)
    await table.compare("production chain, like for like (inline)", ("ours", ours), ("the stack", stack_chain))
    await table.compare(
        "production chain, like for like (a task per call)", ("ours", ours), ("the stack", stack_chain_in_task)
    )
    await table.compare(
        "the small stack's layers + timeout (inline)",
        ("ours: rate_limit, retry, breaker, timeout", ours_lean),
        ("tenacity+aiobreaker+aiolimiter+timeout", small_stack),
    )
    await table.compare(
        "the small stack's layers + timeout (a task per call)",
        ("ours: rate_limit, retry, breaker, timeout", ours_lean),
        ("tenacity+aiobreaker+aiolimiter+timeout", small_stack_in_task),
    )
    await table.compare("a cache miss beside a hit", ("ours, miss", ours), ("ours, hit", ours_hit))
    await table.compare("around a 1 ms call", ("ours", ours_slow), ("the stack", stack_slow), n=n_slow)
    await table.compare(
        "the clock's shortcut (production chain)",
        ("on a subclass: no shortcut", ours_own_paths),
        ("on AsyncIOThreadSafeScheduler", ours),
    )
    await table.compare("entering a stream at all", ("from_coroutine alone", entered), ("bare await", bare))
    await shared_limits(table, scheduler)
    return table


async def shared_limits(table: Table, scheduler: SchedulerBase) -> None:
    """rate_limit + budget in Redis beside the same in the process (skipped without ``redis-server``)."""
    import shutil
    import socket
    import subprocess
    import tempfile

    import redis.asyncio

    from service._limit_store import RedisLimitStore

    binary = shutil.which("redis-server")
    if binary is None:
        table.lines.append("shared limits: skipped (no redis-server installed)")
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder]
        server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.asyncio.Redis(host="127.0.0.1", port=port)
        try:
            deadline = time.monotonic() + 10.0
            while True:
                try:
                    await client.ping()
                    break
                except (redis.RedisError, OSError):
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.01)
            store = RedisLimitStore(client, prefix="bench", timeout_s=1.0)
            policies = ProtectPolicies(
                timeout_s=120.0,
                deadline_s=None,
                breaker=None,
                retry=None,
                retry_budget=None,
                cache=None,
                catch=False,
                rate_limit=RateLimitPolicy(rate_per_s=1e9, burst=1e9),
                budget=BudgetPolicy(max_calls=10**9, window_s=None),
            )
            together = SharedLimits(store, SharedLimitsPolicy(instances=2), name="bench")
            local: Protection[str] = Protection(policies, name="bench")
            shared: Protection[str] = Protection(policies, name="bench", limits=together)

            def in_process(i: int) -> Awaitable[Any]:
                return awaiting(local.guard(from_coroutine(instant)), scheduler)

            def in_redis(i: int) -> Awaitable[Any]:
                return awaiting(shared.guard(from_coroutine(instant)), scheduler)

            assert await in_redis(-1) == "answer" and together.shared
            await table.compare(
                "shared limits: rate_limit + budget, per call",
                ("in Redis (loopback, 2 scripts)", in_redis),
                ("in the process", in_process),
                n=max(100, table.n // 5),
            )
            assert together.shared, "Redis failed during the benchmark"
        finally:
            await client.aclose()
            server.terminate()
            server.wait(timeout=10.0)


def main(quick: bool) -> None:
    n, n_slow, rounds = (1_000, 100, 3) if quick else (5_000, 500, 9)
    factory, loop_name = production_loop()
    with asyncio.Runner(loop_factory=factory) as runner:
        table = runner.run(measure(n, n_slow, rounds))
    print(f"on {loop_name} with AsyncIOThreadSafeScheduler, as the service runs")
    print(f"{n} sequential calls per side and round ({n_slow} around the 1 ms call), {rounds} rounds in turn")
    for line in table.lines:
        print(line)
    like = table.ratios["production chain, like for like (a task per call)"]
    print(f"target: production chain / like-for-like stack (a task per call) <= 1: {like:.2f}")
    print(f"target: miss / hit >= 10: {table.ratios['a cache miss beside a hit']:.2f}")
