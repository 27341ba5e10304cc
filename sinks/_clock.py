"""The sinks' default clock: the seam every time-stamping sink function takes, at its real default."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utc_now"]


def utc_now() -> datetime:
    """The wall clock in UTC (sinks stamp rows; streams and operators take time from the scheduler)."""
    return datetime.now(UTC)
