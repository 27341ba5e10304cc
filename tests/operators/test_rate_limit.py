"""rate_limit in virtual time: a burst goes through, then calls are spaced; wait, reject, weights, refunds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import TestScheduler
from reactivex.testing.coldobservable import ColdObservable

from operators import RateLimitedError, RateLimitPolicy, RecordingListener, TokenBucket, rate_limit
from tests.operators.operator_support import on_completed, on_next, subscribe, timed_values
from tests.operators.policy_shape import assert_policy_rejects, assert_policy_shape


def run(
    bucket: TokenBucket, ticks: list[int], cost: Callable[[int], float] = lambda i: 1.0, disposed: int = 1000
) -> tuple[list[Any], list[ColdObservable[str]]]:
    scheduler = TestScheduler()
    calls = [scheduler.create_cold_observable(on_next(0, f"r{i}"), on_completed(0)) for i in range(len(ticks))]
    triggers = scheduler.create_hot_observable(*[on_next(t, i) for i, t in enumerate(ticks)])

    def one(i: int) -> Observable[str]:
        return calls[i].pipe(
            rate_limit(bucket, cost=cost(i)),
            ops.catch(lambda e, _: reactivex.of(f"!{type(e).__name__}")),
        )

    results = scheduler.start(lambda: triggers.pipe(ops.flat_map(one)), disposed=disposed)
    return timed_values(results.messages), calls


def test_lets_a_burst_through_then_spaces_calls() -> None:
    listener = RecordingListener()
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=0.5, burst=3.0), name="llm", listener=listener)
    seen, calls = run(bucket, [210, 210, 210, 210, 210, 230])
    assert [c.subscriptions for c in calls] == [
        [subscribe(210, 210)],
        [subscribe(210, 210)],
        [subscribe(210, 210)],
        [subscribe(212, 212)],  # one token every 2 ticks, first come first served
        [subscribe(214, 214)],
        [subscribe(230, 230)],  # 16 ticks refilled 3 (the burst), not 8
    ]
    assert seen == [(210, "r0"), (210, "r1"), (210, "r2"), (212, "r3"), (214, "r4"), (230, "r5")]
    assert listener.of("rate_limit_waited") == [("llm", w) for w in (0.0, 0.0, 0.0, 2.0, 4.0, 0.0)]


def test_reject_mode_fails_fast_without_subscribing() -> None:
    listener = RecordingListener()
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=1.0, burst=2.0, mode="reject"), listener=listener)
    seen, calls = run(bucket, [210, 210, 210, 211])
    assert seen == [(210, "r0"), (210, "r1"), (210, "!RateLimitedError"), (211, "r3")]
    assert calls[2].subscriptions == []
    assert len(listener.of("rate_limit_rejected")) == 1


def test_wait_mode_gives_up_after_max_wait_s() -> None:
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=1.0, burst=1.0, max_wait_s=1.5))
    seen, calls = run(bucket, [210, 210, 210])
    assert seen == [(210, "r0"), (210, "!RateLimitedError"), (211, "r1")]
    assert calls[2].subscriptions == []


def test_a_heavy_call_takes_more_tokens_and_waits_its_turn() -> None:
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=1.0, burst=4.0))
    _, calls = run(bucket, [210, 210, 210], cost=lambda i: 3.0 if i == 1 else 1.0)
    # r0 takes 1 of 4; r1 needs 3: there; r2 needs 1 more: waits 1 tick
    assert [c.subscriptions for c in calls] == [[subscribe(210, 210)], [subscribe(210, 210)], [subscribe(211, 211)]]


def test_a_call_disposed_while_waiting_gives_its_tokens_back() -> None:
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=0.1, burst=1.0))
    _, calls = run(bucket, [210, 210], disposed=215)
    assert calls[1].subscriptions == []
    assert bucket.available(215.0) == pytest.approx(0.5)  # refunded, then refilled 5 × 0.1 from the debt paid back


def test_the_error_says_how_long() -> None:
    error = RateLimitedError("llm", 2.0, 7.5, 5.0)
    assert str(error) == "llm: rate limited: 2 token(s) needed a wait of 7.5 s, allowed 5 s"


def test_checks() -> None:
    with pytest.raises(ValueError, match=r"RateLimitPolicy.rate_per_s: expected a number > 0, got 0"):
        RateLimitPolicy(rate_per_s=0)
    with pytest.raises(ValueError, match=r"rate_limit\('rate_limit'\).cost: expected a number in \(0, burst=5\]"):
        rate_limit(TokenBucket(), cost=6.0)


def test_available_starts_full_refills_with_time_up_to_the_burst_and_is_zero_in_debt() -> None:
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=0.5, burst=3.0))
    assert bucket.available(100.0) == 3.0  # full before the first call, whenever it comes
    assert bucket.reserve(100.0, 2.0) == 0.0
    assert bucket.available(100.0) == 1.0
    assert bucket.available(101.0) == 1.5
    assert bucket.available(1000.0) == 3.0  # never more than the burst
    assert bucket.reserve(1000.0, 3.0) == 0.0
    assert bucket.reserve(1000.0, 1.0) == 2.0  # 1 token short at 0.5/s: in debt
    assert bucket.available(1001.0) == 0.0  # still paying the debt back
    assert bucket.available(1003.0) == 0.5  # paid at 1002, then refilled 1 s


def test_a_clock_read_earlier_than_the_last_one_adds_nothing() -> None:
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=1.0, burst=2.0))
    bucket.reserve(10.0, 2.0)
    assert bucket.available(9.0) == 0.0
    assert bucket.available(11.0) == 1.0  # counted from 10, not from 9


def test_reports_what_is_left_and_how_long_each_call_waited() -> None:
    listener = RecordingListener()
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=1.0, burst=2.0, max_wait_s=1.0), name="llm", listener=listener)
    bucket.reserve(0.0, 1.5)
    bucket.reserve(0.0, 1.0)  # 0.5 short: waits 0.5, tokens -0.5 reported as 0
    with pytest.raises(RateLimitedError) as raised:
        bucket.reserve(0.0, 1.0)  # would wait 1.5 > 1.0
    assert (raised.value.cost, raised.value.wait_s, raised.value.max_wait_s) == (1.0, 1.5, 1.0)
    bucket.refund(0.25, 1.0)  # -0.5 + 0.25 refilled + 1 back
    assert listener.reports == [
        ("rate_limit_waited", ("llm", 0.0)),
        ("tokens_available", ("llm", 0.5)),
        ("rate_limit_waited", ("llm", 0.5)),
        ("tokens_available", ("llm", 0.0)),
        ("rate_limit_rejected", ("llm",)),
        ("tokens_available", ("llm", 0.75)),
    ]


def test_a_refund_never_fills_the_bucket_beyond_its_burst() -> None:
    listener = RecordingListener()
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=1.0, burst=2.0), listener=listener)
    bucket.reserve(0.0, 1.0)
    bucket.refund(5.0, 1.0)
    assert bucket.available(5.0) == 2.0
    assert listener.of("tokens_available")[-1] == ("rate_limit", 2.0)


def test_a_wait_of_exactly_max_wait_s_is_allowed_and_exact_tokens_need_no_wait() -> None:
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=2.0, burst=2.0, max_wait_s=1.0))
    assert bucket.reserve(0.0, 2.0) == 0.0  # exactly the tokens there
    assert bucket.reserve(0.0, 2.0) == 1.0  # exactly max_wait_s
    with pytest.raises(RateLimitedError):
        bucket.reserve(0.0, 0.5)
    reject = TokenBucket(RateLimitPolicy(rate_per_s=1.0, burst=1.0, mode="reject"))
    assert reject.reserve(0.0, 1.0) == 0.0  # reject mode takes what is there
    assert reject.reserve(1.0, 1.0) == 0.0


def test_defaults_and_every_policy_bound() -> None:
    assert RateLimitPolicy() == RateLimitPolicy(rate_per_s=1.0, burst=5.0, mode="wait", max_wait_s=30.0)
    assert TokenBucket().name == "rate_limit" and TokenBucket().policy == RateLimitPolicy()
    RateLimitPolicy(rate_per_s=1e-9, burst=1.0, max_wait_s=0.0, mode="reject")  # the bounds themselves
    bad: list[tuple[dict[str, Any], str]] = [
        ({"rate_per_s": -1.0}, "RateLimitPolicy.rate_per_s: expected a number > 0, got -1.0"),
        ({"rate_per_s": float("inf")}, "RateLimitPolicy.rate_per_s: expected a number > 0, got inf"),
        ({"burst": 0.99}, "RateLimitPolicy.burst: expected a number >= 1, got 0.99"),
        ({"burst": float("nan")}, "RateLimitPolicy.burst: expected a number >= 1, got nan"),
        ({"mode": "drop"}, "RateLimitPolicy.mode: expected 'wait' or 'reject', got 'drop'"),
        ({"max_wait_s": -0.1}, "RateLimitPolicy.max_wait_s: expected seconds >= 0, got -0.1"),
        ({"max_wait_s": float("inf")}, "RateLimitPolicy.max_wait_s: expected seconds >= 0, got inf"),
    ]
    assert_policy_rejects(RateLimitPolicy, bad)


def test_the_rate_limit_policy_is_a_frozen_slotted_keyword_only_value() -> None:
    assert_policy_shape(RateLimitPolicy)


def test_a_call_costs_one_token_unless_told_and_a_refund_gives_one_back() -> None:
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=1.0, burst=3.0))
    assert bucket.reserve(0.0) == 0.0
    assert bucket.reserve(0.0) == 0.0
    assert bucket.available(0.0) == 1.0
    bucket.refund(0.0)
    assert bucket.available(0.0) == 2.0


def test_a_refund_into_debt_reports_no_free_tokens() -> None:
    listener = RecordingListener()
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=1.0, burst=1.0), name="llm", listener=listener)
    bucket.reserve(0.0, 1.0)
    bucket.reserve(0.0, 1.0)
    bucket.reserve(0.0, 1.0)  # 2 tokens in debt
    bucket.refund(0.0, 1.0)  # still 1 in debt
    assert listener.of("tokens_available")[-1] == ("llm", 0.0)


def test_the_operator_takes_one_token_unless_told_and_checks_its_cost() -> None:
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=0.001, burst=3.0), name="llm")
    scheduler = TestScheduler()
    call = scheduler.create_cold_observable(on_next(0, "r"), on_completed(0))
    scheduler.start(lambda: call.pipe(rate_limit(bucket)))
    assert bucket.available(200.0) == 2.0
    rate_limit(bucket, cost=3.0)  # the burst itself
    for bad in (0.0, -0.5, 3.5, float("nan")):
        with pytest.raises(ValueError) as raised:
            rate_limit(bucket, cost=bad)
        assert str(raised.value) == f"rate_limit('llm').cost: expected a number in (0, burst=3], got {bad}"


def test_a_call_that_waited_and_started_keeps_its_tokens_when_disposed() -> None:
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=0.5, burst=1.0))
    _, calls = run(bucket, [210, 210], disposed=213)  # the second waits 2 s, starts at 212, is disposed at 213
    assert calls[1].subscriptions == [subscribe(212, 212)]
    assert bucket.available(213.0) == 0.5  # paid off at 212, half a token since: nothing given back
