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


def event_line(event_id: str, time: str, kind: str = "tick.heavy", **payload: object) -> str:
    body = {"id": event_id, "type": kind, "time": time, "source": "ticks", "payload": payload}
    return json.dumps({"kind": "event", "event": body})


def test_events_the_virtual_clock_cannot_hold_are_problems_naming_the_event_and_its_time(tmp_path: Path) -> None:
    lines = [
        head(),
        event_line("far", "9999-12-31T23:59:59+00:00"),
        event_line("first", "0001-01-01T00:00:00+00:00"),
        event_line("ancient", "0099-12-31T23:59:59+00:00"),
        event_line("before-utc", "0001-01-01T00:00:00+01:00"),
        item(event(0)),
    ]
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", lines))
    assert [e.id for e in recording.events] == ["e0"]
    problems = {p.where: p.reason for p in recording.problems}
    assert problems["event 'far'"].startswith(
        "9999-12-31T23:59:59+00:00 is outside the times a replay's virtual clock holds"
        " (0100-01-01T00:00:00+00:00 to 9900-01-01T00:00:00+00:00); not replayed"
    )
    assert "0001-01-01T00:00:00+00:00 is outside" in problems["event 'first'"]
    assert "0099-12-31T23:59:59+00:00 is outside" in problems["event 'ancient'"]
    assert "beyond the years 1 to 9999" in problems["rec.jsonl:5"]
    assert json.loads(next(p.raw for p in recording.problems if p.where == "event 'far'"))["id"] == "far"


def test_a_repeated_id_is_refused_unless_the_copy_is_a_recovery(tmp_path: Path) -> None:
    lines = [
        head(),
        event_line("a", "2026-02-21T12:00:00+00:00", "user.message", text="hi", recovered=False),
        event_line("a", "2026-02-21T12:00:00+00:00", "user.message", text="hi", recovered=False),  # a pasted line
        event_line("a", "2026-02-21T12:05:00+00:00", "user.message", text="hi", recovered=True),  # the restart
        event_line("a", "2026-02-21T12:06:00+00:00", "user.message", text="hi", recovered="yes"),
    ]
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", lines))
    assert [(e.id, e.payload["recovered"]) for e in recording.events] == [("a", False), ("a", True)]
    assert [p.where for p in recording.problems] == ["event 'a'", "event 'a'"]
    assert recording.problems[0].reason == (
        "at 2026-02-21T12:00:00+00:00: its id was already read (at 2026-02-21T12:00:00+00:00)"
        " and this copy does not say recovered: true; not replayed"
    )


def exchange_line(**changes: object) -> str:
    body: dict[str, object] = {
        "key": "k",
        "operation": "chat",
        "backend": "ollama",
        "request": {"messages": []},
        "response": {"content": "hello"},
        "error": None,
        "duration_s": 0.5,
        "first_chunk_s": None,
    }
    body.update(changes)
    return json.dumps({"kind": "exchange", "exchange": body})


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (exchange_line(duration_s=float("nan")), "exchange: field duration_s: expected seconds"),
        (exchange_line(duration_s=float("inf")), "exchange: field duration_s: expected seconds"),
        (exchange_line(duration_s=-1), "exchange: field duration_s: expected seconds"),
        (exchange_line(duration_s=True), "exchange: field duration_s: expected seconds"),
        (exchange_line(first_chunk_s="soon"), "exchange: field first_chunk_s: expected seconds"),
        (exchange_line(error="boom"), "exchange: field error: expected an object or null"),
        (
            exchange_line(error={"type": "OverloadedError", "message": "busy", "retry_after_s": float("nan")}),
            "exchange: error.retry_after_s: expected seconds",
        ),
        (exchange_line(response={"content": 10**40}), "exchange: exchange.response.content: integer"),
        (exchange_line(response=json.loads("[" * 100 + "]" * 100)), "nested deeper than 64 levels"),
        (
            '{"kind": "exchange", "exchange": {"key": "k", "operation": "chat", "backend": "b", "request": {},'
            ' "duration_s": 1, "response": {"content": "\\ud800"}}}',
            "text is not valid Unicode",
        ),
        ('{"kind": "episode", "episode": {"id": "\\udc00", "time": "t", "type": "t"}}', "episode: episode.id: text"),
        (event_line("x", "2026-02-21T12:00:00+00:00", n=10**30), "event: field payload.n: integer"),
        (json.dumps({"kind": ["event"], "event": {}}), "unknown item kind ['event']"),
    ],
)
def test_exchanges_episodes_and_events_a_replay_could_not_store_are_problems(
    tmp_path: Path, line: str, reason: str
) -> None:
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", [head(), line, item(event(0))]))
    assert [e.id for e in recording.events] == ["e0"]
    assert recording.exchanges == [] and recording.episodes == []
    assert len(recording.problems) == 1
    assert recording.problems[0].reason.startswith(reason) or reason in recording.problems[0].reason
    assert recording.problems[0].where == "rec.jsonl:2"


def test_a_sound_exchange_with_a_retry_after_is_kept(tmp_path: Path) -> None:
    line = exchange_line(error={"type": "OverloadedError", "message": "busy", "retry_after_s": 2}, response=None)
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", [head(), line]))
    assert recording.problems == [] and len(recording.exchanges) == 1


@pytest.mark.parametrize("window", [float("nan"), float("inf"), -1.0])
def test_a_reorder_window_must_be_finite_seconds(tmp_path: Path, window: float) -> None:
    with pytest.raises(ValueError, match="reorder_window_s: expected a finite number of seconds >= 0"):
        read_recording(write_jsonl(tmp_path / "rec.jsonl", [head()]), reorder_window_s=window)


def test_a_huge_reorder_window_takes_any_order(tmp_path: Path) -> None:
    lines = [head(), item(event(1, at=T0 + timedelta(days=3650))), item(event(2, at=T0))]
    recording = read_recording(write_jsonl(tmp_path / "rec.jsonl", lines), reorder_window_s=1e300)
    assert [e.id for e in recording.events] == ["e2", "e1"] and recording.problems == []


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
