"""bulkhead in virtual time: N in flight, M waiting in order, the rest refused."""

from __future__ import annotations

from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import TestScheduler
from reactivex.testing.mockobserver import MockObserver
from reactivex.testing.recorded import Recorded

from operators import Bulkhead, BulkheadFullError, BulkheadPolicy, RecordingListener, bulkhead
from tests.operators.operator_support import on_completed, on_error, on_next, subscribe, timed_values
from tests.operators.policy_shape import assert_policy_rejects, assert_policy_shape


def test_runs_n_queues_m_refuses_the_rest() -> None:
    scheduler = TestScheduler()
    listener = RecordingListener()
    slots = Bulkhead(BulkheadPolicy(max_concurrent=2, max_waiting=1), name="llm", listener=listener)
    calls = [scheduler.create_cold_observable(on_next(10, f"r{i}"), on_completed(10)) for i in range(5)]
    triggers = scheduler.create_hot_observable(*[on_next(t, i) for i, t in enumerate([210, 211, 212, 213, 225])])

    def one(i: int) -> Observable[str]:
        return calls[i].pipe(bulkhead(slots), ops.catch(lambda e, _: reactivex.of(f"!{type(e).__name__}")))

    results = scheduler.start(lambda: triggers.pipe(ops.flat_map(one)))
    assert [c.subscriptions for c in calls] == [
        [subscribe(210, 220)],
        [subscribe(211, 221)],
        [subscribe(220, 230)],  # waited for the first slot
        [],  # refused at 213: two running, one waiting
        [subscribe(225, 235)],
    ]
    assert timed_values(results.messages) == [
        (213, "!BulkheadFullError"),
        (220, "r0"),
        (221, "r1"),
        (230, "r2"),
        (235, "r4"),
    ]
    assert slots.in_flight == 0 and slots.waiting == 0
    assert listener.of("bulkhead_rejected") == [("llm",)]


def test_a_waiting_call_disposed_leaves_the_queue() -> None:
    scheduler = TestScheduler()
    slots = Bulkhead(BulkheadPolicy(max_concurrent=1, max_waiting=1))
    first = scheduler.create_cold_observable(on_next(100, "a"), on_completed(100))
    second = scheduler.create_cold_observable(on_next(1, "b"), on_completed(1))
    scheduler.schedule_absolute(205, lambda *_: first.pipe(bulkhead(slots)).subscribe(scheduler=scheduler))
    scheduler.start(lambda: second.pipe(bulkhead(slots)), created=100, subscribed=210, disposed=220)
    assert second.subscriptions == []
    assert slots.waiting == 0 and slots.in_flight == 0


def test_checks() -> None:
    with pytest.raises(ValueError, match="BulkheadPolicy.max_concurrent: expected an integer >= 1, got 0"):
        BulkheadPolicy(max_concurrent=0)
    assert "2 in flight and 3 waiting" in str(BulkheadFullError("x", 2, 3))


def test_the_documented_defaults_and_the_policy_shape() -> None:
    policy = BulkheadPolicy()
    assert (policy.max_concurrent, policy.max_waiting) == (4, 16)
    assert Bulkhead().policy == policy and Bulkhead().name == "bulkhead"
    assert_policy_shape(BulkheadPolicy)


def test_policy_bounds_themselves_are_allowed() -> None:
    BulkheadPolicy(max_concurrent=1, max_waiting=0)


def test_policy_checks_say_what_expected_and_got() -> None:
    assert_policy_rejects(
        BulkheadPolicy,
        [
            ({"max_concurrent": 0}, "BulkheadPolicy.max_concurrent: expected an integer >= 1, got 0"),
            ({"max_concurrent": 2.0}, "BulkheadPolicy.max_concurrent: expected an integer >= 1, got 2.0"),
            ({"max_waiting": -1}, "BulkheadPolicy.max_waiting: expected an integer >= 0, got -1"),
            ({"max_waiting": 1.0}, "BulkheadPolicy.max_waiting: expected an integer >= 0, got 1.0"),
        ],
    )


def test_reports_slots_and_queue_on_every_change_and_each_refusal() -> None:
    listener = RecordingListener()
    slots = Bulkhead(BulkheadPolicy(max_concurrent=1, max_waiting=1), name="llm", listener=listener)
    started: list[str] = []
    assert slots.enter(lambda: started.append("first")) is True
    assert (slots.in_flight, slots.waiting) == (1, 0)
    second = lambda: started.append("second")  # noqa: E731 - withdrawn by identity
    assert slots.enter(second) is False
    assert (slots.in_flight, slots.waiting) == (1, 1)
    with pytest.raises(BulkheadFullError) as raised:
        slots.enter(lambda: started.append("third"))
    assert (raised.value.name, raised.value.max_concurrent, raised.value.max_waiting) == ("llm", 1, 1)
    slots.withdraw(second)
    slots.withdraw(second)  # not waiting any more: nothing changes, nothing is reported
    slots.leave()
    assert started == [] and (slots.in_flight, slots.waiting) == (0, 0)
    assert listener.of("bulkhead_state") == [("llm", 1, 0), ("llm", 1, 1), ("llm", 1, 0), ("llm", 0, 0)]
    assert listener.of("bulkhead_rejected") == [("llm",)]


def test_a_slot_given_back_goes_to_the_oldest_waiting_call_which_starts_at_once() -> None:
    listener = RecordingListener()
    slots = Bulkhead(BulkheadPolicy(max_concurrent=1, max_waiting=2), name="llm", listener=listener)
    started: list[str] = []
    slots.enter(lambda: started.append("first"))
    slots.enter(lambda: started.append("second"))
    slots.enter(lambda: started.append("third"))
    slots.leave()
    assert started == ["second"] and (slots.in_flight, slots.waiting) == (1, 1)
    slots.leave()
    assert started == ["second", "third"] and (slots.in_flight, slots.waiting) == (1, 0)
    assert listener.of("bulkhead_state")[-2:] == [("llm", 1, 1), ("llm", 1, 0)]  # the slot passed on, still held


def run_two(first: list[Recorded[Any]], *, disposed_first_at: int | None = None) -> tuple[Bulkhead, Any, Any]:
    """A call subscribed at 200 holding the one slot, a second queued at 205; ``first`` is the first's messages."""
    scheduler = TestScheduler()
    slots = Bulkhead(BulkheadPolicy(max_concurrent=1, max_waiting=1))
    holder = scheduler.create_cold_observable(*first)
    waiter = scheduler.create_cold_observable(on_next(1, "b"), on_completed(1))
    held: list[Any] = []

    def hold(*_: Any) -> None:
        held.append(holder.pipe(bulkhead(slots)).subscribe(on_error=lambda _: None, scheduler=scheduler))

    scheduler.schedule_absolute(200, hold)
    if disposed_first_at is not None:
        scheduler.schedule_absolute(disposed_first_at, lambda *_: held[0].dispose())
    scheduler.start(lambda: waiter.pipe(bulkhead(slots)), created=100, subscribed=205, disposed=1000)
    return slots, holder, waiter


def test_a_call_that_fails_gives_its_slot_to_the_waiting_one() -> None:
    slots, holder, waiter = run_two([on_error(10, ConnectionError("down"))])
    assert holder.subscriptions == [subscribe(200, 210)]
    assert waiter.subscriptions == [subscribe(210, 211)]
    assert (slots.in_flight, slots.waiting) == (0, 0)


def test_a_running_call_disposed_gives_its_slot_to_the_waiting_one_once() -> None:
    slots, holder, waiter = run_two([on_next(100, "a"), on_completed(100)], disposed_first_at=220)
    assert holder.subscriptions == [subscribe(200, 220)]
    assert waiter.subscriptions == [subscribe(220, 221)]
    assert (slots.in_flight, slots.waiting) == (0, 0)  # the slot was given back once, by the disposal


def test_a_full_bulkhead_fails_the_call_at_once_without_subscribing_it() -> None:
    scheduler = TestScheduler()
    slots = Bulkhead(BulkheadPolicy(max_concurrent=1, max_waiting=0), name="llm")
    slots.enter(lambda: None)
    call = scheduler.create_cold_observable(on_next(1, "a"), on_completed(1))
    results = scheduler.start(lambda: call.pipe(bulkhead(slots)))
    assert results.messages == [on_error(200, BulkheadFullError("llm", 1, 0))]
    assert call.subscriptions == []
    assert (slots.in_flight, slots.waiting) == (1, 0)


@pytest.mark.parametrize("end", ["completed", "error"])
def test_a_call_ends_downstream_as_it_ended_and_its_slot_is_handed_on_before(end: str) -> None:
    scheduler = TestScheduler()
    slots = Bulkhead(BulkheadPolicy(max_concurrent=1, max_waiting=1))
    error = ConnectionError("down")
    first = scheduler.create_cold_observable(
        on_next(5, "a"), on_completed(10) if end == "completed" else on_error(10, error)
    )
    waiting = scheduler.create_cold_observable(on_next(100, "b"), on_completed(100))
    seen_at_the_end: list[tuple[int, int]] = []
    scheduler.schedule_absolute(205, lambda *_: waiting.pipe(bulkhead(slots)).subscribe(scheduler=scheduler))
    results: MockObserver[str] = scheduler.start(
        lambda: first.pipe(
            bulkhead(slots),
            ops.do_action(
                on_completed=lambda: seen_at_the_end.append((slots.in_flight, slots.waiting)),
                on_error=lambda _: seen_at_the_end.append((slots.in_flight, slots.waiting)),
            ),
        )
    )
    ending = on_completed(210) if end == "completed" else on_error(210, error)
    assert results.messages == [on_next(205, "a"), ending]
    assert seen_at_the_end == [(1, 0)]  # the waiting call holds the slot already
    assert waiting.subscriptions == [subscribe(210, 310)]
