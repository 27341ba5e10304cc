"""Which instance of the stream the JetStream source's messages are of, read around every fetch.

A message without ``Nats-Msg-Id`` takes its id from its stream sequence, and a stream deleted and
made again (an operator's reset, a server that lost its store) numbers its messages from 1 again;
the id also names the stream's instance (its creation time, ``Fetcher.instance``) so that a new
message never takes the id of an old one answered already. The pull subscription outlives such a
reset (its fetches only time out while the stream is gone, then go on with the new one), so no
event of the client tells it: the instance is read before the first fetch and again after every
fetch that brought messages. A batch is taken when the read after its fetch equals the one
before: then no reset came between the pull requests that brought it and the read.

When they differ, the batch may be of either instance. The source subscribes again
(``Fetcher.renew``; a pull request of the old subscription can no longer deliver) and only then
gives the batch back, so it comes again, under the new instance, into a subscription whose every
pull request came after the read. While the read after a fetch fails (the stream is gone until
it is made again, JetStream does not answer), the batch waits, told ``in_progress``, and the
read is tried again: a failure that is not a reset costs no delivery.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import nats.errors
import nats.js.errors

from streams._jetstream_events import MSG_ID_HEADER
from streams._jetstream_types import Delivery, Fetcher, JetStreamListener, JetStreamPolicy

__all__ = ["PASSING", "TRANSIENT", "StreamInstance"]

log = logging.getLogger("streams")

TRANSIENT = (
    nats.errors.ConnectionReconnectingError,
    nats.errors.NoRespondersError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.js.errors.ServiceUnavailableError,
)
"""Failures of a fetch that pass: the client reconnects, JetStream comes back."""

PASSING = (*TRANSIENT, TimeoutError, nats.js.errors.NotFoundError)
"""Failures of a read of the instance that pass too: no answer now, or the stream gone until it is made again."""


class StreamInstance:
    """The stream instance the fetched messages are of, and the batch fetched around a reset of the stream.

    Args:
        fetcher: the pull subscription (its ``instance`` and ``renew``).
        policy: the source's (``stream``, ``fetch_wait_s``: the pause after a failure).
        listener: told of every failure to read the instance or to subscribe again (``"instance"``).
        give_back: naks deliveries (the source's, which counts them).
        keep_alive: tells a delivery ``in_progress`` (a batch waiting for the read is not held yet).
        stopped: whether the source stopped (a batch waiting for the read is left for ``close``).
        fail: stops the source with a failure that is not passing (what it was doing, the error).
    """

    def __init__(
        self,
        fetcher: Fetcher,
        policy: JetStreamPolicy,
        listener: JetStreamListener,
        *,
        give_back: Callable[[Sequence[Delivery]], int],
        keep_alive: Callable[[Delivery], None],
        stopped: Callable[[], bool],
        fail: Callable[[str, BaseException], None],
    ) -> None:
        self._fetcher = fetcher
        self._policy = policy
        self._listener = listener
        self._give_back = give_back
        self._keep_alive = keep_alive
        self._stopped = stopped
        self._fail = fail
        self.current: str | None = None
        """The instance of the messages taken now (``None`` until first read)."""
        self._renew = False
        self._unsure: list[Delivery] = []

    def take_unsure(self) -> list[Delivery]:
        """The batch fetched around a reset and not given back yet (``close`` gives it back)."""
        unsure, self._unsure = self._unsure, []
        return unsure

    async def ready(self) -> bool:
        """Before a fetch: subscribed again after a reset (then the batch of the reset given back), the instance read.

        False after a passing failure (reported, and paused) or one that is not (``fail``).
        """
        try:
            if self._renew:
                left = await self._fetcher.renew()  # first: a message given back cannot come into the old one
                self._renew = False
                self._give_back([*self.take_unsure(), *left])
            if self.current is None:
                self.current = await self._fetcher.instance()
        except PASSING as exc:
            self._listener.failed("instance", exc)
            await asyncio.sleep(self._policy.fetch_wait_s)
            return False
        except Exception as exc:  # noqa: BLE001 - the source stops with it, loud
            self._fail("reading the instance of", exc)
            return False
        return True

    async def confirmed(self, deliveries: Sequence[Delivery]) -> bool:
        """Whether a batch is of the instance read before its fetch; it is read again (until it answers).

        When it differs, the batch waits to be given back once subscribed again (:meth:`ready`).
        False too when the source stopped meanwhile, or after a failure that is not passing
        (``fail``); ``close`` gives the batch back then. A batch whose every message has its
        ``Nats-Msg-Id`` is taken without the read: none of its ids names the instance (a later
        batch without them still compares with the instance read before it).
        """
        if all((delivery.headers or {}).get(MSG_ID_HEADER) for delivery in deliveries):
            return True
        while True:
            try:
                now = await self._fetcher.instance()
                break
            except PASSING as exc:
                self._listener.failed("instance", exc)
            except Exception as exc:  # noqa: BLE001 - the source stops with it, loud
                self._unsure.extend(deliveries)
                self._fail("reading the instance of", exc)
                return False
            if self._stopped():
                self._unsure.extend(deliveries)
                return False
            for delivery in deliveries:
                self._keep_alive(delivery)
            await asyncio.sleep(self._policy.fetch_wait_s)
        if now == self.current:
            return True
        log.warning(
            "jetstream.stream_made_again",
            extra={"stream": self._policy.stream, "was": self.current, "now": now, "given_back": len(deliveries)},
        )
        self.current = now
        self._renew = True
        self._unsure.extend(deliveries)
        return False
