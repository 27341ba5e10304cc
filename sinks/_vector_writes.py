"""Writing vectors: checked, normalised, inserted through Arrow in one transaction, then indexed.

Embeddings enter DuckDB as an Arrow ``FixedSizeList`` built from one numpy matrix per
embedder (never Python lists). The first vector of an unknown embedder registers its length
in ``embedders``; later vectors of another length are refused. Refused vectors become dead
letters in the same transaction, so a batch is stored whole or not at all.

A vector whose id is stored already is left out by an anti-join against the stored rows with
the batch's ids (a lookup through the ``vectors_id`` index), so a batch costs the same however
many vectors memory holds. The lengths registered are read from the in-memory index when it holds
the batch's embedders (a registered length never changes), and from ``embedders`` otherwise.

What survives a kill: a committed batch is in the table; the in-memory index is rebuilt from
the table on the next start, so it cannot disagree with it for longer than one run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from sinks._clock import utc_now
from sinks._row_batches import insert_skipping_existing
from sinks._rows import DeadLetterRow
from sinks._sql import translated
from sinks._vector_index import VectorIndex
from sinks._vector_rows import VectorRow, check_vector, vector_dead_letter

__all__ = ["VectorWriteResult", "registered_embedders", "write_vectors"]

_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class VectorWriteResult:
    """What one call of :func:`write_vectors` did.

    Attributes:
        stored: vectors inserted.
        existing: vectors whose id was already stored (not written again).
        refused: ``(vector id, reason)`` of each vector turned into a dead letter.
        evicted: the least used vectors deleted after the write to keep memory bounded
            (:func:`sinks.write_vector_batches` with a ``bound``).
        bound_failed: why keeping that bound failed after the write (``None``: it did not fail);
            the batch is stored all the same, and the bound is kept again after the next batch.
    """

    stored: int
    existing: int
    refused: tuple[tuple[str, str], ...]
    evicted: int = 0
    bound_failed: str | None = None


def registered_embedders(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Embedder name → vector length, as registered by the first vector of each."""
    return {str(name): int(dim) for name, dim in con.execute("SELECT name, dim FROM embedders").fetchall()}


def _known_lengths(
    con: duckdb.DuckDBPyConnection, rows: Sequence[VectorRow], index: VectorIndex | None
) -> dict[str, int]:
    """The registered length of every embedder of ``rows`` that has one (the index's when it knows them all)."""
    if index is not None:
        held = index.embedders()
        if all(row.embedder in held for row in rows):
            return held
    return registered_embedders(con)


def _vectors_table(rows: Sequence[VectorRow], matrix: npt.NDArray[np.float32]) -> pa.Table:
    dim = matrix.shape[1]
    embedding = pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1), pa.float32()), dim)
    return pa.table(
        {
            "id": pa.array([r.id for r in rows], pa.string()),
            "episode_id": pa.array([r.episode_id for r in rows], pa.string()),
            "type": pa.array([r.type for r in rows], pa.string()),
            "text": pa.array([r.text for r in rows], pa.string()),
            "embedder": pa.array([r.embedder for r in rows], pa.string()),
            "dim": pa.array([dim] * len(rows), pa.int32()),
            "embedding": embedding,
            "created_at": pa.array([r.created_at for r in rows], _TS),
        }
    )


@translated("writing vectors")
def write_vectors(
    con: duckdb.DuckDBPyConnection,
    rows: Sequence[VectorRow],
    *,
    index: VectorIndex | None = None,
    clock: Callable[[], datetime] = utc_now,
    source: str = "vectors",
) -> VectorWriteResult:
    """Check, normalise and store ``rows`` in one transaction (run it on the writer thread).

    Args:
        index: the in-memory index to keep in step (after the commit).
        clock: the time of dead letters (a new embedder is registered at its first vector's time).
        source: the dead letters' source.
    """
    dims = _known_lengths(con, rows, index)
    new_embedders: dict[str, int] = {}
    good: dict[str, list[tuple[VectorRow, npt.NDArray[np.float32]]]] = {}
    letters: list[DeadLetterRow] = []
    refused: list[tuple[str, str]] = []
    now = clock()
    seen: set[str] = set()
    repeated = 0
    for row in rows:
        if row.id in seen:
            repeated += 1
            continue
        seen.add(row.id)
        expected = dims.get(row.embedder, new_embedders.get(row.embedder))
        verdict = check_vector(row, expected)
        if verdict.vector is None:
            reason = verdict.reason or "vector.invalid"
            letters.append(vector_dead_letter(row, reason, now, source))
            refused.append((row.id, reason))
            continue
        if expected is None:
            new_embedders[row.embedder] = verdict.vector.shape[0]
        good.setdefault(row.embedder, []).append((row, verdict.vector))
    inserted: dict[str, set[str]] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for embedder, pairs in good.items():
            # read by name in the statement (a replacement scan: no view to register and drop)
            _being_vector_batch = _vectors_table([p[0] for p in pairs], np.stack([p[1] for p in pairs]))
            ids = con.execute(
                "INSERT INTO vectors (id, episode_id, type, text, embedder, dim, embedding, created_at) "
                "SELECT id, episode_id, type, text, embedder, dim, embedding::FLOAT[], created_at "
                "FROM _being_vector_batch WHERE id NOT IN "
                "(SELECT id FROM vectors WHERE embedder = ? AND id IN (SELECT id FROM _being_vector_batch))"
                " RETURNING id",
                [embedder],
            ).fetchall()
            inserted[embedder] = {str(r[0]) for r in ids}
        for name, dim in new_embedders.items():
            # registered at its first vector's time, not the writer's clock: a replay registers it the same
            first = min(p[0].created_at for p in good[name])
            con.execute("INSERT INTO embedders VALUES (?, ?, ?)", [name, dim, first])
        if letters:
            insert_skipping_existing(con, letters)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    stored = 0
    for embedder, pairs in good.items():
        done = inserted.get(embedder, set())
        stored += len(done)
        fresh = [(r, v) for r, v in pairs if r.id in done]
        if index is not None and fresh:
            index.add(
                embedder,
                [r.id for r, _ in fresh],
                np.stack([v for _, v in fresh]),
                [r.type for r, _ in fresh],
                [r.created_at for r, _ in fresh],
            )
    existing = sum(len(p) for p in good.values()) - stored + repeated
    return VectorWriteResult(stored=stored, existing=existing, refused=tuple(refused))
