"""Messages through NATS JetStream with one and with two ``being run`` instances, beside the inbox path, in one run.

Every run is the real process (``benchmarks/bench_e2e.py``'s way: a fresh data folder, the LLM
simulator as its own process answering at 0 ms, ``reply.max_concurrent`` 8, rate limit and budget
off) and answers the same N messages:

- inbox: N lines appended to one instance's inbox (the baseline);
- JetStream, 1 instance: N messages published to ``being.being.in`` of a loopback ``nats-server -js``
  (each with its ``Nats-Msg-Id``), answered, each reply published to ``being.being.out`` before the
  message is acknowledged;
- JetStream, 2 instances: the same, two processes sharing the stream's durable consumer.

The clock runs from the first line appended (or message published) until every reply is stored
(inbox) or every message is acknowledged (JetStream: its reply is on the out stream). Printed:
msg/s, CPU ms per message (all the being processes together, from /proc) and the ratios.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

import nats

from benchmarks.bench_e2e import (
    CONCURRENCY,
    Figures,
    _cpu_s,
    _free_port,
    _row,
    _rss_mb,
    _start_simulator,
    run_service,
)
from tests.e2e.nats_client import ack_floor, consumer
from tests.e2e.service_process import ServiceProcess, write_config
from tests.nats_server import NatsServer, nats_binary

_OFF = {"resilience.rate_limit": {"enabled": False}, "resilience.budget": {"enabled": False}}


def _config(folder: Path, base_url: str, nats_url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_config(
        folder,
        ticks={"light_interval_s": 0.1, "heavy_interval_s": 3600.0},
        sink={"batch_max_wait_s": 0.2},
        reply={"enabled": True, "max_concurrent": CONCURRENCY},
        llm={"base_url": base_url},
        nats={"enabled": True, "url": nats_url},
        **_OFF,
    )


async def _publish(url: str, n: int, first: int) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for start in range(0, n, 256):  # 256 in flight at a time, their acks awaited together
            sent = [
                await js.publish_async(
                    "being.being.in",
                    json.dumps({"text": f"message {i}: what do you make of the river today?"}).encode(),
                    headers={"Nats-Msg-Id": f"m-{i}"},
                )
                for i in range(first + start, first + min(n, start + 256))
            ]
            await asyncio.gather(*sent)
    finally:
        await nc.close()


def _wait_acked(url: str, upto: int, timeout_s: float) -> None:
    """Until the consumer's ack floor reaches ``upto``, asking NATS (not the services) every 0.1-1 s."""
    began = time.monotonic()
    while (floor := ack_floor(consumer(url))) < upto:
        now = time.monotonic()
        if now - began > timeout_s:
            raise TimeoutError(f"waited {timeout_s:.0f} s for {upto} acknowledgements (got {floor})")
        rate = floor / (now - began) if floor else 0.0
        time.sleep(min(1.0, max(0.1, (upto - floor) / rate / 2)) if rate else 0.2)


def run_jetstream(root: Path, base_url: str, n: int, instances: int) -> Figures:
    """``n`` messages over JetStream answered by ``instances`` processes sharing one consumer."""
    (root / "nats").mkdir(parents=True)
    server = NatsServer(nats_binary(), root / "nats")
    services: list[ServiceProcess] = []
    try:
        services = [ServiceProcess(_config(root / f"i{k}", base_url, server.url)) for k in range(instances)]
        before = sum(_cpu_s(s.proc.pid) for s in services)
        began = time.monotonic()
        asyncio.run(_publish(server.url, n, 0))
        _wait_acked(server.url, n, 3600)
        seconds = time.monotonic() - began
        cpu = sum(_cpu_s(s.proc.pid) for s in services) - before
        figures = Figures(seconds=seconds, cpu_s=cpu, rss_mb=sum(_rss_mb(s.proc.pid) for s in services))
        shares = [s.metric("being_nats_messages_settled_total", 'how="acked"') for s in services]
        if sum(shares) < n:
            raise AssertionError(f"the instances acknowledged {shares}, not {n} in all")
        print(f"  JetStream, {instances} instance(s): messages acknowledged per instance {[int(x) for x in shares]}")
        for s in services:
            s.signal()
        for s in services:
            s.wait(120)
        return figures
    finally:
        for s in services:
            s.stop()
        server.stop()


def main(quick: bool, n: int | None = None) -> None:
    n = n or (500 if quick else 5_000)
    port = _free_port()
    simulator = _start_simulator(port)
    base_url = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory(prefix="bench-nats-") as tmp:
            root = Path(tmp)
            (root / "inbox").mkdir()
            inbox = run_service(root / "inbox", base_url, n)
            one = run_jetstream(root / "one", base_url, n, 1)
            two = run_jetstream(root / "two", base_url, n, 2)
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
    print(f"{n} messages, {CONCURRENCY} at once per instance, simulator at 0 ms, rate limit and budget off")
    print(_row("inbox, 1 instance (baseline)", n, inbox))
    print(_row("JetStream, 1 instance", n, one))
    print(_row("JetStream, 2 instances", n, two))
    print(
        f"ratio JetStream 1/inbox: {one.per_s(n) / inbox.per_s(n):.2f}x msg/s, "
        f"{one.cpu_ms(n) / inbox.cpu_ms(n):.2f}x CPU/msg"
    )
    print(
        f"ratio JetStream 2/1 instances: {two.per_s(n) / one.per_s(n):.2f}x msg/s, "
        f"{two.cpu_ms(n) / one.cpu_ms(n):.2f}x CPU/msg (RSS column: both processes)"
    )
