"""retry in virtual time: backoff, jitter bounds, what is retried, retry_after_s and the retry budget."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex.notification import OnError
from reactivex.testing import TestScheduler
from reactivex.testing.coldobservable import ColdObservable
from reactivex.testing.mockobserver import MockObserver

from operators import (
    CallTimeoutError,
    CircuitOpenError,
    RecordingListener,
    RetryBudget,
    RetryBudgetPolicy,
    RetryExhaustedError,
    RetryPolicy,
    is_transient,
    retry,
)
from tests.operators.operator_support import on_completed, on_error, on_next, subscribe
from tests.operators.policy_shape import assert_policy_rejects, assert_policy_shape

NO_JITTER = RetryPolicy(max_attempts=4, base_delay_s=1.0, max_delay_s=100.0, multiplier=2.0, jitter=False)


class LLMError(Exception):
    """Stands in for the LLM client's errors: ``retryable`` and ``retry_after_s`` attributes."""

    def __init__(self, status: int, retry_after_s: float | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.retryable = status in (429, 502, 503, 504)
        self.retry_after_s = retry_after_s


def flaky(scheduler: TestScheduler, *errors: Exception) -> tuple[Observable[str], list[ColdObservable[str]]]:
    """A call whose subscriptions fail with ``errors`` in turn (1 tick each), then answer."""
    inner = [scheduler.create_cold_observable(on_error(1, e)) for e in errors]
    inner.append(scheduler.create_cold_observable(on_next(1, "answer"), on_completed(1)))
    turns = iter(inner)
    return reactivex.defer(lambda _: next(turns)), inner


def exhausted(name: str, attempts: int, reason: str, last: Exception) -> RetryExhaustedError:
    return RetryExhaustedError(name, attempts, reason, last)


def always_failing(budget: RetryBudgetPolicy, *, max_attempts: int) -> tuple[ColdObservable[str], MockObserver[str]]:
    """A call that always fails after one tick, retried every tick up to ``max_attempts`` within ``budget``."""
    scheduler = TestScheduler()
    shared = RetryBudget(budget)
    failing: ColdObservable[str] = scheduler.create_cold_observable(on_error(1, ConnectionError("down")))
    policy = RetryPolicy(max_attempts=max_attempts, base_delay_s=1.0, jitter=False, multiplier=1.0)
    return failing, scheduler.start(lambda: failing.pipe(retry(policy, name="llm", budget=shared)))


def test_waits_1_2_4_ticks_without_jitter_then_gives_up_with_the_last_error() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_error(1, ConnectionError("refused")))
    listener = RecordingListener()
    results = scheduler.start(lambda: source.pipe(retry(NO_JITTER, name="llm", listener=listener)))
    # attempts at 200, 202 (1 after the failure at 201), 205 (+2), 210 (+4)
    assert source.subscriptions == [subscribe(200, 201), subscribe(202, 203), subscribe(205, 206), subscribe(210, 211)]
    assert results.messages == [on_error(211, exhausted("llm", 4, "attempts", ConnectionError("refused")))]
    note = results.messages[0].value
    assert isinstance(note, OnError)
    error = note.exception
    assert isinstance(error, RetryExhaustedError)
    assert isinstance(error.last_error, ConnectionError) and error.__cause__ is error.last_error
    assert listener.of("retry_attempt") == [("llm", 2, 1.0), ("llm", 3, 2.0), ("llm", 4, 4.0)]
    assert listener.of("retry_gave_up") == [("llm", 4, "attempts")]


def test_succeeds_on_a_later_attempt() -> None:
    scheduler = TestScheduler()
    source, calls = flaky(scheduler, TimeoutError(), CallTimeoutError("llm", 5.0))
    results = scheduler.start(lambda: source.pipe(retry(NO_JITTER)))
    assert results.messages == [on_next(206, "answer"), on_completed(206)]
    assert [c.subscriptions for c in calls] == [[subscribe(200, 201)], [subscribe(202, 203)], [subscribe(205, 206)]]


@pytest.mark.parametrize("seed", range(20))
def test_full_jitter_stays_within_bounds(seed: int) -> None:
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_error(1, ConnectionError()))
    policy = RetryPolicy(max_attempts=5, base_delay_s=1.0, max_delay_s=6.0, multiplier=2.0, jitter=True)
    listener = RecordingListener()
    scheduler.start(lambda: source.pipe(retry(policy, random=random.Random(seed), listener=listener)))
    delays = [float(args[2]) for args in listener.of("retry_attempt")]  # type: ignore[arg-type]
    assert len(delays) == 4
    for cap, delay in zip([1.0, 2.0, 4.0, 6.0], delays, strict=True):
        assert 0.0 <= delay <= cap
    starts = [s.subscribe for s in source.subscriptions]
    gaps = [b - a - 1 for a, b in itertools.pairwise(starts)]
    assert gaps == pytest.approx(delays, abs=1e-5)  # the virtual clock keeps microseconds


@pytest.mark.parametrize(
    "error",
    [LLMError(400), LLMError(404), CircuitOpenError("llm", "open", 3.0), ValueError("garbage")],
    ids=["400", "404", "circuit-open", "value-error"],
)
def test_stops_at_once_on_a_non_retryable_error(error: Exception) -> None:
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_error(1, error))
    results = scheduler.start(lambda: source.pipe(retry(NO_JITTER)))
    assert results.messages == [on_error(201, error)]
    assert source.subscriptions == [subscribe(200, 201)]


def test_the_default_predicate() -> None:
    assert is_transient(LLMError(503)) and is_transient(LLMError(429)) and not is_transient(LLMError(400))
    assert is_transient(ConnectionResetError()) and is_transient(TimeoutError())
    assert is_transient(CallTimeoutError("x", 1.0))
    rejection = CircuitOpenError("x", "open", 1.0)
    rejection.retryable = True  # type: ignore[attr-defined]
    assert not is_transient(rejection)


def test_honours_retry_after_s() -> None:
    scheduler = TestScheduler()
    source, calls = flaky(scheduler, LLMError(429, retry_after_s=7.0), LLMError(503, retry_after_s=0.5))
    results = scheduler.start(lambda: source.pipe(retry(NO_JITTER)))
    # the server's 7 beats the backoff of 1; the backoff of 2 beats the server's 0.5
    assert [c.subscriptions for c in calls] == [[subscribe(200, 201)], [subscribe(208, 209)], [subscribe(211, 212)]]
    assert results.messages == [on_next(212, "answer"), on_completed(212)]


def test_a_retry_after_beyond_max_delay_ends_the_retries() -> None:
    scheduler = TestScheduler()
    error = LLMError(429, retry_after_s=3600.0)
    source = scheduler.create_cold_observable(on_error(1, error))
    results = scheduler.start(lambda: source.pipe(retry(NO_JITTER, name="llm")))
    assert results.messages == [on_error(201, exhausted("llm", 1, "retry_after", error))]
    assert source.subscriptions == [subscribe(200, 201)]


def test_stops_when_the_retry_budget_is_spent() -> None:
    failing, results = always_failing(RetryBudgetPolicy(ratio=0.0, window_s=100.0, min_retries=2), max_attempts=10)
    # two retries are all the budget allows in the window
    assert failing.subscriptions == [subscribe(200, 201), subscribe(202, 203), subscribe(204, 205)]
    assert results.messages == [on_error(205, exhausted("llm", 3, "retry_budget", ConnectionError("down")))]


def test_the_retry_budget_grows_with_calls_and_forgets_old_ones() -> None:
    shared = RetryBudget(RetryBudgetPolicy(ratio=0.5, window_s=10.0, min_retries=0))
    for t in range(4):
        shared.record_call(float(t))
    assert [shared.try_spend(5.0) for _ in range(3)] == [True, True, False]
    assert not shared.try_spend(12.0)  # the calls at 0, 1, 2 are forgotten: 1 call allows 0.5 retries
    shared.record_call(12.0)
    assert shared.try_spend(16.0)


def test_disposal_cancels_a_scheduled_retry() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_error(1, ConnectionError()))
    policy = RetryPolicy(max_attempts=3, base_delay_s=50.0, max_delay_s=100.0, jitter=False)
    results = scheduler.start(lambda: source.pipe(retry(policy)), disposed=230)
    assert results.messages == []
    assert source.subscriptions == [subscribe(200, 201)]


def test_policy_checks() -> None:
    with pytest.raises(ValueError, match=r"RetryPolicy.max_attempts: expected an integer >= 1, got 0"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match=r"RetryPolicy.max_delay_s: expected seconds >= base_delay_s \(5\), got 1"):
        RetryPolicy(base_delay_s=5.0, max_delay_s=1.0)


class Highest(random.Random):
    """Draws the top of every range, and keeps the ranges it was asked for."""

    def __init__(self) -> None:
        super().__init__(0)
        self.asked: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.asked.append((a, b))
        return b


def test_backoff_grows_by_the_multiplier_up_to_max_delay_s() -> None:
    policy = RetryPolicy(base_delay_s=0.5, multiplier=3.0, max_delay_s=10.0, jitter=False)
    assert [policy.backoff_s(n, random.Random(0)) for n in (1, 2, 3, 4, 5)] == [0.5, 1.5, 4.5, 10.0, 10.0]
    drawn = Highest()
    jittered = RetryPolicy(base_delay_s=0.5, multiplier=3.0, max_delay_s=10.0, jitter=True)
    assert [jittered.backoff_s(n, drawn) for n in (1, 2, 3, 4)] == [0.5, 1.5, 4.5, 10.0]
    assert drawn.asked == [(0.0, 0.5), (0.0, 1.5), (0.0, 4.5), (0.0, 10.0)]


def test_a_retry_after_of_exactly_max_delay_s_is_waited_for() -> None:
    scheduler = TestScheduler()
    policy = RetryPolicy(max_attempts=2, base_delay_s=1.0, max_delay_s=5.0, jitter=False)
    source, calls = flaky(scheduler, LLMError(503, retry_after_s=5.0))
    listener = RecordingListener()
    results = scheduler.start(lambda: source.pipe(retry(policy, name="llm", listener=listener)))
    assert [c.subscriptions for c in calls] == [[subscribe(200, 201)], [subscribe(206, 207)]]
    assert results.messages == [on_next(207, "answer"), on_completed(207)]
    assert listener.reports == [("retry_attempt", ("llm", 2, 5.0))]


def test_items_of_a_failed_attempt_are_not_taken_back() -> None:
    scheduler = TestScheduler()
    first = scheduler.create_cold_observable(on_next(1, "partial"), on_error(2, ConnectionError()))
    second = scheduler.create_cold_observable(on_next(1, "answer"), on_completed(1))
    turns = iter([first, second])
    results = scheduler.start(lambda: reactivex.defer(lambda _: next(turns)).pipe(retry(NO_JITTER)))
    assert results.messages == [on_next(201, "partial"), on_next(204, "answer"), on_completed(204)]


def test_a_call_counts_once_in_the_retry_budget_however_many_attempts_it_makes() -> None:
    failing, results = always_failing(RetryBudgetPolicy(ratio=1.0, window_s=100.0, min_retries=0), max_attempts=3)
    # one call allows one retry: the second is refused by the budget, not by max_attempts
    assert failing.subscriptions == [subscribe(200, 201), subscribe(202, 203)]
    assert results.messages == [on_error(203, exhausted("llm", 2, "retry_budget", ConnectionError("down")))]


def test_a_retry_refused_by_the_budget_is_reported_as_a_give_up() -> None:
    scheduler = TestScheduler()
    shared = RetryBudget(RetryBudgetPolicy(ratio=0.0, window_s=100.0, min_retries=0))
    failing = scheduler.create_cold_observable(on_error(1, TimeoutError()))
    listener = RecordingListener()
    scheduler.start(lambda: failing.pipe(retry(NO_JITTER, name="llm", budget=shared, listener=listener)))
    assert listener.reports == [("retry_gave_up", ("llm", 1, "retry_budget"))]
    assert failing.subscriptions == [subscribe(200, 201)]


def test_a_retry_predicate_of_ones_own_decides() -> None:
    scheduler = TestScheduler()
    source, calls = flaky(scheduler, ValueError("garbage"))
    results = scheduler.start(lambda: source.pipe(retry(NO_JITTER, retry_on=lambda e: isinstance(e, ValueError))))
    assert results.messages == [on_next(203, "answer"), on_completed(203)]
    assert len(calls[0].subscriptions) == 1


def test_retry_defaults_and_every_policy_bound() -> None:
    assert RetryPolicy() == RetryPolicy(max_attempts=3, base_delay_s=0.5, max_delay_s=10.0, multiplier=2.0, jitter=True)
    RetryPolicy(max_attempts=1, base_delay_s=0.0, max_delay_s=0.0, multiplier=1.0)  # the bounds themselves
    bad: list[tuple[dict[str, Any], str]] = [
        ({"max_attempts": 1.0}, "RetryPolicy.max_attempts: expected an integer >= 1, got 1.0"),
        ({"base_delay_s": -0.5}, "RetryPolicy.base_delay_s: expected seconds >= 0, got -0.5"),
        ({"base_delay_s": float("inf")}, "RetryPolicy.base_delay_s: expected seconds >= 0, got inf"),
        ({"max_delay_s": 0.49}, "RetryPolicy.max_delay_s: expected seconds >= base_delay_s (0.5), got 0.49"),
        ({"max_delay_s": float("nan")}, "RetryPolicy.max_delay_s: expected seconds >= base_delay_s (0.5), got nan"),
        ({"multiplier": 0.99}, "RetryPolicy.multiplier: expected a number >= 1, got 0.99"),
        ({"multiplier": float("inf")}, "RetryPolicy.multiplier: expected a number >= 1, got inf"),
    ]
    assert_policy_rejects(RetryPolicy, bad)


def test_the_retry_policy_is_a_frozen_slotted_keyword_only_value() -> None:
    assert_policy_shape(RetryPolicy)


def test_the_injected_random_draws_every_wait() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_error(1, ConnectionError()))
    policy = RetryPolicy(max_attempts=3, base_delay_s=2.0, max_delay_s=10.0, jitter=True)
    drawn = Highest()
    scheduler.start(lambda: source.pipe(retry(policy, random=drawn)))
    assert drawn.asked == [(0.0, 2.0), (0.0, 4.0)]
    assert source.subscriptions == [subscribe(200, 201), subscribe(203, 204), subscribe(208, 209)]


def test_disposal_during_a_later_attempt_disposes_that_attempt() -> None:
    scheduler = TestScheduler()
    first = scheduler.create_cold_observable(on_error(1, ConnectionError()))
    second = scheduler.create_cold_observable(on_next(50, "late"), on_completed(50))
    turns = iter([first, second])
    results = scheduler.start(lambda: reactivex.defer(lambda _: next(turns)).pipe(retry(NO_JITTER)), disposed=230)
    assert results.messages == []
    assert second.subscriptions == [subscribe(202, 230)]
