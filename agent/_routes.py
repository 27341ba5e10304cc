"""The routes of the thin agent: events in, rows for the sinks out.

- user: each ``user.message``/``user.urgent`` becomes an episode of the same type;
- mind: each heavy tick becomes a ``heavy_tick.observe`` episode (the LLM comes with the mind);
- bad input: each ``input.invalid`` becomes a dead letter.

Row ids derive from event ids, so a replay of the same events gives the same rows, and
rows of recovered input carry ``may_exist`` so the sink never stores them twice.
"""

from __future__ import annotations

from collections.abc import Callable

import reactivex
from reactivex import Observable
from reactivex import operators as ops

from sinks import DeadLetterRow, EpisodeRow, Row
from streams import HEAVY_TICK, INVALID_INPUT, LIGHT_TICK, Event, encode_event, stable_id

__all__ = [
    "DESCRIPTION_MAX_CHARS",
    "KNOWN_TYPES",
    "SYSTEM_TYPES",
    "USER_TYPES",
    "WORLD_PREFIX",
    "bad_input_route",
    "dead_letter",
    "is_known",
    "mind_route",
    "observe_episode",
    "route_events",
    "unknown_route",
    "unknown_type_letter",
    "user_episode",
    "user_route",
    "world_episode",
    "world_route",
]

USER_TYPES = frozenset({"user.message", "user.urgent"})
SYSTEM_TYPES = frozenset({"system.start", "system.stop"})
WORLD_PREFIX = "world."
KNOWN_TYPES = USER_TYPES | SYSTEM_TYPES | {LIGHT_TICK, HEAVY_TICK, INVALID_INPUT}
DESCRIPTION_MAX_CHARS = 500
OBSERVE = "heavy_tick.observe"


def _shorten(text: str) -> str:
    return text if len(text) <= DESCRIPTION_MAX_CHARS else text[: DESCRIPTION_MAX_CHARS - 1] + "…"


def _recovered(event: Event) -> bool:
    return bool(event.payload.get("recovered", False))


def user_episode(event: Event) -> EpisodeRow:
    """The episode that records a user's message as received."""
    text = str(event.payload.get("text", ""))
    return EpisodeRow(
        id=stable_id(event.id, event.type),
        time=event.time,
        type=event.type,
        description=_shorten(text),
        outcome="success",
        data={"text": text, "event_id": event.id, "source": event.source, **_origin(event)},
        event_id=event.id,
        may_exist=_recovered(event),
    )


def _origin(event: Event) -> dict[str, object]:
    return {k: event.payload[k] for k in ("claim", "line", "encoding") if k in event.payload}


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


def _of_type(*types: str) -> Callable[[Event], bool]:
    wanted = frozenset(types)
    return lambda event: event.type in wanted


def user_route(events: Observable[Event]) -> Observable[Row]:
    """User messages → episodes."""
    return events.pipe(ops.filter(_of_type(*USER_TYPES)), ops.map(user_episode))


def mind_route(events: Observable[Event]) -> Observable[Row]:
    """Heavy ticks → observe episodes."""
    return events.pipe(ops.filter(_of_type(HEAVY_TICK)), ops.map(observe_episode))


def bad_input_route(events: Observable[Event]) -> Observable[Row]:
    """Unreadable input → dead letters."""
    return events.pipe(ops.filter(_of_type(INVALID_INPUT)), ops.map(dead_letter))


def is_known(event_type: str) -> bool:
    """True for the event types some route (or source) takes."""
    return event_type in KNOWN_TYPES or event_type.startswith(WORLD_PREFIX)


def world_episode(event: Event) -> EpisodeRow:
    """A change in the watched world (a file created or changed) as an episode of the same type."""
    path = str(event.payload.get("path", ""))
    change = str(event.payload.get("change", "changed"))
    return EpisodeRow(
        id=stable_id(event.id, event.type),
        time=event.time,
        type=event.type,
        description=_shorten(f"file {change}: {path}" if path else event.type),
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


def world_route(events: Observable[Event]) -> Observable[Row]:
    """World changes (``world.*``) and recorded starts and stops → episodes of the same type."""
    def wanted(event: Event) -> bool:
        return event.type.startswith(WORLD_PREFIX) or event.type in SYSTEM_TYPES

    return events.pipe(ops.filter(wanted), ops.map(world_episode))


def unknown_route(events: Observable[Event]) -> Observable[Row]:
    """Events of a type nothing takes → dead letters (never silently dropped)."""
    def unknown(event: Event) -> bool:
        return not is_known(event.type)

    return events.pipe(ops.filter(unknown), ops.map(unknown_type_letter))


def route_events(events: Observable[Event]) -> Observable[Row]:
    """Every route over one shared event stream, merged into the rows for the sinks."""
    return reactivex.merge(
        user_route(events), mind_route(events), bad_input_route(events), world_route(events), unknown_route(events)
    )
