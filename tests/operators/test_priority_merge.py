"""priority_merge in virtual time: N at once, the highest priority next, merge's ends and disposal."""

from __future__ import annotations

from typing import Any

import pytest
import reactivex
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex import Observable
from reactivex import operators as ops
from reactivex.notification import OnError, OnNext
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.coldobservable import ColdObservable
from reactivex.testing.recorded import Recorded
from reactivex.testing.subscription import Subscription

from operators import RecordingListener, priority_merge

on_next, on_error, on_completed, subscribe = (
    ReactiveTest.on_next,
    ReactiveTest.on_error,
    ReactiveTest.on_completed,
    ReactiveTest.subscribe,
)


def urgency(item: str) -> int:
    """``u…`` is urgent (1), anything else normal (0)."""
    return 1 if item.startswith("u") else 0


def calls(scheduler: TestScheduler, names: list[str], ticks: int = 100) -> dict[str, ColdObservable[str]]:
    """One cold call per item: answers its name after ``ticks``, then completes."""
    return {n: scheduler.create_cold_observable(on_next(ticks, n), on_completed(ticks)) for n in names}


def values(messages: list[Recorded[Any]]) -> list[Any]:
    """The values of the on_next messages, in order."""
    return [m.value.value for m in messages if isinstance(m.value, OnNext)]


def errors(messages: list[Recorded[Any]]) -> list[tuple[float, str]]:
    """``(time, message)`` of each on_error."""
    return [(m.time, str(m.value.exception)) for m in messages if isinstance(m.value, OnError)]


def started(inners: dict[str, ColdObservable[str]]) -> list[str]:
    """The items in the order their calls were subscribed (each once at most)."""
    subscribed = {name: inner.subscriptions for name, inner in inners.items() if inner.subscriptions}
    assert all(len(s) == 1 for s in subscribed.values()), subscribed
    return sorted(subscribed, key=lambda name: subscribed[name][0].subscribe)


def test_an_urgent_message_behind_twenty_normal_ones_starts_next() -> None:
    scheduler = TestScheduler()
    names = [f"n{i}" for i in range(1, 21)] + ["u"]
    inners = calls(scheduler, names)
    # n1..n20 arrive at 201..220, the urgent one at 221; every call takes 100 ticks
    source = scheduler.create_hot_observable(*[on_next(201 + i, n) for i, n in enumerate(names)], on_completed(230))
    lane = priority_merge(inners.__getitem__, max_concurrent=2, priority=urgency)
    results = scheduler.start(lambda: source.pipe(lane), disposed=5000)

    assert inners["n1"].subscriptions == [subscribe(201, 301)]
    assert inners["n2"].subscriptions == [subscribe(202, 302)]
    assert inners["u"].subscriptions == [subscribe(301, 401)]  # the first slot to free goes to it
    assert inners["n3"].subscriptions == [subscribe(302, 402)]
    assert started(inners) == ["n1", "n2", "u"] + [f"n{i}" for i in range(3, 21)]
    answers = values(results.messages)
    assert answers.index("u") == 2  # answered third of 21, not 21st
    assert results.messages[-1] == on_completed(1301)  # after the source and the last call (started at 1201)
    assert source.subscriptions == [subscribe(200, 230)]


def test_plain_merge_max_concurrent_starts_it_last() -> None:
    """What the lane replaces: merge(max_concurrent) starts queued streams first in, first out."""
    scheduler = TestScheduler()
    names = [f"n{i}" for i in range(1, 21)] + ["u"]
    inners = calls(scheduler, names)
    source = scheduler.create_hot_observable(*[on_next(201 + i, n) for i, n in enumerate(names)])
    scheduler.start(lambda: source.pipe(ops.map(inners.__getitem__), ops.merge(max_concurrent=2)), disposed=5000)
    assert started(inners)[-1] == "u"


def test_first_come_first_served_within_a_priority_and_higher_first() -> None:
    scheduler = TestScheduler()
    names = ["a", "b0", "c1", "d2", "e1", "f0", "g2"]
    inners = calls(scheduler, names, ticks=10)
    source = scheduler.create_hot_observable(*[on_next(201 + i, n) for i, n in enumerate(names)])
    rank = {"a": 0, "b0": 0, "c1": 1, "d2": 2, "e1": 1, "f0": 0, "g2": 2}
    scheduler.start(
        lambda: source.pipe(priority_merge(inners.__getitem__, max_concurrent=1, priority=rank.__getitem__))
    )
    assert started(inners) == ["a", "d2", "g2", "c1", "e1", "b0", "f0"]


def test_the_inner_stream_is_built_when_its_item_starts() -> None:
    scheduler = TestScheduler()
    built: list[tuple[str, float]] = []
    inners = calls(scheduler, ["a", "b"], ticks=10)

    def make(item: str) -> Observable[str]:
        built.append((item, scheduler.clock))
        return inners[item]

    source = scheduler.create_hot_observable(on_next(201, "a"), on_next(202, "b"))
    scheduler.start(lambda: source.pipe(priority_merge(make, max_concurrent=1, priority=urgency)))
    assert built == [("a", 201), ("b", 211)]


def test_it_completes_after_the_source_and_every_call() -> None:
    scheduler = TestScheduler()
    inners = calls(scheduler, ["a", "b", "c"], ticks=50)
    source = scheduler.create_hot_observable(on_next(210, "a"), on_next(211, "b"), on_next(212, "c"), on_completed(215))
    results = scheduler.start(
        lambda: source.pipe(priority_merge(inners.__getitem__, max_concurrent=2, priority=urgency))
    )
    assert results.messages == [on_next(260, "a"), on_next(261, "b"), on_next(310, "c"), on_completed(310)]
    assert source.subscriptions == [subscribe(200, 215)]
    assert inners["c"].subscriptions == [subscribe(260, 310)]


def test_an_empty_source_completes_at_once() -> None:
    scheduler = TestScheduler()
    source: Any = scheduler.create_hot_observable(on_completed(250))
    results = scheduler.start(
        lambda: source.pipe(priority_merge(lambda _: reactivex.empty(), max_concurrent=1, priority=urgency))
    )
    assert results.messages == [on_completed(250)]


def test_an_inner_error_goes_down_and_disposes_the_rest() -> None:
    scheduler = TestScheduler()
    boom = RuntimeError("boom")
    inners = calls(scheduler, ["a", "c"], ticks=100)
    inners["b"] = scheduler.create_cold_observable(on_error(20, boom))
    source = scheduler.create_hot_observable(on_next(210, "a"), on_next(211, "b"), on_next(212, "c"), on_completed(400))
    results = scheduler.start(
        lambda: source.pipe(priority_merge(inners.__getitem__, max_concurrent=2, priority=urgency))
    )
    assert results.messages == [on_error(231, boom)]
    assert inners["a"].subscriptions == [subscribe(210, 231)]
    assert inners["b"].subscriptions == [subscribe(211, 231)]
    assert inners["c"].subscriptions == []  # the error ended the lane before a slot freed
    assert source.subscriptions == [subscribe(200, 231)]


def test_a_source_error_goes_down_at_once_and_waiting_items_never_start() -> None:
    scheduler = TestScheduler()
    boom = RuntimeError("source")
    inners = calls(scheduler, ["a", "b"])
    source = scheduler.create_hot_observable(on_next(210, "a"), on_next(211, "b"), on_error(220, boom))
    listener = RecordingListener()
    lane = priority_merge(inners.__getitem__, max_concurrent=1, priority=urgency, name="reply", listener=listener)
    results = scheduler.start(lambda: source.pipe(lane))
    assert results.messages == [on_error(220, boom)]
    assert inners["a"].subscriptions == [subscribe(210, 220)]
    assert inners["b"].subscriptions == []
    assert listener.of("lane_waiting") == [("reply", 1), ("reply", 0), ("reply", 1), ("reply", 0)]


def test_errors_of_priority_and_of_inner_go_down() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(on_next(210, "a"), on_completed(300))

    def bad_priority(_: str) -> int:
        raise ValueError("no priority")

    def bad_inner(_: str) -> Observable[str]:
        raise ValueError("no call")

    results = scheduler.start(lambda: source.pipe(priority_merge(bad_inner, max_concurrent=1, priority=urgency)))
    assert errors(results.messages) == [(210, "no call")] and len(results.messages) == 1
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(on_next(210, "a"), on_completed(300))
    results = scheduler.start(lambda: source.pipe(priority_merge(bad_inner, max_concurrent=1, priority=bad_priority)))
    assert errors(results.messages) == [(210, "no priority")] and len(results.messages) == 1
    assert source.subscriptions == [subscribe(200, 210)]


def test_disposal_disposes_the_source_and_every_running_call() -> None:
    scheduler = TestScheduler()
    inners = calls(scheduler, ["a", "b", "u"])
    source = scheduler.create_hot_observable(on_next(210, "a"), on_next(211, "b"), on_next(212, "u"))
    listener = RecordingListener()
    lane = priority_merge(inners.__getitem__, max_concurrent=2, priority=urgency, name="reply", listener=listener)
    results = scheduler.start(lambda: source.pipe(lane), disposed=250)
    assert results.messages == []
    assert source.subscriptions == [subscribe(200, 250)]
    assert inners["a"].subscriptions == [subscribe(210, 250)]
    assert inners["b"].subscriptions == [subscribe(211, 250)]
    assert inners["u"].subscriptions == []
    assert listener.of("lane_waiting")[-2:] == [("reply", 1), ("reply", 0)]  # u waited; disposal let it go


def test_each_subscription_has_its_own_queue() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(1, "a"), on_next(2, "b"), on_next(3, "u"), on_completed(4))

    def call(item: str) -> Observable[str]:
        return scheduler.create_cold_observable(on_next(10, item), on_completed(10))

    lane = source.pipe(priority_merge(call, max_concurrent=1, priority=urgency))
    first, second = scheduler.create_observer(), scheduler.create_observer()
    scheduler.schedule_absolute(200, lambda *_: lane.subscribe(first))
    scheduler.schedule_absolute(205, lambda *_: lane.subscribe(second))
    scheduler.start()
    assert values(first.messages) == ["a", "u", "b"]
    assert values(second.messages) == ["a", "u", "b"]


def test_a_long_queue_does_not_recurse() -> None:
    """``just`` is trampolined, so all but the first wait; each end starts the next without nesting."""
    results: list[int] = []

    def third(i: int) -> int:
        return i % 3

    lane = priority_merge(reactivex.just, max_concurrent=1, priority=third)
    reactivex.from_iterable(range(20_000)).pipe(lane).subscribe(results.append)
    assert results[:4] == [0, 2, 5, 8] and sorted(results) == list(range(20_000))


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_checks_max_concurrent(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"priority_merge\('reply'\)\.max_concurrent: expected an integer >= 1, got"):
        priority_merge(reactivex.just, max_concurrent=bad, priority=urgency, name="reply")


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5), st.integers(1, 20)), min_size=1, max_size=30),
    slots=st.integers(1, 4),
)
def test_never_more_than_n_at_once_and_the_best_waiting_item_always_starts(
    items: list[tuple[int, int, int]], slots: int
) -> None:
    """items: (priority, gap before it arrives, duration) each, in ticks."""
    scheduler = TestScheduler()
    arrivals, at = [], 200
    for i, (_, gap, _) in enumerate(items):
        at += gap
        arrivals.append(on_next(at + 1, i))
    inners = [scheduler.create_cold_observable(on_next(d, i), on_completed(d)) for i, (_, _, d) in enumerate(items)]
    source = scheduler.create_hot_observable(*arrivals, on_completed(at + 2))
    lane = priority_merge(inners.__getitem__, max_concurrent=slots, priority=lambda i: items[i][0])
    results = scheduler.start(lambda: source.pipe(lane), disposed=100_000)

    spans: list[Subscription] = [inner.subscriptions[0] for inner in inners]
    assert all(len(inner.subscriptions) == 1 for inner in inners)  # each item started exactly once
    assert results.messages[-1] == on_completed(max(s.unsubscribe for s in spans))
    arrived = {i: m.time for i, m in enumerate(arrivals)}
    for i, span in enumerate(spans):
        running = [j for j, other in enumerate(spans) if other.subscribe <= span.subscribe < other.unsubscribe]
        assert len(running) <= slots
        if span.subscribe > arrived[i]:  # it waited: nobody better was waiting when it started
            waiting = [j for j in range(len(items)) if arrived[j] < span.subscribe < spans[j].subscribe]
            assert all((-items[j][0], j) > (-items[i][0], i) for j in waiting)
