"""The whole service, end to end, against the loop a good engineer would write by hand.

Both run as their own processes against the same LLM simulator (its own process, answering at 0 ms):

- service: the real ``being run`` on a fresh data folder, with recording, vector memory and every
  protection layer on (rate limit and budget off: they are limits, not costs);
- plain: ``benchmarks/_plain_service.py`` (asyncio, httpx, DuckDB batches through Arrow), at the same
  concurrency as the service's ``reply.max_concurrent``.

N messages are appended to each one's inbox at once; the clock runs until every message has its reply
stored. Printed: msg/s for both and their ratio, CPU ms per message for both (from /proc), the service's
RSS at the end. A second service run starts on a database that already holds ``--stored`` answered
messages (made by the service itself beforehand), to show whether the cost grows with memory.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.e2e.service_process import ServiceProcess, being_command, write_config

CONCURRENCY = 8
_PLAIN = (sys.executable, "-m", "benchmarks._plain_service")
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Figures:
    seconds: float
    cpu_s: float
    rss_mb: float

    def per_s(self, n: int) -> float:
        return n / self.seconds

    def cpu_ms(self, n: int) -> float:
        return 1000 * self.cpu_s / n


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S  # utime + stime


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(done: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_s:.0f} s for {what}")
        time.sleep(0.02)


def _lines(n: int, start: int = 0) -> str:
    return "".join(f"message {i}: what do you make of the river today?\n" for i in range(start, start + n))


def _start_simulator(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [*being_command(), "simulate-llm", "--port", str(port), "--any-model"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def answering() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/version", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    _wait(answering, 30, "the simulator")
    return proc


def _service_config(folder: Path, base_url: str) -> Path:
    return write_config(
        folder,
        ticks={"light_interval_s": 1.0, "heavy_interval_s": 3600.0},
        sink={"batch_max_wait_s": 0.2},
        reply={"enabled": True, "max_concurrent": CONCURRENCY},
        llm={"base_url": base_url},
        resilience={},
    )


def _replies(service: ServiceProcess) -> float:
    return service.metric("being_episodes_written_total", 'type="user.reply"')


def run_service(folder: Path, base_url: str, n: int, *, start: int = 0) -> Figures:
    """``n`` messages through ``being run`` in ``folder`` (its database may already hold some)."""
    service = ServiceProcess(_service_config(folder, base_url))
    try:
        pid = service.proc.pid
        cpu_before = _cpu_s(pid)
        began = time.monotonic()
        with (folder / "inbox.txt").open("a", encoding="utf-8") as inbox:
            inbox.write(_lines(n, start))
        _wait(lambda: _replies(service) >= n, 3600, f"{n} replies from the service")
        seconds = time.monotonic() - began
        figures = Figures(seconds=seconds, cpu_s=_cpu_s(pid) - cpu_before, rss_mb=_rss_mb(pid))
        service.signal()
        service.wait(120)
        return figures
    finally:
        service.stop()


def run_plain(folder: Path, base_url: str, n: int) -> Figures:
    """``n`` messages through the hand-written baseline."""
    inbox = folder / "inbox.txt"
    proc = subprocess.Popen(
        [*_PLAIN, str(inbox), str(folder / "plain.duckdb"), base_url, str(n), str(CONCURRENCY)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        cpu_before = _cpu_s(proc.pid)
        began = time.monotonic()
        inbox.write_text(_lines(n), encoding="utf-8")
        # the baseline prints once every reply is stored; its CPU is read just before it exits
        assert proc.stdout is not None
        line = proc.stdout.readline()
        seconds = time.monotonic() - began
        result = json.loads(line)
        cpu = _cpu_s(proc.pid) - cpu_before if proc.poll() is None else float("nan")
        if int(result["replies"]) != n:
            raise AssertionError(f"the baseline stored {result['replies']} replies, not {n}")
        return Figures(seconds=seconds, cpu_s=cpu, rss_mb=_rss_mb(proc.pid) if proc.poll() is None else 0.0)
    finally:
        proc.wait(timeout=60)


def _row(name: str, n: int, figures: Figures) -> str:
    return (
        f"{name:<34} {figures.per_s(n):>9.0f} msg/s {figures.cpu_ms(n):>8.2f} CPU ms/msg"
        f" {figures.seconds:>8.1f} s  RSS {figures.rss_mb:>6.0f} MB"
    )


def main(quick: bool, n: int | None = None, stored: int | None = None) -> None:
    n = n or (1_000 if quick else 10_000)
    stored = stored if stored is not None else (2_000 if quick else 50_000)
    port = _free_port()
    simulator = _start_simulator(port)
    base_url = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
            root = Path(tmp)
            for name in ("plain", "service", "stored"):
                (root / name).mkdir()
            plain = run_plain(root / "plain", base_url, n)
            service = run_service(root / "service", base_url, n)
            print(f"{n} messages, {CONCURRENCY} at once, simulator at 0 ms")
            print(_row("plain asyncio + httpx + DuckDB", n, plain))
            print(_row("being run (fresh database)", n, service))
            print(f"ratio service/plain: {service.per_s(n) / plain.per_s(n):.2f}x msg/s")
            if stored:
                run_service(root / "stored", base_url, stored)  # the memory the second run starts with
                later = run_service(root / "stored", base_url, n, start=stored)
                print(_row(f"being run ({stored} already stored)", n, later))
                print(f"ratio stored/fresh: {later.per_s(n) / service.per_s(n):.2f}x msg/s")
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
