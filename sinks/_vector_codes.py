"""Vectors kept as int8 codes in memory, with a bound on each row's error, and the exact ranking they allow.

A stored vector ``x`` (L2-normalised float32) is kept as ``s * c``: ``c`` int8 codes in -127..127 and
``s = max|x| / 127``, a quarter of the float32 row's bytes. The row's error ``r = x - s * c`` is measured
when it is coded and its length ``|r|`` kept beside the codes (rounded up). For a unit query ``q`` the
true score ``x·q`` lies within ``|r|`` of the coded one (Cauchy-Schwarz: ``|r·q| <= |r| |q|``), so:

- every row whose coded score plus its bound reaches the ``k``-th best coded score *minus* its bound
  is a candidate, and no other row can be in the top ``k``;
- scoring the candidates with their stored float32 vectors (read from the ``vectors`` table) gives
  the same hits and the same scores as a float32 matrix of every row would.

The bounds are widened by the rounding of float32 arithmetic, whatever the order of summation
(``gamma(d) = d u / (1 - d u)``, ``u = 2**-24``, times the sum of the terms' magnitudes): that of the
coded score, summed in float32, and twice that of a float32 score of unit vectors, so that a row
left out scores, in float32, below ``k`` candidates; a tie at the edge of the top ``k`` is never
decided by the coding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["candidates", "coded_scores", "encode"]

_CHUNK_ROWS = 4096  # rows decoded at a time while scoring: 4096 × 384 float32 values are 6 MiB
_UNIT = 2.0**-24


def _gamma(terms: int) -> float:
    """The relative error bound of a float32 sum of ``terms`` products, in any order."""
    return terms * _UNIT / (1 - terms * _UNIT)


def encode(
    vectors: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The int8 codes, the scale and the error bound of each row (``vectors`` already L2-normalised).

    Returns:
        ``(codes, scale, bound)``: ``codes[i] * scale[i]`` is within ``bound[i]`` of ``vectors[i]``
        (Euclidean length of the difference, rounded up).
    """
    rows = np.asarray(vectors, dtype=np.float64)
    peak = np.abs(rows).max(axis=1) if rows.shape[1] else np.zeros(rows.shape[0])
    scale = np.where(peak > 0, peak / 127.0, 1.0)
    codes = np.clip(np.rint(rows / scale[:, None]), -127, 127).astype(np.int8)
    scale32 = scale.astype(np.float32)
    # the error of the float32 scale actually kept, measured in float64, then rounded up to float32
    residual = rows - codes.astype(np.float64) * scale32.astype(np.float64)[:, None]
    bound = np.nextafter(np.linalg.norm(residual, axis=1).astype(np.float32), np.float32(np.inf))
    return codes, scale32, bound


def coded_scores(
    codes: npt.NDArray[np.int8], scale: npt.NDArray[np.float32], query: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Each row's coded score against ``query``, in float32, decoded a chunk at a time (no full copy)."""
    q = np.asarray(query, dtype=np.float32)
    out = np.empty(codes.shape[0], dtype=np.float32)
    for lo in range(0, codes.shape[0], _CHUNK_ROWS):
        hi = min(lo + _CHUNK_ROWS, codes.shape[0])
        out[lo:hi] = codes[lo:hi].astype(np.float32) @ q
    out *= scale
    return out


def candidates(
    scores: npt.NDArray[np.float32],
    bound: npt.NDArray[np.float32],
    scale: npt.NDArray[np.float32],
    query: npt.NDArray[np.float32],
    k: int,
) -> npt.NDArray[np.intp]:
    """Positions (ascending) of every row that may be among the ``k`` best by its float32 score.

    Args:
        scores: coded scores (:func:`coded_scores`) of the rows allowed by the query's filters.
        bound: their error bounds.
        scale: their scales.
        query: the unit query vector.
        k: hits wanted.
    """
    n = scores.shape[0]
    if k >= n:
        return np.arange(n)
    dim = query.shape[0]
    coded_rounding = _gamma(dim + 1) * 127.0 * float(np.abs(query).sum()) * scale.astype(np.float64)
    margin = bound.astype(np.float64) + coded_rounding + 2 * _gamma(dim)
    wide = scores.astype(np.float64)
    lower = wide - margin
    threshold = np.partition(lower, n - k)[n - k]  # the k-th highest lower bound
    keep: npt.NDArray[Any] = wide + margin >= threshold
    return np.flatnonzero(keep)
