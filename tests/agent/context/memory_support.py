"""Events and rows as the pipeline makes them, for the memory and context tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agent import REPLY, reply_id
from agent._routes import user_episode
from agent.context import INTENTIONS, MESSAGE
from sinks import EpisodeRow, GoalRow
from streams import Event

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def message_event(n: int, text: str, *, sender: str | None = None, source: str = "inbox", t: float = 0.0) -> Event:
    payload: dict[str, Any] = {"text": text}
    if sender is not None:
        payload["sender"] = sender
    return Event(id=f"m{n}", type="user.message", time=at(t), source=source, payload=payload)


def reply_row(event: Event, text: str, *, outcome: str = "success", t: float = 1.0) -> EpisodeRow:
    """A reply episode shaped like the reply route's (``data.event_id`` names the message)."""
    data: dict[str, Any] = {"event_id": event.id, "message": event.payload.get("text", "")}
    if outcome in ("success", "deferred"):
        data["reply"] = text
    row_id = reply_id(event.id) if outcome != "deferred" else reply_id(event.id) + ":deferred"
    return EpisodeRow(id=row_id, time=at(t), type=REPLY, description=text, outcome=outcome, data=data)


def exchange(n: int, text: str, answer: str, *, sender: str | None = None, t: float = 0.0) -> list[Any]:
    """The event, its episode and its reply, in the order the memory meets them."""
    event = message_event(n, text, sender=sender, t=t)
    return [event, user_episode(event), reply_row(event, answer, t=t + 1)]


def episode(n: int, *, type: str = "world.file_changed", t: float = 0.0, description: str = "") -> EpisodeRow:
    return EpisodeRow(
        id=f"e{n}", time=at(t), type=type, description=description or f"episode {n}", outcome="success", data={}
    )


def being_message(n: int, t: float) -> EpisodeRow:
    return EpisodeRow(id=f"bm{n}", time=at(t), type=MESSAGE, description="hi", outcome="success", data={"text": "hi"})


def intentions(text: str, n: int = 0) -> Event:
    return Event(id=f"i{n}", type=INTENTIONS, time=at(n), source="intentions", payload={"text": text})


def goal(gid: str, text: str, *, status: str = "open", due: datetime | None = None, t: float = 0.0) -> GoalRow:
    return GoalRow(
        id=gid,
        text=text,
        status=status,  # type: ignore[arg-type]
        due=due,
        created=at(0),
        done=at(t) if status != "open" else None,
        time=at(t),
    )
