"""``GET /events``: the episodes as they are stored, as Server-Sent Events (the format: docs/http.md, "Live events").

The stream is served from the hub's ring (``service/http/_event_hub.py``): the route waits for
the hub to wake it or for the heartbeat, writes what matches the client's types, and ends when
the hub drops the client (too slow, stalled, shutdown) or the client goes away. Every write has
a deadline (``write_timeout_s``): a client whose socket takes nothing is cut off, and counted.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import hdrs, web

from service.http._auth import ACCESS
from service.http._event_hub import EventClient, EventHub, TypeFilter

__all__ = ["EVENTS", "events_route"]

EVENTS: web.AppKey[EventHub | None] = web.AppKey("events")
_HEARTBEAT = b": heartbeat\n\n"


def _types(request: web.Request) -> TypeFilter:
    names: list[str] = []
    for value in request.query.getall("type", []):
        names.extend(part.strip() for part in value.split(","))
    return TypeFilter(names)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _send(response: web.StreamResponse, client: EventClient, hub: EventHub, data: bytes) -> bool:
    """Write ``data``; ``False`` when the stream is over (the client left, or took nothing in time)."""
    try:
        async with asyncio.timeout(hub.policy.write_timeout_s):
            await response.write(data)
    except TimeoutError:
        hub.drop(client, "stalled")
        return False
    except (ConnectionError, RuntimeError):  # the client went away, or was cut off by the hub
        return False
    return client.dropped is None


async def _serve(response: web.StreamResponse, client: EventClient, hub: EventHub, first: bytes) -> None:
    if not await _send(response, client, hub, first):
        return
    while client.dropped is None:
        frames = client.take()
        if frames:
            if not await _send(response, client, hub, b"".join(frames)):
                return
            continue
        client.wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(hub.policy.heartbeat_s):
                await client.wake.wait()
            continue
        if not await _send(response, client, hub, _HEARTBEAT):
            return


async def events_route(request: web.Request) -> web.StreamResponse:
    """Stream stored episodes (``type`` filters, ``Last-Event-ID`` resume) until the client or the service stops."""
    hub = request.app[EVENTS]
    if hub is None or hub.closed:
        return _error(503, "the live stream is not available on this service")
    access = request.app[ACCESS]
    cap = access.limiter.policy.max_event_clients if access is not None and access.limiter is not None else None
    if cap is not None and access is not None and hub.clients >= cap:
        return access.refuse_rate(
            "events",
            hub.policy.heartbeat_s,
            f"too many live streams: {cap} are open (http.limits.max_event_clients); retry later",
        )
    try:
        types = _types(request)
        last = request.headers.get("Last-Event-ID")
        resume = hub.resume_at(last)
    except ValueError as exc:
        return _error(400, str(exc))
    if request.method == "HEAD":  # the head a GET would get, without opening a stream
        return web.Response(headers={hdrs.CONTENT_TYPE: "text/event-stream; charset=utf-8"})
    client = hub.join(resume, types)
    transport = request.transport
    if transport is not None:
        client.abort = transport.abort
    try:
        response = web.StreamResponse(
            headers={
                hdrs.CONTENT_TYPE: "text/event-stream; charset=utf-8",
                hdrs.CACHE_CONTROL: "no-cache, no-store",
                "X-Accel-Buffering": "no",  # a reverse proxy must not hold events back
            }
        )
        await response.prepare(request)
        first = b"retry: %d\n\n" % hub.policy.retry_ms
        if resume.gap is not None and last is not None:
            first += hub.gap_frame(last, resume.gap)
        await _serve(response, client, hub, first)
    finally:
        hub.leave(client)
    return response
