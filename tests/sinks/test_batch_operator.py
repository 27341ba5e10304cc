"""batch_rows in virtual time: cut by count, by time from the first item, flush before completing or erroring."""

from __future__ import annotations

import pytest
from reactivex.testing import ReactiveTest, TestScheduler

from sinks import batch_rows

on_next, on_completed, on_error, subscribe = (
    ReactiveTest.on_next,
    ReactiveTest.on_completed,
    ReactiveTest.on_error,
    ReactiveTest.subscribe,
)


def test_cuts_by_count() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, 1), on_next(220, 2), on_next(230, 3), on_next(240, 4), on_next(250, 5), on_completed(300)
    )
    result = scheduler.start(lambda: xs.pipe(batch_rows(2, 1000.0)))
    assert result.messages == [
        on_next(220, [1, 2]),
        on_next(240, [3, 4]),
        on_next(300, [5]),
        on_completed(300),
    ]
    assert xs.subscriptions == [subscribe(200, 300)]


def test_cuts_by_time_counted_from_the_first_item() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, "a"), on_next(250, "b"), on_next(400, "c"), on_completed(800))
    result = scheduler.start(lambda: xs.pipe(batch_rows(100, 50.0)))
    assert result.messages == [
        on_next(260, ["a", "b"]),
        on_next(450, ["c"]),
        on_completed(800),
    ]


def test_a_count_cut_cancels_the_pending_timer() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, 1), on_next(220, 2), on_next(240, 3), on_completed(500))
    result = scheduler.start(lambda: xs.pipe(batch_rows(2, 20.0)))
    assert result.messages == [on_next(220, [1, 2]), on_next(260, [3]), on_completed(500)]


def test_never_emits_an_empty_list_and_keeps_rows_on_error() -> None:
    error = RuntimeError("upstream failed")
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, 1), on_error(220, error))
    result = scheduler.start(lambda: xs.pipe(batch_rows(10, 1000.0)))
    assert result.messages == [on_next(220, [1]), on_error(220, error)]


def test_disposal_unsubscribes_and_stops_the_timer() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, 1), on_next(600, 2))
    result = scheduler.start(lambda: xs.pipe(batch_rows(10, 500.0)), disposed=300)
    assert result.messages == []
    assert xs.subscriptions == [subscribe(200, 300)]


@pytest.mark.parametrize(("count", "wait"), [(0, 1.0), (1, 0.0), (1, -1.0)])
def test_arguments_are_checked(count: int, wait: float) -> None:
    with pytest.raises(ValueError, match="batch_rows"):
        batch_rows(count, wait)
