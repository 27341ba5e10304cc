"""The replay source: recorded events, each emitted at its recorded time on the scheduler.

A replay runs on a virtual clock, a ``datetime`` that holds the years 1 to 9999 and no more;
the pipeline schedules waits on it (batches, timeouts, breakers, windows), before and after
each event. So a replay takes events from :data:`REPLAYABLE_FROM` up to (not including)
:data:`REPLAYABLE_UNTIL`: a century inside each end, room for any wait a setting can sensibly
name. A recording with times outside is hostile or broken, and its reader refuses those events.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import reactivex
from reactivex import Observable, abc

from streams._event import Event
from streams._step import Slot

__all__ = ["REPLAYABLE_FROM", "REPLAYABLE_UNTIL", "replay_events", "unreplayable_time"]

REPLAYABLE_FROM = datetime(100, 1, 1, tzinfo=UTC)
"""The earliest time a replayed event may have."""

REPLAYABLE_UNTIL = datetime(9900, 1, 1, tzinfo=UTC)
"""Replayed events must be earlier than this."""


def unreplayable_time(moment: datetime) -> str | None:
    """Why a replay's virtual clock cannot hold an event at ``moment``, or ``None`` when it can."""
    if moment.tzinfo is None:
        return f"{moment.isoformat()} has no time zone"
    if REPLAYABLE_FROM <= moment < REPLAYABLE_UNTIL:
        return None
    return (
        f"{moment.isoformat()} is outside the times a replay's virtual clock holds"
        f" ({REPLAYABLE_FROM.isoformat()} to {REPLAYABLE_UNTIL.isoformat()})"
    )


def replay_events(events: Sequence[Event]) -> Observable[Event]:
    """Emit ``events`` (sorted by time) at their own times on the subscription's scheduler, then complete.

    Only the next instant is scheduled at any moment, so a recording of millions of events
    keeps one scheduled item, not millions. Events that share a time are emitted together,
    in their recorded order. An event older than the scheduler's clock is emitted at once.

    Raises:
        ValueError: the events are not in time order, or one has a time outside
            :data:`REPLAYABLE_FROM` to :data:`REPLAYABLE_UNTIL`.
    """
    for before, after in itertools.pairwise(events):
        if after.time < before.time:
            raise ValueError(f"replay_events: event {after.id} at {after.time} comes after one at {before.time}")
    for edge in (events[0], events[-1]) if events else ():
        problem = unreplayable_time(edge.time)
        if problem is not None:
            raise ValueError(f"replay_events: event {edge.id}: {problem}")

    def subscribe(observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        clock = scheduler or reactivex.scheduler.CurrentThreadScheduler.singleton()
        slot = Slot()  # the next instant's item (disposed with the subscription, on the loop's thread)
        count = len(events)
        position = 0

        def schedule_next() -> None:
            if position >= count:
                observer.on_completed()
                return
            due: datetime = events[position].time
            now = clock.now
            slot.set(clock.schedule_absolute(due if due > now else now, emit))

        def emit(_scheduler: abc.SchedulerBase, _state: Any = None) -> None:
            nonlocal position
            index = position
            due = events[index].time
            on_next = observer.on_next
            while index < count and events[index].time == due:
                on_next(events[index])
                index += 1
            position = index
            if not slot.disposed:
                schedule_next()

        schedule_next()
        return slot

    return reactivex.create(subscribe)
