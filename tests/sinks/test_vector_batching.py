"""The vector sink operator: batches written on the writer thread, the index kept in step, bad vectors refused."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import reactivex
from reactivex import operators as ops

from sinks import DuckWriter, VectorIndex, VectorQuery, VectorRow, open_database, write_vector_batches
from tests.sinks._memory_helpers import T0


def test_vectors_flow_into_the_table_and_the_index(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb", threads=1, memory_limit_mb=256))
    try:
        index = VectorIndex()
        rows = [
            VectorRow(
                text=f"t{i}",
                embedding=np.eye(8)[i % 8] + 0.01 * i,
                embedder="e:8",
                type="monologue",
                created_at=T0 + timedelta(seconds=i),
            )
            for i in range(25)
        ]
        rows.append(VectorRow(text="bad", embedding=np.zeros(8), embedder="e:8", type="monologue", created_at=T0))
        results = (
            reactivex.from_iterable(rows)
            .pipe(write_vector_batches(writer, index, max_rows=10, max_wait_s=60.0, clock=lambda: T0), ops.to_list())
            .run()
        )
        assert [r.stored for r in results] == [10, 10, 5]
        assert [len(r.refused) for r in results] == [0, 0, 1]
        assert len(index) == 25
        hits = index.search(VectorQuery(embedder="e:8", vector=np.eye(8)[3], k=1))
        assert hits[0].id == rows[3].id
        counts = writer.call(
            "count",
            lambda con: con.execute(
                "SELECT (SELECT count(*) FROM vectors), (SELECT count(*) FROM dead_letters WHERE source = 'vectors')"
            ).fetchall(),
        )
        assert counts == [(25, 1)]
    finally:
        writer.close()
