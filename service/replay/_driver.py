"""Driving a replay: virtual time that waits for the LLM.

The replay runs on a :class:`ReplayScheduler` (a ``HistoricalScheduler``). The driver advances
it one due time at a time and, after each step, lets every LLM call that step started finish
before virtual time moves on. A recorded answer comes at the virtual time the recorded run got
it (:class:`AnswerTimes`), any other at once; never later because the machine was slow, which
is what makes a replay deterministic: an answer can never lose a race against a timeout timer,
and what the run stamps with an answer's time is stamped the same each replay.

``speed``: ``None`` runs as fast as the machine allows; a number N sleeps between steps so that
virtual time passes N times faster than real time.

The virtual clock is a ``datetime``: it holds the years 1 to 9999. Before a replay starts,
:func:`check_replay_clock` makes sure it can hold every event and the longest wait the
pipeline may schedule around one (the longest ``*_s`` setting, and the replay's own waits);
should anything still ask the clock for a time it cannot hold, :class:`ReplayScheduler`
raises :class:`ReplayClockError` saying so, never an ``OverflowError``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import Callable, Coroutine, Generator, Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any, TypeVar

from llm import Call, ForwardingBackend, LLMBackend
from service.replay._scheduler import ReplayClockError, ReplayScheduler
from streams import Event, unreplayable_time

__all__ = [
    "AnswerTimes",
    "CallTracker",
    "ReplayClockError",
    "ReplayScheduler",
    "check_replay_clock",
    "drive",
    "longest_wait",
]

T = TypeVar("T")

START_LEAD_S = 1.0
"""The replay's clock starts this long before the first event (see ``service.replay._run``)."""

STEPS_PER_LOOK = 1000
"""At ``speed=None``, instants the driver runs in one go when none starts an LLM call; after
them it reports progress (``on_step``) and looks again."""


def longest_wait(settings: object, waits_s: Mapping[str, float] | None = None) -> tuple[str, float]:
    """The longest wait a replay may schedule: the largest ``*_s`` value in ``settings`` (a tree of
    dataclasses; units are in the key names) or in ``waits_s``, with its name."""
    found: list[tuple[str, float]] = [(name, float(value)) for name, value in (waits_s or {}).items()]

    def walk(node: object, prefix: str) -> None:
        for item in dataclasses.fields(node):  # type: ignore[arg-type]
            value = getattr(node, item.name)
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                walk(value, f"{prefix}{item.name}.")
            elif item.name.endswith("_s") and isinstance(value, int | float) and not isinstance(value, bool):
                found.append((f"{prefix}{item.name}", float(value)))

    if dataclasses.is_dataclass(settings) and not isinstance(settings, type):
        walk(settings, "")
    # a NaN is never the largest by comparison, so it is picked out first
    return next(((n, v) for n, v in found if not math.isfinite(v)), max(found, key=lambda f: f[1], default=("", 0.0)))


def check_replay_clock(
    events: Sequence[Event], settings: object, *, waits_s: Mapping[str, float] | None = None
) -> None:
    """Make sure the virtual clock can hold the replay of ``events`` under ``settings``.

    It must hold every event's time (``streams.unreplayable_time``), the start a little before
    the first one, and the longest wait (:func:`longest_wait`) before the first and after the
    last (sliding windows look back, timers look ahead).

    Raises:
        ReplayClockError: naming the event and its time, or the setting and its value.
    """
    if not events:
        return
    first = min(events, key=lambda e: e.time)
    last = max(events, key=lambda e: e.time)
    for event in (first, last):
        problem = unreplayable_time(event.time)
        if problem is not None:
            raise ReplayClockError(f"event {event.id!r}: {problem}")
    name, wait_s = longest_wait(settings, waits_s)
    try:
        span = timedelta(seconds=wait_s)
        _ = first.time - timedelta(seconds=START_LEAD_S) - span
        _ = last.time + span
    except (OverflowError, ValueError) as exc:
        raise ReplayClockError(
            f"{name} = {wait_s:g}s: a replay from {first.time.isoformat()} to {last.time.isoformat()} cannot wait"
            " that long on its virtual clock (years 1 to 9999); set it shorter",
            setting=name,
        ) from exc


class _Call:
    """One call made through a :class:`CallTracker`: whether it ended, whether it waits for its answer's time."""

    __slots__ = ("ended", "tracker", "waiting")

    def __init__(self, tracker: CallTracker) -> None:
        self.tracker = tracker
        self.ended = False
        self.waiting = False

    def wait(self) -> None:
        if not self.ended and not self.waiting:
            self.waiting = True
            self.tracker._count(-1)

    def wake(self) -> None:
        if not self.ended and self.waiting:
            self.waiting = False
            self.tracker._count(1)

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            if not self.waiting:
                self.tracker._count(-1)


_CURRENT_CALL: ContextVar[_Call | None] = ContextVar("replay_call", default=None)
"""The tracked call whose work runs in this context (a task the call made copies it)."""


class AnswerTimes:
    """Recorded answers given at their recorded times of the virtual clock (``ReplayBackend``'s ``answer_at``).

    A call whose answer was recorded later than the clock's now waits on a timer of the replay's
    scheduler, and its tracked call counts meanwhile as waiting, not in flight: the driver moves
    virtual time on to the timer, as the live run's clock moved on while the LLM answered. A wait
    is cut at ``limit_s`` (no live call outlives its deadline; a recording that says otherwise is
    not believed). A call given up meanwhile (a timeout) may leave its wait behind: it no longer
    counts, and its timer ends it.
    """

    def __init__(self, scheduler: ReplayScheduler, *, limit_s: float) -> None:
        self._scheduler = scheduler
        self._limit = timedelta(seconds=limit_s)
        self.waiting = 0
        """Waits whose timer has not come yet."""

    async def until(self, when: datetime) -> None:
        """Return when the virtual clock reaches ``when`` (at once when it has)."""
        now = self._scheduler.now
        if when <= now:
            return
        due = min(when, self._scheduler.add(now, self._limit))
        call = _CURRENT_CALL.get()
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        woken = False

        def wake(_scheduler: object, _state: object) -> None:
            nonlocal woken
            woken = True
            self.waiting -= 1
            if call is not None:
                call.wake()  # in flight again before the step ends: the driver settles it
            if not answered.done():  # a cancelled wait's future is done
                answered.set_result(None)

        self.waiting += 1
        if call is not None:
            call.wait()
        timer = self._scheduler.schedule_absolute(due, wake)
        try:
            await answered
        finally:  # cancelled, or closed (a disposed subscription closes its coroutine): no timer left
            if not woken:
                timer.dispose()
                self.waiting -= 1
                if call is not None:
                    call.wake()


class CallTracker(ForwardingBackend):
    """Wraps a backend (outermost) and counts its calls in flight, so the driver can wait for them.

    A call counts from the moment it is made, not from when its task first runs: a route makes
    the call while virtual time stands still, and the driver must see it before moving on. A
    call waiting for its recorded answer's time (:class:`AnswerTimes`) does not count meanwhile.
    """

    def __init__(self, inner: LLMBackend) -> None:
        super().__init__(inner)
        self.in_flight = 0
        self.calls = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def _count(self, change: int) -> None:
        self.in_flight += change
        if self.in_flight == 0:
            self._idle.set()
        else:
            self._idle.clear()

    async def wait_idle(self) -> None:
        await self._idle.wait()

    def _forward(self, call: Call, start: Callable[[], Coroutine[Any, Any, T]]) -> Coroutine[Any, Any, T]:
        self.calls += 1
        self._count(1)
        tracked = _Call(self)
        token = _CURRENT_CALL.set(tracked)  # a task the call makes at once copies it too
        try:
            work = start()
        except BaseException:
            tracked.end()
            raise
        finally:
            _CURRENT_CALL.reset(token)
        return _TrackedCall(tracked, work)


async def _counted(call: _Call, work: Coroutine[Any, Any, T]) -> T:
    token = _CURRENT_CALL.set(call)
    try:
        return await work
    finally:
        _CURRENT_CALL.reset(token)
        call.end()


class _TrackedCall(Coroutine[Any, Any, T]):
    """A tracked call's coroutine: it ends the call however it ends, even before its first step.

    A coroutine's ``finally`` runs only once it has started. A task cancelled before its first
    step, a coroutine closed unawaited or one merely dropped never start: the call would count
    as in flight for ever, and the driver would wait for it. Here each of those ends the call and
    closes the call's own work (no "never awaited" coroutine is left behind).
    """

    __slots__ = ("_call", "_inner", "_started", "_work")

    def __init__(self, call: _Call, work: Coroutine[Any, Any, T]) -> None:
        self._call = call
        self._work = work
        self._inner = _counted(call, work)
        self._started = False

    def _given_up(self) -> None:
        if not self._started:
            self._started = True  # once
            self._work.close()
            self._call.end()

    def send(self, value: Any) -> Any:
        self._started = True
        return self._inner.send(value)

    def throw(self, *args: Any) -> Any:
        self._given_up()  # thrown into before its first step, it raises at once: its body never runs
        return self._inner.throw(*args)

    def close(self) -> None:
        self._given_up()
        self._inner.close()

    def __await__(self) -> Generator[Any, None, T]:
        self._started = True
        return self._inner.__await__()

    def __del__(self) -> None:
        if not self._started:  # dropped unawaited (a started one is closed by its own coroutine's finaliser)
            self.close()


async def _settle(tracker: CallTracker | None) -> None:
    """Let started calls finish and their callbacks run (they may start more calls at this instant)."""
    for _ in range(1000):
        if tracker is not None and tracker.in_flight:
            await tracker.wait_idle()
        for _ in range(3):
            await asyncio.sleep(0)
        if tracker is None or tracker.in_flight == 0:
            return
    raise RuntimeError("replay: LLM calls kept starting at one instant of virtual time (a loop in a route?)")


def _call_started(tracker: CallTracker, calls_before: int) -> Callable[[], bool]:
    def started() -> bool:
        return tracker.calls != calls_before or tracker.in_flight > 0

    return started


async def drive(
    scheduler: ReplayScheduler,
    *,
    tracker: CallTracker | None,
    done: asyncio.Future[Any],
    speed: float | None = None,
    on_step: Callable[[datetime], None] = lambda _now: None,
    clock: Callable[[], float] = time.perf_counter,
) -> None:
    """Advance ``scheduler`` due time by due time until ``done`` resolves or nothing is left to run."""
    started_real = clock()
    started_virtual: datetime | None = None
    await _settle(tracker)
    while not done.done():
        if speed is not None:
            upcoming = scheduler.next_due()
            if upcoming is not None:
                if started_virtual is None:
                    started_virtual = upcoming
                target = started_real + (upcoming - started_virtual).total_seconds() / speed
                delay = target - clock()
                if delay > 0:
                    # wake early when the replay ends meanwhile (completed, interrupted)
                    await asyncio.wait({done}, timeout=delay)
                    if done.done():
                        return
        calls_before = tracker.calls if tracker is not None else 0
        if speed is None and tracker is not None:
            # as fast as possible: run instants back to back until one starts an LLM call
            due = scheduler.steps(STEPS_PER_LOOK, _call_started(tracker, calls_before))
        else:
            due = scheduler.step()
        if due is None:
            await _settle(tracker)
            if scheduler.next_due() is None:
                return
            continue
        if tracker is not None and (tracker.in_flight or tracker.calls != calls_before):
            await _settle(tracker)
        on_step(due)
