"""The events the inbox emits: a line's message, and the dead letters of what it cannot read."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from streams._event import Event
from streams._ids import stable_id
from streams._inbox_claim import Claim
from streams._inbox_decoding import BadLine, GoodLine, blank

__all__ = ["INVALID_INPUT", "line_event", "not_regular_event", "set_aside_event", "stamp"]

INVALID_INPUT = "input.invalid"
"""Event type of input that could not be read; the agent turns it into a dead letter."""


def stamp(now: datetime) -> str:
    """``now`` as it appears in file names: ``20250101T120000000000Z``."""
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def line_event(claim: Claim, line: GoodLine | BadLine, now: datetime, urgent_prefix: str) -> Event:
    """The event of one line: ``user.message``, ``user.urgent``, or ``input.invalid``.

    Its id derives from the claim's name and the line's number, so a claim read again after a
    crash gives the same ids.
    """
    base = {"claim": claim.path.name, "line": line.number, "encoding": claim.encoding, "recovered": claim.recovered}
    event_id = stable_id(claim.path.name, str(line.number))
    if isinstance(line, GoodLine) and line.text.startswith(urgent_prefix):
        text = line.text[len(urgent_prefix) :]
        if blank(text):
            line = BadLine(line.number, f"empty: the urgent prefix {urgent_prefix!r} with no message", line.text)
        else:
            payload = {**base, "text": text.strip()}
            return Event(id=event_id, type="user.urgent", time=now, source="inbox", payload=payload)
    if isinstance(line, BadLine):
        payload = {**base, "reason": line.reason, "raw": line.raw}
        return Event(id=event_id, type=INVALID_INPUT, time=now, source="inbox", payload=payload)
    return Event(id=event_id, type="user.message", time=now, source="inbox", payload={**base, "text": line.text})


def set_aside_event(name: str, target: Path | None, reason: str, now: datetime) -> Event:
    """The dead letter of a claimed file that cannot be read, set aside as ``target`` (None: it could not be)."""
    where = f"set aside as {target.name}" if target is not None else "left in place: it could not be renamed"
    payload = {"reason": f"{reason}; {where}", "raw": "", "claim": name, "recovered": False}
    if target is not None:
        payload["set_aside_as"] = target.name
    return Event(id=stable_id(name, "set aside"), type=INVALID_INPUT, time=now, source="inbox", payload=payload)


def not_regular_event(path: Path, kind: str, now: datetime) -> Event:
    """The dead letter of an inbox path that holds no regular file (reported once per thing found there)."""
    payload = {
        "reason": f"not_regular: {path.name} is a {kind}; nothing is read from it",
        "raw": "",
        "path": path.name,
        "recovered": False,
    }
    event_id = stable_id(path.name, "not_regular", stamp(now))
    return Event(id=event_id, type=INVALID_INPUT, time=now, source="inbox", payload=payload)
