"""bulkhead in virtual time: N in flight, M waiting in order, the rest refused."""

from __future__ import annotations

import pytest
import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import TestScheduler

from operators import Bulkhead, BulkheadFullError, BulkheadPolicy, RecordingListener, bulkhead
from tests.operators.operator_support import on_completed, on_next, subscribe, timed_values


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
