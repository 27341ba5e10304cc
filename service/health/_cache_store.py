"""``cache_store``: whether the cache's shared tier (Redis) answers, probed on the loop and told by the cache.

A probe reads a key nobody writes (a miss is an answer) within the store's own time limit,
every ``interval_s``; the cache's own reports of failed reads and writes count too. Degraded
from the latest failure until the next answer: without the store the service works, every
shared lookup a miss. Never failing, for the same reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from operators import CacheStoreError, NullListener, SharedStore
from service.health._component import ComponentHealth, Status

__all__ = ["CacheStoreHealth"]

PROBE_KEY = "health-probe"


class CacheStoreHealth(NullListener):
    """Tracks the shared store; :meth:`health` is the component, :meth:`run` the probe task.

    Args:
        store: the shared tier.
        where: how it is named in the detail (the Redis URL without its password).
        clock: the time failures are stamped with.
        interval_s: how often :meth:`run` probes.
    """

    __slots__ = ("_answered", "_clock", "_failure", "_interval_s", "_store", "_where")

    def __init__(
        self, store: SharedStore, *, where: str, clock: Callable[[], datetime], interval_s: float = 5.0
    ) -> None:
        self._store = store
        self._where = where
        self._clock = clock
        self._interval_s = interval_s
        self._failure: tuple[datetime, str] | None = None
        self._answered: datetime | None = None

    def cache_store_failed(self, name: str, operation: str, error: Exception) -> None:
        self._failure = (self._clock(), f"a {operation} failed: {error}")

    async def probe(self) -> bool:
        """Ask the store once; True when it answered."""
        try:
            await self._store.get(PROBE_KEY)
        except CacheStoreError as exc:
            self._failure = (self._clock(), f"the probe failed: {exc}")
            return False
        self._failure = None
        self._answered = self._clock()
        return True

    async def run(self) -> None:
        """Probe every ``interval_s`` until cancelled."""
        while True:
            await self.probe()
            await asyncio.sleep(self._interval_s)

    def health(self) -> ComponentHealth:
        if self._failure is not None:
            at, why = self._failure
            return ComponentHealth(
                Status.DEGRADED, f"{self._where} since {at:%Y-%m-%dT%H:%M:%SZ}: {why}; shared lookups are misses"
            )
        if self._answered is None:
            return ComponentHealth(Status.OK, f"{self._where}: not probed yet")
        return ComponentHealth(Status.OK, f"{self._where} answered at {self._answered:%Y-%m-%dT%H:%M:%SZ}")
