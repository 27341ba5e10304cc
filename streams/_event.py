"""The event: the one value that flows through every stream of the pipeline."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

__all__ = ["Event", "JsonValue", "new_event_id"]

JsonValue = Any
"""A value that survives ``json.dumps``/``json.loads`` unchanged (dict, list, str, int, float, bool, None)."""


def new_event_id() -> str:
    """A fresh random event id (UUID4, 32 hex digits)."""
    return uuid.uuid4().hex


def _frozen(payload: Mapping[str, JsonValue]) -> Mapping[str, JsonValue]:
    return MappingProxyType(dict(payload))


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Something that happened: a tick, a user message, a file change, an LLM reply.

    Args:
        id: unique id; replay derives episode ids from it, so it must be stable once recorded.
        type: dotted name such as ``user.message`` or ``tick.heavy``.
        time: when it happened, timezone-aware UTC (taken from the scheduler, never the wall clock).
        source: which source emitted it (``inbox``, ``ticks``, ``http``, ``replay``...).
        payload: JSON-compatible data; stored read-only.

    Raises:
        ValueError: when ``time`` is naive or not UTC, or ``type``/``source``/``id`` is empty.
    """

    id: str
    type: str
    time: datetime
    source: str
    payload: Mapping[str, JsonValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("Event.id: expected a non-empty string, got ''")
        if not self.type:
            raise ValueError("Event.type: expected a non-empty string, got ''")
        if not self.source:
            raise ValueError("Event.source: expected a non-empty string, got ''")
        if self.time.tzinfo is None or self.time.utcoffset() != UTC.utcoffset(None):
            raise ValueError(f"Event.time: expected a timezone-aware UTC datetime, got {self.time!r}")
        object.__setattr__(self, "payload", _frozen(self.payload))

    @classmethod
    def create(cls, type: str, time: datetime, source: str, payload: Mapping[str, JsonValue] | None = None) -> Event:
        """Build an event with a fresh id; ``time`` is converted to UTC."""
        return cls(
            id=new_event_id(),
            type=type,
            time=time.astimezone(UTC),
            source=source,
            payload=payload or {},
        )
