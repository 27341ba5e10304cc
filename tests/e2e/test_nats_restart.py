"""A message published again after the duplicate window and a restart, against the real process and nats-server.

JetStream drops a copy with the same ``Nats-Msg-Id`` only within ``duplicate_window_s``; past it the
copy is a new message, delivered once. The restarted service recognises it as answered from its
database (the ids it is seeded with at the start), acknowledges it without asking the LLM, and
stores neither the message nor its reply a second time. A message without ``Nats-Msg-Id`` is not
recognised that way: its id is its place in the stream (tests/e2e/test_nats_stream_made_again.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from llm.simulator import FaultPlan
from tests.e2e.nats_client import consumer, publish
from tests.e2e.service_process import ServiceProcess, SimulatorThread, query
from tests.e2e.test_nats import acked_up_to, config, event_id, rows
from tests.nats_server import NatsServer
from tests.support import wait_until

pytestmark = pytest.mark.e2e

WINDOW_S = 1.0  # the shortest duplicate window the settings take: the test waits for it to lapse


@pytest.fixture
def simulator() -> Iterator[SimulatorThread]:
    """An LLM that takes as long as a small local model, so that a reply is stored in a later batch than its
    message (where no row of the batch is ``recovered``: nothing would skip a second copy of it)."""
    sim = SimulatorThread(FaultPlan(models=(), latency_ms=300.0))
    try:
        yield sim
    finally:
        sim.stop()


async def _publish_once_accepted(url: str, body: bytes, msg_id: str, timeout_s: float) -> Any:
    """Publish until the stream takes the message as new (its duplicate window for ``msg_id`` lapsed).

    Each refused try is a copy JetStream drops (its PubAck says ``duplicate``), so nothing but the
    accepted one reaches the stream.
    """
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + timeout_s
        while True:
            ack = await js.publish("being.being.in", body, headers={"Nats-Msg-Id": msg_id})
            if not ack.duplicate:
                return ack
            if time.monotonic() > deadline:
                raise AssertionError(f"{msg_id}: still a duplicate after {timeout_s}s")
            await asyncio.sleep(0.05)  # the server forgets ids on its own timer; ask again shortly
    finally:
        await nc.close()


def publish_once_accepted(url: str, body: bytes, msg_id: str, *, timeout_s: float = 20.0) -> Any:
    return asyncio.run(_publish_once_accepted(url, body, msg_id, timeout_s))


def stop(service: ServiceProcess) -> None:
    service.signal()
    assert service.wait() == 0, "".join(service.raw_stderr[-20:])


def test_a_copy_published_again_after_the_window_and_a_restart_is_acked_and_not_answered_again(
    tmp_path: Path, server: NatsServer, simulator: SimulatorThread
) -> None:
    path = config(tmp_path, server, simulator, duplicate_window_s=WINDOW_S, ack_wait_s=2.0)
    body = json.dumps({"text": "answer me once", "sender": "ana"}).encode()
    first = ServiceProcess(path)
    try:
        [ack] = publish(server.url, (body, "m-once"))
        wait_until(lambda: acked_up_to(server, ack.seq), timeout_s=30, what="the first answer")
        stop(first)
    finally:
        first.stop()
    calls = simulator.requests()
    assert rows(tmp_path, event_id("m-once")) == (1, 1) and calls >= 1

    second = ServiceProcess(path)
    try:
        [seeded] = [e for e in second.logs if e.get("event") == "nats.recent_read"]
        assert seeded["ids"] == 1
        again = publish_once_accepted(server.url, body, "m-once")
        assert again.seq == ack.seq + 1  # a new message for the stream: the window had lapsed
        wait_until(lambda: acked_up_to(server, again.seq), timeout_s=30, what="the copy acknowledged")
        info = consumer(server.url)
        assert info.num_redelivered == 0 and info.num_pending == 0  # acked at its first delivery, not again
        assert second.metric("being_nats_messages_received_total", 'delivery="first"') == 1
        assert second.metric("being_nats_messages_settled_total", 'how="acked"') == 1
        stop(second)
    finally:
        second.stop()
    assert simulator.requests() == calls  # the LLM was not asked again
    assert rows(tmp_path, event_id("m-once")) == (1, 1)
    [(msg_id,)] = query(
        tmp_path / "data" / "being.duckdb", "SELECT data->>'msg_id' FROM episodes WHERE type = 'user.message'"
    )
    assert msg_id == "m-once"
