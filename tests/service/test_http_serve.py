"""serve(): the bound port, a typed error for an address that cannot be bound, and close()."""

from __future__ import annotations

import socket

import httpx
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from service.errors import PortInUseError
from service.http import Health, build_app, serve
from service.settings import HttpSettings
from sinks import SinkError
from streams.errors import BeingError


def _app(registry: CollectorRegistry) -> web.Application:
    return build_app(registry, Health(pipeline_running=True), lambda: pytest.fail("nothing is read"))


async def test_port_0_binds_a_free_port_and_close_stops_listening(registry: CollectorRegistry) -> None:
    served = await serve(_app(registry), HttpSettings(port=0))
    assert served.port > 0 and served.host == "127.0.0.1"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}", timeout=10) as client:
        assert (await client.get("/healthz")).status_code == 200
    await served.close()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", served.port), timeout=5):
        pass


async def test_a_port_in_use_is_a_typed_error_naming_the_address(registry: CollectorRegistry) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError) as info:
            await serve(_app(registry), HttpSettings(port=port))
    error = info.value
    assert isinstance(error, BeingError) and not isinstance(error, SinkError)
    assert (error.host, error.port) == ("127.0.0.1", port)
    assert f"127.0.0.1:{port}" in str(error) and "http.port" in str(error)


async def test_an_address_not_on_this_machine_is_a_typed_error(registry: CollectorRegistry) -> None:
    with pytest.raises(PortInUseError, match=r"192\.0\.2\.1:0"):  # TEST-NET-1: never a local address
        await serve(_app(registry), HttpSettings(host="192.0.2.1", port=0))


async def test_a_plain_app_without_the_guard_is_served_too(registry: CollectorRegistry) -> None:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    served = await serve(app, HttpSettings(port=0))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}", timeout=10) as client:
            assert (await client.get("/")).text == "hello"
        assert served.refused_connections == 0
    finally:
        await served.close()
