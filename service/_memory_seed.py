"""What the being knew when it stopped, read back at start: open goals, memory blocks, principles,
recent episodes and conversations, and the vectors its recall searches.

One job on the writer thread (the connection's owner) reads them all, after every write queued
before it; the event loop hands them to the being's memory before the pipeline is subscribed, so
the first heavy tick already knows its goals and the first reply its conversations.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import duckdb

from agent.context import OwnedVector, read_memory_episodes, read_recall_seed
from service._assembly import remember_policy
from service._mind_assembly import MEMORY_RECENT, Being
from service.replay._compare import RUNTIME_TYPES
from service.settings import Settings
from sinks import DuckWriter, EpisodeRow, GoalRow, read_blocks, read_goals, read_principles

__all__ = ["RECALL_SEED", "Seed", "give_seed", "read_memory_seed", "read_seed", "seed_being"]

log = logging.getLogger("service")

PRINCIPLES_READ = 1_000
CONVERSATION_READ = 1_000
RECALL_SEED = 10_000
"""Vectors read back for recall at start (the recall holds as many)."""


@dataclass(frozen=True, slots=True)
class Seed:
    """What the database holds for the being's memory."""

    goals: list[GoalRow]
    blocks: dict[str, str]
    principles: list[str]
    recent: list[EpisodeRow]
    vectors: list[OwnedVector]


def read_seed(con: duckdb.DuckDBPyConnection, *, recent: int, embedder: str | None) -> Seed:
    """Read the seed (on the writer thread): open goals, blocks, active principles, episodes, recall's vectors.

    Args:
        recent: the newest episodes read (and, apart, the newest conversations).
        embedder: the recall's embedding space (``None``: no vectors are read).

    Raises:
        SinkError: a read failed.
    """
    return Seed(
        goals=list(read_goals(con, status="open")),
        blocks=dict(read_blocks(con)),
        principles=[p.text for p in read_principles(con, limit=PRINCIPLES_READ)],
        recent=[
            row
            for row in read_memory_episodes(con, recent=recent, conversation=CONVERSATION_READ)
            if row.type not in RUNTIME_TYPES  # starts, stops, upkeep: a replay has none of them
        ],
        vectors=read_recall_seed(con, embedder=embedder, limit=RECALL_SEED) if embedder is not None else [],
    )


async def read_memory_seed(writer: DuckWriter, settings: Settings, *, recent: int = MEMORY_RECENT) -> Seed:
    """Read the seed through the writer (call on the event loop at start; the recall's space from the settings)."""
    remember = remember_policy(settings)
    embedder = remember.embedder.name if remember is not None else None
    return await asyncio.wrap_future(
        writer.submit("mind.seed", lambda con: read_seed(con, recent=recent, embedder=embedder))
    )


def give_seed(being: Being, seed: Seed) -> None:
    """Give ``being``'s memory and recall the seed (on the event loop, before the pipeline is subscribed)."""
    if being.recall is not None:
        being.recall.seed(seed.vectors)
    being.memory.seed(goals=seed.goals, blocks=seed.blocks, principles=seed.principles, recent=seed.recent)
    log.info(
        "mind.seeded",
        extra={
            "goals_open": len(seed.goals),
            "blocks": sorted(seed.blocks),
            "principles": len(seed.principles),
            "episodes": len(seed.recent),
            "vectors": len(seed.vectors),
        },
    )


async def seed_being(writer: DuckWriter, being: Being, *, recent: int = MEMORY_RECENT) -> Seed:
    """Read the seed through the writer and give it to ``being`` (call on the event loop, before subscribing)."""
    embedder = being.recall.embedder if being.recall is not None else None
    seed = await asyncio.wrap_future(
        writer.submit("mind.seed", lambda con: read_seed(con, recent=recent, embedder=embedder))
    )
    give_seed(being, seed)
    return seed
