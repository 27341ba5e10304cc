"""Every episode read: recent N, type and outcome, since, text match, count of similar episodes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from sinks import EpisodeQuery, EpisodeRow, SinkError, count_similar, read_episodes, write_rows
from tests.sinks._memory_helpers import fresh_db

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    db = fresh_db(tmp_path)
    specs = [
        ("user.message", "Hello there", "success", 1),
        ("llm.call", "Timeout talking to the model", "failure", 2),
        ("llm.call", "timeout talking to the model ", "failure", 5),
        ("llm.call", "Timeout talking to the model", "fallback", 30),
        ("world.file_changed", "notes.md changed", "unknown", 40),
        ("monologue", "Теперь всё спокойно", "success", 50),
    ]
    write_rows(
        db,
        [
            EpisodeRow(
                id=f"e{i}",
                time=NOW - timedelta(hours=h),
                type=t,
                description=d,
                outcome=o,
                data={"n": i},
            )
            for i, (t, d, o, h) in enumerate(specs)
        ],
    )
    return db


def _ids(rows: list[dict[str, object]]) -> list[object]:
    return [r["id"] for r in rows]


def test_recent_n_newest_first(con: duckdb.DuckDBPyConnection) -> None:
    assert _ids(read_episodes(con, EpisodeQuery(limit=3))) == ["e0", "e1", "e2"]


def test_by_type_and_outcome(con: duckdb.DuckDBPyConnection) -> None:
    assert _ids(read_episodes(con, EpisodeQuery(type="llm.call"))) == ["e1", "e2", "e3"]
    assert _ids(read_episodes(con, EpisodeQuery(type="llm.call", outcome="fallback"))) == ["e3"]
    assert _ids(read_episodes(con, EpisodeQuery(outcome="unknown"))) == ["e4"]


def test_since(con: duckdb.DuckDBPyConnection) -> None:
    assert _ids(read_episodes(con, EpisodeQuery(since=NOW - timedelta(hours=5)))) == ["e0", "e1", "e2"]


def test_text_match_is_case_insensitive_and_unicode(con: duckdb.DuckDBPyConnection) -> None:
    assert _ids(read_episodes(con, EpisodeQuery(text="TIMEOUT"))) == ["e1", "e2", "e3"]
    assert _ids(read_episodes(con, EpisodeQuery(text="теперь"))) == ["e5"]
    assert _ids(read_episodes(con, EpisodeQuery(text="100%"))) == []


def test_count_of_similar_episodes_in_the_last_hours(con: duckdb.DuckDBPyConnection) -> None:
    assert count_similar(con, type="llm.call", now=NOW, hours=24) == 2
    assert count_similar(con, type="llm.call", now=NOW, hours=48) == 3
    assert count_similar(con, type="llm.call", now=NOW, hours=48, outcome="failure") == 2
    assert count_similar(con, type="llm.call", now=NOW, hours=3, description="TIMEOUT talking to the model") == 1
    assert count_similar(con, type="nothing", now=NOW, hours=48) == 0
    with pytest.raises(ValueError, match="hours"):
        count_similar(con, type="x", now=NOW, hours=0)
    with pytest.raises(ValueError, match="zone"):
        count_similar(con, type="x", now=NOW.replace(tzinfo=None), hours=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"since": datetime(2026, 1, 1)}, "zone"),
        ({"text": "x" * 201}, "text"),
    ],
)
def test_bad_queries_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EpisodeQuery(**kwargs)  # type: ignore[arg-type]


def test_a_database_error_leaves_as_a_sink_error() -> None:
    bare = duckdb.connect()
    with pytest.raises(SinkError, match="reading episodes: Catalog Error") as caught:
        read_episodes(bare, EpisodeQuery())
    assert isinstance(caught.value.__cause__, duckdb.Error)
