"""Time and validation helpers shared by the operators (time only ever comes from a scheduler)."""

from __future__ import annotations

import math

from reactivex import abc
from reactivex.scheduler import TimeoutScheduler, VirtualTimeScheduler
from reactivex.scheduler.eventloop import AsyncIOScheduler

__all__ = ["check", "finite", "now_s", "pick_scheduler"]


def pick_scheduler(*candidates: abc.SchedulerBase | None) -> abc.SchedulerBase:
    """The first scheduler given (the operator's own, then the subscription's), else the timeout scheduler."""
    for candidate in candidates:
        if candidate is not None:
            return candidate
    return TimeoutScheduler.singleton()


def now_s(scheduler: abc.SchedulerBase) -> float:
    """The scheduler's clock in seconds (virtual ticks on a ``TestScheduler``).

    On an asyncio scheduler this is the loop's own monotonic clock, the one its timers run
    on (``scheduler.now`` there is the wall clock, which can jump, and costs a datetime per
    read); operators only ever subtract two readings of the same scheduler.
    """
    if isinstance(scheduler, AsyncIOScheduler):
        # the loop the scheduler's timers run on (a private attribute; reactivex has no accessor)
        return scheduler._loop.time()
    if isinstance(scheduler, VirtualTimeScheduler):
        clock = scheduler.clock
        if isinstance(clock, float | int):
            return float(clock)
    return scheduler.now.timestamp()


def check(ok: bool, where: str, expected: str, got: object) -> None:
    """Raise ``ValueError("where: expected ..., got ...")`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{where}: expected {expected}, got {got!r}")


def finite(value: float) -> bool:
    """True for a real number that is neither NaN nor infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
