"""A recording that holds a crash recovery: the same inbox lines read twice, the second time ``recovered``.

How the live service makes one: it claims the inbox, records its events and stores their
episodes, is killed (SIGKILL) before it lets the claim go, and the next start reads the
leftover ``.claimed`` file again from the top, emitting the same event ids with ``recovered:
true``; its sink skips the rows it already holds. ``being record export`` then writes both
runs' events. Here both runs are made with the project's own inbox source, recorder, routes
and sink, in one database, exactly as the two starts leave it.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import reactivex
from reactivex.scheduler import HistoricalScheduler

import runtime
from agent import Recorder, route_one
from service.replay import compare_episodes
from sinks import RecordingHeader, Row, export_recording, open_database, read_recording, write_rows
from streams import Event, InboxPolicy, InboxState, inbox

T1 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
T2 = T1 + timedelta(minutes=5)  # the restart after the kill
MESSAGES = 130
SINK_DEDUP = (
    "the sink's anti-join on id looks only at the table: a replay cuts its batches by count, so the"
    " original row and its recovered copy land in the same batch and both are inserted"
    " (sinks/_row_batches.py must also drop a may_exist row whose id came earlier in its batch)"
)


def read_inbox(path: Path, at: datetime) -> list[Event]:
    """One start of the service reading its inbox once (a fresh state, as after a restart)."""
    scheduler = HistoricalScheduler(at)
    events: list[Event] = []
    source = inbox(path, reactivex.of(0), InboxState(), InboxPolicy(quiet_s=3600.0))
    source.subscribe(events.append, scheduler=scheduler)
    scheduler.start()
    return events


def live_rows(run_id: str, events: list[Event]) -> list[Row]:
    """What one live run writes for ``events``: the recorder's rows and the routes' rows."""
    recorder = Recorder(run_id)
    rows: list[Row] = [recorder.event_row(e) for e in events]
    rows.extend(row for row in map(route_one, events) if row is not None)
    return rows


def crashed_and_recovered(folder: Path) -> tuple[Path, Path]:
    """The live database and its export after a kill and a restart that recovered the claim."""
    inbox_path = folder / "inbox.txt"
    inbox_path.write_text("".join(f"message {n}\n" for n in range(MESSAGES)), encoding="utf-8")
    first = read_inbox(inbox_path, T1)
    # killed here: the rows are committed, the claimed file is still there
    second = read_inbox(inbox_path, T2)
    assert [e.id for e in first] == [e.id for e in second]
    assert not any(e.payload["recovered"] for e in first) and all(e.payload["recovered"] for e in second)
    database = folder / "live.duckdb"
    con = open_database(database)
    try:
        write_rows(con, live_rows("run-1", first))
        write_rows(con, live_rows("run-2", second))  # the live sink skips what run 1 stored
        recording = folder / "recording.jsonl"
        export_recording(con, recording, format="jsonl", header=RecordingHeader(service_version="test"))
    finally:
        con.close()
    return database, recording


def count(path: Path, sql: str) -> Any:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute(sql).fetchone()
        return row[0] if row else None
    finally:
        con.close()


def config(folder: Path) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[storage]\ndatabase_path = "{folder / "live.duckdb"}"\n[reply]\nenabled = false\n', encoding="utf-8"
    )
    return path


def replay_command(folder: Path, recording: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    argv = ["replay", str(recording), "--config", str(config(folder)), "--out", str(out), "--compare", "--json"]
    code = runtime.main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary: dict[str, Any] = json.loads(captured.out)
    return summary


def test_the_live_database_holds_each_message_once_and_the_recording_both_runs(tmp_path: Path) -> None:
    database, recording = crashed_and_recovered(tmp_path)
    assert count(database, "SELECT count(*) FROM events") == 2 * MESSAGES
    assert count(database, "SELECT count(*) FROM episodes") == MESSAGES
    read = read_recording(recording)
    assert read.problems == []
    assert len(read.events) == 2 * MESSAGES and len({e.id for e in read.events}) == MESSAGES
    assert len(read.episodes) == MESSAGES


def test_compare_never_calls_a_replay_of_a_recovery_identical_when_its_counts_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, recording = crashed_and_recovered(tmp_path)
    summary = replay_command(tmp_path, recording, tmp_path / "replay.duckdb", capsys)
    compare = summary["compare"]
    counts_agree = all(row["delta"] == 0 for row in compare["counts"])
    assert compare["identical"] == (counts_agree and compare["total"]["recording"] == compare["total"]["replay"])
    assert compare["identical"] == (compare["differences"] == 0)


def test_a_replay_of_a_recovery_stores_each_row_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database, recording = crashed_and_recovered(tmp_path)
    out = tmp_path / "replay.duckdb"
    summary = replay_command(tmp_path, recording, out, capsys)
    assert count(out, "SELECT count(*) FROM events") == 2 * MESSAGES  # both runs' events went through, as live
    assert count(out, "SELECT count(*) FROM episodes") == MESSAGES
    assert count(out, "SELECT count(DISTINCT id) FROM episodes") == MESSAGES
    assert summary["compare"]["identical"] is True, summary["compare"]
    assert count(database, "SELECT count(*) FROM episodes") == MESSAGES


def test_the_replay_makes_the_same_rows_as_the_live_routes_once_deduplicated(tmp_path: Path) -> None:
    """The duplicates are copies of the live rows, not new rows: the routes and ids are right."""
    database, recording = crashed_and_recovered(tmp_path)
    live = read_recording(database).episodes
    from_routes = Counter(str(row.id) for e in read_recording(recording).events if (row := route_one(e)) is not None)
    assert set(from_routes) == {str(e["id"]) for e in live}
    assert set(from_routes.values()) == {2}
    assert compare_episodes(live, live).identical
