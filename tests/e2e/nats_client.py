"""A small NATS client for the tests: publish to a being's subject, read its consumer's state."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import nats
from nats.js.api import ConsumerInfo

__all__ = ["ack_floor", "consumer", "publish"]


async def _publish(url: str, subject: str, bodies: Sequence[tuple[bytes, str | None]]) -> list[Any]:
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        return [
            await js.publish(subject, body, headers={"Nats-Msg-Id": msg_id} if msg_id is not None else None)
            for body, msg_id in bodies
        ]
    finally:
        await nc.close()


def publish(url: str, *bodies: tuple[bytes, str | None], subject: str = "being.being.in") -> list[Any]:
    """Publish each (body, Nats-Msg-Id) to JetStream; returns the acks (``duplicate`` tells a dropped repeat)."""
    return asyncio.run(_publish(url, subject, bodies))


async def _consumer(url: str, stream: str, durable: str) -> ConsumerInfo:
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        info: ConsumerInfo = await nc.jetstream().consumer_info(stream, durable)
        return info
    finally:
        await nc.close()


def consumer(url: str, stream: str = "BEING_BEING_IN", durable: str = "being") -> ConsumerInfo:
    """The durable consumer's state now: delivered, ack floor, acks pending, redelivered."""
    return asyncio.run(_consumer(url, stream, durable))


def ack_floor(info: ConsumerInfo) -> int:
    """The stream sequence up to which every message is acknowledged (or terminated)."""
    return info.ack_floor.stream_seq if info.ack_floor is not None else 0
