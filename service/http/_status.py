"""``GET /status``: the state of each protection of the LLM calls, read from their shared state objects.

The protections are made with the pipeline, after the HTTP server is up, so the route reads a
:class:`StatusBoard` the runtime fills in once the pipeline is built (``watch``). Until then,
and when replies are off, the list is empty. The route only reads: breaker state and rates,
the budget left, the rate limiter's tokens, the cache's entries and its hit and miss counts
(those are counted by the Prometheus listener, so they are read from the registry), the
bulkhead's calls in flight. It runs on the event loop, the owner of that state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from agent import Protection

__all__ = ["STATUS", "StatusBoard", "protection_status", "status_route"]


def _rate(value: float) -> float | None:
    """A breaker rate, or ``None`` while it is not judged (the breaker's -1)."""
    return None if value < 0 else round(value, 4)


def _counted(registry: CollectorRegistry | None, series: str, name: str) -> int | None:
    if registry is None:
        return None
    value = registry.get_sample_value(series, {"name": name})
    return None if value is None else int(value)


def protection_status(
    protection: Protection[Any], now_s: float, registry: CollectorRegistry | None = None
) -> dict[str, Any]:
    """One protection's state as JSON values; a layer that is switched off is ``None``.

    Args:
        protection: the shared state of one backend's calls.
        now_s: the protection's clock (the loop's monotonic seconds in the service).
        registry: where the cache's hit and miss counters are (``None``: not shown).
    """
    name = protection.name
    breaker = protection.breaker
    budget = protection.budget
    bucket = protection.bucket
    cache = protection.cache
    bulkhead = protection.bulkhead
    return {
        "name": name,
        "breaker": None
        if breaker is None
        else {
            "state": breaker.state.value,
            "failure_rate": _rate(breaker.failure_rate(now_s)),
            "slow_call_rate": _rate(breaker.slow_call_rate(now_s)),
            "probes_running": breaker.probes_running,
        },
        "budget": None
        if budget is None
        else {
            "remaining": budget.remaining(now_s),
            "max_calls": budget.policy.max_calls,
            "window_s": budget.policy.window_s,
        },
        "rate_limit": None
        if bucket is None
        else {
            "tokens": round(bucket.available(now_s), 3),
            "burst": bucket.policy.burst,
            "rate_per_s": bucket.policy.rate_per_s,
            "mode": bucket.policy.mode,
        },
        "cache": None
        if cache is None
        else {
            "entries": len(cache),
            "max_entries": cache.policy.max_entries,
            "ttl_s": cache.policy.ttl_s,
            "hits": _counted(registry, "being_cache_hits_total", name),
            "misses": _counted(registry, "being_cache_misses_total", name),
            "shared": cache.shared is not None,
        },
        "bulkhead": None
        if bulkhead is None
        else {
            "in_flight": bulkhead.in_flight,
            "waiting": bulkhead.waiting,
            "max_concurrent": bulkhead.policy.max_concurrent,
        },
    }


class StatusBoard:
    """The protections ``GET /status`` shows, added by the runtime once the pipeline is built.

    Args:
        registry: the runtime's Prometheus registry (the cache's hit and miss counters).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry
        self._watched: list[tuple[Protection[Any], Callable[[], float]]] = []

    def watch(self, protection: Protection[Any], now_s: Callable[[], float]) -> None:
        """Show ``protection``, its time-dependent state judged at ``now_s()`` (its own clock)."""
        self._watched.append((protection, now_s))

    def report(self) -> dict[str, Any]:
        """The body of ``GET /status``."""
        return {"protections": [protection_status(p, now(), self.registry) for p, now in self._watched]}


STATUS = web.AppKey("status", StatusBoard)


async def status_route(request: web.Request) -> web.Response:
    """``GET /status``: every watched protection's state (an empty list before the pipeline runs)."""
    return web.json_response(request.app[STATUS].report())
