"""Time and validation helpers shared by the operators (time only ever comes from a scheduler)."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from reactivex import abc
from reactivex.scheduler import TimeoutScheduler, VirtualTimeScheduler
from reactivex.scheduler.eventloop import AsyncIOScheduler, AsyncIOThreadSafeScheduler

from operators._loop_timers import LoopLimits
from operators.errors import PolicyError

__all__ = ["Expiry", "check", "finite", "now_s", "pick_scheduler", "schedule_after"]


def pick_scheduler(own: abc.SchedulerBase | None, subscription: abc.SchedulerBase | None) -> abc.SchedulerBase:
    """The operator's own scheduler, else the subscription's, else the timeout scheduler (no tuple: once per layer)."""
    if own is not None:
        return own
    if subscription is not None:
        return subscription
    return TimeoutScheduler.singleton()


def _is_loop_scheduler(scheduler: abc.SchedulerBase) -> bool:
    """One of reactivex's own two asyncio schedulers (a subclass may schedule otherwise: it takes its own path)."""
    kind = type(scheduler)
    return kind is AsyncIOThreadSafeScheduler or kind is AsyncIOScheduler


_PRODUCTION = AsyncIOThreadSafeScheduler
"""The scheduler ``being run`` runs on (``runtime.py``); the timer shortcut is for it alone."""


def _loop_here() -> asyncio.AbstractEventLoop | None:
    """The loop running on this thread, if any.

    reactivex keeps an asyncio scheduler's loop private, so the shortcuts below take it from the
    thread instead: the pipeline runs on its loop's thread (the threading rule), and there the
    running loop is the one the scheduler was made for, as ``streams.from_coroutine`` assumes too.
    """
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def now_s(scheduler: abc.SchedulerBase) -> float:
    """The scheduler's clock in seconds (virtual ticks on a ``TestScheduler``).

    On an asyncio scheduler this is the monotonic clock the loop's timers run on
    (``scheduler.now`` there is the wall clock, which can jump, and costs a datetime per
    read); operators only ever subtract two readings of the same scheduler. On the service's
    scheduler it is read directly, on and off the loop's thread (``time.monotonic``: what
    asyncio's loops keep, and uvloop's in milliseconds), without asking for the running loop,
    which costs a ``getpid`` system call per read on Python 3.11 (seven readings per protected
    call).
    """
    if type(scheduler) is _PRODUCTION:  # the service's path: no helper calls, no loop lookup
        return time.monotonic()
    if _is_loop_scheduler(scheduler):
        loop = _loop_here()
        return loop.time() if loop is not None else time.monotonic()
    if isinstance(scheduler, VirtualTimeScheduler):
        clock = scheduler.clock
        if isinstance(clock, float | int):
            return float(clock)
    return scheduler.now.timestamp()


class _LoopTimer(abc.DisposableBase):
    """A timer on the loop; disposing it cancels it there (handed to the loop when disposed from another thread)."""

    __slots__ = ("_handle", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, handle: asyncio.TimerHandle) -> None:
        self._loop = loop
        self._handle: asyncio.TimerHandle | None = handle

    def dispose(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        if _loop_here() is self._loop or not self._loop.is_running():
            handle.cancel()
        else:
            self._loop.call_soon_threadsafe(handle.cancel)


def schedule_after(scheduler: abc.SchedulerBase, seconds: float, callback: Callable[[], None]) -> abc.DisposableBase:
    """Run ``callback()`` ``seconds`` from now on the scheduler's clock; disposing the result cancels it.

    On ``AsyncIOThreadSafeScheduler`` (what the service runs on) used from its loop's thread
    the timer goes straight to the loop, without handing it over through
    ``call_soon_threadsafe`` first (a wake-up of the loop and a turn of it before the timer is
    even set), which that scheduler does on every call, even from the loop's own thread.
    ``python -m benchmarks operators`` prints what that saves per call. From any other thread,
    and on every other scheduler, the scheduler's own ``schedule_relative`` is used (on
    ``AsyncIOScheduler`` that already sets the loop's timer directly).
    """
    if type(scheduler) is _PRODUCTION:
        loop = _loop_here()
        if loop is not None:
            return _LoopTimer(loop, loop.call_later(seconds, callback))

    def action(_: abc.SchedulerBase, __: Any = None) -> None:
        callback()

    return scheduler.schedule_relative(seconds, action)


class Expiry:
    """Time limits of one length (one ``timeout`` or ``deadline``): what ``schedule_after`` does, cheaper per limit.

    On ``AsyncIOThreadSafeScheduler`` used from its loop's thread (the service's path) the limits
    share one loop timer (:class:`operators._loop_timers.LoopLimits`): a limit costs an append and
    a mark, not a loop timer set and cancelled. Everywhere else each limit is the scheduler's own
    ``schedule_relative``, as :func:`schedule_after` does.
    """

    __slots__ = ("_limits", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._limits: LoopLimits | None = None

    def start(self, scheduler: abc.SchedulerBase, callback: Callable[[], None]) -> abc.DisposableBase:
        """Run ``callback()`` ``seconds`` from now on the scheduler's clock; disposing the result cancels it."""
        if type(scheduler) is _PRODUCTION:
            limits = self._limits
            # Asking for the running loop costs a getpid system call on Python 3.11 (two limits per
            # call): the queue's loop was running on the thread that made it, and a loop runs on
            # one thread, so while it runs, that thread is on it (a loop is never moved to another
            # thread: the threading rule).
            if limits is not None and limits.thread == threading.get_ident() and limits.loop.is_running():
                return limits.add(callback)
            loop = _loop_here()
            if loop is not None:
                if limits is None or limits.loop is not loop:  # another loop (a test's): its own queue
                    limits = self._limits = LoopLimits(loop, self.seconds)
                return limits.add(callback)

        def action(_: abc.SchedulerBase, __: Any = None) -> None:
            callback()

        return scheduler.schedule_relative(self.seconds, action)


def check(ok: bool, where: str, expected: str, got: object) -> None:
    """Raise :class:`PolicyError` (a ``ValueError``: ``"where: expected ..., got ..."``) unless ``ok``."""
    if not ok:
        raise PolicyError(where, expected, got)


def finite(value: float) -> bool:
    """True for a real number that is neither NaN nor infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
