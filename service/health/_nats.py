"""``nats``: whether the NATS connection of ``[nats]`` is up; degraded while the client reconnects.

Not critical: without NATS the service still takes the inbox and HTTP, and what JetStream
delivered and did not see acknowledged is delivered again once the connection is back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from service.health._component import ComponentHealth, Status

__all__ = ["NatsHealth"]


class NatsState(Protocol):
    """What the component reads of the connection (``service._nats_connection.NatsLink``)."""

    @property
    def connected(self) -> bool: ...
    @property
    def lost_at(self) -> datetime | None: ...
    @property
    def reconnects(self) -> int: ...
    @property
    def consumer_lost_at(self) -> datetime | None: ...


class NatsHealth:
    """The ``nats`` component of /readyz.

    Args:
        link: the connection.
        where: how the server is named in the detail (its URL without a password).
    """

    __slots__ = ("_link", "_where")

    def __init__(self, link: NatsState, *, where: str) -> None:
        self._link = link
        self._where = where

    def health(self) -> ComponentHealth:
        link = self._link
        gone = link.consumer_lost_at
        if link.connected and gone is not None:
            return ComponentHealth(
                Status.DEGRADED,
                f"connected to {self._where}, but the stream or its consumer was gone at {gone:%Y-%m-%dT%H:%M:%SZ}; "
                "making them again (no message is taken meanwhile)",
            )
        if link.connected:
            return ComponentHealth(Status.OK, f"connected to {self._where} (reconnected {link.reconnects} times)")
        lost = link.lost_at
        since = f" since {lost:%Y-%m-%dT%H:%M:%SZ}" if lost is not None else ""
        return ComponentHealth(
            Status.DEGRADED, f"not connected to {self._where}{since}; reconnecting (no message is taken meanwhile)"
        )
