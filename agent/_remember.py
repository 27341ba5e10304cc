"""The remember route: what the user said and what the being answered, kept by meaning.

Each ``user.message``, ``user.urgent`` and ``user.reply`` episode that reaches the sink is also
embedded (with the configured embedder: the offline lexical one by default) and written to
vector memory, where ``being search`` and ``GET /search`` find it. The vector's id derives from
the episode, so a replay or a recovered inbox file never stores it twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import duckdb
import numpy as np
import numpy.typing as npt
from reactivex import Observable
from reactivex import operators as ops

from agent._recent_embeddings import RecentEmbeddings
from sinks import (
    CleanupPolicy,
    EpisodeRow,
    Row,
    VectorIndex,
    Vectorizer,
    VectorRow,
    episodes_missing_vectors,
    write_vectors,
)

__all__ = ["REMEMBERED_TYPES", "Remember", "remember_missing", "remember_route", "vector_of"]

REMEMBERED_TYPES = frozenset({"user.message", "user.urgent", "user.reply"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Remember:
    """What the remember route needs: the embedder, the vector sink's batching and memory's bound.

    ``bound``: the count kept after each batch written (see :func:`sinks.bound_vectors`);
    ``None``: only the upkeep's cleanup bounds it.

    The latest texts' vectors are kept (``agent._recent_embeddings``), so a text the recall and
    the remember route both embed is embedded once.
    """

    embedder: Vectorizer
    types: frozenset[str] = REMEMBERED_TYPES
    max_rows: int = 256
    max_wait_s: float = 1.0
    bound: CleanupPolicy | None = None
    recent: RecentEmbeddings = field(init=False, repr=False, compare=False)
    made: dict[tuple[str, str, datetime, str], VectorRow | None] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    """The vector rows of the latest episodes: the being's recall and the remember route make each once."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "recent", RecentEmbeddings(self.embedder))

    def embedding(self, text: str) -> npt.NDArray[np.float32]:
        """The embedder's vector of ``text`` (read-only; the same array for the same recent text)."""
        return self.recent.vector(text)


def _text_of(row: EpisodeRow) -> str:
    for key in ("text", "reply"):
        value = row.data.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return row.description


_ROWS_HELD = 256


def vector_of(row: EpisodeRow, remember: Remember) -> VectorRow | None:
    """The vector that remembers ``row``, or ``None`` for a text with nothing the embedder can hold."""
    text = _text_of(row)
    key = (row.id, row.type, row.time, text)
    made = remember.made
    if key in made:
        return made[key]
    vector = _vector_of(row, text, remember)
    made[key] = vector
    if len(made) > _ROWS_HELD:
        del made[next(iter(made))]
    return vector


def _vector_of(row: EpisodeRow, text: str, remember: Remember) -> VectorRow | None:
    embedding = remember.embedding(text)
    if not (np.isfinite(embedding).all() and embedding.any()):
        # "?", an emoji for a lexical embedder: there is nothing to find it by, and it is not
        # bad input, so no vector and no dead letter
        return None
    return VectorRow(
        text=text,
        embedding=embedding,
        embedder=remember.embedder.name,
        type=row.type,
        created_at=row.time,
        episode_id=row.id,
    )


def remember_missing(
    con: duckdb.DuckDBPyConnection, remember: Remember, *, index: VectorIndex | None, now: datetime
) -> int:
    """Embed what a crash left without a vector (run it on the writer thread at start); returns how many."""
    episodes = episodes_missing_vectors(con, embedder=remember.embedder.name, types=remember.types)
    vectors = [v for v in (vector_of(e, remember) for e in episodes) if v is not None]
    if not vectors:
        return 0
    return write_vectors(con, vectors, index=index, clock=lambda: now, source="vectors").stored


def remember_route(rows: Observable[Row], remember: Remember) -> Observable[VectorRow]:
    """The rows worth remembering → vector rows (embedded one row at a time; the embedder is fast)."""

    def wanted(row: Row) -> bool:
        return isinstance(row, EpisodeRow) and row.type in remember.types

    def to_vector(row: Row) -> VectorRow | None:
        assert isinstance(row, EpisodeRow)
        return vector_of(row, remember)

    def made(vector: VectorRow | None) -> bool:
        return vector is not None

    vectors: Observable[VectorRow | None] = rows.pipe(ops.filter(wanted), ops.map(to_vector), ops.filter(made))
    return cast(Observable[VectorRow], vectors)  # the filter removed every None
