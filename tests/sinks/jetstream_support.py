"""What the out-sink tests share: episodes, a writer on a real file, a real NATS connection, reading the stream back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import orjson
from nats.aio.client import Client
from nats.js import JetStreamContext

from sinks import DuckWriter, EpisodeRow, JetStreamOutPolicy, Outbox, OutboxPolicy, open_database, write_rows

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def reply(n: int, text: str | None = None, *, seconds: int | None = None) -> EpisodeRow:
    return EpisodeRow(
        id=f"r{n}",
        time=T0 + timedelta(seconds=n if seconds is None else seconds),
        type="user.reply",
        description=f"answer {n}",
        outcome="success",
        data={"event_id": f"m{n}", "message": f"question {n}", "reply": text if text is not None else f"answer {n}"},
    )


def said(n: int) -> EpisodeRow:
    return EpisodeRow(
        id=f"b{n}",
        time=T0 + timedelta(seconds=n),
        type="being.message",
        description="said",
        outcome="success",
        data={"text": f"thinking of you {n}"},
    )


def seen(n: int) -> EpisodeRow:
    return EpisodeRow(
        id=f"w{n}",
        time=T0 + timedelta(seconds=n),
        type="world.file_changed",
        description=f"notes.md changed ({n})",
        outcome="observed",
        data={"path": "notes.md"},
    )


async def commit(writer: DuckWriter, rows: Sequence[EpisodeRow]) -> None:
    """One committed batch, as the episode sink writes it."""
    await asyncio.wrap_future(writer.submit("test.batch", lambda con: write_rows(con, rows)))


def open_writer(path: Path) -> DuckWriter:
    return DuckWriter(open_database(path))


async def recorded(writer: DuckWriter) -> dict[str, str]:
    """episode id → state in the cursor table."""
    rows = await asyncio.wrap_future(
        writer.submit("test.cursor", lambda con: con.execute("SELECT episode_id, state FROM out_published").fetchall())
    )
    return {str(r[0]): str(r[1]) for r in rows}


async def outbox_line_of(writer: DuckWriter, episode_id: str) -> dict[str, object]:
    """The line ``outbox.jsonl`` holds for an episode, decoded."""
    lines = Outbox(OutboxPolicy(path=Path("outbox.jsonl")))._lines  # reads the database only
    block = await asyncio.wrap_future(writer.submit("test.line", lambda con: lines(con, [episode_id])))
    value: dict[str, object] = orjson.loads(block)
    return value


@dataclass(frozen=True)
class Held:
    """One message as the stream holds it."""

    seq: int
    headers: dict[str, str]
    body: dict[str, object]
    size: int


async def stream_messages(js: JetStreamContext, policy: JetStreamOutPolicy) -> list[Held]:
    """Every message of the out stream, in stream order."""
    info = await js.stream_info(policy.stream)
    held = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else ():
        msg = await js.get_msg(policy.stream, seq)
        held.append(Held(seq, dict(msg.headers or {}), orjson.loads(msg.data or b"{}"), len(msg.data or b"")))
    return held


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[tuple[Client, JetStreamContext]]:
    """A connection that reconnects for ever (as the runtime's does), closed at the end."""
    errors: list[Exception] = []

    async def quietly(error: Exception) -> None:  # the client reports each failed reconnect; the test expects them
        errors.append(error)

    nc = await nats.connect(
        url, connect_timeout=5, max_reconnect_attempts=-1, reconnect_time_wait=0.05, error_cb=quietly
    )
    try:
        yield nc, nc.jetstream()
    finally:
        await nc.close()
