"""The breaker's open time, its held states and resets, and what it reports to the listener."""

from __future__ import annotations

import pytest

from operators import (
    BreakerPolicy,
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    RecordingListener,
)
from tests.operators.breaker_support import judged_on_each_call, rejected_for, trip


def test_each_consecutive_opening_waits_longer_until_the_cap_and_a_close_starts_again() -> None:
    policy = judged_on_each_call(open_for_s=10.0, open_for_multiplier=3.0, open_for_max_s=100.0, half_open_calls=1)
    breaker = CircuitBreaker(policy)
    trip(breaker, 0.0)  # open for 10
    assert rejected_for(breaker, 9.0) == 1.0
    trip(breaker, 10.0)  # a failed probe: open for 30
    assert rejected_for(breaker, 39.0) == 1.0
    trip(breaker, 40.0)  # 90
    assert rejected_for(breaker, 129.0) == 1.0
    trip(breaker, 130.0)  # 270, capped at 100
    assert rejected_for(breaker, 229.0) == 1.0
    breaker.on_success(breaker.acquire(230.0), 230.0, 0.0)
    assert breaker.state is BreakerState.CLOSED
    trip(breaker, 231.0)  # closed in between: 10 again
    assert rejected_for(breaker, 240.0) == 1.0
    breaker.acquire(241.0)
    assert breaker.state is BreakerState.HALF_OPEN


def test_reset_forgets_past_openings_and_the_window() -> None:
    policy = BreakerPolicy(window_calls=2, minimum_calls=2, open_for_s=10.0, open_for_multiplier=2.0)
    breaker = CircuitBreaker(policy)
    for t in (0.0, 1.0):
        trip(breaker, t)
    trip(breaker, 11.0)  # reopened: 20 s
    breaker.reset(12.0)
    trip(breaker, 13.0)  # one failure in a fresh window: not judged
    assert breaker.state is BreakerState.CLOSED
    trip(breaker, 14.0)
    assert rejected_for(breaker, 23.0) == 1.0  # 10 s again, not 40


def test_reset_while_closed_forgets_the_window() -> None:
    breaker = CircuitBreaker(BreakerPolicy(window_calls=2, minimum_calls=2))
    trip(breaker, 0.0)
    breaker.reset(1.0)
    trip(breaker, 2.0)  # one failure in the window, not two
    assert breaker.state is BreakerState.CLOSED and breaker.failure_rate(2.0) == -1.0


def test_reset_while_closed_leaves_the_first_wait_as_it_was() -> None:
    breaker = CircuitBreaker(judged_on_each_call(open_for_s=10.0, open_for_multiplier=2.0))
    breaker.reset(0.0)
    trip(breaker, 1.0)
    assert rejected_for(breaker, 10.0) == 1.0


def test_an_expired_open_state_stays_open_until_a_call_asks() -> None:
    breaker = CircuitBreaker(judged_on_each_call(open_for_s=5.0))
    trip(breaker, 0.0)
    assert breaker.state is BreakerState.OPEN
    assert rejected_for(breaker, 4.999) == pytest.approx(0.001)
    breaker.acquire(5.0)
    assert breaker.state is BreakerState.HALF_OPEN


def test_a_call_disposed_while_closed_counts_for_nothing() -> None:
    breaker = CircuitBreaker(BreakerPolicy(window_calls=2, minimum_calls=2))
    breaker.release(breaker.acquire(0.0))
    breaker.on_error(breaker.acquire(0.5), 0.5, 0.0, CircuitOpenError("inner", "open", 1.0))  # ignored
    assert breaker.probes_running == 0  # neither was a probe
    trip(breaker, 1.0)
    assert breaker.state is BreakerState.CLOSED and breaker.failure_rate(1.0) == -1.0
    trip(breaker, 2.0)
    assert breaker.state is BreakerState.OPEN


def test_forced_open_and_disabled_are_held_until_reset() -> None:
    breaker = CircuitBreaker(judged_on_each_call())
    breaker.force_open()
    with pytest.raises(CircuitOpenError, match="held open by hand"):
        breaker.acquire(0.0)
    breaker.disable()
    for t in range(5):
        permit = breaker.acquire(float(t))
        breaker.on_error(permit, float(t), 0.0, ConnectionError())
    assert breaker.state.value == "disabled"
    breaker.reset()
    assert breaker.state.value == "closed"
    assert [s.code for s in BreakerState] == [0, 1, 2, 3, 4]


def test_forced_open_rejects_without_a_time_and_says_its_state() -> None:
    breaker = CircuitBreaker(BreakerPolicy(), name="llm")
    breaker.force_open(0.0)
    with pytest.raises(CircuitOpenError) as raised:
        breaker.acquire(1e9)
    assert (raised.value.state, raised.value.remaining_s, raised.value.name) == ("forced_open", None, "llm")
    breaker.reset()
    trip(breaker, 0.0)
    assert breaker.state is BreakerState.CLOSED


def test_reports_every_transition_and_outcome_to_the_listener() -> None:
    listener = RecordingListener()
    policy = judged_on_each_call(open_for_s=1.0, half_open_calls=1, slow_call_duration_s=5.0)
    breaker = CircuitBreaker(policy, name="llm", listener=listener)
    breaker.on_success(breaker.acquire(0.0), 0.0, 4.0)
    breaker.on_error(breaker.acquire(1.0), 1.0, 6.0, ConnectionError())  # slow and failed: a failure
    rejected_for(breaker, 1.5)
    breaker.on_success(breaker.acquire(2.0), 2.0, 5.0)  # a slow probe: reopens
    breaker.force_open(3.0)
    breaker.force_open(4.0)  # already forced open: no transition
    breaker.disable(5.0)
    breaker.disable(6.0)
    breaker.on_error(breaker.acquire(7.0), 7.0, 1.0, ConnectionError())
    breaker.on_error(breaker.acquire(7.0), 7.0, 1.0, CircuitOpenError("inner", "open", 1.0))  # ignored, disabled
    breaker.reset(8.0)
    breaker.reset(9.0)
    assert listener.of("breaker_state") == [
        ("llm", "closed", "open"),
        ("llm", "open", "half_open"),
        ("llm", "half_open", "open"),
        ("llm", "open", "forced_open"),
        ("llm", "forced_open", "disabled"),
        ("llm", "disabled", "closed"),
    ]
    assert listener.of("breaker_call") == [
        ("llm", "success", 4.0),
        ("llm", "failure", 6.0),
        ("llm", "rejected", 0.0),
        ("llm", "slow", 5.0),
    ]
