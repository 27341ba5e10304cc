"""Seeds in replays: each recorded run starts from its own seed only; a bad seed stops the replay before any write."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from llm import LexicalEmbedder
from service.cli import main
from service.replay import ReplayOptions, run_replay
from service.settings import Settings, load_settings
from sinks import GoalRow, RecordedSeed, SeedVector, read_recording, seed_rows
from streams import HEAVY_TICK, Event, encode_event

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RESTART = T0 + timedelta(hours=1)


def _settings(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\ndatabase_path = "{tmp_path / "live" / "being.duckdb"}"\n'
        f'[inbox]\npath = "{tmp_path / "live" / "inbox.txt"}"\n'
        "[resilience.rate_limit]\nenabled = false\n[resilience.budget]\nenabled = false\n"
        "[mind]\nenabled = true\n",
        encoding="utf-8",
    )
    return path


def _goal(goal_id: str, text: str, at: datetime) -> GoalRow:
    return GoalRow(id=goal_id, text=text, status="open", due=at, created=at, done=None, time=at, source="user")


def _seed(run_id: str, at: datetime, goal: GoalRow, memory: str) -> RecordedSeed:
    return RecordedSeed(
        run_id=run_id,
        time=at,
        goals=(goal,),
        blocks={"self": f"I am the being of {run_id}."},
        vectors=(
            SeedVector(id=f"v-{run_id}", text=memory, type="user.message", created_at=at, episode_id=None, sender=None),
        ),
        embedder=LexicalEmbedder(384).name,
        vectors_sha256="0" * 64,  # not the real digest: the replay says so, and replays on
    )


def _lines(seed: RecordedSeed) -> list[str]:
    return [
        json.dumps(
            {
                "kind": "seed",
                "seed": {"run_id": r.run_id, "time": r.time.isoformat(), "seq": r.seq, "part": r.part, "body": r.body},
            }
        )
        for r in seed_rows(seed)
    ]


def _tick(n: int, at: datetime) -> str:
    event = Event(id=f"h{n}", type=HEAVY_TICK, time=at, source="ticks", payload={"n": n})
    return json.dumps({"kind": "event", "event": json.loads(encode_event(event))})


def _recording(path: Path, *seeds: RecordedSeed) -> Path:
    """Two runs an hour apart, each with a heavy tick a minute in; ``seeds`` as given."""
    header = json.dumps({"format": "digital-being-recording", "version": 2, "service_version": "x", "settings": {}})
    lines = [header, _tick(0, T0 + timedelta(minutes=1)), _tick(1, RESTART + timedelta(minutes=1))]
    for seed in seeds:
        lines += _lines(seed)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _thoughts(out: Path) -> list[str]:
    con = duckdb.connect(str(out), read_only=True)
    try:
        rows = con.execute(
            "SELECT request::VARCHAR FROM llm_exchanges WHERE request::VARCHAR LIKE '%What changed since%' ORDER BY seq"
        ).fetchall()
    finally:
        con.close()
    return [json.loads(r[0])["messages"][-1]["content"] + json.loads(r[0])["messages"][0]["content"] for r in rows]


def test_each_run_starts_from_its_own_seed_and_only_from_it(tmp_path: Path) -> None:
    settings: Settings = load_settings(_settings(tmp_path), env={})
    first = _seed("live-1", T0, _goal("g-plants", "water the plants", T0), "the plants are on the balcony")
    # between the runs the plants goal was dropped (it is not in the second seed) and another was set
    second = _seed("live-2", RESTART, _goal("g-bills", "pay the bills", RESTART), "the bills are in the drawer")
    recording = read_recording(_recording(tmp_path / "two-runs.jsonl", first, second))
    assert [s.run_id for s in recording.seeds] == ["live-1", "live-2"]
    out = tmp_path / "replay.duckdb"
    report = asyncio.run(
        run_replay(settings, recording, ReplayOptions(out=out, llm="simulator"), install_signals=False)
    )
    assert report.miss is None and not report.interrupted
    thoughts = _thoughts(out)
    assert len(thoughts) == 2, thoughts
    assert "water the plants" in thoughts[0] and "I am the being of live-1." in thoughts[0]
    assert "pay the bills" in thoughts[1] and "I am the being of live-2." in thoughts[1]
    # a new process: nothing of the first run's memory is left in the second's (its goal, its block)
    assert "water the plants" not in thoughts[1] and "live-1" not in thoughts[1]
    # the vectors' texts were embedded again; the digest recorded here is not theirs, and the replay says so
    reasons = [p.reason for p in recording.problems]
    assert any("differ from those the live run read" in r for r in reasons), reasons
    # the replay records the seeds it gave, under its own run
    again = read_recording(out)
    assert [replace(s, run_id="x") for s in again.seeds] == [replace(s, run_id="x") for s in (first, second)]


def test_a_bad_seed_stops_the_replay_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _settings(tmp_path)
    good = _seed("live-1", T0, _goal("g", "water the plants", T0), "plants")
    source = _recording(tmp_path / "bad.jsonl", good)
    lines = source.read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[4])  # the goal part
    broken["seed"]["body"]["created"] = 12
    source.write_text("\n".join([*lines[:4], json.dumps(broken), *lines[5:]]) + "\n", encoding="utf-8")
    out = tmp_path / "out.duckdb"
    code = main(["replay", str(source), "--config", str(config), "--out", str(out), "--llm", "simulator"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"being replay: {source}: bad.jsonl:5: the seed of run 'live-1'" in err
    assert "goal 1: field created: expected a string, got 12" in err
    assert not out.exists() and not out.with_name(out.name + ".notes").exists()
    assert list(tmp_path.glob("out*")) == []
