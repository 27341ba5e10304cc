"""ResilienceMetrics: the operators' reports become being_* series on the registry passed in."""

from __future__ import annotations

import random

from prometheus_client import CollectorRegistry, generate_latest
from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler

from agent import Protection, ProtectPolicies, protect
from operators import (
    BreakerPolicy,
    BudgetPolicy,
    BulkheadPolicy,
    CachePolicy,
    Fallback,
    FallbackPolicy,
    FallbackRule,
    RateLimitPolicy,
    RetryPolicy,
    priority_merge,
)
from service.metrics import ResilienceMetrics

on_next, on_error, on_completed = ReactiveTest.on_next, ReactiveTest.on_error, ReactiveTest.on_completed


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, {"name": "llm", **labels})


def test_a_fresh_protection_shows_its_series_at_once(registry: CollectorRegistry) -> None:
    metrics = ResilienceMetrics(registry)
    policies = ProtectPolicies(bulkhead=BulkheadPolicy(), rate_limit=RateLimitPolicy(), budget=BudgetPolicy())
    metrics.watch(Protection(policies, name="llm", dead_letter=lambda letter: None))
    assert value(registry, "being_breaker_state") == 0
    assert value(registry, "being_budget_remaining") == 120
    assert value(registry, "being_rate_limit_tokens") == 5
    assert value(registry, "being_cache_entries") == 0
    assert value(registry, "being_cache_hits_total") == 0
    assert value(registry, "being_bulkhead_in_flight") == 0


def test_calls_through_protect_move_the_series(registry: CollectorRegistry) -> None:
    metrics = ResilienceMetrics(registry)
    policies = ProtectPolicies(
        timeout_s=5.0,
        breaker=BreakerPolicy(window_calls=3, minimum_calls=3, open_for_s=100.0),
        retry=RetryPolicy(max_attempts=2, base_delay_s=1.0, jitter=False),
        rate_limit=RateLimitPolicy(rate_per_s=0.001, burst=4.0, mode="reject"),
        budget=BudgetPolicy(max_calls=10, window_s=None),
        cache=CachePolicy(max_entries=1),
    )
    fallback: FallbackPolicy[str] = FallbackPolicy(rules=(FallbackRule(value="later"),))
    protection: Protection[str] = Protection(
        policies,
        name="llm",
        dead_letter=lambda letter: None,
        fallback=fallback,
        listener=metrics,
        random=random.Random(1),
    )
    scheduler = TestScheduler()
    plan = [
        (210, "a", [on_next(1, "A"), on_completed(1)]),
        (220, "a", [on_next(1, "never")]),  # cache hit
        (230, "b", [on_next(100, "slow")]),  # times out twice (235, 241): with f's success, the breaker opens
        (233, "f", [on_next(1, "F"), on_completed(1)]),
        (237, "g", [on_next(1, "G")]),  # a, b's two tries and f took the 4 tokens: refused, not a failure
        (300, "c", [on_next(1, "C")]),  # rejected by the open breaker, before any token or budget
        (301, "d", [on_next(1, "D")]),  # and this one
        (301, "e", [on_next(1, "E")]),  # and this one
    ]
    calls = [scheduler.create_cold_observable(*msgs) for _, _, msgs in plan]
    triggers = scheduler.create_hot_observable(*[on_next(t, i) for i, (t, _, _) in enumerate(plan)])

    def one(i: int) -> Observable[str | Fallback[str]]:
        return protect(calls[i], protection, request={"prompt": plan[i][1]})

    scheduler.start(lambda: triggers.pipe(ops.flat_map(one)), disposed=1000)

    assert value(registry, "being_cache_hits_total") == 1
    assert value(registry, "being_cache_misses_total") == 7
    assert value(registry, "being_cache_entries") == 1
    assert value(registry, "being_call_timeouts_total") == 2
    assert value(registry, "being_retry_attempts_total") == 1
    assert value(registry, "being_retry_give_ups_total", reason="attempts") == 1
    assert value(registry, "being_breaker_state") == 1
    assert value(registry, "being_breaker_transitions_total", **{"from": "closed", "to": "open"}) == 1
    assert value(registry, "being_breaker_calls_total", outcome="success") == 2
    assert value(registry, "being_breaker_calls_total", outcome="failure") == 2
    assert value(registry, "being_breaker_calls_total", outcome="ignored") == 1
    assert value(registry, "being_breaker_calls_total", outcome="rejected") == 3
    assert value(registry, "being_rate_limit_rejected_total") == 1
    assert value(registry, "being_rate_limit_wait_seconds_count") == 4
    assert value(registry, "being_budget_remaining") == 6  # a try each: a, b twice, f
    assert value(registry, "being_fallbacks_total", reason="retry_exhausted", kind="value") == 1
    assert value(registry, "being_fallbacks_total", reason="circuit_open", kind="value") == 3
    assert value(registry, "being_fallbacks_total", reason="rate_limited", kind="value") == 1
    text = generate_latest(registry).decode()
    assert 'being_breaker_state{name="llm"} 1.0' in text


def test_a_lanes_waiting_items_are_a_gauge(registry: CollectorRegistry) -> None:
    metrics = ResilienceMetrics(registry)
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(on_next(210, 1), on_next(210, 2), on_next(210, 3))
    call = scheduler.create_cold_observable(on_next(100, "r"), on_completed(100))
    lane = priority_merge(lambda _: call, max_concurrent=1, priority=lambda _: 0, name="llm", listener=metrics)
    seen: list[float | None] = []
    scheduler.schedule_absolute(215, lambda *_: seen.append(value(registry, "being_lane_waiting")))
    scheduler.start(lambda: source.pipe(lane), disposed=250)
    assert seen == [2]  # two wait behind the first
    assert value(registry, "being_lane_waiting") == 0  # disposal let them go
