"""The bulkhead's policy and shared state: call slots and a first-come first-served queue."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from operators._clock import check
from operators._listener import NULL_LISTENER, ResilienceListener
from operators.errors import BulkheadFullError

__all__ = ["Bulkhead", "BulkheadPolicy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkheadPolicy:
    """How many calls may run at once, and how many may queue for a slot.

    Attributes:
        max_concurrent: calls in flight at most.
        max_waiting: calls queued at most; one more is refused with ``BulkheadFullError``.
    """

    max_concurrent: int = 4
    max_waiting: int = 16

    def __post_init__(self) -> None:
        check(
            isinstance(self.max_concurrent, int) and self.max_concurrent >= 1,
            "BulkheadPolicy.max_concurrent",
            "an integer >= 1",
            self.max_concurrent,
        )
        check(
            isinstance(self.max_waiting, int) and self.max_waiting >= 0,
            "BulkheadPolicy.max_waiting",
            "an integer >= 0",
            self.max_waiting,
        )


Start = Callable[[], None]


class Bulkhead:
    """Slots in use and calls waiting, shared by every call through the bulkhead."""

    def __init__(
        self,
        policy: BulkheadPolicy | None = None,
        *,
        name: str = "bulkhead",
        listener: ResilienceListener = NULL_LISTENER,
    ) -> None:
        self.policy = policy if policy is not None else BulkheadPolicy()
        self.name = name
        self._listener = listener
        self._lock = threading.Lock()
        self._in_flight = 0
        self._waiting: deque[Start] = deque()

    @property
    def in_flight(self) -> int:
        """Calls holding a slot."""
        return self._in_flight

    @property
    def waiting(self) -> int:
        """Calls queued for a slot."""
        return len(self._waiting)

    def _report(self) -> None:
        self._listener.bulkhead_state(self.name, self._in_flight, len(self._waiting))

    def enter(self, start: Start) -> bool:
        """Take a slot now (True: the caller starts) or queue ``start`` for the next free slot (False).

        Raises:
            BulkheadFullError: no slot and no waiting place.
        """
        p = self.policy
        with self._lock:
            if self._in_flight < p.max_concurrent:
                self._in_flight += 1
                now = True
            elif len(self._waiting) < p.max_waiting:
                self._waiting.append(start)
                now = False
            else:
                self._listener.bulkhead_rejected(self.name)
                raise BulkheadFullError(self.name, p.max_concurrent, p.max_waiting)
            self._report()
        return now

    def withdraw(self, start: Start) -> None:
        """A queued call was disposed before it got a slot."""
        with self._lock:
            if start in self._waiting:
                self._waiting.remove(start)
                self._report()

    def leave(self) -> None:
        """A call gave its slot back; the oldest queued call (if any) takes it and starts."""
        with self._lock:
            successor = self._waiting.popleft() if self._waiting else None
            if successor is None:
                self._in_flight -= 1
            self._report()
        if successor is not None:
            successor()
