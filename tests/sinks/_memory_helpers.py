"""Helpers shared by the memory tests: a fresh database and a small deterministic embedder."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt

from sinks import open_database

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def fresh_db(tmp_path: Path, name: str = "being.duckdb") -> duckdb.DuckDBPyConnection:
    return open_database(tmp_path / name, threads=1, memory_limit_mb=256)


class WordEmbedder:
    """Deterministic bag-of-words vectors (crc32-hashed words), for tests only."""

    def __init__(self, dim: int = 32, name: str | None = None) -> None:
        self._dim = dim
        self._name = name or f"test-words:{dim}"

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def vectors(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.encode()) % self._dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        result: npt.NDArray[np.float32] = (out / np.maximum(norms, 1e-12)).astype(np.float32)
        return result
