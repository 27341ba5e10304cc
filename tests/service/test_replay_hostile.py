"""Hostile recordings through `being replay`: each gives a clear one-line error or problem rows, never a traceback.

A problem row is a dead letter of source ``replay`` in the output; every sound event of the
same recording still replays. A file that is not a recording at all is refused before anything
is written (exit 1); a value the command cannot use is refused by its parser (exit 2).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

import runtime
from sinks import FORMAT_NAME

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HEADER = json.dumps({"format": FORMAT_NAME, "version": 1, "service_version": "test", "settings": {}})
GOOD = 2  # every recording below ends with two sound heavy ticks


def tick(n: int, at: datetime | str | None = None, **changes: object) -> str:
    moment = at if isinstance(at, str) else (at or T0 + timedelta(seconds=n)).isoformat()
    body: dict[str, object] = {"id": f"t{n}", "type": "tick.heavy", "time": moment, "source": "ticks"}
    body["payload"] = {"n": n}
    body.update(changes)
    return json.dumps({"kind": "event", "event": body})


def sound() -> list[str]:
    return [tick(100, T0 + timedelta(minutes=10)), tick(101, T0 + timedelta(minutes=11))]


def exchange(**changes: object) -> str:
    body: dict[str, object] = {"key": "k", "operation": "chat", "backend": "ollama", "request": {}, "duration_s": 1.0}
    body.update(changes)
    return json.dumps({"kind": "exchange", "exchange": body})


def write(path: Path, lines: list[str], *, end: str = "\n") -> Path:
    path.write_text("\n".join(lines) + end, encoding="utf-8")
    return path


def config(folder: Path, extra: str = "") -> Path:
    path = folder / "config.toml"
    # the mind off: these recordings are about bad input, and count the heavy ticks' observe episodes
    path.write_text(
        f'[storage]\ndatabase_path = "{folder / "live.duckdb"}"\n[mind]\nenabled = false\n' + extra, encoding="utf-8"
    )
    return path


def replay(
    folder: Path, source: Path, capsys: pytest.CaptureFixture[str], *args: str, extra: str = ""
) -> tuple[int, str, str]:
    argv = ["replay", str(source), "--config", str(config(folder, extra)), "--out", str(folder / "out.duckdb")]
    code = runtime.main([*argv, "--on-miss", "fallback", *args])
    captured = capsys.readouterr()
    for line in captured.err.splitlines():
        assert line.startswith("being replay: "), captured.err  # one line each, never a traceback
    return code, captured.out, captured.err


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def problem_rows(folder: Path) -> list[str]:
    return [r[0] for r in rows(folder / "out.duckdb", "SELECT reason FROM dead_letters WHERE source = 'replay'")]


def observed(folder: Path) -> int:
    found = rows(folder / "out.duckdb", "SELECT count(*) FROM episodes WHERE type = 'heavy_tick.observe'")
    return int(found[0][0])


BIG = 10 * 1024 * 1024

HOSTILE: dict[str, tuple[list[str], str]] = {
    "not JSON": (["{this is not json"], "malformed line: not JSON"),
    "a list, not an object": (['["a", "list"]'], "malformed line: not an object"),
    "binary noise": (["\x00\x01\x02 garbage \x7f"], "malformed line: not JSON"),
    "an unknown kind": ([json.dumps({"kind": "telemetry", "telemetry": {}})], "unknown item kind 'telemetry'"),
    "a numeric id": ([tick(1, id=5)], "field 'id': expected a non-empty string, got 5"),
    "a numeric time": ([tick(1, at="x", time=1772355600)], "field 'time': expected a non-empty string"),
    "a list payload": ([tick(1, payload=[1, 2])], "field 'payload': expected an object, got list"),
    "an event that is a string": ([json.dumps({"kind": "event", "event": "tick"})], "expected a JSON object"),
    "a naive time": ([tick(1, "2026-03-01T09:00:00")], "expected a time with a zone"),
    "a NaN time": ([tick(1, "NaN")], "not an ISO 8601 time"),
    "year 9999": ([tick(1, "9999-12-31T23:59:59+00:00")], "9999-12-31T23:59:59+00:00 is outside the times"),
    "year 1": ([tick(1, "0001-01-01T00:00:00+00:00")], "0001-01-01T00:00:00+00:00 is outside the times"),
    "before year 1 in UTC": ([tick(1, "0001-01-01T00:00:00+01:00")], "beyond the years 1 to 9999"),
    "a NaN in the payload": (
        [
            '{"kind": "event", "event": {"id": "n", "type": "t", "time": "2026-03-01T09:00:00Z", "source": "s",'
            ' "payload": {"v": NaN}}}'
        ],
        "NaN is not valid JSON",
    ),
    "a huge number in the payload": ([tick(1, payload={"n": 10**40})], "does not fit in 64 bits"),
    "1e999 in the payload": (
        [
            '{"kind": "event", "event": {"id": "n", "type": "t", "time": "2026-03-01T09:00:00Z", "source": "s",'
            ' "payload": {"v": 1e999}}}'
        ],
        "Infinity is not valid JSON",
    ),
    "a deep payload": ([tick(1, payload={"n": json.loads("[" * 200 + "]" * 200)})], "nested deeper than 64 levels"),
    "a lone surrogate": ([tick(1, payload={"text": "\ud800"})], "text is not valid Unicode"),
    "a duplicated id": ([tick(1), tick(1, T0 + timedelta(seconds=5))], "its id was already read"),
    "an exchange with a NaN duration": ([exchange(duration_s=float("nan"))], "field duration_s: expected seconds"),
    "an exchange with a string retry_after": (
        [exchange(error={"type": "OverloadedError", "message": "busy", "retry_after_s": "soon"})],
        "error.retry_after_s: expected seconds",
    ),
    "a 10 MB event line": ([tick(1, payload={"text": "x" * BIG})], "more than the 1048576 allowed"),
    "a 10 MB line of noise": (["{" + "x" * BIG], "malformed line: not JSON"),
    "an episode without an id": ([json.dumps({"kind": "episode", "episode": {"time": "t", "type": "t"}})], "episode"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_item_is_a_problem_row_and_the_rest_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    lines, reason = HOSTILE[name]
    source = write(tmp_path / "rec.jsonl", [HEADER, *lines, *sound()])
    code, out, err = replay(tmp_path, source, capsys)
    assert code == 0, err
    assert any(reason in r for r in problem_rows(tmp_path)), (problem_rows(tmp_path), reason)
    assert reason in err or "more problems" in err
    assert "problems of the recording (kept as dead letters)" in out
    expected = GOOD + (1 if name == "a duplicated id" else 0)  # the first of the two is sound
    assert observed(tmp_path) == expected


def test_a_truncated_last_line_is_a_problem_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write(tmp_path / "rec.jsonl", [HEADER, *sound(), tick(3)[:-20]], end="")
    code, _, _ = replay(tmp_path, source, capsys)
    assert code == 0
    assert any(r.startswith("truncated last line") for r in problem_rows(tmp_path))
    assert observed(tmp_path) == GOOD


def test_a_header_only_recording_replays_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = replay(tmp_path, write(tmp_path / "rec.jsonl", [HEADER]), capsys, "--compare")
    assert code == 0
    assert "replayed 0 events" in out and "(identical)" in out


def not_utf8(path: Path) -> Path:
    path.write_bytes(b"\xff\xfe\x00garbage\x00" * 100)
    return path


def truncated_parquet(path: Path) -> Path:
    path.write_bytes(b"PAR1" + b"\x00" * 64)
    return path


def unrelated_database(path: Path) -> Path:
    duckdb.connect(str(path)).close()
    return path


def unrelated_sqlite(path: Path) -> Path:
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    return path


NOT_RECORDINGS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "an empty file": (lambda p: write(p, [], end=""), "empty file, not a recording"),
    "blank lines only": (lambda p: write(p, ["", "   ", ""]), "empty file, not a recording"),
    "a header that is not JSON": (lambda p: write(p, ["{nope"]), "the header is not JSON"),
    "another format": (lambda p: write(p, [json.dumps({"format": "other", "version": 1})]), "not a recording"),
    "a version that is not a number": (
        lambda p: write(p, [json.dumps({"format": FORMAT_NAME, "version": "1"})]),
        "not a positive integer",
    ),
    "bytes that are not text": (not_utf8, "the header is not JSON"),
    "a truncated Parquet file": (truncated_parquet, "not a readable Parquet file"),
    "a database without events": (unrelated_database, "has no events table"),
    "an unrelated SQLite file": (unrelated_sqlite, "without the predecessor's episodes table"),
}


@pytest.mark.parametrize("name", list(NOT_RECORDINGS))
def test_a_file_that_is_not_a_recording_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    make, message = NOT_RECORDINGS[name]
    code, out, err = replay(tmp_path, make(tmp_path / "source.bin"), capsys)
    assert code == 1
    assert out == "" and len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "out.duckdb").exists()


def test_a_missing_source_and_a_missing_baseline_are_refused_before_replaying(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = replay(tmp_path, tmp_path / "nope.jsonl", capsys)
    assert code == 2 and "no such file" in err
    source = write(tmp_path / "rec.jsonl", [HEADER, *sound()])
    code, _, err = replay(tmp_path, source, capsys, "--compare", "--against", str(tmp_path / "other.duckdb"))
    assert code == 2 and "other.duckdb: no such file" in err
    assert not (tmp_path / "out.duckdb").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--reorder-window-s", "nan"],
        ["--reorder-window-s", "inf"],
        ["--reorder-window-s", "-1"],
        ["--reorder-window-s", "1e999"],
        ["--speed", "inf"],
        ["--speed", "nan"],
        ["--speed", "0"],
        ["--from", "2026-03-01T09:00:00"],
    ],
)
def test_values_the_command_cannot_use_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    source = write(tmp_path / "rec.jsonl", [HEADER, *sound()])
    with pytest.raises(SystemExit) as exited:
        runtime.main(["replay", str(source), "--out", str(tmp_path / "out.duckdb"), *args])
    assert exited.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "out.duckdb").exists()


def test_a_huge_reorder_window_takes_the_events_in_any_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path / "rec.jsonl", [HEADER, tick(1, T0 + timedelta(days=3650)), tick(2, T0)])
    code, _, err = replay(tmp_path, source, capsys, "--reorder-window-s", "1e300")
    assert code == 0, err
    assert observed(tmp_path) == 2


def test_a_setting_longer_than_the_virtual_clock_can_wait_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(tmp_path / "rec.jsonl", [HEADER, *sound()])
    extra = "[resilience.breaker]\nopen_for_s = 1e300\nopen_for_max_s = 1e300\n"
    code, _, err = replay(tmp_path, source, capsys, extra=extra)
    assert code == 2
    assert err.splitlines() == [
        "being replay: resilience.breaker.open_for_s = 1e+300s: a replay from 2026-03-01T09:10:00+00:00"
        " to 2026-03-01T09:11:00+00:00 cannot wait that long on its virtual clock (years 1 to 9999); set it shorter"
    ]
    assert not (tmp_path / "out.duckdb").exists()


def legacy_database(path: Path, timestamp: str) -> Path:
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE episodes (id INTEGER PRIMARY KEY, timestamp TEXT, event_type TEXT, description TEXT,"
        " outcome TEXT, data TEXT)"
    )
    con.execute("INSERT INTO episodes VALUES (1, ?, 'user.message', 'hello', 'success', '{}')", [timestamp])
    con.execute("INSERT INTO episodes VALUES (2, '2026-03-01T12:00:00', 'user.message', 'hi', 'success', '{}')")
    con.commit()
    con.close()
    return path


def test_the_predecessors_year_9999_is_a_problem_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = legacy_database(tmp_path / "episodes.db", "9999-12-31T23:00:00")
    code, _, err = replay(tmp_path, source, capsys, "--llm", "simulator")
    assert code == 0, err
    assert any("9999-12-31T23:00:00+00:00 is outside the times" in r for r in problem_rows(tmp_path))
    assert rows(tmp_path / "out.duckdb", "SELECT description FROM episodes WHERE type = 'user.message'") == [("hi",)]


def test_the_predecessors_year_1_in_a_zone_east_of_utc_is_a_problem_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = legacy_database(tmp_path / "episodes.db", "0001-01-01T00:00:00")
    extra = '[memory.legacy]\ntime_zone = "Europe/Moscow"\n'
    code, _, err = replay(tmp_path, source, capsys, "--llm", "simulator", extra=extra)
    assert code == 0, err
    assert len(problem_rows(tmp_path)) == 1
