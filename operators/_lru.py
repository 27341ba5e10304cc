"""A bounded map with least-recently-used eviction and expiry on the caller's clock."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

from operators._window import micros

__all__ = ["LruTtl"]

K = TypeVar("K")
V = TypeVar("V")


class LruTtl(Generic[K, V]):
    """At most ``max_entries`` entries; an entry written at ``t`` is gone from ``t + ttl_s`` on.

    Time is passed in (the scheduler's clock), so expiry is exact in virtual time: ages are
    compared in whole microseconds, as the breaker's window does, so an entry written at 0.1 with
    a TTL of 0.2 is gone at 0.3 (in floats 0.1 + 0.2 is 0.30000000000000004). Expired entries are
    dropped when they are next looked at or when room is needed.
    """

    __slots__ = ("_entries", "_ttl_us", "max_entries", "ttl_s")

    def __init__(self, *, max_entries: int, ttl_s: float | None) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._ttl_us = None if ttl_s is None else micros(ttl_s)  # read on every lookup: converted once
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K, now: float) -> tuple[float, V] | None:
        """``(written_at, value)`` for a live entry (and mark it recently used), else ``None``."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._expired(entry[0], now):
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: K, value: V, now: float) -> int:
        """Store ``value`` written at ``now``; returns how many live entries were evicted to make room."""
        entries = self._entries
        entries[key] = (now, value)
        entries.move_to_end(key)
        evicted = 0
        while len(entries) > self.max_entries:
            _, (written, _) = entries.popitem(last=False)
            if not self._expired(written, now):
                evicted += 1
        return evicted

    def _expired(self, written: float, now: float) -> bool:
        return self._ttl_us is not None and micros(now) - micros(written) >= self._ttl_us

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()
