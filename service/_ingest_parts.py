"""The parts of HTTP ingest the runtime makes: the source's state (with what a crash left) and the desk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from service.http import MessageDesk, MessageLimits, recovered_events
from service.settings import Settings
from sinks import DuckWriter, pending_messages
from streams import IngestState

__all__ = ["message_desk", "message_limits", "open_ingest"]


async def open_ingest(writer: DuckWriter) -> IngestState:
    """The ingest source's state, holding as recovered events the messages a previous run did not finish."""
    pending = await asyncio.wrap_future(writer.submit("ingest.pending", pending_messages))
    return IngestState(recovered_events(pending))


def message_limits(settings: Settings) -> MessageLimits:
    return MessageLimits(
        max_text_bytes=settings.ingest.max_text_bytes, max_sender_chars=settings.ingest.max_sender_chars
    )


def message_desk(
    settings: Settings,
    writer: DuckWriter,
    state: IngestState,
    *,
    clock: Callable[[], datetime],
    stopping: Callable[[], bool],
) -> MessageDesk:
    """The desk behind ``POST /messages`` and ``GET /messages/{id}``, as ``[ingest]`` says."""
    return MessageDesk(
        writer,
        state,
        clock=clock,
        max_pending=settings.ingest.max_pending,
        max_wait_s=settings.ingest.max_wait_s,
        replies_on=settings.reply.enabled,
        stopping=stopping,
    )
