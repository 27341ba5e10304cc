"""The service's watch: systemd's watchdog is fed while alive and withheld while not; the tasks end on close."""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from operators import CacheStoreError
from service._cache_store import shared_store
from service._watch import ServiceWatch, llm_stuck_after_s
from service.health import Health
from service.settings import CacheSettings, HealthSettings, LLMSettings, ResilienceSettings, Settings
from streams import InboxState
from tests.support import until


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    folder = Path(tempfile.mkdtemp(prefix="being-watch-"))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(folder / "notify"))
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()
        shutil.rmtree(folder)


def _received(sock: socket.socket) -> list[bytes]:
    got: list[bytes] = []
    while True:
        try:
            got.append(sock.recv(4096))
        except BlockingIOError:
            return got


async def test_the_watchdog_is_fed_while_alive_and_withheld_while_not(
    listener: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    alive = [True]
    health = Health(writer_alive=lambda: alive[0], pipeline_running=True)
    env = {"NOTIFY_SOCKET": listener.getsockname(), "WATCHDOG_USEC": "20000"}
    watch = ServiceWatch(Settings(), health, env=env)
    seen: list[bytes] = []

    def pinged() -> bool:
        seen.extend(_received(listener))
        return b"WATCHDOG=1" in seen

    watch.started(InboxState(), None, clock=lambda: datetime.now(UTC))
    try:
        await until(pinged, what="a watchdog ping")
        assert seen[0] == b"READY=1\nSTATUS=running"
        alive[0] = False
        await until(lambda: "systemd.watchdog_withheld" in caplog.text, what="the ping withheld")
        _received(listener)
        caplog.clear()
        await until(lambda: "systemd.watchdog_withheld" in caplog.text, what="the next ping withheld too")
        assert b"WATCHDOG=1" not in _received(listener)
        watch.stopping()
        assert _received(listener) == [b"STOPPING=1\nSTATUS=stopping: draining for at most 10 s"]
    finally:
        await watch.close()
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith(("systemd.", "health.")) and not t.done()]


def test_the_llm_stuck_limit_falls_back_to_the_first_byte_timeout() -> None:
    assert llm_stuck_after_s(Settings()) == 10.0
    zero = Settings(health=HealthSettings(llm_stuck_after_s=0.0), llm=LLMSettings(first_byte_timeout_s=42.0))
    assert llm_stuck_after_s(zero) == 42.0


async def test_the_caches_failed_store_calls_degrade_the_cache_store_until_the_next_probe() -> None:
    settings = Settings(resilience=ResilienceSettings(cache=CacheSettings(backend="memory")))
    store = shared_store(settings.resilience.cache)
    assert store is not None
    health = Health(pipeline_running=True)
    watch = ServiceWatch(settings, health, env={})
    watch.started(InboxState(), store, clock=lambda: datetime.now(UTC))

    def cache_store() -> dict[str, object]:
        component: dict[str, object] = health.ready()[1]["components"]["cache_store"]  # type: ignore[index]
        return component

    try:
        await until(lambda: "answered at" in str(cache_store()["detail"]), what="the first probe")
        watch.listener.cache_store_failed("llm", "get", CacheStoreError("llm", "get", "k", "no answer within 0.25 s"))
        assert cache_store()["status"] == "degraded" and "a get failed" in str(cache_store()["detail"])
        assert health.ready()[0]  # not critical: still ready
    finally:
        await watch.close()
        await store.aclose()
