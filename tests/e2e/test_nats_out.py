"""The out stream against the real process and a real ``nats-server -js``: every reply published
after it is stored, and a JetStream message acknowledged only once its reply is published."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.api import DiscardPolicy, StreamConfig

from agent import reply_id
from streams import stable_id
from tests.e2e.nats_client import ack_floor, consumer, publish
from tests.e2e.service_process import ServiceProcess, SimulatorThread, write_config
from tests.nats_server import NatsServer
from tests.support import wait_until

pytestmark = pytest.mark.e2e

OUT_STREAM, OUT_SUBJECT = "BEING_BEING_OUT", "being.being.out"


def config(folder: Path, server: NatsServer, simulator: SimulatorThread) -> Path:
    return write_config(
        folder,
        reply={"enabled": True},
        llm={"base_url": simulator.base_url},
        nats={"enabled": True, "url": server.url},
        **{"resilience.rate_limit": {"enabled": False}, "resilience.budget": {"enabled": False}},
    )


async def _out_messages(url: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info(OUT_STREAM)
        except nats.js.errors.NotFoundError:
            return []
        found: list[tuple[dict[str, str], dict[str, Any]]] = []
        if not info.state.messages:
            return found
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(OUT_STREAM, seq)
            found.append((dict(msg.headers or {}), json.loads(msg.data or b"{}")))
        return found
    finally:
        await nc.close()


def out_messages(server: NatsServer) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """Every message on the out stream now: (headers, body)."""
    return asyncio.run(_out_messages(server.url))


def replies_on_out(server: NatsServer) -> list[tuple[dict[str, str], dict[str, Any]]]:
    return [(h, b) for h, b in out_messages(server) if h.get("Being-Type") == "user.reply"]


async def _full_out_stream(url: str, *, max_msgs: int) -> None:
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        config = StreamConfig(name=OUT_STREAM, subjects=[OUT_SUBJECT], max_msgs=max_msgs, discard=DiscardPolicy.NEW)
        try:
            await js.stream_info(OUT_STREAM)
            await js.update_stream(config)
        except nats.js.errors.NotFoundError:
            await js.add_stream(config)
            await js.publish(OUT_SUBJECT, b"{}", headers={"Being-Type": "filler"})
    finally:
        await nc.close()


def test_replies_of_nats_and_inbox_messages_reach_the_out_stream_once_each_with_their_ids(
    tmp_path: Path, server: NatsServer, simulator: SimulatorThread
) -> None:
    service = ServiceProcess(config(tmp_path, server, simulator))
    try:
        [ack] = publish(server.url, (json.dumps({"text": "hello over nats", "sender": "ana"}).encode(), "m-1"))
        (tmp_path / "inbox.txt").write_text("hello from the inbox\n", encoding="utf-8")
        wait_until(lambda: len(replies_on_out(server)) == 2, timeout_s=30, what="both replies on the out stream")
        wait_until(lambda: ack_floor(consumer(server.url)) >= ack.seq, timeout_s=30, what="the message acked")
        service.signal()
        assert service.wait() == 0, "".join(service.raw_stderr[-20:])
    finally:
        service.stop()
    replies = replies_on_out(server)
    nats_event = stable_id("nats", "m-1")
    [(headers, body)] = [(h, b) for h, b in replies if h.get("Being-In-Reply-To") == nats_event]
    assert headers["Nats-Msg-Id"] == reply_id(nats_event) == body["id"]
    assert body["type"] == "user.reply" and body["message"] == "hello over nats" and body["text"]
    [(_, inbox_body)] = [(h, b) for h, b in replies if h.get("Being-In-Reply-To") != nats_event]
    assert inbox_body["message"] == "hello from the inbox"
    assert len({h["Nats-Msg-Id"] for h, _ in replies}) == 2  # once each


def test_a_message_whose_reply_cannot_be_published_is_not_acknowledged_until_it_is(
    tmp_path: Path, server: NatsServer, simulator: SimulatorThread
) -> None:
    asyncio.run(_full_out_stream(server.url, max_msgs=1))  # full, new messages refused: every publish fails
    service = ServiceProcess(config(tmp_path, server, simulator))
    try:
        [ack] = publish(server.url, (json.dumps({"text": "answer me"}).encode(), "m-2"))
        wait_until(
            lambda: any(e.get("event") == "nats.out_flush_failed" for e in service.logs),
            timeout_s=30,
            what="a refused publish",
        )
        info = consumer(server.url)
        assert info.num_ack_pending == 1 and ack_floor(info) < ack.seq  # stored, not published: not acked
        asyncio.run(_full_out_stream(server.url, max_msgs=-1))  # room again
        wait_until(lambda: ack_floor(consumer(server.url)) >= ack.seq, timeout_s=30, what="acked once published")
        [(headers, _)] = replies_on_out(server)
        assert headers["Being-In-Reply-To"] == stable_id("nats", "m-2")
        service.signal()
        assert service.wait() == 0, "".join(service.raw_stderr[-20:])
    finally:
        service.stop()
