"""Shared pieces of the operator tests in virtual time: marble shorthands, what came out when, policy bounds."""

from __future__ import annotations

from typing import Any

import pytest
from reactivex.notification import OnNext
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.recorded import Recorded

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


def assert_policy_rejects(policy_type: type[Any], bad: list[tuple[dict[str, Any], str]]) -> None:
    """Each set of keyword arguments in ``bad`` is refused by ``policy_type`` with exactly its message."""
    for kwargs, message in bad:
        with pytest.raises(ValueError) as raised:
            policy_type(**kwargs)
        assert str(raised.value) == message


def assert_an_answer_in_time_passes_through(operator: Any) -> None:
    """An answer at tick 19 of a 20 tick limit comes through, completes, and the source is let go then."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(19, "answer"), on_completed(19))
    results = scheduler.start(lambda: source.pipe(operator))
    assert results.messages == [on_next(219, "answer"), on_completed(219)]
    assert source.subscriptions == [subscribe(200, 219)]


def assert_an_error_in_time_passes_through(operator: Any) -> None:
    """An error of the source before the limit comes through as it is, and the source is let go then."""
    scheduler = TestScheduler()
    error = ConnectionError("refused")
    source = scheduler.create_cold_observable(on_error(3, error))
    results = scheduler.start(lambda: source.pipe(operator))
    assert results.messages == [on_error(203, error)]
    assert source.subscriptions == [subscribe(200, 203)]


def assert_it_errors_at_the_limit(operator: Any, error: Exception) -> None:
    """A source still running at tick 20 of a 20 tick limit gets ``error`` then, after what came in time."""
    scheduler = TestScheduler()
    source = scheduler.create_cold_observable(on_next(5, "partial"), on_next(30, "late"), on_completed(40))
    results = scheduler.start(lambda: source.pipe(operator))
    assert results.messages == [on_next(205, "partial"), on_error(220, error)]
    assert source.subscriptions == [subscribe(200, 220)]
