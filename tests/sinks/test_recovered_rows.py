"""Rows of recovered input (``may_exist``) are stored once, even when the original is in the same batch.

A replay cuts its batches by count, so the row an event made in the recorded run and the row
its recovered copy makes after the restart arrive in one batch; the anti-join on id only
looks at what the table already holds.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from sinks import DeadLetterRow, EpisodeRow, open_database, write_rows

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
REASON = (
    "sinks/_row_batches.py anti-joins on the table only; a may_exist row whose id came earlier in the"
    " same batch must be dropped too"
)


def stored(path: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def message(n: int, *, recovered: bool, at: datetime) -> EpisodeRow:
    return EpisodeRow(
        id=f"ep{n}",
        time=at,
        type="user.message",
        description=f"message {n}",
        outcome="success",
        event_id=f"e{n}",
        may_exist=recovered,
    )


def test_a_recovered_row_whose_original_is_already_stored_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "db.duckdb"
    con = open_database(path)
    write_rows(con, [message(1, recovered=False, at=T0)])
    write_rows(con, [message(1, recovered=True, at=T0 + timedelta(minutes=5))])
    con.close()
    assert stored(path, "SELECT count(*) FROM episodes") == [(1,)]


def test_a_recovered_row_and_its_original_in_one_batch_are_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "db.duckdb"
    con = open_database(path)
    later = T0 + timedelta(minutes=5)
    letter = DeadLetterRow(id="dl1", time=T0, source="inbox", reason="undecodable", raw="\\xff", event_id="e9")
    result = write_rows(
        con,
        [
            message(1, recovered=False, at=T0),
            message(2, recovered=False, at=T0),
            letter,
            message(1, recovered=True, at=later),
            message(2, recovered=True, at=later),
            dataclasses.replace(letter, time=later, may_exist=True),
            message(3, recovered=True, at=later),  # read for the first time after the restart
        ],
    )
    con.close()
    assert stored(path, "SELECT id, time FROM episodes ORDER BY id") == [("ep1", T0), ("ep2", T0), ("ep3", later)]
    assert stored(path, "SELECT count(*) FROM dead_letters") == [(1,)]
    assert result.event_ids == frozenset({"e1", "e2", "e3", "e9"})  # every copy is still acknowledged
