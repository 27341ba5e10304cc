"""The predecessor's ``episodes.db`` as a recording.

Its *input* episodes (user messages, file changes, starts and stops) become events in time order;
every other episode (its thoughts, monologues, analyses) becomes one of the recording's episodes,
the baseline for ``being replay --compare``. It holds no LLM exchanges: replay it with
``--llm simulator`` or ``--on-miss fallback``.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sinks._legacy_read import LegacyEpisode, open_sqlite, read_legacy_episodes
from sinks._recording_format import Recording, RecordingHeader, RecordingProblem
from sinks.errors import LegacyImportError
from streams import Event, stable_id

__all__ = ["LEGACY_INPUT_TYPES", "is_legacy_episodes_db", "legacy_event", "read_legacy_recording"]

LEGACY_INPUT_TYPES = frozenset(
    {"user.message", "world.file_changed", "world.file_created", "system.start", "system.stop"}
)


def is_legacy_episodes_db(path: Path) -> bool:
    """True when ``path`` is an SQLite file with the predecessor's ``episodes`` table."""
    try:
        with open_sqlite(path) as con:
            columns = {r[1] for r in con.execute("PRAGMA table_info(episodes)").fetchall()}
    except (LegacyImportError, sqlite3.Error):
        return False
    return {"timestamp", "event_type", "description"} <= columns


def legacy_event(episode: LegacyEpisode) -> Event:
    """The event a legacy input episode stands for."""
    payload: dict[str, object] = {"legacy_id": episode.legacy_id, "description": episode.description}
    if episode.type == "user.message":
        payload["text"] = episode.description
    elif episode.type.startswith("world.file_"):
        change, _, path = episode.description.partition(": ")
        payload["path"] = path or episode.description
        payload["change"] = change.removeprefix("File ").strip().lower() or "changed"
    return Event(
        id=stable_id("legacy", str(episode.legacy_id)),
        type=episode.type,
        time=episode.time.astimezone(UTC),
        source="legacy",
        payload=payload,
    )


def read_legacy_recording(path: Path, *, zone: str = "UTC") -> Recording:
    """Read ``episodes.db`` as a recording (see the module docstring).

    Raises:
        LegacyImportError: the zone is unknown or the file cannot be read.
    """
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise LegacyImportError(f"unknown time zone {zone!r}") from exc
    with open_sqlite(path) as con:
        read = read_legacy_episodes(con, tz)
    recording = Recording(header=RecordingHeader(service_version="predecessor", source=str(path)))
    for refusal in read.refused:
        recording.problems.append(
            RecordingProblem(f"{path.name}:{refusal.table}#{refusal.legacy_id}", refusal.reason, refusal.raw)
        )
    for episode in sorted(read.rows, key=lambda e: (e.time, e.legacy_id)):
        if not isinstance(episode, LegacyEpisode):
            continue
        if episode.type in LEGACY_INPUT_TYPES:
            recording.events.append(legacy_event(episode))
        else:
            recording.episodes.append(
                {
                    "id": stable_id("legacy-episode", str(episode.legacy_id)),
                    "time": episode.time.astimezone(UTC).isoformat(),
                    "type": episode.type,
                    "description": episode.description,
                    "outcome": episode.outcome,
                    "data": episode.data,
                }
            )
    return recording
