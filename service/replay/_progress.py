"""The replay's progress line: how far, how fast, and the virtual time reached."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """A progress bar on a terminal (redrawn at most ``every_s``), nothing when not a terminal.

    Args:
        total: events in the recording.
        stream: where to draw (stderr).
        clock: seconds, for the rate.
    """

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        every_s: float = 0.2,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.clock = clock
        self.started = clock()
        self._drawn = 0.0
        self.enabled = self.stream.isatty()

    def line(self, done: int, now: datetime) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        share = done / self.total if self.total else 1.0
        filled = int(share * 30)
        return (
            f"[{'#' * filled}{'.' * (30 - filled)}] {share:6.1%} {done:,}/{self.total:,} events"
            f"  {done / elapsed:,.0f} ev/s  at {now.isoformat(timespec='seconds')}"
        )

    def update(self, done: int, now: datetime) -> None:
        if not self.enabled:
            return
        moment = self.clock()
        if moment - self._drawn < self.every_s and done < self.total:
            return
        self._drawn = moment
        self.stream.write("\r" + self.line(done, now))
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
