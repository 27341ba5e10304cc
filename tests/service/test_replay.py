"""being replay in process: the live wiring on virtual time, deterministic, compared, and honest about misses."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from llm import ChatResult, Message
from service.errors import UsageError
from service.replay import (
    ReplayClockError,
    ReplayOptions,
    ReplayReport,
    ReplayScheduler,
    check_replay_clock,
    compare_episodes,
    longest_wait,
    run_replay,
)
from service.settings import Settings, load_settings
from sinks import Recording, RecordingHeader, RecordingProblem, read_recording
from streams import Event
from tests.fake_chat import FakeChatBackend

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def settings_for(tmp_path: Path, extra: str = "") -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\ndatabase_path = "{tmp_path / "live.duckdb"}"\n'
        "[resilience.rate_limit]\nenabled = false\n[resilience.budget]\nenabled = false\n"
        "[mind]\nenabled = false\n" + extra,  # the mind's replays: tests/service/test_replay_mind.py
        encoding="utf-8",
    )
    return load_settings(path, env={})


def ev(number: int, kind: str, seconds: float, **payload: Any) -> Event:
    return Event(id=f"e{number}", type=kind, time=T0 + timedelta(seconds=seconds), source="inbox", payload=payload)


def base_recording() -> Recording:
    events = [
        ev(0, "tick.light", 0),
        ev(1, "user.message", 1, text="hello there"),
        ev(2, "tick.heavy", 60, n=0),
        ev(3, "user.urgent", 61, text="the disk is full"),
        ev(4, "input.invalid", 62, reason="undecodable: bad byte", raw="\\xff"),
        ev(5, "telemetry.unknown", 63),
        ev(6, "user.message", 120, text="hello there"),
        ev(7, "tick.heavy", 3600, n=1),
    ]
    return Recording(header=RecordingHeader(source="test"), events=events)


def replay(settings: Settings, recording: Recording, out: Path, **options: Any) -> ReplayReport:
    return asyncio.run(run_replay(settings, recording, ReplayOptions(out=out, **options), install_signals=False))


def episodes(path: Path) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "SELECT id, time, type, description, outcome, data::VARCHAR FROM episodes ORDER BY time, id"
        ).fetchall()
    finally:
        con.close()


def scalar(path: Path, sql: str) -> Any:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute(sql).fetchone()
        return row[0] if row else None
    finally:
        con.close()


@pytest.fixture
def simulated(tmp_path: Path) -> tuple[Settings, Path]:
    """A replay answered by the simulator: its output is a recording with LLM exchanges."""
    settings = settings_for(tmp_path)
    out = tmp_path / "simulated.duckdb"
    report = replay(settings, base_recording(), out, llm="simulator")
    assert report.miss is None and not report.interrupted
    return settings, out


def test_the_live_routes_run_on_virtual_time(simulated: tuple[Settings, Path]) -> None:
    _, out = simulated
    rows = episodes(out)
    kinds = [(r[2], r[4]) for r in rows]
    assert kinds.count(("user.reply", "success")) == 3
    assert ("heavy_tick.observe", "success") in kinds
    assert scalar(out, "SELECT count(*) FROM dead_letters") == 2  # the invalid input and the unknown type
    assert scalar(out, "SELECT count(*) FROM events") == 8
    # three calls: the second "hello there" is asked with the first exchange in its context, another prompt
    assert scalar(out, "SELECT count(*) FROM llm_exchanges") == 3
    reply_times = [r[1] for r in rows if r[2] == "user.reply"]
    assert reply_times == [T0 + timedelta(seconds=s) for s in (1, 61, 120)]  # an answer takes no virtual time


def test_replaying_the_recorded_answers_gives_the_same_episodes_twice(
    simulated: tuple[Settings, Path], tmp_path: Path
) -> None:
    settings, first = simulated
    recording = read_recording(first)
    second = tmp_path / "second.duckdb"
    third = tmp_path / "third.duckdb"
    report = replay(settings, recording, second)
    assert report.miss is None and report.llm_calls == 3
    replay(settings, recording, third)
    assert episodes(second) == episodes(first)
    assert episodes(third) == episodes(second)


def test_compare_shows_what_a_changed_setting_changes(simulated: tuple[Settings, Path], tmp_path: Path) -> None:
    _, first = simulated
    quiet = settings_for(tmp_path, "[reply]\nenabled = false\n")
    out = tmp_path / "quiet.duckdb"
    replay(quiet, read_recording(first), out)
    result = compare_episodes(read_recording(first).episodes, read_recording(out).episodes)
    deltas = {(c["type"], c["outcome"]): c["delta"] for c in result.counts}
    assert deltas[("user.reply", "success")] == -3
    assert deltas[("user.message", "success")] == 0
    assert {e["type"] for e in result.only_in_a} == {"user.reply"}
    assert result.only_in_b == [] and result.changed == []


def test_a_request_the_recording_cannot_answer_stops_the_replay(tmp_path: Path) -> None:
    report = replay(settings_for(tmp_path), base_recording(), tmp_path / "out.duckdb")
    assert report.miss is not None and "chat" in report.miss
    assert not report.interrupted


def test_with_on_miss_fallback_the_fallback_answers(tmp_path: Path) -> None:
    out = tmp_path / "out.duckdb"
    report = replay(settings_for(tmp_path), base_recording(), out, on_miss="fallback")
    assert report.miss is None
    replies = [r for r in episodes(out) if r[2] == "user.reply"]
    assert [r[4] for r in replies] == ["fallback"] * 3
    assert scalar(out, "SELECT count(*) FROM dead_letters WHERE source = 'llm:llm'") == 3


def test_problems_of_the_recording_become_dead_letters(tmp_path: Path) -> None:
    recording = base_recording()
    recording.problems.append(RecordingProblem("rec.jsonl:7", "malformed line: not JSON", "{oops"))
    out = tmp_path / "out.duckdb"
    replay(settings_for(tmp_path), recording, out, on_miss="fallback")
    assert scalar(out, "SELECT raw FROM dead_letters WHERE source = 'replay'") == "{oops"


def test_the_output_is_always_a_new_file(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    existing = tmp_path / "exists.duckdb"
    existing.write_bytes(b"")
    with pytest.raises(UsageError, match="exists"):
        replay(settings, base_recording(), existing)
    with pytest.raises(UsageError, match="storage.database_path"):
        replay(settings, base_recording(), Path(settings.storage.database_path))
    with pytest.raises(UsageError, match="WAL"):
        replay(settings, base_recording(), Path(settings.storage.database_path + ".wal"))


class SlowBackend(FakeChatBackend):
    """Answers after a real delay: the replay must not let virtual timeouts fire meanwhile."""

    name = "slow"

    def __init__(self) -> None:
        self.calls = 0

    async def answer(self, messages: Sequence[Message]) -> ChatResult:
        self.calls += 1
        await asyncio.sleep(0.05)
        return ChatResult(model="slow", content=f"answer to {messages[-1].content}")


def test_a_slow_answer_takes_no_virtual_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import service.replay._run as run_module

    backend = SlowBackend()
    monkeypatch.setattr(run_module, "backend_from_settings", lambda *_args, **_kw: backend)
    settings = settings_for(tmp_path, "[resilience.timeout]\ntimeout_s = 0.001\n")
    out = tmp_path / "out.duckdb"
    replay(settings, base_recording(), out, llm="live")
    replies = [r for r in episodes(out) if r[2] == "user.reply"]
    assert backend.calls == 3  # each "hello there" with what the being remembers by then
    assert [r[4] for r in replies] == ["success"] * 3


def test_the_clock_check_names_the_event_a_replay_cannot_hold(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    far = Event(id="far", type="tick.heavy", time=datetime(9999, 12, 31, 23, 0, tzinfo=UTC), source="ticks")
    with pytest.raises(ReplayClockError, match="event 'far': 9999-12-31T23:00:00") as info:
        check_replay_clock([*base_recording().events, far], settings)
    assert info.value.setting is None
    check_replay_clock(base_recording().events, settings)  # a sound recording passes
    check_replay_clock([], settings)


def test_the_clock_check_names_the_setting_whose_wait_is_too_long(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "[resilience.breaker]\nopen_for_s = 1e300\nopen_for_max_s = 1e300\n")
    assert longest_wait(settings) == ("resilience.breaker.open_for_s", 1e300)
    with pytest.raises(ReplayClockError, match=r"resilience.breaker.open_for_s = 1e\+300s") as info:
        check_replay_clock(base_recording().events, settings)
    assert info.value.setting == "resilience.breaker.open_for_s"
    assert longest_wait(settings_for(tmp_path), {"batch": 1e9}) == ("batch", 1e9)
    with pytest.raises(ReplayClockError, match="nan"):
        check_replay_clock(base_recording().events, settings_for(tmp_path), waits_s={"odd": float("nan")})


def test_the_virtual_clock_refuses_a_time_it_cannot_hold_with_its_own_error() -> None:
    scheduler = ReplayScheduler(datetime(9999, 12, 31, 23, 30, tzinfo=UTC))
    with pytest.raises(ReplayClockError, match="cannot hold 9999-12-31 23:30:00"):
        scheduler.schedule_relative(3600.0, lambda _s, _st: None)
    scheduler.schedule_relative(60.0, lambda _s, _st: None)  # what it can hold is scheduled as before
    assert scheduler.next_due() == datetime(9999, 12, 31, 23, 31, tzinfo=UTC)
