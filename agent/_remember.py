"""The remember route: what the user said and what the being answered, kept by meaning.

Each ``user.message``, ``user.urgent`` and ``user.reply`` episode that reaches the sink is also
embedded (with the configured embedder: the offline lexical one by default) and written to
vector memory, where ``being search`` and ``GET /search`` find it. The vector's id derives from
the episode, so a replay or a recovered inbox file never stores it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from reactivex import Observable
from reactivex import operators as ops

from sinks import Embedder, EpisodeRow, Row, VectorRow

__all__ = ["REMEMBERED_TYPES", "Remember", "remember_route"]

REMEMBERED_TYPES = frozenset({"user.message", "user.urgent", "user.reply"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Remember:
    """What the remember route needs: the embedder and the vector sink's batching."""

    embedder: Embedder
    types: frozenset[str] = REMEMBERED_TYPES
    max_rows: int = 256
    max_wait_s: float = 1.0


def _text_of(row: EpisodeRow) -> str:
    for key in ("text", "reply"):
        value = row.data.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return row.description


def remember_route(rows: Observable[Row], remember: Remember) -> Observable[VectorRow]:
    """The rows worth remembering → vector rows (embedded one row at a time; the embedder is fast)."""

    def wanted(row: Row) -> bool:
        return isinstance(row, EpisodeRow) and row.type in remember.types

    def to_vector(row: Row) -> VectorRow | None:
        assert isinstance(row, EpisodeRow)
        text = _text_of(row)
        embedding = remember.embedder.embed([text])[0]
        if not (np.all(np.isfinite(embedding)) and np.any(embedding)):
            # a text with nothing the embedder can hold ("?", an emoji for a lexical embedder):
            # there is nothing to find it by, and it is not bad input, so no vector and no dead letter
            return None
        return VectorRow(
            text=text,
            embedding=embedding,
            embedder=remember.embedder.name,
            type=row.type,
            created_at=row.time,
            episode_id=row.id,
        )

    def made(vector: VectorRow | None) -> bool:
        return vector is not None

    vectors: Observable[VectorRow | None] = rows.pipe(ops.filter(wanted), ops.map(to_vector), ops.filter(made))
    return cast(Observable[VectorRow], vectors)  # the filter removed every None
