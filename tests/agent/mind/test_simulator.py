"""A thought against the LLM simulator on loopback: the decision call carries the schema, the answer fits it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.subject import Subject

from agent import Recorder
from agent.mind import Mind, MindPolicy, mind_route
from llm import OllamaBackend
from llm.simulator import Simulator
from sinks import EpisodeRow, ExchangeRow, Row
from streams import Event
from tests.agent.mind._fakes import (
    T0,
    FakeContext,
    FakeMemory,
    FakeRegistry,
    MindListenerLog,
    message,
    protection,
    tick,
)
from tests.llm.llm_support import http_for


async def test_a_thought_over_loopback_decides_in_the_schema_and_acts() -> None:
    async with Simulator() as sim:
        backend = OllamaBackend(http=http_for(sim), options={"temperature": 0.0})
        registry = FakeRegistry()
        listener = MindListenerLog()
        mind = Mind(
            backend=backend,
            protection=protection(),
            policy=MindPolicy(),
            registry=registry,
            memory=FakeMemory(),
            context=FakeContext(),
            listener=listener,
        )
        loop = asyncio.get_running_loop()
        events: Subject[Event] = Subject()
        rows: list[Row] = []
        done: asyncio.Future[None] = loop.create_future()
        mind_route(events, mind, recorder=Recorder("run")).subscribe(
            on_next=rows.append,
            on_error=done.set_exception,
            on_completed=lambda: done.set_result(None),
            scheduler=AsyncIOScheduler(loop),
        )
        events.on_next(message(1, T0, "please note the plan"))
        events.on_next(tick(1, T0 + timedelta(seconds=60)))
        events.on_completed()
        try:
            await asyncio.wait_for(done, timeout=20)
        finally:
            await backend.aclose()
    episodes = {r.type: r for r in rows if isinstance(r, EpisodeRow)}
    assert episodes["mind.thought"].outcome == "success" and episodes["mind.thought"].data["monologue"]
    decided = episodes["mind.decision"]
    assert decided.outcome == "success", decided.data  # the simulator's answer matched the schema at once
    assert decided.data["decision"]["action"] in registry.names
    assert [c[0] for c in registry.calls] == [decided.data["decision"]["action"]]
    assert episodes["mind.action"].data["thought"] == "success"
    exchanges = [r for r in rows if isinstance(r, ExchangeRow)]
    assert len(exchanges) == 2 and exchanges[1].request.get("format") is not None
