"""The vector sink operator: batches written on the writer thread, the index kept in step, bad vectors refused."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest
import reactivex
from reactivex import operators as ops

from sinks import (
    CleanupPolicy,
    DuckWriter,
    VectorIndex,
    VectorQuery,
    VectorRow,
    open_database,
    write_vector_batches,
)
from sinks import _vector_batching as vector_batching
from sinks import bound_vectors as real_bound_vectors
from sinks.errors import SinkError
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


def _row(i: int) -> VectorRow:
    return VectorRow(
        text=f"t{i}",
        embedding=np.eye(8)[i % 8] + 0.01 * i,
        embedder="e:8",
        type="monologue",
        created_at=T0 + timedelta(seconds=i),
    )


def test_a_bound_keeps_the_count_after_every_batch_evicting_the_least_used(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb", threads=1, memory_limit_mb=256))
    try:
        index = VectorIndex()
        rows = [_row(i) for i in range(1_000)]
        first = reactivex.from_iterable(rows[:150]).pipe(
            write_vector_batches(writer, index, max_rows=50, max_wait_s=60.0, clock=lambda: T0), ops.to_list()
        )
        assert [r.evicted for r in first.run()] == [0, 0, 0]  # no bound: the upkeep's cleanup alone bounds it
        index.search(VectorQuery(embedder="e:8", vector=rows[0].embedding, k=1), now=T0)  # the oldest, used once
        bound = CleanupPolicy(max_vectors=200, batch_rows=7)
        held: list[int] = []  # after each batch (told on the writer thread: no job can be waited for here)

        def count(_: object) -> None:
            held.append(len(index))

        results = (
            reactivex.from_iterable(rows[150:])
            .pipe(
                write_vector_batches(writer, index, max_rows=50, max_wait_s=60.0, clock=lambda: T0, bound=bound),
                ops.do_action(count),
                ops.to_list(),
            )
            .run()
        )
        stored = writer.call("count", lambda con: con.execute("SELECT count(*) FROM vectors").fetchall()[0][0])
        assert max(held) <= 200 and stored == held[-1]
        assert sum(r.evicted for r in results) == 1_000 - stored
        # past the bound, down to 99 % of it at once: an eviction every few batches, not every batch
        assert 0 < sum(1 for r in results if r.evicted) < len(results)
        assert rows[0].id in index  # used once: the unused ones went first
        assert rows[1].id not in index and rows[-1].id in index  # then the oldest
    finally:
        writer.close()


def _failing_bound(fails: set[int], error: type[Exception]) -> object:
    """``bound_vectors`` that fails on the calls numbered in ``fails`` (from 0) with a translated ``error``."""
    calls = [0]

    def bound(con: object, policy: CleanupPolicy, *, index: VectorIndex | None = None) -> int:
        call, calls[0] = calls[0], calls[0] + 1
        if call in fails:
            try:
                raise error("failed to allocate data of size 4.0 MiB")
            except Exception as exc:
                raise SinkError(f"bounding vector memory: {exc}") from exc
        return real_bound_vectors(con, policy, index=index)  # type: ignore[arg-type]

    return bound


def test_a_bound_that_fails_loses_no_batch_and_is_kept_again_after_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(vector_batching, "bound_vectors", _failing_bound({1, 2}, duckdb.OutOfMemoryException))
    writer = DuckWriter(open_database(tmp_path / "db.duckdb", threads=1, memory_limit_mb=256))
    try:
        index = VectorIndex()
        rows = [_row(i) for i in range(300)]
        bound = CleanupPolicy(max_vectors=100, batch_rows=50)
        with caplog.at_level(logging.DEBUG, logger="sinks"):
            results = (
                reactivex.from_iterable(rows)
                .pipe(
                    write_vector_batches(writer, index, max_rows=50, max_wait_s=60.0, clock=lambda: T0, bound=bound),
                    ops.to_list(),
                )
                .run()
            )
        assert [r.stored for r in results] == [50] * 6  # every batch stored, the failing ones too
        assert [r.bound_failed is not None for r in results] == [False, True, True, False, False, False]
        assert "failed to allocate" in (results[1].bound_failed or "")
        stored = writer.call("count", lambda con: con.execute("SELECT count(*) FROM vectors").fetchall()[0][0])
        assert stored <= 100 and len(index) == stored  # kept again once the bound worked
        failed = [r for r in caplog.records if r.getMessage() == "vectors.bound_failed"]
        assert [r.levelno for r in failed] == [logging.WARNING, logging.DEBUG]  # loud once, not per batch
    finally:
        writer.close()


def test_a_fatal_database_error_in_the_bound_stops_the_stream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vector_batching, "bound_vectors", _failing_bound({0}, duckdb.FatalException))
    writer = DuckWriter(open_database(tmp_path / "db.duckdb", threads=1, memory_limit_mb=256))
    try:
        bound = CleanupPolicy(max_vectors=10, batch_rows=50)
        with pytest.raises(SinkError, match="bounding vector memory"):
            reactivex.from_iterable([_row(i) for i in range(50)]).pipe(
                write_vector_batches(writer, VectorIndex(), max_rows=50, max_wait_s=60.0, clock=lambda: T0, bound=bound)
            ).run()
    finally:
        writer.close()
