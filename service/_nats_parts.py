"""The parts of ``[nats]`` the runtime makes: the connection, the JetStream source's state, its health and metrics.

``open_jetstream`` connects (``service/_nats_connection.py``) and builds the source's state with
the settings' policy, the writer's lookup of a message's acknowledging row (asked at a message's
last delivery), the metrics listener, and the ids of the messages with a ``Nats-Msg-Id`` answered
before this start (a writer job, ``sinks.recent_nats_ids``: a copy published again after the
duplicate window is recognised across a restart); it adds the ``nats`` health component. The runtime merges
``streams.jetstream(state)`` into the live sources (``LiveParts.jetstream``) and hands each
committed batch's ids to the :class:`~service._out_gate.OutGate`, which (with ``publish_replies``)
publishes the batch's replies to the out stream (``sinks.JetStreamOut``) before it acknowledges
the batch's messages. At shutdown the gate flushes last, the state gives back what it holds, and
the connection closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry

from agent import reply_id
from service._message_parts import message_limits
from service._nats_connection import NatsLink, open_nats
from service._nats_pull import PullFetcher
from service._out_gate import OutGate
from service.health import Health, NatsHealth
from service.metrics import NatsMetrics
from service.settings import Settings
from sinks import DuckWriter, JetStreamOut, JetStreamOutPolicy, episode_stored, recent_nats_ids
from streams import JETSTREAM_RECENT_IDS, Event, JetStreamPolicy, JetStreamState, stable_id

__all__ = ["NatsParts", "done_lookup", "jetstream_policy", "open_jetstream", "out_policy", "read_recent_ids"]

log = logging.getLogger("service")


@dataclass(frozen=True, slots=True)
class NatsParts:
    """The open connection and the JetStream source's state (close the state first, then the link)."""

    link: NatsLink
    state: JetStreamState
    metrics: NatsMetrics
    gate: OutGate
    out: JetStreamOut | None = None

    async def close(self) -> int:
        """Publish and acknowledge what is committed, give back what the source still holds, close the
        connection; returns the messages given back."""
        await self.gate.close()
        given_back = await self.state.close()
        await self.link.close()
        return given_back


def jetstream_policy(settings: Settings) -> JetStreamPolicy:
    """The source's policy from ``[nats]`` (and the message sizes of ``[ingest]``)."""
    nats = settings.nats
    return JetStreamPolicy(
        stream=nats.stream_in,
        max_in_flight=nats.max_ack_pending,
        fetch_batch=nats.fetch_batch,
        max_deliver=nats.max_deliver,
        heartbeat_s=nats.ack_wait_s / 3,
        fetch_wait_s=min(1.0, nats.ack_wait_s / 3),
        limits=message_limits(settings),
        name=f"nats {nats.subject_in}",
    )


def done_lookup(writer: DuckWriter, settings: Settings) -> Callable[[Event], Awaitable[bool]]:
    """Whether a message's acknowledging row is stored: its reply, or (replies off) its own episode."""
    replies = settings.reply.enabled

    async def done(event: Event) -> bool:
        episode_id = reply_id(event.id) if replies else stable_id(event.id, event.type)
        job = writer.submit("nats.done", lambda con: episode_stored(con, episode_id))
        return await asyncio.wrap_future(job)

    return done


async def read_recent_ids(writer: DuckWriter) -> list[str]:
    """The ids of the newest messages with a ``Nats-Msg-Id`` stored, oldest first, as many as the source keeps."""
    job = writer.submit("nats.recent", lambda con: recent_nats_ids(con, limit=JETSTREAM_RECENT_IDS))
    return await asyncio.wrap_future(job)


def _ignore_headers(_event_id: str, _headers: Mapping[str, str]) -> None:
    return None


def _no_headers(_event_id: str) -> Mapping[str, str]:
    return {}


def out_policy(settings: Settings, max_payload_bytes: int) -> JetStreamOutPolicy:
    """The out sink's policy from ``[nats]`` (``max_payload_bytes``: the server's ``max_payload``)."""
    nats = settings.nats
    return JetStreamOutPolicy(
        name=nats.name,
        publish_episodes=nats.publish_episodes,
        duplicate_window_s=nats.duplicate_window_s,
        max_payload_bytes=max_payload_bytes,
    )


async def open_jetstream(
    settings: Settings,
    writer: DuckWriter,
    *,
    registry: CollectorRegistry,
    health: Health,
    clock: Callable[[], datetime],
    on_headers: Callable[[str, Mapping[str, str]], None] = _ignore_headers,
    headers_for: Callable[[str], Mapping[str, str]] = _no_headers,
) -> NatsParts | None:
    """Connect, build the source's state and (with ``publish_replies``) start the out sink, when ``[nats] enabled``.

    The out sink's start makes its stream and publishes what a kill left unpublished.

    Raises:
        NatsUnavailableError: no server answered within ``nats.connect_timeout_s``, or JetStream
            refused the stream or the consumer.
        OutStreamError: JetStream refused the out stream.
    """
    if not settings.nats.enabled:
        return None
    recent = await read_recent_ids(writer)  # before the connection: nothing to close if the read fails
    log.info("nats.recent_read", extra={"ids": len(recent)})
    link = await open_nats(settings.nats, clock=clock)
    metrics = NatsMetrics(registry)
    state = JetStreamState(
        PullFetcher(link.nc, link.js, link.subscription, stream=settings.nats.stream_in, durable=settings.nats.durable),
        jetstream_policy(settings),
        listener=metrics,
        on_headers=on_headers,
        is_done=done_lookup(writer, settings),
        recent=recent,
    )
    metrics.watch(in_flight=state.in_flight, connected=lambda: link.connected, reconnects=lambda: link.reconnects)
    out: JetStreamOut | None = None
    if settings.nats.publish_replies:
        out = JetStreamOut(writer, link.js, out_policy(settings, link.nc.max_payload), headers_for=headers_for)
        try:
            await out.start()
        except BaseException:
            await link.close()
            raise
    health.add("nats", NatsHealth(link, where=settings.nats.shown_url()))
    link.keep_consumer(every_s=settings.nats.consumer_check_interval_s)  # a stream deleted under it is made again
    return NatsParts(link=link, state=state, metrics=metrics, gate=OutGate(state, out), out=out)
