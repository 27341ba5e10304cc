"""circuit_breaker in virtual time: when it opens, rejects, probes, closes and reopens."""

from __future__ import annotations

import pytest
from reactivex.testing import TestScheduler

from operators import (
    BreakerPolicy,
    BreakerState,
    BudgetExceededError,
    CircuitBreaker,
    CircuitOpenError,
    circuit_breaker,
)
from tests.operators.breaker_support import COUNT4, Run, fail, judged_on_each_call, ok, trip
from tests.operators.operator_support import on_completed, on_error, on_next, subscribe


def test_opens_at_the_exact_tick_the_failure_rate_reaches_the_threshold() -> None:
    run = Run(COUNT4, [(210, fail()), (220, fail()), (230, fail()), (240, ok()), (250, ok())])
    # three failures are not judged (minimum_calls=4); the 4th call ends at 241: 3/4 >= 0.5
    assert run.listener.seen == [(241.0, "closed", "open")]
    assert run.values() == [
        (211, "!ConnectionError"),
        (221, "!ConnectionError"),
        (231, "!ConnectionError"),
        (241, "ok"),
        (250, "!CircuitOpenError"),
    ]
    assert run.calls[3].subscriptions == [subscribe(240, 241)]
    assert run.calls[4].subscriptions == []


def test_below_the_threshold_stays_closed() -> None:
    run = Run(COUNT4, [(210, fail()), (220, ok()), (230, ok()), (240, ok()), (250, ok())])
    assert run.listener.seen == []
    assert run.breaker.state is BreakerState.CLOSED
    assert run.calls[4].subscriptions == [subscribe(250, 251)]


def test_rejects_while_open_saying_for_how_long() -> None:
    run = Run(COUNT4, [(210, fail()), (220, fail()), (230, fail()), (240, fail()), (251, ok()), (270, ok())])
    assert run.listener.seen == [(241.0, "closed", "open")]
    assert [c.subscriptions for c in run.calls[4:]] == [[], []]
    error = CircuitOpenError("llm", "open", 20.0)
    assert "a probe is allowed in 20 s" in str(error)
    assert run.listener.outcomes[-2:] == ["rejected", "rejected"]


def test_goes_half_open_after_open_for_s_and_closes_after_the_probes_succeed() -> None:
    plan = [(210, fail()), (220, fail()), (230, fail()), (240, fail())]
    plan += [(270, ok()), (271, ok(5)), (272, ok(5)), (273, ok()), (280, ok())]
    run = Run(COUNT4, plan)
    # open at 241 for 30: the call at 270 is still rejected; the one at 271 probes
    assert run.listener.seen == [
        (241.0, "closed", "open"),
        (271.0, "open", "half_open"),
        (277.0, "half_open", "closed"),
    ]
    assert run.calls[4].subscriptions == []
    assert run.calls[5].subscriptions == [subscribe(271, 276)]
    assert run.calls[6].subscriptions == [subscribe(272, 277)]
    assert run.calls[7].subscriptions == []  # both probes were running: rejected
    assert run.calls[8].subscriptions == [subscribe(280, 281)]


def test_reopens_on_a_probe_failure_and_the_wait_grows() -> None:
    policy = BreakerPolicy(
        failure_rate_threshold=0.5,
        window_calls=2,
        minimum_calls=2,
        open_for_s=10.0,
        open_for_multiplier=2.0,
        open_for_max_s=15.0,
        half_open_calls=1,
    )
    plan = [(210, fail()), (211, fail()), (230, fail()), (249, ok()), (252, ok()), (280, ok())]
    run = Run(policy, plan)
    assert run.listener.seen == [
        (212.0, "closed", "open"),  # open until 222
        (230.0, "open", "half_open"),
        (231.0, "half_open", "open"),  # second opening: 10 × 2 = 20 > 15, capped: until 246
        (249.0, "open", "half_open"),
        (250.0, "half_open", "closed"),
    ]
    assert run.calls[3].subscriptions == [subscribe(249, 250)]


def test_counts_slow_calls() -> None:
    policy = BreakerPolicy(slow_call_rate_threshold=1.0, slow_call_duration_s=5.0, window_calls=2, minimum_calls=2)
    run = Run(policy, [(210, ok(5)), (220, ok(4)), (230, ok(6)), (240, ok(7)), (250, ok())])
    # a call of 5 s or more is slow; two slow calls in a window of two open it
    assert run.listener.outcomes == ["slow", "success", "slow", "slow", "rejected"]
    assert run.listener.seen == [(247.0, "closed", "open")]
    assert run.calls[4].subscriptions == []


def test_ignores_ignored_errors_and_counts_unrecorded_ones_as_success() -> None:
    policy = BreakerPolicy(
        window_calls=2,
        minimum_calls=2,
        ignore=lambda e: isinstance(e, ValueError),
        record=lambda e: not isinstance(e, KeyError),
    )
    run = Run(
        policy,
        [
            (210, fail(1, ValueError("bad prompt"))),
            (220, fail(1, ValueError("bad"))),
            (230, fail(1, KeyError("k"))),
            (240, fail()),
            (250, ok()),
        ],
    )
    assert run.listener.outcomes == ["ignored", "ignored", "success", "failure", "rejected"]
    assert run.listener.seen == [(241.0, "closed", "open")]


def test_rejections_from_inner_operators_are_ignored_by_default() -> None:
    run = Run(judged_on_each_call(), [(210, fail(1, BudgetExceededError("b", 1, None)))])
    assert run.listener.outcomes == ["ignored"]
    assert run.breaker.state is BreakerState.CLOSED


def test_a_time_window_forgets_old_outcomes() -> None:
    policy = BreakerPolicy(sliding_window="time", window_s=10.0, minimum_calls=2, failure_rate_threshold=1.0)
    # failures at 211 and 222 are 11 apart: never two in one window
    run = Run(policy, [(210, fail()), (221, fail()), (230, fail())])
    assert run.listener.seen == [(231.0, "closed", "open")]


def test_the_operator_reports_each_call_with_its_duration_on_the_scheduler_clock() -> None:
    policy = BreakerPolicy(window_calls=3, minimum_calls=3, slow_call_duration_s=4.0)
    run = Run(policy, [(210, ok(3)), (220, fail(5)), (230, ok(4))])
    assert run.listener.outcomes == ["success", "failure", "slow"]
    assert run.listener.durations == [3.0, 5.0, 4.0]
    assert run.breaker.failure_rate(300.0) == pytest.approx(1 / 3)
    assert run.breaker.slow_call_rate(300.0) == pytest.approx(2 / 3)  # the failure lasted 5 s: slow too


def test_a_probe_that_ends_frees_its_slot_once_and_a_disposed_one_frees_it_too() -> None:
    policy = judged_on_each_call(open_for_s=5.0, half_open_calls=1)
    scheduler = TestScheduler()
    breaker = CircuitBreaker(policy)
    trip(breaker, 0.0)
    probe = scheduler.create_cold_observable(on_next(2, "ok"), on_completed(2))
    results = scheduler.start(lambda: probe.pipe(circuit_breaker(breaker)))
    assert results.messages == [on_next(202, "ok"), on_completed(202)]
    assert breaker.state is BreakerState.CLOSED and breaker.probes_running == 0  # ended, then disposed: not -1
    trip(breaker, 300.0)
    hanging = TestScheduler()
    slow = hanging.create_cold_observable(on_next(50, "late"), on_completed(50))
    hanging.start(
        lambda: slow.pipe(circuit_breaker(breaker, scheduler=hanging)), created=300, subscribed=305, disposed=310
    )
    assert slow.subscriptions == [subscribe(305, 310)]
    assert breaker.probes_running == 0 and breaker.state is BreakerState.HALF_OPEN
    breaker.acquire(311.0)  # the disposed probe gave its place back


def test_a_call_disposed_before_it_ends_is_not_counted_and_its_source_is_disposed() -> None:
    breaker = CircuitBreaker(judged_on_each_call())
    scheduler = TestScheduler()
    call = scheduler.create_cold_observable(on_error(50, ConnectionError()))
    results = scheduler.start(lambda: call.pipe(circuit_breaker(breaker)), disposed=220)
    assert results.messages == [] and call.subscriptions == [subscribe(200, 220)]
    assert breaker.state is BreakerState.CLOSED and breaker.failure_rate(300.0) == -1.0


def test_a_probe_that_fails_through_the_operator_frees_its_slot_once() -> None:
    policy = judged_on_each_call(open_for_s=5.0, half_open_calls=1)
    breaker = CircuitBreaker(policy)
    trip(breaker, 0.0)
    scheduler = TestScheduler()
    probe = scheduler.create_cold_observable(on_error(2, ConnectionError()))
    results = scheduler.start(lambda: probe.pipe(circuit_breaker(breaker)))
    assert len(results.messages) == 1 and results.messages[0].time == 202
    assert breaker.state is BreakerState.OPEN and breaker.probes_running == 0  # ended, then disposed: not -1
