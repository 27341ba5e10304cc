"""What makes an item of a recording one a replay can take; each one that is not becomes a problem.

- an event must decode (``streams.decode_event``: fields, types, a zone, a payload the sinks
  can store), have a time a replay's virtual clock holds (``streams.unreplayable_time``) and an
  id not read before, unless the copy says ``recovered: true`` (a restart re-reading a claimed
  inbox file after a crash: the live run took both copies and its sink kept the first);
- an exchange needs its key, operation, backend and request, and its durations (``duration_s``,
  ``first_chunk_s``, the error's ``retry_after_s``) must be finite seconds >= 0;
- an episode (the baseline of ``--compare``) needs its id, time and type;
- a seed item is kept as it is, for the reader to put each seed together (a seed that does not
  hold together refuses the whole recording: ``sinks._recording_seed``);
- and nothing in an exchange or an episode may be what the sinks cannot store
  (``streams.json_problem``).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from sinks._recording_format import ITEM_KINDS, Recording, RecordingProblem
from streams import (
    REPLAYABLE_FROM,
    REPLAYABLE_UNTIL,
    DecodeError,
    Event,
    decode_event,
    encode_event,
    json_problem,
    unreplayable_time,
)

__all__ = ["add_item", "cut", "screen_events"]

_EXCHANGE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "key": str,
    "operation": str,
    "backend": str,
    "request": dict,
    "duration_s": (int, float),
}
_EPISODE_FIELDS: dict[str, type | tuple[type, ...]] = {"id": str, "time": str, "type": str}


def _seconds_problem(body: dict[str, Any], name: str, *, optional: bool) -> str | None:
    value = body.get(name)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and value >= 0):
        return f"field {name}: expected seconds (a finite number >= 0), got {value!r}"
    return None


def _body_problem(kind: str, body: dict[str, Any]) -> str | None:
    """Why an exchange or episode cannot be used, or ``None``."""
    wanted = _EXCHANGE_FIELDS if kind == "exchange" else _EPISODE_FIELDS
    missing = [name for name, types in wanted.items() if not isinstance(body.get(name), types)]
    if missing:
        return f"missing or mistyped fields {missing}"
    if kind == "exchange":
        error = body.get("error")
        if error is not None and not isinstance(error, dict):
            return f"field error: expected an object or null, got {type(error).__name__}"
        problem = _seconds_problem(body, "duration_s", optional=False)
        problem = problem or _seconds_problem(body, "first_chunk_s", optional=True)
        if problem is None and isinstance(error, dict) and error.get("retry_after_s") is not None:
            problem = _seconds_problem(error, "retry_after_s", optional=True)
            problem = None if problem is None else f"error.{problem.removeprefix('field ')}"
        if problem is not None:
            return problem
    return json_problem(body, kind)


def add_item(recording: Recording, kind: Any, body: Any, where: str, raw: str) -> None:
    """Add one item to ``recording``, or a problem saying at ``where`` why it cannot be replayed."""
    if kind not in ITEM_KINDS:
        recording.problems.append(RecordingProblem(where, f"unknown item kind {cut(kind)}", raw[:2000]))
        return
    if kind == "seed":
        recording.seed_items.append((where, body))
        return
    if kind == "event":
        try:
            recording.events.append(decode_event(json.dumps(body), line_no=0))
        except DecodeError as exc:
            recording.problems.append(RecordingProblem(where, f"event: {exc.reason}", raw[:2000]))
        except RecursionError as exc:  # json.dumps of a nest json.loads could just read
            recording.problems.append(
                RecordingProblem(where, f"event: nested too deeply to encode ({exc})", raw[:2000])
            )
        return
    if not isinstance(body, dict):
        recording.problems.append(RecordingProblem(where, f"{kind}: expected an object", raw[:2000]))
        return
    problem = _body_problem(kind, body)
    if problem is not None:
        recording.problems.append(RecordingProblem(where, f"{kind}: {problem}", raw[:2000]))
        return
    (recording.exchanges if kind == "exchange" else recording.episodes).append(body)


def cut(value: Any, width: int = 80) -> str:
    """``repr(value)``, cut to ``width`` characters for a message."""
    shown = repr(value)
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def screen_events(recording: Recording, *, payloads_checked: bool = False) -> None:
    """Refuse events a replay's clock cannot hold, payloads the sinks cannot store and repeated ids
    (not recovered copies), in read order.

    ``payloads_checked``: every event came through the codec (``streams.decode_event`` or
    ``streams.plain_event``), which refuses the payloads the sinks cannot store; the
    predecessor's episodes come here without it, and their payloads are checked here.
    """
    kept: list[Event] = []
    first_seen: dict[str, datetime] = {}
    for event in recording.events:
        moment = event.time  # an event's time is aware (Event says so): between the limits, the clock holds it
        problem = None if REPLAYABLE_FROM <= moment < REPLAYABLE_UNTIL else unreplayable_time(moment)
        if problem is None and not payloads_checked:
            problem = json_problem(dict(event.payload))
        if problem is None and event.id in first_seen and event.payload.get("recovered") is not True:
            problem = (
                f"at {event.time.isoformat()}: its id was already read (at {first_seen[event.id].isoformat()})"
                " and this copy does not say recovered: true"
            )
        if problem is not None:
            recording.problems.append(
                RecordingProblem(f"event {cut(event.id)}", f"{problem}; not replayed", encode_event(event)[:2000])
            )
            continue
        first_seen.setdefault(event.id, event.time)
        kept.append(event)
    recording.events = kept
