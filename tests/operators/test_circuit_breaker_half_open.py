"""The breaker's half-open periods: how many probes start, what they free and how they are judged."""

from __future__ import annotations

import pytest

from operators import (
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    RecordingListener,
)
from tests.operators.breaker_support import judged_on_each_call, rejected_for, trip


def test_a_disposed_probe_frees_its_slot() -> None:
    breaker = CircuitBreaker(judged_on_each_call(open_for_s=1.0, half_open_calls=1))
    breaker.on_error(breaker.acquire(0.0), 0.0, 0.0, ConnectionError())
    probe = breaker.acquire(5.0)
    with pytest.raises(CircuitOpenError):
        breaker.acquire(5.0)
    breaker.release(probe)
    breaker.on_success(breaker.acquire(6.0), 6.0, 0.0)
    assert breaker.state is BreakerState.CLOSED


def test_a_probe_still_running_from_an_earlier_half_open_period_counts_against_the_limit() -> None:
    policy = judged_on_each_call(open_for_s=5.0, open_for_multiplier=1.0, half_open_calls=2)
    breaker = CircuitBreaker(policy)
    breaker.on_error(breaker.acquire(0.0), 0.0, 0.0, ConnectionError())
    first, slow = breaker.acquire(5.0), breaker.acquire(5.0)
    breaker.on_error(first, 6.0, 1.0, ConnectionError())  # reopens until 11; `slow` still runs
    assert breaker.state is BreakerState.OPEN
    breaker.acquire(11.0)  # half-open again: one new probe beside the old one
    with pytest.raises(CircuitOpenError):
        breaker.acquire(11.0)
    assert breaker.probes_running == 2
    breaker.on_success(slow, 12.0, 7.0)  # its period is over: it frees a slot but does not count
    breaker.acquire(12.0)
    assert breaker.probes_running == 2


def test_a_half_open_period_lets_only_half_open_calls_probes_start_even_when_some_have_ended() -> None:
    policy = judged_on_each_call(open_for_s=1.0, half_open_calls=2)
    breaker = CircuitBreaker(policy)
    trip(breaker, 0.0)
    first, second = breaker.acquire(1.0), breaker.acquire(1.0)
    breaker.on_success(first, 2.0, 1.0)
    assert breaker.state is BreakerState.HALF_OPEN and breaker.probes_running == 1
    assert rejected_for(breaker, 2.0) == 0.0  # one slot is free, but this period's two probes are taken
    breaker.on_success(second, 3.0, 2.0)
    assert breaker.state is BreakerState.CLOSED


@pytest.mark.parametrize(("slow", "state"), [(1, BreakerState.CLOSED), (2, BreakerState.OPEN), (3, BreakerState.OPEN)])
def test_half_open_judges_the_share_of_slow_probes(slow: int, state: BreakerState) -> None:
    policy = judged_on_each_call(
        open_for_s=1.0, half_open_calls=4, slow_call_duration_s=5.0, slow_call_rate_threshold=0.5
    )
    breaker = CircuitBreaker(policy)
    trip(breaker, 0.0)
    probes = [breaker.acquire(1.0) for _ in range(4)]
    for i, permit in enumerate(probes):
        assert breaker.state is BreakerState.HALF_OPEN  # judged only when the last one ends
        breaker.on_success(permit, 10.0, 9.0 if i < slow else 1.0)
    assert breaker.state is state


def test_a_probe_failure_reopens_before_the_other_probes_end() -> None:
    policy = judged_on_each_call(open_for_s=1.0, half_open_calls=3)
    breaker = CircuitBreaker(policy)
    trip(breaker, 0.0)
    first, second, _ = (breaker.acquire(1.0) for _ in range(3))
    breaker.on_success(first, 2.0, 1.0)
    breaker.on_error(second, 2.0, 1.0, ConnectionError())
    assert breaker.state is BreakerState.OPEN


def test_an_ignored_or_disposed_probe_gives_its_place_in_the_period_back() -> None:
    policy = judged_on_each_call(open_for_s=1.0, half_open_calls=2, ignore=lambda e: isinstance(e, KeyError))
    breaker = CircuitBreaker(policy)
    trip(breaker, 0.0)
    first, second = breaker.acquire(1.0), breaker.acquire(1.0)
    breaker.on_error(first, 2.0, 1.0, KeyError("ignored"))
    breaker.release(second)
    assert breaker.probes_running == 0
    third, fourth = breaker.acquire(2.0), breaker.acquire(2.0)  # two places again
    rejected_for(breaker, 2.0)
    breaker.on_success(third, 3.0, 1.0)
    assert breaker.state is BreakerState.HALF_OPEN  # an ignored probe is not one that ended well
    rejected_for(breaker, 3.0)  # two probes started in this period: no third, though a slot is free
    breaker.on_success(fourth, 3.0, 1.0)
    assert breaker.state is BreakerState.CLOSED


def test_a_probe_of_an_earlier_period_that_ends_does_not_give_back_a_place_in_this_one() -> None:
    policy = judged_on_each_call(open_for_s=5.0, open_for_multiplier=1.0, half_open_calls=2)
    breaker = CircuitBreaker(policy)
    trip(breaker, 0.0)
    failing, old = breaker.acquire(5.0), breaker.acquire(5.0)
    breaker.on_error(failing, 6.0, 1.0, ConnectionError())  # reopens until 11; `old` still runs
    first = breaker.acquire(11.0)  # half-open again: one place of two taken
    breaker.release(old)  # frees a slot, but this period's count of started probes stays 1
    second = breaker.acquire(11.0)
    breaker.on_success(first, 12.0, 1.0)
    assert rejected_for(breaker, 12.0) == 0.0  # this period's two probes have started
    breaker.on_success(second, 12.0, 1.0)
    assert breaker.state is BreakerState.CLOSED


def test_outcomes_of_calls_permitted_before_a_transition_do_not_move_the_breaker() -> None:
    listener = RecordingListener()
    policy = judged_on_each_call(open_for_s=1.0, half_open_calls=1)
    breaker = CircuitBreaker(policy, name="llm", listener=listener)
    old = breaker.acquire(0.0)
    trip(breaker, 0.0)
    breaker.on_success(breaker.acquire(1.0), 1.0, 0.0)  # half-open, closed again
    breaker.on_error(old, 2.0, 2.0, ConnectionError())  # from the first closed period
    assert breaker.state is BreakerState.CLOSED
    assert listener.of("breaker_call")[-1] == ("llm", "failure", 2.0)  # still reported
