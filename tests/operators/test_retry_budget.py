"""The retry budget: calls counted through retry, exact ratio, a window that forgets at its edge, policy checks."""

from __future__ import annotations

import math
from typing import Any

import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.notification import OnNext
from reactivex.testing import ReactiveTest, TestScheduler

from operators import RecordingListener, RetryBudget, RetryBudgetPolicy, RetryExhaustedError, RetryPolicy, retry
from tests.operators.policy_shape import assert_policy_rejects, assert_policy_shape

on_next, on_error, subscribe = ReactiveTest.on_next, ReactiveTest.on_error, ReactiveTest.subscribe

ONE_RETRY = RetryPolicy(max_attempts=2, base_delay_s=1.0, jitter=False)


def failing_calls(shared: RetryBudget, ticks: list[int]) -> tuple[list[Any], list[Any], RecordingListener]:
    """Calls at ``ticks``, each failing 1 tick after every subscription, through retry with ``shared``."""
    scheduler = TestScheduler()
    listener = RecordingListener()
    calls = [scheduler.create_cold_observable(on_error(1, ConnectionError("down"))) for _ in ticks]
    triggers = scheduler.create_hot_observable(*[on_next(t, i) for i, t in enumerate(ticks)])

    def one(i: int) -> Observable[Any]:
        def outcome(error: Exception, _: Any) -> Observable[Any]:
            reason = error.reason if isinstance(error, RetryExhaustedError) else type(error).__name__
            return reactivex.of((i, reason))

        return calls[i].pipe(retry(ONE_RETRY, name="llm", budget=shared, listener=listener), ops.catch(outcome))

    results = scheduler.start(lambda: triggers.pipe(ops.flat_map(one)))
    seen = []
    for m in results.messages:
        assert isinstance(m.value, OnNext)
        seen.append(m.value.value)
    return seen, [c.subscriptions for c in calls], listener


def test_each_call_through_retry_adds_to_the_budget() -> None:
    # ratio 0.5, no free retries: a retry for every second call
    shared = RetryBudget(RetryBudgetPolicy(ratio=0.5, window_s=100.0, min_retries=0))
    seen, subs, listener = failing_calls(shared, [210, 220, 230, 240])
    assert seen == [(0, "attempts"), (1, "retry_budget"), (2, "attempts"), (3, "retry_budget")]
    assert subs == [
        [subscribe(210, 211), subscribe(212, 213)],
        [subscribe(220, 221)],
        [subscribe(230, 231), subscribe(232, 233)],
        [subscribe(240, 241)],
    ]
    assert listener.of("retry_gave_up") == [("llm", 2, "attempts"), ("llm", 1, "retry_budget")] * 2


def test_the_ratio_is_exact() -> None:
    # 0.07 × 100 calls is 7 retries (7.000000000000001 in floats would allow an 8th)
    shared = RetryBudget(RetryBudgetPolicy(ratio=0.07, window_s=60.0, min_retries=0))
    for _ in range(100):
        shared.record_call(0.0)
    assert [shared.try_spend(1.0) for _ in range(8)] == [True] * 7 + [False]


def test_min_retries_are_allowed_without_calls_and_add_to_the_ratio() -> None:
    shared = RetryBudget(RetryBudgetPolicy(ratio=0.5, window_s=60.0, min_retries=2))
    assert [shared.try_spend(0.0) for _ in range(3)] == [True, True, False]
    shared.record_call(1.0)
    shared.record_call(1.0)
    assert [shared.try_spend(1.0) for _ in range(2)] == [True, False]  # 2 + 0.5 × 2 = 3 in all


def test_a_retry_leaves_the_window_exactly_window_s_later() -> None:
    shared = RetryBudget(RetryBudgetPolicy(ratio=0.0, window_s=10.0, min_retries=1))
    assert shared.try_spend(6.2)
    assert not shared.try_spend(16.199999)
    assert shared.try_spend(16.2)  # 10 s after 6.2 (in floats 16.2 - 10.0 is below 6.2)


def test_a_call_leaves_the_window_exactly_window_s_later() -> None:
    policy = RetryBudgetPolicy(ratio=1.0, window_s=10.0, min_retries=0)
    young, gone = RetryBudget(policy), RetryBudget(policy)
    for shared in (young, gone):
        shared.record_call(6.2)
    assert young.try_spend(16.199999)  # the call still allows one retry
    assert not gone.try_spend(16.2)  # 10 s after it, it is forgotten: no calls, no retries


def test_old_retries_are_forgotten_but_young_ones_still_count() -> None:
    shared = RetryBudget(RetryBudgetPolicy(ratio=0.0, window_s=10.0, min_retries=2))
    assert shared.try_spend(0.0) and shared.try_spend(5.0) and not shared.try_spend(9.0)
    assert shared.try_spend(10.0)  # the retry at 0 left; the one at 5 still counts
    assert not shared.try_spend(14.0)


def test_defaults_and_checks() -> None:
    assert RetryBudgetPolicy() == RetryBudgetPolicy(ratio=0.2, window_s=60.0, min_retries=3)
    RetryBudgetPolicy(ratio=0.0, min_retries=0, window_s=0.001)  # the bounds themselves are allowed
    bad: list[tuple[dict[str, Any], str]] = [
        ({"ratio": -0.1}, "RetryBudgetPolicy.ratio: expected a number >= 0, got -0.1"),
        ({"ratio": math.inf}, "RetryBudgetPolicy.ratio: expected a number >= 0, got inf"),
        ({"window_s": 0.0}, "RetryBudgetPolicy.window_s: expected a number of seconds > 0, got 0.0"),
        ({"window_s": math.nan}, "RetryBudgetPolicy.window_s: expected a number of seconds > 0, got nan"),
        ({"min_retries": -1}, "RetryBudgetPolicy.min_retries: expected an integer >= 0, got -1"),
        ({"min_retries": 1.5}, "RetryBudgetPolicy.min_retries: expected an integer >= 0, got 1.5"),
    ]
    assert_policy_rejects(RetryBudgetPolicy, bad)


def test_the_retry_budget_policy_is_a_frozen_slotted_keyword_only_value() -> None:
    assert_policy_shape(RetryBudgetPolicy)
