"""The cache's policy and shared state: stored results (LRU + TTL) and calls in flight."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from reactivex import abc

from operators._clock import check, finite
from operators._listener import NULL_LISTENER, ResilienceListener
from operators._lru import LruTtl
from operators._shared_store import Enter, SharedStore
from streams import from_coroutine, subscribe_inner

__all__ = ["CachePolicy", "Flight", "ResponseCache"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CachePolicy:
    """How long and how many results are kept.

    Attributes:
        ttl_s: a stored result is served for this long after it was stored.
        max_entries: beyond this many results the least recently used is evicted.
    """

    ttl_s: float = 600.0
    max_entries: int = 1024

    def __post_init__(self) -> None:
        check(finite(self.ttl_s) and self.ttl_s > 0, "CachePolicy.ttl_s", "seconds > 0", self.ttl_s)
        check(
            isinstance(self.max_entries, int) and self.max_entries >= 1,
            "CachePolicy.max_entries",
            "an integer >= 1",
            self.max_entries,
        )


class Flight:
    """One upstream call shared by every identical call that arrived while it ran."""

    __slots__ = ("observers", "upstream", "values")

    def __init__(self) -> None:
        self.observers: list[abc.ObserverBase[Any]] = []
        self.values: list[Any] = []
        self.upstream: abc.DisposableBase | None = None


_NO_FLIGHT = Flight()


class ResponseCache:
    """Results of successful calls by key, and the calls in flight by key (single-flight).

    The first tier is in memory: bounded by entries with LRU eviction, expiry on the
    scheduler's clock (so a test can say at which tick an entry expires). An optional
    ``shared`` store is the second tier: consulted when the first misses, written after
    each successful call; its failures are reported and survived, never passed on.

    Args:
        policy: TTL and bound.
        name: the cache's name in reports and errors.
        listener: told of hits, misses, evictions, size and store failures.
        shared: the second tier (``None``: memory only).
        enter: how the shared store's coroutines enter the stream (disposal cancels them).
    """

    def __init__(
        self,
        policy: CachePolicy | None = None,
        *,
        name: str = "cache",
        listener: ResilienceListener = NULL_LISTENER,
        shared: SharedStore | None = None,
        enter: Enter = from_coroutine,
    ) -> None:
        self.policy = policy if policy is not None else CachePolicy()
        self.name = name
        self.listener = listener
        self.shared = shared
        self.enter = enter
        self.lock = threading.RLock()
        self._store: LruTtl[str, tuple[Any, ...]] = LruTtl(max_entries=self.policy.max_entries, ttl_s=self.policy.ttl_s)
        self.flights: dict[str, Flight] = {}
        # writes to the shared store still running, held so their tasks are not collected midway
        self._writes: set[abc.DisposableBase] = set()

    def __len__(self) -> int:
        return len(self._store)

    def get(self, key: str, now: float) -> tuple[Any, ...] | None:
        """The stored items for ``key`` if still fresh at ``now``."""
        with self.lock:
            entry = self._store.get(key, now)
        return None if entry is None else entry[1]

    def look_up(
        self, key: str, now: float, observer: abc.ObserverBase[Any]
    ) -> tuple[tuple[Any, ...] | None, Flight, tuple[Any, ...] | None]:
        """Under one lock: the fresh stored items for ``key``, or the flight ``observer`` now belongs to.

        Returns ``(stored, flight, seen)``: ``stored`` when it is a hit (``flight`` is then
        unused); else ``flight``, which ``observer`` joined (``seen``: the items it had
        emitted so far) or which was started for it (``seen`` is ``None``).
        """
        with self.lock:
            entry = self._store.get(key, now)
            if entry is not None:
                return entry[1], _NO_FLIGHT, None
            flight = self.flights.get(key)
            seen = None if flight is None else tuple(flight.values)
            if flight is None:
                flight = self.flights[key] = Flight()
            flight.observers.append(observer)
            return None, flight, seen

    def land(self, key: str, flight: Flight) -> list[abc.ObserverBase[Any]]:
        """``flight`` has ended: it stops taking members; returns its members.

        Its upstream subscription ended with it: the caller disposes what :meth:`release` gives.
        """
        with self.lock:
            if self.flights.get(key) is flight:
                del self.flights[key]
            observers = flight.observers
            flight.observers = []
            return observers

    def release(self, flight: Flight) -> None:
        """Dispose the subscription of a flight that has ended (no member is left to), and let it go.

        Per-call layers are disposed by their outermost subscriber when the call ends; the
        members of a flight are subscribed to the cache, not to the call, so the call's own
        subscription would be left holding its layers (and they it, in cycles only the
        garbage collector finds) without this.
        """
        upstream, flight.upstream = flight.upstream, None
        if upstream is not None:
            upstream.dispose()

    def put(self, key: str, values: tuple[Any, ...], now: float) -> None:
        """Store a successful call's items."""
        with self.lock:
            evicted = self._store.put(key, values, now)
            size = len(self._store)
        if evicted:
            self.listener.cache_evicted(self.name, evicted)
        self.listener.cache_size(self.name, size)

    @property
    def writes_pending(self) -> int:
        """Writes to the shared store not yet ended."""
        with self.lock:
            return len(self._writes)

    def share(self, key: str, values: tuple[Any, ...]) -> None:
        """Write a successful call's items to the shared store, if there is one, without waiting.

        A failed write is reported to the listener (``cache_store_failed(name, "set", error)``).
        """
        shared = self.shared
        if shared is None:
            return
        ttl_s = self.policy.ttl_s
        ended = False
        holder: list[abc.DisposableBase] = []

        def end() -> None:
            nonlocal ended
            with self.lock:
                ended = True
                if holder:
                    self._writes.discard(holder[0])

        def failed(error: Exception) -> None:
            end()
            self.listener.cache_store_failed(self.name, "set", error)

        write = self.enter(lambda: shared.set(key, values, ttl_s))
        disposable = subscribe_inner(write, lambda _: None, failed, end, None)
        with self.lock:
            if not ended:
                holder.append(disposable)
                self._writes.add(disposable)

    def clear(self) -> None:
        """Forget every result of the first tier (calls in flight go on; the shared store keeps its own)."""
        with self.lock:
            self._store.clear()
        self.listener.cache_size(self.name, 0)
