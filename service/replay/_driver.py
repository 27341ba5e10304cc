"""Driving a replay: virtual time that waits for the LLM.

The replay runs on a :class:`ReplayScheduler` (a ``HistoricalScheduler``). The driver advances
it one due time at a time and, after each step, lets every LLM call that step started finish
before virtual time moves on. An answer therefore takes no virtual time, which is what makes a
replay deterministic: a recorded answer can never lose a race against a timeout timer because
the machine was slow.

``speed``: ``None`` runs as fast as the machine allows; a number N sleeps between steps so that
virtual time passes N times faster than real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from reactivex.scheduler import HistoricalScheduler

from llm import ChatResult, Embeddings, Format, LLMBackend, Message

__all__ = ["CallTracker", "ReplayScheduler", "drive"]

T = TypeVar("T")


class ReplayScheduler(HistoricalScheduler):
    """A historical scheduler that runs one due time at a time.

    ``advance_to`` of reactivex's virtual-time schedulers does nothing when asked to advance to
    the current time, so work scheduled "now" by a callback would wait for the next advance;
    :meth:`step` runs it.
    """

    def next_due(self) -> datetime | None:
        """The due time of the earliest scheduled item still wanted, or ``None`` when there is none.

        Cancelled items are dropped here, so a disposed timer never makes a replay wait for it.
        """
        with self._lock:
            while self._queue and self._queue.peek().is_cancelled():
                self._queue.dequeue()
            if not self._queue:
                return None
            due: datetime = self._queue.peek().duetime
            return due

    def step(self) -> datetime | None:
        """Move the clock to the earliest due time and run everything due by then, including work
        that this scheduled for the same instant. Returns that time, or ``None`` when idle."""
        with self._lock:
            if not self._queue:
                return None
            due: datetime = self._queue.peek().duetime
            if due > self.now:
                self._clock = due
        while True:
            with self._lock:
                if not self._queue:
                    break
                item = self._queue.peek()
                if item.duetime > due:
                    break
                self._queue.dequeue()
            if not item.is_cancelled():
                item.invoke()
        return due


class CallTracker:
    """Wraps a backend (outermost) and counts its calls in flight, so the driver can wait for them.

    A call counts from the moment it is made, not from when its task first runs: a route makes
    the call while virtual time stands still, and the driver must see it before moving on.
    """

    def __init__(self, inner: LLMBackend) -> None:
        self.inner = inner
        self.in_flight = 0
        self.calls = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def name(self) -> str:
        return self.inner.name

    def _begin(self) -> None:
        self.in_flight += 1
        self.calls += 1
        self._idle.clear()

    def _end(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def _counted(self, call: Awaitable[T]) -> T:
        try:
            return await call
        finally:
            self._end()

    def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> Coroutine[Any, Any, ChatResult]:
        self._begin()
        return self._counted(self.inner.chat(messages, model=model, options=options, format=format))

    def embed(self, texts: Sequence[str], *, model: str | None = None) -> Coroutine[Any, Any, Embeddings]:
        self._begin()
        return self._counted(self.inner.embed(texts, model=model))

    async def aclose(self) -> None:
        await self.inner.aclose()


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
        due = scheduler.next_due()
        if due is None:
            await _settle(tracker)
            if scheduler.next_due() is None:
                return
            continue
        if speed is not None:
            if started_virtual is None:
                started_virtual = due
            target = started_real + (due - started_virtual).total_seconds() / speed
            delay = target - clock()
            if delay > 0:
                # wake early when the replay ends meanwhile (completed, interrupted)
                await asyncio.wait({done}, timeout=delay)
                if done.done():
                    return
        calls_before = tracker.calls if tracker is not None else 0
        scheduler.step()
        if tracker is not None and (tracker.in_flight or tracker.calls != calls_before):
            await _settle(tracker)
        on_step(due)
