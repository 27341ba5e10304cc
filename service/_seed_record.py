"""The memory's seed in a recording: recorded at a live start, given back to the being by a replay.

A live start records the :class:`Seed` it gave the being (``run_seeds``, through the writer);
a replay turns each recorded seed back into a :class:`Seed` with :func:`seed_of_record`. The
recall's vectors are recorded without their embeddings: a replay embeds their texts again with
the recall's embedder and normalises them as the vector sink did when it stored them, and checks
the result against the SHA-256 the live start recorded of the vectors it read.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np

from agent import Remember
from agent.context import OwnedVector
from service._assembly import remember_policy
from service._memory_seed import Seed
from service.settings import Settings
from sinks import DuckWriter, RecordedSeed, SeedVector, VectorRow, check_vector, seed_rows, write_rows

__all__ = ["record_seed", "recorded_seed", "seed_of_record", "vectors_sha256"]


def vectors_sha256(embeddings: Iterable[Any]) -> str:
    """The SHA-256 of ``embeddings`` as float32 bytes, in order (what a replay must make again)."""
    digest = hashlib.sha256()
    for embedding in embeddings:
        digest.update(np.ascontiguousarray(embedding, dtype=np.float32).tobytes())
    return digest.hexdigest()


def recorded_seed(seed: Seed, *, run_id: str, time: datetime, embedder: str | None) -> RecordedSeed:
    """``seed`` as the run ``run_id`` records it at ``time`` (its start); ``embedder``: the recall's space."""
    return RecordedSeed(
        run_id=run_id,
        time=time,
        goals=tuple(seed.goals),
        blocks=dict(seed.blocks),
        principles=tuple(seed.principles),
        recent=tuple(seed.recent),
        vectors=tuple(
            SeedVector(
                id=o.vector.id,
                text=o.vector.text,
                type=o.vector.type,
                created_at=o.vector.created_at,
                episode_id=o.vector.episode_id,
                sender=o.sender,
            )
            for o in seed.vectors
        ),
        embedder=embedder,
        vectors_sha256=vectors_sha256(o.vector.embedding for o in seed.vectors),
    )


async def record_seed(writer: DuckWriter, seed: Seed, settings: Settings, *, run_id: str, time: datetime) -> int:
    """Record ``seed`` as run ``run_id``'s (``run_seeds``, through the writer) when ``[recorder]`` is on.

    Returns:
        The parts written (0 with the recorder off).

    Raises:
        SinkError: the write failed.
    """
    if not settings.recorder.enabled:
        return 0
    remember = remember_policy(settings)
    embedder = remember.embedder.name if remember is not None else None
    rows = seed_rows(recorded_seed(seed, run_id=run_id, time=time, embedder=embedder))
    await asyncio.wrap_future(writer.submit("run.seed", lambda con: write_rows(con, rows)))
    return len(rows)


def seed_of_record(recorded: RecordedSeed, remember: Remember | None) -> tuple[Seed, str | None]:
    """The :class:`Seed` a replay gives the being for ``recorded``, and why its vectors differ, if they do.

    Args:
        remember: the replay's embedder (``None``: the replay has no recall, so no vectors).

    Returns:
        The seed, and ``None`` when the vectors made again are the recorded ones (or there is no
        recall to compare), else a sentence saying they are not (another embedder, or another
        version of it): the replay then recalls what its embedder finds, not what the live run did.
    """
    vectors: list[OwnedVector] = []
    if remember is not None:
        for v in recorded.vectors:
            row = VectorRow(
                id=v.id,
                text=v.text,
                embedding=remember.embedding(v.text),
                embedder=remember.embedder.name,
                type=v.type,
                created_at=v.created_at,
                episode_id=v.episode_id,
            )
            stored = check_vector(row, None).vector  # as the vector sink normalised it when it stored it
            if stored is not None:
                vectors.append(
                    OwnedVector(
                        vector=VectorRow(
                            id=v.id,
                            text=v.text,
                            embedding=stored,
                            embedder=row.embedder,
                            type=v.type,
                            created_at=v.created_at,
                            episode_id=v.episode_id,
                        ),
                        sender=v.sender,
                    )
                )
    seed = Seed(
        goals=list(recorded.goals),
        blocks=dict(recorded.blocks),
        principles=list(recorded.principles),
        recent=list(recorded.recent),
        vectors=vectors,
    )
    if remember is None or not recorded.vectors:
        return seed, None
    if recorded.embedder != remember.embedder.name:
        return seed, (
            f"the seed of run {recorded.run_id} holds vectors of {recorded.embedder!r} and this replay recalls with"
            f" {remember.embedder.name!r}: its {len(recorded.vectors)} texts were embedded with the latter"
        )
    made = vectors_sha256(o.vector.embedding for o in vectors)
    if len(vectors) != len(recorded.vectors) or made != recorded.vectors_sha256:
        return seed, (
            f"the seed of run {recorded.run_id}: the {len(recorded.vectors)} vectors embedded again differ from"
            f" those the live run read (SHA-256 {made[:12]}…, recorded {recorded.vectors_sha256[:12]}…):"
            " the embedder changed, so the replay may recall other texts"
        )
    return seed, None
