"""Stable ids: the same parts always give the same id, so replays reproduce their ids."""

from __future__ import annotations

import hashlib

__all__ = ["stable_id"]


def stable_id(*parts: str) -> str:
    """A 32-hex-digit id derived from ``parts`` (BLAKE2b-128 of the parts joined by U+001F)."""
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=16).hexdigest()
