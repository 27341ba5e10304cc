"""Limits of one length on the service's loop: one loop timer for all of them, not one set and cancelled per call.

``timeout`` and ``deadline`` put a limit on every call, and almost every call ends long before
its limit: on uvloop a timer set with ``call_later`` and cancelled costs about 5 µs, two per
protected call. A limit of fixed length started later also ends later (the loop's clock is
monotonic), so the limits of one operator are kept in a queue in the order they end: adding one
appends it, ending one early marks it, and a single loop timer, set for the oldest live limit,
expires the due ones and is set again for the next. It fires about once per limit length while
calls keep ending in time, whatever the number of calls.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable

from reactivex import abc

__all__ = ["LoopLimits"]

_COMPACT_FROM = 64  # marked entries are dropped from the middle once the queue is this long (and doubles)


class _Limit(abc.DisposableBase):
    """One limit: its end on the loop's clock and what to run then; disposing it marks it (from any thread)."""

    __slots__ = ("callback", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback: Callable[[], None] | None = callback

    def dispose(self) -> None:
        self.callback = None


class LoopLimits:
    """Limits of ``seconds`` each on one loop, added from its thread, in the order they end.

    A limit disposed from another thread is marked there and dropped on the loop (its callback
    never runs after that mark is seen, as a cancelled loop timer's does not).
    """

    __slots__ = ("_armed", "_compact_at", "_entries", "_firing", "loop", "seconds", "thread")

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self.loop = loop
        self.thread = threading.get_ident()  # made on the loop's thread, while it runs
        self.seconds = seconds
        self._entries: deque[_Limit] = deque()
        self._armed: asyncio.TimerHandle | None = None
        self._firing = False
        self._compact_at = _COMPACT_FROM

    def __len__(self) -> int:
        """Limits still held (live, or marked and not yet dropped)."""
        return len(self._entries)

    def add(self, callback: Callable[[], None]) -> abc.DisposableBase:
        """Run ``callback()`` ``seconds`` from now unless the result is disposed first (on the loop's thread)."""
        limit = _Limit(self.loop.time() + self.seconds, callback)
        entries = self._entries
        while entries and entries[0].callback is None:
            entries.popleft()
        if len(entries) >= self._compact_at:  # marked limits behind a long-running one: drop them
            self._entries = entries = deque(e for e in entries if e.callback is not None)
            self._compact_at = max(_COMPACT_FROM, 2 * len(entries))
        entries.append(limit)
        if self._armed is None and not self._firing:
            self._armed = self.loop.call_at(entries[0].when, self._fire, entries[0].when)
        return limit

    def _fire(self, armed_for: float) -> None:
        """The loop timer: run every live limit due by now (the time the loop found due), then set it again."""
        self._armed = None
        self._firing = True
        loop = self.loop
        try:
            now = max(loop.time(), armed_for)
            entries = self._entries
            while entries:
                head = entries[0]
                callback = head.callback
                if callback is not None and head.when > now:
                    break
                entries.popleft()
                if callback is None:
                    continue
                head.callback = None
                try:
                    callback()
                except Exception as exc:  # noqa: BLE001 - reported as a loop timer's callback would be; the rest still run
                    loop.call_exception_handler({"message": "a time limit's expiry raised", "exception": exc})
                entries = self._entries  # a callback may have added limits (and compacted the queue)
        finally:
            self._firing = False
            entries = self._entries
            while entries and entries[0].callback is None:
                entries.popleft()
            if entries:
                self._armed = loop.call_at(entries[0].when, self._fire, entries[0].when)
