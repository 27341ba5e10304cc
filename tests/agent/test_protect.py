"""protect in virtual time: the layers in design order, each switchable, around one call."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from typing import Any

import pytest
from reactivex import Observable, abc
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.testing import TestScheduler

from agent import Protection, ProtectPolicies, protect
from operators import (
    BreakerPolicy,
    BreakerState,
    BudgetPolicy,
    CachePolicy,
    CallTimeoutError,
    DeadLetter,
    Fallback,
    FallbackPolicy,
    FallbackRule,
    RecordingListener,
    RetryExhaustedError,
    canonical_key,
)
from service.settings import Settings, SettingsError, load_settings
from streams import NOTHING, Step, from_coroutine
from tests.agent.protect_support import FALLBACK, HELLO, OTHER, POLICIES, Run, answer, layers_off
from tests.operators.operator_support import on_completed, on_error, on_next, subscribe
from tests.support import hang_until_cancelled


def test_layers_report_in_design_order() -> None:
    run = Run([(210, HELLO, answer(2))])
    assert run.results.messages == [on_next(212, "answer")]
    assert [method for method, _ in run.listener.reports] == [
        "cache_miss",  # cache, outermost but catch; then deadline, retry and the breaker, which report at the end
        "rate_limit_waited",  # then the rate limiter
        "tokens_available",
        "budget_remaining",  # then the budget, spent right before the call
        "breaker_call",  # the breaker sees the try end
        "cache_size",  # and the answer is stored on the way out
    ]


def test_a_cache_hit_spends_no_budget_and_no_tokens() -> None:
    run = Run([(210, HELLO, answer(2)), (220, HELLO, answer(2, "again")), (230, OTHER, answer(2, "other"))])
    assert run.results.messages == [
        on_next(212, "answer"),
        on_next(220, "answer"),
        on_next(232, "other"),
    ]
    assert run.subs == [[subscribe(210, 212)], [], [subscribe(230, 232)]]
    assert run.listener.of("budget_remaining") == [("llm", 2), ("llm", 1)]
    assert run.protection.budget is not None and run.protection.budget.remaining(300.0) == 1


def test_each_try_has_its_own_timeout_and_the_last_error_becomes_a_fallback() -> None:
    run = Run([(210, HELLO, [on_next(50, "too late"), on_completed(50)])])
    # try 1: 210..220 timed out; wait 1; try 2: 221..231 timed out; give up
    assert run.subs == [[subscribe(210, 220), subscribe(221, 231)]]
    assert run.results.messages == [on_next(231, Fallback("(thinking later)", "value", "retry_exhausted", Exception()))]
    [letter] = run.letters
    assert letter.reason == "retry_exhausted" and letter.kind == "value" and letter.request == HELLO
    assert isinstance(letter.error, RetryExhaustedError) and isinstance(letter.error.last_error, CallTimeoutError)
    assert letter.error.attempts == 2
    assert run.listener.of("fallback_used") == [("llm", "retry_exhausted", "value")]


def test_retry_never_retries_an_open_breaker() -> None:
    down = ConnectionError("refused")
    plan = [
        (210, HELLO, [on_error(1, down)]),  # try 1 fails, try 2 at 212 fails: the window of 2 is all failures
        (230, OTHER, answer(1)),
    ]
    run = Run(plan)
    assert run.subs == [[subscribe(210, 211), subscribe(212, 213)], []]
    assert run.protection.breaker is not None and run.protection.breaker.state is BreakerState.OPEN
    assert [letter.reason for letter in run.letters] == ["retry_exhausted", "circuit_open"]
    assert run.listener.of("retry_attempt") == [("llm", 2, 1.0)]  # none for the open breaker


def test_an_exhausted_budget_is_not_retried_and_is_recorded() -> None:
    prompts = [{"prompt": str(i)} for i in range(4)]
    run = Run([(210 + i, p, answer(1, str(i))) for i, p in enumerate(prompts)])
    assert run.subs[3] == []
    assert [letter.reason for letter in run.letters] == ["budget_exceeded"]
    assert run.listener.of("retry_attempt") == []


def test_a_stale_answer_stands_in_while_fresh() -> None:
    policies = ProtectPolicies(
        timeout_s=10.0, retry=None, breaker=None, rate_limit=None, budget=None, cache=None, stale_for_s=60.0
    )
    down = ConnectionError("refused")
    run = Run([(210, HELLO, answer(1)), (230, HELLO, [on_error(1, down)])], policies=policies, fallback=None)
    assert run.results.messages == [on_next(211, "answer"), on_next(231, Fallback("answer", "stale", "error", down))]


def test_every_layer_can_be_switched_off() -> None:
    off = layers_off(deadline_s=ProtectPolicies().deadline_s)  # the deadline left at its default
    down = ConnectionError("refused")
    run = Run([(210, HELLO, [on_error(100, down)])], policies=off)
    assert run.results.messages == [on_error(310, down)]
    assert run.subs == [[subscribe(210, 310)]]
    assert run.listener.reports == []


def test_the_settings_build_a_protection() -> None:
    policies = Settings().resilience.policies()
    assert policies == ProtectPolicies()  # every default once: the settings' defaults are the policies'
    assert policies.bulkhead is None and policies.breaker is not None and policies.deadline_s is not None
    assert policies.rate_limit is None and policies.budget is None  # for a hosted API's quota, not a local server
    protection: Protection[str] = Protection(policies, name="llm", dead_letter=lambda letter: None)
    assert protection.breaker is not None and protection.cache is not None and protection.bulkhead is None
    assert protection.bucket is None and protection.budget is None


async def test_on_a_real_event_loop_a_timeout_cancels_the_task_and_a_hit_skips_the_call() -> None:
    loop = asyncio.get_running_loop()
    scheduler = AsyncIOScheduler(loop)
    cancelled = asyncio.Event()
    calls: list[str] = []
    letters: list[DeadLetter] = []

    async def hang() -> str:
        calls.append("hang")
        await hang_until_cancelled(cancelled)
        return "never"

    async def quick() -> str:
        calls.append("quick")
        return "answer"

    policies = ProtectPolicies(timeout_s=0.01, retry=None, stale_for_s=0.0)
    protection: Protection[str] = Protection(
        policies, name="llm", dead_letter=letters.append, fallback=FALLBACK, listener=RecordingListener()
    )

    async def run(call: Observable[str], request: dict[str, str]) -> list[str | Fallback[str]]:
        done: asyncio.Future[list[str | Fallback[str]]] = loop.create_future()
        items: list[str | Fallback[str]] = []
        protect(call, protection, request=request).subscribe(
            items.append, done.set_exception, lambda: done.set_result(items), scheduler=scheduler
        )
        return await asyncio.wait_for(done, timeout=10.0)

    [fallback] = await run(from_coroutine(hang), HELLO)
    assert isinstance(fallback, Fallback) and fallback.reason == "timeout"
    await asyncio.wait_for(cancelled.wait(), timeout=10.0)
    assert await run(from_coroutine(quick), OTHER) == ["answer"]
    assert await run(from_coroutine(quick), OTHER) == ["answer"]
    assert calls == ["hang", "quick"]
    assert [letter.reason for letter in letters] == ["timeout"]


def test_each_layer_is_switched_off_from_the_settings() -> None:
    env = {
        f"BEING_RESILIENCE_{layer}_ENABLED": "false"
        for layer in ("TIMEOUT", "BREAKER", "RETRY", "RATE_LIMIT", "BUDGET", "CACHE", "BULKHEAD", "FALLBACK")
    }
    policies = load_settings(env=env).resilience.policies()
    assert policies == layers_off()
    until_reset = {"BEING_RESILIENCE_BUDGET_ENABLED": "true", "BEING_RESILIENCE_BUDGET_WINDOW_S": "0"}
    budget_until_reset = load_settings(env=until_reset).resilience.policies().budget
    assert budget_until_reset == BudgetPolicy(max_calls=120, window_s=None)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"BEING_RESILIENCE_BREAKER_MINIMUM_CALLS": "50"},
            "MINIMUM_CALLS = 50 (environment): expected at most window_calls (10)",
        ),
        (
            {"BEING_RESILIENCE_RETRY_MAX_DELAY_S": "0.1"},
            "MAX_DELAY_S = 0.1 (environment): expected seconds >= base_delay_s (0.5)",
        ),
        ({"BEING_RESILIENCE_RATE_LIMIT_MODE": "drop"}, "MODE = 'drop' (environment): expected one of 'wait', 'reject'"),
        (
            {"BEING_RESILIENCE_BREAKER_FAILURE_RATE_THRESHOLD": "0"},
            "THRESHOLD = 0.0 (environment): expected a rate in (0, 1]",
        ),
    ],
)
def test_bad_resilience_settings_are_refused_with_a_clear_message(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env=env)
    assert message in str(info.value)


def test_a_hit_served_before_the_layers_are_built_still_refreshes_the_last_good_answer() -> None:
    # stored at 211 (ttl 10), served from memory at 215, the call at 230 fails at 231: the last good
    # answer is 16 ticks old (from the hit), not 20 (from the call), so the stale rule (17) serves it
    policies = ProtectPolicies(
        timeout_s=None, breaker=None, retry=None, rate_limit=None, budget=None, cache=CachePolicy(ttl_s=10.0)
    )
    stale: FallbackPolicy[str] = FallbackPolicy(rules=(FallbackRule(stale_for_s=17.0, value="later"),))
    run = Run(
        [(210, HELLO, answer(1)), (215, HELLO, answer(1, "never")), (230, HELLO, [on_error(1, ConnectionError())])],
        policies,
        stale,
    )
    assert run.subs[1] == []
    messages = run.results.messages
    assert messages[:2] == [on_next(211, "answer"), on_next(215, "answer")]
    assert messages[2].time == 231
    assert messages[2].value.value == Fallback("answer", "stale", "error", ConnectionError())


def at_once(*outcomes: str | Exception) -> Observable[str]:
    """A call that ends while it is subscribed, like an eager task's (Python 3.12); each try: the next outcome."""
    left = list(outcomes)

    def subscribe_(observer: abc.ObserverBase[str], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        outcome = left.pop(0)
        if isinstance(outcome, Exception):
            observer.on_error(outcome)
        else:
            observer.on_next(outcome)
            observer.on_completed()
        return NOTHING

    return Step(subscribe_)


def test_calls_that_end_while_they_are_subscribed_go_through_every_layer() -> None:
    scheduler = TestScheduler()
    letters: list[DeadLetter] = []
    policies = dataclasses.replace(POLICIES, breaker=BreakerPolicy())
    protection: Protection[str] = Protection(
        policies, name="llm", dead_letter=letters.append, fallback=FALLBACK, random=random.Random(7)
    )
    # the first try fails at once, the retry (one tick later) answers at once
    first = scheduler.start(lambda: protect(at_once(ConnectionError("refused"), "answer"), protection, request=HELLO))
    assert first.messages == [on_next(201, "answer"), on_completed(201)]
    assert protection.breaker is not None and protection.breaker.state is BreakerState.CLOSED
    assert protection.cache is not None and protection.cache.get(canonical_key(HELLO), 201.0) == ("answer",)
    assert not protection.cache.flights
    # the same request again is a hit; a refused one is a fallback and a dead letter, at once
    again = protect(at_once(), protection, request=HELLO)
    refused = protect(at_once(ValueError("bad request")), protection, request=OTHER)
    got: list[Any] = []
    again.subscribe(got.append, scheduler=scheduler)
    refused.subscribe(got.append, scheduler=scheduler)
    assert got[0] == "answer" and isinstance(got[1], Fallback) and got[1].value == "(thinking later)"
    assert [(letter.reason, type(letter.error)) for letter in letters] == [("error", ValueError)]
