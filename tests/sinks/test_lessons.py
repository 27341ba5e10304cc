"""Errors and principles: dedup by error type, principles kept once, reads in order."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sinks import add_principle, read_errors, read_principles, record_error, set_principle_active
from tests.sinks._memory_helpers import T0, fresh_db


def test_schema_has_every_memory_table_and_index(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {"episodes", "dead_letters", "errors", "principles", "vectors", "embedders"} <= tables
    indexes = {r[0] for r in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
    assert {
        "episodes_type",
        "episodes_time",
        "episodes_outcome",
        "errors_type",
        "vectors_embedder",
        "vectors_id",
    } <= indexes
    columns = {
        r[0]: r[1]
        for r in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'vectors'"
        ).fetchall()
    }
    assert columns["embedding"] == "FLOAT[]"
    assert set(columns) == {
        "id",
        "episode_id",
        "type",
        "text",
        "embedder",
        "dim",
        "embedding",
        "created_at",
        "access_count",
        "last_access",
    }


def test_a_repeated_error_type_raises_the_count_and_refreshes_the_time(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    first = record_error(con, type="llm.timeout", description="no answer in 30 s", time=T0)
    again = record_error(
        con, type="llm.timeout", description="no answer in 45 s", time=T0 + timedelta(hours=1), cause="server"
    )
    other = record_error(con, type="file.missing", description="notes.md gone", time=T0)
    assert first == again != other
    errors = read_errors(con)
    assert [(e.type, e.repeat_count) for e in errors] == [("llm.timeout", 2), ("file.missing", 1)]
    top = errors[0]
    assert top.time == T0 + timedelta(hours=1)
    assert (top.description, top.cause) == ("no answer in 45 s", "server")
    assert con.execute("SELECT count(*) FROM errors").fetchall() == [(2,)]
    assert [e.type for e in read_errors(con, min_repeats=2)] == ["llm.timeout"]
    assert [e.type for e in read_errors(con, type="file.missing")] == ["file.missing"]


def test_an_older_repeat_does_not_move_the_time_back(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    record_error(con, type="x", description="d", time=T0)
    record_error(con, type="x", description="d", time=T0 - timedelta(days=1))
    assert read_errors(con)[0].time == T0


def test_principles_are_kept_once_and_can_be_switched_off(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    error_id = record_error(con, type="llm.timeout", description="slow", time=T0)
    p1 = add_principle(con, text="Ask shorter questions", time=T0, source_error_id=error_id)
    p2 = add_principle(con, text="Check the file exists first", time=T0 + timedelta(minutes=1))
    assert add_principle(con, text="Ask shorter questions", time=T0 + timedelta(hours=2)) == p1
    assert [p.text for p in read_principles(con)] == ["Ask shorter questions", "Check the file exists first"]
    assert read_principles(con)[0].source_error_id == error_id
    assert set_principle_active(con, p2, False)
    assert not set_principle_active(con, 999, False)
    assert [p.id for p in read_principles(con)] == [p1]
    assert [p.active for p in read_principles(con, active_only=False)] == [True, False]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "", "description": "d"}, "type"),
        ({"type": "t", "description": "  "}, "description"),
        ({"type": "t", "description": "d", "repeats": 0}, "repeats"),
    ],
)
def test_bad_errors_are_refused(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    con = fresh_db(tmp_path)
    with pytest.raises(ValueError, match=message):
        record_error(con, time=T0, **kwargs)  # type: ignore[arg-type]


def test_a_principle_must_name_an_existing_error_and_a_zoned_time(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    with pytest.raises(ValueError, match="source_error_id"):
        add_principle(con, text="t", time=T0, source_error_id=42)
    with pytest.raises(ValueError, match="zone"):
        add_principle(con, text="t", time=T0.replace(tzinfo=None))
