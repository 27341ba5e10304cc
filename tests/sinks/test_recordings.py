"""Recording files: export and read back (JSON lines, Parquet, DuckDB), bad recordings, the predecessor's data."""

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
    EpisodeRow,
    ExchangeRow,
    RecordedEventRow,
    RecordingError,
    RecordingHeader,
    export_recording,
    open_database,
    read_recording,
    write_rows,
)
from streams import Event, encode_event

T0 = datetime(2026, 2, 21, 12, 0, tzinfo=UTC)


def event(n: int, kind: str = "user.message", at: datetime | None = None) -> Event:
    return Event(
        id=f"e{n}", type=kind, time=at or T0 + timedelta(seconds=n), source="inbox", payload={"text": f"привет {n}"}
    )


def recorded_database(path: Path, events: int = 5) -> Path:
    con = open_database(path)
    rows: list[object] = []
    for n in range(events):
        e = event(n)
        rows.append(
            RecordedEventRow(run_id="r1", seq=n, id=e.id, time=e.time, type=e.type, source=e.source, payload=e.payload)
        )
        rows.append(
            EpisodeRow(id=f"ep{n}", time=e.time, type="user.reply", description=f"reply {n}", outcome="success")
        )
    rows.append(
        ExchangeRow(
            run_id="r1",
            seq=99,
            time=T0,
            key="k1",
            operation="chat",
            backend="ollama",
            request={"operation": "chat", "messages": [{"role": "user", "content": "hi"}]},
            response={"model": "m", "content": "hello", "done_reason": "stop", "usage": None},
            error=None,
            duration_s=0.5,
            first_chunk_s=None,
        )
    )
    write_rows(con, rows)  # type: ignore[arg-type]
    con.close()
    return path


def header() -> RecordingHeader:
    return RecordingHeader(service_version="1.2.3", created_at="2026-02-22T00:00:00+00:00", settings={"a": 1})


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export_and_read_back(tmp_path: Path, fmt: str) -> None:
    con = open_database(recorded_database(tmp_path / "db.duckdb"))
    out = tmp_path / f"rec.{fmt}"
    counts = export_recording(con, out, format=fmt, header=header())
    con.close()
    assert counts == {"event": 5, "exchange": 1, "episode": 5}
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
    assert counts == {"event": 2, "exchange": 0, "episode": 2}
    assert [e.id for e in read_recording(out).events] == ["e1", "e2"]


def test_a_duckdb_file_is_a_recording_too(tmp_path: Path) -> None:
    recording = read_recording(recorded_database(tmp_path / "db.duckdb"))
    assert [e.id for e in recording.events] == [f"e{n}" for n in range(5)]
    assert len(recording.exchanges) == 1 and len(recording.episodes) == 5


def write_jsonl(path: Path, lines: list[str], *, last_newline: bool = True) -> Path:
    path.write_text("\n".join(lines) + ("\n" if last_newline else ""), encoding="utf-8")
    return path


def head(version: int = FORMAT_VERSION) -> str:
    return json.dumps({"format": FORMAT_NAME, "version": version, "service_version": "x", "settings": {}})


def item(e: Event) -> str:
    return json.dumps({"kind": "event", "event": json.loads(encode_event(e))})


def test_bad_lines_become_problems_and_the_rest_is_read(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "rec.jsonl",
        [
            head(),
            item(event(0)),
            "{this is not json",
            json.dumps({"kind": "telemetry", "telemetry": {}}),
            json.dumps({"kind": "event", "event": {"id": "x", "type": "t"}}),
            '["a list"]',
            item(event(1)),
            '{"kind": "event", "event": {"id": "e2", "ty',
        ],
        last_newline=False,
    )
    recording = read_recording(path)
    assert [e.id for e in recording.events] == ["e0", "e1"]
    reasons = [p.reason for p in recording.problems]
    assert reasons[0].startswith("malformed line: not JSON")
    assert reasons[1] == "unknown item kind 'telemetry'"
    assert reasons[2].startswith("event: field 'time'")
    assert reasons[3] == "malformed line: not an object"
    assert reasons[4].startswith("truncated last line")
    assert [p.where for p in recording.problems] == [f"rec.jsonl:{n}" for n in (3, 4, 5, 6, 8)]


def test_a_newer_format_is_read_as_far_as_possible(tmp_path: Path) -> None:
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", [head(FORMAT_VERSION + 1), item(event(0))]))
    assert [e.id for e in recording.events] == ["e0"]
    assert "newer than this service reads" in recording.problems[0].reason


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


def test_events_out_of_order_are_put_back_within_the_window_and_refused_beyond_it(tmp_path: Path) -> None:
    lines = [
        head(),
        item(event(1, at=T0 + timedelta(seconds=100))),
        item(event(2, at=T0 + timedelta(seconds=70))),  # 30 s late: reordered
        item(event(3, at=T0 + timedelta(seconds=110))),
        item(event(4, at=T0 + timedelta(seconds=5))),  # 105 s late: refused
        item(event(5, at=T0 + timedelta(seconds=110))),
    ]
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", lines), reorder_window_s=60)
    assert [e.id for e in recording.events] == ["e2", "e1", "e3", "e5"]
    assert len(recording.problems) == 1
    assert "out of order" in recording.problems[0].reason and "e4" in recording.problems[0].raw


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


def test_an_unrelated_sqlite_file_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(RecordingError, match="without the predecessor's episodes table"):
        read_recording(path)


def test_malformed_exchanges_and_episodes_are_problems_not_crashes(tmp_path: Path) -> None:
    lines = [
        head(),
        json.dumps({"kind": "exchange", "exchange": {"key": "k"}}),
        json.dumps({"kind": "episode", "episode": {"id": 5}}),
        json.dumps({"kind": "episode", "episode": {"id": "a", "time": "2026-02-21T12:00:00", "type": "t"}}),
        item(event(0)),
    ]
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", lines), since=T0 - timedelta(days=1))
    assert recording.exchanges == []
    assert [p.reason.split(":")[0] for p in recording.problems] == ["exchange", "episode"]
    assert recording.episodes == []  # the zone-less time is outside any window
    assert [e.id for e in recording.events] == ["e0"]


def test_a_line_longer_than_the_limit_is_refused_without_holding_it(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with path.open("wb") as handle:
        handle.write(head().encode() + b"\n")
        handle.write(b'{"kind": "event", "event": "' + b"x" * (17 * 1024 * 1024) + b'"}\n')
        handle.write(item(event(0)).encode() + b"\n")
    recording = read_recording(path)
    assert [e.id for e in recording.events] == ["e0"]
    assert "longer than" in recording.problems[0].reason
