"""What a live start reads back before anything new comes in: the vectors, the replies a previous
run left waiting, the being's memory seed (recorded with the run), the messages taken and not done,
and the outbox's unresolved lines.

Each is a writer job (the connection's owner), in that order, after the start's own rows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from agent import PendingReply
from service._assembly import pending_replies
from service._memory_seed import Seed, read_memory_seed
from service._message_parts import open_ingest, open_outbox
from service._seed_record import record_seed
from service._service_jobs import load_vectors
from service.settings import Settings
from sinks import DuckWriter, Outbox, VectorIndex, waiting_replies
from streams import IngestState

__all__ = ["StartState", "read_start_state"]


@dataclass(frozen=True, slots=True)
class StartState:
    """What the previous runs left for this one."""

    waiting: tuple[PendingReply, ...]
    memory_seed: Seed | None
    ingest: IngestState
    outbox: Outbox


async def read_start_state(
    writer: DuckWriter, settings: Settings, index: VectorIndex, *, run_id: str, started: datetime
) -> StartState:
    """Read it all through the writer (on the event loop, before HTTP serves and the pipeline runs)."""
    await asyncio.wrap_future(writer.submit("vectors.load", lambda con: load_vectors(con, settings, index, started)))
    limit = settings.reply.deferred_max_pending
    waiting = await asyncio.wrap_future(writer.submit("replies.waiting", lambda con: waiting_replies(con, limit=limit)))
    seed: Seed | None = None
    if settings.reply.enabled or settings.mind.enabled:  # what the being's memory starts from
        seed = await read_memory_seed(writer, settings)
        await record_seed(writer, seed, settings, run_id=run_id, time=started)
    ingest = await open_ingest(writer)  # before HTTP: what a crash left is emitted first
    outbox = await open_outbox(writer, settings)
    return StartState(waiting=pending_replies(waiting), memory_seed=seed, ingest=ingest, outbox=outbox)
