"""The NATS fixture starts a real JetStream server that keeps its streams across a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats

from tests.nats_server import NatsServer, nats_binary


async def _publish_and_count(url: str, *, publish: bool) -> int:
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        await js.add_stream(name="FIXTURE", subjects=["fixture.>"])
        if publish:
            await js.publish("fixture.one", b"{}", headers={"Nats-Msg-Id": "one"})
            await js.publish("fixture.one", b"{}", headers={"Nats-Msg-Id": "one"})  # de-duplicated
        info = await js.stream_info("FIXTURE")
        return int(info.state.messages)
    finally:
        await nc.close()


def test_a_jetstream_server_keeps_its_stream_across_a_restart(tmp_path: Path) -> None:
    server = NatsServer(nats_binary(), tmp_path)
    try:
        assert asyncio.run(_publish_and_count(server.url, publish=True)) == 1
        server.stop()
        server.start()
        assert asyncio.run(_publish_and_count(server.url, publish=False)) == 1
    finally:
        server.stop()
