"""Replays of the mind: thoughts and tool calls replay to the same episodes, goals and notes; and
``--intentions FILE`` shows what a changed intentions file changes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from service.cli import main
from service.errors import UsageError
from service.replay import ReplayOptions, ReplayReport, load_intentions, run_replay, with_intentions
from service.replay._run import notes_beside
from service.settings import Settings, load_settings
from sinks import Recording, RecordingHeader, read_recording
from streams import HEAVY_TICK, MIND_INTENTIONS, Event, read_intentions

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
STRETCH = "remind me to stretch every two hours\n"


def _settings(tmp_path: Path, mind: bool = True) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\ndatabase_path = "{tmp_path / "live" / "being.duckdb"}"\n'
        f'[inbox]\npath = "{tmp_path / "live" / "inbox.txt"}"\n'
        "[resilience.rate_limit]\nenabled = false\n[resilience.budget]\nenabled = false\n"
        f"[mind]\nenabled = {'true' if mind else 'false'}\n",
        encoding="utf-8",
    )
    return load_settings(path, env={})


def _intentions_event(text: str, seconds: float = 0.5) -> Event:
    payload = {"text": text, "sha256": "0" * 64, "bytes": len(text.encode()), "truncated": False, "path": "i.md"}
    return Event(
        id="intent0", type=MIND_INTENTIONS, time=T0 + timedelta(seconds=seconds), source="intentions", payload=payload
    )


def _recording(*, intentions: bool = True) -> Recording:
    """An hour of heavy ticks every five minutes, the intentions at the start, a message every ten minutes."""
    events: list[Event] = [_intentions_event(STRETCH)] if intentions else []
    for n in range(12):
        at = T0 + timedelta(minutes=5 * (n + 1))
        events.append(Event(id=f"h{n}", type=HEAVY_TICK, time=at, source="ticks", payload={"n": n}))
        if n % 2 == 1:
            text = f"message {n}: how is the day going?"
            events.append(
                Event(
                    id=f"m{n}",
                    type="user.message",
                    time=at + timedelta(seconds=30),
                    source="inbox",
                    payload={"text": text},
                )
            )
    return Recording(header=RecordingHeader(source="test"), events=events)


def _replay(settings: Settings, recording: Recording, out: Path, **options: Any) -> ReplayReport:
    report = asyncio.run(run_replay(settings, recording, ReplayOptions(out=out, **options), install_signals=False))
    assert report.miss is None and not report.interrupted
    return report


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _episodes(path: Path) -> list[tuple[Any, ...]]:
    return _rows(path, "SELECT id, time, type, description, outcome, data::VARCHAR FROM episodes ORDER BY time, id")


def _files(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_with_intentions_replaces_every_recorded_change_keeping_ids_and_times(tmp_path: Path) -> None:
    file = tmp_path / "other.md"
    file.write_text("summarise what you learnt each evening", encoding="utf-8")
    said = load_intentions(file, max_bytes=16_384)
    recording = _recording()
    cleared = _intentions_event("", seconds=1800.0)
    recording.events.insert(
        8, Event(id="intent1", type=cleared.type, time=cleared.time, source=cleared.source, payload=cleared.payload)
    )
    changed, replaced = with_intentions(recording, said, file)
    assert replaced == 2
    before = [e for e in recording.events if e.type == MIND_INTENTIONS]
    after = [e for e in changed.events if e.type == MIND_INTENTIONS]
    assert [(e.id, e.time) for e in after] == [(e.id, e.time) for e in before]
    assert all(e.payload == said.payload(file) for e in after)
    assert [e for e in changed.events if e.type != MIND_INTENTIONS] == [
        e for e in recording.events if e.type != MIND_INTENTIONS
    ]
    assert before[0].payload["text"] == STRETCH  # the recording itself is left as it was


def test_a_recording_without_intentions_gets_them_at_its_first_event(tmp_path: Path) -> None:
    file = tmp_path / "i.md"
    file.write_bytes(b"be brief")
    recording = _recording(intentions=False)
    changed, replaced = with_intentions(recording, read_intentions(file, 100), file)
    assert replaced == 0
    first = changed.events[0]
    assert first.type == MIND_INTENTIONS and first.time == recording.events[0].time
    assert first.payload["text"] == "be brief"
    assert changed.events[1:] == recording.events


def test_an_intentions_file_that_cannot_be_read_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "folder.md").mkdir()
    with pytest.raises(UsageError, match="--intentions .*folder.md: .* is not a regular file: it is a directory"):
        load_intentions(tmp_path / "folder.md", max_bytes=100)
    (tmp_path / "target.md").write_text("x", encoding="utf-8")
    (tmp_path / "link.md").symlink_to(tmp_path / "target.md")
    with pytest.raises(UsageError, match="symbolic link"):
        load_intentions(tmp_path / "link.md", max_bytes=100)


def test_the_replay_command_refuses_a_missing_intentions_file_before_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "rec.jsonl"
    source.write_text("", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\ndatabase_path = "{tmp_path / "live.duckdb"}"\n', encoding="utf-8")
    code = main(
        [
            "replay",
            str(source),
            "--out",
            str(tmp_path / "out.duckdb"),
            "--intentions",
            str(tmp_path / "nope.md"),
            "--config",
            str(config),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err == f"being replay: --intentions {tmp_path / 'nope.md'}: no such file\n"
    assert not (tmp_path / "out.duckdb").exists()


def test_a_replay_never_writes_notes_into_a_folder_that_exists(tmp_path: Path) -> None:
    out = tmp_path / "out.duckdb"
    notes_beside(out).mkdir()
    with pytest.raises(UsageError, match="out.duckdb.notes exists"):
        asyncio.run(run_replay(_settings(tmp_path), _recording(), ReplayOptions(out=out), install_signals=False))
    assert not out.exists()


def test_compare_with_another_intentions_file_shows_the_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path)
    first = tmp_path / "first.duckdb"
    _replay(settings, _recording(), first, llm="simulator")
    other = tmp_path / "other.md"
    other.write_text("summarise what you learnt each evening\n", encoding="utf-8")
    config = tmp_path / "config.toml"
    out = tmp_path / "changed.duckdb"
    code = main(
        [
            "replay",
            str(first),
            "--out",
            str(out),
            "--llm",
            "simulator",
            "--compare",
            "--json",
            "--intentions",
            str(other),
            "--config",
            str(config),
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert f"intentions from {other} (39 bytes) in place of 1 recorded change(s)" in captured.err
    summary = json.loads(captured.out)
    changed = [c for c in summary["compare"]["changed"] if c.get("type") == MIND_INTENTIONS]
    assert len(changed) == 1
    texts = _rows(out, "SELECT data->>'text' FROM episodes WHERE type = 'mind.intentions'")
    assert texts == [("summarise what you learnt each evening\n",)]
    assert summary["compare"]["identical"] is False


def test_a_recording_with_thoughts_and_tool_calls_replays_to_the_same_episodes_goals_and_notes(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    first = tmp_path / "first.duckdb"
    _replay(settings, _recording(), first, llm="simulator")
    kinds = [row[2] for row in _episodes(first)]
    assert "mind.thought" in kinds and "mind.action" in kinds
    assert "mind.idle" in kinds  # ticks after nothing changed cost no call
    recording = read_recording(first)
    second, third = tmp_path / "second.duckdb", tmp_path / "third.duckdb"
    _replay(settings, recording, second)  # the recorded answers
    _replay(settings, recording, third)
    assert _episodes(second) == _episodes(first)
    assert _episodes(third) == _episodes(second)
    goals = "SELECT id, text, status, due, created, done FROM goals ORDER BY id"
    assert _rows(second, goals) == _rows(first, goals)
    assert _rows(third, "SELECT * FROM memory_blocks ORDER BY name") == _rows(
        first, "SELECT * FROM memory_blocks ORDER BY name"
    )
    assert _files(notes_beside(second)) == _files(notes_beside(first))
    assert _files(notes_beside(third)) == _files(notes_beside(first))


def test_an_idle_recorded_hour_replays_without_a_call(tmp_path: Path) -> None:
    events = [
        Event(id=f"h{n}", type=HEAVY_TICK, time=T0 + timedelta(minutes=n), source="ticks", payload={"n": n})
        for n in range(60)
    ]
    out = tmp_path / "idle.duckdb"
    report = _replay(
        _settings(tmp_path), Recording(header=RecordingHeader(source="idle"), events=events), out, llm="simulator"
    )
    assert report.llm_calls == 0
    assert _rows(out, "SELECT count(*) FROM episodes WHERE type = 'mind.idle'") == [(60,)]
