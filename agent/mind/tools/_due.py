"""When a goal falls due: an ISO 8601 time, or "in N minutes/hours/days" counted from the scheduler's now."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["DUE_MAX_AHEAD", "parse_due"]

DUE_MAX_AHEAD = timedelta(days=366)
"""The furthest ahead a goal may fall due."""

_RELATIVE = re.compile(r"in\s+(\d{1,6})\s+(minute|hour|day)s?", re.IGNORECASE)
_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def parse_due(text: str, now: datetime) -> datetime:
    """The UTC time ``text`` names, after ``now`` and at most :data:`DUE_MAX_AHEAD` ahead.

    A time without a zone is taken as UTC.

    Raises:
        ValueError: ``text`` is neither form, or the time is not after ``now``, or too far ahead.
    """
    relative = _RELATIVE.fullmatch(text.strip())
    if relative is not None:
        count = int(relative.group(1))
        if count < 1:
            raise ValueError(f"due: expected a count >= 1, got {text!r}")
        due = now + count * _UNITS[relative.group(2).lower()]
    else:
        try:
            parsed = datetime.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(
                f"due: expected an ISO 8601 time (2026-03-01T18:00:00Z) or 'in N minutes/hours/days', got {text!r}"
            ) from None
        due = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
    due = due.astimezone(UTC)
    if due <= now:
        raise ValueError(f"due: expected a time after now ({now.isoformat()}), got {due.isoformat()}")
    if due - now > DUE_MAX_AHEAD:
        raise ValueError(f"due: expected at most {DUE_MAX_AHEAD.days} days ahead, got {due.isoformat()}")
    return due
