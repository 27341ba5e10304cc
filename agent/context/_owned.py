"""Remembered vectors with whom each belongs to: one matrix, an owner code per row, an exact top-k per owner.

Why one matrix with a code per row and not one :class:`sinks.VectorIndex` per sender: measured
with ``python -m benchmarks context`` (10,000 vectors of 384 values), a search kept to one
sender's rows (picked by code, then only those rows scored) takes about 0.05 ms, beside 0.04 ms
for an index per sender with 50 senders and 0.01 ms with 1,000 (and 0.5 to 0.9 ms for scoring
the whole matrix, then masking it): a small part of a reply's recall either way. But an index
per sender holds a matrix of at least 256 rows each: 378 MiB for 1,000 senders, where this holds
17 MiB, whatever the number of senders. And the mind, which searches everything, scores the one
matrix at once.

A search for an owner scores only that owner's rows and the rows of nobody (when those are a
quarter of the rows or more, the whole matrix is scored in place and their scores picked out,
which is cheaper than copying the rows out first), and takes the top
``k`` among them: it never comes back short because other owners' rows were more similar.

The matrix is held one vector per column (``dim`` rows of values, a column per vector), so that
a query with few non-zero values (the lexical embedder's: a short message sets 50 to 70 of its
384) is scored from those rows of the matrix alone. Measured on 10,000 lexical vectors of short
messages (one thread), a top-40 search took 133 µs against 245 µs when every row was scored, and
155 µs against 243 µs kept to one owner's 90 % of the rows. A dense query scores the whole.
Those rows are scored 2,048 columns at a time (``_CHUNK_COLUMNS``): each chunk's copy of them is
multiplied while it is still in the cache instead of being read back from memory. Measured on
10,000 lexical vectors of the benchmark's messages, a top-32 search for one owner took 237 to
257 µs against 310 to 333 µs for one copy of every column, with the same hits.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["OwnedVectors", "Owner", "Whose"]

_GROWTH = 1.25
_WHOLE_WHEN_SHARE = 4
"""An owner's search scores the whole matrix, then picks its rows, when they are at least 1/4 of all."""
_MIN_CAPACITY = 256
_SAMPLE_STEP = 16
_SAMPLED_FROM = 4 * _SAMPLE_STEP
"""A top ``k`` of at least ``_SAMPLED_FROM * k`` scores cuts its candidates by a sample first (``_top``)."""
_CHUNK_COLUMNS = 2048
"""A sparse query scores this many columns at a time: their picked rows (~65 of 384, 0.5 MiB) stay in the cache."""
_SPARSE_WHEN_SHARE = 3
"""A query with at most 1/3 of its values non-zero is scored from those rows of the matrix only."""


class Whose(enum.Enum):
    """Owners that are no sender."""

    NOBODY = 0
    """Belongs to no sender (the being's own notes or thoughts, when remembered): every prompt may recall it."""
    UNKNOWN = 1
    """A sender's, but which one is not known (a reply whose message is forgotten): only the mind recalls it."""


Owner = str | Whose
"""A sender's key, or one of :class:`Whose`."""

_FIRST_SENDER_CODE = 2


class OwnedVectors:
    """Unit vectors of one length, each with an id and an owner; exact top-k over all or over one owner's.

    Not thread safe: the event loop owns it.

    Args:
        dim: the vectors' length.
        max_rows: the most rows its holder keeps at once (``None``: no bound); the arrays never
            grow past it, so a full holder's last growth leaves no unused room.
    """

    def __init__(self, dim: int, *, max_rows: int | None = None) -> None:
        if max_rows is not None and max_rows < 1:
            raise ValueError(f"OwnedVectors.max_rows: expected >= 1, got {max_rows}")
        self._dim = dim
        self._max_rows = max_rows
        self._n = 0
        self._matrix: npt.NDArray[np.float32] = np.empty((dim, 0), dtype=np.float32)  # a column per vector
        self._owners: npt.NDArray[np.int32] = np.empty(0, dtype=np.int32)
        self._ids: list[str] = []
        self._slots: dict[str, int] = {}
        self._codes: dict[str, int] = {}  # sender key → code, while the sender has a row
        self._keys: dict[int, str] = {}  # sender code → key
        self._counts: dict[int, int] = {}  # sender code → rows held
        self._free: list[int] = []  # codes of senders gone, given again (smallest first)
        self._next_code = _FIRST_SENDER_CODE

    def __len__(self) -> int:
        return self._n

    def __contains__(self, vid: object) -> bool:
        return vid in self._slots

    def senders(self) -> int:
        """Senders with at least one row held."""
        return len(self._codes)

    def nbytes(self) -> int:
        """Bytes of the arrays held (capacity included)."""
        return self._matrix.nbytes + self._owners.nbytes

    def add(self, vid: str, vector: npt.NDArray[np.float32], owner: Owner) -> None:
        """Hold ``vector`` (unit length, ``dim`` values) as ``vid``, owned by ``owner``.

        Raises:
            ValueError: ``vid`` is held already, or the vector's length is not ``dim``.
        """
        if vid in self._slots:
            raise ValueError(f"OwnedVectors.add: {vid!r} is held already")
        row = np.asarray(vector, dtype=np.float32).reshape(-1)
        if row.shape[0] != self._dim:
            raise ValueError(f"OwnedVectors.add: expected {self._dim} values, got {row.shape[0]}")
        self._reserve(self._n + 1)
        self._matrix[:, self._n] = row
        self._owners[self._n] = self._code_for(owner)
        self._slots[vid] = self._n
        self._ids.append(vid)
        self._n += 1

    def remove(self, vid: str) -> bool:
        """Forget ``vid`` (the last row moves into its place); ``False`` when it was not held."""
        slot = self._slots.pop(vid, None)
        if slot is None:
            return False
        self._release(int(self._owners[slot]))
        last = self._n - 1
        if slot != last:
            moved = self._ids[last]
            self._matrix[:, slot] = self._matrix[:, last]
            self._owners[slot] = self._owners[last]
            self._ids[slot] = moved
            self._slots[moved] = slot
        self._ids.pop()
        self._n = last
        return True

    def search(self, query: npt.NDArray[np.float32], k: int, *, owner: str | None = None) -> list[str]:
        """The ids of the ``k`` rows most similar to ``query`` (unit length), best first, ties by id.

        Args:
            owner: ``None``: every row; a sender's key: only that sender's rows and those of nobody.
        """
        n = self._n
        if k <= 0 or n == 0:
            return []
        rows: npt.NDArray[np.intp] | None = None
        if owner is not None:
            codes = self._owners[:n]
            mask = codes == Whose.NOBODY.value
            code = self._codes.get(owner)
            if code is not None:
                mask |= codes == code
            rows = np.flatnonzero(mask)
            if rows.size == 0:
                return []
        nonzero = np.flatnonzero(query)
        sparse = nonzero.size * _SPARSE_WHEN_SHARE <= self._dim
        values = query[nonzero] if sparse else query
        if rows is None or rows.size * _WHOLE_WHEN_SHARE >= n:
            # every vector, or most of them: scoring the matrix where it lies beats copying the
            # owner's columns out first (a copy as large as the product's own read)
            scores = self._sparse_scores(nonzero, values, n) if sparse else values @ self._matrix[:, :n]
            if rows is not None:
                scores = scores[rows]
        else:
            scores = values @ (self._matrix[np.ix_(nonzero, rows)] if sparse else self._matrix[:, rows])
        order = _top(scores, k)
        picked: list[tuple[float, str]] = [
            (-float(scores[i]), self._ids[int(i) if rows is None else int(rows[i])]) for i in order
        ]
        picked.sort()
        return [vid for _, vid in picked]

    def _sparse_scores(
        self, nonzero: npt.NDArray[np.intp], values: npt.NDArray[np.float32], n: int
    ) -> npt.NDArray[np.float32]:
        """The scores of the first ``n`` columns from the rows ``nonzero`` only, ``_CHUNK_COLUMNS`` at a time.

        Each chunk's rows are copied out (the rows picked are not evenly spaced, so the product
        cannot read them in place) and scored while the copy is still in the cache, instead of
        copying every column out first and reading the copy back from memory.
        """
        scores: npt.NDArray[np.float32] = np.empty(n, dtype=np.float32)
        for lo in range(0, n, _CHUNK_COLUMNS):
            hi = min(n, lo + _CHUNK_COLUMNS)
            np.matmul(values, self._matrix[nonzero, lo:hi], out=scores[lo:hi])
        return scores

    def _code_for(self, owner: Owner) -> int:
        if isinstance(owner, Whose):
            return owner.value
        code = self._codes.get(owner)
        if code is None:
            if self._free:
                code = self._free.pop()
            else:
                code = self._next_code
                self._next_code += 1
            self._codes[owner] = code
            self._keys[code] = owner
            self._counts[code] = 0
        self._counts[code] += 1
        return code

    def _release(self, code: int) -> None:
        if code < _FIRST_SENDER_CODE:
            return
        self._counts[code] -= 1
        if self._counts[code] == 0:
            del self._counts[code]
            del self._codes[self._keys.pop(code)]
            self._free.append(code)  # given again, the last freed first

    def _reserve(self, needed: int) -> None:
        capacity = self._matrix.shape[1]
        if needed <= capacity:
            return
        new_capacity = max(needed, int(capacity * _GROWTH), _MIN_CAPACITY)
        if self._max_rows is not None:
            new_capacity = max(needed, min(new_capacity, self._max_rows))
        matrix = np.empty((self._dim, new_capacity), dtype=np.float32)
        matrix[:, : self._n] = self._matrix[:, : self._n]
        self._matrix = matrix
        owners = np.empty(new_capacity, dtype=np.int32)
        owners[: self._n] = self._owners[: self._n]
        self._owners = owners


def _top(scores: npt.NDArray[Any], k: int) -> npt.NDArray[np.intp]:
    """Positions of the ``k`` highest scores (all of them when there are fewer), in no order.

    On many scores the candidates are cut first: the ``k``-th highest of every ``_SAMPLE_STEP``-th
    score is at most the ``k``-th highest of all (the sample's top ``k`` are ``k`` scores at least
    that high), so every score of the top ``k`` is at least it, and only the scores that reach it
    are partitioned. Measured on 10,000 scores and k = 40: 23 to 31 µs against 130 to 160 µs for one
    ``argpartition`` of them all.
    """
    n = scores.shape[0]
    if k >= n:
        return np.arange(n)
    if n >= _SAMPLED_FROM * k:
        sample = scores[::_SAMPLE_STEP]
        floor = np.partition(sample, sample.shape[0] - k)[sample.shape[0] - k]
        kept = np.flatnonzero(scores >= floor)
        if kept.shape[0] >= k:  # always, but for NaN scores (the recall refuses rows and queries that would make them)
            return kept[np.argpartition(scores[kept], kept.shape[0] - k)[kept.shape[0] - k :]]
    return np.argpartition(scores, n - k)[n - k :]
