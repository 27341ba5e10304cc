"""``shared_limits``: whether the rate limit and the budget are shared through their store, told by the operators.

Degraded while the store is down: the service still answers, each instance on its own share
of the limits. Never failing, for the same reason. This is also where an outage is logged:
once when it begins and once when it ends, never per call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from operators import NullListener
from service.health._component import ComponentHealth, Status

__all__ = ["SharedLimitsHealth"]

log = logging.getLogger("service")


class SharedLimitsHealth(NullListener):
    """Tracks the shared limits' outages from the operators' reports; :meth:`health` is the component.

    Args:
        where: how the store is named in the detail and the logs (the Redis URL without its password).
        instances: the configured instance count (each instance's share during an outage is 1/instances).
        clock: the time outages are stamped with.
    """

    __slots__ = ("_clock", "_down_since", "_instances", "_last_error", "_local_calls", "_where", "outages")

    def __init__(self, *, where: str, instances: int, clock: Callable[[], datetime]) -> None:
        self._where = where
        self._instances = instances
        self._clock = clock
        self._down_since: datetime | None = None
        self._last_error = ""
        self._local_calls: dict[str, int] = {}
        self.outages = 0

    def limits_store_failed(self, name: str, operation: str, error: Exception) -> None:
        self._last_error = f"{operation}: {error}"

    def limits_fallback(self, name: str, limit: str) -> None:
        self._local_calls[limit] = self._local_calls.get(limit, 0) + 1

    def limits_state(self, name: str, state: str) -> None:
        if state == "local":
            self._down_since = self._clock()
            self._local_calls = {}
            self.outages += 1
            log.warning(
                "shared_limits.unreachable",
                extra={"limits": name, "where": self._where, "error": self._last_error, "share": 1 / self._instances},
            )
            return
        log.info(
            "shared_limits.restored",
            extra={"limits": name, "where": self._where, "local_calls": dict(self._local_calls)},
        )
        self._down_since = None

    def health(self) -> ComponentHealth:
        if self._down_since is None:
            return ComponentHealth(Status.OK, f"{self._where}: limits shared by {self._instances} instance(s)")
        counts = ", ".join(f"{limit} {n}" for limit, n in sorted(self._local_calls.items())) or "none yet"
        return ComponentHealth(
            Status.DEGRADED,
            f"{self._where} unreachable since {self._down_since:%Y-%m-%dT%H:%M:%SZ} ({self._last_error}); "
            f"calls decided on this instance's 1/{self._instances} share of the limits: {counts}",
        )
