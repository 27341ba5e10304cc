"""Seconds until every message has its fallback while the LLM is down or hung, against the old order.

300 ``user.message`` events go at once through the real reply route (``agent.reply_route``,
``merge(max_concurrent)``) and ``agent.protect``, to a real ``OllamaBackend`` on loopback:

- down: a closed port (every connection refused at once), the settings' time limits as they are;
- hung: a server that accepts every connection and never answers. So that a run takes seconds,
  not hours, every duration in the settings (time limits, deadline, backoff, breaker waits and
  windows, rate-limit waits, budget window, the client's timeouts) is divided by ``SCALE`` and
  the rate limiter's rate multiplied by it; the figures are printed as measured and × ``SCALE``.

Each case runs four ways: "before" is the old order (catch → cache → budget → rate_limit →
retry → bulkhead → breaker → timeout, built here from the same operators, no deadline) with the
old defaults (1 call/s, burst 5, 120 calls/h, 120 s per try, 120 s client read limit, 2 replies
at once); "after" is ``protect`` with today's defaults. The two mixed rows show what the order
and the defaults each do alone. The ratio is before / after, measured in the same run.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import reactivex
from reactivex import Observable
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler

from agent import Protection, Replier, ReplyPolicy, fallback_chat_result, reply_route
from llm import ChatResult, backend_from_settings
from operators import (
    FallbackPolicy,
    FallbackRule,
    budget,
    bulkhead,
    circuit_breaker,
    rate_limit,
    retry,
    timeout,
)
from service.settings import Settings, load_settings
from sinks import DeadLetterRow, EpisodeRow, Row
from streams import Event

T = TypeVar("T")
SCALE = 60.0

OLD_DEFAULTS = {
    "BEING_RESILIENCE_RATE_LIMIT_ENABLED": "true",
    "BEING_RESILIENCE_BUDGET_ENABLED": "true",
    "BEING_RESILIENCE_TIMEOUT_TIMEOUT_S": "120",
    "BEING_RESILIENCE_TIMEOUT_DEADLINE_S": "0",
    "BEING_LLM_FIRST_BYTE_TIMEOUT_S": "120",  # the old client's one read limit covered the first byte too
    "BEING_LLM_READ_TIMEOUT_S": "120",
    "BEING_REPLY_MAX_CONCURRENT": "2",
}
DURATIONS = (
    "resilience.timeout.timeout_s",
    "resilience.timeout.deadline_s",
    "resilience.breaker.slow_call_duration_s",
    "resilience.breaker.window_s",
    "resilience.breaker.open_for_s",
    "resilience.breaker.open_for_max_s",
    "resilience.retry.base_delay_s",
    "resilience.retry.max_delay_s",
    "resilience.retry.budget_window_s",
    "resilience.rate_limit.max_wait_s",
    "resilience.budget.window_s",
    "llm.connect_timeout_s",
    "llm.first_byte_timeout_s",
    "llm.read_timeout_s",
    "llm.write_timeout_s",
    "llm.pool_timeout_s",
)
RATES = ("resilience.rate_limit.rate_per_s",)


class OldOrder(Protection[T]):
    """The order ``protect`` had before: budget and rate limit outside retry and the breaker, no deadline."""

    def guard(self, call: Observable[T], tokens: float = 1.0) -> Observable[T]:
        p, sched, name = self.policies, self.scheduler, self.name
        guarded = call
        if p.timeout_s is not None:
            guarded = timeout(p.timeout_s, name=name, listener=self.listener, scheduler=sched)(guarded)
        if self.breaker is not None:
            guarded = circuit_breaker(self.breaker, scheduler=sched)(guarded)
        if self.bulkhead is not None:
            guarded = bulkhead(self.bulkhead)(guarded)
        if p.retry is not None:
            rng, listener = self.random, self.listener
            again = retry(p.retry, name=name, budget=self.retry_budget, random=rng, listener=listener, scheduler=sched)
            guarded = again(guarded)
        if self.bucket is not None:
            guarded = rate_limit(self.bucket, cost=tokens, scheduler=sched)(guarded)
        if self.budget is not None:
            guarded = budget(self.budget, scheduler=sched)(guarded)
        return guarded


def _value(settings: Settings, dotted: str) -> Any:
    node: Any = settings
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def settings_for(base: Mapping[str, str], base_url: str, scale: float) -> Settings:
    """The settings ``base`` gives, pointed at ``base_url``, with every duration divided by ``scale``."""
    env = {**base, "BEING_LLM_BASE_URL": base_url}
    plain = load_settings(None, env=env)
    for dotted in DURATIONS:
        env["BEING_" + dotted.replace(".", "_").upper()] = repr(_value(plain, dotted) / scale)
    for dotted in RATES:
        env["BEING_" + dotted.replace(".", "_").upper()] = repr(_value(plain, dotted) * scale)
    return load_settings(None, env=env)


@dataclass(frozen=True, slots=True)
class Outcome:
    seconds: float
    first_s: float  # until the first message had its fallback
    outcomes: Counter[str]
    reasons: Counter[str]
    connections: int


async def run_once(settings: Settings, messages: int, *, old_order: bool, hung: HungServer | None) -> Outcome:
    loop = asyncio.get_running_loop()
    scheduler = AsyncIOThreadSafeScheduler(loop)  # what the service runs on
    letters: list[str] = []
    rules: FallbackPolicy[ChatResult] = FallbackPolicy(
        rules=(FallbackRule(stale_for_s=settings.resilience.fallback.stale_for_s, value=fallback_chat_result()),),
        remember=settings.resilience.fallback.remember,
    )
    kind = OldOrder if old_order else Protection
    protection: Protection[ChatResult] = kind(settings.resilience.policies(), name="llm", fallback=rules)
    backend = backend_from_settings(settings.llm, {})
    now = datetime.now(UTC)
    events = [Event.create("user.message", now, "bench", {"text": f"message number {i}"}) for i in range(messages)]
    policy = ReplyPolicy(max_concurrent=settings.reply.max_concurrent)
    done: asyncio.Future[list[EpisodeRow]] = loop.create_future()
    rows: list[EpisodeRow] = []
    arrived: list[float] = []

    def take(row: Row) -> None:
        if isinstance(row, DeadLetterRow):  # "<reason>: <error> (replaced by ...)"
            letters.append(row.reason.split(":", 1)[0])
        elif isinstance(row, EpisodeRow):
            arrived.append(time.perf_counter())
            rows.append(row)

    before = hung.connections if hung is not None else 0
    started = time.perf_counter()
    replier = Replier(backend=backend, protection=protection, policy=policy)  # no deferred replies: fallbacks only
    reply_route(reactivex.from_iterable(events), replier).subscribe(
        take, done.set_exception, lambda: done.set_result(rows), scheduler=scheduler
    )
    await done
    seconds = time.perf_counter() - started
    await backend.aclose()
    connections = (hung.connections - before) if hung is not None else 0
    return Outcome(
        seconds,
        arrived[0] - started,
        Counter(r.outcome for r in rows),
        Counter(letters),
        connections,
    )


class HungServer:
    """Accepts every connection, reads what comes, never answers; counts connections."""

    def __init__(self) -> None:
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await reader.read(65536):  # until the client gives up and closes
                pass
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def closed_port_url() -> str:
    with socket.socket() as probe:  # free a moment ago, and nothing listens on it now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


WAYS: tuple[tuple[str, bool, Mapping[str, str]], ...] = (
    ("before: old order, old defaults", True, OLD_DEFAULTS),
    ("old order, today's defaults", True, {}),
    ("today's order, old defaults", False, OLD_DEFAULTS),
    ("after: today's order and defaults", False, {}),
)


def _line(label: str, outcome: Outcome, scale: float, hung: bool) -> str:
    reasons = ", ".join(f"{reason} {n}" for reason, n in outcome.reasons.most_common())
    seen = f"all {outcome.seconds * scale:6.1f} s, first {outcome.first_s * scale:5.1f} s"
    tries = f"; {outcome.connections} tries reached the server" if hung else ""
    return f"  {label:34} {seen}   fallbacks: {reasons}{tries}"


async def _case(name: str, messages: int, scale: float) -> None:
    hung = HungServer() if name == "hung" else None
    url = await hung.start() if hung is not None else closed_port_url()
    results: dict[str, Outcome] = {}
    for label, old_order, env in WAYS:
        settings = settings_for(env, url, scale)
        results[label] = outcome = await run_once(settings, messages, old_order=old_order, hung=hung)
        assert sum(outcome.outcomes.values()) == messages and set(outcome.outcomes) == {"fallback"}, outcome
        print(_line(label, outcome, scale, hung is not None), flush=True)
    if hung is not None:
        await hung.stop()
    before, after = results[WAYS[0][0]].seconds, results[WAYS[-1][0]].seconds
    first_before, first_after = results[WAYS[0][0]].first_s, results[WAYS[-1][0]].first_s
    print(f"  ratio before / after: {before / after:.1f} × (all), {first_before / first_after:.1f} × (first fallback)")


def main(quick: bool) -> None:
    messages = 60 if quick else 300
    print(f"{messages} messages at once through the reply route, every one must end as a fallback")
    print("LLM down (connection refused), real time:")
    asyncio.run(_case("down", messages, 1.0))
    scale = SCALE * (4 if quick else 1)
    print(f"LLM hung (accepts, never answers), every duration in the settings / {scale:g};")
    print(f"seconds shown × {scale:g}, in the settings' own time:")
    asyncio.run(_case("hung", messages, scale))
