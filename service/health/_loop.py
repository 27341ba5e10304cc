"""How late the event loop runs: the liveness half that a blocked loop (a sync call on it) shows.

A probe sleeps ``interval_s`` on the loop and measures how much later than asked it woke.
Between probes, a probe that is overdue counts as lag too, so /healthz answering right after
the loop was blocked reports the block, not the previous probe's small lag.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["LoopLag"]


class LoopLag:
    """The event loop's lag, from a probe task (:meth:`run`) or from :meth:`beat` calls on a given clock.

    Args:
        interval_s: how long each probe sleeps.
        clock: seconds on a monotonic clock (the loop's ``time`` once :meth:`run` starts).
    """

    __slots__ = ("_clock", "_due", "_lag", "interval_s")

    def __init__(self, interval_s: float, *, clock: Callable[[], float] | None = None) -> None:
        if not interval_s > 0:
            raise ValueError(f"LoopLag.interval_s: expected seconds > 0, got {interval_s!r}")
        self.interval_s = interval_s
        self._clock = clock
        self._due: float | None = None
        self._lag = 0.0

    def expect(self) -> None:
        """A probe starts sleeping now: it is due ``interval_s`` from now."""
        if self._clock is not None:
            self._due = self._clock() + self.interval_s

    def beat(self) -> None:
        """The probe woke: its lateness is the lag, and the next probe starts."""
        if self._clock is None or self._due is None:
            return
        self._lag = max(0.0, self._clock() - self._due)
        self.expect()

    def lag(self) -> float | None:
        """The lag now: the latest probe's, or how overdue the current one is, whichever is more."""
        if self._clock is None or self._due is None:
            return None
        return max(self._lag, self._clock() - self._due)

    async def run(self) -> None:
        """Probe until cancelled, on the running loop's clock."""
        loop = asyncio.get_running_loop()
        self._clock = loop.time
        self.expect()
        while True:
            await asyncio.sleep(self.interval_s)
            self.beat()
