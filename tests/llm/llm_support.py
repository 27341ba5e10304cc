"""Helpers shared by the LLM tests."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from llm import HttpConfig
from llm.simulator import Simulator


def http_for(
    sim: Simulator, *, read_timeout_s: float = 5.0, first_byte_timeout_s: float = 5.0, pool_timeout_s: float = 5.0
) -> HttpConfig:
    """Short timeouts: a hang must turn into an error quickly, and nothing here is slow on purpose."""
    return HttpConfig(
        base_url=sim.base_url,
        connect_timeout_s=2.0,
        first_byte_timeout_s=first_byte_timeout_s,
        read_timeout_s=read_timeout_s,
        pool_timeout_s=pool_timeout_s,
    )


def _listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def canned_server(
    body: bytes, *, status: int = 200, content_type: str = "application/json"
) -> AsyncIterator[str]:
    """A real loopback server that answers every request with ``body``; yields its base URL."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=status, body=body, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = _listening_socket()
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()
