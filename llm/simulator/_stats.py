"""What the simulator served, so tests can assert what reached it (and wait for it)."""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

__all__ = ["SimulatorStats"]


class SimulatorStats:
    """Counters of one simulator run, and a way to wait until they say something."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()  # by path
        self.statuses: Counter[int] = Counter()  # by status sent (200 counted when a stream starts)
        self.faults: Counter[str] = Counter()  # by fault applied
        self.in_flight = 0
        self.max_in_flight_seen = 0
        self.completed = 0  # answers fully written
        self.disconnects = 0  # clients that went away before their answer was complete
        self.peers: set[tuple[str, int]] = set()  # distinct client (host, port): one per TCP connection
        self.last_authorization: str | None = None
        self.last_body: dict[str, Any] | None = None  # the JSON body of the last POST that had one
        # the W3C traceparent header of each of the last 4096 requests (None: it had none)
        self.traceparents: deque[str | None] = deque(maxlen=4096)
        self._waiters: list[tuple[Callable[[SimulatorStats], bool], asyncio.Future[None]]] = []

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def connections(self) -> int:
        return len(self.peers)

    def changed(self) -> None:
        """Wake the waiters whose condition now holds (called after every update)."""
        for predicate, future in list(self._waiters):
            if not future.done() and predicate(self):
                future.set_result(None)

    async def wait_until(self, predicate: Callable[[SimulatorStats], bool], timeout_s: float = 5.0) -> None:
        """Return once ``predicate(stats)`` holds; ``TimeoutError`` after ``timeout_s``."""
        if predicate(self):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (predicate, future)
        self._waiters.append(entry)
        try:
            await asyncio.wait_for(future, timeout_s)
        finally:
            self._waiters.remove(entry)

    def __repr__(self) -> str:
        return (
            f"SimulatorStats(total={self.total}, statuses={dict(self.statuses)}, faults={dict(self.faults)}, "
            f"in_flight={self.in_flight}, max_in_flight_seen={self.max_in_flight_seen}, "
            f"disconnects={self.disconnects}, connections={self.connections})"
        )
