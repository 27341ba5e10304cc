"""wire_pipeline: a user message is acknowledged by its reply, and completion means everything is written."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.subject import Subject

from agent import Protection, ProtectPolicies, Recorder, Replier, ReplyPolicy, Wiring, wire_pipeline
from llm import ChatResult, Message
from sinks import BatchResult, DuckWriter, open_database
from streams import Event
from tests.fake_chat import FakeChatBackend

T0 = datetime(2026, 3, 1, tzinfo=UTC)


class GatedBackend(FakeChatBackend):
    """Answers only once the test opens the gate."""

    name = "gated"

    def __init__(self) -> None:
        self.gate = asyncio.Event()

    async def answer(self, messages: Sequence[Message]) -> ChatResult:
        await self.gate.wait()
        return ChatResult(model="gated", content="hello back")


async def test_the_reply_acknowledges_the_message_and_completion_waits_for_it(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    scheduler = AsyncIOScheduler(loop)
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    recorder = Recorder("run")
    backend = GatedBackend()
    protection: Protection[ChatResult] = Protection(
        ProtectPolicies(rate_limit=None, budget=None, cache=None, retry=None), name="llm"
    )
    wiring = Wiring(
        writer=writer,
        batch_max_rows=100,
        batch_max_wait_s=0.01,
        recorder=recorder,
        replier=Replier(backend=backend, protection=protection, policy=ReplyPolicy()),
    )
    events: Subject[Event] = Subject()
    committed: list[BatchResult] = []
    done = asyncio.Event()
    wire_pipeline(events, wiring).subscribe(
        on_next=committed.append, on_completed=lambda: loop.call_soon_threadsafe(done.set), scheduler=scheduler
    )

    async def until(condition: Any) -> None:
        for _ in range(500):
            if condition():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("condition not met")

    await until(lambda: events.observers)  # merge subscribes its sources on the loop's next turn
    events.on_next(Event(id="m1", type="user.message", time=T0, source="inbox", payload={"text": "hi"}))
    events.on_completed()

    await until(lambda: sum(r.episodes for r in committed) >= 1)  # the message's own episode is written...
    assert all("m1" not in r.event_ids for r in committed)  # ...but does not acknowledge it
    assert not done.is_set()  # and the pipeline waits for the reply
    backend.gate.set()
    await asyncio.wait_for(done.wait(), timeout=10)
    assert any("m1" in r.event_ids for r in committed)
    assert sum(r.exchanges for r in committed) == 1
    assert sum(r.recorded_events for r in committed) == 1
    rows = writer.call("read", lambda con: con.execute("SELECT type FROM episodes ORDER BY type").fetchall())
    assert rows == [("user.message",), ("user.reply",)]
    writer.close()
