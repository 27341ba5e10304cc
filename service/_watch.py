"""What runs beside the pipeline for the operator: readiness components, the loop and cache probes, systemd.

The runtime makes one :class:`ServiceWatch` per run and tells it when the writer exists, when
the pipeline is subscribed, when a stop begins, and closes it at the end. Its tasks run on the
event loop (no thread): the loop-lag probe, the cache store's probe, systemd's watchdog.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from operators import NullListener, SharedStore
from service._systemd import SystemdNotifier
from service.health import (
    CacheStoreHealth,
    DatabaseHealth,
    DiskHealth,
    Health,
    InboxHealth,
    LoopLag,
    SharedLimitsHealth,
)
from service.settings import Settings
from sinks import DuckWriter
from streams import InboxState

__all__ = ["ServiceWatch", "llm_stuck_after_s"]

log = logging.getLogger("service")


def llm_stuck_after_s(settings: Settings) -> float:
    """``health.llm_stuck_after_s``, or ``llm.first_byte_timeout_s`` where it is 0."""
    return settings.health.llm_stuck_after_s or settings.llm.first_byte_timeout_s


class _CacheReports(NullListener):
    """Passes the cache's reports of failed store reads and writes to the ``cache_store`` component, once it exists."""

    __slots__ = ("target",)

    def __init__(self) -> None:
        self.target: CacheStoreHealth | None = None

    def cache_store_failed(self, name: str, operation: str, error: Exception) -> None:
        if self.target is not None:
            self.target.cache_store_failed(name, operation, error)


class ServiceWatch:
    """Readiness components, probes and systemd notifications for one run.

    Args:
        settings: the run's settings.
        health: the run's health, given the components and the loop's lag.
        env: the environment systemd's variables are read from (``os.environ`` by default).
    """

    def __init__(self, settings: Settings, health: Health, *, env: Mapping[str, str] | None = None) -> None:
        self._settings = settings
        self._health = health
        self.loop_lag = LoopLag(settings.health.loop_probe_interval_s)
        health.loop_lag = self.loop_lag.lag
        health.loop_lag_limit_s = settings.health.loop_lag_limit_s
        self.systemd = SystemdNotifier(env)
        self.listener = _CacheReports()
        """Give it to the operators (beside the others): the cache's failed store calls degrade ``cache_store``."""
        self._tasks: list[asyncio.Task[None]] = []

    def _start(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(work, name=name))

    def watch_writer(self, writer: DuckWriter) -> None:
        """The database exists: report it and its disk, and start measuring the loop (call on the loop)."""
        checks = self._settings.checks
        folder = Path(self._settings.storage.database_path).resolve().parent
        self._health.add("database", DatabaseHealth(writer), critical=True)
        disk = DiskHealth(
            folder, critical_free_mb=checks.disk_critical_free_mb, warning_free_mb=checks.disk_warning_free_mb
        )
        self._health.add("disk", disk, critical=True)
        self._start("health.loop_lag", self.loop_lag.run())

    def started(self, inbox: InboxState, shared: SharedStore | None, *, clock: Callable[[], datetime]) -> None:
        """The pipeline is subscribed: report the inbox and the cache store, and tell systemd we are ready."""
        loop = asyncio.get_running_loop()
        stalled = self._settings.health.inbox_stalled_after_s

        def outstanding() -> Iterator[str]:
            return (key for claim in inbox.claims for key in claim.unacked)

        self._health.add("inbox", InboxHealth(outstanding, clock=loop.time, stalled_after_s=stalled))
        if shared is not None:
            cache = self._settings.resilience.cache
            where = cache.shown_redis_url() if cache.backend == "redis" else f"the {cache.backend} store"
            store = CacheStoreHealth(
                shared, where=where, clock=clock, interval_s=self._settings.health.cache_probe_interval_s
            )
            self._health.add("cache_store", store)
            self.listener.target = store
            self._start("health.cache_store", store.run())
        self.systemd.notify(READY="1", STATUS="running")
        interval = self.systemd.watchdog_interval_s
        if interval is not None:
            self._start("systemd.watchdog", self._watchdog(interval))

    def watch_limits(self, *, clock: Callable[[], datetime]) -> SharedLimitsHealth:
        """The limits are shared through Redis: report them as ``shared_limits``; give the result to the operators."""
        shared = self._settings.resilience.shared_limits
        limits = SharedLimitsHealth(where=shared.shown_redis_url(), instances=shared.instances, clock=clock)
        self._health.add("shared_limits", limits)
        return limits

    def stopping(self) -> None:
        """The first signal arrived: tell systemd the stop has begun."""
        drain = self._settings.shutdown.drain_timeout_s
        self.systemd.notify(STOPPING="1", STATUS=f"stopping: draining for at most {drain:g} s")

    async def _watchdog(self, interval_s: float) -> None:
        """``WATCHDOG=1`` while alive; a process that is not (a stuck loop, a dead writer) stops sending."""
        while True:
            alive, body = self._health.live()
            if alive:
                self.systemd.notify(WATCHDOG="1")
            else:
                log.error("systemd.watchdog_withheld", extra={"liveness": body})
            await asyncio.sleep(interval_s)

    async def close(self) -> None:
        """Stop the probes and the watchdog."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
