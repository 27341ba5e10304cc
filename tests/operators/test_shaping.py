"""debounce_by_key and bounded_buffer in virtual time."""

from __future__ import annotations

import pytest
from reactivex.testing import ReactiveTest, TestScheduler

from operators import RecordingListener, bounded_buffer, debounce_by_key

on_next, on_error, on_completed, subscribe = (
    ReactiveTest.on_next,
    ReactiveTest.on_error,
    ReactiveTest.on_completed,
    ReactiveTest.subscribe,
)


def first(item: str) -> str:
    return item[0]


def test_debounce_by_key_debounces_each_key_on_its_own() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(
        on_next(210, "a1"),
        on_next(212, "b1"),
        on_next(213, "a2"),
        on_next(216, "a3"),
        on_next(230, "b2"),
        on_completed(250),
    )
    results = scheduler.start(lambda: source.pipe(debounce_by_key(first, 5.0)))
    assert results.messages == [on_next(217, "b1"), on_next(221, "a3"), on_next(235, "b2"), on_completed(250)]
    assert source.subscriptions == [subscribe(200, 250)]


def test_debounce_by_key_flushes_pending_on_completion_and_drops_them_on_error() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(on_next(210, "a1"), on_next(211, "b1"), on_completed(212))
    results = scheduler.start(lambda: source.pipe(debounce_by_key(first, 5.0)))
    assert results.messages == [on_next(212, "a1"), on_next(212, "b1"), on_completed(212)]

    scheduler = TestScheduler()
    boom = RuntimeError("boom")
    source = scheduler.create_hot_observable(on_next(210, "a1"), on_error(212, boom))
    results = scheduler.start(lambda: source.pipe(debounce_by_key(first, 5.0)))
    assert results.messages == [on_error(212, boom)]


def test_debounce_by_key_disposal_cancels_timers() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(on_next(210, "a1"))
    results = scheduler.start(lambda: source.pipe(debounce_by_key(first, 50.0)), disposed=220)
    assert results.messages == []
    assert source.subscriptions == [subscribe(200, 220)]


BURST = [on_next(210, 1), on_next(210, 2), on_next(210, 3), on_next(210, 4), on_next(220, 5), on_completed(230)]


@pytest.mark.parametrize(
    ("overflow", "delivered", "drops"),
    [
        ("drop_oldest", [3, 4, 5], 2),
        ("drop_newest", [1, 2, 5], 2),
        ("block", [1, 2, 3, 4, 5], 0),
    ],
)
def test_bounded_buffer_overflow_policies(overflow: str, delivered: list[int], drops: int) -> None:
    scheduler = TestScheduler()
    listener = RecordingListener()
    source = scheduler.create_hot_observable(*BURST)
    results = scheduler.start(
        lambda: source.pipe(bounded_buffer(2, overflow, name="files", listener=listener))  # type: ignore[arg-type]
    )
    assert [m.value.value for m in results.messages[:-1]] == delivered  # type: ignore[union-attr]
    assert results.messages[-1] == on_completed(230)
    assert all(m.time in (210, 220) for m in results.messages[:-1])
    assert listener.of("buffer_dropped") == [("files", 1)] * drops
    assert source.subscriptions == [subscribe(200, 230)]


def test_bounded_buffer_delivers_an_error_after_the_items_before_it() -> None:
    scheduler = TestScheduler()
    boom = RuntimeError("boom")
    source = scheduler.create_hot_observable(on_next(210, 1), on_error(210, boom))
    results = scheduler.start(lambda: source.pipe(bounded_buffer(4)))
    assert results.messages == [on_next(210, 1), on_error(210, boom)]


def test_bounded_buffer_checks() -> None:
    with pytest.raises(ValueError, match=r"bounded_buffer\('buffer'\).size: expected an integer >= 1, got 0"):
        bounded_buffer(0)
