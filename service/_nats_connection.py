"""The one NATS connection of ``[nats]``: connect, make sure the messages' stream and durable consumer exist, close.

The runtime opens it when ``[nats] enabled`` (before the pipeline is subscribed) and closes it
last at shutdown, after the JetStream source gave back what it held. After the first connection
the client reconnects on its own, without end: a NATS restart during a run costs a pause, not a
message (what was delivered and not acknowledged comes again).

The stream ``BEING_<NAME>_IN`` (subject ``being.<name>.in``, file storage, ``duplicate_window_s``)
and the consumer ``durable`` (explicit acks, ``ack_wait_s``, ``max_deliver``, ``max_ack_pending``)
are created when missing and updated to the settings when they differ; every instance of one
being shares that consumer, so each message goes to one instance at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from service.errors import NatsUnavailableError
from service.settings import NatsSettings
from sinks import utc_now

__all__ = ["NatsLink", "consumer_config", "ensure_stream", "open_nats", "stream_config"]

log = logging.getLogger("service")


@dataclass(slots=True)
class _Watch:
    """What the client's callbacks tell: when it lost the server, how often it came back, the last error."""

    clock: Callable[[], datetime]
    lost_at: datetime | None = None
    reconnects: int = 0
    last_error: str = ""
    closing: bool = False
    consumer_lost_at: datetime | None = None  # the stream or the consumer was found gone (deleted under us)
    consumers_made_again: int = 0

    async def disconnected(self) -> None:
        if self.closing:
            return
        self.lost_at = self.clock()
        log.warning("nats.disconnected", extra={"error": self.last_error})

    async def reconnected(self) -> None:
        self.lost_at = None
        self.reconnects += 1
        log.info("nats.reconnected", extra={"reconnects": self.reconnects})

    async def error(self, exc: Exception) -> None:
        self.last_error = str(exc) or type(exc).__name__


@dataclass(slots=True)
class NatsLink:
    """The connection, its JetStream context and the durable consumer's pull subscription.

    Attributes:
        nc: the client (reconnects on its own).
        js: its JetStream context (the out sink publishes through it too).
        subscription: the pull subscription of the shared durable consumer on ``being.<name>.in``.
        settings: the ``[nats]`` it was opened with.
    """

    nc: Client
    js: JetStreamContext
    subscription: JetStreamContext.PullSubscription
    settings: NatsSettings
    watch: _Watch
    _keeper: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """Whether the client is connected now (not reconnecting, not closed)."""
        return bool(self.nc.is_connected)

    @property
    def lost_at(self) -> datetime | None:
        """When the connection was lost, while it is (``None``: connected, or closed on purpose)."""
        return self.watch.lost_at

    @property
    def reconnects(self) -> int:
        """How often the client came back after losing the server."""
        return self.watch.reconnects

    @property
    def consumer_lost_at(self) -> datetime | None:
        """When the stream or the durable consumer was found gone, while it is (``None``: in place)."""
        return self.watch.consumer_lost_at

    def keep_consumer(self, every_s: float) -> None:
        """Look every ``every_s`` that the stream and the durable consumer still exist; make them again if not.

        A stream deleted under a running service (by an operator, or a server that lost its store)
        leaves fetches that only time out: without this, nothing would be read again and nothing
        would say so. While they are gone, ``consumer_lost_at`` is set (the ``nats`` component is
        degraded); each time they are made again is logged and counted.
        """
        if self._keeper is None:
            self._keeper = asyncio.ensure_future(self._keep(every_s))

    async def _keep(self, every_s: float) -> None:
        settings, watch = self.settings, self.watch
        while True:
            await asyncio.sleep(every_s)
            if not self.nc.is_connected:
                continue  # the client reconnects on its own; nothing to ask meanwhile
            try:
                await self.js.consumer_info(settings.stream_in, settings.durable)
            except nats.js.errors.NotFoundError:
                if watch.consumer_lost_at is None:
                    watch.consumer_lost_at = watch.clock()
                    log.warning("nats.consumer_gone", extra={"stream": settings.stream_in, "durable": settings.durable})
                try:
                    await ensure_stream(self.js, stream_config(settings))
                    await self.js.add_consumer(settings.stream_in, consumer_config(settings))
                except (TimeoutError, nats.errors.Error) as exc:
                    watch.last_error = str(exc) or type(exc).__name__
                    continue
                watch.consumers_made_again += 1
                log.warning(
                    "nats.consumer_made_again",
                    extra={"stream": settings.stream_in, "times": watch.consumers_made_again},
                )
                watch.consumer_lost_at = None
            except (TimeoutError, nats.errors.Error) as exc:  # no answer now: asked again at the next look
                watch.last_error = str(exc) or type(exc).__name__

    async def close(self, timeout_s: float = 10.0) -> None:
        """Stop looking after the consumer, flush what is queued (acks, naks) and close; idempotent."""
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        if self.nc.is_closed:
            return
        self.watch.closing = True
        try:
            await asyncio.wait_for(self.nc.flush(), timeout=timeout_s)
        except (nats.errors.Error, TimeoutError) as exc:  # not lost: what was not acked is delivered again
            log.warning("nats.flush_failed", extra={"error": str(exc) or type(exc).__name__})
        await self.nc.close()


def stream_config(settings: NatsSettings) -> StreamConfig:
    """The messages-in stream the settings ask for."""
    return StreamConfig(
        name=settings.stream_in,
        subjects=[settings.subject_in],
        storage=StorageType.FILE,
        duplicate_window=settings.duplicate_window_s,
    )


def consumer_config(settings: NatsSettings) -> ConsumerConfig:
    """The shared durable pull consumer the settings ask for."""
    return ConsumerConfig(
        durable_name=settings.durable,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait_s,
        max_deliver=settings.max_deliver,
        max_ack_pending=settings.max_ack_pending,
        filter_subject=settings.subject_in,
    )


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream, or bring an existing one to ``config`` (its subjects and duplicate window)."""
    assert config.name is not None
    try:
        await js.stream_info(config.name)
    except nats.js.errors.NotFoundError:
        await js.add_stream(config)
        log.info("nats.stream_created", extra={"stream": config.name})
        return
    await js.update_stream(config)


async def _setup(nc: Client, settings: NatsSettings) -> tuple[JetStreamContext, JetStreamContext.PullSubscription]:
    js = nc.jetstream(timeout=settings.connect_timeout_s)
    await ensure_stream(js, stream_config(settings))
    await js.add_consumer(settings.stream_in, consumer_config(settings))  # creates it, or updates it to the settings
    subscription = await js.pull_subscribe_bind(durable=settings.durable, stream=settings.stream_in)
    return js, subscription


async def open_nats(settings: NatsSettings, *, clock: Callable[[], datetime] = utc_now) -> NatsLink:
    """Connect (within ``connect_timeout_s``), then make sure the stream and the durable consumer exist.

    Raises:
        NatsUnavailableError: no server answered in time, or JetStream refused the stream or consumer.
    """
    watch = _Watch(clock)
    nc = Client()
    where = settings.shown_url()
    options: dict[str, Any] = {
        "servers": [part.strip() for part in settings.url.split(",")],
        "name": f"being-{settings.name}",
        "connect_timeout": settings.connect_timeout_s,
        "reconnect_time_wait": 0.5,
        "max_reconnect_attempts": -1,  # after the first connection: reconnect for as long as the service runs
        "disconnected_cb": watch.disconnected,
        "reconnected_cb": watch.reconnected,
        "error_cb": watch.error,
    }
    try:
        await asyncio.wait_for(nc.connect(**options), timeout=settings.connect_timeout_s)
    except (TimeoutError, OSError, nats.errors.Error) as exc:
        await nc.close()
        why = watch.last_error or str(exc) or type(exc).__name__
        raise NatsUnavailableError(
            f"nats.url {where}: no NATS server answered within {settings.connect_timeout_s:g} s ({why}); "
            "start nats-server -js there, or set nats.enabled = false"
        ) from exc
    try:
        js, subscription = await _setup(nc, settings)
    except (TimeoutError, nats.errors.Error) as exc:
        await nc.close()
        raise NatsUnavailableError(
            f"nats.url {where}: cannot set up stream {settings.stream_in} and consumer {settings.durable!r}: "
            f"{exc or type(exc).__name__} (is JetStream on? nats-server -js)"
        ) from exc
    log.info(
        "nats.connected",
        extra={"url": where, "stream": settings.stream_in, "subject": settings.subject_in, "durable": settings.durable},
    )
    return NatsLink(nc=nc, js=js, subscription=subscription, settings=settings, watch=watch)
