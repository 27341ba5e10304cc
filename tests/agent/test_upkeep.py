"""The upkeep route in virtual time, and one real upkeep run on the writer thread."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.notification import OnNext
from reactivex.testing import TestScheduler
from reactivex.testing.recorded import Recorded

from agent import UPKEEP, UpkeepReport, flush_job, upkeep_job, upkeep_route
from sinks import (
    CleanupPolicy,
    DuckWriter,
    EpisodeRow,
    Row,
    VectorIndex,
    VectorQuery,
    VectorRow,
    archive_files,
    open_database,
    write_rows,
    write_vectors,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _rows(messages: Sequence[Recorded[Row]]) -> list[tuple[float, Row]]:
    out: list[tuple[float, Row]] = []
    for m in messages:
        notification = m.value
        if isinstance(notification, OnNext):
            out.append((float(m.time), notification.value))
    return out


def test_upkeep_runs_on_the_schedule_with_the_schedulers_time() -> None:
    scheduler = TestScheduler()
    seen: list[datetime] = []

    def run(now: datetime) -> Observable[UpkeepReport]:
        seen.append(now)
        return reactivex.just(UpkeepReport(archived=len(seen), vectors_remaining=7))

    observer = scheduler.start(lambda: upkeep_route(run, interval_s=100.0), created=100, subscribed=200, disposed=650)
    rows = _rows(observer.messages)
    assert [t for t, _ in rows] == [300.0, 400.0, 500.0, 600.0]
    assert seen == [EPOCH + timedelta(seconds=s) for s in (300, 400, 500, 600)]
    first = rows[0][1]
    assert isinstance(first, EpisodeRow)
    assert (first.type, first.outcome, first.time) == (UPKEEP, "success", EPOCH + timedelta(seconds=300))
    assert first.data["archived"] == 1
    assert "archived 1 episodes" in first.description
    assert len({r.id for _, r in rows if isinstance(r, EpisodeRow)}) == 4


def test_a_failed_run_is_recorded_and_the_schedule_goes_on() -> None:
    scheduler = TestScheduler()
    calls: list[int] = []

    def run(now: datetime) -> Observable[UpkeepReport]:
        calls.append(1)
        if len(calls) == 1:
            return reactivex.throw(OSError("disk full"))
        return reactivex.just(UpkeepReport())

    observer = scheduler.start(lambda: upkeep_route(run, interval_s=100.0), disposed=450)
    outcomes = [(t, r.outcome) for t, r in _rows(observer.messages) if isinstance(r, EpisodeRow)]
    assert outcomes == [(300.0, "failure"), (400.0, "success")]
    failure = _rows(observer.messages)[0][1]
    assert isinstance(failure, EpisodeRow)
    assert failure.data["error"] == "OSError"
    assert "disk full" in failure.description


def test_a_tick_during_a_run_is_dropped() -> None:
    scheduler = TestScheduler()
    calls: list[datetime] = []

    def run(now: datetime) -> Observable[UpkeepReport]:
        calls.append(now)
        return reactivex.timer(250.0).pipe(ops.map(lambda _: UpkeepReport()))

    scheduler.start(lambda: upkeep_route(run, interval_s=100.0), disposed=1000)
    # runs start at 300 (busy until 550), 600 (busy until 850), 900
    assert [int((c - EPOCH).total_seconds()) for c in calls] == [300, 600, 900]


def test_search_hits_are_flushed_on_their_own_timer_and_only_failures_are_recorded() -> None:
    scheduler = TestScheduler()
    flushes: list[datetime] = []

    def flush(now: datetime) -> Observable[int]:
        flushes.append(now)
        if len(flushes) == 2:
            return reactivex.throw(RuntimeError("database busy"))
        return reactivex.just(3)

    def run(now: datetime) -> Observable[UpkeepReport]:
        return reactivex.just(UpkeepReport())

    observer = scheduler.start(
        lambda: upkeep_route(run, interval_s=1000.0, flush=flush, flush_interval_s=30.0), disposed=330
    )
    assert len(flushes) == 4
    rows = _rows(observer.messages)
    assert [(t, r.type, r.outcome) for t, r in rows if isinstance(r, EpisodeRow)] == [
        (260.0, "memory.access_flush", "failure")
    ]


def test_a_real_upkeep_run_archives_and_bounds_vectors(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "being.duckdb", threads=1, memory_limit_mb=256))
    try:
        index = VectorIndex()
        now = datetime(2026, 6, 1, tzinfo=UTC)
        old = [
            EpisodeRow(id=f"old{i}", time=now - timedelta(days=200 + i), type="t", description="d", outcome="success")
            for i in range(5)
        ]
        writer.call(
            "seed",
            lambda con: write_rows(
                con, [*old, EpisodeRow(id="new", time=now, type="t", description="d", outcome="success")]
            ),
        )
        vectors = [
            VectorRow(text=f"v{i}", embedding=np.eye(3)[i % 3] + 0.1 * i, embedder="e", type="t", created_at=now)
            for i in range(6)
        ]
        writer.call("vectors", lambda con: write_vectors(con, vectors, index=index))
        index.search(VectorQuery(embedder="e", vector=np.array([1.0, 0, 0]), k=2), now=now)
        flushed = flush_job(writer, index)(now).run()
        assert flushed == 2
        run = upkeep_job(
            writer,
            archive_dir=tmp_path / "archive",
            archive_after_days=90,
            cleanup=CleanupPolicy(max_vectors=2),
            index=index,
        )
        report = run(now).run()
        assert report == UpkeepReport(
            archived=5,
            reconciled=0,
            archive_files=len(archive_files(tmp_path / "archive")),
            vectors_expired=0,
            vectors_evicted=4,
            vectors_remaining=2,
        )
        assert len(index) == 2
        assert writer.call("count", lambda con: con.execute("SELECT count(*) FROM episodes").fetchall()) == [(1,)]
    finally:
        writer.close()
