"""Prometheus series of readiness: whether the service is ready, and each component's status, read at a scrape."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from service.health import Health

__all__ = ["HealthCollector", "status_code"]

_CODES = {"ok": 0.0, "degraded": 1.0}
_DOWN = 2.0


def status_code(status: str) -> float:
    """0 ok, 1 degraded, 2 anything worse (``down``, or ``failing`` as later states name it)."""
    return _CODES.get(status, _DOWN)


class HealthCollector(Collector):
    """What /readyz says, as series (the same questions, asked at each scrape).

    - ``being_ready``: 1 when /readyz answers 200, else 0
    - ``being_component_status{component,critical}``: 0 ok, 1 degraded, 2 down
    """

    def __init__(self, health: Health, registry: CollectorRegistry) -> None:
        self.health = health
        registry.register(self)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("being_ready", "1 when the service is ready (/readyz answers 200)")
        yield GaugeMetricFamily(
            "being_component_status", "Status of a component of readiness: 0 ok, 1 degraded, 2 down", labels=[]
        )

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ready, _ = self.health.ready()
        yield GaugeMetricFamily("being_ready", "1 when the service is ready (/readyz answers 200)", value=float(ready))
        components = GaugeMetricFamily(
            "being_component_status",
            "Status of a component of readiness: 0 ok, 1 degraded, 2 down",
            labels=["component", "critical"],
        )
        for name, (report, critical) in self.health.components().items():
            components.add_metric([name, str(critical).lower()], status_code(report.status.value))
        yield components
