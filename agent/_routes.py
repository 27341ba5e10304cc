"""The routes that need no LLM: events in, rows for the sinks out.

- user: each ``user.message``/``user.urgent`` becomes an episode of the same type (its reply
  comes from the reply route);
- heavy ticks: each becomes a ``heavy_tick.observe`` episode, unless the mind takes them
  (``route_events(..., heavy_ticks=False)``: the mind route writes ``mind.idle``/``mind.thought``...);
- intentions: each ``mind.intentions`` event (the intentions file changed) becomes an episode
  of the same type, its text in ``data``;
- bad input: each ``input.invalid`` becomes a dead letter;
- world: ``world.*`` changes (and recorded ``system.start``/``system.stop``) become episodes;
- unknown: an event of a type nothing takes becomes a dead letter, never silence.

Row ids derive from event ids, so a replay of the same events gives the same rows, and
rows of recovered input carry ``may_exist`` so the sink never stores them twice.
"""

from __future__ import annotations

from typing import cast

from reactivex import Observable
from reactivex import operators as ops

from sinks import DeadLetterRow, EpisodeRow, Row
from streams import HEAVY_TICK, INVALID_INPUT, LIGHT_TICK, MIND_INTENTIONS, NATS_SOURCE, Event, encode_event, stable_id

__all__ = [
    "DESCRIPTION_MAX_CHARS",
    "REPLY",
    "SYSTEM_TYPES",
    "USER_TYPES",
    "WORLD_PREFIX",
    "dead_letter",
    "intentions_episode",
    "observe_episode",
    "route_events",
    "route_one",
    "shorten",
    "unknown_type_letter",
    "user_episode",
    "world_episode",
]

USER_TYPES = frozenset({"user.message", "user.urgent"})
REPLY = "user.reply"
"""The type of the being's answer to a user message (the reply route's and the deferred replies')."""
SYSTEM_TYPES = frozenset({"system.start", "system.stop"})
WORLD_PREFIX = "world."
DESCRIPTION_MAX_CHARS = 500
OBSERVE = "heavy_tick.observe"


def shorten(text: str) -> str:
    """``text`` cut to ``DESCRIPTION_MAX_CHARS`` for an episode's description (the full text stays in ``data``)."""
    return text if len(text) <= DESCRIPTION_MAX_CHARS else text[: DESCRIPTION_MAX_CHARS - 1] + "…"


def _recovered(event: Event) -> bool:
    return bool(event.payload.get("recovered", False))


def _may_be_stored(event: Event) -> bool:
    """Whether a message's own episode may be stored already: recovered, or from JetStream, which
    delivers at least once (a copy an instance gave back at its stop may be taken again as new)."""
    return _recovered(event) or event.source == NATS_SOURCE


def user_episode(event: Event) -> EpisodeRow:
    """The episode that records a user's message as received."""
    text = str(event.payload.get("text", ""))
    return EpisodeRow(
        id=stable_id(event.id, event.type),
        time=event.time,
        type=event.type,
        description=shorten(text),
        outcome="success",
        data={"text": text, "event_id": event.id, "source": event.source, **_origin(event)},
        event_id=event.id,
        may_exist=_may_be_stored(event),
    )


def _origin(event: Event) -> dict[str, object]:
    return {k: event.payload[k] for k in ("claim", "line", "encoding", "sender", "msg_id") if k in event.payload}


def observe_episode(event: Event) -> EpisodeRow:
    """The episode of one heavy tick: the being looked around (no LLM yet)."""
    n = event.payload.get("n", 0)
    return EpisodeRow(
        id=stable_id(event.id, OBSERVE),
        time=event.time,
        type=OBSERVE,
        description=f"heavy tick {n}: observed",
        outcome="success",
        data={"event_id": event.id, "tick": n},
        event_id=event.id,
    )


def intentions_episode(event: Event) -> EpisodeRow:
    """The episode of a change of the intentions file: what it says now (``""``: deleted)."""
    text = str(event.payload.get("text", ""))
    size = event.payload.get("bytes", len(text.encode()))
    cut = " (cut at the size limit)" if event.payload.get("truncated") else ""
    said = f"intentions changed ({size} bytes){cut}: {text}" if text else "intentions cleared (the file is gone)"
    return EpisodeRow(
        id=stable_id(event.id, event.type),
        time=event.time,
        type=event.type,
        description=shorten(said.replace("\n", " ").strip()),
        outcome="success",
        data={"event_id": event.id, **{k: v for k, v in event.payload.items() if k != "recovered"}},
        event_id=event.id,
    )


def dead_letter(event: Event) -> DeadLetterRow:
    """The dead letter that keeps unreadable input whole."""
    details = {k: v for k, v in event.payload.items() if k not in ("reason", "raw", "recovered")}
    where = ", ".join(f"{k}={v}" for k, v in sorted(details.items()))
    reason = str(event.payload.get("reason", "invalid input"))
    return DeadLetterRow(
        id=stable_id(event.id, "dead_letter"),
        time=event.time,
        source=event.source,
        reason=f"{reason} ({where})" if where else reason,
        raw=str(event.payload.get("raw", "")),
        event_id=event.id,
        may_exist=_recovered(event),
    )


def world_episode(event: Event) -> EpisodeRow:
    """A change in the watched world (a file created or changed) as an episode of the same type."""
    path = str(event.payload.get("path", ""))
    change = str(event.payload.get("change", "changed"))
    return EpisodeRow(
        id=stable_id(event.id, event.type),
        time=event.time,
        type=event.type,
        description=shorten(f"file {change}: {path}" if path else event.type),
        outcome="success",
        data={"event_id": event.id, **{k: v for k, v in event.payload.items() if k != "recovered"}},
        event_id=event.id,
        may_exist=_recovered(event),
    )


def unknown_type_letter(event: Event) -> DeadLetterRow:
    """An event no route takes, kept whole as a dead letter."""
    return DeadLetterRow(
        id=stable_id(event.id, "dead_letter"),
        time=event.time,
        source=event.source,
        reason=f"unknown event type: {event.type!r} is taken by no route",
        raw=encode_event(event),
        event_id=event.id,
        may_exist=_recovered(event),
    )


def route_one(event: Event) -> Row | None:
    """The row of one event under the routes above (``None`` for events no row is made of: light ticks)."""
    kind = event.type
    if kind in USER_TYPES:
        return user_episode(event)
    if kind == HEAVY_TICK:
        return observe_episode(event)
    if kind == INVALID_INPUT:
        return dead_letter(event)
    if kind == MIND_INTENTIONS:
        return intentions_episode(event)
    if kind.startswith(WORLD_PREFIX) or kind in SYSTEM_TYPES:
        return world_episode(event)
    if kind == LIGHT_TICK:
        return None
    return unknown_type_letter(event)


def _without_heavy_ticks(event: Event) -> Row | None:
    return None if event.type == HEAVY_TICK else route_one(event)


def route_events(events: Observable[Event], *, heavy_ticks: bool = True) -> Observable[Row]:
    """Every route above over one event stream, as one dispatch by type (:func:`route_one`).

    One subscription instead of one filtered subscription per route: every event of a replay
    passes here, so the fan-out is paid once.

    Args:
        heavy_ticks: write ``heavy_tick.observe`` for each heavy tick (off when the mind takes them).
    """

    def made(row: Row | None) -> bool:
        return row is not None

    one = route_one if heavy_ticks else _without_heavy_ticks
    maybe: Observable[Row | None] = events.pipe(ops.map(one), ops.filter(made))
    return cast(Observable[Row], maybe)  # the filter removed every None
