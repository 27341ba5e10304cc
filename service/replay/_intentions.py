"""``being replay --intentions FILE``: the recording replayed as if the intentions file had said FILE's text.

Every recorded ``mind.intentions`` event keeps its id and time and gets FILE's text, hash, size
and cut; a recording that has none gets one at its first event's time. With ``--compare`` the
report then shows what the changed intentions change in the being's decisions (replay with
``--llm simulator`` or ``live``: the recorded answers were given to other prompts).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from service.errors import UsageError
from sinks import Recording
from streams import MIND_INTENTIONS, Event, IntentionsText, NotRegularFileError, read_intentions, stable_id

__all__ = ["load_intentions", "with_intentions"]


def load_intentions(path: Path, *, max_bytes: int) -> IntentionsText:
    """FILE's text as the intentions source would read it (capped at ``max_bytes``, never through a link).

    Raises:
        UsageError: FILE is missing, not a regular file, or unreadable.
    """
    try:
        return read_intentions(path, max_bytes)
    except NotRegularFileError as exc:
        raise UsageError(f"--intentions {path}: {exc}") from exc
    except OSError as exc:
        raise UsageError(f"--intentions {path}: cannot be read ({exc.strerror or exc})") from exc


def with_intentions(recording: Recording, read: IntentionsText, path: Path) -> tuple[Recording, int]:
    """``recording`` with every ``mind.intentions`` event saying ``read``; returns it and how many were replaced.

    A recording without one gets one, at its first event's time, before it (0 replaced then).
    """
    payload = read.payload(path)
    events: list[Event] = []
    replaced = 0
    for event in recording.events:
        if event.type == MIND_INTENTIONS:
            events.append(dataclasses.replace(event, payload=payload))
            replaced += 1
        else:
            events.append(event)
    if not replaced and events:
        first = events[0]
        added = Event(
            id=stable_id(MIND_INTENTIONS, "replay", read.sha256),
            type=MIND_INTENTIONS,
            time=first.time,
            source="replay",
            payload=payload,
        )
        events.insert(0, added)
    return dataclasses.replace(recording, events=events), replaced
