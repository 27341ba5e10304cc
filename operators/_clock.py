"""Time and validation helpers shared by the operators (time only ever comes from a scheduler)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from reactivex import abc
from reactivex.scheduler import TimeoutScheduler, VirtualTimeScheduler
from reactivex.scheduler.eventloop import AsyncIOScheduler

from operators.errors import PolicyError
from streams._step import Once

__all__ = ["check", "finite", "now_s", "pick_scheduler", "schedule_after"]


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
    if type(scheduler) is AsyncIOScheduler or isinstance(scheduler, AsyncIOScheduler):  # the first test is cheap
        # the loop the scheduler's timers run on (a private attribute; reactivex has no accessor)
        return scheduler._loop.time()
    if isinstance(scheduler, VirtualTimeScheduler):
        clock = scheduler.clock
        if isinstance(clock, float | int):
            return float(clock)
    return scheduler.now.timestamp()


def schedule_after(scheduler: abc.SchedulerBase, seconds: float, callback: Callable[[], None]) -> abc.DisposableBase:
    """Run ``callback()`` ``seconds`` from now on the scheduler's clock; disposing the result cancels it.

    On an asyncio scheduler the timer goes straight to its loop (what its ``schedule_relative``
    does, without the three disposables it wraps around the loop's handle).
    """
    if type(scheduler) is AsyncIOScheduler:
        return Once(scheduler._loop.call_later(seconds, callback).cancel)

    def action(_: abc.SchedulerBase, __: Any = None) -> None:
        callback()

    return scheduler.schedule_relative(seconds, action)


def check(ok: bool, where: str, expected: str, got: object) -> None:
    """Raise :class:`PolicyError` (a ``ValueError``: ``"where: expected ..., got ..."``) unless ``ok``."""
    if not ok:
        raise PolicyError(where, expected, got)


def finite(value: float) -> bool:
    """True for a real number that is neither NaN nor infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
