"""What the JetStream source is built from: the seams (a delivered message, the pull subscription, the
listener) and the policy of how it takes messages.

The source itself (the messages held, the fetching) is ``streams/_jetstream.py``, which re-exports
every name here, as ``streams`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from streams._message_body import MessageLimits

__all__ = [
    "JETSTREAM_RECENT_IDS",
    "NULL_JETSTREAM_LISTENER",
    "Delivery",
    "Fetcher",
    "JetStreamListener",
    "JetStreamPolicy",
]

JETSTREAM_RECENT_IDS = 4096
"""``Nats-Msg-Id`` ids acknowledged lately that the source keeps (and is seeded with at a start): a copy
published again after the stream's duplicate window is emitted ``recovered``."""


class _Sequence(Protocol):
    @property
    def stream(self) -> int: ...


class _Metadata(Protocol):
    @property
    def sequence(self) -> _Sequence: ...
    @property
    def num_delivered(self) -> int: ...
    @property
    def stream(self) -> str: ...


class Delivery(Protocol):
    """What the source uses of a delivered JetStream message (``nats.aio.msg.Msg``)."""

    @property
    def data(self) -> bytes: ...
    @property
    def headers(self) -> dict[str, str] | None: ...
    @property
    def metadata(self) -> _Metadata: ...
    async def ack(self) -> None: ...
    async def nak(self, delay: float | None = None) -> None: ...
    async def term(self) -> None: ...
    async def in_progress(self) -> None: ...


class Fetcher(Protocol):
    """A pull subscription: ``fetch`` up to ``batch`` messages, or ``nats.errors.TimeoutError`` after ``timeout``."""

    async def fetch(self, batch: int = 1, timeout: float | None = 5, heartbeat: float | None = None) -> Sequence[Any]:
        """Up to ``batch`` delivered messages (``Delivery``)."""
        ...

    async def withdraw(self) -> Sequence[Any]:
        """Stop the server's deliveries to the subscription; the messages delivered and not fetched (``Delivery``).

        Called again, it returns what arrived since.
        """
        ...

    async def instance(self) -> str:
        """The stream's instance now: ``stream_instance`` of its creation time (in the ids without ``Nats-Msg-Id``).

        Raises ``nats.errors.Error`` (``nats.js.errors.NotFoundError``: the stream is gone) or
        ``TimeoutError`` when the server cannot say now.
        """
        ...

    async def renew(self) -> Sequence[Any]:
        """Subscribe again to the same consumer: nothing more is delivered into the old subscription.

        Returns the messages the old subscription received and nobody fetched (``Delivery``); what a
        pull request of the old one still brings is not received here (JetStream delivers it again
        after ``ack_wait``).
        """
        ...


class JetStreamListener(Protocol):
    """Told what the source does with messages (the runtime turns it into metrics)."""

    def received(self, redelivered: bool) -> None: ...
    def settled(self, how: str, count: int) -> None: ...
    def failed(self, what: str, error: BaseException) -> None: ...


class _NullListener:
    def received(self, redelivered: bool) -> None:
        return None

    def settled(self, how: str, count: int) -> None:
        return None

    def failed(self, what: str, error: BaseException) -> None:
        return None


NULL_JETSTREAM_LISTENER: JetStreamListener = _NullListener()
"""A listener that ignores every report."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JetStreamPolicy:
    """How the source takes messages.

    Args:
        stream: the stream's name (with its instance, part of the ids of messages without ``Nats-Msg-Id``).
        max_in_flight: messages held (delivered, not yet acknowledged) at most.
        fetch_batch: messages asked for at once, at most.
        max_deliver: the consumer's ``max_deliver``: the delivery that reaches it is the last.
        heartbeat_s: held messages are told ``in_progress`` this often (a third of ``ack_wait``).
        fetch_wait_s: a fetch waits this long for messages (and a shutdown for the fetch).
        limits: the message rules' sizes.
        name: shown in logs and errors.
    """

    stream: str
    max_in_flight: int = 64
    fetch_batch: int = 16
    max_deliver: int = 5
    heartbeat_s: float = 10.0
    fetch_wait_s: float = 1.0
    limits: MessageLimits = field(default_factory=MessageLimits)
    name: str = "jetstream"

    def __post_init__(self) -> None:
        if not self.stream:
            raise ValueError("JetStreamPolicy.stream: expected a stream name, got ''")
        for name, low in (("max_in_flight", 1), ("fetch_batch", 1), ("max_deliver", 2)):
            if getattr(self, name) < low:
                raise ValueError(f"JetStreamPolicy.{name}: expected >= {low}, got {getattr(self, name)}")
        for name in ("heartbeat_s", "fetch_wait_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"JetStreamPolicy.{name}: expected > 0, got {getattr(self, name)}")
