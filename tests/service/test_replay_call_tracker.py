"""The replay counts every LLM call in flight until it ends, however it ends: a call given up before its
first step, or never awaited at all, must not leave the count up (the driver would wait for it forever)."""

from __future__ import annotations

import asyncio
import gc
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest

from llm import ChatResult, Exchange, InMemoryExchangeStore, Message, ReplayBackend
from llm._exchange import canonical_request, encode_response, request_key
from service.replay import ReplayScheduler
from service.replay._driver import CallTracker, drive
from streams import from_coroutine

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _tracker() -> CallTracker:
    request = canonical_request("chat", messages=[Message.user("hi")], model=None, options=None, format=None)
    exchange = Exchange(
        key=request_key(request),
        operation="chat",
        backend="test",
        request=request,
        response=encode_response(ChatResult(model="m", content="hello")),
    )
    return CallTracker(ReplayBackend(InMemoryExchangeStore([exchange])))


async def test_a_call_cancelled_before_its_first_step_ends_and_leaves_nothing_in_flight() -> None:
    tracker = _tracker()
    task = asyncio.ensure_future(tracker.chat([Message.user("hi")]))
    assert tracker.in_flight == 1
    task.cancel()  # before the task ever ran
    with pytest.raises(asyncio.CancelledError):
        await task
    assert tracker.in_flight == 0
    await asyncio.wait_for(tracker.wait_idle(), timeout=10)


def test_a_call_never_awaited_ends_when_it_is_closed_or_dropped_and_leaves_no_coroutine_behind() -> None:
    async def main() -> None:
        tracker = _tracker()
        closed = tracker.chat([Message.user("hi")])
        dropped = tracker.chat([Message.user("hi")])
        assert tracker.in_flight == 2
        closed.close()
        assert tracker.in_flight == 1
        del dropped
        gc.collect()
        assert tracker.in_flight == 0

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine ... was never awaited" would be a RuntimeWarning
        asyncio.run(main())
        gc.collect()


async def test_a_call_awaited_to_its_end_still_counts_while_it_runs() -> None:
    tracker = _tracker()
    seen: list[int] = []

    async def ask() -> str:
        call = tracker.chat([Message.user("hi")])
        seen.append(tracker.in_flight)
        result = await call
        seen.append(tracker.in_flight)
        return result.content

    assert await ask() == "hello"
    assert seen == [1, 0] and tracker.calls == 1


async def test_a_replay_whose_call_is_disposed_the_instant_it_is_made_runs_to_its_end() -> None:
    scheduler = ReplayScheduler(T0)
    tracker = _tracker()
    answers: list[str] = []

    kept: list[Any] = []  # the given-up call stays referenced: only its stream's close can end it

    def call() -> Any:
        kept.append(tracker.chat([Message.user("hi")]))
        return kept[-1]

    def ask_and_give_up(_scheduler: object, _state: object) -> None:
        asked = from_coroutine(call)
        asked.subscribe(lambda result: answers.append(result.content)).dispose()  # given up at once

    def ask(_scheduler: object, _state: object) -> None:
        from_coroutine(lambda: tracker.chat([Message.user("hi")])).subscribe(
            lambda result: answers.append(result.content)
        )

    scheduler.schedule_absolute(T0.replace(second=1), ask_and_give_up)
    scheduler.schedule_absolute(T0.replace(second=2), ask)
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    await asyncio.wait_for(drive(scheduler, tracker=tracker, done=done), timeout=30)  # a deadline, not a timing
    assert answers == ["hello"] and tracker.in_flight == 0 and tracker.calls == 2
    assert len(kept) == 1
