"""``[ingest]`` and ``[outbox]``: messages sent over HTTP, and the file every answer is appended to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from service.settings._fields import setting

__all__ = ["IngestSettings", "OutboxSettings", "outbox_path"]


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestSettings:
    """``[ingest]``: ``POST /messages`` and ``GET /messages/{id}``."""

    max_text_bytes: int = setting(
        65536, help="a message's text may hold this many UTF-8 bytes; more gets a 422", min=1, max=16 * 1024 * 1024
    )
    max_sender_chars: int = setting(100, help="a sender's name may hold this many characters", min=1, max=10_000)
    max_pending: int = setting(
        256,
        help="messages sent over HTTP and not yet answered and stored, at most; more get a 503 (backpressure)",
        min=1,
        max=1_000_000,
    )
    max_wait_s: float = setting(
        30.0, help="the longest GET /messages/{id}?wait_s= may wait for a reply", min=0.0, max=3600.0
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxSettings:
    """``[outbox]``: every reply and message of the being, one JSON line each, in ``outbox.jsonl``."""

    path: str = setting("", help="the outbox file; empty: outbox.jsonl beside the inbox")
    rotate_bytes: int = setting(
        64 * 1024 * 1024, help="past this size the outbox is renamed <path>.1 (older ones shift up)", min=1024
    )
    keep_rotated: int = setting(5, help="rotated outbox files kept (<path>.1 ... <path>.N); older are deleted", min=1)


def outbox_path(outbox: OutboxSettings, inbox_path: str) -> Path:
    """Where the outbox is: ``outbox.path``, or ``outbox.jsonl`` in the inbox's folder when it is empty."""
    return Path(outbox.path) if outbox.path else Path(inbox_path).parent / "outbox.jsonl"
