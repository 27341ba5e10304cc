"""A run's memory seed in a recording: exported, read back whole, refused when it does not hold together."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sinks import (
    SEED_LIMITS,
    EpisodeRow,
    GoalRow,
    RecordedSeed,
    RecordingError,
    SeedVector,
    export_recording,
    open_database,
    read_recording,
    seed_rows,
    write_rows,
)
from tests.sinks.recording_support import T0, event, head, header, item, recorded_database, write_jsonl


def a_seed(run_id: str = "r1", seconds: float = -1.0) -> RecordedSeed:
    at = T0 + timedelta(seconds=seconds)
    return RecordedSeed(
        run_id=run_id,
        time=at,
        goals=(
            GoalRow(
                id="g1", text="water the plants", status="open", due=at, created=at, done=None, time=at, source="user"
            ),
        ),
        blocks={"self": "I am patient.", "user:alice": "alice likes tea"},
        principles=("be brief",),
        recent=(
            EpisodeRow(
                id="ep-old",
                time=at - timedelta(days=1),
                type="user.message",
                description="hello",
                outcome="success",
                data={"text": "hello", "sender": "alice", "n": [1, 2.5, None]},
            ),
        ),
        vectors=(
            SeedVector(id="v1", text="hello", type="user.message", created_at=at, episode_id="ep-old", sender="alice"),
        ),
        embedder="lexical-v1:384",
        vectors_sha256="ab" * 32,
    )


def seed_lines(seed: RecordedSeed) -> list[str]:
    """The recording lines of ``seed`` (as an export writes them)."""
    return [
        json.dumps(
            {
                "kind": "seed",
                "seed": {
                    "run_id": r.run_id,
                    "time": r.time.isoformat(),
                    "seq": r.seq,
                    "part": r.part,
                    "body": json.loads(json.dumps(r.body)),
                },
            }
        )
        for r in seed_rows(seed)
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_seed_is_exported_and_read_back_as_it_was(tmp_path: Path, fmt: str) -> None:
    database = recorded_database(tmp_path / "db.duckdb")
    con = open_database(database)
    write_rows(con, seed_rows(a_seed()) + seed_rows(a_seed("r2", seconds=3.5)))
    out = tmp_path / f"rec.{fmt}"
    counts = export_recording(con, out, format=fmt, header=header())
    con.close()
    assert counts["seed"] == 2 * 7  # a header and six rows each
    for source in (out, database):  # the file, and the database itself as a recording
        recording = read_recording(source)
        assert recording.problems == []
        assert recording.seeds == [a_seed(), a_seed("r2", seconds=3.5)]


def test_a_window_keeps_the_seeds_recorded_in_it(tmp_path: Path) -> None:
    con = open_database(recorded_database(tmp_path / "db.duckdb"))
    write_rows(con, seed_rows(a_seed()) + seed_rows(a_seed("r2", seconds=3.5)))
    out = tmp_path / "rec.jsonl"
    export_recording(con, out, format="jsonl", header=header(), since=T0 + timedelta(seconds=1))
    con.close()
    assert [s.run_id for s in read_recording(out).seeds] == ["r2"]


def test_a_database_from_before_seeds_still_exports(tmp_path: Path) -> None:
    database = recorded_database(tmp_path / "db.duckdb")
    con = open_database(database)
    con.execute("DROP TABLE run_seeds")
    con.close()
    con = open_database(database, read_only=True)
    counts = export_recording(con, tmp_path / "rec.jsonl", format="jsonl", header=header())
    con.close()
    assert counts["seed"] == 0 and counts["event"] == 5


def test_a_recording_without_seeds_reads_as_before(tmp_path: Path) -> None:
    recording = read_recording(write_jsonl(tmp_path / "v1.jsonl", [head(1), item(event(0))]))
    assert recording.seeds == [] and recording.problems == [] and len(recording.events) == 1


def _refused(tmp_path: Path, lines: list[str], match: str, *, last_newline: bool = True) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [head(), item(event(0)), *lines], last_newline=last_newline)
    with pytest.raises(RecordingError, match=match) as caught:
        read_recording(path)
    assert str(path) in str(caught.value)


def test_a_truncated_seed_is_refused(tmp_path: Path) -> None:
    lines = seed_lines(a_seed())
    _refused(tmp_path, [*lines[:-1], lines[-1][: len(lines[-1]) // 2]], r"holds 0 of 1 vectors", last_newline=False)
    _refused(tmp_path, lines[:3], r"holds .*0 of 1 principles.*(a part was lost or refused)")
    _refused(tmp_path, lines[1:], r"part 1 \(goal\) where part 0 was expected")


def _with(lines: list[str], index: int, change: dict[str, Any]) -> list[str]:
    changed = list(lines)
    obj = json.loads(changed[index])
    obj["seed"]["body"].update(change)
    changed[index] = json.dumps(obj)
    return changed


@pytest.mark.parametrize(
    ("index", "change", "match"),
    [
        (1, {"status": 7}, r"goal 1: field status: expected a string, got 7"),
        (1, {"status": "finished"}, r"goal 1: field status: expected one of open, done, dropped, got 'finished'"),
        (1, {"due": "tomorrow"}, r"goal 1: field due: expected an ISO 8601 time"),
        (1, {"created": "2026-02-21T12:00:00"}, r"goal 1: field created: expected a time with a zone"),
        (2, {"text": ["not", "a", "string"]}, r"block 1: field text: expected a string"),
        (5, {"data": "text"}, r"episode 1: field data: expected an object"),
        (5, {"data": {"n": 2**70}}, r"episode 1: .*64"),
        (6, {"sender": 3}, r"vector 1: field sender: expected a string"),
        (0, {"goals": -1}, r"field goals: expected a count"),
        (0, {"goals": True}, r"field goals: expected a count"),
    ],
)
def test_a_seed_part_of_the_wrong_type_is_refused(
    tmp_path: Path, index: int, change: dict[str, Any], match: str
) -> None:
    _refused(tmp_path, _with(seed_lines(a_seed()), index, change), match)


def test_a_huge_seed_is_refused_before_it_is_read(tmp_path: Path) -> None:
    lines = seed_lines(a_seed())
    _refused(tmp_path, _with(lines, 0, {"vectors": 10**9}), r"declares 1,000,000,000 vectors, more than the 100,000")
    _refused(tmp_path, [*lines, lines[-1]], r"part 6 \(vector\) where part 7 was expected")
    extra = json.loads(lines[-1])
    extra["seed"]["seq"] = 7
    _refused(tmp_path, [*lines, json.dumps(extra)], r"more vectors than the 1 its header declares")
    assert SEED_LIMITS["vector"] == 100_000


@pytest.mark.parametrize(
    ("seed", "match"),
    [
        ("[]", r"a seed item: expected an object"),
        ('{"run_id": 1}', r"a seed item: field run_id: expected a string"),
        ('{"run_id": "r", "time": "2026-02-21T12:00:00+00:00", "seq": 0, "part": "gossip", "body": {}}', "field part"),
        ('{"run_id": "r", "time": "2026-02-21T12:00:00+00:00", "seq": "0", "part": "seed", "body": {}}', "field seq"),
        ('{"run_id": "r", "time": "2026-02-21T12:00:00+00:00", "seq": 0, "part": "seed", "body": []}', "field body"),
    ],
)
def test_a_malformed_seed_item_is_refused(tmp_path: Path, seed: str, match: str) -> None:
    _refused(tmp_path, ['{"kind": "seed", "seed": ' + seed + "}"], match)


def test_a_bad_seed_row_in_a_database_is_refused(tmp_path: Path) -> None:
    database = recorded_database(tmp_path / "db.duckdb")
    con = open_database(database)
    write_rows(con, seed_rows(a_seed()))
    con.execute("UPDATE run_seeds SET body = '{\"text\": 5}' WHERE part = 'principle'")
    con.close()
    with pytest.raises(RecordingError, match=r"run_seeds#5: .*principle 1: field text: expected a string") as caught:
        read_recording(database)
    assert str(database) in str(caught.value)
