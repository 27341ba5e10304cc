"""loop_share: the messages, subscriptions and reference counting of ``ops.share()``, on virtual time."""

from __future__ import annotations

from typing import Any

import reactivex
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler

from operators import loop_share

on_next, on_completed, on_error = ReactiveTest.on_next, ReactiveTest.on_completed, ReactiveTest.on_error
subscribe = ReactiveTest.subscribe


def _two_subscribers(share: Any, messages: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """Subscribers at 200 (to 1000) and 300 (leaves at 450) of one shared hot source."""
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(*messages)
    shared = source.pipe(share)
    first, second = scheduler.create_observer(), scheduler.create_observer()
    subscriptions: dict[str, Any] = {}
    scheduler.schedule_absolute(200, lambda *_: subscriptions.__setitem__("a", shared.subscribe(first)))
    scheduler.schedule_absolute(300, lambda *_: subscriptions.__setitem__("b", shared.subscribe(second)))
    scheduler.schedule_absolute(450, lambda *_: subscriptions["b"].dispose())
    scheduler.schedule_absolute(1000, lambda *_: subscriptions["a"].dispose())
    scheduler.start()
    return first.messages, second.messages, source.subscriptions


def test_every_subscriber_gets_the_items_from_when_it_joined_and_one_source_subscription() -> None:
    messages = [on_next(250, 1), on_next(350, 2), on_next(500, 3), on_completed(600)]
    first, second, subscriptions = _two_subscribers(loop_share(), messages)
    assert first == [on_next(250, 1), on_next(350, 2), on_next(500, 3), on_completed(600)]
    assert second == [on_next(350, 2)]
    assert subscriptions == [subscribe(200, 600)]  # connected once, let go at the end
    assert (first, second, subscriptions) == _two_subscribers(ops.share(), messages)


def test_an_error_reaches_every_subscriber() -> None:
    error = RuntimeError("boom")
    messages = [on_next(320, 1), on_error(400, error)]
    first, second, subscriptions = _two_subscribers(loop_share(), messages)
    assert first == [on_next(320, 1), on_error(400, error)]
    assert second == [on_next(320, 1), on_error(400, error)]
    assert subscriptions == [subscribe(200, 400)]


def test_the_last_subscriber_to_leave_disconnects_and_a_new_one_connects_again() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(on_next(250, 1), on_next(450, 2), on_completed(900))
    shared = source.pipe(loop_share())
    seen = scheduler.create_observer()
    subscriptions: list[Any] = []
    scheduler.schedule_absolute(200, lambda *_: subscriptions.append(shared.subscribe(seen)))
    scheduler.schedule_absolute(300, lambda *_: subscriptions[0].dispose())
    scheduler.schedule_absolute(400, lambda *_: subscriptions.append(shared.subscribe(seen)))
    scheduler.start()
    assert seen.messages == [on_next(250, 1), on_next(450, 2), on_completed(900)]
    assert source.subscriptions == [subscribe(200, 300), subscribe(400, 900)]


def test_a_subscriber_after_the_end_is_told_the_end_at_once() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(on_next(250, 1), on_completed(300))
    shared = source.pipe(loop_share())
    early, late = scheduler.create_observer(), scheduler.create_observer()
    scheduler.schedule_absolute(200, lambda *_: shared.subscribe(early))
    scheduler.schedule_absolute(400, lambda *_: shared.subscribe(late))
    scheduler.start()
    assert late.messages == [on_completed(400)]
    assert source.subscriptions == [subscribe(200, 300)]


def _leave_during_an_item(share: Any) -> list[tuple[str, int]]:
    scheduler = TestScheduler()
    shared = scheduler.create_hot_observable(on_next(210, 1), on_next(220, 2), on_completed(230)).pipe(share)
    seen: list[tuple[str, int]] = []
    holder: list[Any] = []

    def first(value: int) -> None:
        seen.append(("first", value))
        if value == 1:
            holder[0].dispose()  # the second subscriber leaves while 1 is on its way to it
            holder.append(shared.subscribe(lambda value: seen.append(("third", value))))  # one joins

    def both(*_: Any) -> None:
        shared.subscribe(first)
        holder.append(shared.subscribe(lambda value: seen.append(("second", value))))

    scheduler.schedule_absolute(200, both)
    scheduler.start()
    return seen


def test_subscribers_that_leave_or_join_during_an_item_change_only_the_next_items_as_with_share() -> None:
    # one that left gets nothing more, one that joined gets the next items
    assert _leave_during_an_item(loop_share()) == [("first", 1), ("first", 2), ("third", 2)]
    assert _leave_during_an_item(loop_share()) == _leave_during_an_item(ops.share())


def test_a_source_that_ends_while_it_is_subscribed_ends_every_subscriber() -> None:
    shared = reactivex.of(1, 2).pipe(loop_share())
    seen: list[object] = []
    shared.subscribe(seen.append, on_completed=lambda: seen.append("done"))
    assert seen == [1, 2, "done"]
    late: list[object] = []
    shared.subscribe(late.append, on_completed=lambda: late.append("done"))
    assert late == ["done"]
