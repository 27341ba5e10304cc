"""Invariants over many generated schedules (hypothesis): probes, the token bucket, the bulkhead, the budget."""

from __future__ import annotations

import reactivex
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler

from operators import (
    BreakerPolicy,
    BreakerState,
    BudgetExceededError,
    BudgetPolicy,
    Bulkhead,
    BulkheadPolicy,
    CallBudget,
    CircuitBreaker,
    CircuitOpenError,
    RateLimitedError,
    RateLimitPolicy,
    TokenBucket,
    bulkhead,
    rate_limit,
)

on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed

# A step: start a call after a pause, or end the k-th oldest running call one way or another.
START = st.tuples(st.just("start"), st.floats(min_value=0.0, max_value=20.0), st.just(""))
END = st.tuples(
    st.just("end"),
    st.integers(min_value=0, max_value=10),
    st.sampled_from(["success", "failure", "slow", "release", "ignored"]),
)


@settings(max_examples=300, deadline=None)
@given(
    half_open_calls=st.integers(min_value=1, max_value=4),
    steps=st.lists(st.one_of(START, END), max_size=80),
)
def test_a_breaker_never_lets_more_than_half_open_calls_probes_run_at_once(
    half_open_calls: int, steps: list[tuple[str, float | int, str]]
) -> None:
    policy = BreakerPolicy(
        window_calls=2,
        minimum_calls=1,
        open_for_s=5.0,
        slow_call_duration_s=3.0,
        slow_call_rate_threshold=1.0,
        half_open_calls=half_open_calls,
        ignore=lambda e: isinstance(e, ValueError),
    )
    breaker = CircuitBreaker(policy)
    now = 0.0
    running: list[tuple[int, bool, float]] = []  # (permit, is_probe, started)
    for step in steps:
        if step[0] == "start":
            now += float(step[1])
            try:
                permit = breaker.acquire(now)
            except CircuitOpenError:
                continue
            running.append((permit, breaker.state is BreakerState.HALF_OPEN, now))
        elif running:
            permit, _, started = running.pop(int(step[1]) % len(running))
            kind = step[2]
            if kind == "success":
                breaker.on_success(permit, now, now - started)
            elif kind == "slow":
                breaker.on_success(permit, now, 3.0 + now - started)
            elif kind == "failure":
                breaker.on_error(permit, now, now - started, ConnectionError())
            elif kind == "ignored":
                breaker.on_error(permit, now, now - started, ValueError())
            else:
                breaker.release(permit)
        probes = sum(1 for _, is_probe, _ in running if is_probe)
        assert probes <= half_open_calls
        assert breaker.probes_running == probes


@settings(max_examples=200, deadline=None)
@given(
    rate=st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0]),
    burst=st.integers(min_value=1, max_value=5),
    arrivals=st.lists(
        st.tuples(st.integers(min_value=201, max_value=400), st.integers(min_value=1, max_value=5)), max_size=40
    ),
    reject=st.booleans(),
)
def test_the_token_bucket_never_admits_more_than_burst_plus_rate_times_t(
    rate: float, burst: int, arrivals: list[tuple[int, int]], reject: bool
) -> None:
    scheduler = TestScheduler()
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=rate, burst=float(burst), mode="reject" if reject else "wait"))
    arrivals = sorted((t, min(cost, burst)) for t, cost in arrivals)
    admitted: list[tuple[float, int]] = []

    def one(i: int) -> Observable[int]:
        _, cost = arrivals[i]

        def admit(_: object, scheduler_: object = None) -> Observable[int]:
            admitted.append((scheduler.clock, cost))
            return reactivex.of(i)

        return reactivex.defer(admit).pipe(
            rate_limit(bucket, cost=float(cost)), ops.catch(lambda e, _: reactivex.empty())
        )

    triggers = scheduler.create_hot_observable(*[on_next(t, i) for i, (t, _) in enumerate(arrivals)])
    scheduler.start(lambda: triggers.pipe(ops.flat_map(one)), disposed=100_000)
    admitted.sort()
    for i in range(len(admitted)):
        spent = 0
        for j in range(i, len(admitted)):
            spent += admitted[j][1]
            span = admitted[j][0] - admitted[i][0]
            # the scheduler's clock keeps microseconds, so a wait may end up to 1 µs early
            assert spent <= burst + rate * (span + 1e-6) + 1e-9, (admitted, i, j)
    if arrivals:  # the bucket starts full: the first call always goes through at once
        assert admitted[0] == (float(arrivals[0][0]), arrivals[0][1])


def test_a_rejected_call_is_typed() -> None:
    bucket = TokenBucket(RateLimitPolicy(rate_per_s=1.0, burst=1.0, mode="reject"))
    bucket.reserve(0.0)
    try:
        bucket.reserve(0.0)
    except RateLimitedError as exc:
        assert exc.wait_s == 1.0
    else:
        raise AssertionError("the second call should have been refused")


@settings(max_examples=150, deadline=None)
@given(
    max_concurrent=st.integers(min_value=1, max_value=3),
    max_waiting=st.integers(min_value=0, max_value=3),
    calls=st.lists(
        st.tuples(st.integers(min_value=201, max_value=260), st.integers(min_value=1, max_value=15)), max_size=25
    ),
)
def test_a_bulkhead_never_runs_more_than_max_concurrent_and_starts_waiters_in_order(
    max_concurrent: int, max_waiting: int, calls: list[tuple[int, int]]
) -> None:
    scheduler = TestScheduler()
    slots = Bulkhead(BulkheadPolicy(max_concurrent=max_concurrent, max_waiting=max_waiting))
    calls = sorted(calls)
    running = [0]
    started: list[int] = []

    def one(i: int) -> Observable[int]:
        _, duration = calls[i]

        def call(_: object, scheduler_: object = None) -> Observable[int]:
            running[0] += 1
            started.append(i)
            assert running[0] <= max_concurrent

            def end(*_: object) -> None:
                running[0] -= 1

            return reactivex.timer(float(duration)).pipe(ops.map(lambda _: i), ops.do_action(on_completed=end))

        return reactivex.defer(call).pipe(bulkhead(slots), ops.catch(lambda e, _: reactivex.empty()))

    triggers = scheduler.create_hot_observable(*[on_next(t, i) for i, (t, _) in enumerate(calls)])
    scheduler.start(lambda: triggers.pipe(ops.flat_map(one)), disposed=100_000)
    assert started == sorted(started)  # first come, first served
    assert running[0] == 0 and slots.in_flight == 0 and slots.waiting == 0


@settings(max_examples=150, deadline=None)
@given(
    max_calls=st.integers(min_value=1, max_value=4),
    window_s=st.integers(min_value=1, max_value=30),
    arrivals=st.lists(st.integers(min_value=0, max_value=200), max_size=40),
)
def test_a_budget_never_spends_more_than_max_calls_in_any_window(
    max_calls: int, window_s: int, arrivals: list[int]
) -> None:
    calls = CallBudget(BudgetPolicy(max_calls=max_calls, window_s=float(window_s)))
    spent: list[int] = []
    for t in sorted(arrivals):
        try:
            calls.spend(float(t))
        except BudgetExceededError:
            continue
        spent.append(t)
    for i, start in enumerate(spent):
        inside = [t for t in spent[i:] if t - start < window_s]
        assert len(inside) <= max_calls
