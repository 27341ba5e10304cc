"""Tick sources run on the scheduler they are subscribed with."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from reactivex.testing import TestScheduler

from streams import HEAVY_TICK, ticks


def test_ticks_every_interval_on_virtual_time() -> None:
    scheduler = TestScheduler()
    result = scheduler.start(lambda: ticks(100.0, HEAVY_TICK), created=100, subscribed=200, disposed=550)
    assert [m.time for m in result.messages] == [300.0, 400.0, 500.0]
    events = [m.value.value for m in result.messages]
    assert [e.payload["n"] for e in events] == [0, 1, 2]
    assert [e.time for e in events] == [datetime.fromtimestamp(t, UTC) for t in (300, 400, 500)]
    assert all(e.type == HEAVY_TICK and e.source == "ticks" for e in events)
    assert len({e.id for e in events}) == 3


def test_ticks_are_disposed_with_the_subscription() -> None:
    scheduler = TestScheduler()
    result = scheduler.start(lambda: ticks(100.0, HEAVY_TICK), created=100, subscribed=200, disposed=250)
    assert result.messages == []
    assert not any(m.value.kind == "C" for m in result.messages)


def test_same_time_gives_the_same_id() -> None:
    first = TestScheduler().start(lambda: ticks(10.0, HEAVY_TICK), disposed=215)
    second = TestScheduler().start(lambda: ticks(10.0, HEAVY_TICK), disposed=215)
    assert [m.value.value.id for m in first.messages] == [m.value.value.id for m in second.messages]


@pytest.mark.parametrize("interval", [0.0, -1.0, float("nan")])
def test_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError, match="interval_s"):
        ticks(interval, HEAVY_TICK)
