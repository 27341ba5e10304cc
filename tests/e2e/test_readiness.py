"""The real service: /readyz turns degraded while every LLM call hangs and back when the LLM answers;
/healthz reports the event loop's lag; systemd's notify socket hears READY, WATCHDOG and STOPPING."""

from __future__ import annotations

import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llm.simulator import FaultPlan
from tests.e2e.service_process import ServiceProcess, SimulatorThread, write_config
from tests.support import wait_until


def _get(service: ServiceProcess, path: str) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"http://127.0.0.1:{service.port}{path}", timeout=10)
    return response.status_code, response.json()


def _llm_status(service: ServiceProcess) -> str:
    status: str = _get(service, "/readyz")[1]["components"]["llm"]["status"]
    return status


@pytest.fixture
def simulator() -> Iterator[SimulatorThread]:
    started = SimulatorThread(FaultPlan(models=()))
    yield started
    started.stop()


def test_readyz_is_degraded_while_the_llm_hangs_and_ok_once_it_answers(
    tmp_path: Path, simulator: SimulatorThread
) -> None:
    config = write_config(
        tmp_path,
        reply={"enabled": True},
        llm={"base_url": simulator.base_url},
        health={"llm_stuck_after_s": 0.3},
    )
    simulator.call(simulator.simulator.hold)
    service = ServiceProcess(config)
    try:
        code, body = _get(service, "/readyz")
        assert code == 200 and body["components"]["llm"]["status"] == "ok"
        assert {"database", "disk", "inbox", "llm"} <= set(body["components"])
        (tmp_path / "inbox.txt").write_text("are you there?\n", encoding="utf-8")
        wait_until(lambda: _llm_status(service) == "degraded", timeout_s=30, what="llm degraded while the call hangs")
        code, body = _get(service, "/readyz")
        assert code == 200 and body["status"] == "degraded"
        assert "call(s) in flight" in body["components"]["llm"]["detail"]
        assert _get(service, "/readyz?strict=true")[0] == 503
        simulator.call(simulator.simulator.release)
        wait_until(lambda: _llm_status(service) == "ok", timeout_s=30, what="llm ok once the call is answered")
        code, body = _get(service, "/readyz")
        assert code == 200 and body["status"] == "ready"
        code, live = _get(service, "/healthz")
        assert code == 200 and isinstance(live["loop_lag_s"], float) and live["loop_lag_limit_s"] == 5.0
    finally:
        simulator.call(simulator.simulator.release)
        service.signal(signal.SIGTERM)
        service.wait(timeout_s=60)
        service.stop()


@pytest.fixture
def notify_socket() -> Iterator[socket.socket]:
    """A datagram socket where systemd's would be (a short path: AF_UNIX paths are at most 107 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="being-notify-"))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(folder / "notify"))
    sock.settimeout(30)
    try:
        yield sock
    finally:
        sock.close()
        shutil.rmtree(folder)


def _messages(sock: socket.socket, until: str) -> list[dict[str, str]]:
    """Datagrams received until one holds ``until`` (each as its ``KEY=value`` fields)."""
    received: list[dict[str, str]] = []
    while not received or until not in received[-1]:
        data = sock.recv(4096).decode()
        received.append(dict(line.split("=", 1) for line in data.splitlines()))
    return received


def test_systemd_hears_ready_watchdog_and_stopping(
    tmp_path: Path, notify_socket: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.getsockname())
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # pings every 0.1 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    service = ServiceProcess(write_config(tmp_path))
    try:
        [ready] = _messages(notify_socket, "READY")
        assert ready == {"READY": "1", "STATUS": "running"}
        assert _get(service, "/readyz")[0] == 200  # READY=1 came once the pipeline was subscribed
        pings = _messages(notify_socket, "WATCHDOG")
        assert pings[-1] == {"WATCHDOG": "1"}
        service.signal(signal.SIGTERM)
        stopping = _messages(notify_socket, "STOPPING")[-1]
        assert stopping == {"STOPPING": "1", "STATUS": "stopping: draining for at most 10 s"}
        assert service.wait(timeout_s=60) == 0
    finally:
        service.stop()
