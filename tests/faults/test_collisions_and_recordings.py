"""Paths that collide, and hostile recordings, given to the real `being` commands: clear refusals, no traceback."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sinks import EpisodeRow, open_database, write_rows
from streams import Event, encode_event
from tests.e2e.service_process import being_command, query, write_config

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

EXIT_USAGE = 2


def _being(*args: str, cwd: Path | None = None, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEING_")}
    return subprocess.run(
        [*being_command(), *args], capture_output=True, text=True, timeout=timeout_s, cwd=cwd, env=env
    )


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


def _a_database_with_a_message(database: Path) -> None:
    con = open_database(database)
    try:
        row = EpisodeRow(id="m1", time=START, type="user.message", description="remember me", outcome="success")
        write_rows(con, [row])
        con.execute("CHECKPOINT")
    finally:
        con.close()


def test_an_inbox_that_is_the_database_exits_2_and_touches_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    database = data / "being.duckdb"
    _a_database_with_a_message(database)
    before = _digest(data)
    (tmp_path / "link.duckdb").symlink_to(database)
    os.link(database, tmp_path / "hard.duckdb")
    for name, inbox in [
        ("the same path", str(database)),
        ("a symlink to it", str(tmp_path / "link.duckdb")),
        ("a hard link to it", str(tmp_path / "hard.duckdb")),
    ]:
        colliding = write_config(tmp_path, inbox={"path": inbox})
        done = _being("run", "--config", str(colliding))
        assert done.returncode == EXIT_USAGE, (name, done.stderr)
        assert done.stderr.count("\n") == 1 and "inbox.path" in done.stderr, (name, done.stderr)
        assert "Traceback" not in done.stderr
        assert _digest(data) == before, f"{name}: the data folder changed"
        assert not list(tmp_path.glob("*.claimed")) and not list(data.glob("*.claimed"))
    assert query(database, "SELECT description FROM episodes WHERE type = 'user.message'") == [("remember me",)]


HEADER = {"format": "digital-being-recording", "version": 1, "settings": {}}
START = datetime(2026, 3, 1, tzinfo=UTC)


def _event_line(n: int, *, when: datetime | None = None, text: str | None = None) -> str:
    kind = "user.message" if text is not None else "tick.heavy"
    payload = {"text": text} if text is not None else {"n": n}
    event = Event(id=f"e{n}", type=kind, time=when or START + timedelta(seconds=n), source="test", payload=payload)
    return json.dumps({"kind": "event", "event": json.loads(encode_event(event))})


def _replay(tmp_path: Path, name: str, lines: list[str]) -> tuple[subprocess.CompletedProcess[str], Path]:
    recording = tmp_path / f"{name}.jsonl"
    recording.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    out = tmp_path / f"{name}.duckdb"
    done = _being("replay", str(recording), "--out", str(out), "--json", "--on-miss", "fallback", cwd=tmp_path)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done, out


def test_a_recording_with_malformed_far_future_and_huge_lines_replays_the_rest(tmp_path: Path) -> None:
    good = [_event_line(n) for n in range(5)]
    hostile = [
        "{not json",
        json.dumps([1, 2, 3]),
        json.dumps({"kind": "event", "event": {"id": "x", "type": "tick.heavy"}}),  # fields missing
        json.dumps({"kind": "nonsense", "nonsense": {}}),
        _event_line(90, when=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),  # year 9999
        json.dumps(
            {
                "kind": "event",
                "event": {
                    "id": "big",
                    "type": "user.message",
                    "time": START.isoformat(),
                    "source": "test",
                    "payload": {"text": "y" * (10 * 1024 * 1024)},
                },
            }
        ),
        "\x00\x01binary garbage\xff",
    ]
    done, out = _replay(tmp_path, "hostile", [json.dumps(HEADER), *good[:2], *hostile, *good[2:]])
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["events"] == len(good)
    assert summary["problems"] == len(hostile)
    # each good heavy tick: the mind (on by default) looked and found nothing changed
    assert query(out, "SELECT count(*) FROM episodes WHERE type = 'mind.idle'") == [(len(good),)]
    # each problem is a dead letter of the replay, and is named on stderr with where it was
    assert query(out, "SELECT count(*) FROM dead_letters") == [(len(hostile),)]
    assert done.stderr.count("(kept as a dead letter)") == len(hostile)


def test_a_recording_with_only_its_header_replays_nothing_cleanly(tmp_path: Path) -> None:
    done, _ = _replay(tmp_path, "header-only", [json.dumps(HEADER)])
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["events"], summary["episodes"], summary["problems"]) == (0, 0, 0)


@pytest.mark.parametrize(
    ("name", "lines", "says"),
    [
        ("empty", [], "empty file"),
        ("no-header", [_event_line(0)], "not a recording"),
    ],
)
def test_what_is_not_a_recording_is_one_clear_line(tmp_path: Path, name: str, lines: list[str], says: str) -> None:
    done, out = _replay(tmp_path, name, lines)
    assert done.returncode == 1
    assert done.stderr.startswith("being replay: ") and done.stderr.count("\n") == 1, done.stderr
    assert says in done.stderr
    assert not out.exists()
