"""Shared by the tests of the mind's tables: rows, and a run of the batch sink to its end."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import reactivex

from sinks import BatchResult, DuckWriter, EpisodeRow, GoalRow, GoalStatus, Row, write_batches
from tests.support import wait_until

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def goal(goal_id: str, text: str = "stretch", status: GoalStatus = "open", minutes: int = 0) -> GoalRow:
    time = NOW + timedelta(minutes=minutes)
    return GoalRow(
        id=goal_id,
        text=text,
        status=status,
        due=NOW + timedelta(hours=2),
        created=NOW,
        done=None if status == "open" else time,
        time=time,
        source="mind",
    )


def episode(n: int) -> EpisodeRow:
    return EpisodeRow(id=f"e{n}", time=NOW, type="mind.action", description=f"act {n}", outcome="success")


def sink(
    writer: DuckWriter, rows: Sequence[Row], *, notes_dir: Path | None = None, notes_max_bytes: int = 65_536
) -> BatchResult:
    """Write ``rows`` as one batch through ``write_batches`` and wait for the stream to complete."""
    results: list[BatchResult] = []
    errors: list[Exception] = []
    done = threading.Event()

    def failed(exc: Exception) -> None:
        errors.append(exc)
        done.set()

    reactivex.from_iterable(rows).pipe(
        write_batches(writer, max_rows=len(rows), max_wait_s=60.0, notes_dir=notes_dir, notes_max_bytes=notes_max_bytes)
    ).subscribe(on_next=results.append, on_error=failed, on_completed=done.set)
    wait_until(done.is_set, what="the sink completed")
    if errors:
        raise errors[0]
    assert len(results) == 1, results
    return results[0]
