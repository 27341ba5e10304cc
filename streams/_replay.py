"""The replay source: recorded events, each emitted at its recorded time on the scheduler."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import SerialDisposable

from streams._event import Event

__all__ = ["replay_events"]


def replay_events(events: Sequence[Event]) -> Observable[Event]:
    """Emit ``events`` (sorted by time) at their own times on the subscription's scheduler, then complete.

    Only the next instant is scheduled at any moment, so a recording of millions of events
    keeps one scheduled item, not millions. Events that share a time are emitted together,
    in their recorded order. An event older than the scheduler's clock is emitted at once.

    Raises:
        ValueError: the events are not in time order.
    """
    for before, after in itertools.pairwise(events):
        if after.time < before.time:
            raise ValueError(f"replay_events: event {after.id} at {after.time} comes after one at {before.time}")

    def subscribe(observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        clock = scheduler or reactivex.scheduler.CurrentThreadScheduler.singleton()
        slot = SerialDisposable()
        position = [0]

        def schedule_next() -> None:
            index = position[0]
            if index >= len(events):
                observer.on_completed()
                return
            due: datetime = events[index].time
            slot.disposable = clock.schedule_absolute(max(due, clock.now), emit)

        def emit(_scheduler: abc.SchedulerBase, _state: Any = None) -> None:
            index = position[0]
            due = events[index].time
            while index < len(events) and events[index].time == due:
                observer.on_next(events[index])
                index += 1
            position[0] = index
            schedule_next()

        schedule_next()
        return slot

    return reactivex.create(subscribe)
