"""Loading the in-memory index from the ``vectors`` table at start, in Arrow batches."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from sinks._sql import translated
from sinks._vector_index import VectorIndex

__all__ = ["load_index"]

_RELEASE_LIMIT = "32MB"


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
