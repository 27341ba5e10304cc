"""catch_fallback in virtual time: a value by error type, the last good value while fresh, or skip; always recorded."""

from __future__ import annotations

from typing import Any

import pytest
from reactivex import Observable
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.coldobservable import ColdObservable
from reactivex.testing.recorded import Recorded

from operators import (
    BudgetExceededError,
    CallTimeoutError,
    CircuitOpenError,
    DeadLetter,
    Fallback,
    FallbackPolicy,
    FallbackRule,
    LastGood,
    RecordingListener,
    catch_fallback,
)

on_next, on_error, on_completed, subscribe = (
    ReactiveTest.on_next,
    ReactiveTest.on_error,
    ReactiveTest.on_completed,
    ReactiveTest.subscribe,
)

POLICY: FallbackPolicy[str] = FallbackPolicy(
    rules=(
        FallbackRule(on=(BudgetExceededError,)),  # skip: the mind simply does not think this tick
        FallbackRule(on=(CircuitOpenError, CallTimeoutError), value="(resting)", stale_for_s=30.0),
        FallbackRule(on=(ConnectionError,), value="(offline)"),
    )
)


class Run:
    def __init__(self, plan: list[tuple[int, list[Recorded[Any]]]], dead_letter: Any = None) -> None:
        scheduler = TestScheduler()
        self.letters: list[DeadLetter] = []
        self.listener = RecordingListener()
        memory: LastGood[str] = LastGood()
        self.calls: list[ColdObservable[Any]] = [scheduler.create_cold_observable(*msgs) for _, msgs in plan]
        triggers = scheduler.create_hot_observable(*[on_next(t, i) for i, (t, _) in enumerate(plan)])

        def one(i: int) -> Observable[str | Fallback[str]]:
            return self.calls[i].pipe(
                catch_fallback(
                    POLICY,
                    dead_letter=dead_letter or self.letters.append,
                    name="reply",
                    key="same-prompt",
                    request={"i": i},
                    last_good=memory,
                    listener=self.listener,
                )
            )

        self.results = scheduler.start(lambda: triggers.pipe(ops.flat_map(one)))


def test_good_values_pass_and_each_error_gets_its_rule() -> None:
    timeout = CallTimeoutError("llm", 5.0)
    offline = ConnectionError("refused")
    spent = BudgetExceededError("mind", 3, None)
    run = Run(
        [
            (210, [on_next(1, "hello"), on_completed(1)]),
            (220, [on_error(1, timeout)]),  # 10 after the good answer: stale
            (250, [on_error(1, timeout)]),  # 40 after: too old, the fixed value
            (260, [on_error(1, offline)]),
            (270, [on_error(1, spent)]),  # skip
        ]
    )
    assert run.results.messages == [
        on_next(211, "hello"),
        on_next(221, Fallback("hello", "stale", "timeout", timeout)),
        on_next(251, Fallback("(resting)", "value", "timeout", timeout)),
        on_next(261, Fallback("(offline)", "value", "error", offline)),
    ]
    assert [(d.kind, d.reason, d.request, d.key, d.error) for d in run.letters] == [
        ("stale", "timeout", {"i": 1}, "same-prompt", timeout),
        ("value", "timeout", {"i": 2}, "same-prompt", timeout),
        ("value", "error", {"i": 3}, "same-prompt", offline),
        ("skip", "budget_exceeded", {"i": 4}, "same-prompt", spent),
    ]
    assert run.listener.of("fallback_used") == [
        ("reply", "timeout", "stale"),
        ("reply", "timeout", "value"),
        ("reply", "error", "value"),
        ("reply", "budget_exceeded", "skip"),
    ]
    assert [c.subscriptions for c in run.calls] == [[subscribe(210 + d, 211 + d)] for d in (0, 10, 40, 50, 60)]


def test_an_error_no_rule_matches_goes_on() -> None:
    bug = KeyError("bug")
    run = Run([(210, [on_error(1, bug)])])
    assert run.results.messages == [on_error(211, bug)]
    assert run.letters == []


def test_a_failing_dead_letter_callback_is_the_error_that_goes_on() -> None:
    disk_full = OSError("disk full")

    def broken(letter: DeadLetter) -> None:
        raise disk_full

    run = Run([(210, [on_error(1, ConnectionError())])], dead_letter=broken)
    assert run.results.messages == [on_error(211, disk_full)]


def test_checks() -> None:
    with pytest.raises(ValueError, match="FallbackRule.on: expected a non-empty tuple of exception types"):
        FallbackRule(on=())
    with pytest.raises(ValueError, match="FallbackPolicy.rules: expected at least one FallbackRule"):
        FallbackPolicy(rules=())


def test_a_last_good_result_stands_in_while_younger_than_stale_for_s() -> None:
    timeout = CallTimeoutError("llm", 5.0)
    run = Run(
        [
            (210, [on_next(1, "hello"), on_completed(1)]),  # remembered at 211
            (239, [on_error(1, timeout)]),  # ends at 240: 29 s later
            (240, [on_error(1, timeout)]),  # ends at 241: exactly 30 s later, too old
        ]
    )
    assert run.results.messages[1:] == [
        on_next(240, Fallback("hello", "stale", "timeout", timeout)),
        on_next(241, Fallback("(resting)", "value", "timeout", timeout)),
    ]


def test_the_last_item_of_a_completed_call_is_remembered_and_a_failed_call_leaves_what_was() -> None:
    timeout = CallTimeoutError("llm", 5.0)
    run = Run(
        [
            (210, [on_next(1, "first"), on_next(2, "last"), on_completed(3)]),
            (220, [on_next(1, "partial"), on_error(2, timeout)]),  # what came before the error passes
            (230, [on_error(1, timeout)]),
        ]
    )
    assert run.results.messages[2:] == [
        on_next(221, "partial"),
        on_next(222, Fallback("last", "stale", "timeout", timeout)),
        on_next(231, Fallback("last", "stale", "timeout", timeout)),
    ]


def one_call_after_a_good_one(
    policy: FallbackPolicy[str], *, subscribed: int = 220, **options: Any
) -> list[Recorded[Any]]:
    """A good answer at 211 through a fresh memory, then a call subscribed at ``subscribed`` failing one tick
    later with ``CallTimeoutError``."""
    scheduler = TestScheduler()
    memory: LastGood[str] = LastGood()
    good = scheduler.create_cold_observable(on_next(1, "hello"), on_completed(1))
    bad = scheduler.create_cold_observable(on_error(1, CallTimeoutError("llm", 5.0)))
    defaults: dict[str, Any] = {"dead_letter": lambda _: None, "last_good": memory, "key": "k"}
    options = defaults | options
    scheduler.schedule_absolute(210, lambda *_: good.pipe(catch_fallback(policy, **options)).subscribe())
    return scheduler.start(lambda: bad.pipe(catch_fallback(policy, **options)), subscribed=subscribed).messages


def test_no_stale_result_without_a_key_a_memory_or_a_stale_for_s() -> None:
    timeout = CallTimeoutError("llm", 5.0)
    fixed = [on_next(221, Fallback("(resting)", "value", "timeout", timeout)), on_completed(221)]
    assert one_call_after_a_good_one(POLICY) == [
        on_next(221, Fallback("hello", "stale", "timeout", timeout)),
        on_completed(221),
    ]
    assert one_call_after_a_good_one(POLICY, key=None) == fixed
    assert one_call_after_a_good_one(POLICY, last_good=None) == fixed
    never_stale: FallbackPolicy[str] = FallbackPolicy(rules=(FallbackRule(on=(CallTimeoutError,), value="(resting)"),))
    assert one_call_after_a_good_one(never_stale) == fixed


def test_a_skipped_call_completes_with_no_item_and_its_letter_has_no_key_without_one() -> None:
    scheduler = TestScheduler()
    letters: list[DeadLetter] = []
    spent = BudgetExceededError("mind", 3, None)
    call = scheduler.create_cold_observable(on_error(3, spent))
    results = scheduler.start(lambda: call.pipe(catch_fallback(POLICY, dead_letter=letters.append)))
    assert results.messages == [on_completed(203)]
    assert letters == [DeadLetter("call", "budget_exceeded", "skip", spent, None, None)]


def test_a_failing_dead_letter_callback_keeps_the_call_error_as_its_context_and_reports_no_fallback() -> None:
    disk_full = OSError("disk full")
    offline = ConnectionError("refused")

    def broken(letter: DeadLetter) -> None:
        raise disk_full

    run = Run([(210, [on_error(1, offline)])], dead_letter=broken)
    assert run.results.messages == [on_error(211, disk_full)]
    assert disk_full.__context__ is offline
    assert run.listener.of("fallback_used") == []


def test_a_good_call_passes_through_unchanged_items_and_end() -> None:
    scheduler = TestScheduler()
    call = scheduler.create_cold_observable(on_next(1, "a"), on_next(2, "b"), on_completed(3))
    memory: LastGood[str] = LastGood()
    results = scheduler.start(
        lambda: call.pipe(catch_fallback(POLICY, dead_letter=lambda _: None, key="k", last_good=memory))
    )
    assert results.messages == [on_next(201, "a"), on_next(202, "b"), on_completed(203)]
    assert call.subscriptions == [subscribe(200, 203)]
    assert memory.recall("k", 203.0, younger_than_s=1.0) == ("b",)


def test_a_stale_for_s_below_a_second_still_uses_a_last_good_result() -> None:
    timeout = CallTimeoutError("llm", 5.0)
    brief: FallbackPolicy[str] = FallbackPolicy(
        rules=(FallbackRule(on=(CallTimeoutError,), value="(resting)", stale_for_s=0.5),)
    )
    # the good answer is remembered at 211 and the failure comes in the same instant: 0 s old
    assert one_call_after_a_good_one(brief, subscribed=210) == [
        on_next(211, Fallback("hello", "stale", "timeout", timeout)),
        on_completed(211),
    ]
