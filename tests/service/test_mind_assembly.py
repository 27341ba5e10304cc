"""The mind assembled from ``[mind]``: one default per field, the same protection and context, seeded at start."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import reactivex
from reactivex.subject import Subject

from agent.context import ContextPolicy
from agent.mind import MindPolicy
from agent.mind.tools import ToolPolicy
from llm import LexicalEmbedder
from service._assembly import Parts, assemble
from service._memory_seed import seed_being
from service._mind_assembly import context_policy, mind_policy, tool_policy
from service.settings import MindSettings, ReplySettings, Settings
from sinks import DuckWriter, EpisodeRow, GoalRow, MemoryBlockRow, PrincipleRow, open_database, write_rows
from streams import Event
from tests.fake_chat import FakeChatBackend

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_the_settings_defaults_are_the_policies_defaults() -> None:
    settings = Settings()
    assert mind_policy(settings) == MindPolicy()
    assert tool_policy(settings) == ToolPolicy()
    assert context_policy(settings) == ContextPolicy()


def test_settings_reach_the_policies() -> None:
    settings = Settings(
        mind=MindSettings(
            calls_per_tick=6,
            active_hours="8-22",
            messages_per_hour=1,
            context_max_chars=900,
            persona="a quiet gardener",
            model="small",
        )
    )
    assert mind_policy(settings).calls_per_tick == 6 and mind_policy(settings).model == "small"
    assert tool_policy(settings).active_hours == (8, 22) and tool_policy(settings).messages_per_hour == 1
    assert context_policy(settings).max_chars == 900 and context_policy(settings).persona == "a quiet gardener"


def test_assemble_gives_the_mind_the_replies_protection_and_one_context(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    try:
        assembled = assemble(Settings(), reactivex.empty(), Parts(writer=writer, run_id="r", backend=FakeChatBackend()))
        being = assembled.being
        assert being is not None and being.mind is not None
        assert being.mind.protection is assembled.protection
        assert being.mind.context is being.context and being.mind.memory is being.memory
        assert being.mind.registry.names == ("observe", "recall", "note", "reflect", "remember", "goal", "message")
        off = assemble(
            Settings(mind=MindSettings(enabled=False)),
            reactivex.empty(),
            Parts(writer=writer, run_id="r", backend=FakeChatBackend()),
        )
        assert off.being is not None and off.being.mind is None  # replies still answer with memory
        none = assemble(Settings(), reactivex.empty(), Parts(writer=writer, run_id="r"))
        assert none.being is None and none.protection is None
    finally:
        writer.close()


def test_the_memory_is_seeded_from_the_database(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    open_goal = GoalRow(
        id="g1", text="stretch", status="open", due=T0 + timedelta(hours=2), created=T0, done=None, time=T0
    )
    done_goal = GoalRow(id="g2", text="water", status="done", due=None, created=T0, done=T0, time=T0)
    said = [
        EpisodeRow(
            id=f"m{n}",
            time=T0 + timedelta(minutes=n),
            type="user.message",
            description=f"my cat is called Miso {n}",
            outcome="success",
            data={"text": f"my cat is called Miso {n}", "event_id": f"ev{n}", "source": "inbox"},
        )
        for n in range(2)
    ]
    files = [
        EpisodeRow(
            id=f"w{n}",
            time=T0 + timedelta(minutes=10 + n),
            type="world.file_changed",
            description=f"file {n}",
            outcome="success",
        )
        for n in range(4)
    ]
    rows = [
        open_goal,
        done_goal,
        MemoryBlockRow(name="user", text="likes tea", time=T0),
        PrincipleRow(text="ask before acting", time=T0),
        *said,
        *files,
    ]
    writer.call("seed", lambda con: write_rows(con, rows))
    try:
        being = assemble(
            Settings(), reactivex.empty(), Parts(writer=writer, run_id="r", backend=FakeChatBackend())
        ).being
        assert being is not None

        async def seed() -> None:
            await seed_being(writer, being, recent=2)

        asyncio.run(seed())
        assert set(being.memory.goals) == {"g1"}
        assert being.memory.blocks["user"] == "likes tea"
        assert "ask before acting" in being.memory.principles
        # the two newest episodes, and apart from them every message
        assert [e.id for e in being.memory.recent(10)] == ["m0", "m1", "w2", "w3"]
        assert being.recall is not None
        assert being.memory.recall("what is my cat called", 1)[0].startswith("my cat is called Miso")
    finally:
        writer.close()


def test_the_recall_and_the_remember_route_embed_a_message_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedded: list[str] = []
    vectors = LexicalEmbedder.vectors

    def counted(self: LexicalEmbedder, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        embedded.extend(texts)
        return vectors(self, texts)

    monkeypatch.setattr(LexicalEmbedder, "vectors", counted)
    settings = Settings(reply=ReplySettings(enabled=False))
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    events: Subject[Event] = Subject()
    try:
        assembled = assemble(settings, events, Parts(writer=writer, run_id="r", backend=FakeChatBackend()))
        assert assembled.being is not None
        subscription = assembled.committed.subscribe()
        said = "my cat is called Miso"
        events.on_next(Event(id="m1", type="user.message", time=T0, source="inbox", payload={"text": said}))
        assert assembled.being.memory.recall("what is my cat called?", 1, sender="inbox") == (said,)
        assert embedded.count(said) == 1  # the being's recall held it, the remember route wrote it: one embedding
        subscription.dispose()
    finally:
        writer.close()
