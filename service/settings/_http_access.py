"""``[http]``'s access sections: ``[http.limits]`` (per-client allowances) and ``[http.events]`` (the live stream)."""

from __future__ import annotations

from dataclasses import dataclass

from service.settings._fields import setting

__all__ = ["ClientLimitSettings", "EventStreamSettings", "check_token_env"]


def check_token_env(name: str) -> None:
    """Refuse a ``http.token_env`` that cannot hold the token apart from the settings.

    Raises:
        ValueError: the name is empty, not a plain variable name, or a ``BEING_*`` name (those
            are settings: a token there would be a setting in the clear, and the loader refuses
            unknown ones).
    """
    if not name or not all(c.isalnum() or c == "_" for c in name) or name[0].isdigit():
        raise ValueError(
            f"http.token_env: expected an environment variable name (e.g. DIGITAL_BEING_TOKEN), got {name!r}"
        )
    if name.upper().startswith("BEING_"):
        raise ValueError(
            f"http.token_env: BEING_* variables are settings; name another variable "
            f"(e.g. DIGITAL_BEING_TOKEN), got {name!r}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientLimitSettings:
    """``[http.limits]``: how much each client may ask, and how many live streams may be open."""

    client: str = setting(
        "address",
        help="what a client is: its peer address, or every holder of the token together (behind a proxy)",
        choices=("address", "token"),
    )
    window_s: float = setting(60.0, help="the sliding window the allowances count over", min=0.0, min_exclusive=True)
    reads_per_window: int = setting(
        600, help="requests per client and window to every route but POST /messages; more get 429", min=1
    )
    ingest_per_window: int = setting(60, help="POST /messages per client and window; more get 429", min=1)
    max_clients: int = setting(
        10_000, help="clients remembered at most (the one idle longest is forgotten)", min=1, max=10_000_000
    )
    max_event_clients: int = setting(16, help="GET /events streams open at once; one more gets 429", min=1, max=10_000)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventStreamSettings:
    """``[http.events]``: ``GET /events``, the episodes as they are stored."""

    ring_size: int = setting(
        1000, help="recent episodes kept for Last-Event-ID resume (memory bound)", min=1, max=1_000_000
    )
    client_max_lag: int = setting(
        256, help="a client this many episodes behind the newest is disconnected (at most ring_size)", min=1
    )
    heartbeat_s: float = setting(
        15.0, help="a comment line is sent after this long without an event", min=0.0, min_exclusive=True, max=3600.0
    )
    write_timeout_s: float = setting(
        30.0,
        help="a client whose connection takes no bytes for this long is disconnected",
        min=0.0,
        min_exclusive=True,
        max=3600.0,
    )
    retry_ms: int = setting(3000, help="the reconnection delay the stream asks of browsers", min=0, max=3_600_000)

    def __post_init__(self) -> None:
        if self.client_max_lag > self.ring_size:
            raise ValueError(
                f"http.events.client_max_lag ({self.client_max_lag}) must not exceed "
                f"http.events.ring_size ({self.ring_size}): a client is dropped before it misses an episode"
            )
