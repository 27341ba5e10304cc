"""refund_tokens in virtual time: a try refused inside the rate limiter gives its tokens back; nothing else does."""

from __future__ import annotations

from typing import Any

import pytest
from reactivex import Observable
from reactivex.testing import TestScheduler

from operators import (
    BudgetExceededError,
    BudgetPolicy,
    CallBudget,
    RateLimitPolicy,
    TokenBucket,
    budget,
    rate_limit,
    refund_tokens,
)
from tests.operators.operator_support import on_completed, on_error, on_next, subscribe


def test_a_try_the_budget_refuses_gives_its_token_back() -> None:
    scheduler = TestScheduler()
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=0.001, burst=2.0), name="llm")
    calls = CallBudget(BudgetPolicy(max_calls=1, window_s=None), name="llm")
    first = scheduler.create_cold_observable(on_next(1, "answer"), on_completed(1))
    second = scheduler.create_cold_observable(on_next(1, "never"), on_completed(1))

    def chain(source: Observable[str]) -> Observable[str]:
        return source.pipe(budget(calls), refund_tokens(bucket), rate_limit(bucket))

    def make_first(*_: Any) -> None:
        chain(first).subscribe(scheduler=scheduler)

    scheduler.schedule_absolute(210, make_first)
    results = scheduler.start(lambda: chain(second), created=100, subscribed=220)
    assert results.messages == [on_error(220, BudgetExceededError("llm", 1, None))]
    assert first.subscriptions == [subscribe(210, 211)] and second.subscriptions == []
    # one token went to the call that was made; the refused one took its token and gave it back
    assert bucket.available(220.0) == pytest.approx(1.0 + 10 * 0.001)


def test_other_errors_keep_their_tokens_spent() -> None:
    scheduler = TestScheduler()
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=0.001, burst=2.0), name="llm")
    down = ConnectionError("refused")
    source = scheduler.create_cold_observable(on_error(1, down))
    results = scheduler.start(lambda: source.pipe(refund_tokens(bucket), rate_limit(bucket)))
    assert results.messages == [on_error(201, down)]
    assert bucket.available(201.0) == pytest.approx(1.0 + 1 * 0.001)


def test_the_refused_error_goes_on_unchanged() -> None:
    scheduler = TestScheduler()
    bucket = TokenBucket(RateLimitPolicy(burst=1.0), name="llm")
    refused = BudgetExceededError("llm", 1, None)
    source = scheduler.create_cold_observable(on_error(0, refused))
    results = scheduler.start(lambda: source.pipe(refund_tokens(bucket), rate_limit(bucket)))
    assert results.messages == [on_error(200, refused)]
    assert bucket.available(200.0) == 1.0


def test_rejects_a_cost_the_bucket_cannot_hold() -> None:
    with pytest.raises(ValueError, match=r"refund_tokens\('llm'\)\.cost: expected a number in \(0, burst=1\]"):
        refund_tokens(TokenBucket(RateLimitPolicy(burst=1.0), name="llm"), cost=2.0)
