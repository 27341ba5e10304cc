"""timeout in virtual time: a typed error at the exact tick, and the source disposed."""

from __future__ import annotations

import pytest

from operators import CallTimeoutError, RecordingListener, timeout
from tests.operators import limit_support as limit


def test_errors_at_the_exact_tick_and_unsubscribes_the_source() -> None:
    listener = RecordingListener()
    limit.assert_it_errors_at_the_limit(timeout(20.0, name="llm", listener=listener), CallTimeoutError("llm", 20.0))
    assert listener.reports == [("call_timed_out", ("llm", 20.0))]


def test_a_call_that_finishes_in_time_passes_through() -> None:
    limit.assert_an_answer_in_time_passes_through(timeout(20.0))


def test_errors_of_the_source_pass_through_before_the_limit() -> None:
    limit.assert_an_error_in_time_passes_through(timeout(20.0))


def test_the_error_is_typed_and_named() -> None:
    error = CallTimeoutError("think", 2.5)
    assert str(error) == "think: call did not finish within 2.5 s"
    assert error.timeout_s == 2.5


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_rejects_a_limit_that_is_not_a_positive_number(bad: float) -> None:
    with pytest.raises(ValueError, match=r"timeout\('call'\)\.timeout_s: expected a number > 0"):
        timeout(bad)


def test_a_limit_below_a_second_is_allowed_and_kept() -> None:
    limit.assert_a_limit_below_a_second_is_kept(timeout(0.5, name="llm"), CallTimeoutError("llm", 0.5))
    timeout(1e-9)


def test_a_call_that_ignores_its_disposal_is_disposed_first_and_its_late_answer_dropped() -> None:
    listener = RecordingListener()
    limit.assert_the_limit_is_kept_by_an_uncancellable_call(
        timeout(20.0, name="llm", listener=listener), CallTimeoutError("llm", 20.0)
    )
    assert listener.reports == [("call_timed_out", ("llm", 20.0))]


def test_the_timer_is_cancelled_when_the_call_ends_or_is_disposed_and_no_timeout_is_reported() -> None:
    listener = RecordingListener()
    limit.assert_the_timer_is_cancelled_when_the_call_ends_or_is_disposed(timeout(20.0, listener=listener), 20.0)
    assert listener.reports == []
