"""Prometheus series of the service as a whole: build, process and platform, checks, breaker rates, loop lag."""

from __future__ import annotations

import asyncio
import platform
from collections.abc import Callable, Iterable
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

from operators import CircuitBreaker

__all__ = ["CHECK_RESULTS", "CheckOutcome", "ServiceMetrics", "probe_loop_lag"]

CHECK_RESULTS = ("ok", "warning", "critical")
"""The ``result`` label of ``being_checks_total``: passed, failed a warning check, failed a critical one."""

_LAG_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class CheckOutcome(Protocol):
    """What :meth:`ServiceMetrics.record_checks` reads of a check's result."""

    @property
    def name(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def severity(self) -> str: ...


class ServiceMetrics:
    """The service's own series, with the process, platform and GC collectors, on the runtime's registry.

    - ``being_build_info{version,python}`` = 1
    - ``being_checks_total{check,result}``: startup checks run, by result (see :meth:`record_check`)
    - ``being_breaker_failure_rate{name}``, ``being_breaker_slow_call_rate{name}``: the share (0 to 1) of
      failed and slow calls in the window the breaker judges, read at each scrape; -1 while it judges none
      (fewer calls than ``minimum_calls``, half-open, forced open, disabled)
    - ``being_event_loop_lag_seconds`` histogram: how late the event loop ran a timer (see :func:`probe_loop_lag`)
    - ``process_*`` (CPU, RSS, open fds, start time), ``python_info``, ``python_gc_*``
    """

    def __init__(self, registry: CollectorRegistry, *, version: str) -> None:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.build_info = Gauge(
            "being_build_info", "The running build: version and Python", ["version", "python"], registry=registry
        )
        self.build_info.labels(version=version, python=platform.python_version()).set(1)
        self.checks = Counter(
            "being_checks",
            "Startup and on-demand checks run, by check and result",
            ["check", "result"],
            registry=registry,
        )
        self.failure_rate = Gauge(
            "being_breaker_failure_rate",
            "Share of failed calls in the window the breaker judges (-1: judging none)",
            ["name"],
            registry=registry,
        )
        self.slow_call_rate = Gauge(
            "being_breaker_slow_call_rate",
            "Share of slow calls in the window the breaker judges (-1: judging none)",
            ["name"],
            registry=registry,
        )
        self.loop_lag = Histogram(
            "being_event_loop_lag_seconds",
            "How late the event loop ran a timer it was given",
            buckets=_LAG_SECONDS,
            registry=registry,
        )

    def record_check(self, name: str, result: str) -> None:
        """Count one run of check ``name`` with ``result`` (one of :data:`CHECK_RESULTS`).

        Raises:
            ValueError: ``result`` is not one of :data:`CHECK_RESULTS`.
        """
        if result not in CHECK_RESULTS:
            raise ValueError(f"record_check({name!r}): result expected one of {CHECK_RESULTS}, got {result!r}")
        self.checks.labels(check=name, result=result).inc()

    def record_checks(self, outcomes: Iterable[CheckOutcome]) -> None:
        """Count each outcome: ``ok`` when it passed, else its severity (``warning``, ``critical``)."""
        for outcome in outcomes:
            self.record_check(outcome.name, "ok" if outcome.ok else str(outcome.severity))

    def watch_breaker(self, breaker: CircuitBreaker, now_s: Callable[[], float]) -> None:
        """Read ``breaker``'s rates at each scrape, judged at ``now_s()`` (the breaker's own clock)."""
        self.failure_rate.labels(name=breaker.name).set_function(lambda: breaker.failure_rate(now_s()))
        self.slow_call_rate.labels(name=breaker.name).set_function(lambda: breaker.slow_call_rate(now_s()))


async def probe_loop_lag(histogram: Histogram, *, interval_s: float = 0.5) -> None:
    """Forever: sleep ``interval_s`` on the running loop and observe how much later than asked it woke.

    A loop blocked by a slow callback wakes late by as much, so this is the lag every timer,
    signal and request of the service sees. Cancel the task to stop it.
    """
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + interval_s
        await asyncio.sleep(interval_s)
        histogram.observe(max(loop.time() - due, 0.0))
