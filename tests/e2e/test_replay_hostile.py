"""End to end: the real `being replay` process on hostile recordings: clear lines and exit codes, never a traceback."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.service_process import being_command, query

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def tick(name: str, time: str, payload: object) -> str:
    event = {"id": name, "type": "tick.heavy", "time": time, "source": "ticks", "payload": payload}
    return json.dumps({"kind": "event", "event": event})


def being_replay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*being_command(), "replay", *args], capture_output=True, text=True, timeout=120)


def test_year_9999_and_payloads_no_sink_can_store_are_problem_rows(tmp_path: Path) -> None:
    lines = [
        json.dumps({"format": "digital-being-recording", "version": 1, "settings": {}}),
        tick("far", "9999-12-31T23:59:59+00:00", {"n": 1}),  # crashed replay with an OverflowError
        tick("deep", T0.isoformat(), {"n": json.loads("[" * 300 + "]" * 300)}),  # crashed the sink
        tick("big", T0.isoformat(), {"n": 10**30}),  # crashed the sink
        tick("good", (T0 + timedelta(minutes=1)).isoformat(), {"n": 2}),
    ]
    recording = tmp_path / "hostile.jsonl"
    recording.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.duckdb"
    done = being_replay(str(recording), "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["problems"] == 3
    letters = query(out, "SELECT reason FROM dead_letters WHERE source = 'replay' ORDER BY reason")
    assert len(letters) == 3 and any("9999-12-31T23:59:59+00:00 is outside" in r[0] for r in letters)
    # the good tick: the mind (on by default) looked and found nothing changed
    assert query(out, "SELECT count(*) FROM episodes WHERE type = 'mind.idle'") == [(1,)]


def test_a_wait_longer_than_the_virtual_clock_holds_is_one_line_and_exit_2(tmp_path: Path) -> None:
    recording = tmp_path / "rec.jsonl"
    header = json.dumps({"format": "digital-being-recording", "version": 1})
    recording.write_text(header + "\n" + tick("t", T0.isoformat(), {}) + "\n", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text("[resilience.breaker]\nopen_for_s = 1e300\nopen_for_max_s = 1e300\n", encoding="utf-8")
    done = being_replay(str(recording), "--config", str(config), "--out", str(tmp_path / "out.duckdb"))
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "resilience.breaker.open_for_s = 1e+300s" in done.stderr
    assert not (tmp_path / "out.duckdb").exists()
