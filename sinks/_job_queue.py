"""The writer's job queue: first in, first out, with a bound that admission never blocks on.

Overflow policy, *admit and report*: a job put on a queue that is at or over its bound is
queued all the same (memories are never dropped) and the caller returns at once (the event
loop never waits on the disk). What can pile up is bounded by the sources' own admission (the
inbox keeps at most ``inbox.max_pending_events`` events unacknowledged), not by this queue.
A source that wants to wait asks for a future that resolves once the queue is below its bound
again (:meth:`JobQueue.room`).

The queue says what happened and the writer reports it: :meth:`JobQueue.put` tells whether a
job was admitted over the bound, :meth:`JobQueue.get` how long the queue had stayed at or over
it when it falls below again.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

from sinks.errors import SinkClosedError

__all__ = ["JobQueue"]

T = TypeVar("T")


class JobQueue(Generic[T]):
    """A FIFO between any number of submitting threads and one consuming thread.

    Args:
        bound: jobs that may wait before the queue counts as over its bound (``has_room`` is
            false from ``bound`` queued jobs on).
        clock: monotonic seconds, for how long the queue stays over its bound.
    """

    def __init__(self, bound: int, *, clock: Callable[[], float]) -> None:
        if bound < 1:
            raise ValueError(f"JobQueue: bound must be >= 1, got {bound}")
        self.bound = bound
        self._clock = clock
        self._items: deque[T] = deque()
        self._ready = threading.Condition(threading.Lock())
        self._closed = False
        self._over_since: float | None = None
        self._waiters: list[Future[None]] = []

    def __len__(self) -> int:
        return len(self._items)

    @property
    def has_room(self) -> bool:
        """True while the queue holds fewer jobs than its bound (and is open)."""
        return not self._closed and len(self._items) < self.bound

    def put(self, item: T, what: str) -> int:
        """Queue ``item``; never blocks.

        Returns:
            How many items were waiting before it; ``>= bound`` means it was admitted over the
            bound (it is queued all the same).

        Raises:
            SinkClosedError: the queue is closed (``what`` names the refused job).
        """
        with self._ready:
            if self._closed:
                raise SinkClosedError(f"writer closed; job {what!r} not run")
            before = len(self._items)
            self._items.append(item)
            if self._over_since is None and before + 1 >= self.bound:
                self._over_since = self._clock()
            self._ready.notify()
        return before

    def get(self) -> tuple[T | None, float | None]:
        """Take the oldest item, waiting for one; ``None`` once closed and drained.

        Returns:
            The item, and how long the queue had been at or over its bound when taking the
            item brought it below (``None`` when it did not cross the bound).
        """
        with self._ready:
            while not self._items and not self._closed:
                self._ready.wait()
            if not self._items:
                item: T | None = None
            else:
                item = self._items.popleft()
            over_for: float | None = None
            waiters: list[Future[None]] = []
            if len(self._items) < self.bound:
                if self._over_since is not None:
                    over_for = self._clock() - self._over_since
                    self._over_since = None
                waiters, self._waiters = self._waiters, []
        # resolved outside the lock: their callbacks run here and may submit again
        for waiter in waiters:
            if waiter.set_running_or_notify_cancel():  # False: the waiter gave up (cancelled)
                waiter.set_result(None)
        return item, over_for

    def room(self, what: str) -> Future[None]:
        """A future that resolves once the queue is below its bound (at once if it is now).

        Cancelling it is how a waiter gives up.

        Raises:
            SinkClosedError: the queue is closed.
        """
        future: Future[None] = Future()
        with self._ready:
            if self._closed:
                raise SinkClosedError(f"writer closed; {what!r} waits for no room")
            if len(self._items) >= self.bound:
                # waiters that gave up are dropped here, so cancelling in a loop cannot pile them up
                self._waiters = [w for w in self._waiters if not w.cancelled()]
                self._waiters.append(future)
                return future
        future.set_running_or_notify_cancel()
        future.set_result(None)
        return future

    def close(self) -> bool:
        """Refuse further items; the consumer drains what is queued, then gets ``None``.

        Returns:
            False when it was already closed.
        """
        with self._ready:
            if self._closed:
                return False
            self._closed = True
            self._ready.notify_all()
        return True
