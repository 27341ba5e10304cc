"""The llm component: degraded while a breaker is not closed or the latest calls failed, from real operator reports."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import reactivex
from prometheus_client import CollectorRegistry
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler

from agent import Protection, ProtectPolicies, protect
from operators import BreakerPolicy, BreakerState, CircuitBreaker, DeadLetter, FallbackPolicy, FallbackRule
from service._listeners import FanOutListener
from service.health import Health, LLMHealth, Status
from service.http import build_app, serve
from service.metrics import ResilienceMetrics
from service.settings import HttpSettings

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_no_call_yet_is_ok(clock: Clock) -> None:
    report = LLMHealth(clock=clock).health()
    assert report.status is Status.OK and report.detail == "no call answered yet"


@pytest.mark.parametrize("state", ["open", "half_open", "forced_open"])
def test_degraded_while_a_breaker_is_not_closed(clock: Clock, state: str) -> None:
    llm = LLMHealth(clock=clock)
    llm.breaker_state("reply", "closed", state)
    clock.advance(5)
    report = llm.health()
    assert report.status is Status.DEGRADED
    assert report.detail == f"breaker 'reply' {state.replace('_', '-')} since 2026-03-01T12:00:00Z"
    llm.breaker_state("reply", state, "closed")
    assert llm.health().status is Status.OK


def test_a_timeout_degrades_until_a_call_is_answered(clock: Clock) -> None:
    llm = LLMHealth(clock=clock)
    llm.call_timed_out("reply", 30.0)
    clock.advance(40)
    llm.call_timed_out("reply", 30.0)
    report = llm.health()
    assert report.status is Status.DEGRADED
    assert report.detail == (
        "'reply' calls failing since 2026-03-01T12:00:00Z, the latest at 2026-03-01T12:00:40Z: "
        "a try timed out after 30 s"
    )
    llm.breaker_call("reply", "rejected", 0.0)
    llm.breaker_call("reply", "failure", 30.0)
    assert llm.health().status is Status.DEGRADED
    clock.advance(1)
    llm.breaker_call("reply", "success", 1.5)
    report = llm.health()
    assert report.status is Status.OK and report.detail == "the latest call was answered at 2026-03-01T12:00:41Z"


def test_a_slow_answer_is_an_answer(clock: Clock) -> None:
    llm = LLMHealth(clock=clock)
    llm.fallback_used("reply", "retry_exhausted", "value")
    assert llm.health().status is Status.DEGRADED
    assert "answered with a fallback (retry_exhausted)" in llm.health().detail
    llm.breaker_call("reply", "slow", 90.0)
    assert llm.health().status is Status.OK


def test_a_failure_with_nothing_since_is_forgotten(clock: Clock) -> None:
    llm = LLMHealth(clock=clock, forget_failures_after_s=60.0)
    llm.fallback_used("reply", "timeout", "value")
    clock.advance(59)
    assert llm.health().status is Status.DEGRADED
    clock.advance(1)
    report = llm.health()
    assert report.status is Status.OK
    assert report.detail == (
        "no call since the failure at 2026-03-01T12:00:00Z (answered with a fallback (timeout)); taken as recovered"
    )
    llm.call_timed_out("reply", 5.0)  # a new streak starts now, not at the forgotten failure
    assert "failing since 2026-03-01T12:01:00Z" in llm.health().detail


def test_watch_breaker_knows_its_state_now(clock: Clock) -> None:
    breaker = CircuitBreaker(name="reply")
    breaker.force_open()
    llm = LLMHealth(clock=clock)
    llm.watch_breaker(breaker)
    assert llm.health().detail == "breaker 'reply' forced-open since 2026-03-01T12:00:00Z"


def test_forget_failures_after_s_must_be_positive() -> None:
    with pytest.raises(ValueError, match="forget_failures_after_s"):
        LLMHealth(forget_failures_after_s=0)


on_next = ReactiveTest.on_next

POLICIES = ProtectPolicies(
    timeout_s=10.0,
    breaker=BreakerPolicy(window_calls=2, minimum_calls=2, open_for_s=100.0),
    retry=None,
    rate_limit=None,
    budget=None,
    cache=None,
    stale_for_s=0.0,
)


async def test_readiness_reports_the_llm_while_every_call_hangs(registry: CollectorRegistry) -> None:
    scheduler = TestScheduler()
    tracker = LLMHealth(clock=lambda: scheduler.now)
    metrics = ResilienceMetrics(registry)
    letters: list[DeadLetter] = []
    protection: Protection[str] = Protection(
        POLICIES,
        name="reply",
        dead_letter=letters.append,
        fallback=FallbackPolicy(rules=(FallbackRule(value="(I will answer later)"),)),
        listener=FanOutListener(metrics, tracker),
        random=random.Random(7),
    )
    assert protection.breaker is not None
    tracker.watch_breaker(protection.breaker)
    health = Health(pipeline_running=True)
    health.add("llm", tracker)
    served = await serve(build_app(registry, health, lambda: pytest.fail("nothing is read")), HttpSettings(port=0))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}", timeout=10) as client:
            assert (await client.get("/readyz", params={"strict": "true"})).status_code == 200
            triggers = scheduler.create_hot_observable(on_next(210, 0), on_next(230, 1), on_next(250, 2))

            def call(_: int) -> reactivex.Observable[Any]:
                return protect(reactivex.never(), protection, request={"prompt": "hello"})

            answers: list[Any] = []
            triggers.pipe(ops.flat_map(call)).subscribe(answers.append, scheduler=scheduler)
            scheduler.advance_to(400)
            assert [a.value for a in answers] == ["(I will answer later)"] * 3
            assert protection.breaker.state is BreakerState.OPEN
            ready = await client.get("/readyz")
            assert ready.status_code == 200  # fallbacks still answer: keep sending messages
            body = ready.json()
            assert body["status"] == "degraded"
            llm = body["components"]["llm"]
            assert llm["status"] == "degraded" and llm["critical"] is False
            assert llm["detail"].startswith("breaker 'reply' open since ")
            assert "answered with a fallback (circuit_open)" in llm["detail"]
            assert (await client.get("/readyz", params={"strict": "true"})).status_code == 503
            assert (await client.get("/healthz")).status_code == 200
            # both listeners heard every report
            assert registry.get_sample_value("being_call_timeouts_total", {"name": "reply"}) == 2
    finally:
        await served.close()
