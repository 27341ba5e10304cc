"""Recording files: export and read back (JSON lines, Parquet, DuckDB), non-recordings, the predecessor's data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sinks import (
    FORMAT_NAME,
    FORMAT_VERSION,
    LEGACY_INPUT_TYPES,
    RecordingError,
    export_recording,
    open_database,
    read_recording,
)
from tests.sinks.recording_support import (
    T0,
    event,
    head,
    header,
    recorded_database,
    write_jsonl,
)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export_and_read_back(tmp_path: Path, fmt: str) -> None:
    con = open_database(recorded_database(tmp_path / "db.duckdb"))
    out = tmp_path / f"rec.{fmt}"
    counts = export_recording(con, out, format=fmt, header=header())
    con.close()
    assert counts == {"event": 5, "exchange": 1, "episode": 5, "seed": 0}
    recording = read_recording(out)
    assert recording.problems == []
    assert recording.header.version == FORMAT_VERSION
    assert recording.header.service_version == "1.2.3"
    assert recording.header.settings == {"a": 1}
    assert recording.events == [event(n) for n in range(5)]
    assert recording.exchanges[0]["key"] == "k1"
    assert recording.exchanges[0]["response"]["content"] == "hello"
    assert [e["description"] for e in recording.episodes] == [f"reply {n}" for n in range(5)]


def test_export_cuts_a_window(tmp_path: Path) -> None:
    con = open_database(recorded_database(tmp_path / "db.duckdb"))
    out = tmp_path / "rec.jsonl"
    counts = export_recording(
        con, out, format="jsonl", header=header(), since=T0 + timedelta(seconds=1), until=T0 + timedelta(seconds=3)
    )
    con.close()
    assert counts == {"event": 2, "exchange": 0, "episode": 2, "seed": 0}
    assert [e.id for e in read_recording(out).events] == ["e1", "e2"]


def test_a_duckdb_file_is_a_recording_too(tmp_path: Path) -> None:
    recording = read_recording(recorded_database(tmp_path / "db.duckdb"))
    assert [e.id for e in recording.events] == [f"e{n}" for n in range(5)]
    assert len(recording.exchanges) == 1 and len(recording.episodes) == 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("{nope\n", "the header is not JSON"),
        ('{"format": "something-else", "version": 1}\n', "not a recording"),
        (json.dumps({"format": FORMAT_NAME, "version": "one"}) + "\n", "not a positive integer"),
    ],
)
def test_files_that_are_not_recordings(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RecordingError, match=message):
        read_recording(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no such file"):
        read_recording(tmp_path / "nope.jsonl")


def test_parquet_without_a_header_and_a_broken_parquet(tmp_path: Path) -> None:
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"kind": ["event"], "body": ["{}"]}), plain)
    with pytest.raises(RecordingError, match="without a"):
        read_recording(plain)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1" + b"\x00" * 100)
    with pytest.raises(RecordingError, match="not a readable Parquet file"):
        read_recording(broken)


def test_a_database_without_events(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "other.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(RecordingError, match="no events table"):
        read_recording(path)


def test_an_unrelated_sqlite_file_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(RecordingError, match="without the predecessor's episodes table"):
        read_recording(path)


def test_a_header_whose_version_is_a_boolean_is_not_a_recording(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "rec.jsonl", [json.dumps({"format": FORMAT_NAME, "version": True})])
    with pytest.raises(RecordingError, match="not a positive integer"):
        read_recording(path)


def test_parquet_without_a_body_column_and_with_a_header_not_utf8(tmp_path: Path) -> None:
    nobody = tmp_path / "nobody.parquet"
    pq.write_table(pa.table({"kind": ["event"]}).replace_schema_metadata({FORMAT_NAME: head()}), nobody)
    with pytest.raises(RecordingError, match="needs the columns kind and body"):
        read_recording(nobody)
    garbled = tmp_path / "garbled.parquet"
    table = pa.table({"kind": ["event"], "body": ["{}"]}).replace_schema_metadata({FORMAT_NAME.encode(): b"\xff\xfe"})
    pq.write_table(table, garbled)
    with pytest.raises(RecordingError, match="header in the metadata is not JSON"):
        read_recording(garbled)


def test_a_database_recording_with_hostile_rows(tmp_path: Path) -> None:
    path = recorded_database(tmp_path / "db.duckdb", events=2)
    con = open_database(path)
    con.execute("INSERT INTO events VALUES ('r1', 7, 'inf', 'infinity'::TIMESTAMPTZ, 't', 's', '{}')")
    con.execute("INSERT INTO events VALUES ('r1', 8, 'far', '9999-12-31 23:00:00+00'::TIMESTAMPTZ, 't', 's', '{}')")
    con.execute(
        "INSERT INTO llm_exchanges VALUES ('r1', 9, TIMESTAMPTZ '2026-02-21 12:00:00+00', 'k2', 'chat', 'ollama',"
        " '{}', NULL, NULL, 'nan'::DOUBLE, NULL)"
    )
    con.close()
    recording = read_recording(path)
    assert [e.id for e in recording.events] == ["e0", "e1"]
    assert [e["key"] for e in recording.exchanges] == ["k1"]
    reasons = sorted(p.reason.split(":")[0] for p in recording.problems)
    assert reasons == ["9999-12-31T23", "event", "exchange"]


def test_the_predecessors_episodes_replay_as_their_input_events_in_order(legacy_dir: Path) -> None:
    recording = read_recording(legacy_dir / "episodes.db")
    assert recording.problems == []
    assert len(recording.events) == 182  # 111 file changes, 58 starts, 6 stops, 4 messages, 3 files created
    assert {e.type for e in recording.events} == LEGACY_INPUT_TYPES
    times = [e.time for e in recording.events]
    assert times == sorted(times)
    assert recording.events[0].time == datetime(2026, 2, 21, 11, 52, 14, tzinfo=UTC)
    assert recording.events[0].type == "system.start"
    messages = [e for e in recording.events if e.type == "user.message"]
    assert [m.payload["text"] for m in messages][:3] == ["Привет"] * 3
    assert messages[3].payload["text"].startswith("Привет! Расскажи")
    changes = [e for e in recording.events if e.type == "world.file_changed"]
    assert changes[0].payload["path"].endswith("inbox.txt") and changes[0].payload["change"] == "modified"
    assert len(recording.episodes) == 471 - 182
    assert recording.header.service_version == "predecessor"


def test_the_predecessors_zone_is_applied(legacy_dir: Path) -> None:
    recording = read_recording(legacy_dir / "episodes.db", legacy_zone="Europe/Moscow")
    assert recording.events[0].time == datetime(2026, 2, 21, 8, 52, 14, tzinfo=UTC)
