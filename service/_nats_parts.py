"""The parts of ``[nats]`` the runtime makes: the connection, the JetStream source's state, its health and metrics.

``open_jetstream`` connects (``service/_nats_connection.py``) and builds the source's state with
the settings' policy, the writer's lookup of a message's acknowledging row (asked at a message's
last delivery) and the metrics listener; it adds the ``nats`` health component. The runtime merges
``streams.jetstream(state)`` into the live sources (``LiveParts.jetstream``), acknowledges each
committed batch's ids on it, and at shutdown closes the state (gives back what is held) and then
the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry

from agent import reply_id
from service._message_parts import message_limits
from service._nats_connection import NatsLink, open_nats
from service.health import Health, NatsHealth
from service.metrics import NatsMetrics
from service.settings import Settings
from sinks import DuckWriter, episode_stored
from streams import Event, JetStreamPolicy, JetStreamState, stable_id

__all__ = ["NatsParts", "done_lookup", "jetstream_policy", "open_jetstream"]


@dataclass(frozen=True, slots=True)
class NatsParts:
    """The open connection and the JetStream source's state (close the state first, then the link)."""

    link: NatsLink
    state: JetStreamState
    metrics: NatsMetrics

    async def close(self) -> int:
        """Give back what the source still holds, then flush and close the connection; returns the given back."""
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


def _ignore_headers(_event_id: str, _headers: Mapping[str, str]) -> None:
    return None


async def open_jetstream(
    settings: Settings,
    writer: DuckWriter,
    *,
    registry: CollectorRegistry,
    health: Health,
    clock: Callable[[], datetime],
    on_headers: Callable[[str, Mapping[str, str]], None] = _ignore_headers,
) -> NatsParts | None:
    """Connect and build the source's state when ``[nats] enabled`` (``None`` when it is not).

    Raises:
        NatsUnavailableError: no server answered within ``nats.connect_timeout_s``, or JetStream
            refused the stream or the consumer.
    """
    if not settings.nats.enabled:
        return None
    link = await open_nats(settings.nats, clock=clock)
    metrics = NatsMetrics(registry)
    state = JetStreamState(
        link.subscription,
        jetstream_policy(settings),
        listener=metrics,
        on_headers=on_headers,
        is_done=done_lookup(writer, settings),
    )
    metrics.watch(in_flight=state.in_flight, connected=lambda: link.connected, reconnects=lambda: link.reconnects)
    health.add("nats", NatsHealth(link, where=settings.nats.shown_url()))
    return NatsParts(link=link, state=state, metrics=metrics)
