"""The mind on virtual time, for the metrics: a thought that takes a goal, a tick skipped while a slow thought runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import reactivex
from prometheus_client import CollectorRegistry, generate_latest
from reactivex import Observable
from reactivex import operators as ops

from agent.context import BeingMemory, ContextBuilder
from agent.mind import Mind, MindPolicy, mind_route
from agent.mind.tools import ToolPolicy, ToolRegistry, default_tools
from service.metrics import MindMetrics
from service.replay import ReplayScheduler
from sinks import Row
from streams import Event
from tests.agent.mind._fakes import T0, Later, ScriptedBackend, decision, drive, message, protection, tick


def _at(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


async def mind_thinks(folder: Path, registry: CollectorRegistry) -> AsyncIterator[str]:
    """Yield the baseline scrape, then the one after: a goal taken, a tick skipped, tools, steps, gates."""
    metrics = MindMetrics(registry)
    memory = BeingMemory()
    metrics.watch_goals(lambda: len(memory.goals))
    yield generate_latest(registry).decode()
    scheduler = ReplayScheduler(T0)
    backend = ScriptedBackend(
        ["a thought", decision("goal", {"op": "add", "text": "remind them to stretch"}), Later(100.0, "slow")]
    )
    backend.scheduler = scheduler
    mind = Mind(
        backend=backend,
        protection=protection(),
        policy=MindPolicy(monologue_timeout_s=150.0),
        registry=ToolRegistry(default_tools(ToolPolicy())),
        memory=memory,
        context=ContextBuilder(memory),
        listener=metrics,
    )
    # a message wakes tick 1 (a goal); another wakes tick 2, whose slow monologue makes tick 3 skip
    events = [message(1, T0 + _at(30)), tick(1, T0 + _at(60)), message(2, T0 + _at(70)), tick(2, T0 + _at(120))]
    events += [tick(3, T0 + _at(180))]
    source: Observable[Event] = reactivex.from_iterable(events).pipe(
        ops.flat_map(lambda e: reactivex.timer(e.time, scheduler=scheduler).pipe(ops.map(lambda _: e)))
    )
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def take(row: Row) -> None:  # as the wiring shows the memory and the gate every row
        memory.observe(row)
        mind.gate.see(row)

    mind_route(source.pipe(ops.do_action(memory.observe)), mind).subscribe(
        on_next=take,
        on_error=lambda error: done.set_exception(error),
        on_completed=lambda: done.set_result(None),
        scheduler=scheduler,
    )
    await drive(scheduler, backend, done)
    await asyncio.wait_for(done, timeout=10)
    yield generate_latest(registry).decode()
