"""Serving the app on TCP with limits aiohttp lacks: a header read timeout and a cap on open connections.

aiohttp waits for a request head as long as its keep-alive timeout allows (an hour by
default) and accepts every connection, so a few hundred half-open clients (slowloris) hold
the server. Here every connection is aiohttp's own :class:`~aiohttp.web.RequestHandler`,
with two additions:

- a head timer, armed when the connection opens and again after each answer, cleared
  when aiohttp hands over a parsed request head: a connection that has not delivered a whole
  head within ``header_timeout_s`` is closed (an idle kept-alive connection too);
- a gate: a connection beyond ``max_connections`` open is closed as soon as it is made,
  before a byte is read, and counted.

The body's own timeout and size limit are the app's (``service/http/_guard.py``); after a
refused body the server reads and discards what is still coming for at most
``body_timeout_s`` (aiohttp's lingering), so the client can read its 413.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader

from service.errors import PortInUseError
from service.http._metrics import HttpMetrics
from service.settings import HttpSettings

__all__ = ["HTTP_METRICS", "Served", "serve"]

log = logging.getLogger("service.http")

HTTP_METRICS: web.AppKey[HttpMetrics | None] = web.AppKey("http_metrics")
"""Where :func:`serve` finds the app's connection metrics (``build_app`` puts them there)."""


class _Gate:
    """Counts open connections and admits at most ``limit``."""

    __slots__ = ("header_timeouts", "limit", "metrics", "open", "refused")

    def __init__(self, limit: int, metrics: HttpMetrics | None) -> None:
        self.limit = limit
        self.metrics = metrics
        self.open = 0
        self.refused = 0
        self.header_timeouts = 0

    def admit(self) -> bool:
        if self.open >= self.limit:
            self.refused += 1
            if self.metrics is not None:
                self.metrics.connections_refused.inc()
            return False
        self.open += 1
        if self.metrics is not None:
            self.metrics.connections_open.set(self.open)
        return True

    def release(self) -> None:
        self.open -= 1
        if self.metrics is not None:
            self.metrics.connections_open.set(self.open)

    def header_timed_out(self) -> None:
        self.header_timeouts += 1
        if self.metrics is not None:
            self.metrics.header_timeouts.inc()


class _Connection(web.RequestHandler):
    """aiohttp's connection handler, admitted by the gate and closed when no request head comes in time."""

    __slots__ = ("_admitted", "_gate", "_head_timer", "_header_timeout_s")

    def __init__(self, manager: web.Server, gate: _Gate, header_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._gate = gate
        self._header_timeout_s = header_timeout_s
        self._admitted = False
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._gate.admit():
            transport.close()
            return
        self._admitted = True
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self._admitted:
            return
        self._admitted = False
        self._disarm()
        self._gate.release()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._admitted:
            super().data_received(data)

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        answered = await super().finish_response(request, resp, start_time)
        self._arm()  # the next head (or the end of an idle keep-alive) is timed from this answer
        return answered

    def head_arrived(self) -> None:
        """aiohttp parsed a whole request head: its handling is not timed here."""
        self._disarm()

    def _arm(self) -> None:
        self._disarm()
        if self._admitted and self.transport is not None:
            loop = asyncio.get_running_loop()
            self._head_timer = loop.call_later(self._header_timeout_s, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport is not None:
            self._gate.header_timed_out()
            self.force_close()


class _Site(web.BaseSite):
    """A TCP site whose connections are made by ``connection`` instead of the runner's server."""

    __slots__ = ("_connection", "_host", "_port")

    def __init__(
        self, runner: web.BaseRunner, host: str, port: int, connection: Callable[[], _Connection], backlog: int
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self._host = host
        self._port = port
        self._connection = connection

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._connection, self._host or None, self._port, backlog=self._backlog, reuse_address=True
        )


class Served:
    """The HTTP server while it runs: its bound port, its connection counts, and :meth:`close`."""

    def __init__(self, runner: web.AppRunner, host: str, gate: _Gate) -> None:
        self._runner = runner
        self._gate = gate
        self.host = host
        addresses = runner.addresses
        self.port: int = int(addresses[0][1]) if addresses else 0

    @property
    def open_connections(self) -> int:
        """Connections open now (admitted ones)."""
        return self._gate.open

    @property
    def refused_connections(self) -> int:
        """Connections closed at once because ``max_connections`` were open."""
        return self._gate.refused

    @property
    def header_timeouts(self) -> int:
        """Connections closed for sending no whole request head in time."""
        return self._gate.header_timeouts

    async def close(self) -> None:
        """Stop listening, close idle connections, let requests in flight finish (up to the shutdown timeout)."""
        await self._runner.cleanup()


async def serve(
    app: web.Application, settings: HttpSettings, *, shutdown_timeout_s: float = 5.0, backlog: int = 128
) -> Served:
    """Serve ``app`` on ``settings.host``:``settings.port`` with the header timeout and the connection cap.

    Args:
        app: the application (``build_app``); its connection metrics, if any, are counted.
        settings: host, port (0 picks a free one), ``header_timeout_s``, ``body_timeout_s``
            (how long a refused body is drained) and ``max_connections``.
        shutdown_timeout_s: how long :meth:`Served.close` lets requests in flight finish.
        backlog: the listen queue of the socket.

    Raises:
        PortInUseError: the address cannot be bound (the port is taken, the address is not here...).
    """
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=shutdown_timeout_s)
    await runner.setup()
    server = runner.server
    assert server is not None  # set by setup()
    gate = _Gate(settings.max_connections, app.get(HTTP_METRICS))
    parse_request = server.request_factory

    def request_factory(
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: web.RequestHandler,
        writer: AbstractStreamWriter,
        task: asyncio.Task[None],
    ) -> web.BaseRequest:
        # aiohttp calls this once per parsed request head, on the connection that received it
        if isinstance(protocol, _Connection):
            protocol.head_arrived()
        return parse_request(message, payload, protocol, writer, task)

    server.request_factory = request_factory
    loop = asyncio.get_running_loop()
    handler_options: dict[str, Any] = {
        "loop": loop,
        "access_log": None,
        # aiohttp's own idle timer stays as a backstop; the head timer closes idle connections first
        "keepalive_timeout": max(settings.header_timeout_s * 2, 75.0),
        "lingering_time": settings.body_timeout_s,
    }

    def connection() -> _Connection:
        return _Connection(server, gate, settings.header_timeout_s, **handler_options)

    site = _Site(runner, settings.host, settings.port, connection, backlog)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise PortInUseError(settings.host, settings.port, exc.strerror or str(exc)) from exc
    served = Served(runner, settings.host, gate)
    log.info(
        "http.listening",
        extra={"host": settings.host, "port": served.port, "max_connections": settings.max_connections},
    )
    return served
