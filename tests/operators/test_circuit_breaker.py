"""circuit_breaker in virtual time: when it opens, rejects, probes, closes and reopens."""

from __future__ import annotations

from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.notification import OnNext
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.coldobservable import ColdObservable
from reactivex.testing.recorded import Recorded

from operators import (
    BreakerPolicy,
    BreakerState,
    BudgetExceededError,
    CircuitBreaker,
    CircuitOpenError,
    NullListener,
    RecordingListener,
    circuit_breaker,
)
from tests.operators.policy_shape import assert_policy_shape

on_next, on_error, on_completed, subscribe = (
    ReactiveTest.on_next,
    ReactiveTest.on_error,
    ReactiveTest.on_completed,
    ReactiveTest.subscribe,
)


def ok(duration: int = 1) -> list[Recorded[Any]]:
    return [on_next(duration, "ok"), on_completed(duration)]


def fail(duration: int = 1, error: Exception | None = None) -> list[Recorded[Any]]:
    return [on_error(duration, error or ConnectionError("down"))]


class Transitions(NullListener):
    """Keeps each transition with the virtual time it happened at."""

    def __init__(self, scheduler: TestScheduler) -> None:
        self.scheduler = scheduler
        self.seen: list[tuple[float, str, str]] = []
        self.outcomes: list[str] = []
        self.durations: list[float] = []

    def breaker_state(self, name: str, old: str, new: str) -> None:
        self.seen.append((self.scheduler.clock, old, new))

    def breaker_call(self, name: str, outcome: str, duration_s: float) -> None:
        self.outcomes.append(outcome)
        self.durations.append(duration_s)


class Run:
    """Calls planned at given ticks, each its own cold observable, all through one breaker."""

    def __init__(self, policy: BreakerPolicy, plan: list[tuple[int, list[Recorded[Any]]]]) -> None:
        self.scheduler = TestScheduler()
        self.listener = Transitions(self.scheduler)
        self.breaker = CircuitBreaker(policy, name="llm", listener=self.listener)
        self.calls: list[ColdObservable[Any]] = [self.scheduler.create_cold_observable(*msgs) for _, msgs in plan]
        triggers = self.scheduler.create_hot_observable(*[on_next(t, i) for i, (t, _) in enumerate(plan)])

        def one(i: int) -> Observable[str]:
            return self.calls[i].pipe(
                circuit_breaker(self.breaker),
                ops.catch(lambda e, _: reactivex.of(f"!{type(e).__name__}")),
            )

        self.results = self.scheduler.start(lambda: triggers.pipe(ops.flat_map(one)))

    def values(self) -> list[tuple[float, Any]]:
        seen: list[tuple[float, Any]] = []
        for m in self.results.messages:
            assert isinstance(m.value, OnNext)
            seen.append((m.time, m.value.value))
        return seen


COUNT4 = BreakerPolicy(failure_rate_threshold=0.5, window_calls=4, minimum_calls=4, open_for_s=30.0, half_open_calls=2)


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
    run = Run(BreakerPolicy(window_calls=1, minimum_calls=1), [(210, fail(1, BudgetExceededError("b", 1, None)))])
    assert run.listener.outcomes == ["ignored"]
    assert run.breaker.state is BreakerState.CLOSED


def test_a_time_window_forgets_old_outcomes() -> None:
    policy = BreakerPolicy(sliding_window="time", window_s=10.0, minimum_calls=2, failure_rate_threshold=1.0)
    # failures at 211 and 222 are 11 apart: never two in one window
    run = Run(policy, [(210, fail()), (221, fail()), (230, fail())])
    assert run.listener.seen == [(231.0, "closed", "open")]


def test_forced_open_and_disabled_are_held_until_reset() -> None:
    breaker = CircuitBreaker(BreakerPolicy(window_calls=1, minimum_calls=1))
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


def test_a_disposed_probe_frees_its_slot() -> None:
    breaker = CircuitBreaker(BreakerPolicy(window_calls=1, minimum_calls=1, open_for_s=1.0, half_open_calls=1))
    breaker.on_error(breaker.acquire(0.0), 0.0, 0.0, ConnectionError())
    probe = breaker.acquire(5.0)
    with pytest.raises(CircuitOpenError):
        breaker.acquire(5.0)
    breaker.release(probe)
    breaker.on_success(breaker.acquire(6.0), 6.0, 0.0)
    assert breaker.state is BreakerState.CLOSED


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"failure_rate_threshold": 0.0}, "failure_rate_threshold: expected a rate in (0, 1], got 0.0"),
        ({"minimum_calls": 30, "window_calls": 20}, "minimum_calls: expected at most window_calls (20)"),
        ({"open_for_max_s": 1.0}, "open_for_max_s: expected a number >= open_for_s (30), got 1.0"),
        ({"sliding_window": "both"}, "sliding_window: expected 'count' or 'time', got 'both'"),
    ],
)
def test_policy_checks_say_what_expected_and_got(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        BreakerPolicy(**kwargs)


def test_a_probe_still_running_from_an_earlier_half_open_period_counts_against_the_limit() -> None:
    policy = BreakerPolicy(window_calls=1, minimum_calls=1, open_for_s=5.0, open_for_multiplier=1.0, half_open_calls=2)
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


def trip(breaker: CircuitBreaker, now: float) -> None:
    """One failing call at ``now`` (closed with a window of one, or a failing probe)."""
    breaker.on_error(breaker.acquire(now), now, 0.0, ConnectionError())


def rejected_for(breaker: CircuitBreaker, now: float) -> float | None:
    with pytest.raises(CircuitOpenError) as raised:
        breaker.acquire(now)
    return raised.value.remaining_s


def test_each_consecutive_opening_waits_longer_until_the_cap_and_a_close_starts_again() -> None:
    policy = BreakerPolicy(
        window_calls=1,
        minimum_calls=1,
        open_for_s=10.0,
        open_for_multiplier=3.0,
        open_for_max_s=100.0,
        half_open_calls=1,
    )
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


def test_a_half_open_period_lets_only_half_open_calls_probes_start_even_when_some_have_ended() -> None:
    policy = BreakerPolicy(window_calls=1, minimum_calls=1, open_for_s=1.0, half_open_calls=2)
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
    policy = BreakerPolicy(
        window_calls=1,
        minimum_calls=1,
        open_for_s=1.0,
        half_open_calls=4,
        slow_call_duration_s=5.0,
        slow_call_rate_threshold=0.5,
    )
    breaker = CircuitBreaker(policy)
    trip(breaker, 0.0)
    probes = [breaker.acquire(1.0) for _ in range(4)]
    for i, permit in enumerate(probes):
        assert breaker.state is BreakerState.HALF_OPEN  # judged only when the last one ends
        breaker.on_success(permit, 10.0, 9.0 if i < slow else 1.0)
    assert breaker.state is state


def test_a_probe_failure_reopens_before_the_other_probes_end() -> None:
    policy = BreakerPolicy(window_calls=1, minimum_calls=1, open_for_s=1.0, half_open_calls=3)
    breaker = CircuitBreaker(policy)
    trip(breaker, 0.0)
    first, second, _ = (breaker.acquire(1.0) for _ in range(3))
    breaker.on_success(first, 2.0, 1.0)
    breaker.on_error(second, 2.0, 1.0, ConnectionError())
    assert breaker.state is BreakerState.OPEN


def test_an_ignored_or_disposed_probe_gives_its_place_in_the_period_back() -> None:
    policy = BreakerPolicy(
        window_calls=1, minimum_calls=1, open_for_s=1.0, half_open_calls=2, ignore=lambda e: isinstance(e, KeyError)
    )
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


def test_outcomes_of_calls_permitted_before_a_transition_do_not_move_the_breaker() -> None:
    listener = RecordingListener()
    policy = BreakerPolicy(window_calls=1, minimum_calls=1, open_for_s=1.0, half_open_calls=1)
    breaker = CircuitBreaker(policy, name="llm", listener=listener)
    old = breaker.acquire(0.0)
    trip(breaker, 0.0)
    breaker.on_success(breaker.acquire(1.0), 1.0, 0.0)  # half-open, closed again
    breaker.on_error(old, 2.0, 2.0, ConnectionError())  # from the first closed period
    assert breaker.state is BreakerState.CLOSED
    assert listener.of("breaker_call")[-1] == ("llm", "failure", 2.0)  # still reported


def test_a_call_disposed_while_closed_counts_for_nothing() -> None:
    breaker = CircuitBreaker(BreakerPolicy(window_calls=2, minimum_calls=2))
    breaker.release(breaker.acquire(0.0))
    breaker.on_error(breaker.acquire(0.5), 0.5, 0.0, CircuitOpenError("inner", "open", 1.0))  # ignored
    assert breaker.probes_running == 0  # neither was a probe
    trip(breaker, 1.0)
    assert breaker.state is BreakerState.CLOSED and breaker.failure_rate(1.0) == -1.0
    trip(breaker, 2.0)
    assert breaker.state is BreakerState.OPEN


def test_an_expired_open_state_stays_open_until_a_call_asks() -> None:
    breaker = CircuitBreaker(BreakerPolicy(window_calls=1, minimum_calls=1, open_for_s=5.0))
    trip(breaker, 0.0)
    assert breaker.state is BreakerState.OPEN
    assert rejected_for(breaker, 4.999) == pytest.approx(0.001)
    breaker.acquire(5.0)
    assert breaker.state is BreakerState.HALF_OPEN


def test_reports_every_transition_and_outcome_to_the_listener() -> None:
    listener = RecordingListener()
    policy = BreakerPolicy(window_calls=1, minimum_calls=1, open_for_s=1.0, half_open_calls=1, slow_call_duration_s=5.0)
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


def test_forced_open_rejects_without_a_time_and_says_its_state() -> None:
    breaker = CircuitBreaker(BreakerPolicy(), name="llm")
    breaker.force_open(0.0)
    with pytest.raises(CircuitOpenError) as raised:
        breaker.acquire(1e9)
    assert (raised.value.state, raised.value.remaining_s, raised.value.name) == ("forced_open", None, "llm")
    breaker.reset()
    trip(breaker, 0.0)
    assert breaker.state is BreakerState.CLOSED


def test_the_documented_defaults() -> None:
    p = BreakerPolicy()
    assert (p.failure_rate_threshold, p.slow_call_rate_threshold, p.slow_call_duration_s) == (0.5, 1.0, 60.0)
    assert (p.sliding_window, p.window_calls, p.window_s, p.minimum_calls) == ("count", 10, 60.0, 4)
    assert (p.open_for_s, p.open_for_multiplier, p.open_for_max_s, p.half_open_calls) == (30.0, 2.0, 300.0, 3)
    assert p.record(ValueError()) and not p.ignore(ValueError()) and p.ignore(CircuitOpenError("x", "open", 1.0))
    assert CircuitBreaker().policy == p and CircuitBreaker().name == "breaker"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"failure_rate_threshold": 1.0, "slow_call_rate_threshold": 1.0},
        {"failure_rate_threshold": 1e-9, "slow_call_rate_threshold": 1e-9},
        {"slow_call_duration_s": 1e-9, "window_s": 1e-9, "open_for_s": 1e-9, "open_for_max_s": 1e-9},
        {"window_calls": 1, "minimum_calls": 1, "half_open_calls": 1},
        {"window_calls": 5, "minimum_calls": 5},
        {"sliding_window": "time", "window_calls": 1, "minimum_calls": 50},
        {"open_for_multiplier": 1, "open_for_max_s": 30.0},
    ],
)
def test_policy_bounds_themselves_are_allowed(kwargs: dict[str, Any]) -> None:
    BreakerPolicy(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"failure_rate_threshold": 1.01}, "BreakerPolicy.failure_rate_threshold: expected a rate in (0, 1], got 1.01"),
        ({"failure_rate_threshold": float("nan")}, "failure_rate_threshold: expected a rate in (0, 1], got nan"),
        ({"slow_call_rate_threshold": 0}, "BreakerPolicy.slow_call_rate_threshold: expected a rate in (0, 1], got 0"),
        ({"slow_call_rate_threshold": 2.0}, "slow_call_rate_threshold: expected a rate in (0, 1], got 2.0"),
        (
            {"slow_call_duration_s": 0.0},
            "BreakerPolicy.slow_call_duration_s: expected a number of seconds > 0, got 0.0",
        ),
        ({"window_s": -1.0}, "BreakerPolicy.window_s: expected a number of seconds > 0, got -1.0"),
        ({"open_for_s": float("inf")}, "BreakerPolicy.open_for_s: expected a number of seconds > 0, got inf"),
        ({"window_calls": 0}, "BreakerPolicy.window_calls: expected an integer >= 1, got 0"),
        ({"minimum_calls": 0}, "BreakerPolicy.minimum_calls: expected an integer >= 1, got 0"),
        ({"half_open_calls": 0}, "BreakerPolicy.half_open_calls: expected an integer >= 1, got 0"),
        ({"half_open_calls": 2.0}, "BreakerPolicy.half_open_calls: expected an integer >= 1, got 2.0"),
        (
            {"minimum_calls": 11},
            "BreakerPolicy.minimum_calls: expected at most window_calls (10) with a count window, got 11",
        ),
        ({"open_for_multiplier": 0.99}, "BreakerPolicy.open_for_multiplier: expected a number >= 1, got 0.99"),
        ({"open_for_multiplier": float("inf")}, "BreakerPolicy.open_for_multiplier: expected a number >= 1, got inf"),
        ({"open_for_max_s": 29.9}, "BreakerPolicy.open_for_max_s: expected a number >= open_for_s (30), got 29.9"),
        (
            {"open_for_max_s": float("inf")},
            "BreakerPolicy.open_for_max_s: expected a number >= open_for_s (30), got inf",
        ),
    ],
)
def test_policy_checks_reject_every_bad_bound(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        BreakerPolicy(**kwargs)
    assert str(raised.value).endswith(message)


def test_the_operator_reports_each_call_with_its_duration_on_the_scheduler_clock() -> None:
    policy = BreakerPolicy(window_calls=3, minimum_calls=3, slow_call_duration_s=4.0)
    run = Run(policy, [(210, ok(3)), (220, fail(5)), (230, ok(4))])
    assert run.listener.outcomes == ["success", "failure", "slow"]
    assert run.listener.durations == [3.0, 5.0, 4.0]
    assert run.breaker.failure_rate(300.0) == pytest.approx(1 / 3)
    assert run.breaker.slow_call_rate(300.0) == pytest.approx(2 / 3)  # the failure lasted 5 s: slow too


def test_a_probe_that_ends_frees_its_slot_once_and_a_disposed_one_frees_it_too() -> None:
    policy = BreakerPolicy(window_calls=1, minimum_calls=1, open_for_s=5.0, half_open_calls=1)
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
    breaker = CircuitBreaker(BreakerPolicy(window_calls=1, minimum_calls=1))
    scheduler = TestScheduler()
    call = scheduler.create_cold_observable(on_error(50, ConnectionError()))
    results = scheduler.start(lambda: call.pipe(circuit_breaker(breaker)), disposed=220)
    assert results.messages == [] and call.subscriptions == [subscribe(200, 220)]
    assert breaker.state is BreakerState.CLOSED and breaker.failure_rate(300.0) == -1.0


def test_the_breaker_policy_is_a_frozen_slotted_keyword_only_value() -> None:
    assert_policy_shape(BreakerPolicy)


def test_reset_while_closed_forgets_the_window() -> None:
    breaker = CircuitBreaker(BreakerPolicy(window_calls=2, minimum_calls=2))
    trip(breaker, 0.0)
    breaker.reset(1.0)
    trip(breaker, 2.0)  # one failure in the window, not two
    assert breaker.state is BreakerState.CLOSED and breaker.failure_rate(2.0) == -1.0


def test_a_probe_of_an_earlier_period_that_ends_does_not_give_back_a_place_in_this_one() -> None:
    policy = BreakerPolicy(window_calls=1, minimum_calls=1, open_for_s=5.0, open_for_multiplier=1.0, half_open_calls=2)
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


def test_a_probe_that_fails_through_the_operator_frees_its_slot_once() -> None:
    policy = BreakerPolicy(window_calls=1, minimum_calls=1, open_for_s=5.0, half_open_calls=1)
    breaker = CircuitBreaker(policy)
    trip(breaker, 0.0)
    scheduler = TestScheduler()
    probe = scheduler.create_cold_observable(on_error(2, ConnectionError()))
    results = scheduler.start(lambda: probe.pipe(circuit_breaker(breaker)))
    assert len(results.messages) == 1 and results.messages[0].time == 202
    assert breaker.state is BreakerState.OPEN and breaker.probes_running == 0  # ended, then disposed: not -1


def test_reset_while_closed_leaves_the_first_wait_as_it_was() -> None:
    breaker = CircuitBreaker(BreakerPolicy(window_calls=1, minimum_calls=1, open_for_s=10.0, open_for_multiplier=2.0))
    breaker.reset(0.0)
    trip(breaker, 1.0)
    assert rejected_for(breaker, 10.0) == 1.0
