"""A live run on a database that already holds history replays to the same episodes: its memory's seed is recorded.

Two real starts of the service (in this loop, answered by the LLM simulator over loopback) on one
DuckDB file, with a goal and memory blocks put into the database between them; the second start
seeds its memory with the first's conversations, the goal and the blocks, and records that seed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.service.seed_support import add_history, export, live_run, replay, started_at, thought_after_replies

FIRST = ["Hello! Who are you?", "Please remember that my cat is called Tom."]
SECOND = ["What is my cat called?", "Hello! Who are you?"]


@dataclass(frozen=True)
class Lived:
    folder: Path
    config: Path
    database: Path
    starts: list[str]


ATTEMPTS = 3


def _live_twice(folder: Path) -> bool:
    """The two starts with history put in between; whether each thought came after its run's replies."""
    database = folder / "data" / "being.duckdb"
    asyncio.run(live_run(folder, FIRST))
    first_in_order = thought_after_replies(database)
    add_history(database, goal="water the plants on the balcony", block="I am a patient and curious being.")
    asyncio.run(live_run(folder, SECOND))
    return first_in_order and thought_after_replies(database)


@pytest.fixture(scope="module")
def lived(tmp_path_factory: pytest.TempPathFactory) -> Lived:
    # Heavy ticks run on the wall clock: on a loaded machine a run can tick before its replies are
    # stored, which a replay cannot reproduce; such a pair of runs is made again in a new folder.
    for _ in range(ATTEMPTS):
        folder = tmp_path_factory.mktemp("seeded")
        if _live_twice(folder):
            database = folder / "data" / "being.duckdb"
            return Lived(folder, folder / "config.toml", database, [t.isoformat() for t in started_at(database)])
    raise AssertionError(f"in {ATTEMPTS} attempts, no pair of runs thought only after every reply")


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_each_live_start_records_its_seed(lived: Lived) -> None:
    assert len(lived.starts) == 2
    headers = _rows(lived.database, "SELECT run_id, body FROM run_seeds WHERE part = 'seed' ORDER BY time")
    assert len(headers) == 2
    first, second = (json.loads(str(body)) for _, body in headers)
    assert first["goals"] == 0 and first["episodes"] == 0 and first["vectors"] == 0
    # the first run's one thought may have set a goal itself (what the simulator answers depends on the minute)
    set_by_mind = _rows(
        lived.database, f"SELECT count(*) FROM goals WHERE source = 'mind' AND created < '{lived.starts[1]}'"
    )
    assert second["goals"] == 1 + int(str(set_by_mind[0][0])) and second["blocks"] >= 2
    parts = _rows(lived.database, "SELECT body->>'name' FROM run_seeds WHERE part = 'block'")
    assert {"self", "user:inbox"} <= {p[0] for p in parts}
    assert second["episodes"] >= 2 * len(FIRST) and second["vectors"] >= 2 * len(FIRST)
    runs = {r[0] for r in _rows(lived.database, "SELECT run_id FROM runs WHERE kind = 'live'")}
    assert {r[0] for r in headers} == runs


def test_the_second_run_alone_replays_with_every_recorded_answer(
    lived: Lived, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "second.jsonl"
    export(lived.config, recording, "--since", lived.starts[1])
    lines = [json.loads(line) for line in recording.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["version"] == 2
    assert {line["seed"]["part"] for line in lines[1:] if line.get("kind") == "seed"} >= {"seed", "goal", "block"}
    summary = replay(lived.config, recording, tmp_path / "replay.duckdb", capsys)
    assert summary["miss"] is None and summary["llm_calls"] > 0
    assert summary["compare"]["identical"] is True, summary["compare"]


def test_the_whole_recording_applies_each_runs_seed(
    lived: Lived, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "both.parquet"
    export(lived.config, recording, "--format", "parquet")
    out = tmp_path / "replay.duckdb"
    summary = replay(lived.config, recording, out, capsys)
    assert summary["miss"] is None
    assert summary["compare"]["identical"] is True, summary["compare"]
    # the replay records the seeds it gave, so that a replay of its output starts each run the same
    assert len(_rows(out, "SELECT * FROM run_seeds WHERE part = 'seed'")) == 2
    again = replay(lived.config, out, tmp_path / "again.duckdb", capsys, "--against", str(out))
    assert again["miss"] is None and again["compare"]["identical"] is True, again["compare"]


def test_a_recording_of_the_old_format_without_seeds_still_replays(
    lived: Lived, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exported = tmp_path / "first.jsonl"
    export(lived.config, exported, "--until", lived.starts[1])  # the first run: made from a fresh database
    lines = exported.read_text(encoding="utf-8").splitlines()
    header = {**json.loads(lines[0]), "version": 1}
    old = [json.dumps(header), *(line for line in lines[1:] if json.loads(line)["kind"] != "seed")]
    assert len(old) < len(lines)  # it had a seed (an empty one) to leave out
    recording = tmp_path / "old.jsonl"
    recording.write_text("\n".join(old) + "\n", encoding="utf-8")
    out = tmp_path / "replay.duckdb"
    summary = replay(lived.config, recording, out, capsys)
    assert summary["miss"] is None and summary["problems"] == 0
    assert summary["compare"]["identical"] is True, summary["compare"]
    assert _rows(out, "SELECT count(*) FROM run_seeds") == [(0,)]
