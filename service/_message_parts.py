"""The parts of HTTP ingest and of the outbox the runtime makes: the ingest source's state (with what a crash
left), the desk behind ``/messages``, and the outbox (with what a crash left appended).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime

from service.http import MessageDesk, MessageLimits, recovered_events
from service.settings import Settings, outbox_path
from sinks import DuckWriter, Outbox, OutboxPolicy, pending_messages
from streams import IngestState

__all__ = ["message_desk", "message_limits", "open_ingest", "open_outbox"]


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
    on_headers: Callable[[str, Mapping[str, str]], None] = lambda _id, _headers: None,
) -> MessageDesk:
    """The desk behind ``POST /messages`` and ``GET /messages/{id}``, as ``[ingest]`` says.

    ``on_headers`` is told each new message's id and its trace headers (``service.tracing``).
    """
    return MessageDesk(
        writer,
        state,
        clock=clock,
        max_pending=settings.ingest.max_pending,
        max_wait_s=settings.ingest.max_wait_s,
        replies_on=settings.reply.enabled,
        stopping=stopping,
        on_headers=on_headers,
    )


async def open_outbox(writer: DuckWriter, settings: Settings) -> Outbox:
    """The outbox of ``[outbox]``, once a writer job has cut a torn last line and appended what a kill left out."""
    outbox = settings.outbox
    policy = OutboxPolicy(
        path=outbox_path(outbox, settings.inbox.path),
        rotate_bytes=outbox.rotate_bytes,
        keep_rotated=outbox.keep_rotated,
    )
    box = Outbox(policy)
    await asyncio.wrap_future(writer.submit("outbox.start", box.start))
    return box
