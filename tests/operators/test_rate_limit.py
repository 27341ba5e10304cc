"""rate_limit in virtual time: a burst goes through, then calls are spaced; wait, reject, weights, refunds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.notification import OnNext
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.coldobservable import ColdObservable
from reactivex.testing.recorded import Recorded

from operators import RateLimitedError, RateLimitPolicy, RecordingListener, TokenBucket, rate_limit

on_next, on_error, on_completed, subscribe = (
    ReactiveTest.on_next,
    ReactiveTest.on_error,
    ReactiveTest.on_completed,
    ReactiveTest.subscribe,
)


def timed_values(messages: list[Recorded[Any]]) -> list[tuple[float, Any]]:
    """``(time, value)`` of each on_next (and nothing else may be there)."""
    seen: list[tuple[float, Any]] = []
    for m in messages:
        assert isinstance(m.value, OnNext), m
        seen.append((m.time, m.value.value))
    return seen


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
