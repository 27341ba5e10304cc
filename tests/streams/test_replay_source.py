"""replay_events: recorded events at their own times on the scheduler, one instant scheduled at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from reactivex.testing import ReactiveTest, TestScheduler

from streams import REPLAYABLE_FROM, REPLAYABLE_UNTIL, Event, replay_events, unreplayable_time

T = datetime.fromtimestamp(300, UTC)


def ev(n: int, seconds: float) -> Event:
    return Event(id=f"e{n}", type="user.message", time=T + timedelta(seconds=seconds), source="replay")


def test_events_come_at_their_times_and_equal_times_together_in_order() -> None:
    events = [ev(0, 0), ev(1, 0), ev(2, 5), ev(3, 20)]
    result = TestScheduler().start(lambda: replay_events(events))
    assert [(m.time, m.value.kind) for m in result.messages] == [
        (300.0, "N"),
        (300.0, "N"),
        (305.0, "N"),
        (320.0, "N"),
        (320.0, "C"),
    ]
    assert [m.value.value.id for m in result.messages[:-1]] == ["e0", "e1", "e2", "e3"]


def test_events_older_than_the_clock_come_at_once() -> None:
    early = Event(id="old", type="t", time=datetime.fromtimestamp(10, UTC), source="replay")
    result = TestScheduler().start(lambda: replay_events([early, ev(1, 0)]))
    assert [m.time for m in result.messages] == [200.0, 300.0, 300.0]


def test_an_empty_recording_completes_at_once() -> None:
    result = TestScheduler().start(lambda: replay_events([]))
    assert result.messages == [ReactiveTest.on_completed(200)]


def test_disposal_stops_the_replay() -> None:
    result = TestScheduler().start(lambda: replay_events([ev(0, 0), ev(1, 900)]), disposed=600)
    assert [m.time for m in result.messages] == [300.0]


def test_only_the_next_instant_is_scheduled() -> None:
    scheduler = TestScheduler()
    replay_events([ev(n, n) for n in range(1000)]).subscribe(scheduler=scheduler)
    assert len(scheduler._queue) == 1  # one pending item, not a thousand


def test_events_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="comes after"):
        replay_events([ev(0, 10), ev(1, 5)])


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(99, 12, 31, 23, 59, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    ],
)
def test_times_the_virtual_clock_cannot_hold_are_refused(moment: datetime) -> None:
    assert unreplayable_time(moment) is not None
    with pytest.raises(ValueError, match="outside the times a replay's virtual clock holds"):
        replay_events([Event(id="edge", type="t", time=moment, source="replay")])


def test_the_replayable_range_and_naive_times() -> None:
    assert unreplayable_time(REPLAYABLE_FROM) is None
    assert unreplayable_time(REPLAYABLE_UNTIL - timedelta(microseconds=1)) is None
    assert unreplayable_time(REPLAYABLE_UNTIL) is not None
    assert unreplayable_time(datetime(2026, 1, 1)) == "2026-01-01T00:00:00 has no time zone"
