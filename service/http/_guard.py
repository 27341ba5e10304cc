"""What every request must satisfy before its route runs: a known Host, a same-site Origin, a bounded body.

In order (the first refusal answers, with a JSON ``{"error": ...}``):

1. ``Host`` missing: 400; naming a host this service does not answer to: 421 (DNS rebinding).
2. POST, PUT, PATCH or DELETE with an ``Origin`` that is not one of those hosts (``null``
   included): 403. No ``Origin`` (curl, the CLI, Prometheus) is fine.
3. The ``admit`` hook, when given: the per-client allowance (429) and the token (401).
4. A body: ``Content-Length`` over ``max_body_bytes``: 413 before a byte is read; a chunked
   body is counted as it is read and refused with 413 once over. The whole body must
   arrive within ``body_timeout_s`` of the head, or 408 and the connection is closed.

The head's rules also answer an ``Expect: 100-continue`` before the body is invited.
The body is read here, for every route (routes that read it get the same bytes), so a
route that never reads its body cannot be used to hold a connection open or to push
megabytes past the limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import HttpVersion11, hdrs, web
from aiohttp.typedefs import Handler, Middleware

from service.http._hosts import HostRules
from service.http._metrics import HttpMetrics

__all__ = ["STATE_CHANGING", "RequestGuard", "request_guard"]

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SHOWN_CHARS = 100


def _json(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _refuse(metrics: HttpMetrics, reason: str, status: int, message: str) -> web.Response:
    metrics.refused(reason)
    return _json(status, message)


def _shown(value: str) -> str:
    return repr(value[:_SHOWN_CHARS] + ("..." if len(value) > _SHOWN_CHARS else ""))


async def _cut_off(request: web.Request, response: web.Response) -> web.Response:
    """Send ``response`` now and close the connection: a client too slow to send its body is not waited for."""
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()
    return response


@dataclass(frozen=True, slots=True)
class RequestGuard:
    """The rules above, as aiohttp wants them.

    Attributes:
        middleware: applies every rule, then reads the body, then calls the route.
        expect: the routes' ``Expect: 100-continue`` handler: the head's rules answer before
            aiohttp invites the client to send its body (curl asks first for bodies over 1 MB).
    """

    middleware: Middleware
    expect: Callable[[web.Request], Awaitable[web.StreamResponse | None]]


def request_guard(
    hosts: HostRules,
    *,
    max_body_bytes: int,
    body_timeout_s: float,
    metrics: HttpMetrics,
    admit: Callable[[web.Request], web.Response | None] | None = None,
) -> RequestGuard:
    """The middleware and the expect handler that apply the Host, Origin and body rules above.

    Args:
        admit: asked after the Origin rule and before the body (the token and the per-client
            allowances, ``service/http/_auth.py``); its answer, when not ``None``, is the refusal.
    """

    def refuse_head(request: web.Request) -> web.Response | None:
        """The refusal of a request by its head alone (Host, Origin, Content-Length), or ``None``."""
        host = request.headers.get(hdrs.HOST)
        if host is None:
            return _refuse(metrics, "host", 400, "Host: a request needs a Host header")
        if not hosts.allows_host(host):
            return _refuse(
                metrics,
                "host",
                421,
                f"Host: {_shown(host)} is not a name of this service; "
                "if clients reach it by that name, add it to http.allowed_hosts",
            )
        if request.method in STATE_CHANGING:
            origin = request.headers.get(hdrs.ORIGIN)
            if origin is not None and not hosts.allows_origin(origin):
                return _refuse(
                    metrics,
                    "origin",
                    403,
                    f"Origin: {_shown(origin)} may not {request.method} here (a request from another site)",
                )
        if admit is not None:
            refused = admit(request)
            if refused is not None:
                return refused
        length = request.content_length if request.body_exists else None
        if length is not None and length > max_body_bytes:
            return _refuse(
                metrics,
                "body_too_large",
                413,
                f"body: {length} bytes is more than http.max_body_bytes ({max_body_bytes})",
            )
        return None

    async def expect(request: web.Request) -> web.StreamResponse | None:
        refused = refuse_head(request)
        if refused is not None:
            refused.force_close()  # the client holds its body back: nothing to drain
            return refused
        if request.version != HttpVersion11:
            return None
        if request.headers.get(hdrs.EXPECT, "").lower() != "100-continue":
            return _json(417, f"Expect: only 100-continue is understood, got {_shown(request.headers[hdrs.EXPECT])}")
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the 100 is not the answer: aiohttp may still send one
        return None

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        refused = refuse_head(request)
        if refused is not None:
            return refused
        if request.body_exists:
            try:
                async with asyncio.timeout(body_timeout_s):
                    await request.read()
            except web.HTTPRequestEntityTooLarge:
                return _refuse(
                    metrics, "body_too_large", 413, f"body: more than http.max_body_bytes ({max_body_bytes})"
                )
            except web.RequestPayloadError as exc:
                return _refuse(metrics, "bad_body", 400, f"body: cannot be read: {exc}")
            except TimeoutError:
                response = _refuse(
                    metrics,
                    "body_timeout",
                    408,
                    f"body: not received whole within http.body_timeout_s ({body_timeout_s:g} s)",
                )
                return await _cut_off(request, response)
        return await handler(request)

    return RequestGuard(middleware=guard, expect=expect)
