"""The recording file format: a header that describes it, then one item per line (or row).

A recording holds what a replay needs and what a comparison needs:

- ``event``: an event as it entered the pipeline (the JSON-lines event codec's object);
- ``exchange``: an LLM exchange (request, response or error, timings) with the time it ended;
- ``episode``: an episode the recorded run produced, for ``being replay --compare``;
- ``seed`` (from version 2): one part of what a run's memory was seeded with at its start
  (``sinks._recording_seed``), ``{"run_id", "time", "seq", "part", "body"}``.

Versions: 1 has no seeds (its replays start with an empty memory); 2 adds ``seed`` items. A
reader takes every version up to its own; a newer file gets a warning and the items the reader
knows.

JSON lines: the first line is the header object ``{"format": "digital-being-recording",
"version": 2, "service_version": ..., "created_at": ..., "settings": {...}, "counts": {...}}``,
then ``{"kind": "event", "event": {...}}`` and so on. Parquet: one row per item with columns
``kind, seq, time, body`` (``body`` is the same JSON object as in the line) and the header in the
file's key-value metadata under ``digital-being-recording``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sinks._recording_seed import RecordedSeed
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
FORMAT_VERSION = 2
ITEM_KINDS = ("event", "exchange", "episode", "seed")


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
    """A recording read into memory: events in replay order, exchanges, episodes, seeds, and problems.

    ``seed_items`` are the ``seed`` items as read (``(where, body)``), until the reader makes
    them ``seeds``, oldest first.
    """

    header: RecordingHeader
    events: list[Event] = field(default_factory=list)
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    episodes: list[dict[str, Any]] = field(default_factory=list)
    problems: list[RecordingProblem] = field(default_factory=list)
    seeds: list[RecordedSeed] = field(default_factory=list)
    seed_items: list[tuple[str, Any]] = field(default_factory=list)
