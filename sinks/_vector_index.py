"""The search side of vector memory: one in-memory float32 matrix per embedder, kept in step with ``vectors``.

Why a matrix and not ``array_cosine_similarity`` in SQL: measured on 100,000 × 768 vectors
(``python -m benchmarks memory``), a matrix-vector product over L2-normalised rows plus an
``argpartition`` is several times faster than DuckDB's brute-force scan, and it stays within a
small factor of the raw numpy call because it *is* that call. The table remains the truth: the
index is loaded from it at start (:func:`sinks.load_index`) and changed only by the writer thread
after a commit (writes and cleanup), so a search never sees a vector the table does not hold
for longer than one job.

Each embedder has its own matrix, so a query can only ever be scored against vectors of its
own embedding space. Rows are removed by moving the last row into the hole (O(dim)).

A quantised index (``VectorIndex(quantised=True)``, what the service holds) keeps int8 codes in
memory, a quarter of the bytes, and the float32 rows in an unnamed file beside them (page cache,
not resident memory: :class:`~sinks._row_file.RowFile`). It ranks exactly as the float32 index:
the codes pick the candidates that can be in the top ``k`` and the candidates' float32 rows score
them (see :mod:`sinks._vector_codes`).

Thread safety: one lock guards every matrix; the matrix product releases the GIL but not the
lock, so a search and a write never interleave.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sinks._row_file import RowFile
from sinks._vector_access import AccessLog
from sinks._vector_codes import candidates, coded_scores, encode

__all__ = ["SEARCH_MAX_K", "SearchHit", "VectorIndex", "VectorQuery"]

SEARCH_MAX_K = 1000
_GROWTH = 1.25
_MIN_CAPACITY = 256
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    """The vectors of one embedder: float32 rows, or int8 codes with a scale and an error bound each
    (and the float32 rows in a file)."""

    __slots__ = ("bound", "created", "dim", "ids", "matrix", "n", "rows", "scale", "slots", "types")

    def __init__(self, dim: int, capacity: int, *, rows: RowFile | None) -> None:
        self.dim = dim
        self.n = 0
        cap = max(capacity, 1)
        quantised = rows is not None
        self.rows = rows
        self.matrix: npt.NDArray[Any] = np.empty((cap, dim), dtype=np.int8 if quantised else np.float32)
        self.scale: npt.NDArray[np.float32] | None = np.empty(cap, dtype=np.float32) if quantised else None
        self.bound: npt.NDArray[np.float32] | None = np.empty(cap, dtype=np.float32) if quantised else None
        self.types = np.empty(cap, dtype=np.int32)
        self.created = np.empty(cap, dtype=np.int64)
        self.ids: list[str] = []
        self.slots: dict[str, int] = {}

    def nbytes(self) -> int:
        coded = 0 if self.scale is None or self.bound is None else self.scale.nbytes + self.bound.nbytes
        return self.matrix.nbytes + self.types.nbytes + self.created.nbytes + coded

    def reserve(self, needed: int) -> None:
        """Make room for ``needed`` rows in all (grown by a quarter at least, to amortise appends)."""
        cap = self.matrix.shape[0]
        if needed <= cap:
            return
        new_cap = max(needed, int(cap * _GROWTH), _MIN_CAPACITY)
        matrix = np.empty((new_cap, self.dim), dtype=self.matrix.dtype)
        matrix[: self.n] = self.matrix[: self.n]
        self.matrix = matrix
        if self.scale is not None and self.bound is not None:
            self.scale = np.resize(self.scale, new_cap)
            self.bound = np.resize(self.bound, new_cap)
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
        if self.rows is not None and self.scale is not None and self.bound is not None:
            self.rows.write(lo, vectors)
            self.matrix[lo:hi], self.scale[lo:hi], self.bound[lo:hi] = encode(vectors)
        else:
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
            if self.rows is not None and self.scale is not None and self.bound is not None:
                self.rows.move(last, slot)
                self.scale[slot] = self.scale[last]
                self.bound[slot] = self.bound[last]
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
        quantised: keep int8 codes in memory instead of float32 rows (a quarter of the bytes), and
            the float32 rows in an unnamed file; searches rank exactly as with float32 rows.
        rows_folder: where a quantised index makes its files (``None``: the temporary folder).
    """

    def __init__(
        self, access: AccessLog | None = None, *, quantised: bool = False, rows_folder: str | Path | None = None
    ) -> None:
        self.quantised = quantised
        self._rows_folder = rows_folder
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
            return sum(space.nbytes() for space in self._spaces.values())

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
                rows = RowFile(matrix.shape[1], self._rows_folder) if self.quantised else None
                space = _Space(matrix.shape[1], max(reserve, len(ids)), rows=rows)
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
            pool = self._allowed(space, query)
            if pool is not None and pool.size == 0:
                return []
            hits = _exact_top(space, q, pool, query.k) if space.rows is None else _coded_top(space, q, pool, query.k)
        hits.sort(key=lambda h: (-h.score, h.id))
        if now is not None and hits:
            self.access.record([h.id for h in hits], now)
        return hits

    def _allowed(self, space: _Space, query: VectorQuery) -> npt.NDArray[np.intp] | None:
        """Ascending slots the query's filters allow (``None``: every slot)."""
        n = space.n
        allowed: npt.NDArray[np.bool_] | None = None
        if query.type is not None:
            code = self._type_codes.get(query.type)
            if code is None:
                return np.empty(0, dtype=np.intp)
            allowed = space.types[:n] == code
        if query.since is not None:
            recent = space.created[:n] >= _micros(query.since)
            allowed = recent if allowed is None else allowed & recent
        return None if allowed is None else np.flatnonzero(allowed)


def _exact_top(space: _Space, q: npt.NDArray[np.float32], pool: npt.NDArray[np.intp] | None, k: int) -> list[SearchHit]:
    scores: npt.NDArray[np.float32] = space.matrix[: space.n] @ q
    order = _top(scores, k) if pool is None else pool[_top(scores[pool], k)]
    return [SearchHit(space.ids[i], float(scores[i])) for i in order]


def _coded_top(space: _Space, q: npt.NDArray[np.float32], pool: npt.NDArray[np.intp] | None, k: int) -> list[SearchHit]:
    """The top ``k``: candidates by the codes, ranked by their float32 rows."""
    assert space.rows is not None and space.scale is not None and space.bound is not None
    n = space.n
    if pool is None:
        coded = coded_scores(space.matrix[:n], space.scale[:n], q)
        slots = candidates(coded, space.bound[:n], space.scale[:n], q, k)
    else:
        coded = coded_scores(space.matrix[pool], space.scale[pool], q)
        slots = pool[candidates(coded, space.bound[pool], space.scale[pool], q, k)]
    scores: npt.NDArray[np.float32] = space.rows.read(slots) @ q
    return [SearchHit(space.ids[slots[i]], float(scores[i])) for i in _top(scores, k)]


def _top(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.intp]:
    """Positions of the ``k`` highest scores, best first."""
    if k < scores.shape[0]:
        part = np.argpartition(-scores, k - 1)[:k]
        return part[np.argsort(-scores[part], kind="stable")]
    return np.argsort(-scores, kind="stable")
