"""The whole service, end to end, against the loop a good engineer would write by hand.

Both run as their own processes against the same LLM simulator (its own process, answering at 0 ms):

- service: the real ``being run`` on a fresh data folder, with recording, vector memory and every
  protection layer on (rate limit and budget off: they are limits, not costs);
- plain: ``benchmarks/_plain_service.py`` (asyncio, httpx, DuckDB batches through Arrow), at the same
  concurrency as the service's ``reply.max_concurrent``.

N messages are appended to each one's inbox at once; the clock runs until every message has its reply
stored. A third run is the service with ``[tracing]`` on (every message traced, sample ratio 1), its
spans sent over OTLP/HTTP to a stand-in collector in this process that takes every batch and
answers 200: the ratio traced/untraced is tracing's cost. Printed: msg/s for each and their ratios, CPU
ms per message (from /proc), the service's RSS at the end. A last service run starts on a database
that already holds ``--stored`` answered messages (made by the service itself beforehand), to show
whether the cost grows with memory.

``--memory`` runs the service alone with default settings (but for its paths, the simulator and
the concurrency) for ``--n`` messages (100,000 by default) and prints its RSS once it listens, at
the end and at its peak, and what the vector index holds.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

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


class _Collector(BaseHTTPRequestHandler):
    """Takes an OTLP/HTTP export and answers 200 with an empty response (what a collector says to a full success)."""

    received: ClassVar[dict[str, int]] = {"requests": 0, "bytes": 0}

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received["requests"] += 1
        self.received["bytes"] += len(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


def _start_collector() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, name="otlp-stand-in", daemon=True).start()
    return server


def _service_config(folder: Path, base_url: str, tracing: dict[str, Any] | None = None) -> Path:
    extra = {"tracing": tracing} if tracing is not None else {}
    return write_config(
        folder,
        # the inbox is first read on a light tick: at 0.1 s that wait is under 1 % of a run
        ticks={"light_interval_s": 0.1, "heavy_interval_s": 3600.0},
        sink={"batch_max_wait_s": 0.2},
        reply={"enabled": True, "max_concurrent": CONCURRENCY},
        llm={"base_url": base_url},
        resilience={},
        **extra,
    )


def _replies(service: ServiceProcess) -> float:
    return service.metric("being_episodes_written_total", 'type="user.reply"')


def _wait_replies(service: ServiceProcess, n: int, timeout_s: float) -> None:
    """Until the service has stored ``n`` replies, reading its /metrics as seldom as the clock allows.

    Each scrape costs the service CPU (about 8 ms under load: read every 20 ms it was 9 % of the
    service's samples under py-spy), so the wait between two reads is half the time the replies
    still missing should take at the rate seen so far, between 0.05 and 1 s: a few dozen scrapes
    per run, the last ones close to the end.
    """
    began = time.monotonic()
    deadline = began + timeout_s
    while (got := _replies(service)) < n:
        now = time.monotonic()
        if now > deadline:
            raise TimeoutError(f"waited {timeout_s:.0f} s for {n} replies from the service (got {got:.0f})")
        rate = got / (now - began) if got else 0.0
        time.sleep(min(1.0, max(0.05, (n - got) / rate / 2)) if rate else 0.2)


def run_service(
    folder: Path, base_url: str, n: int, *, start: int = 0, tracing: dict[str, Any] | None = None
) -> Figures:
    """``n`` messages through ``being run`` in ``folder`` (its database may already hold some)."""
    service = ServiceProcess(_service_config(folder, base_url, tracing))
    try:
        pid = service.proc.pid
        cpu_before = _cpu_s(pid)
        began = time.monotonic()
        with (folder / "inbox.txt").open("a", encoding="utf-8") as inbox:
            inbox.write(_lines(n, start))
        _wait_replies(service, n, 3600)
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
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        # timed from when it is ready (imports done, database open), like the service from when it listens
        if not json.loads(proc.stdout.readline()).get("ready"):
            raise AssertionError("the baseline did not say it was ready")
        cpu_before = _cpu_s(proc.pid)
        began = time.monotonic()
        inbox.write_text(_lines(n), encoding="utf-8")
        result = json.loads(proc.stdout.readline())  # once every reply is stored; it waits for stdin to close
        seconds = time.monotonic() - began
        figures = Figures(seconds=seconds, cpu_s=_cpu_s(proc.pid) - cpu_before, rss_mb=_rss_mb(proc.pid))
        if int(result["replies"]) != n:
            raise AssertionError(f"the baseline stored {result['replies']} replies, not {n}")
        return figures
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


def _memory_config(folder: Path, base_url: str) -> Path:
    """The defaults, but for the paths, a free port, the simulator, JSON logs and the benchmark's concurrency."""
    lines = [
        "[storage]",
        f"database_path = {json.dumps(str(folder / 'data' / 'being.duckdb'))}",
        "[inbox]",
        f"path = {json.dumps(str(folder / 'inbox.txt'))}",
        "[memory]",
        f"archive_dir = {json.dumps(str(folder / 'data' / 'archive'))}",
        "[http]",
        "port = 0",
        "[log]",
        'format = "json"',
        "[reply]",
        f"max_concurrent = {CONCURRENCY}",
        "[llm]",
        f"base_url = {json.dumps(base_url)}",
    ]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _smaps_mb(pid: int) -> dict[str, float]:
    """Resident memory by kind (``Anonymous``: the heaps; ``Rss`` minus it: mapped files, the libraries' code)."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        out[key] = int(rest.split()[0]) / 1024
    return out


def _duckdb_mib(service: ServiceProcess) -> float:
    """DuckDB's own memory: the gauge reports what the writer read after the scrape before, so scrape until settled."""
    deadline = time.monotonic() + 10
    last = service.metric("being_duckdb_memory_bytes")
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = service.metric("being_duckdb_memory_bytes")
        if now == last and now > 0:
            break
        last = now
    return last / 2**20


def _memory_breakdown(service: ServiceProcess, pid: int, index_mib: float) -> None:
    smaps = _smaps_mb(pid)
    duck = _duckdb_mib(service)
    files, anon = smaps["Rss"] - smaps["Anonymous"], smaps["Anonymous"]
    print(f"resident: {smaps['Rss']:.0f} MB = mapped files (libraries' code) {files:.0f} + anonymous {anon:.0f}")
    print(
        f"anonymous: vector index arrays {index_mib:.0f} MiB, DuckDB (duckdb_memory()) {duck:.0f} MiB,"
        f" the rest (Python objects, allocators' free lists, thread stacks) {anon - index_mib - duck:.0f} MB"
    )


def run_memory(folder: Path, base_url: str, n: int) -> None:
    """``n`` messages through ``being run`` with default settings; prints its RSS and what the index holds."""
    service = ServiceProcess(_memory_config(folder, base_url))
    try:
        pid = service.proc.pid
        idle = _rss_mb(pid)  # listening, nothing asked yet
        began = time.monotonic()
        with (folder / "inbox.txt").open("a", encoding="utf-8") as inbox:
            inbox.write(_lines(n))
        _wait_replies(service, n, 7200)
        seconds = time.monotonic() - began
        rss, peak = _rss_mb(pid), _peak_mb(pid)
        vectors = service.metric("being_vectors_stored")
        index = service.metric("being_vector_index_bytes") / 2**20
        database = service.metric("being_database_bytes") / 2**20
        print(f"{n} messages with default settings ({CONCURRENCY} at once), {n / seconds:.0f} msg/s")
        print(f"RSS at the end {rss:.0f} MB, peak {peak:.0f} MB (once listening, before the messages: {idle:.0f} MB)")
        print(f"vector index: {vectors:.0f} vectors, {index:.0f} MiB of arrays; database file {database:.0f} MiB")
        _memory_breakdown(service, pid, index)
        service.signal()
        service.wait(300)
    finally:
        service.stop()


def _row(name: str, n: int, figures: Figures) -> str:
    return (
        f"{name:<34} {figures.per_s(n):>9.0f} msg/s {figures.cpu_ms(n):>8.2f} CPU ms/msg"
        f" {figures.seconds:>8.1f} s  RSS {figures.rss_mb:>6.0f} MB"
    )


def main(quick: bool, n: int | None = None, stored: int | None = None, memory: bool = False) -> None:
    if memory:
        _main_memory(n or (2_000 if quick else 100_000))
        return
    n = n or (1_000 if quick else 10_000)
    stored = stored if stored is not None else (2_000 if quick else 50_000)
    port = _free_port()
    simulator = _start_simulator(port)
    base_url = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
            root = Path(tmp)
            for name in ("plain", "service", "traced", "stored"):
                (root / name).mkdir()
            plain = run_plain(root / "plain", base_url, n)
            service = run_service(root / "service", base_url, n)
            collector = _start_collector()
            endpoint = f"http://127.0.0.1:{collector.server_address[1]}/v1/traces"
            try:
                traced = run_service(root / "traced", base_url, n, tracing={"enabled": True, "endpoint": endpoint})
            finally:
                collector.shutdown()
            print(f"{n} messages, {CONCURRENCY} at once, simulator at 0 ms")
            print(_row("plain asyncio + httpx + DuckDB", n, plain))
            print(_row("being run (fresh database)", n, service))
            print(_row("being run, tracing on (OTLP)", n, traced))
            print(f"ratio service/plain: {service.per_s(n) / plain.per_s(n):.2f}x msg/s")
            sent = _Collector.received
            print(
                f"ratio traced/untraced: {traced.per_s(n) / service.per_s(n):.2f}x msg/s, "
                f"{traced.cpu_ms(n) / service.cpu_ms(n):.2f}x CPU/msg "
                f"({sent['requests']} OTLP exports, {sent['bytes'] / n:.0f} bytes/msg)"
            )
            if stored:
                run_service(root / "stored", base_url, stored)  # the memory the second run starts with
                later = run_service(root / "stored", base_url, n, start=stored)
                print(_row(f"being run ({stored} already stored)", n, later))
                print(f"ratio stored/fresh: {later.per_s(n) / service.per_s(n):.2f}x msg/s")
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)


def _main_memory(n: int) -> None:
    port = _free_port()
    simulator = _start_simulator(port)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-e2e-memory-") as tmp:
            run_memory(Path(tmp), f"http://127.0.0.1:{port}", n)
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
