"""Shared pieces of the operator tests in virtual time: marble shorthands, what came out when, policy bounds."""

from __future__ import annotations

from typing import Any

from reactivex.notification import OnNext
from reactivex.testing import ReactiveTest
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
