"""budget in virtual time: N calls per window or until reset, fail fast beyond, remaining observable."""

from __future__ import annotations

from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import TestScheduler

from operators import BudgetExceededError, BudgetPolicy, CallBudget, RecordingListener, budget
from tests.operators.operator_support import on_completed, on_error, on_next, subscribe, timed_values
from tests.operators.policy_shape import assert_policy_rejects, assert_policy_shape


def run(calls: CallBudget, ticks: list[int]) -> tuple[list[Any], list[Any]]:
    scheduler = TestScheduler()
    sources = [scheduler.create_cold_observable(on_next(1, f"r{i}"), on_completed(1)) for i in range(len(ticks))]
    triggers = scheduler.create_hot_observable(*[on_next(t, i) for i, t in enumerate(ticks)])

    def one(i: int) -> Observable[str]:
        return sources[i].pipe(budget(calls), ops.catch(lambda e, _: reactivex.of(f"!{type(e).__name__}")))

    results = scheduler.start(lambda: triggers.pipe(ops.flat_map(one)))
    return timed_values(results.messages), [s.subscriptions for s in sources]


def test_at_most_n_calls_in_any_window() -> None:
    listener = RecordingListener()
    calls = CallBudget(BudgetPolicy(max_calls=2, window_s=10.0), name="mind", listener=listener)
    seen, subs = run(calls, [210, 215, 219, 220, 224])
    assert seen == [(211, "r0"), (216, "r1"), (219, "!BudgetExceededError"), (221, "r3"), (224, "!BudgetExceededError")]
    assert subs[2] == [] and subs[4] == []
    assert subs[3] == [subscribe(220, 221)]  # the call at 210 left the window at 220
    assert listener.of("budget_remaining") == [("mind", 1), ("mind", 0), ("mind", 0), ("mind", 0), ("mind", 0)]
    assert len(listener.of("budget_rejected")) == 2


def test_until_reset() -> None:
    calls = CallBudget(BudgetPolicy(max_calls=1, window_s=None), name="mind")
    calls.spend(0.0)
    with pytest.raises(BudgetExceededError, match="mind: budget of 1 call\\(s\\) until the next reset is spent"):
        calls.spend(1e9)
    assert calls.remaining(1e9) == 0
    calls.reset()
    assert calls.remaining(1e9) == 1


def test_checks() -> None:
    with pytest.raises(ValueError, match="BudgetPolicy.max_calls: expected an integer >= 1, got 0"):
        BudgetPolicy(max_calls=0)
    with pytest.raises(ValueError, match="BudgetPolicy.window_s: expected seconds > 0, or None"):
        BudgetPolicy(window_s=0.0)


def test_a_call_leaves_the_window_exactly_window_s_later() -> None:
    calls = CallBudget(BudgetPolicy(max_calls=1, window_s=10.0))
    calls.spend(6.2)
    assert calls.remaining(16.199999) == 0
    assert calls.remaining(16.2) == 1  # 10 s after 6.2 (in floats 16.2 - 10.0 is below 6.2)
    assert calls.spend(16.2) == 0


def test_a_heavy_call_spends_its_cost_and_one_beyond_the_budget_spends_nothing() -> None:
    listener = RecordingListener()
    calls = CallBudget(BudgetPolicy(max_calls=5, window_s=10.0), name="mind", listener=listener)
    assert calls.spend(0.0, 3) == 2
    with pytest.raises(BudgetExceededError) as raised:
        calls.spend(1.0, 3)
    assert (raised.value.max_calls, raised.value.window_s, raised.value.name) == (5, 10.0, "mind")
    assert calls.remaining(1.0) == 2
    assert calls.spend(2.0, 2) == 0  # exactly what is left
    assert calls.remaining(9.999999) == 0
    assert calls.remaining(10.0) == 3  # the cost of 3 spent at 0 comes back at once
    assert calls.remaining(12.0) == 5
    assert listener.reports == [
        ("budget_remaining", ("mind", 2)),
        ("budget_rejected", ("mind",)),
        ("budget_remaining", ("mind", 2)),
        ("budget_remaining", ("mind", 0)),
    ]


def test_reset_gives_the_whole_budget_back_and_says_so() -> None:
    listener = RecordingListener()
    calls = CallBudget(BudgetPolicy(max_calls=3, window_s=60.0), name="mind", listener=listener)
    calls.spend(0.0, 2)
    calls.reset()
    assert calls.remaining(1.0) == 3
    assert listener.of("budget_remaining") == [("mind", 1), ("mind", 3)]
    assert calls.spend(1.0, 3) == 0


def test_until_reset_time_never_gives_calls_back() -> None:
    calls = CallBudget(BudgetPolicy(max_calls=2, window_s=None))
    calls.spend(0.0)
    assert calls.remaining(1e12) == 1
    calls.spend(1e12)
    with pytest.raises(BudgetExceededError):
        calls.spend(2e12)


def test_budget_defaults_and_every_policy_bound() -> None:
    assert BudgetPolicy() == BudgetPolicy(max_calls=120, window_s=3600.0)
    assert CallBudget().name == "budget" and CallBudget().remaining(0.0) == 120
    BudgetPolicy(max_calls=1, window_s=1e-9)  # the bounds themselves
    bad: list[tuple[dict[str, Any], str]] = [
        ({"max_calls": -1}, "BudgetPolicy.max_calls: expected an integer >= 1, got -1"),
        ({"max_calls": 2.0}, "BudgetPolicy.max_calls: expected an integer >= 1, got 2.0"),
        ({"window_s": -5.0}, "BudgetPolicy.window_s: expected seconds > 0, or None for 'until reset', got -5.0"),
        ({"window_s": float("inf")}, "BudgetPolicy.window_s: expected seconds > 0, or None for 'until reset', got inf"),
    ]
    assert_policy_rejects(BudgetPolicy, bad)


def test_the_budget_policy_is_a_frozen_slotted_keyword_only_value() -> None:
    assert_policy_shape(BudgetPolicy)


def test_calls_spent_before_a_reset_do_not_come_back_after_it() -> None:
    calls = CallBudget(BudgetPolicy(max_calls=3, window_s=60.0))
    calls.spend(0.0, 2)
    calls.reset()
    calls.spend(1.0, 3)
    assert calls.remaining(60.5) == 0  # the 2 spent before the reset are gone for good, not given back at 60
    assert calls.remaining(61.0) == 3


def test_the_operator_spends_its_cost_and_refuses_a_call_it_cannot_pay_without_subscribing_it() -> None:
    calls = CallBudget(BudgetPolicy(max_calls=3, window_s=10.0), name="mind")
    scheduler = TestScheduler()
    heavy = [scheduler.create_cold_observable(on_next(1, f"r{i}"), on_completed(1)) for i in range(2)]
    scheduler.schedule_absolute(205, lambda *_: heavy[0].pipe(budget(calls, cost=2)).subscribe(scheduler=scheduler))
    results = scheduler.start(lambda: heavy[1].pipe(budget(calls, cost=2)), subscribed=210)
    assert results.messages == [on_error(210, BudgetExceededError("mind", 3, 10.0))]
    assert heavy[0].subscriptions == [subscribe(205, 206)] and heavy[1].subscriptions == []
    assert calls.remaining(210.0) == 1


def test_the_operator_reads_the_clock_it_is_given() -> None:
    calls = CallBudget(BudgetPolicy(max_calls=1, window_s=10.0))
    elsewhere = TestScheduler()
    elsewhere.advance_to(1000.0)
    scheduler = TestScheduler()
    call = scheduler.create_cold_observable(on_next(1, "r"), on_completed(1))
    scheduler.start(lambda: call.pipe(budget(calls, scheduler=elsewhere)))
    assert calls.remaining(1009.999) == 0 and calls.remaining(1010.0) == 1  # spent at 1000, not at 200


def test_the_operator_checks_its_cost() -> None:
    calls = CallBudget(BudgetPolicy(max_calls=3), name="mind")
    budget(calls, cost=1)
    budget(calls, cost=3)  # the bounds themselves
    for bad in (0, 4, 1.0):
        with pytest.raises(ValueError) as raised:
            budget(calls, cost=bad)  # type: ignore[arg-type]
        assert str(raised.value) == f"budget('mind').cost: expected an integer from 1 to max_calls=3, got {bad}"


def test_a_refusal_says_in_seconds_when_a_call_is_free_again() -> None:
    calls = CallBudget(BudgetPolicy(max_calls=2, window_s=50.0))
    calls.spend(210.0)
    calls.spend(220.0)
    with pytest.raises(BudgetExceededError) as refused:
        calls.spend(230.0)
    assert refused.value.free_in_s == pytest.approx(30.0)  # the call of 210 leaves the window at 260
