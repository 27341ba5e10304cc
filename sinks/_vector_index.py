"""The search side of vector memory: one in-memory float32 matrix per embedder, kept in step with ``vectors``.

Why a matrix and not ``array_cosine_similarity`` in SQL: measured on 100,000 × 768 vectors
(``python -m benchmarks memory``), a matrix-vector product over L2-normalised rows plus an
``argpartition`` is several times faster than DuckDB's brute-force scan, and it stays within a
small factor of the raw numpy call because it *is* that call. The table remains the truth: the
index is loaded from it at start (:func:`load_index`) and changed only by the writer thread
after a commit (writes and cleanup), so a search never sees a vector the table does not hold
for longer than one job.

Each embedder has its own matrix, so a query can only ever be scored against vectors of its
own embedding space. Rows are removed by moving the last row into the hole (O(dim)).

Thread safety: one lock guards every matrix; the matrix product releases the GIL but not the
lock, so a search and a write never interleave.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from sinks._sql import translated
from sinks._vector_access import AccessLog

__all__ = ["SEARCH_MAX_K", "SearchHit", "VectorIndex", "VectorQuery", "load_index"]

SEARCH_MAX_K = 1000
_GROWTH = 1.25
_MIN_CAPACITY = 256
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RELEASE_LIMIT = "32MB"


_ONE_US = timedelta(microseconds=1)


def _micros(time: datetime) -> int:
    return (time - _EPOCH) // _ONE_US


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class VectorQuery:
    """A top-k search in one embedding space.

    Args:
        embedder: only vectors of this embedder are scored.
        vector: the query vector (normalised here; a zero or non-finite vector is refused).
        k: how many hits, 1 to :data:`SEARCH_MAX_K`.
        type: only vectors of this type.
        since: only vectors created at or after this time.

    Raises:
        ValueError: ``k`` out of range, a naive ``since``, or an unusable vector.
    """

    embedder: str
    vector: npt.NDArray[Any]
    k: int = 10
    type: str | None = None
    since: datetime | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.k <= SEARCH_MAX_K:
            raise ValueError(f"k: expected 1 to {SEARCH_MAX_K}, got {self.k}")
        if self.since is not None and self.since.tzinfo is None:
            raise ValueError(f"since: expected a time with a zone, got {self.since.isoformat()}")
        q = np.asarray(self.vector, dtype=np.float32).reshape(-1)
        if q.size == 0 or not np.isfinite(q).all():
            raise ValueError("vector: expected a non-empty vector of finite values")
        norm = float(np.linalg.norm(q))
        if norm == 0.0:
            raise ValueError("vector: the query has no direction (all zeros); nothing can be similar to it")
        object.__setattr__(self, "vector", q / np.float32(norm))


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result: the stored vector's id and its cosine similarity to the query."""

    id: str
    score: float


class _Space:
    """The vectors of one embedder."""

    __slots__ = ("created", "dim", "ids", "matrix", "n", "slots", "types")

    def __init__(self, dim: int, capacity: int) -> None:
        self.dim = dim
        self.n = 0
        cap = max(capacity, 1)
        self.matrix = np.empty((cap, dim), dtype=np.float32)
        self.types = np.empty(cap, dtype=np.int32)
        self.created = np.empty(cap, dtype=np.int64)
        self.ids: list[str] = []
        self.slots: dict[str, int] = {}

    def reserve(self, needed: int) -> None:
        """Make room for ``needed`` rows in all (grown by a quarter at least, to amortise appends)."""
        cap = self.matrix.shape[0]
        if needed <= cap:
            return
        new_cap = max(needed, int(cap * _GROWTH), _MIN_CAPACITY)
        matrix = np.empty((new_cap, self.dim), dtype=np.float32)
        matrix[: self.n] = self.matrix[: self.n]
        self.matrix = matrix
        self.types = np.resize(self.types, new_cap)
        self.created = np.resize(self.created, new_cap)

    def append(
        self,
        ids: Sequence[str],
        vectors: npt.NDArray[np.float32],
        types: npt.NDArray[np.int32],
        created: npt.NDArray[np.int64],
    ) -> None:
        count = len(ids)
        self.reserve(self.n + count)
        lo, hi = self.n, self.n + count
        self.matrix[lo:hi] = vectors
        self.types[lo:hi] = types
        self.created[lo:hi] = created
        for offset, vid in enumerate(ids):
            self.slots[vid] = lo + offset
        self.ids.extend(ids)
        self.n = hi

    def remove(self, vid: str) -> bool:
        slot = self.slots.pop(vid, None)
        if slot is None:
            return False
        last = self.n - 1
        if slot != last:
            moved = self.ids[last]
            self.matrix[slot] = self.matrix[last]
            self.types[slot] = self.types[last]
            self.created[slot] = self.created[last]
            self.ids[slot] = moved
            self.slots[moved] = slot
        self.ids.pop()
        self.n = last
        return True


class VectorIndex:
    """In-memory matrices of every stored vector, one per embedder, and the search over them.

    Args:
        access: where search hits are counted until they are written (see :class:`AccessLog`).
    """

    def __init__(self, access: AccessLog | None = None) -> None:
        self._lock = threading.Lock()
        self._spaces: dict[str, _Space] = {}
        self._type_codes: dict[str, int] = {}
        self.access = access if access is not None else AccessLog()

    def __len__(self) -> int:
        with self._lock:
            return sum(space.n for space in self._spaces.values())

    def embedders(self) -> dict[str, int]:
        """Embedder name → vector length, for every embedder with at least one vector."""
        with self._lock:
            return {name: space.dim for name, space in self._spaces.items() if space.n}

    def count(self, embedder: str) -> int:
        """Vectors held for ``embedder``."""
        with self._lock:
            space = self._spaces.get(embedder)
            return space.n if space is not None else 0

    def __contains__(self, vid: object) -> bool:
        with self._lock:
            return any(vid in space.slots for space in self._spaces.values())

    def nbytes(self) -> int:
        """Bytes of the numpy arrays held (capacity included)."""
        with self._lock:
            return sum(s.matrix.nbytes + s.types.nbytes + s.created.nbytes for s in self._spaces.values())

    def _code(self, type: str) -> int:
        code = self._type_codes.get(type)
        if code is None:
            code = len(self._type_codes)
            self._type_codes[type] = code
        return code

    def add(
        self,
        embedder: str,
        ids: Sequence[str],
        vectors: npt.NDArray[np.float32],
        types: Sequence[str],
        created: Sequence[datetime] | npt.NDArray[np.int64],
        *,
        reserve: int = 0,
    ) -> int:
        """Add rows already committed to ``vectors`` (already normalised); ids held already are skipped.

        Args:
            created: creation times, as datetimes or as microseconds since the epoch.
            reserve: rows to make room for at once (loading a known count), so the matrix is
                allocated once instead of grown step by step.

        Returns:
            How many rows were added.

        Raises:
            ValueError: the vectors' length differs from the embedder's.
        """
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(ids):
            raise ValueError(f"vectors: expected shape ({len(ids)}, dim), got {matrix.shape}")
        if isinstance(created, np.ndarray):
            micros = created.astype(np.int64, copy=False)
        else:
            micros = np.fromiter((_micros(t) for t in created), dtype=np.int64, count=len(ids))
        with self._lock:
            space = self._spaces.get(embedder)
            if space is None:
                space = _Space(matrix.shape[1], max(reserve, len(ids)))
                self._spaces[embedder] = space
            elif space.dim != matrix.shape[1]:
                raise ValueError(f"embedder {embedder!r} has {space.dim} dimensions, got {matrix.shape[1]}")
            keep: list[int] = []
            seen: set[str] = set()
            for i, vid in enumerate(ids):
                if vid not in space.slots and vid not in seen:
                    seen.add(vid)
                    keep.append(i)
            if not keep:
                return 0
            if reserve > space.matrix.shape[0]:
                space.reserve(reserve)
            codes = np.fromiter((self._code(types[i]) for i in keep), dtype=np.int32, count=len(keep))
            if len(keep) == len(ids):
                space.append(ids, matrix, codes, micros)
            else:
                space.append([ids[i] for i in keep], matrix[keep], codes, micros[keep])
            return len(keep)

    def remove(self, ids: Iterable[str]) -> int:
        """Forget these ids (after their rows were deleted); returns how many were held."""
        removed = 0
        with self._lock:
            for vid in ids:
                for space in self._spaces.values():
                    if space.remove(vid):
                        removed += 1
                        break
        return removed

    def search(self, query: VectorQuery, *, now: datetime | None = None) -> list[SearchHit]:
        """The ``k`` stored vectors most similar to the query, best first (ties by id).

        Args:
            now: when given, each hit is counted in :attr:`access` at this time.

        Raises:
            ValueError: the query's length differs from its embedder's.
        """
        with self._lock:
            space = self._spaces.get(query.embedder)
            if space is None or space.n == 0:
                return []
            q = query.vector
            if q.shape[0] != space.dim:
                raise ValueError(
                    f"vector: embedder {query.embedder!r} has {space.dim} dimensions, the query has {q.shape[0]}"
                )
            n = space.n
            scores: npt.NDArray[np.float32] = space.matrix[:n] @ q
            allowed: npt.NDArray[np.bool_] | None = None
            if query.type is not None:
                code = self._type_codes.get(query.type)
                if code is None:
                    return []
                allowed = space.types[:n] == code
            if query.since is not None:
                recent = space.created[:n] >= _micros(query.since)
                allowed = recent if allowed is None else allowed & recent
            if allowed is not None:
                candidates = np.flatnonzero(allowed)
                if candidates.size == 0:
                    return []
                picked = _top(scores[candidates], query.k)
                order = candidates[picked]
            else:
                order = _top(scores, query.k)
            hits = [SearchHit(space.ids[i], float(scores[i])) for i in order]
        hits.sort(key=lambda h: (-h.score, h.id))
        if now is not None and hits:
            self.access.record([h.id for h in hits], now)
        return hits


def _top(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.intp]:
    """Positions of the ``k`` highest scores, best first."""
    if k < scores.shape[0]:
        part = np.argpartition(-scores, k - 1)[:k]
        return part[np.argsort(-scores[part], kind="stable")]
    return np.argsort(-scores, kind="stable")


@translated("loading the vector index")
def load_index(
    con: duckdb.DuckDBPyConnection,
    index: VectorIndex | None = None,
    *,
    batch_rows: int = 8192,
    release_cache_mb: int | None = None,
) -> VectorIndex:
    """Fill an index from the ``vectors`` table (at start), in Arrow batches.

    Args:
        release_cache_mb: the memory limit the database was opened with, in MB. When given, DuckDB
            is made to drop the table blocks the scan left in its buffer pool, and the limit is set
            back to this. The scan reads every embedding once and DuckDB keeps what it read cached
            up to its limit (measured: ~2 × the matrix for 768-value vectors), although nothing
            reads the embeddings again while the index holds them. DuckDB has no statement that
            empties its cache, so the limit is lowered for a moment.
    """
    target = index if index is not None else VectorIndex()
    sizes = dict(con.execute("SELECT embedder, count(*) FROM vectors GROUP BY embedder").fetchall())
    reader = con.sql(
        "SELECT id, embedder, dim, type, epoch_us(created_at) AS created, embedding FROM vectors ORDER BY embedder"
    ).to_arrow_reader(batch_rows)
    for batch in reader:
        _add_batch(target, batch, sizes)
    if release_cache_mb is not None:
        con.execute(f"SET memory_limit = '{_RELEASE_LIMIT}'")
        con.execute(f"SET memory_limit = '{int(release_cache_mb)}MB'")
    return target


def _add_batch(index: VectorIndex, batch: pa.RecordBatch, sizes: dict[str, int]) -> None:
    embedders = batch.column(1).to_pylist()
    start = 0
    while start < len(embedders):
        name = embedders[start]
        end = start
        while end < len(embedders) and embedders[end] == name:
            end += 1
        part = batch.slice(start, end - start)
        dim = int(part.column(2)[0].as_py())
        values = part.column(5).flatten()
        vectors = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float32).reshape(-1, dim)
        index.add(
            name,
            part.column(0).to_pylist(),
            vectors,
            part.column(3).to_pylist(),
            np.asarray(part.column(4).to_numpy(zero_copy_only=False), dtype=np.int64),
            reserve=sizes.get(name, 0),
        )
        start = end
