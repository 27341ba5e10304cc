"""The circuit breaker's sliding window of call outcomes, by count or by time."""

from __future__ import annotations

from collections import deque

__all__ = ["OutcomeWindow", "micros"]


def micros(seconds: float) -> int:
    """``seconds`` as a whole number of microseconds, the clock's resolution.

    Window edges are compared in these integers, not in floats, so that times written as
    decimals behave as they read: an outcome at 6.2 is exactly 5 s old at 11.2, where
    ``11.2 - 5.0`` is 6.199999999999999 in floating point.
    """
    return round(seconds * 1_000_000)


class OutcomeWindow:
    """Counts calls, failures and slow calls among the last ``calls`` calls or the last ``span_s`` seconds.

    Exactly one of ``calls`` and ``span_s`` is used: a count window keeps the newest
    ``calls`` outcomes; a time window forgets outcomes older than ``span_s`` (an outcome
    at time ``t`` counts while ``now - t < span_s``, compared to the microsecond).
    """

    __slots__ = ("_calls", "_entries", "_failures", "_slow", "_span")

    def __init__(self, *, calls: int | None = None, span_s: float | None = None) -> None:
        self._calls = calls
        self._span = None if span_s is None else micros(span_s)
        self._entries: deque[tuple[int, bool, bool]] = deque()
        self._failures = 0
        self._slow = 0

    def _drop_oldest(self) -> None:
        _, failed, slow = self._entries.popleft()
        self._failures -= failed
        self._slow -= slow

    def _forget(self, now: int) -> None:
        if self._span is not None:
            horizon = now - self._span
            while self._entries and self._entries[0][0] <= horizon:
                self._drop_oldest()

    def record(self, now: float, *, failed: bool, slow: bool) -> None:
        """Add one outcome at time ``now``."""
        at = micros(now)
        self._forget(at)
        if self._calls is not None and len(self._entries) >= self._calls:
            self._drop_oldest()
        self._entries.append((at, failed, slow))
        self._failures += failed
        self._slow += slow

    def counts(self, now: float) -> tuple[int, int, int]:
        """``(calls, failures, slow)`` in the window at time ``now``."""
        if self._span is not None:  # a count window forgets nothing by time
            self._forget(micros(now))
        return len(self._entries), self._failures, self._slow

    def clear(self) -> None:
        """Forget every outcome."""
        self._entries.clear()
        self._failures = 0
        self._slow = 0
