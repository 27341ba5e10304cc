"""The outbox: one whole line per committed reply or being message, never twice, across every kind of kill."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from sinks import (
    EpisodeRow,
    Outbox,
    OutboxPolicy,
    Row,
    commit_then_notes,
    encode_rows,
    open_database,
    write_rows,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def reply(n: int, outcome: str = "success") -> EpisodeRow:
    return EpisodeRow(
        id=f"r{n}",
        time=T0 + timedelta(seconds=n),
        type="user.reply",
        description=f"answer {n}"[:20],
        outcome=outcome,
        data={"event_id": f"m{n}", "message": f"question {n}", "reply": f"answer {n}\nwith a second line"},
    )


def said(n: int) -> EpisodeRow:
    return EpisodeRow(
        id=f"b{n}",
        time=T0 + timedelta(seconds=n),
        type="being.message",
        description="said",
        outcome="success",
        data={"text": f"thinking of you {n}"},
    )


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return open_database(tmp_path / "db.duckdb")


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().split(b"\n") if line]


def ids(path: Path) -> list[str]:
    return [str(line["id"]) for line in lines(path)]


def recorded(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT episode_id FROM outbox_lines ORDER BY time, episode_id").fetchall()]


def test_each_committed_reply_and_message_is_one_whole_line_in_commit_order(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "out" / "outbox.jsonl"
    outbox = Outbox(OutboxPolicy(path=path))
    assert outbox.start(con) == 0
    write_rows(con, [reply(2), said(1)])
    assert outbox.append(con, ["r2", "b1"]) == 2
    write_rows(con, [reply(3, "fallback")])
    assert outbox.append(con, ["r3"]) == 1
    assert ids(path) == ["r2", "b1", "r3"]
    first, being, fallback = lines(path)
    assert first == {
        "id": "r2",
        "time": (T0 + timedelta(seconds=2)).isoformat(),
        "type": "user.reply",
        "outcome": "success",
        "text": "answer 2\nwith a second line",
        "in_reply_to": "m2",
        "message": "question 2",
    }
    assert being["text"] == "thinking of you 1" and "in_reply_to" not in being
    assert fallback["text"] == "answer 3"  # a fallback's text is its description
    assert path.read_bytes().count(b"\n") == 3
    assert sorted(recorded(con)) == ["b1", "r2", "r3"]


def test_a_database_that_had_replies_before_the_outbox_does_not_pour_them_into_it(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    from sinks import MIGRATIONS

    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMPTZ)")
    for version, sql in MIGRATIONS:
        if version <= 6:
            con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, now())", [version])
    write_rows(con, [reply(1), said(2)])
    con.close()
    con = open_database(path)
    outbox = Outbox(OutboxPolicy(path=tmp_path / "outbox.jsonl"))
    assert outbox.start(con) == 0
    assert not (tmp_path / "outbox.jsonl").read_bytes()


def test_after_a_kill_between_the_write_and_its_record_the_start_only_records(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.jsonl"
    write_rows(con, [reply(1), reply(2)])
    Outbox(OutboxPolicy(path=path)).append(con, ["r1"])
    write_rows(con, [reply(3)])
    # the kill: r2 and r3 written whole, the process died before outbox_lines was written
    with path.open("ab") as handle:
        handle.write(_line(con, "r2") + _line(con, "r3"))
    assert Outbox(OutboxPolicy(path=path)).start(con) == 0
    assert ids(path) == ["r1", "r2", "r3"]
    assert sorted(recorded(con)) == ["r1", "r2", "r3"]


def test_a_line_torn_by_a_kill_is_cut_and_written_again_whole(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    write_rows(con, [reply(1), reply(2), reply(3)])
    Outbox(OutboxPolicy(path=path)).append(con, ["r1"])
    torn = _line(con, "r2") + _line(con, "r3")
    with path.open("ab") as handle:
        handle.write(torn[: len(_line(con, "r2")) + 10])  # r2 whole, r3 cut mid-line
    assert Outbox(OutboxPolicy(path=path)).start(con) == 1
    assert ids(path) == ["r1", "r2", "r3"]
    assert path.read_bytes().endswith(b"\n")


def test_a_reply_committed_but_never_written_is_appended_at_the_start(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.jsonl"
    write_rows(con, [reply(1), said(2)])
    assert Outbox(OutboxPolicy(path=path)).start(con) == 2
    assert ids(path) == ["r1", "b2"]
    assert Outbox(OutboxPolicy(path=path)).start(con) == 0  # a second start adds nothing
    assert ids(path) == ["r1", "b2"]


def test_an_io_error_leaves_the_lines_for_the_next_pass_and_nothing_is_written_twice(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.jsonl"
    path.mkdir()  # the outbox cannot be opened
    outbox = Outbox(OutboxPolicy(path=path))
    write_rows(con, [reply(1)])
    assert outbox.append(con, ["r1"]) == 0 and outbox.failed == 1
    assert recorded(con) == []
    path.rmdir()
    write_rows(con, [reply(2)])
    assert outbox.append(con, ["r2"]) == 2
    assert ids(path) == ["r1", "r2"]


def test_the_outbox_rotates_past_its_size_and_keeps_so_many_files(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox = Outbox(OutboxPolicy(path=path, rotate_bytes=300, keep_rotated=2))
    for n in range(8):
        write_rows(con, [reply(n)])
        outbox.append(con, [f"r{n}"])
    rotated = [tmp_path / "outbox.jsonl.2", tmp_path / "outbox.jsonl.1", path]
    assert not (tmp_path / "outbox.jsonl.3").exists()
    every = [i for file in rotated for i in ids(file)]
    assert every == [f"r{n}" for n in range(8 - len(every), 8)]  # the newest kept, in order
    assert all(file.stat().st_size <= 300 for file in rotated)


def _line(con: duckdb.DuckDBPyConnection, episode_id: str) -> bytes:
    probe = Outbox(OutboxPolicy(path=Path("/nonexistent")))
    return probe._lines(con, [episode_id])


def _commit(con: duckdb.DuckDBPyConnection, outbox: Outbox, rows: list[Row]) -> None:
    """A batch as the sink writes it: one transaction, then the outbox's pass in the same job."""
    commit_then_notes(con, encode_rows(rows), notes=False, outbox=outbox)


def test_the_sinks_pass_writes_the_same_lines_and_the_next_batch_records_them(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox = Outbox(OutboxPolicy(path=path))
    _commit(con, outbox, [reply(1), said(2), reply(3, "fallback")])
    assert path.read_bytes() == _line(con, "r1") + _line(con, "b2") + _line(con, "r3")  # as a start makes them
    assert recorded(con) == []  # recorded by the next batch's own transaction, not one of the outbox's
    _commit(con, outbox, [reply(4)])
    assert recorded(con) == ["r1", "b2", "r3"]
    assert ids(path) == ["r1", "b2", "r3", "r4"] and outbox.written == 4


def test_a_kill_after_the_sinks_pass_leaves_its_lines_to_the_start_which_only_records_them(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox = Outbox(OutboxPolicy(path=path))
    _commit(con, outbox, [reply(1)])
    _commit(con, outbox, [reply(2), reply(3)])
    # the kill: r2 and r3 in the file, not recorded; a new process starts
    assert Outbox(OutboxPolicy(path=path)).start(con) == 0
    assert ids(path) == ["r1", "r2", "r3"]
    assert sorted(recorded(con)) == ["r1", "r2", "r3"]


def test_a_batch_rolled_back_leaves_the_lines_for_the_next_batch_to_record(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox = Outbox(OutboxPolicy(path=path))
    _commit(con, outbox, [reply(1)])
    con.execute("DROP INDEX outbox_lines_episode")
    con.execute("ALTER TABLE outbox_lines RENAME TO away")  # the next transaction cannot record
    with pytest.raises(duckdb.Error):
        _commit(con, outbox, [reply(5)])  # the batch fails whole, its record of r1 with it
    con.execute("ALTER TABLE away RENAME TO outbox_lines")
    assert recorded(con) == [] and ids(path) == ["r1"]
    assert con.execute("SELECT count(*) FROM episodes WHERE id = 'r5'").fetchone() == (0,)
    _commit(con, outbox, [reply(2)])
    assert recorded(con) == ["r1"]
    assert Outbox(OutboxPolicy(path=path)).start(con) == 0  # r2 is found in the tail: nothing twice
    assert ids(path) == ["r1", "r2"] and recorded(con) == ["r1", "r2"]


def test_an_io_error_in_the_sinks_pass_leaves_its_lines_in_doubt_and_nothing_is_written_twice(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox = Outbox(OutboxPolicy(path=path))
    _commit(con, outbox, [reply(1)])
    path.rename(tmp_path / "kept")
    path.mkdir()  # the outbox cannot be opened
    _commit(con, outbox, [reply(2)])
    assert outbox.failed == 1
    path.rmdir()
    (tmp_path / "kept").rename(path)
    _commit(con, outbox, [reply(3)])  # resolves r2 first, records every line written
    assert ids(path) == ["r1", "r2", "r3"]
    assert recorded(con) == ["r1", "r2", "r3"]
    assert Outbox(OutboxPolicy(path=path)).start(con) == 0
    assert ids(path) == ["r1", "r2", "r3"]


def test_the_sinks_pass_records_its_lines_before_it_rotates_so_a_start_never_writes_them_again(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.jsonl"
    outbox = Outbox(OutboxPolicy(path=path, rotate_bytes=300, keep_rotated=10))
    for n in range(6):
        _commit(con, outbox, [reply(n)])
    # the kill: a new process starts
    assert Outbox(OutboxPolicy(path=path)).start(con) == 0
    files = [*sorted(tmp_path.glob("outbox.jsonl.*"), key=lambda p: -int(p.suffix[1:])), path]
    assert len(files) > 1  # it did rotate
    assert [i for file in files for i in ids(file)] == [f"r{n}" for n in range(6)]
    assert sorted(recorded(con)) == [f"r{n}" for n in range(6)]
