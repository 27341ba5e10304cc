"""The operators' errors: each names its step, says what happened in its message and keeps its details."""

from __future__ import annotations

import pytest

from operators import errors
from streams.errors import BeingError


def test_every_refusal_is_an_operator_error_with_its_step_name_first() -> None:
    refusals: list[errors.OperatorError] = [
        errors.CallTimeoutError("llm", 2.5),
        errors.DeadlineExceededError("llm", 30.0),
        errors.CircuitOpenError("llm", "open", 3.0),
        errors.RateLimitedError("llm", 1.0, 2.0, 0.5),
        errors.BudgetExceededError("llm", 3, 60.0),
        errors.BulkheadFullError("llm", 2, 3),
        errors.RetryExhaustedError("llm", 3, "attempts", ConnectionError("down")),
        errors.CacheStoreError("llm", "get", "k" * 40, "timed out"),
        errors.LimitStoreError("llm", "take_tokens", "no answer within 0.1 s"),
    ]
    for error in refusals:
        assert isinstance(error, BeingError) and error.name == "llm" and str(error).startswith("llm: ")


def test_a_timeout_and_a_deadline_say_their_limits() -> None:
    timeout = errors.CallTimeoutError("think", 2.5)
    assert (str(timeout), timeout.timeout_s) == ("think: call did not finish within 2.5 s", 2.5)
    passed = errors.DeadlineExceededError("reply", 130.0)
    assert isinstance(passed, errors.CallTimeoutError) and (passed.deadline_s, passed.timeout_s) == (130.0, 130.0)
    assert str(passed) == "reply: request did not finish within its deadline of 130 s (every try and wait counted)"


@pytest.mark.parametrize(
    ("state", "remaining_s", "detail"),
    [
        ("open", 12.345, "a probe is allowed in 12.3 s"),
        ("half_open", 0.0, "half-open and every probe is taken; wait for the probes to finish"),
        ("forced_open", None, "held open by hand until it is reset"),
    ],
)
def test_an_open_circuit_says_when_a_probe_may_go(state: str, remaining_s: float | None, detail: str) -> None:
    error = errors.CircuitOpenError("llm", state, remaining_s)
    assert str(error) == f"llm: circuit {state}: call rejected ({detail})"
    assert (error.state, error.remaining_s) == (state, remaining_s)


def test_the_limits_say_what_was_asked_and_allowed() -> None:
    limited = errors.RateLimitedError("llm", 2.0, 3.456, 1.5)
    assert str(limited) == "llm: rate limited: 2 token(s) needed a wait of 3.46 s, allowed 1.5 s"
    assert (limited.cost, limited.wait_s, limited.max_wait_s) == (2.0, 3.456, 1.5)
    spent = errors.BudgetExceededError("mind", 3, 60.0, 12.0)
    assert str(spent) == "mind: budget of 3 call(s) per 60 s is spent"
    assert (spent.max_calls, spent.window_s, spent.free_in_s) == (3, 60.0, 12.0)
    assert errors.BudgetExceededError("mind", 3, None).free_in_s is None
    assert str(errors.BudgetExceededError("mind", 1, None)) == "mind: budget of 1 call(s) until the next reset is spent"
    full = errors.BulkheadFullError("llm", 2, 3)
    assert str(full) == "llm: bulkhead full: 2 in flight and 3 waiting"
    assert (full.max_concurrent, full.max_waiting) == (2, 3)


def test_retry_exhausted_keeps_the_last_error_and_says_why() -> None:
    last = ConnectionError("refused")
    error = errors.RetryExhaustedError("llm", 4, "retry_budget", last)
    assert str(error) == "llm: gave up after 4 attempt(s) (retry_budget): ConnectionError: refused"
    assert (error.attempts, error.reason, error.last_error) == (4, "retry_budget", last)


def test_a_cache_store_error_shows_the_start_of_the_key_only() -> None:
    error = errors.CacheStoreError("llm", "set", "0123456789abcdef-and-more", "connection reset")
    assert str(error) == "llm: cache store set of 0123456789abcdef: connection reset"
    assert (error.operation, error.key) == ("set", "0123456789abcdef-and-more")


def test_a_policy_error_is_a_value_error_that_keeps_its_parts() -> None:
    error = errors.PolicyError("RetryPolicy.max_attempts", "an integer >= 1", 0)
    assert isinstance(error, ValueError) and not isinstance(error, BeingError)
    assert str(error) == "RetryPolicy.max_attempts: expected an integer >= 1, got 0"
    assert (error.where, error.expected, error.got) == ("RetryPolicy.max_attempts", "an integer >= 1", 0)
    assert (error.owner, error.field) == ("RetryPolicy", "max_attempts")
    named = errors.PolicyError("rate_limit('llm').cost", "a number in (0, burst=1]", "x")
    assert str(named).endswith("got 'x'") and (named.owner, named.field) == ("rate_limit('llm')", "cost")
