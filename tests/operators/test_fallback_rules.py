"""The values catch_fallback works with: reasons by error type, rules and their order, the last good results."""

from __future__ import annotations

import dataclasses

import pytest

from operators import (
    BudgetExceededError,
    BulkheadFullError,
    CallTimeoutError,
    CircuitOpenError,
    DeadLetter,
    DeadlineExceededError,
    Fallback,
    FallbackPolicy,
    FallbackRule,
    LastGood,
    RateLimitedError,
    RetryExhaustedError,
    reason_of,
)
from tests.operators.policy_shape import assert_policy_rejects, assert_policy_shape


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (DeadlineExceededError("llm", 1.0), "deadline"),  # a CallTimeoutError too: the narrower name wins
        (CallTimeoutError("llm", 1.0), "timeout"),
        (CircuitOpenError("llm", "open", 1.0), "circuit_open"),
        (RateLimitedError("llm", 1.0, 2.0, 0.0), "rate_limited"),
        (BudgetExceededError("llm", 3, None), "budget_exceeded"),
        (BulkheadFullError("llm", 1, 0), "bulkhead_full"),
        (RetryExhaustedError("llm", 3, "attempts", ConnectionError()), "retry_exhausted"),
        (ConnectionError("refused"), "error"),
    ],
)
def test_each_operator_error_has_its_reason_and_any_other_is_error(error: Exception, reason: str) -> None:
    assert reason_of(error) == reason


def test_the_documented_defaults_and_the_policy_shapes() -> None:
    rule: FallbackRule[str] = FallbackRule()
    assert (rule.on, rule.stale_for_s, rule.has_value) == ((Exception,), 0.0, False)
    assert FallbackRule(value=None).has_value  # None is a value too
    policy: FallbackPolicy[str] = FallbackPolicy()
    assert (policy.rules, policy.remember) == ((FallbackRule(),), 1024)
    assert_policy_shape(FallbackRule)
    assert_policy_shape(FallbackPolicy)


def test_policy_bounds_themselves_are_allowed() -> None:
    FallbackRule(on=(KeyError,), stale_for_s=0.0)
    FallbackPolicy(rules=(FallbackRule(),), remember=1)


def test_policy_checks_say_what_expected_and_got() -> None:
    assert_policy_rejects(
        FallbackRule,
        [
            ({"on": ()}, "FallbackRule.on: expected a non-empty tuple of exception types, got ()"),
            ({"on": (int,)}, "FallbackRule.on: expected a non-empty tuple of exception types, got (<class 'int'>,)"),
            (
                {"on": ("KeyError",)},
                "FallbackRule.on: expected a non-empty tuple of exception types, got ('KeyError',)",
            ),
            ({"stale_for_s": -1.0}, "FallbackRule.stale_for_s: expected seconds >= 0, got -1.0"),
            ({"stale_for_s": float("nan")}, "FallbackRule.stale_for_s: expected seconds >= 0, got nan"),
            ({"stale_for_s": float("inf")}, "FallbackRule.stale_for_s: expected seconds >= 0, got inf"),
        ],
    )
    assert_policy_rejects(
        FallbackPolicy,
        [
            ({"remember": 0}, "FallbackPolicy.remember: expected an integer >= 1, got 0"),
            ({"remember": 2.0}, "FallbackPolicy.remember: expected an integer >= 1, got 2.0"),
        ],
    )


def test_the_first_rule_that_matches_decides_and_no_match_is_none() -> None:
    narrow: FallbackRule[str] = FallbackRule(on=(CallTimeoutError,), value="slow")
    broad: FallbackRule[str] = FallbackRule(on=(Exception,), value="any")
    assert FallbackPolicy(rules=(narrow, broad)).rule_for(CallTimeoutError("llm", 1.0)) is narrow
    assert FallbackPolicy(rules=(broad, narrow)).rule_for(CallTimeoutError("llm", 1.0)) is broad
    assert FallbackPolicy(rules=(narrow,)).rule_for(ConnectionError()) is None


def test_two_fallbacks_are_equal_whatever_their_errors_and_the_error_is_not_shown() -> None:
    first = Fallback("x", "value", "timeout", CallTimeoutError("a", 1.0))
    assert first == Fallback("x", "value", "timeout", ConnectionError("other"))
    assert first != Fallback("x", "stale", "timeout", first.error)
    assert "error" not in repr(first) and repr(first) == "Fallback(value='x', kind='value', reason='timeout')"


def test_last_good_recalls_a_result_younger_than_asked_and_forgets_the_least_recent_key() -> None:
    memory: LastGood[str | None] = LastGood(max_entries=2)
    memory.remember("a", "first", 10.0)
    memory.remember("a", None, 11.0)  # a newer result replaces it, even None
    assert memory.recall("a", 15.0, younger_than_s=5.0) == (None,)
    assert memory.recall("a", 16.0, younger_than_s=5.0) is None  # exactly 5 s old: not younger
    assert memory.recall("missing", 16.0, younger_than_s=5.0) is None
    memory.remember("b", "b", 12.0)
    memory.recall("a", 13.0, younger_than_s=5.0)  # a is used: b is now the least recent
    memory.remember("c", "c", 13.0)
    assert memory.recall("b", 13.0, younger_than_s=5.0) is None
    assert memory.recall("a", 13.0, younger_than_s=5.0) == (None,)
    assert memory.recall("c", 13.0, younger_than_s=5.0) == ("c",)


def test_last_good_keeps_1024_keys_by_default_and_checks_its_bound() -> None:
    memory: LastGood[int] = LastGood()
    for n in range(1025):
        memory.remember(str(n), n, 0.0)
    assert memory.recall("0", 0.0, younger_than_s=1.0) is None
    assert memory.recall("1", 0.0, younger_than_s=1.0) == (1,)
    LastGood(max_entries=1)
    for bad in (0, 1.5):
        with pytest.raises(ValueError, match=f"LastGood.max_entries: expected an integer >= 1, got {bad}"):
            LastGood(max_entries=bad)  # type: ignore[arg-type]


def test_a_fallback_and_a_dead_letter_are_frozen_slotted_values() -> None:
    error = ConnectionError("down")
    for value in (
        Fallback("x", "value", "error", error),
        DeadLetter("reply", "error", "value", error, {"prompt": "hi"}, "k"),
    ):
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.reason = "changed"  # type: ignore[misc]
        assert not hasattr(value, "__dict__")


def test_a_key_written_again_becomes_the_most_recent_one() -> None:
    memory: LastGood[int] = LastGood(max_entries=2)
    memory.remember("a", 1, 0.0)
    memory.remember("b", 2, 0.0)
    memory.remember("a", 3, 1.0)  # written again: b is now the least recent
    memory.remember("c", 4, 2.0)
    assert memory.recall("b", 2.0, younger_than_s=5.0) is None
    assert memory.recall("a", 2.0, younger_than_s=5.0) == (3,)
