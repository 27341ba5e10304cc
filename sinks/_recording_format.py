"""The recording file format: a header that describes it, then one item per line (or row).

A recording holds what a replay needs and what a comparison needs:

- ``event``: an event as it entered the pipeline (the JSON-lines event codec's object);
- ``exchange``: an LLM exchange (request, response or error, timings) with the time it ended;
- ``episode``: an episode the recorded run produced, for ``being replay --compare``.

JSON lines: the first line is the header object ``{"format": "digital-being-recording",
"version": 1, "service_version": ..., "created_at": ..., "settings": {...}, "counts": {...}}``,
then ``{"kind": "event", "event": {...}}`` and so on. Parquet: one row per item with columns
``kind, seq, time, body`` (``body`` is the same JSON object as in the line) and the header in the
file's key-value metadata under ``digital-being-recording``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams import Event

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "ITEM_KINDS",
    "Recording",
    "RecordingHeader",
    "RecordingProblem",
]

FORMAT_NAME = "digital-being-recording"
FORMAT_VERSION = 1
ITEM_KINDS = ("event", "exchange", "episode")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingHeader:
    """What a recording says about itself."""

    format: str = FORMAT_NAME
    version: int = FORMAT_VERSION
    service_version: str = "unknown"
    created_at: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "version": self.version,
            "service_version": self.service_version,
            "created_at": self.created_at,
            "settings": self.settings,
        }


@dataclass(frozen=True, slots=True)
class RecordingProblem:
    """Something in a recording that could not be replayed: where, why, and the raw text."""

    where: str
    reason: str
    raw: str = ""


@dataclass(slots=True)
class Recording:
    """A recording read into memory: events in replay order, exchanges, episodes, and problems."""

    header: RecordingHeader
    events: list[Event] = field(default_factory=list)
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    episodes: list[dict[str, Any]] = field(default_factory=list)
    problems: list[RecordingProblem] = field(default_factory=list)
