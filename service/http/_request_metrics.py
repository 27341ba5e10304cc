"""Prometheus series of every HTTP request: how many, by route and status, and how long they took."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["CLIENT_GONE", "UNMATCHED", "request_metrics"]

UNMATCHED = "unmatched"
"""The ``route`` label of a request no route matched (its path is not a label: anyone can send any path)."""

_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
CLIENT_GONE = "499"
"""The ``status`` of a request whose client went away before its answer (nginx's convention)."""


def _method(request: web.Request) -> str:
    return request.method if request.method in _METHODS else "other"


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def request_metrics(registry: CollectorRegistry, *, clock: Callable[[], float] = time.perf_counter) -> Middleware:
    """The outermost middleware: counts every answered request and times it, refused ones included.

    - ``being_http_requests_total{route,method,status}`` (``route`` is the route's path pattern; a method
      outside the standard ones is ``other``)
    - ``being_http_request_duration_seconds{route}`` histogram
    """
    requests = Counter(
        "being_http_requests",
        "HTTP requests answered, by route, method and status",
        ["route", "method", "status"],
        registry=registry,
    )
    duration = Histogram(
        "being_http_request_duration_seconds",
        "Time from a request's head to its answer, by route",
        ["route"],
        buckets=_SECONDS,
        registry=registry,
    )

    @web.middleware
    async def measured(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = clock()
        route = _route(request)
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = int(CLIENT_GONE)
            raise
        finally:
            requests.labels(route=route, method=_method(request), status=str(status)).inc()
            duration.labels(route=route).observe(clock() - started)

    return measured
