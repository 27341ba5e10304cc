"""The guarantees of protect's order, each in virtual time (docs/operators.md, "The order").

catch → cache → deadline → retry → circuit_breaker → bulkhead → rate_limit → budget → timeout → call
"""

from __future__ import annotations

import dataclasses

import pytest
from reactivex.testing import ReactiveTest

from agent import ProtectPolicies
from operators import (
    BreakerPolicy,
    BreakerState,
    BudgetPolicy,
    BulkheadPolicy,
    DeadlineExceededError,
    Fallback,
    RateLimitPolicy,
    RetryPolicy,
)
from tests.agent.protect_support import POLICIES, Run, answer, hang, layers_off, prompt

on_next, on_error, subscribe = ReactiveTest.on_next, ReactiveTest.on_error, ReactiveTest.subscribe

# Only the layers a test names are on.
BARE = layers_off(timeout_s=10.0, catch=True, stale_for_s=0.0)
DOWN = ConnectionError("refused")


def fallback(at: int, reason: str) -> object:
    return on_next(at, Fallback("(thinking later)", "value", reason, Exception()))


def test_an_open_breaker_rejects_at_once_spending_no_budget_and_waiting_for_no_token() -> None:
    policies = dataclasses.replace(
        BARE,
        breaker=BreakerPolicy(window_calls=2, minimum_calls=2, open_for_s=100.0),
        rate_limit=RateLimitPolicy(rate_per_s=0.1, burst=1.0),
        budget=BudgetPolicy(max_calls=10, window_s=None),
    )
    # 210 fails at 211; 212 waits for its token until 220, fails at 221: open; 222 finds the bucket empty
    run = Run(
        [(210, prompt(0), [on_error(1, DOWN)]), (212, prompt(1), [on_error(1, DOWN)]), (222, prompt(2), [])], policies
    )
    assert run.subs == [[subscribe(210, 211)], [subscribe(220, 221)], []]
    assert run.protection.breaker is not None and run.protection.breaker.state is BreakerState.OPEN
    assert run.results.messages[-1] == fallback(222, "circuit_open")  # at once, not after a token's wait
    assert run.protection.budget is not None and run.protection.budget.remaining(222.0) == 8
    assert run.protection.bucket is not None and run.protection.bucket.available(222.0) == pytest.approx(0.2)
    assert len(run.listener.of("rate_limit_waited")) == 2


def test_a_try_the_rate_limiter_refuses_spends_no_budget_and_one_the_budget_refuses_keeps_no_token() -> None:
    policies = dataclasses.replace(
        BARE,
        breaker=BreakerPolicy(),
        retry=RetryPolicy(max_attempts=3, base_delay_s=1.0, jitter=False),
        rate_limit=RateLimitPolicy(rate_per_s=0.01, burst=1.0, mode="reject"),
        budget=BudgetPolicy(max_calls=2, window_s=None),
    )
    run = Run(
        [
            (210, prompt(0), answer(1)),  # a token and a budget unit
            (212, prompt(1), []),  # no token yet: refused before the budget
            (400, prompt(2), answer(1)),  # the bucket is full again: the last budget unit
            (500, prompt(3), []),  # a token, then the budget refuses: the token goes back
        ],
        policies,
    )
    assert run.reasons() == ["rate_limited", "budget_exceeded"]
    assert run.subs[1] == [] and run.subs[3] == []
    assert run.protection.budget is not None and run.protection.budget.remaining(500.0) == 0
    assert run.protection.bucket is not None and run.protection.bucket.available(500.0) == 1.0
    # neither rejection is a backend failure: the breaker ignored both, retry retried neither
    assert run.protection.breaker is not None and run.protection.breaker.state is BreakerState.CLOSED
    assert [outcome for _, outcome, _ in run.listener.of("breaker_call")] == [
        "success",
        "ignored",
        "success",
        "ignored",
    ]
    assert run.listener.of("retry_attempt") == []


def test_the_budget_and_the_tokens_count_each_try_that_goes_on() -> None:
    policies = dataclasses.replace(
        BARE,
        retry=RetryPolicy(max_attempts=2, base_delay_s=1.0, jitter=False),
        rate_limit=RateLimitPolicy(rate_per_s=0.001, burst=5.0),
        budget=BudgetPolicy(max_calls=5, window_s=None),
    )
    call = [on_error(1, DOWN)]
    run = Run([(210, prompt(0), call)], policies)  # two tries, both fail: both reached the backend
    assert run.subs == [[subscribe(210, 211), subscribe(212, 213)]]
    assert run.protection.budget is not None and run.protection.budget.remaining(300.0) == 3
    assert len(run.listener.of("rate_limit_waited")) == 2


def test_a_full_bulkhead_spends_nothing_and_a_wait_for_a_slot_is_not_on_the_try_s_clock() -> None:
    policies = dataclasses.replace(
        BARE,
        bulkhead=BulkheadPolicy(max_concurrent=1, max_waiting=1),
        rate_limit=RateLimitPolicy(rate_per_s=0.001, burst=5.0),
        budget=BudgetPolicy(max_calls=10, window_s=None),
    )
    run = Run([(210, prompt(0), answer(8)), (211, prompt(1), answer(8)), (212, prompt(2), [])], policies)
    # 211 waits for the slot until 218 and answers at 226: 15 ticks after it came, within its timeout of 10
    assert run.subs == [[subscribe(210, 218)], [subscribe(218, 226)], []]
    assert run.results.messages == [fallback(212, "bulkhead_full"), on_next(218, "answer"), on_next(226, "answer")]
    assert run.protection.budget is not None and run.protection.budget.remaining(300.0) == 8
    assert len(run.listener.of("rate_limit_waited")) == 2


def test_a_hung_call_gets_its_fallback_at_the_deadline_whatever_retry_would_do() -> None:
    # tries of 10 ticks and waits of 1, 2, 4, 8 would run five tries, to 265; the deadline ends it at 235
    policies = dataclasses.replace(
        BARE, deadline_s=25.0, retry=RetryPolicy(max_attempts=5, base_delay_s=1.0, max_delay_s=8.0, jitter=False)
    )
    run = Run([(210, prompt(0), hang())], policies)
    assert run.subs == [[subscribe(210, 220), subscribe(221, 231), subscribe(233, 235)]]
    assert run.results.messages == [fallback(235, "deadline")]
    [letter] = run.letters
    assert isinstance(letter.error, DeadlineExceededError) and letter.error.deadline_s == 25.0


def test_the_deadline_ends_a_wait_for_a_token_which_goes_back_unspent() -> None:
    policies = dataclasses.replace(
        BARE,
        deadline_s=5.0,
        rate_limit=RateLimitPolicy(rate_per_s=0.01, burst=1.0, max_wait_s=1000.0),
        budget=BudgetPolicy(max_calls=10, window_s=None),
    )
    run = Run([(210, prompt(0), answer(1)), (212, prompt(1), answer(1))], policies)  # 212 would wait 98 ticks
    assert run.subs == [[subscribe(210, 211)], []]
    assert run.results.messages == [on_next(211, "answer"), fallback(217, "deadline")]
    assert run.protection.budget is not None and run.protection.budget.remaining(217.0) == 9
    assert run.protection.bucket is not None and run.protection.bucket.available(217.0) == pytest.approx(0.07)


def test_with_the_default_policies_a_hung_call_falls_back_at_the_default_deadline() -> None:
    defaults = ProtectPolicies()
    assert defaults.deadline_s is not None and defaults.timeout_s is not None
    run = Run([(210, prompt(0), hang())], dataclasses.replace(defaults, stale_for_s=0.0))
    end = 210 + int(defaults.deadline_s)
    [message] = run.results.messages
    assert message == fallback(end, "deadline")
    first, second = run.subs[0]  # the first try timed out; the retry was cut by the deadline
    assert first == subscribe(210, 210 + int(defaults.timeout_s)) and second.unsubscribe == end


def test_the_order_s_policies_are_checked_when_built() -> None:
    with pytest.raises(ValueError, match=r"ProtectPolicies\.deadline_s: expected seconds > 0, or None"):
        dataclasses.replace(POLICIES, deadline_s=0.0)
    with pytest.raises(ValueError, match=r"ProtectPolicies\.remember: expected an integer >= 1, got 0"):
        ProtectPolicies(remember=0)
