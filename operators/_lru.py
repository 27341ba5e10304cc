"""A bounded map with least-recently-used eviction and expiry on the caller's clock."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["LruTtl"]

K = TypeVar("K")
V = TypeVar("V")


class LruTtl(Generic[K, V]):
    """At most ``max_entries`` entries; an entry written at ``t`` is gone from ``t + ttl_s`` on.

    Time is passed in (the scheduler's clock), so expiry is exact in virtual time; expired
    entries are dropped when they are next looked at or when room is needed.
    """

    __slots__ = ("_entries", "max_entries", "ttl_s")

    def __init__(self, *, max_entries: int, ttl_s: float | None) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K, now: float) -> tuple[float, V] | None:
        """``(written_at, value)`` for a live entry (and mark it recently used), else ``None``."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self.ttl_s is not None and now >= entry[0] + self.ttl_s:
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
            if self.ttl_s is None or now < written + self.ttl_s:
                evicted += 1
        return evicted

    def clear(self) -> None:
        """Drop every entry."""
        self._entries.clear()
