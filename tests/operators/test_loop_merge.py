"""loop_merge: the messages and subscriptions of ``reactivex.merge``, on virtual time."""

from __future__ import annotations

from typing import Any

import reactivex
from reactivex.testing import ReactiveTest, TestScheduler

from operators import loop_merge

on_next, on_completed, on_error = ReactiveTest.on_next, ReactiveTest.on_completed, ReactiveTest.on_error
subscribe = ReactiveTest.subscribe


def _run(merge: Any, *streams: list[Any], dispose_at: int = 1000) -> tuple[list[Any], list[list[Any]]]:
    scheduler = TestScheduler()
    sources = [scheduler.create_hot_observable(*messages) for messages in streams]
    result = scheduler.start(lambda: merge(*sources), disposed=dispose_at)
    return result.messages, [s.subscriptions for s in sources]


def test_the_items_of_every_source_as_they_come_and_completion_after_the_last() -> None:
    a = [on_next(210, "a1"), on_next(300, "a2"), on_completed(400)]
    b = [on_next(250, "b1"), on_next(500, "b2"), on_completed(600)]
    messages, subscriptions = _run(loop_merge, a, b)
    assert messages == [
        on_next(210, "a1"),
        on_next(250, "b1"),
        on_next(300, "a2"),
        on_next(500, "b2"),
        on_completed(600),
    ]
    assert subscriptions == [[subscribe(200, 400)], [subscribe(200, 600)]]
    assert (messages, subscriptions) == _run(reactivex.merge, a, b)


def test_the_first_error_ends_it_and_lets_every_source_go() -> None:
    error = RuntimeError("boom")
    a = [on_next(210, 1), on_error(300, error)]
    b = [on_next(250, 2), on_next(350, 3), on_completed(600)]
    messages, subscriptions = _run(loop_merge, a, b)
    assert messages == [on_next(210, 1), on_next(250, 2), on_error(300, error)]
    assert subscriptions == [[subscribe(200, 300)], [subscribe(200, 300)]]
    assert (messages, subscriptions) == _run(reactivex.merge, a, b)


def test_disposal_lets_every_source_go() -> None:
    a = [on_next(210, 1), on_completed(900)]
    b = [on_next(250, 2), on_completed(950)]
    messages, subscriptions = _run(loop_merge, a, b, dispose_at=500)
    assert messages == [on_next(210, 1), on_next(250, 2)]
    assert subscriptions == [[subscribe(200, 500)], [subscribe(200, 500)]]


def test_no_sources_completes_at_once() -> None:
    messages, _ = _run(loop_merge)
    assert messages == [on_completed(200)]


def test_a_source_that_fails_while_subscribed_keeps_the_later_ones_unsubscribed() -> None:
    error = ValueError("at once")
    subscribed: list[str] = []

    def later(observer: Any, scheduler: Any = None) -> Any:
        subscribed.append("later")
        return reactivex.empty().subscribe(observer)

    seen: list[object] = []
    loop_merge(reactivex.throw(error), reactivex.create(later)).subscribe(on_error=seen.append)
    assert seen == [error]
    assert subscribed == []
