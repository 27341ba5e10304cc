"""Who may ask, and how often: the token and the per-client allowances, checked before a body is read.

The guard (``service/http/_guard.py``) calls :meth:`Access.admit` once per request, after its Host
and Origin rules and before the body is read, so a client without the token cannot make the
service read a megabyte. In order:

1. an open route (:data:`OPEN_ROUTES`, and ``/metrics`` with ``http.metrics_public``) passes;
2. the client's allowance for the request's kind (ingest: ``POST /messages``; reads: the rest)
   is counted; over it: 429 with ``Retry-After``;
3. the token: ``Authorization: Bearer <token>``, or ``?token=`` on :data:`QUERY_TOKEN_ROUTES`
   only (a browser's ``EventSource`` cannot set headers), compared in constant time; else 401.

A path no route serves is not open: it gets the 401 before its 404. Nothing here logs a
request's path, query or headers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import hdrs, web
from prometheus_client import CollectorRegistry, Counter, Gauge

from service._token import ServiceToken
from service.http._client_limits import ClientLimiter, ClientLimitPolicy, Kind
from service.http._console import CONSOLE_ROUTES
from service.http._metrics import HttpMetrics

__all__ = [
    "ACCESS",
    "INGEST_ROUTES",
    "OPEN_ROUTES",
    "QUERY_TOKEN_ROUTES",
    "Access",
    "AccessMetrics",
    "retry_after",
]

OPEN_ROUTES = frozenset({"/healthz", "/readyz", *CONSOLE_ROUTES})
"""Routes (path patterns) served without the token: the probes. ``/metrics`` joins them with
``http.metrics_public``. A route added here must hold no data a stranger may not see."""

QUERY_TOKEN_ROUTES = frozenset({"/events"})
"""Routes that also take the token as ``?token=`` (``EventSource`` cannot send a header)."""

INGEST_ROUTES = frozenset({("POST", "/messages")})
"""(method, path pattern) counted against the ingest allowance; every other request is a read."""

ADMITTED: web.RequestKey[bool] = web.RequestKey("admitted", bool)
_REALM = 'Bearer realm="being"'


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))


class AccessMetrics:
    """The series of the allowances.

    - ``being_http_rate_limited_total{limit}``: requests answered 429, ``limit`` being ``reads``,
      ``ingest`` or ``events`` (the cap on open streams)
    - ``being_http_limit_clients``: (client, kind) pairs remembered now
    """

    def __init__(self, registry: CollectorRegistry, limiter: ClientLimiter | None) -> None:
        self.rate_limited = Counter(
            "being_http_rate_limited",
            "HTTP requests answered 429, by the allowance they exceeded",
            ["limit"],
            registry=registry,
        )
        for limit in ("reads", "ingest", "events"):
            self.rate_limited.labels(limit=limit)
        clients = Gauge("being_http_limit_clients", "Clients whose allowance is remembered now", registry=registry)
        if limiter is not None:
            clients.set_function(lambda: limiter.clients)


def _route(request: web.Request) -> str | None:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


def _error(status: int, message: str, headers: dict[str, str]) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


@dataclass(frozen=True, slots=True, kw_only=True)
class Access:
    """The token and the allowances of one app.

    Attributes:
        token: what every route but the open ones needs; ``None`` asks for none (tests of
            other layers; the service always has one).
        limiter: the per-client allowances; ``None`` limits nothing.
        metrics_public: ``/metrics`` is open.
        http_metrics: counts refusals (``unauthorized``, ``rate_limited``).
        metrics: counts 429s by allowance.
    """

    token: ServiceToken | None
    limiter: ClientLimiter | None
    metrics_public: bool
    http_metrics: HttpMetrics
    metrics: AccessMetrics

    @classmethod
    def build(
        cls,
        registry: CollectorRegistry,
        http_metrics: HttpMetrics,
        *,
        token: ServiceToken | None,
        limits: ClientLimitPolicy | None,
        metrics_public: bool,
        clock: Callable[[], float],
    ) -> Access:
        limiter = ClientLimiter(limits, clock) if limits is not None else None
        return cls(
            token=token,
            limiter=limiter,
            metrics_public=metrics_public,
            http_metrics=http_metrics,
            metrics=AccessMetrics(registry, limiter),
        )

    def is_open(self, route: str | None) -> bool:
        """Whether the route (path pattern; ``None``: no route) is served without the token."""
        return route in OPEN_ROUTES or (self.metrics_public and route == "/metrics")

    def authorized(self, request: web.Request, route: str | None) -> str | None:
        """``None`` when the request carries the token, else why not (for the 401)."""
        assert self.token is not None
        header = request.headers.get(hdrs.AUTHORIZATION)
        if header is not None:
            parts = header.split(None, 1)
            if len(parts) != 2 or parts[0].lower() != "bearer":
                return "Authorization: expected 'Bearer <token>'"
            if not self.token.matches(parts[1].strip()):
                return "Authorization: that is not this service's token"
            return None
        if "token" in request.query:
            if route not in QUERY_TOKEN_ROUTES:
                return "token: accepted in the query only on /events; send the header Authorization: Bearer <token>"
            if not self.token.matches(request.query["token"]):
                return "token: that is not this service's token"
            return None
        return (
            "this route needs the service's token: send Authorization: Bearer <token> "
            "(`being token` prints it; see docs/http.md, Authentication)"
        )

    def client_of(self, request: web.Request, *, authorized: bool) -> str:
        """The key the allowance is counted under: the peer address, or the token's holders together."""
        assert self.limiter is not None
        if authorized and self.limiter.policy.client == "token":
            return "token"
        return f"address:{request.remote or 'unknown'}"

    def refuse_rate(self, limit: str, seconds: float, message: str) -> web.Response:
        """A 429 for the allowance ``limit``, counted."""
        self.http_metrics.refused("rate_limited")
        self.metrics.rate_limited.labels(limit=limit).inc()
        return _error(429, message, {hdrs.RETRY_AFTER: retry_after(seconds)})

    def admit(self, request: web.Request) -> web.Response | None:
        """The 429 or 401 of a request, or ``None`` to let it through; counted once per request."""
        if request.get(ADMITTED):
            return None  # an Expect: 100-continue request is admitted before its body, then comes back here
        request[ADMITTED] = True
        route = _route(request)
        if self.is_open(route):
            return None
        refusal = self.authorized(request, route) if self.token is not None else None
        if self.limiter is not None:
            kind: Kind = "ingest" if (request.method, route) in INGEST_ROUTES else "reads"
            wait = self.limiter.admit(self.client_of(request, authorized=refusal is None), kind)
            if wait is not None:
                allowance = self.limiter.policy.allowance(kind)
                window = self.limiter.policy.window_s
                return self.refuse_rate(
                    kind,
                    wait,
                    f"too many requests: {allowance} {kind} per {window:g} s per client "
                    f"(http.limits.{kind}_per_window); retry in {retry_after(wait)} s",
                )
        if refusal is not None:
            self.http_metrics.refused("unauthorized")
            return _error(401, refusal, {hdrs.WWW_AUTHENTICATE: _REALM})
        return None


ACCESS: web.AppKey[Access | None] = web.AppKey("access")
"""The app's :class:`Access` (``None``: no token, no limits)."""
