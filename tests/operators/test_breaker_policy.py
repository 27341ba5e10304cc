"""BreakerPolicy: its documented defaults, its bounds and the messages of its checks."""

from __future__ import annotations

from typing import Any

import pytest

from operators import (
    BreakerPolicy,
    CircuitBreaker,
    CircuitOpenError,
)
from tests.operators.policy_shape import assert_policy_shape


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
        ({"failure_rate_threshold": 0.0}, "failure_rate_threshold: expected a rate in (0, 1], got 0.0"),
        ({"minimum_calls": 30, "window_calls": 20}, "minimum_calls: expected at most window_calls (20)"),
        ({"open_for_max_s": 1.0}, "open_for_max_s: expected a number >= open_for_s (30), got 1.0"),
        ({"sliding_window": "both"}, "sliding_window: expected 'count' or 'time', got 'both'"),
    ],
)
def test_policy_checks_say_what_expected_and_got(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
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


def test_the_breaker_policy_is_a_frozen_slotted_keyword_only_value() -> None:
    assert_policy_shape(BreakerPolicy)
