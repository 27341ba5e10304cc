"""Tick sources: the being's clocks, on whatever scheduler they are subscribed with."""

from __future__ import annotations

from datetime import UTC

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

from streams._event import Event
from streams._ids import stable_id

__all__ = ["HEAVY_TICK", "LIGHT_TICK", "ticks"]

LIGHT_TICK = "tick.light"
HEAVY_TICK = "tick.heavy"


def ticks(interval_s: float, type: str, *, source: str = "ticks") -> Observable[Event]:
    """An endless stream of ``type`` events every ``interval_s`` seconds, the first after one interval.

    The time of each tick is the scheduler's ``now``, so on ``TestScheduler`` or
    ``HistoricalScheduler`` it is virtual; the id derives from type and time.

    Raises:
        ValueError: ``interval_s`` is not positive.
    """
    if not interval_s > 0:
        raise ValueError(f"ticks({type!r}): interval_s must be > 0, got {interval_s!r}")

    def factory(scheduler: abc.SchedulerBase) -> Observable[Event]:
        def to_event(n: int) -> Event:
            now = scheduler.now.astimezone(UTC)
            return Event(id=stable_id(type, now.isoformat()), type=type, time=now, source=source, payload={"n": n})

        return reactivex.interval(interval_s).pipe(ops.map(to_event))

    return reactivex.defer(factory)
