"""A vector to remember, and the checks it must pass before it is stored.

A stored vector has the length registered for its embedder, only finite values and a
non-zero norm, and is stored L2-normalised (so cosine similarity is a dot product). A vector
that fails is not stored: it becomes a dead letter whose reason names the check.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from sinks._rows import DeadLetterRow
from streams import stable_id

__all__ = ["VectorRow", "VectorVerdict", "check_vector", "vector_dead_letter"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class VectorRow:
    """A text and its embedding, to be stored in ``vectors``.

    Args:
        embedding: the vector, any float dtype; it is checked and normalised on write.
        id: stable id; by default derived from the embedder, the episode id and the text, so the
            same text of the same episode is stored once per embedder.
        episode_id: the episode the text belongs to, if any.
        type: the episode type (``monologue``, ``user.message``...), used as a search filter.
        embedder: the embedding space (see :class:`sinks.Vectorizer`).
        created_at: when it was made, with a zone.
    """

    text: str
    embedding: npt.NDArray[Any]
    embedder: str
    type: str
    created_at: datetime
    episode_id: str | None = None
    id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.embedder:
            raise ValueError("VectorRow.embedder: expected a non-empty name, got ''")
        if self.created_at.tzinfo is None:
            raise ValueError(f"VectorRow.created_at: expected a time with a zone, got {self.created_at.isoformat()}")
        if not self.id:
            object.__setattr__(self, "id", stable_id("vector", self.embedder, self.episode_id or "", self.text))


@dataclass(frozen=True, slots=True)
class VectorVerdict:
    """The outcome of :func:`check_vector`: a normalised vector, or the reason it was refused."""

    vector: npt.NDArray[np.float32] | None
    reason: str | None


def check_vector(row: VectorRow, expected_dim: int | None) -> VectorVerdict:
    """Check ``row`` against its embedder's length (``None``: not registered yet) and normalise it."""
    try:
        values = np.asarray(row.embedding, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        return VectorVerdict(None, f"vector.not_numeric: {exc}")
    if values.ndim != 1 or values.size == 0:
        return VectorVerdict(None, f"vector.shape: expected one non-empty row, got shape {values.shape}")
    if expected_dim is not None and values.size != expected_dim:
        return VectorVerdict(
            None, f"vector.dimension: embedder {row.embedder!r} has {expected_dim} dimensions, got {values.size}"
        )
    finite = np.isfinite(values)
    if not finite.all():
        bad = int(values.size - np.count_nonzero(finite))
        return VectorVerdict(None, f"vector.not_finite: {bad} of {values.size} values are NaN or infinite")
    norm = float(np.linalg.norm(values))
    if norm == 0.0 or not math.isfinite(norm):
        return VectorVerdict(None, "vector.zero_norm: every value is 0, so it has no direction")
    normalised = (values / norm).astype(np.float32)
    return VectorVerdict(normalised, None)


def _json_float(x: float) -> float | str:
    return x if math.isfinite(x) else repr(x)


def vector_dead_letter(row: VectorRow, reason: str, time: datetime, source: str = "vectors") -> DeadLetterRow:
    """The dead letter of a refused vector: the row whole, as JSON, with the reason."""
    try:
        flat = np.asarray(row.embedding, dtype=np.float64).reshape(-1)
        embedding: list[float | str] | str = [_json_float(float(x)) for x in flat]
    except (TypeError, ValueError):
        embedding = repr(row.embedding)
    raw = {
        "id": row.id,
        "episode_id": row.episode_id,
        "type": row.type,
        "text": row.text,
        "embedder": row.embedder,
        "created_at": row.created_at.isoformat(),
        "embedding": embedding,
    }
    return DeadLetterRow(
        id=stable_id(row.id, "dead_letter", reason),
        time=time,
        source=source,
        reason=reason,
        raw=json.dumps(raw, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        may_exist=True,
    )
