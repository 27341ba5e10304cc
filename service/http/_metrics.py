"""Prometheus series of the HTTP surface itself: open and refused connections, refused requests."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["REFUSALS", "HttpMetrics"]

REFUSALS = ("host", "origin", "body_too_large", "body_timeout", "bad_body", "unauthorized", "rate_limited")
"""Why a request is refused before its route (the ``reason`` label)."""


class HttpMetrics:
    """The HTTP server's series on the runtime's registry.

    - ``being_http_connections_open`` gauge
    - ``being_http_connections_refused_total``: closed at once, ``http.max_connections`` being open
    - ``being_http_header_timeouts_total``: closed without a whole request head in ``http.header_timeout_s``
    - ``being_http_requests_refused_total{reason}``: ``host`` (421), ``origin`` (403),
      ``body_too_large`` (413), ``body_timeout`` (408), ``bad_body`` (400), ``unauthorized`` (401),
      ``rate_limited`` (429)
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.connections_open = Gauge("being_http_connections_open", "Open HTTP connections", registry=registry)
        self.connections_refused = Counter(
            "being_http_connections_refused",
            "HTTP connections closed at once because http.max_connections were open",
            registry=registry,
        )
        self.header_timeouts = Counter(
            "being_http_header_timeouts",
            "HTTP connections closed for sending no whole request head within http.header_timeout_s",
            registry=registry,
        )
        self.requests_refused = Counter(
            "being_http_requests_refused",
            "HTTP requests refused before their route, by reason",
            ["reason"],
            registry=registry,
        )
        for reason in REFUSALS:
            self.requests_refused.labels(reason=reason)

    def refused(self, reason: str) -> None:
        """Count a request refused for ``reason`` (one of :data:`REFUSALS`)."""
        self.requests_refused.labels(reason=reason).inc()
