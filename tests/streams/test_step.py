"""Step (the cheap observable of per-call streams) and from_coroutine: what Observable.subscribe promised holds."""

from __future__ import annotations

import asyncio
import inspect
import warnings
from typing import Any

import pytest
import reactivex
from reactivex import abc
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler

from streams import NOTHING, Once, Slot, Step, from_coroutine, lazy, subscribe_inner, subscribe_observer
from tests.support import hang_until_cancelled, until


class Flag(abc.DisposableBase):
    def __init__(self) -> None:
        self.disposed = 0

    def dispose(self) -> None:
        self.disposed += 1


def test_an_end_during_subscribe_disposes_the_upstream_once_it_is_returned() -> None:
    upstream = Flag()

    def subscribe(observer: abc.ObserverBase[int], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        observer.on_next(1)
        observer.on_completed()
        observer.on_next(2)  # after the end: ignored
        return upstream

    got: list[Any] = []
    Step(subscribe).subscribe(got.append, on_completed=lambda: got.append("done"))
    assert got == [1, "done"]
    assert upstream.disposed == 1


def test_disposing_a_running_subscription_disposes_the_upstream_and_silences_it() -> None:
    upstream = Flag()
    held: list[abc.ObserverBase[int]] = []

    def subscribe(observer: abc.ObserverBase[int], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        held.append(observer)
        return upstream

    got: list[Any] = []
    subscription = Step(subscribe).subscribe(got.append)
    held[0].on_next(1)
    subscription.dispose()
    subscription.dispose()
    held[0].on_next(2)
    held[0].on_completed()
    assert got == [1] and upstream.disposed == 1


def test_a_subscribe_function_that_raises_sends_the_error_downstream() -> None:
    def subscribe(observer: abc.ObserverBase[int], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        raise ValueError("broken source")

    errors: list[Exception] = []
    Step(subscribe).subscribe(on_error=errors.append)
    assert [str(e) for e in errors] == ["broken source"]
    # and from inside an operator, the same
    inner: list[Exception] = []
    assert subscribe_inner(Step(subscribe), print, inner.append, lambda: None, None) is NOTHING
    assert [str(e) for e in inner] == ["broken source"]


def test_an_error_raised_after_the_end_is_raised_not_swallowed() -> None:
    def subscribe(observer: abc.ObserverBase[int], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        observer.on_completed()
        raise ValueError("after the end")

    with pytest.raises(ValueError, match="after the end"):
        Step(subscribe).subscribe()


def test_an_error_without_an_error_callback_is_raised() -> None:
    def subscribe(observer: abc.ObserverBase[int], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        observer.on_error(KeyError("nobody listens"))
        return NOTHING

    with pytest.raises(KeyError, match="nobody listens"):
        Step(subscribe).subscribe()


def test_it_takes_an_observer_object_and_reactivex_operators_with_their_lock() -> None:
    scheduler = TestScheduler()

    def subscribe(observer: abc.ObserverBase[int], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        for value in (1, 2, 3):
            observer.on_next(value)
        observer.on_completed()
        return NOTHING

    source = Step(subscribe)
    # take_while and delay lock their source; the lock is made on first use
    result = scheduler.start(lambda: source.pipe(ops.take_while(lambda v: v < 3), ops.delay(5.0)))
    on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed
    assert result.messages == [on_next(205, 1), on_next(205, 2), on_completed(205)]


class Taken:
    """An operator's per-subscription object, observing its source as it is (no ``ObserverBase``)."""

    def __init__(self) -> None:
        self.got: list[Any] = []

    def on_next(self, value: int) -> None:
        self.got.append(value)

    def on_error(self, error: Exception) -> None:
        self.got.append(f"error: {error}")

    def on_completed(self) -> None:
        self.got.append("done")


def test_subscribe_observer_hands_a_step_the_object_itself_and_anything_else_its_callbacks() -> None:
    seen: list[object] = []

    def subscribe(observer: abc.ObserverBase[int], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        seen.append(observer)
        observer.on_next(1)
        observer.on_completed()
        return NOTHING

    taken = Taken()
    assert subscribe_observer(Step(subscribe), taken, None) is NOTHING
    assert seen == [taken] and taken.got == [1, "done"]
    other = Taken()
    subscribe_observer(reactivex.of(1, 2), other, None)  # a reactivex observable: through its own subscribe
    assert other.got == [1, 2, "done"]


def test_subscribe_observer_sends_an_error_raised_while_subscribing_to_the_object() -> None:
    def subscribe(observer: abc.ObserverBase[int], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        raise ValueError("broken source")

    taken = Taken()
    assert subscribe_observer(Step(subscribe), taken, None) is NOTHING
    assert taken.got == ["error: broken source"]


def test_lazy_builds_on_each_subscription() -> None:
    built: list[int] = []

    def factory() -> Step[int]:
        built.append(len(built))

        def subscribe(observer: abc.ObserverBase[int], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            observer.on_next(built[-1])
            observer.on_completed()
            return NOTHING

        return Step(subscribe)

    source = lazy(factory)
    got: list[int] = []
    source.subscribe(got.append)
    source.subscribe(got.append)
    assert got == [0, 1]


def test_slot_disposes_what_it_replaces_and_what_comes_after_its_disposal() -> None:
    first, second, late = Flag(), Flag(), Flag()
    slot = Slot()
    slot.set(first)
    slot.set(second)
    assert first.disposed == 1 and second.disposed == 0
    slot.dispose()
    slot.dispose()
    slot.set(late)
    assert second.disposed == 1 and late.disposed == 1


def test_once_runs_its_action_once() -> None:
    runs: list[int] = []
    once = Once(lambda: runs.append(1))
    once.dispose()
    once.dispose()
    assert runs == [1]


async def test_from_coroutine_emits_the_result_or_the_error_from_inside_its_task() -> None:
    async def answer() -> str:
        await asyncio.sleep(0)
        return "answer"

    async def fail() -> str:
        raise ConnectionError("down")

    got: list[Any] = []
    from_coroutine(answer).subscribe(got.append, got.append, lambda: got.append("done"))
    from_coroutine(fail).subscribe(got.append, got.append, lambda: got.append("done"))
    await until(lambda: len(got) == 3, what="both calls ended")
    assert "answer" in got and "done" in got
    assert any(isinstance(item, ConnectionError) for item in got)


async def test_disposing_from_coroutine_cancels_the_call_and_nothing_is_emitted() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def hang() -> str:
        started.set()
        await hang_until_cancelled(cancelled)
        return "never"

    got: list[Any] = []
    subscription = from_coroutine(hang).subscribe(got.append, got.append, lambda: got.append("done"))
    await started.wait()
    subscription.dispose()
    await asyncio.wait_for(cancelled.wait(), 5)
    assert got == []


async def test_disposing_from_coroutine_before_its_task_ran_closes_the_coroutine() -> None:
    """The task never took a step, so nothing awaited the coroutine: it is closed, not left to the collector
    (whose "never awaited" warning and late finaliser are all that would end it)."""
    made: list[Any] = []

    async def answer() -> str:
        return "answer"

    def factory() -> Any:
        made.append(answer())
        return made[-1]

    got: list[Any] = []
    from_coroutine(factory).subscribe(got.append, got.append, lambda: got.append("done")).dispose()
    await until(lambda: inspect.getcoroutinestate(made[0]) == inspect.CORO_CLOSED, what="the coroutine closed")
    assert got == []


async def test_an_observer_that_raises_is_reported_to_the_loop() -> None:
    reported: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: reported.append(context))

    async def answer() -> str:
        return "answer"

    def explode(_: str) -> None:
        raise RuntimeError("observer broke")

    completed: list[bool] = []
    from_coroutine(answer).subscribe(explode, on_completed=lambda: completed.append(True))
    await until(lambda: bool(reported), what="the report")
    assert isinstance(reported[0]["exception"], RuntimeError)
    assert completed == []  # a failed on_next is not followed by a completion
    loop.set_exception_handler(None)


def test_from_coroutine_without_a_loop_fails_and_makes_no_coroutine() -> None:
    made: list[int] = []

    async def answer() -> str:
        return "answer"

    def factory() -> Any:
        made.append(1)
        return answer()

    errors: list[Exception] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unawaited coroutine would warn
        from_coroutine(factory).subscribe(on_error=errors.append)
    assert made == [] and isinstance(errors[0], RuntimeError)
