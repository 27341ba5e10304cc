"""The breaker's arithmetic: rates exactly at a threshold open it, time-window edges are exact, the rates it exposes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from operators import BreakerPolicy, BreakerState, CircuitBreaker
from operators._window import OutcomeWindow, micros
from tests.operators.breaker_support import trip


def judged(policy: BreakerPolicy, outcomes: list[str]) -> CircuitBreaker:
    """A breaker that saw ``outcomes`` (``ok``, ``fail``, ``slow``) one second apart, each lasting 0 s or 10 s."""
    breaker = CircuitBreaker(policy)
    for t, outcome in enumerate(outcomes):
        permit = breaker.acquire(float(t))
        if outcome == "fail":
            breaker.on_error(permit, float(t), 0.0, ConnectionError())
        else:
            breaker.on_success(permit, float(t), 10.0 if outcome == "slow" else 0.0)
    return breaker


def count_window(calls: int, **kwargs: float) -> BreakerPolicy:
    return BreakerPolicy(window_calls=calls, minimum_calls=calls, slow_call_duration_s=5.0, **kwargs)  # type: ignore[arg-type]


# Resilience4j's own scenarios: a rate exactly at a non-default threshold opens ("equal or greater").
@pytest.mark.parametrize(
    ("calls", "bad", "threshold", "kind"),
    [(100, 55, 0.55, "fail"), (25, 7, 0.28, "fail"), (25, 14, 0.56, "slow"), (100, 7, 0.07, "fail")],
)
def test_a_rate_exactly_at_the_threshold_opens_and_one_call_fewer_does_not(
    calls: int, bad: int, threshold: float, kind: str
) -> None:
    key = "failure_rate_threshold" if kind == "fail" else "slow_call_rate_threshold"
    policy = count_window(calls, **{key: threshold})
    at = judged(policy, ["ok"] * (calls - bad) + [kind] * bad)
    assert at.state is BreakerState.OPEN
    below = judged(policy, ["ok"] * (calls - bad + 1) + [kind] * (bad - 1))
    assert below.state is BreakerState.CLOSED


def probed(slow_probes: int, probes: int, threshold: float) -> CircuitBreaker:
    """A breaker opened once, then half-open with ``probes`` probes of which ``slow_probes`` were slow."""
    policy = BreakerPolicy(
        window_calls=1,
        minimum_calls=1,
        half_open_calls=probes,
        slow_call_duration_s=5.0,
        slow_call_rate_threshold=threshold,
        open_for_s=1.0,
    )
    breaker = CircuitBreaker(policy)
    trip(breaker, 0.0)
    permits = [breaker.acquire(1.0) for _ in range(probes)]
    for i, permit in enumerate(permits):
        breaker.on_success(permit, 2.0, 10.0 if i < slow_probes else 0.0)
    return breaker


def test_half_open_probes_exactly_at_the_slow_threshold_reopen() -> None:
    assert probed(14, 25, 0.56).state is BreakerState.OPEN
    assert probed(13, 25, 0.56).state is BreakerState.CLOSED


@settings(max_examples=5, deadline=None)
@pytest.mark.parametrize("percent", range(1, 101))
@given(calls=st.integers(min_value=1, max_value=300), data=st.data())
def test_every_whole_percentage_judges_as_integer_arithmetic_does(
    percent: int, calls: int, data: st.DataObject
) -> None:
    boundary = -(-percent * calls // 100)  # the fewest bad calls that reach percent %
    near = st.sampled_from([b for b in (boundary - 1, boundary) if 0 <= b <= calls])
    bad = data.draw(near | st.integers(min_value=0, max_value=calls), label="bad")
    kind = data.draw(st.sampled_from(["fail", "slow"]), label="kind")
    key = "failure_rate_threshold" if kind == "fail" else "slow_call_rate_threshold"
    breaker = judged(count_window(calls, **{key: percent / 100}), ["ok"] * (calls - bad) + [kind] * bad)
    opens = bad * 100 >= percent * calls
    assert breaker.state is (BreakerState.OPEN if opens else BreakerState.CLOSED)
    # closed or open, the rate is the window's: judged once it holds minimum_calls (= calls)
    assert breaker.failure_rate(float(calls)) == (bad / calls if kind == "fail" else 0.0)


# opens on two failures within a time window of 5 s
TWO_FAILURES_IN_5_S = BreakerPolicy(sliding_window="time", window_s=5.0, minimum_calls=2, failure_rate_threshold=1.0)


def test_a_time_window_forgets_an_outcome_exactly_window_s_old() -> None:
    breaker = CircuitBreaker(TWO_FAILURES_IN_5_S)
    trip(breaker, 6.2)
    # 11.2 - 6.2 is 5 s: the first failure has left the window (in floats 11.2 - 5.0 < 6.2)
    trip(breaker, 11.2)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failure_rate(11.2) == -1.0


def test_a_time_window_keeps_an_outcome_just_younger_than_window_s() -> None:
    breaker = CircuitBreaker(TWO_FAILURES_IN_5_S)
    trip(breaker, 6.3)
    trip(breaker, 11.299999)
    assert breaker.state is BreakerState.OPEN


def test_the_window_counts_an_outcome_at_t_while_now_minus_t_is_below_the_span() -> None:
    window = OutcomeWindow(span_s=0.3)
    window.record(0.1, failed=True, slow=False)
    window.record(0.2, failed=False, slow=True)
    assert window.counts(0.399999) == (2, 1, 1)  # 0.1 is 0.299999 s old
    assert window.counts(0.4) == (1, 0, 1)  # 0.1 + 0.3 is 0.4 exactly (0.30000000000000004 in floats)
    assert window.counts(0.5) == (0, 0, 0)
    assert micros(11.2) - micros(6.2) == micros(5.0) == 5_000_000


def test_a_count_window_keeps_the_newest_calls() -> None:
    window = OutcomeWindow(calls=3)
    for failed, slow in [(True, True), (True, False), (False, False), (False, True)]:
        window.record(0.0, failed=failed, slow=slow)
    assert window.counts(1e9) == (3, 1, 1)  # the first (failed and slow) fell out; time does not matter
    window.clear()
    assert window.counts(0.0) == (0, 0, 0)


def test_rates_are_minus_one_until_minimum_calls_then_the_window_shares() -> None:
    policy = BreakerPolicy(window_calls=4, minimum_calls=3, failure_rate_threshold=0.9, slow_call_duration_s=5.0)
    breaker = judged(policy, ["fail", "slow"])
    assert (breaker.failure_rate(2.0), breaker.slow_call_rate(2.0)) == (-1.0, -1.0)
    permit = breaker.acquire(2.0)
    breaker.on_success(permit, 2.0, 0.0)
    assert (breaker.failure_rate(3.0), breaker.slow_call_rate(3.0)) == (pytest.approx(1 / 3), pytest.approx(1 / 3))
    for t in (3.0, 4.0, 5.0):  # the window keeps 4: the failure and the slow call fall out
        breaker.on_success(breaker.acquire(t), t, 0.0)
    assert (breaker.failure_rate(6.0), breaker.slow_call_rate(6.0)) == (0.0, 0.0)
    assert breaker.state is BreakerState.CLOSED


def test_rates_while_open_are_those_that_opened_it_and_minus_one_while_half_open() -> None:
    policy = BreakerPolicy(
        window_calls=4, minimum_calls=4, slow_call_duration_s=5.0, open_for_s=10.0, half_open_calls=2
    )
    breaker = judged(policy, ["fail", "slow", "fail", "ok"])
    assert breaker.state is BreakerState.OPEN
    assert (breaker.failure_rate(100.0), breaker.slow_call_rate(100.0)) == (0.5, 0.25)
    probe = breaker.acquire(20.0)
    assert breaker.state is BreakerState.HALF_OPEN
    assert (breaker.failure_rate(20.0), breaker.slow_call_rate(20.0)) == (-1.0, -1.0)
    breaker.on_error(probe, 21.0, 0.0, ConnectionError())  # one probe of one ended: reopened by a failure
    assert (breaker.failure_rate(21.0), breaker.slow_call_rate(21.0)) == (1.0, 0.0)
    breaker.force_open(22.0)
    assert breaker.failure_rate(22.0) == -1.0
    breaker.disable(23.0)
    assert breaker.slow_call_rate(23.0) == -1.0


def test_slow_probes_that_reopen_it_show_as_its_slow_rate() -> None:
    breaker = probed(2, 2, 1.0)
    assert breaker.state is BreakerState.OPEN
    assert (breaker.failure_rate(3.0), breaker.slow_call_rate(3.0)) == (0.0, 1.0)


def test_a_time_window_rate_forgets_old_outcomes() -> None:
    policy = BreakerPolicy(sliding_window="time", window_s=10.0, minimum_calls=1, failure_rate_threshold=1.0)
    breaker = judged(policy, ["ok", "ok"])
    assert breaker.failure_rate(10.5) == 0.0  # the call at 1 is still in
    assert breaker.failure_rate(11.0) == -1.0  # both are 10 s old or more
