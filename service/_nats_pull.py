"""The durable consumer's pull subscription as the JetStream source's ``Fetcher``: fetch, and withdraw at close.

A fetch leaves a pull request at the server that lives until its ``expires``; nats-py sets that
100 µs short of the fetch's timeout, counted from when the server got the request, so a request
that reached the server late (a busy loop, a full write buffer) outlives the fetch. While it lives,
the server delivers into it: a message given back (``nak``) at a graceful stop could come straight
back into the stopping instance's inbox and stay there, unacknowledged, until ``ack_wait`` let
JetStream deliver it elsewhere. Messages a pull request brought after its fetch returned wait in
the subscription's queue for the next fetch, which never comes at a stop.

:meth:`PullFetcher.withdraw` closes both gaps: it tells the server to stop delivering to the
subscription (``UNSUB``: the server drops a pull request whose inbox has no interest, rather than
deliver into it), keeps the subscription on this side so what is already on its way is still
received, makes a round trip so what the server sent before the ``UNSUB`` has arrived, asks for
the consumer's info (the server then drops the requests without interest at once; one dropped
later, when a message given back is on its way to it, costs that message one count of its
deliveries, so the next instance would not see it as redelivered), and hands back what the
queue holds. nats-py has no public call for this: ``unsubscribe`` drops the queued
messages, and ``drain`` waits for a queue that ``fetch`` never marks done. So this uses the
client's ``UNSUB`` and the subscription's queue directly (tests/service/test_nats_pull.py checks
both against a real server).

:meth:`PullFetcher.instance` reads the stream's creation time, which the source reads around every
fetch (a message without ``Nats-Msg-Id`` takes its id from it and its sequence); when it changed,
the stream was made again, and :meth:`PullFetcher.renew` withdraws the subscription and binds a new
one to the same durable consumer, so nothing a pull request of the old one brings is taken.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from streams import stream_instance

__all__ = ["PullFetcher"]


class PullFetcher:
    """Fetch from a pull subscription; :meth:`withdraw` stops the server's deliveries to it (see the module).

    Args:
        nc: the client the subscription is on.
        js: its JetStream context.
        subscription: the durable consumer's pull subscription.
        stream: the stream the consumer is on.
        durable: the consumer's name (a renewed subscription binds it again).
    """

    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        subscription: JetStreamContext.PullSubscription,
        *,
        stream: str,
        durable: str,
    ) -> None:
        self._nc = nc
        self._js = js
        self._subscription = subscription
        self._stream = stream
        self._durable = durable
        self._withdrawn = False

    @property
    def withdrawn(self) -> bool:
        """Whether :meth:`withdraw` told the server to stop delivering here."""
        return self._withdrawn

    async def fetch(self, batch: int = 1, timeout: float | None = 5, heartbeat: float | None = None) -> Sequence[Any]:
        """Up to ``batch`` messages (``nats.errors.TimeoutError`` when none came within ``timeout``)."""
        return await self._subscription.fetch(batch, timeout=timeout, heartbeat=heartbeat)

    async def withdraw(self, timeout_s: float = 5.0) -> list[Msg]:
        """Stop the server's deliveries here (once); returns the messages delivered and not fetched.

        Called again, it makes another round trip and returns what arrived since (what the server
        had under way as the withdrawal reached it).

        Raises:
            nats.errors.Error: the connection is closed, or the round trip did not come back in time.
        """
        sub = self._subscription._sub  # no public way: see the module's docstring
        first = not self._withdrawn
        if first:
            await self._nc._send_unsubscribe(sub._id)  # interest gone there, the subscription kept here
            self._withdrawn = True
        await self._nc.flush(timeout=max(1, round(timeout_s)))  # the server's deliveries before the UNSUB are in
        if first:  # the server drops the requests without interest now, not at the next message
            with contextlib.suppress(nats.js.errors.NotFoundError):  # the consumer is gone, and its requests with it
                await self._subscription.consumer_info()
        queue: asyncio.Queue[Msg] = sub._pending_queue
        found: list[Msg] = []
        while not queue.empty():
            msg = queue.get_nowait()
            sub._pending_size -= len(msg.data)  # kept as the client's own fetch keeps it
            if not JetStreamContext.is_status_msg(msg):  # a pull request's status (408, 404) is not a message
                found.append(msg)
        return found

    async def instance(self) -> str:
        """The stream's instance now: ``streams.stream_instance`` of its creation time.

        Raises:
            nats.js.errors.NotFoundError: the stream is gone.
            nats.errors.Error: no answer in time, the connection is closed.
            ValueError: the server does not tell the stream's creation time.
        """
        info = await self._js.stream_info(self._stream)
        if info.created is None:
            raise ValueError(f"stream {self._stream}: the server does not tell when it was created")
        return stream_instance(info.created)

    async def renew(self, timeout_s: float = 5.0) -> list[Msg]:
        """Withdraw the subscription and bind a new one to the same consumer; returns what the old one held.

        Raises:
            nats.errors.Error: the connection is closed, or the round trip did not come back in time.
        """
        left = await self.withdraw(timeout_s)
        old = self._subscription
        self._subscription = await self._js.pull_subscribe_bind(durable=self._durable, stream=self._stream)
        self._withdrawn = False
        await old.unsubscribe()  # what it still received is dropped here: JetStream delivers it again
        return left
