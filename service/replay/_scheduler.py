"""The replay's virtual clock: a historical scheduler that runs one due time at a time, cheaply.

A replay of a million events schedules a million instants (one per distinct event time, see
``streams.replay_events``) besides the pipeline's own timers, and runs each. reactivex's
``HistoricalScheduler`` pays, per scheduled item, a ``ScheduledItem`` with its
``SingleAssignmentDisposable`` (a lock each), a priority queue that compares items through a
Python ``__lt__``, and a ``Disposable`` (another lock) for every action that returns none.
:class:`ReplayScheduler` keeps the same contract (``schedule``, ``schedule_relative``,
``schedule_absolute``, disposal cancels, a disposable an action returns is disposed with the
item, ``advance_to``/``advance_by``/``start`` as inherited) with an item that is its own
disposable and a heap of ``(due, sequence, item)`` tuples compared in C. Items due at the
same time run in the order they were scheduled, as reactivex's queue runs them.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

from reactivex import abc, typing
from reactivex.scheduler import HistoricalScheduler

from service.errors import ServiceError

__all__ = ["ReplayClockError", "ReplayScheduler"]

_TState = TypeVar("_TState")


class ReplayClockError(ServiceError):
    """The replay's virtual clock cannot hold a time the replay needs.

    Attributes:
        setting: the dotted name of the setting whose wait is too long, or ``None`` when an
            event's own time is the trouble.
    """

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        self.setting = setting
        super().__init__(message)


class _Item(abc.DisposableBase):
    """One scheduled action; disposing it cancels it (and disposes what its action returned)."""

    __slots__ = ("action", "cancelled", "duetime", "inner", "scheduler", "state")

    def __init__(self, scheduler: ReplayScheduler, duetime: datetime, action: Any, state: Any) -> None:
        self.scheduler = scheduler
        self.duetime = duetime
        self.action = action
        self.state = state
        self.cancelled = False
        self.inner: abc.DisposableBase | None = None

    def is_cancelled(self) -> bool:
        return self.cancelled

    def invoke(self) -> None:
        action, self.action = self.action, None
        if action is None:
            return
        returned = action(self.scheduler, self.state)
        self.state = None
        if returned is not None and isinstance(returned, abc.DisposableBase):  # most return None: skip the ABC check
            if self.cancelled:  # disposed while it ran: what it returned goes too
                returned.dispose()
            else:
                self.inner = returned

    def dispose(self) -> None:
        if self.cancelled:
            return
        self.cancelled = True
        self.action = self.state = None
        inner, self.inner = self.inner, None
        if inner is not None:
            inner.dispose()


class _Queue:
    """A heap of items by due time, then by the order they were scheduled (``PriorityQueue``'s interface)."""

    __slots__ = ("_count", "_heap")

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, _Item]] = []
        self._count = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def enqueue(self, item: _Item) -> None:
        heapq.heappush(self._heap, (item.duetime, next(self._count), item))

    def peek(self) -> _Item:
        return self._heap[0][2]

    def dequeue(self) -> _Item:
        return heapq.heappop(self._heap)[2]


class ReplayScheduler(HistoricalScheduler):
    """A historical scheduler that runs one due time at a time.

    ``advance_to`` of reactivex's virtual-time schedulers does nothing when asked to advance to
    the current time, so work scheduled "now" by a callback would wait for the next advance;
    :meth:`step` runs it. A time the clock cannot hold is a :class:`ReplayClockError`.
    """

    def __init__(self, initial_clock: datetime | None = None) -> None:
        super().__init__(initial_clock)
        queue = _Queue()
        self._queue: Any = queue  # the inherited advance_to/start use its PriorityQueue interface
        # the queue's heap and counter, for the per-item paths below (no method call per item)
        self._heap = queue._heap
        self._count = queue._count

    @property
    def now(self) -> datetime:
        """The virtual clock (a ``datetime`` always, on a historical scheduler)."""
        clock: Any = self._clock
        return cast(datetime, clock)

    @classmethod
    def add(cls, absolute: typing.AbsoluteTime, relative: typing.RelativeTime) -> typing.AbsoluteTime:
        """``absolute + relative``, or :class:`ReplayClockError` when the clock cannot hold the sum."""
        try:
            return super().add(absolute, relative)
        except (OverflowError, ValueError) as exc:
            raise ReplayClockError(
                f"the replay's virtual clock cannot hold {absolute} + {relative} (it holds the years 1 to 9999)"
            ) from exc

    def schedule(self, action: typing.ScheduledAction[_TState], state: _TState | None = None) -> abc.DisposableBase:
        return self.schedule_absolute(self._clock, action, state)

    def schedule_absolute(
        self, duetime: typing.AbsoluteTime, action: typing.ScheduledAction[_TState], state: _TState | None = None
    ) -> abc.DisposableBase:
        due = duetime if type(duetime) is datetime else self.to_datetime(duetime)
        item = _Item(self, due, action, state)
        with self._lock:
            heapq.heappush(self._heap, (due, next(self._count), item))
        return item

    def next_due(self) -> datetime | None:
        """The due time of the earliest scheduled item still wanted, or ``None`` when there is none.

        Cancelled items are dropped here, so a disposed timer never makes a replay wait for it.
        """
        with self._lock:
            queue = self._queue
            while queue and queue.peek().cancelled:
                queue.dequeue()
            if not queue:
                return None
            due: datetime = queue.peek().duetime
            return due

    def step(self) -> datetime | None:
        """Move the clock to the earliest due time and run everything due by then, including work
        that this scheduled for the same instant. Returns that time, or ``None`` when idle.

        Cancelled items are dropped on the way, so a step never stops at a time only a disposed
        timer wanted.
        """
        return self.steps(1, _never)

    def steps(self, limit: int, stop: Callable[[], bool]) -> datetime | None:
        """Run up to ``limit`` instants one after the other, each as :meth:`step` runs one, and
        stop early after an instant where ``stop()`` is true. Returns the last instant run, or
        ``None`` when nothing was left to run.

        One call for many instants: a replay of a million events runs a million of them, and
        the driver only needs to look in between when an instant started an LLM call.
        """
        lock, heap, pop = self._lock, self._heap, heapq.heappop
        last: datetime | None = None
        for _ in range(limit):
            with lock:
                while heap and heap[0][2].cancelled:
                    pop(heap)
                if not heap:
                    return last
                due: datetime
                due, _, item = pop(heap)
                clock: Any = self._clock
                if due > clock:
                    self._clock = due
            item.invoke()  # the instant's first item (most instants have no other)
            while True:
                with lock:
                    if not heap or heap[0][0] > due:
                        break
                    item = pop(heap)[2]
                if not item.cancelled:
                    item.invoke()
            last = due
            if stop():
                break
        return last


def _never() -> bool:
    return False
