"""The operators' clock on the scheduler production runs (AsyncIOThreadSafeScheduler), on and off its loop's thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import reactivex
from reactivex.scheduler import HistoricalScheduler
from reactivex.scheduler.eventloop import AsyncIOScheduler, AsyncIOThreadSafeScheduler
from reactivex.testing import TestScheduler

from operators import CallTimeoutError, timeout
from operators._clock import now_s, schedule_after
from tests.support import until


class Spied:
    """The production scheduler, counting what goes through its own ``schedule_relative``."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.scheduler = AsyncIOThreadSafeScheduler(loop)
        self.handed_over: list[float] = []
        own = self.scheduler.schedule_relative

        def schedule_relative(duetime: Any, action: Any, state: Any = None) -> Any:
            self.handed_over.append(float(duetime))
            return own(duetime, action, state)

        self.scheduler.schedule_relative = schedule_relative  # type: ignore[method-assign]


def spy_on_handovers(monkeypatch: pytest.MonkeyPatch, loop: asyncio.AbstractEventLoop) -> list[Callable[..., Any]]:
    """Record every callback handed to the loop through ``call_soon_threadsafe``."""
    seen: list[Callable[..., Any]] = []
    own = loop.call_soon_threadsafe

    def call_soon_threadsafe(callback: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Handle:
        seen.append(callback)
        return own(callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_soon_threadsafe", call_soon_threadsafe)
    return seen


async def test_on_its_loop_thread_a_timer_goes_straight_to_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    spied = Spied(loop)
    handovers = spy_on_handovers(monkeypatch, loop)
    errors: list[Exception] = []
    reactivex.never().pipe(timeout(0.001)).subscribe(on_error=errors.append, scheduler=spied.scheduler)
    await until(lambda: bool(errors), what="the timeout")
    assert isinstance(errors[0], CallTimeoutError)
    assert spied.handed_over == [] and handovers == []


async def test_off_its_loop_thread_the_scheduler_hands_the_timer_over() -> None:
    loop = asyncio.get_running_loop()
    spied = Spied(loop)
    errors: list[tuple[Exception, int]] = []

    def subscribe() -> None:
        reactivex.never().pipe(timeout(0.001)).subscribe(
            on_error=lambda e: errors.append((e, threading.get_ident())), scheduler=spied.scheduler
        )

    await asyncio.to_thread(subscribe)
    await until(lambda: bool(errors), what="the timeout")
    assert spied.handed_over == [0.001]
    assert isinstance(errors[0][0], CallTimeoutError)
    assert errors[0][1] == threading.get_ident()  # it fired on the loop's thread


async def test_a_loop_timer_disposed_from_another_thread_is_cancelled_on_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    handovers = spy_on_handovers(monkeypatch, loop)
    timer = schedule_after(AsyncIOThreadSafeScheduler(loop), 3600.0, lambda: None)  # retry's backoff
    assert handovers == []
    await asyncio.to_thread(timer.dispose)
    cancels = [getattr(c, "__self__", None) for c in handovers if getattr(c, "__name__", "") == "cancel"]
    assert len(cancels) == 1  # handed to the loop (the rest is to_thread's own hand-back)
    handle = cancels[0]
    assert isinstance(handle, asyncio.TimerHandle)
    await until(handle.cancelled, what="the timer's cancellation")


async def test_the_clock_is_the_loops_on_and_off_its_thread() -> None:
    loop = asyncio.get_running_loop()
    for scheduler in (AsyncIOThreadSafeScheduler(loop), AsyncIOScheduler(loop)):
        before = loop.time()
        here = now_s(scheduler)
        there = await asyncio.to_thread(now_s, scheduler)
        after = loop.time()
        assert before <= here <= there <= after


def test_virtual_time_is_read_in_seconds_on_a_ticking_and_on_a_historical_scheduler() -> None:
    ticking = TestScheduler()
    ticking.advance_to(200.5)
    assert now_s(ticking) == 200.5
    at = datetime(2026, 2, 21, 12, 0, 0, 250000, tzinfo=UTC)
    assert now_s(HistoricalScheduler(initial_clock=at)) == at.timestamp()  # what replay runs on


async def test_a_timer_disposed_on_its_loop_thread_is_cancelled_there(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    handles: list[asyncio.TimerHandle] = []
    own = loop.call_later

    def call_later(delay: float, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        handles.append(own(delay, callback, *args, **kwargs))
        return handles[-1]

    monkeypatch.setattr(loop, "call_later", call_later)
    schedule_after(AsyncIOScheduler(loop), 60.0, lambda: None).dispose()
    assert len(handles) == 1 and handles[0].cancelled()
