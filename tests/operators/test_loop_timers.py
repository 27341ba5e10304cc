"""Time limits of one length on the service's loop share one loop timer (operators._loop_timers.LoopLimits)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import pytest
import reactivex
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler

from operators import CallTimeoutError, timeout
from operators._loop_timers import LoopLimits
from tests.support import until


def count_loop_timers(monkeypatch: pytest.MonkeyPatch, loop: asyncio.AbstractEventLoop) -> list[float]:
    """Record the time of every timer set on ``loop`` with ``call_at`` or ``call_later``."""
    set_for: list[float] = []
    own_at, own_later = loop.call_at, loop.call_later

    def call_at(when: float, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        set_for.append(when)
        return own_at(when, callback, *args, **kwargs)

    def call_later(delay: float, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        set_for.append(loop.time() + delay)
        return own_later(delay, callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_at", call_at)
    monkeypatch.setattr(loop, "call_later", call_later)
    return set_for


async def test_calls_through_one_timeout_set_one_loop_timer_between_them(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    timers = count_loop_timers(monkeypatch, loop)
    scheduler = AsyncIOThreadSafeScheduler(loop)
    limited = timeout(3600.0)
    for _ in range(100):  # each call ends in time (disposed before its limit)
        subscription = limited(reactivex.never()).subscribe(scheduler=scheduler)
        subscription.dispose()
    assert len(timers) == 1


async def test_only_live_limits_expire_in_the_order_they_end() -> None:
    limits = LoopLimits(asyncio.get_running_loop(), 0.005)
    fired: list[int] = []
    handles = [limits.add(functools.partial(fired.append, i)) for i in range(5)]
    handles[0].dispose()
    handles[3].dispose()
    await until(lambda: len(fired) == 3, what="the live limits' expiry")
    assert fired == [1, 2, 4]
    assert len(limits) == 0


async def test_a_limit_disposed_from_another_thread_never_fires() -> None:
    limits = LoopLimits(asyncio.get_running_loop(), 0.005)
    fired: list[str] = []
    cut = limits.add(lambda: fired.append("cut"))
    limits.add(lambda: fired.append("kept"))
    await asyncio.to_thread(cut.dispose)
    await until(lambda: "kept" in fired, what="the kept limit's expiry")
    assert fired == ["kept"]


async def test_a_limit_added_after_an_early_end_is_still_kept() -> None:
    """The loop timer was set for a limit that ended early: it fires for nothing, and is set for the next."""
    limits = LoopLimits(asyncio.get_running_loop(), 0.02)
    fired: list[str] = []
    limits.add(lambda: fired.append("first")).dispose()
    limits.add(lambda: fired.append("second"))
    await until(lambda: bool(fired), what="the second limit's expiry")
    assert fired == ["second"]


async def test_an_expiry_that_raises_is_reported_and_the_others_still_run() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        limits = LoopLimits(loop, 0.002)
        fired: list[str] = []

        def broken() -> None:
            raise RuntimeError("downstream broke")

        limits.add(broken)
        limits.add(lambda: fired.append("after"))
        await until(lambda: bool(fired), what="the limit after the broken one")
    finally:
        loop.set_exception_handler(None)
    assert fired == ["after"]
    assert [type(c["exception"]) for c in reported] == [RuntimeError]


async def test_a_limit_added_by_an_expiry_gets_its_own_turn() -> None:
    """An expiry that starts the next try (retry around timeout) adds a limit while the queue fires."""
    loop = asyncio.get_running_loop()
    limits = LoopLimits(loop, 0.003)
    fired: list[str] = []

    def first() -> None:
        fired.append("first")
        limits.add(lambda: fired.append("next"))

    limits.add(first)
    await until(lambda: len(fired) == 2, what="the limit the first expiry added")
    assert fired == ["first", "next"]


async def test_limits_ended_behind_a_long_one_do_not_pile_up() -> None:
    limits = LoopLimits(asyncio.get_running_loop(), 3600.0)
    hung = limits.add(lambda: None)  # a call that runs on: every later limit queues behind it
    for _ in range(10_000):
        limits.add(lambda: None).dispose()
    assert len(limits) <= 130
    hung.dispose()


async def test_a_timeout_still_fails_a_hung_call_on_the_service_scheduler() -> None:
    loop = asyncio.get_running_loop()
    scheduler = AsyncIOThreadSafeScheduler(loop)
    errors: list[Exception] = []
    finished: list[str] = []
    limited = timeout(0.005, name="llm")
    limited(reactivex.of("quick")).subscribe(on_completed=lambda: finished.append("quick"), scheduler=scheduler)
    limited(reactivex.never()).subscribe(on_error=errors.append, scheduler=scheduler)
    await until(lambda: bool(errors), what="the hung call's timeout")
    assert finished == ["quick"]
    assert [type(e) for e in errors] == [CallTimeoutError]


async def test_a_timeout_used_on_its_loop_and_then_from_another_thread_hands_the_limit_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The queue is taken without asking for the running loop only on the thread that made it."""
    loop = asyncio.get_running_loop()
    scheduler = AsyncIOThreadSafeScheduler(loop)
    handed_over: list[float] = []
    own = scheduler.schedule_relative

    def schedule_relative(duetime: Any, action: Any, state: Any = None) -> Any:
        handed_over.append(float(duetime))
        return own(duetime, action, state)

    monkeypatch.setattr(scheduler, "schedule_relative", schedule_relative)
    limited = timeout(0.002, name="llm")
    limited(reactivex.never()).subscribe(scheduler=scheduler).dispose()  # makes the queue, on the loop's thread
    errors: list[Exception] = []

    def subscribe_off_the_loop() -> None:
        limited(reactivex.never()).subscribe(on_error=errors.append, scheduler=scheduler)

    await asyncio.to_thread(subscribe_off_the_loop)
    await until(lambda: bool(errors), what="the timeout set from another thread")
    assert handed_over == [0.002]
    assert [type(e) for e in errors] == [CallTimeoutError]


def test_a_timeout_used_on_a_loop_that_stopped_takes_the_next_loops_queue() -> None:
    """A queue whose loop no longer runs is not used again: the next loop on the same thread gets its own."""
    limited = timeout(0.002, name="llm")

    async def one_call() -> list[Exception]:
        errors: list[Exception] = []
        scheduler = AsyncIOThreadSafeScheduler(asyncio.get_running_loop())
        limited(reactivex.never()).subscribe(on_error=errors.append, scheduler=scheduler)
        await until(lambda: bool(errors), what="the timeout")
        return errors

    for _ in range(2):  # two loops, one after the other, on this thread (the first one closed)
        assert [type(e) for e in asyncio.run(one_call())] == [CallTimeoutError]
