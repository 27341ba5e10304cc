"""Prometheus series of the JetStream source: messages received and how each was settled, failures, connection."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["NATS_SETTLED", "NatsMetrics"]

NATS_SETTLED = ("acked", "termed", "naked")
"""The ``how`` label of ``being_nats_messages_settled_total``: answered, terminated as poison, given back."""


class NatsMetrics:
    """The JetStream source's listener (``streams.JetStreamListener``), on the runtime's registry.

    - ``being_nats_messages_received_total{delivery}``: messages fetched, ``first`` or ``redelivered``
    - ``being_nats_messages_settled_total{how}``: messages acked (reply stored), termed (their dead letter
      stored: never delivered again) or naked (given back at shutdown, for another instance)
    - ``being_nats_failures_total{what}``: fetches that met a passing outage, a withdrawal of the
      subscription at shutdown that failed, and acks, terms, naks or heartbeats that did not reach
      the server (the message comes again after ``ack_wait_s``)
    - ``being_nats_in_flight``: messages held now (delivered, not yet acknowledged)
    - ``being_nats_connected``: 1 while connected; ``being_nats_reconnects_total`` read at each scrape
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.received_total = Counter(
            "being_nats_messages_received",
            "JetStream messages fetched, by first delivery or redelivery",
            ["delivery"],
            registry=registry,
        )
        self.settled_total = Counter(
            "being_nats_messages_settled",
            "JetStream messages settled: acked (reply stored), termed (dead letter stored), naked (given back)",
            ["how"],
            registry=registry,
        )
        self.failures = Counter(
            "being_nats_failures",
            "Fetches that met an outage, and acks, terms, naks or heartbeats that failed (redelivered later)",
            ["what"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "being_nats_in_flight", "JetStream messages held, not yet acknowledged", registry=registry
        )
        self.connected = Gauge("being_nats_connected", "1 while the NATS connection is up", registry=registry)
        self.reconnects = Gauge(
            "being_nats_reconnects", "Times the NATS client came back after losing the server", registry=registry
        )
        for delivery in ("first", "redelivered"):
            self.received_total.labels(delivery=delivery)
        for how in NATS_SETTLED:
            self.settled_total.labels(how=how)

    def received(self, redelivered: bool) -> None:
        self.received_total.labels(delivery="redelivered" if redelivered else "first").inc()

    def settled(self, how: str, count: int) -> None:
        self.settled_total.labels(how=how).inc(count)

    def failed(self, what: str, error: BaseException) -> None:
        self.failures.labels(what=what).inc()

    def watch(
        self, *, in_flight: Callable[[], int], connected: Callable[[], bool], reconnects: Callable[[], int]
    ) -> None:
        """Read the held messages and the connection's state at each scrape."""
        self.in_flight.set_function(lambda: float(in_flight()))
        self.connected.set_function(lambda: 1.0 if connected() else 0.0)
        self.reconnects.set_function(lambda: float(reconnects()))
