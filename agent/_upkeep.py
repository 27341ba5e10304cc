"""The upkeep route: on a schedule, archive old episodes and bound vector memory; flush search hits.

Two timers, both on the subscription's scheduler (virtual time in tests):

- every ``interval_s``: one upkeep run (archival, then vector cleanup) on the writer thread,
  recorded as a ``memory.upkeep`` episode — ``success`` with what it did, or ``failure`` with
  the error (the failure is caught here, visibly, so one bad run does not stop the pipeline);
- every ``flush_interval_s``: search hits are written to the vectors' access statistics; this
  records nothing when it succeeds and a ``memory.access_flush`` failure episode when it fails.

A tick that comes while the previous run still works is dropped (``exclusive``), so slow
upkeep never piles up. The time a run uses is the scheduler's time at its start. Results come
back on the writer thread and are handed back to the subscription's scheduler (``observe_on``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.abc import SchedulerBase

from sinks import (
    CleanupPolicy,
    DuckWriter,
    EpisodeRow,
    Row,
    VectorIndex,
    archive_episodes,
    cleanup_vectors,
    flush_access,
    from_concurrent_future,
)
from streams import stable_id

__all__ = ["UPKEEP", "UpkeepReport", "flush_job", "upkeep_job", "upkeep_route"]

UPKEEP = "memory.upkeep"
ACCESS_FLUSH = "memory.access_flush"


@dataclass(frozen=True, slots=True, kw_only=True)
class UpkeepReport:
    """What one upkeep run did."""

    archived: int = 0
    reconciled: int = 0
    archive_files: int = 0
    vectors_expired: int = 0
    vectors_evicted: int = 0
    vectors_remaining: int = 0


def _utc(time: datetime) -> datetime:
    return time.replace(tzinfo=UTC) if time.tzinfo is None else time.astimezone(UTC)


def _episode(kind: str, name: str, now: datetime, outcome: str, description: str, data: dict[str, Any]) -> EpisodeRow:
    return EpisodeRow(
        id=stable_id(name, kind, now.isoformat()),
        time=now,
        type=kind,
        description=description,
        outcome=outcome,
        data={"route": name, **data},
    )


def _failure(kind: str, name: str, now: datetime, exc: Exception) -> EpisodeRow:
    return _episode(
        kind, name, now, "failure", f"{kind} failed: {exc}", {"error": type(exc).__name__, "message": str(exc)}
    )


def upkeep_route(
    run: Callable[[datetime], Observable[UpkeepReport]],
    *,
    interval_s: float,
    flush: Callable[[datetime], Observable[int]] | None = None,
    flush_interval_s: float = 30.0,
    name: str = "upkeep",
) -> Observable[Row]:
    """Rows recording each upkeep run (see the module docstring).

    Args:
        run: starts one upkeep run at the given time (see :func:`upkeep_job`).
        interval_s: seconds between runs; the first runs one interval after subscription.
        flush: writes the counted search hits (see :func:`flush_job`).
        flush_interval_s: seconds between flushes.
        name: the route's name, in episode data and ids.

    Raises:
        ValueError: an interval not above 0.
    """
    if interval_s <= 0 or flush_interval_s <= 0:
        raise ValueError(f"{name}: intervals must be > 0, got {interval_s} and {flush_interval_s}")

    def once(_: int) -> Observable[Row]:
        def start(scheduler: SchedulerBase) -> Observable[Row]:
            now = _utc(scheduler.now)

            def done(report: UpkeepReport) -> Row:
                text = (
                    f"upkeep: archived {report.archived} episodes, removed {report.vectors_expired} expired and "
                    f"{report.vectors_evicted} least used vectors; {report.vectors_remaining} vectors kept"
                )
                return _episode(UPKEEP, name, now, "success", text, asdict(report))

            def failed(exc: Exception, _: Observable[Row]) -> Observable[Row]:
                return reactivex.just(_failure(UPKEEP, name, now, exc))

            # The job resolves on the writer thread; hop back to the pipeline's scheduler.
            return run(now).pipe(ops.observe_on(scheduler), ops.map(done), ops.catch(failed))

        return reactivex.defer(start)

    def flush_once(_: int) -> Observable[Row]:
        assert flush is not None

        def start(scheduler: SchedulerBase) -> Observable[Row]:
            now = _utc(scheduler.now)

            def failed(exc: Exception, _: Observable[Row]) -> Observable[Row]:
                return reactivex.just(_failure(ACCESS_FLUSH, name, now, exc))

            def nothing(_: int) -> Observable[Row]:
                return reactivex.empty()

            return flush(now).pipe(ops.observe_on(scheduler), ops.flat_map(nothing), ops.catch(failed))

        return reactivex.defer(start)

    upkeep: Observable[Row] = reactivex.interval(interval_s).pipe(ops.map(once), ops.exclusive())
    if flush is None:
        return upkeep
    flushes: Observable[Row] = reactivex.interval(flush_interval_s).pipe(ops.map(flush_once), ops.exclusive())
    return reactivex.merge(upkeep, flushes)


def upkeep_job(
    writer: DuckWriter,
    *,
    archive_dir: Path,
    archive_after_days: float,
    cleanup: CleanupPolicy,
    index: VectorIndex | None,
) -> Callable[[datetime], Observable[UpkeepReport]]:
    """An upkeep run on the writer thread: archival, then vector cleanup, with ``now`` as the clock."""

    def run(now: datetime) -> Observable[UpkeepReport]:
        def job(con: duckdb.DuckDBPyConnection) -> UpkeepReport:
            archived = archive_episodes(con, archive_dir, older_than_days=archive_after_days, clock=lambda: now)
            cleaned = cleanup_vectors(con, cleanup, index=index, clock=lambda: now)
            return UpkeepReport(
                archived=archived.archived,
                reconciled=archived.reconciled,
                archive_files=len(archived.files),
                vectors_expired=cleaned.expired,
                vectors_evicted=cleaned.evicted,
                vectors_remaining=cleaned.remaining,
            )

        return from_concurrent_future(lambda: writer.submit("upkeep", job))

    return run


def flush_job(writer: DuckWriter, index: VectorIndex) -> Callable[[datetime], Observable[int]]:
    """Writing the index's counted search hits on the writer thread."""

    def run(now: datetime) -> Observable[int]:
        if not len(index.access):
            return reactivex.empty()
        return from_concurrent_future(
            lambda: writer.submit("vectors.access", lambda con: flush_access(con, index.access))
        )

    return run
