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
    sizes = dict(con.execute("SELECT embedder, count(*) FROM vectors GROUP BY embedder ORDER BY embedder").fetchall())
    for embedder, size in sizes.items():
        # one embedder at a time, a plain scan streamed in batches: an ORDER BY would sort every
        # embedding in DuckDB's memory, which a table larger than its limit does not fit
        reader = con.sql(
            "SELECT id, embedder, dim, type, epoch_us(created_at) AS created, embedding FROM vectors"
            " WHERE embedder = $embedder",
            params={"embedder": embedder},
        ).to_arrow_reader(batch_rows)
        for batch in reader:
            _add_batch(target, batch, size)
    if release_cache_mb is not None:
        con.execute(f"SET memory_limit = '{_RELEASE_LIMIT}'")
        con.execute(f"SET memory_limit = '{int(release_cache_mb)}MB'")
    return target


def _add_batch(index: VectorIndex, batch: pa.RecordBatch, size: int) -> None:
    """One batch of one embedder's vectors into ``index`` (``size``: that embedder's count, reserved at once)."""
    if batch.num_rows == 0:
        return
    name = str(batch.column(1)[0].as_py())
    dim = int(batch.column(2)[0].as_py())
    values = batch.column(5).flatten()
    vectors = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float32).reshape(-1, dim)
    index.add(
        name,
        batch.column(0).to_pylist(),
        vectors,
        batch.column(3).to_pylist(),
        np.asarray(batch.column(4).to_numpy(zero_copy_only=False), dtype=np.int64),
        reserve=size,
    )
