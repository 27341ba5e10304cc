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


def insert_random_vectors(con: duckdb.DuckDBPyConnection, n: int, *, dim: int, embedder: str) -> None:
    """``n`` vectors ``v0`` to ``v{n-1}`` of random values straight into the table, one second apart from T0
    (``v{n-1}`` newest): a table bigger than DuckDB's memory limit in about a second."""
    con.execute(
        "INSERT INTO vectors SELECT 'v' || i, NULL, 'monologue', 'text ' || i, $embedder, $dim,"
        " list_transform(range($dim), lambda x: (random() - 0.5)::FLOAT), $t0 + to_seconds(i), 0, NULL"
        " FROM range($n) t(i)",
        {"embedder": embedder, "dim": dim, "t0": T0, "n": n},
    )


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
