"""What the live pipeline asks of the writer thread, as the event loop's awaitables and observables.

Each is a job on the writer thread (the one owner of the DuckDB connection), run after every job
queued before it, and delivered back on the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from reactivex import Observable

from sinks import DuckWriter, SinkError, episode_stored
from streams import InboxState, from_coroutine

__all__ = ["durable_after_checkpoint", "release_claims", "stored_lookup"]

log = logging.getLogger("service")


def stored_lookup(writer: DuckWriter) -> Callable[[str], Coroutine[Any, Any, bool]]:
    """Whether an episode id is stored: a committed reply is seen, as the writer runs jobs in order."""

    async def stored(episode_id: str) -> bool:
        return await asyncio.wrap_future(writer.submit("replies.stored", lambda con: episode_stored(con, episode_id)))

    return stored


def durable_after_checkpoint(writer: DuckWriter) -> Callable[[], Observable[None]]:
    """An observable that completes once a CHECKPOINT has put every committed row in the main file.

    The inbox lets a finished claim go only after it: rows that are only in the WAL could still be
    lost to a torn WAL, and the claim is what would bring them back.
    """

    async def checkpointed() -> None:
        await asyncio.wrap_future(writer.checkpoint())

    def make_durable() -> Observable[None]:
        return from_coroutine(checkpointed)

    return make_durable


async def release_claims(writer: DuckWriter, inbox: InboxState, *, timeout_s: float = 30.0) -> list[Path]:
    """At shutdown: let go the inbox files whose messages are all stored, once a checkpoint made them durable."""
    try:
        await asyncio.wait_for(asyncio.wrap_future(writer.checkpoint()), timeout=timeout_s)
    except (TimeoutError, SinkError) as exc:
        log.error("inbox.release_skipped", extra={"error": str(exc) or type(exc).__name__})
        return []
    return inbox.release_finished()
