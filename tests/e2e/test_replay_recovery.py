"""End to end: a real `being run` killed with SIGKILL, restarted, exported and replayed.

The restart reads the leftover ``.claimed`` inbox file again from the top, so the recording
holds every message twice: once from the killed run and once, ``recovered``, from the restart.
"""

from __future__ import annotations

import json
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.service_process import ServiceProcess, being_command, query, write_config
from tests.support import wait_until

pytestmark = pytest.mark.e2e

MESSAGES = 130


@dataclass(frozen=True)
class Recovered:
    database: Path
    out: Path
    summary: dict[str, Any]


def being(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*being_command(), *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def recovered(tmp_path_factory: pytest.TempPathFactory) -> Recovered:
    folder = tmp_path_factory.mktemp("recovery")
    # a claimed file is let go only after an hour of quiet: the kill always finds it in place
    config = write_config(folder, inbox={"quiet_s": 3600.0})
    first = ServiceProcess(config)
    try:
        (folder / "inbox.txt").write_text("".join(f"message {n}\n" for n in range(MESSAGES)), encoding="utf-8")
        wait_until(
            lambda: first.metric("being_episodes_written_total", 'type="user.message"') >= MESSAGES,
            timeout_s=60,
            what="the first run to store every message",
        )
        first.signal(signal.SIGKILL)
        assert first.wait() == -signal.SIGKILL
    finally:
        first.stop()
    assert len(list(folder.glob("inbox.txt.*.claimed"))) == 1
    second = ServiceProcess(config)
    try:
        wait_until(
            lambda: second.metric("being_events_in_total", 'type="user.message"') >= MESSAGES,
            timeout_s=60,
            what="the restart to read the claimed file again",
        )
        second.signal(signal.SIGTERM)
        assert second.wait() == 0
    finally:
        second.stop()
    database = folder / "data" / "being.duckdb"
    recording = folder / "recording.jsonl"
    exported = being("record", "export", "--config", str(config), str(recording))
    assert exported.returncode == 0, exported.stderr
    out = folder / "replay.duckdb"
    replayed = being("replay", str(recording), "--config", str(config), "--out", str(out), "--compare", "--json")
    assert replayed.returncode == 0, replayed.stderr
    assert "Traceback" not in replayed.stderr
    return Recovered(database=database, out=out, summary=json.loads(replayed.stdout))


def test_the_live_database_stores_each_message_once_and_records_both_runs(recovered: Recovered) -> None:
    live = query(recovered.database, "SELECT count(*), count(DISTINCT id) FROM episodes WHERE type = 'user.message'")
    assert live == [(MESSAGES, MESSAGES)]
    events = query(
        recovered.database,
        "SELECT count(*), count(DISTINCT id), count(DISTINCT run_id), count(*) FILTER (payload->>'recovered' = 'true')"
        " FROM events WHERE type = 'user.message'",
    )
    assert events == [(2 * MESSAGES, MESSAGES, 2, MESSAGES)]


def test_compare_calls_the_replay_identical_only_when_every_count_agrees(recovered: Recovered) -> None:
    compare = recovered.summary["compare"]
    agree = all(row["delta"] == 0 for row in compare["counts"])
    assert compare["identical"] is agree
    assert compare["identical"] is (compare["differences"] == 0)


def test_the_replay_stores_each_message_once_and_matches_the_live_run(recovered: Recovered) -> None:
    replayed = query(recovered.out, "SELECT count(*), count(DISTINCT id) FROM episodes WHERE type = 'user.message'")
    assert replayed == [(MESSAGES, MESSAGES)]
    assert query(recovered.out, "SELECT count(*) FROM events WHERE type = 'user.message'") == [(2 * MESSAGES,)]
    assert recovered.summary["compare"]["identical"] is True, recovered.summary["compare"]
