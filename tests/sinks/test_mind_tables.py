"""The mind's tables: migration, goals upserted, blocks replaced, principles stored once, atomic batches."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from sinks import (
    MIGRATIONS,
    DuckWriter,
    GoalRow,
    MemoryBlockRow,
    PrincipleRow,
    Row,
    SinkError,
    add_principle,
    open_database,
    read_blocks,
    read_goals,
    read_principles,
    schema_version,
)
from tests.sinks.mind_support import NOW, episode, goal, sink


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def test_a_database_of_the_previous_version_is_brought_up_with_its_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMPTZ)")
    for version, sql in MIGRATIONS:
        if version <= 5:
            con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    con.execute("INSERT INTO principles (time, text) VALUES (?, 'check the disk first')", [NOW])
    con.execute("INSERT INTO episodes VALUES ('e0', ?, 'system.start', 'started', 'success', NULL)", [NOW])
    con.close()

    con = open_database(path)
    assert schema_version(con) == MIGRATIONS[-1][0]
    assert {"goals", "memory_blocks", "notes"} <= tables(con)
    assert [p.text for p in read_principles(con)] == ["check the disk first"]
    assert con.execute("SELECT source FROM principles").fetchall() == [(None,)]
    assert con.execute("SELECT count(*) FROM episodes").fetchall() == [(1,)]
    assert read_goals(con) == [] and read_blocks(con) == {}
    con.close()


def test_every_new_row_type_round_trips_through_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "db.duckdb"
    writer = DuckWriter(open_database(path))
    g = goal("g1")
    rows: list[Row] = [
        episode(1),
        g,
        MemoryBlockRow(name="user", text="Ana, likes tea", time=NOW),
        PrincipleRow(text="Ask before assuming.", time=NOW),
    ]
    result = sink(writer, rows, notes_dir=tmp_path / "notes")
    assert result.inserted == {"episodes": 1, "goals": 1, "memory_blocks": 1, "principles": 1}
    assert result.rows == 4
    writer.close()

    con = open_database(path, read_only=True)
    assert read_goals(con) == [g]
    assert read_blocks(con) == {"user": "Ana, likes tea"}
    assert con.execute("SELECT text, source, active FROM principles").fetchall() == [
        ("Ask before assuming.", "reflect", True)
    ]
    con.close()


def test_a_goal_is_upserted_by_id_and_the_last_version_in_a_batch_wins(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    sink(writer, [goal("g1"), goal("g2", "drink water")])
    done = goal("g1", status="done", minutes=5)
    later = replace(goal("g2", "drink more water", minutes=6), due=None)
    result = sink(writer, [goal("g2", "drink a little water", minutes=1), done, later])
    assert result.inserted == {"goals": 2}
    assert result.skipped == {"goals": 1}  # the superseded version within the batch
    goals = writer.call("read", read_goals, timeout_s=10)
    assert goals == [done, later]
    open_goals = writer.call("read", lambda con: read_goals(con, status="open"), timeout_s=10)
    assert open_goals == [later]
    assert writer.call("read", lambda con: read_goals(con, status="done"), timeout_s=10) == [done]
    assert writer.call("read", lambda con: read_goals(con, status="dropped"), timeout_s=10) == []
    writer.close()


def test_reading_goals_with_an_unknown_status_is_a_clear_error(tmp_path: Path) -> None:
    con = open_database(tmp_path / "db.duckdb")
    with pytest.raises(ValueError, match="status: expected one of open, done, dropped, got 'later'"):
        read_goals(con, status="later")  # type: ignore[arg-type]
    con.close()


def test_a_memory_block_is_replaced_by_name(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    sink(writer, [MemoryBlockRow(name="self", text="curious", time=NOW)])
    sink(
        writer,
        [
            MemoryBlockRow(name="self", text="curious, patient", time=NOW + timedelta(minutes=1)),
            MemoryBlockRow(name="user", text="Ana", time=NOW + timedelta(minutes=1)),
            MemoryBlockRow(name="user", text="Ana, a gardener", time=NOW + timedelta(minutes=2)),
        ],
    )
    assert writer.call("read", read_blocks, timeout_s=10) == {"self": "curious, patient", "user": "Ana, a gardener"}
    assert writer.call("count", lambda con: con.execute("SELECT count(*) FROM memory_blocks").fetchall()) == [(2,)]
    writer.close()


def test_a_principle_is_stored_once_per_text_whatever_its_case_and_spacing(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    writer.call("given", lambda con: add_principle(con, text="Check the disk first", time=NOW), timeout_s=10)
    first = sink(
        writer,
        [
            PrincipleRow(text="check  the disk\tfirst ", time=NOW),
            PrincipleRow(text="Answer briefly.", time=NOW),
            PrincipleRow(text="answer   BRIEFLY.", time=NOW),
        ],
    )
    assert first.inserted == {"principles": 1}
    assert first.skipped == {"principles": 2}
    again = sink(writer, [PrincipleRow(text="Answer briefly.", time=NOW + timedelta(hours=1))])
    assert again.inserted == {"principles": 0}
    texts = writer.call("read", lambda con: [p.text for p in read_principles(con)], timeout_s=10)
    assert texts == ["Check the disk first", "Answer briefly."]
    writer.close()


def test_a_failing_batch_stores_none_of_its_rows_episodes_included(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    broken = replace(goal("g2"), text=None)  # type: ignore[arg-type]  # violates NOT NULL
    with pytest.raises(SinkError):
        sink(writer, [episode(1), goal("g1"), MemoryBlockRow(name="self", text="x", time=NOW), broken])
    counts = writer.call(
        "count",
        lambda con: [
            con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("episodes", "goals", "memory_blocks")
        ],
        timeout_s=10,
    )
    assert counts == [0, 0, 0]
    writer.close()


def test_goal_rows_keep_times_in_utc_and_an_absent_due(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    g = GoalRow(id="g", text="t", status="open", due=None, created=NOW, done=None, time=NOW, source="intentions")
    sink(writer, [g])
    (back,) = writer.call("read", read_goals, timeout_s=10)
    assert back == g and back.created.utcoffset() == timedelta(0)
    writer.close()
