"""Operators subscribing each other directly: laziness, errors at subscription, disposal through a chain."""

from __future__ import annotations

from reactivex import Observable, abc
from reactivex.testing import TestScheduler

from operators import BreakerPolicy, CircuitBreaker, RetryPolicy, circuit_breaker, lazy, retry, timeout
from tests.operators.operator_support import on_completed, on_error, on_next, subscribe


def test_lazy_builds_the_observable_on_each_subscription() -> None:
    scheduler = TestScheduler()
    built: list[float] = []
    source = scheduler.create_cold_observable(on_next(1, "x"), on_completed(1))

    def factory() -> Observable[str]:
        built.append(scheduler.clock)
        return source

    results = scheduler.start(lambda: lazy(factory))
    assert built == [200.0]
    assert results.messages == [on_next(201, "x"), on_completed(201)]


def test_an_error_raised_while_subscribing_goes_downstream() -> None:
    scheduler = TestScheduler()
    broken = RuntimeError("cannot build the call")

    def factory() -> Observable[str]:
        raise broken

    results = scheduler.start(lambda: lazy(factory).pipe(timeout(5.0)))
    assert results.messages == [on_error(200, broken)]


def test_disposal_reaches_the_source_through_a_chain_of_operators() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(100, "late"), on_completed(100))
    breaker = CircuitBreaker(BreakerPolicy())

    def create() -> Observable[str]:
        chain: Observable[str] = source.pipe(timeout(50.0), circuit_breaker(breaker), retry(RetryPolicy()))
        return chain

    results = scheduler.start(create, disposed=220)
    assert results.messages == []
    assert source.subscriptions == [subscribe(200, 220)]
    assert breaker.state.value == "closed"


def test_a_chain_subscribes_its_source_with_the_subscription_scheduler() -> None:
    scheduler = TestScheduler()
    seen: list[abc.SchedulerBase | None] = []

    def factory() -> Observable[int]:
        def subscribe_(
            observer: abc.ObserverBase[int], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            seen.append(scheduler_)
            observer.on_next(1)
            observer.on_completed()
            return scheduler.schedule(lambda *_: None)

        return Observable(subscribe_)

    scheduler.start(lambda: lazy(factory).pipe(timeout(5.0), retry(RetryPolicy())))
    assert seen == [scheduler]
