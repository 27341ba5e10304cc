"""``[nats]``: messages in (and out) over NATS JetStream, shared by every instance of one being."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.settings._errors import without_credentials
from service.settings._fields import setting

__all__ = ["NatsSettings"]

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_DURABLE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SCHEMES = ("nats", "tls")


def _url_problem(url: str) -> str | None:
    """Why ``url`` (one server, or several separated by commas) is not a NATS URL; ``None``: it is."""
    for part in url.split(","):
        entry = part.strip()
        try:
            parts = urlsplit(entry)
            port = parts.port
        except ValueError as exc:
            return f"{entry!r} is not a URL ({exc})"
        if parts.scheme not in _SCHEMES or not parts.hostname:
            return f"{entry!r}: expected nats://host:port or tls://host:port"
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            return f"{entry!r}: expected no path, query or fragment"
        if port == 0:
            return f"{entry!r}: expected a port from 1 to 65535"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class NatsSettings:
    """``[nats]``: a durable pull consumer on ``being.<name>.in`` and, when the out sink runs, ``being.<name>.out``."""

    enabled: bool = setting(False, help="take messages from NATS JetStream (off: no connection is made)")
    url: str = setting("nats://127.0.0.1:4222", help="the NATS server (several: separated by commas)")
    name: str = setting(
        "being", help="subjects being.<name>.in / .out, streams BEING_<NAME>_IN / _OUT (a-z, 0-9, _ and -)"
    )
    durable: str = setting("being", help="the durable pull consumer every instance of this being shares")
    ack_wait_s: float = setting(
        30.0, help="a message not acknowledged (or told in progress) this long is delivered again", min=1.0, max=86400.0
    )
    max_deliver: int = setting(
        5, help="the delivery that reaches this and is still not answered becomes a dead letter", min=2, max=10_000
    )
    max_ack_pending: int = setting(
        64, help="messages delivered and not acknowledged, across all instances (the backpressure)", min=1, max=100_000
    )
    fetch_batch: int = setting(16, help="messages asked for at once (never more than the room left)", min=1, max=1024)
    duplicate_window_s: float = setting(
        120.0, help="a message published again with the same Nats-Msg-Id this soon is dropped", min=1.0, max=604800.0
    )
    connect_timeout_s: float = setting(5.0, help="the first connection may take this long", min=0.1, max=300.0)
    consumer_check_interval_s: float = setting(
        5.0,
        help="how often to look that the stream and the consumer still exist (made again if not)",
        min=0.1,
        max=3600.0,
    )
    publish_replies: bool = setting(True, help="publish replies and proactive messages to being.<name>.out")
    publish_episodes: bool = setting(False, help="also publish every other episode to being.<name>.out")

    def __post_init__(self) -> None:
        problem = _url_problem(self.url)
        if problem is not None:
            raise ValueError(f"nats.url: {problem}")
        if _NAME.fullmatch(self.name) is None:
            raise ValueError(
                f"nats.name: expected 1 to 64 of a-z, 0-9, _ and - (starting with a letter or digit), got {self.name!r}"
            )
        if _DURABLE.fullmatch(self.durable) is None:
            raise ValueError(f"nats.durable: expected 1 to 64 of A-Z, a-z, 0-9, _ and -, got {self.durable!r}")

    @property
    def subject_in(self) -> str:
        """The subject messages to the being are published on."""
        return f"being.{self.name}.in"

    @property
    def subject_out(self) -> str:
        """The subject what the being says is published on."""
        return f"being.{self.name}.out"

    @property
    def stream_in(self) -> str:
        """The JetStream stream that keeps the messages in."""
        return f"BEING_{self._stream_part}_IN"

    @property
    def stream_out(self) -> str:
        """The JetStream stream that keeps what the being says."""
        return f"BEING_{self._stream_part}_OUT"

    @property
    def _stream_part(self) -> str:
        return self.name.upper().replace("-", "_")

    def shown_url(self) -> str:
        """The URL as it may be shown: without its user part (``user:password@``, or a token as ``token@``)."""
        return without_credentials(self.url)
