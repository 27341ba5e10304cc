"""Fakes for the mind's tests: a scripted backend on virtual time, and small parts that follow the spec's seams.

The memory, context builder and tool registry are built beside the mind; these follow the
signatures the mind uses (``agent.mind.MindMemory``, ``MindContext``, ``MindTools``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

from agent import Protection, ProtectPolicies, Recorder
from agent._reply import fallback_chat_result
from agent.mind import Mind, MindPolicy, mind_route
from agent.mind.tools import ToolContext, ToolResult
from llm import Call, ChatResult, Format, Message
from operators import FallbackPolicy, FallbackRule
from service.replay import ReplayScheduler
from sinks import EpisodeRow, GoalRow, Row
from streams import HEAVY_TICK, Event
from tests.fake_chat import FakeChatBackend

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
HANG = object()  # a scripted answer that never comes


def decision(action: str = "observe", arguments: Any = None, **fields: Any) -> str:
    """A decision answer as the model would write it (``arguments`` as given: a test may give a wrong type)."""
    args = {} if arguments is None else arguments
    body = {"focus": "now", "reasoning": "because", "action": action, "arguments": args, "risk": "low"}
    return json.dumps({**body, **fields})


@dataclass(frozen=True, slots=True)
class Later:
    """A scripted answer that comes ``after_s`` seconds of virtual time after the call."""

    after_s: float
    answer: Any


class ScriptedBackend(FakeChatBackend):
    """Answers from a script, in virtual time; counts calls and what they asked.

    Each script item is a text (the answer), an exception (raised), :data:`HANG` or :class:`Later`.
    When the script runs out, ``default`` answers (``None``: a decision to observe for a call with a
    schema, a thought otherwise). ``busy`` counts calls made whose coroutine has
    not yet answered or parked on the virtual clock: the test driver waits for it to reach 0.
    """

    name = "scripted"

    def __init__(self, script: Iterable[Any] = (), *, default: Any = None) -> None:
        self.script = list(script)
        self.default = default
        self.calls: list[tuple[tuple[Message, ...], Format | None]] = []
        self.busy = 0
        self.scheduler: abc.SchedulerBase | None = None  # set by the harness (the virtual clock)

    def reply(self, call: Call) -> Coroutine[Any, Any, ChatResult]:
        self.calls.append((tuple(call.messages), call.format))
        planned = self.script.pop(0) if self.script else self.default
        if planned is None:
            planned = decision() if call.format is not None else "a thought"
        self.busy += 1
        return self._answer(planned)

    async def _answer(self, planned: Any) -> ChatResult:
        try:
            if isinstance(planned, Later):
                await self._park(planned.after_s)
                planned = planned.answer
            if planned is HANG:
                await self._park(None)
            if isinstance(planned, Exception):
                raise planned
            return ChatResult(model="scripted", content=str(planned))
        finally:
            self.busy -= 1

    async def _park(self, after_s: float | None) -> None:
        """Wait on the virtual clock (for ever when ``after_s`` is None); the driver may move time meanwhile."""
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()

        def wake(_s: Any, _st: Any) -> None:
            if not woken.done():  # a cancelled call is not woken (and counts no more)
                self.busy += 1
                woken.set_result(None)

        self.busy -= 1
        if after_s is not None:
            assert self.scheduler is not None
            self.scheduler.schedule_relative(after_s, wake)
        try:
            await woken
        except asyncio.CancelledError:
            self.busy += 1  # given back by the finally of _answer
            raise

    async def embed(self, texts: Sequence[str], *, model: str | None = None) -> Any:
        raise NotImplementedError

    def formats(self) -> list[Format | None]:
        return [f for _, f in self.calls]


@dataclass(frozen=True, slots=True)
class FakeContextValue:
    text: str
    sections: Mapping[str, int]
    cut: Sequence[Mapping[str, Any]]


class FakeContext:
    """``ContextBuilder.for_thought``: a fixed text with the focus; remembers each focus asked."""

    def __init__(self, fail: bool = False) -> None:
        self.foci: list[str] = []
        self.fail = fail

    def for_thought(self, focus: str) -> FakeContextValue:
        if self.fail:
            raise RuntimeError("context broke")
        self.foci.append(focus)
        return FakeContextValue(text=f"You are the being.\n## Focus\n{focus}", sections={"focus": len(focus)}, cut=())


class FakeMemory:
    """``BeingMemory``'s goals and tool context."""

    def __init__(self, goals: Mapping[str, GoalRow] | None = None) -> None:
        self.goals: dict[str, GoalRow] = dict(goals or {})

    def tool_context(self, now: datetime, thought_id: str) -> ToolContext:
        return ToolContext(now=now, thought_id=thought_id, goals=dict(self.goals))


class FakeTool:
    """A tool that succeeds (or takes ``after_s`` of virtual time) and writes one episode."""

    def __init__(self, name: str, *, after_s: float = 0.0) -> None:
        self.name = name
        self.after_s = after_s


class FakeRegistry:
    """``ToolRegistry``: names, describe, call (never an error; an unknown tool is a failure)."""

    def __init__(self, tools: Sequence[FakeTool] = ()) -> None:
        given = {t.name: t for t in tools}
        defaults = ("observe", "recall", "note", "reflect", "remember", "goal", "message")
        self.tools = {n: given.get(n, FakeTool(n)) for n in (*defaults, *given)}
        self.calls: list[tuple[str, object, ToolContext]] = []

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.tools)

    @property
    def schemas(self) -> dict[str, dict[str, Any]]:
        return {n: {"type": "object"} for n in self.tools}

    def describe(self) -> str:
        return "\n".join(f"{n} (low): does {n}; arguments: {{}}" for n in self.tools)

    def call(
        self, name: str, arguments: object, context: ToolContext, *, scheduler: abc.SchedulerBase | None = None
    ) -> Observable[ToolResult]:
        self.calls.append((name, arguments, context))
        tool = self.tools.get(name)
        if tool is None:
            return reactivex.just(ToolResult(outcome="failure", summary=f"unknown tool {name!r}"))
        kind = f"mind.{name}"
        row = EpisodeRow(id=f"{context.thought_id}:{name}", time=context.now, type=kind, description=name, outcome="ok")
        result = ToolResult(outcome="success", summary=f"{name} done", rows=(row,), data={"n": len(self.calls)})
        if tool.after_s:
            return reactivex.timer(tool.after_s, scheduler=scheduler).pipe(ops.map(lambda _: result))
        return reactivex.just(result)


class MindListenerLog:
    """A MindListener that writes down every report."""

    def __init__(self) -> None:
        self.reports: list[tuple[Any, ...]] = []

    def on_gate(self, decision: str) -> None:
        self.reports.append(("gate", decision))

    def on_thought(self, outcome: str, duration_s: float) -> None:
        self.reports.append(("thought", outcome, duration_s))

    def on_step(self, step: str, outcome: str, duration_s: float) -> None:
        self.reports.append(("step", step, outcome, duration_s))

    def on_tool(self, tool: str, outcome: str) -> None:
        self.reports.append(("tool", tool, outcome))

    def on_overlap_skip(self) -> None:
        self.reports.append(("overlap_skip",))

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        return [r[1:] for r in self.reports if r[0] == kind]


def protection(**given: Any) -> Protection[ChatResult]:
    """A protection like the replies': catch with a fixed fallback; layers off unless ``given``."""
    policies: dict[str, Any] = {
        "timeout_s": None,
        "deadline_s": None,
        "breaker": None,
        "retry": None,
        "rate_limit": None,
        "budget": None,
        "cache": None,
        **given,
    }
    return Protection(
        ProtectPolicies(**policies),
        name="llm",
        fallback=FallbackPolicy(rules=(FallbackRule(value=fallback_chat_result()),)),
    )


def tick(n: int, at: datetime) -> Event:
    return Event(id=f"heavy-{n}", type=HEAVY_TICK, time=at, source="ticks", payload={"n": n})


def message(n: int, at: datetime, text: str = "hello") -> Event:
    return Event(id=f"m{n}", type="user.message", time=at, source="inbox", payload={"text": text, "sender": "ann"})


def ticks_every(interval_s: float, count: int, start: datetime = T0) -> list[Event]:
    return [tick(n, start + timedelta(seconds=interval_s * n)) for n in range(1, count + 1)]


@dataclass
class Run:
    """The mind route run over ``events`` on a virtual clock, to the end."""

    rows: list[Row]
    backend: ScriptedBackend
    listener: MindListenerLog
    registry: FakeRegistry
    context: FakeContext
    end: datetime
    mind: Mind = field(repr=False)

    def episodes(self, kind: str | None = None) -> list[EpisodeRow]:
        return [r for r in self.rows if isinstance(r, EpisodeRow) and kind in (None, r.type)]

    def outcomes(self, kind: str) -> list[str]:
        return [e.outcome for e in self.episodes(kind)]


async def run_mind(
    events: Sequence[Event],
    backend: ScriptedBackend | None = None,
    *,
    policy: MindPolicy | None = None,
    guard: Protection[ChatResult] | None = None,
    registry: FakeRegistry | None = None,
    memory: FakeMemory | None = None,
    context: FakeContext | None = None,
    recorder: Recorder | None = None,
    start: datetime = T0,
    show_rows: bool = False,
) -> Run:
    """Subscribe the mind route on a virtual clock, play ``events`` at their times, drive it to the end.

    ``show_rows``: the gate is shown each row the route emits, as the wiring shows it every row.
    """
    scheduler = ReplayScheduler(start)
    backend = backend or ScriptedBackend()
    backend.scheduler = scheduler
    listener = MindListenerLog()
    registry = registry or FakeRegistry()
    context = context or FakeContext()
    mind = Mind(
        backend=backend,
        protection=guard or protection(),
        policy=policy or MindPolicy(),
        registry=registry,
        memory=memory or FakeMemory(),
        context=context,
        listener=listener,
    )
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    rows: list[Row] = []
    source: Observable[Event] = reactivex.from_iterable(events).pipe(
        ops.flat_map(lambda e: reactivex.timer(e.time, scheduler=scheduler).pipe(ops.map(lambda _: e)))
    )

    def failed(error: Exception) -> None:
        if not done.done():
            done.set_exception(error)

    def completed() -> None:
        if not done.done():
            done.set_result(None)

    def take(row: Row) -> None:
        rows.append(row)
        if show_rows:  # as the wiring does: the gate is shown every row before the sink
            mind.gate.see(row)

    mind_route(source, mind, recorder=recorder).subscribe(
        on_next=take, on_error=failed, on_completed=completed, scheduler=scheduler
    )
    await drive(scheduler, backend, done)
    await asyncio.wait_for(done, timeout=10)
    return Run(rows, backend, listener, registry, context, scheduler.now, mind)


async def settle(backend: ScriptedBackend) -> None:
    """Let started calls run until each has answered or parked on the virtual clock."""
    for _ in range(10_000):
        for _ in range(4):
            await asyncio.sleep(0)
        if backend.busy == 0:
            return
    raise AssertionError("calls kept running at one instant of virtual time")


async def drive(scheduler: ReplayScheduler, backend: ScriptedBackend, done: asyncio.Future[None]) -> None:
    """Advance the virtual clock due time by due time, settling the calls between, until nothing is left."""
    await settle(backend)
    for _ in range(1_000_000):
        if done.done():
            return
        if scheduler.next_due() is None:
            await settle(backend)
            if scheduler.next_due() is None:
                return
            continue
        scheduler.step()
        await settle(backend)
    raise AssertionError("the virtual clock never ran out of work")
