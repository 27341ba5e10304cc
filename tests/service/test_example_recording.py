"""The example recording in examples/ replays to exactly the episodes it recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb

from service.replay import ReplayOptions, compare_episodes, run_replay
from service.settings import load_settings
from sinks import read_recording
from tests.support import REPO

EXAMPLE = REPO / "examples" / "recording.jsonl"


def test_the_example_replays_to_its_own_episodes(tmp_path: Path) -> None:
    recording = read_recording(EXAMPLE)
    assert recording.problems == []
    assert {e.type for e in recording.events} >= {"user.message", "user.urgent", "input.invalid", "tick.heavy"}
    out = tmp_path / "replay.duckdb"
    settings = load_settings(None, env={})
    report = asyncio.run(run_replay(settings, recording, ReplayOptions(out=out), install_signals=False))
    assert report.miss is None
    assert report.events == len(recording.events)
    result = compare_episodes(recording.episodes, read_recording(out).episodes)
    assert result.identical, result.to_json()
    assert result.total_a > 0
    con = duckdb.connect(str(out), read_only=True)
    try:
        # the input's own (the mind's, if a tool refused what it was given, are of their own kind)
        letters = con.execute("SELECT reason FROM dead_letters WHERE source <> 'mind'").fetchall()
    finally:
        con.close()
    assert len(letters) == 1 and letters[0][0].startswith("undecodable")
