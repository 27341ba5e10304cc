"""The mind's episodes: ``mind.idle``, ``mind.thought``, ``mind.decision``, ``mind.action``; and its dead letter.

Ids derive from the heavy tick's event id (one thought per tick), so a replay of the same ticks
gives the same ids.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from agent._routes import shorten
from sinks import DeadLetterRow, EpisodeRow
from streams import Event, stable_id

__all__ = [
    "ACTION",
    "DECISION",
    "IDLE",
    "THOUGHT",
    "action_episode",
    "decision_letter",
    "episode",
    "idle_episode",
    "thought_id",
]

IDLE = "mind.idle"
THOUGHT = "mind.thought"
DECISION = "mind.decision"
ACTION = "mind.action"


def thought_id(tick: Event) -> str:
    """The id of the thought a heavy tick starts (the tools' row ids derive from it)."""
    return stable_id(tick.id, "thought")


def episode(
    tick: Event, kind: str, now: datetime, description: str, outcome: str, data: dict[str, Any], *, last: bool = False
) -> EpisodeRow:
    """One of the thought's episodes; the ``last`` one carries the tick's event id."""
    return EpisodeRow(
        id=stable_id(tick.id, kind),
        time=now,
        type=kind,
        description=shorten(description),
        outcome=outcome,
        data={"thought_id": thought_id(tick), "event_id": tick.id, "tick": tick.payload.get("n", 0), **data},
        event_id=tick.id if last else None,
    )


def idle_episode(tick: Event, outcome: str, reason: str, data: dict[str, Any] | None = None) -> EpisodeRow:
    """A heavy tick the mind did not think on: nothing changed (``success``), or a thought still runs (``skipped``)."""
    n = tick.payload.get("n", 0)
    return EpisodeRow(
        id=stable_id(tick.id, IDLE),
        time=tick.time,
        type=IDLE,
        description=f"heavy tick {n}: {reason}",
        outcome=outcome,
        data={"event_id": tick.id, "tick": n, "reason": reason, **(data or {})},
        event_id=tick.id,
    )


def action_episode(
    tick: Event,
    now: datetime,
    *,
    tool: str | None,
    arguments: Any,
    outcome: str,
    duration_s: float,
    summary: str,
    data: dict[str, Any],
) -> EpisodeRow:
    """The thought's last episode: what it did and how that ended."""
    details = {"tool": tool, "arguments": arguments, "outcome": outcome, "duration_s": duration_s}
    return episode(
        tick, ACTION, now, f"{tool or 'nothing'}: {outcome}: {summary}", outcome,
        {**details, "summary": summary, **data}, last=True,
    )  # fmt: skip


def decision_letter(tick: Event, now: datetime, *, problems: list[str], answers: list[str | None]) -> DeadLetterRow:
    """The dead letter of a decision that stayed unusable after its repair, with the model's raw answers."""
    return DeadLetterRow(
        id=stable_id(tick.id, DECISION, "dead_letter"),
        time=now,
        source="mind",
        reason=f"decision: unusable after one repair, observe instead: {' / '.join(problems)}",
        raw=json.dumps({"answer": answers[0], "repair": answers[1] if len(answers) > 1 else None}, ensure_ascii=False),
        event_id=None,
    )
