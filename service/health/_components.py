"""Readiness components of the service's own parts: the database (the writer's), the disk, the inbox.

Each is asked on every /readyz, so each is cheap: a few attributes, one ``statvfs``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from service.health._component import ComponentHealth, Status
from sinks import DuckWriter

__all__ = ["DatabaseHealth", "DiskHealth", "InboxHealth"]

_MB = 1024 * 1024


class DatabaseHealth:
    """``database``: failing once DuckDB invalidated the open database (every write fails until a restart);
    degraded while the writer's queue is at or over its bound (writes wait)."""

    __slots__ = ("_writer",)

    def __init__(self, writer: DuckWriter) -> None:
        self._writer = writer

    def health(self) -> ComponentHealth:
        writer = self._writer
        if writer.invalidated is not None:
            return ComponentHealth(Status.FAILING, f"invalidated, writes fail until a restart: {writer.invalidated}")
        if not writer.has_room:
            return ComponentHealth(
                Status.DEGRADED, f"{writer.pending} write jobs queued, at or over the bound of {writer.bound}"
            )
        return ComponentHealth(Status.OK, f"{writer.pending} write jobs queued (bound {writer.bound})")


class DiskHealth:
    """``disk``: the free space where the database lives, against ``[checks]``' two thresholds.

    Args:
        folder: the data folder.
        critical_free_mb: less is failing (nothing can be committed for long).
        warning_free_mb: less is degraded.
    """

    __slots__ = ("_critical", "_folder", "_warning")

    def __init__(self, folder: Path, *, critical_free_mb: int, warning_free_mb: int) -> None:
        self._folder = folder
        self._critical = critical_free_mb
        self._warning = warning_free_mb

    def health(self) -> ComponentHealth:
        try:
            free = shutil.disk_usage(self._folder).free // _MB
        except OSError as exc:
            return ComponentHealth(Status.FAILING, f"cannot read the free space of {self._folder}: {exc}")
        line = f"{free} MiB free on the disk of {self._folder}"
        if free < self._critical:
            return ComponentHealth(Status.FAILING, f"{line}, below checks.disk_critical_free_mb = {self._critical}")
        if free < self._warning:
            return ComponentHealth(Status.DEGRADED, f"{line}, below checks.disk_warning_free_mb = {self._warning}")
        return ComponentHealth(Status.OK, line)


class InboxHealth:
    """``inbox``: degraded while a message read from the inbox has waited ``stalled_after_s`` for its answer.

    It follows the ids of the messages out (read, not yet stored and answered): each is timed
    from the first look that saw it, so the age shown is never more than the real one (looks
    happen at each /readyz).

    Args:
        outstanding: the ids of the messages out now (from ``InboxState``'s claims).
        clock: seconds on a monotonic clock (the loop's).
        stalled_after_s: how long a message may wait before the inbox counts as stalled.
    """

    __slots__ = ("_clock", "_outstanding", "_seen", "_stalled_s")

    def __init__(
        self, outstanding: Callable[[], Iterable[str]], *, clock: Callable[[], float], stalled_after_s: float
    ) -> None:
        self._outstanding = outstanding
        self._clock = clock
        self._stalled_s = stalled_after_s
        self._seen: dict[str, float] = {}

    def health(self) -> ComponentHealth:
        now = self._clock()
        out = set(self._outstanding())
        self._seen = {key: self._seen.get(key, now) for key in out}
        if not out:
            return ComponentHealth(Status.OK, "no message waiting for its answer")
        waited = now - min(self._seen.values())
        if waited >= self._stalled_s:
            return ComponentHealth(
                Status.DEGRADED,
                f"{len(out)} message(s) read and unanswered, the oldest for {waited:.0f} s "
                f"(stalled after {self._stalled_s:g} s)",
            )
        return ComponentHealth(Status.OK, f"{len(out)} message(s) being answered, the oldest for {waited:.0f} s")
