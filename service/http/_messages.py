"""``POST /messages`` and ``GET /messages/{id}``: talking to the being over HTTP (docs/http.md, "Messages")."""

from __future__ import annotations

import re

from aiohttp import web

from service.http._message_body import BodyRefused, MessageLimits, check_content_type, idempotency_key, parse_body
from service.http._message_desk import DeskBusy, KeyReused, MessageDesk
from sinks import SinkError

__all__ = ["CLIENT", "MESSAGE_DESK", "MESSAGE_LIMITS", "get_message", "post_message"]

MESSAGE_DESK: web.AppKey[MessageDesk | None] = web.AppKey("message_desk")
MESSAGE_LIMITS = web.AppKey("message_limits", MessageLimits)
CLIENT = "client"
"""The request key where the authentication layer puts the caller's name (the scope of its idempotency keys)."""

_ID = re.compile(r"[0-9a-f]{32}")
_TRACE_HEADERS = ("traceparent", "tracestate")  # W3C trace context: a caller's trace continues into the being


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _desk(request: web.Request) -> MessageDesk | None:
    return request.app[MESSAGE_DESK]


def _client(request: web.Request) -> str:
    client = request.get(CLIENT)
    return client if isinstance(client, str) else ""


async def post_message(request: web.Request) -> web.Response:
    """Take a message: 202 with its id once it is committed (see the module docstring)."""
    desk = _desk(request)
    if desk is None:
        return _error(503, "messages over HTTP are not available on this service")
    try:
        check_content_type(request)
        key = idempotency_key(request)
        body = parse_body(await request.read(), request.app[MESSAGE_LIMITS])
        carrier = {name: request.headers[name] for name in _TRACE_HEADERS if name in request.headers}
        accepted = await desk.accept(body, client=_client(request), key=key, carrier=carrier)
    except BodyRefused as exc:
        return _error(exc.status, str(exc))
    except KeyReused as exc:
        return _error(422, str(exc))
    except DeskBusy as exc:
        return _error(503, str(exc), {"Retry-After": str(exc.retry_after_s)})
    except SinkError as exc:
        return _error(500, f"the message could not be stored (nothing was stored): {exc}")
    url = f"/messages/{accepted.id}"
    headers = {"Location": url}
    if accepted.duplicate:
        headers["Idempotent-Replayed"] = "true"
    answer = {
        "id": accepted.id,
        "state": accepted.state,
        "duplicate": accepted.duplicate,
        "urgent": accepted.urgent,
        "url": url,
    }
    return web.json_response(answer, status=202, headers=headers)


async def get_message(request: web.Request) -> web.Response:
    """A message's state and replies; ``?wait_s=`` waits for the first reply, at most ``ingest.max_wait_s``."""
    desk = _desk(request)
    if desk is None:
        return _error(503, "messages over HTTP are not available on this service")
    message_id = request.match_info["id"]
    if not _ID.fullmatch(message_id):
        return _error(400, f"id: expected 32 lower-case hex digits, got {message_id[:40]!r}")
    wait_s = 0.0
    text = request.query.get("wait_s")
    if text:
        try:
            wait_s = float(text)
        except ValueError:
            return _error(400, f"wait_s: expected a number of seconds, got {text[:40]!r}")
        if not 0 <= wait_s <= desk.max_wait_s:
            return _error(400, f"wait_s: expected 0 to ingest.max_wait_s ({desk.max_wait_s:g}), got {text[:40]}")
    try:
        found = await desk.look(message_id, wait_s)
    except SinkError as exc:
        return _error(500, str(exc))
    if found is None:
        return _error(404, f"id: no message {message_id} was sent over HTTP")
    return web.json_response(found)
