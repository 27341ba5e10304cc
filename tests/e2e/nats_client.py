"""A small NATS client for the tests: publish to a being's subject, read its consumer's state."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nats
import nats.js.errors
from nats.js.api import ConsumerInfo

__all__ = ["OutMessage", "ack_floor", "consumer", "delete_stream", "out_messages", "publish", "stream_count"]


async def _publish(url: str, subject: str, bodies: Sequence[tuple[bytes, str | None]]) -> list[Any]:
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        sent = [
            await js.publish_async(subject, body, headers={"Nats-Msg-Id": msg_id} if msg_id is not None else None)
            for body, msg_id in bodies
        ]
        return list(await asyncio.gather(*sent))  # sent in order, their acks awaited together
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


@dataclass(frozen=True, slots=True)
class OutMessage:
    """One message of an out stream: its sequence, headers and body."""

    seq: int
    headers: dict[str, str]
    body: bytes


async def _out_messages(url: str, stream: str) -> list[OutMessage]:
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        state = (await js.stream_info(stream)).state
        found = []
        for seq in range(state.first_seq, state.last_seq + 1) if state.messages else ():
            raw = await js.get_msg(stream, seq)
            found.append(OutMessage(seq, dict(raw.headers or {}), raw.data or b""))
        return found
    finally:
        await nc.close()


def out_messages(url: str, stream: str = "BEING_BEING_OUT") -> list[OutMessage]:
    """Every message the stream holds now, in order (the stream is read, not consumed)."""
    return asyncio.run(_out_messages(url, stream))


async def _stream_count(url: str, stream: str) -> int:
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        return int((await nc.jetstream().stream_info(stream)).state.messages)
    finally:
        await nc.close()


def stream_count(url: str, stream: str = "BEING_BEING_OUT") -> int:
    """How many messages the stream holds now (0 when it does not exist yet)."""
    try:
        return asyncio.run(_stream_count(url, stream))
    except nats.js.errors.NotFoundError:
        return 0


async def _delete_stream(url: str, stream: str) -> None:
    nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


def delete_stream(url: str, stream: str) -> None:
    """Delete a stream (and its consumers) as an operator would."""
    asyncio.run(_delete_stream(url, stream))
