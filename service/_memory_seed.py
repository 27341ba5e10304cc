"""What the being knew when it stopped, read back at start: open goals, memory blocks, principles, recent episodes.

One job on the writer thread (the connection's owner) reads them all, after every write queued
before it; the event loop hands them to the being's memory before the pipeline is subscribed, so
the first heavy tick already knows its goals.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from service._mind_assembly import MEMORY_RECENT, Being
from sinks import DuckWriter, EpisodeQuery, EpisodeRow, GoalRow, read_blocks, read_episodes, read_goals, read_principles

__all__ = ["Seed", "read_seed", "seed_being"]

log = logging.getLogger("service")

PRINCIPLES_READ = 1_000


@dataclass(frozen=True, slots=True)
class Seed:
    """What the database holds for the being's memory."""

    goals: list[GoalRow]
    blocks: dict[str, str]
    principles: list[str]
    recent: list[EpisodeRow]


def _episode(row: dict[str, Any]) -> EpisodeRow:
    return EpisodeRow(
        id=row["id"],
        time=datetime.fromisoformat(row["time"]),
        type=row["type"],
        description=row["description"],
        outcome=row["outcome"],
        data=row["data"],
    )


def read_seed(con: duckdb.DuckDBPyConnection, *, recent: int) -> Seed:
    """Read the seed (on the writer thread): open goals, blocks, active principles, the ``recent`` newest episodes.

    Raises:
        SinkError: a read failed.
    """
    episodes = read_episodes(con, EpisodeQuery(limit=recent)) if recent > 0 else []
    return Seed(
        goals=list(read_goals(con, status="open")),
        blocks=dict(read_blocks(con)),
        principles=[p.text for p in read_principles(con, limit=PRINCIPLES_READ)],
        recent=[_episode(row) for row in reversed(episodes)],  # oldest first
    )


async def seed_being(writer: DuckWriter, being: Being, *, recent: int = MEMORY_RECENT) -> Seed:
    """Read the seed through the writer and give it to ``being`` (call on the event loop, before subscribing)."""
    seed = await asyncio.wrap_future(writer.submit("mind.seed", lambda con: read_seed(con, recent=recent)))
    being.seed(goals=seed.goals, blocks=seed.blocks, principles=seed.principles, recent=seed.recent)
    log.info(
        "mind.seeded",
        extra={
            "goals_open": len(seed.goals),
            "blocks": sorted(seed.blocks),
            "principles": len(seed.principles),
            "recent": len(seed.recent),
        },
    )
    return seed
