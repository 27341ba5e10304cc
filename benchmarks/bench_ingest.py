"""``POST /messages`` beside the inbox file: messages accepted per second, and reply latency end to end.

Two runs of the real ``being run``, each on a fresh data folder, against the same LLM simulator
(its own process, answering at 0 ms), with the same settings (replies on, ``reply.max_concurrent``
8, rate limit and budget off):

- http: N messages posted at once from 16 keep-alive connections; accepted per second is N over
  the time until the last 202. A message's latency runs from just before its POST was sent to
  when its reply's line appears in the outbox (read every 2 ms);
- inbox: the same N messages appended to the inbox file at once; a message's latency runs from
  that write to its reply's line in the outbox.

Both are bursts, so latency includes the wait in the reply lane; the figure that compares the two
paths is the ratio of their percentiles. Printed: accepted/s, p50/p99 latency for both, ratios.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.bench_e2e import _free_port, _start_simulator
from service._token import token_path
from tests.e2e.service_process import ServiceProcess, write_config

CONCURRENCY = 8
CONNECTIONS = 64


def _config(folder: Path, base_url: str, n: int) -> Path:
    dotted: dict[str, dict[str, Any]] = {
        "resilience.rate_limit": {"enabled": False},
        "resilience.budget": {"enabled": False},
        "http.limits": {"ingest_per_window": max(n, 1)},  # one client posts them all: a limit, not a cost
    }
    return write_config(
        folder,
        ticks={"light_interval_s": 0.05, "heavy_interval_s": 3600.0},
        sink={"batch_max_wait_s": 0.05},
        reply={"enabled": True, "max_concurrent": CONCURRENCY},
        llm={"base_url": base_url},
        ingest={"max_pending": max(n, 1)},
        inbox={"max_pending_events": max(n, 1)},
        http={"max_connections": 1000},
        **dotted,
    )


class OutboxWatch:
    """Reads the outbox as it grows (in a thread) and notes when each line was first seen, by message text."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        offset, partial = 0, b""
        while not self._stop.is_set():
            try:
                with self.path.open("rb") as handle:
                    handle.seek(offset)
                    data = handle.read()
            except FileNotFoundError:
                data = b""
            now = time.monotonic()
            offset += len(data)
            partial += data
            *whole, partial = partial.split(b"\n")
            for line in whole:
                self.seen.setdefault(json.loads(line)["message"], now)
            time.sleep(0.002)

    def wait_for(self, n: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.seen) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.seen)} of {n} replies in the outbox after {timeout_s:.0f} s")
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _texts(n: int) -> list[str]:
    return [f"message {i}: what do you make of the river today?" for i in range(n)]


async def _post_all(port: int, token: str, texts: list[str]) -> tuple[dict[str, float], float]:
    sent: dict[str, float] = {}
    queue: asyncio.Queue[str] = asyncio.Queue()
    for text in texts:
        queue.put_nowait(text)

    async def connection() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", headers=headers) as session:
            while not queue.empty():
                text = queue.get_nowait()
                sent[text] = time.monotonic()
                async with session.post("/messages", json={"text": text}) as response:
                    if response.status != 202:
                        raise AssertionError(f"POST /messages answered {response.status}: {await response.text()}")

    began = time.monotonic()
    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return sent, time.monotonic() - began


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return 1000 * cuts[49], 1000 * cuts[98]


def run_http(folder: Path, base_url: str, n: int) -> tuple[float, list[float], float]:
    """(accepted per second, latencies, seconds until every reply) of ``n`` messages posted at once."""
    service = ServiceProcess(_config(folder, base_url, n))
    watch = OutboxWatch(folder / "outbox.jsonl")
    try:
        texts = _texts(n)
        began = time.monotonic()
        token = token_path(folder / "data" / "being.duckdb").read_text(encoding="ascii").strip()  # written at start
        sent, posting_s = asyncio.run(_post_all(service.port, token, texts))
        watch.wait_for(n, 3600)
        total_s = max(watch.seen.values()) - began
        service.signal()
        service.wait(120)
        return n / posting_s, [watch.seen[t] - sent[t] for t in texts], total_s
    finally:
        watch.stop()
        service.stop()


def run_inbox(folder: Path, base_url: str, n: int) -> tuple[list[float], float]:
    """(latencies, seconds until every reply) of ``n`` messages appended to the inbox at once."""
    service = ServiceProcess(_config(folder, base_url, n))
    watch = OutboxWatch(folder / "outbox.jsonl")
    try:
        texts = _texts(n)
        began = time.monotonic()
        (folder / "inbox.txt").write_text("".join(f"{t}\n" for t in texts), encoding="utf-8")
        watch.wait_for(n, 3600)
        total_s = max(watch.seen.values()) - began
        service.signal()
        service.wait(120)
        return [watch.seen[t] - began for t in texts], total_s
    finally:
        watch.stop()
        service.stop()


def main(quick: bool, n: int | None = None) -> None:
    n = n or (300 if quick else 2_000)
    port = _free_port()
    simulator = _start_simulator(port)
    base_url = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
            root = Path(tmp)
            (root / "http").mkdir()
            (root / "inbox").mkdir()
            accepted, http_latencies, http_s = run_http(root / "http", base_url, n)
            inbox_latencies, inbox_s = run_inbox(root / "inbox", base_url, n)
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
    http_p50, http_p99 = _percentiles(http_latencies)
    inbox_p50, inbox_p99 = _percentiles(inbox_latencies)
    print(f"{n} messages at once, {CONCURRENCY} replies at a time, simulator at 0 ms")
    print(f"POST /messages accepted: {accepted:>8.0f} msg/s ({CONNECTIONS} connections)")
    for name, seconds, p50, p99 in (("http", http_s, http_p50, http_p99), ("inbox", inbox_s, inbox_p50, inbox_p99)):
        rate = n / seconds
        print(f"{name:<6} replied in {seconds:>6.2f} s ({rate:>5.0f} msg/s)  p50 {p50:>7.1f} ms  p99 {p99:>7.1f} ms")
    print(
        f"ratio http/inbox: msg/s {inbox_s / http_s:.2f}x,"
        f" p50 {http_p50 / inbox_p50:.2f}x, p99 {http_p99 / inbox_p99:.2f}x"
    )
