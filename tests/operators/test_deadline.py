"""deadline in virtual time: one limit for the whole request, whatever retry, backoff or a wait would still do."""

from __future__ import annotations

import pytest
from reactivex.testing import TestScheduler

from operators import (
    CallTimeoutError,
    DeadlineExceededError,
    RetryPolicy,
    deadline,
    is_transient,
    reason_of,
    retry,
    timeout,
)
from tests.operators import limit_support as limit
from tests.operators.operator_support import on_error, on_next, subscribe


def test_errors_at_the_exact_tick_and_unsubscribes_the_source() -> None:
    limit.assert_it_errors_at_the_limit(deadline(20.0, name="llm"), DeadlineExceededError("llm", 20.0))


def test_a_request_that_ends_in_time_passes_through_and_its_timer_is_dropped() -> None:
    limit.assert_an_answer_in_time_passes_through(deadline(20.0))


def test_errors_of_the_source_pass_through_before_the_deadline() -> None:
    limit.assert_an_error_in_time_passes_through(deadline(20.0))


def test_it_bounds_every_try_and_backoff_of_a_retry_inside_it() -> None:
    # each try times out after 10; waits 1, 2, 4, ... would go on for 5 tries (~60 ticks); the deadline ends it at 25
    scheduler = TestScheduler()
    hung = scheduler.create_cold_observable(on_next(500, "never"))
    policy = RetryPolicy(max_attempts=5, base_delay_s=1.0, max_delay_s=8.0, jitter=False)
    results = scheduler.start(lambda: hung.pipe(timeout(10.0), retry(policy), deadline(25.0, name="llm")))
    assert results.messages == [on_error(225, DeadlineExceededError("llm", 25.0))]
    assert hung.subscriptions == [subscribe(200, 210), subscribe(211, 221), subscribe(223, 225)]


def test_a_deadline_during_a_backoff_drops_the_next_try() -> None:
    scheduler = TestScheduler()
    failing = scheduler.create_cold_observable(on_error(1, ConnectionError("refused")))
    policy = RetryPolicy(max_attempts=3, base_delay_s=30.0, max_delay_s=30.0, jitter=False)
    results = scheduler.start(lambda: failing.pipe(retry(policy), deadline(10.0)))
    assert results.messages == [on_error(210, DeadlineExceededError("call", 10.0))]
    assert failing.subscriptions == [subscribe(200, 201)]  # the try due at 231 never starts (run to 1000)


def test_the_error_is_a_timeout_that_is_not_transient_and_says_deadline() -> None:
    error = DeadlineExceededError("llm", 2.5)
    assert isinstance(error, CallTimeoutError)
    assert error.deadline_s == error.timeout_s == 2.5
    assert str(error) == "llm: request did not finish within its deadline of 2.5 s (every try and wait counted)"
    assert not is_transient(error)
    assert reason_of(error) == "deadline"
    assert reason_of(CallTimeoutError("llm", 2.5)) == "timeout"


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_rejects_a_limit_that_is_not_a_positive_number(bad: float) -> None:
    with pytest.raises(ValueError, match=r"deadline\('call'\)\.deadline_s: expected a number > 0"):
        deadline(bad)


def test_a_request_that_ignores_its_disposal_is_disposed_first_and_its_late_answer_dropped() -> None:
    limit.assert_the_limit_is_kept_by_an_uncancellable_call(
        deadline(20.0, name="llm"), DeadlineExceededError("llm", 20.0)
    )


def test_the_timer_is_cancelled_when_the_request_ends_or_is_disposed() -> None:
    limit.assert_the_timer_is_cancelled_when_the_call_ends_or_is_disposed(deadline(20.0), 20.0)


def test_a_deadline_below_a_second_is_allowed_and_kept() -> None:
    limit.assert_a_limit_below_a_second_is_kept(deadline(0.5, name="llm"), DeadlineExceededError("llm", 0.5))
    deadline(1e-9)
