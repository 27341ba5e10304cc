"""Archival to Parquet by the episode's month: round trip, reads with the archive, a crash and a rerun."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from sinks import (
    ArchiveError,
    EpisodeQuery,
    EpisodeRow,
    archive_episodes,
    archive_files,
    month_folder,
    read_episodes,
    write_rows,
)
from tests.sinks._memory_helpers import fresh_db

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def _episodes(con: duckdb.DuckDBPyConnection) -> list[EpisodeRow]:
    rows = [
        EpisodeRow(
            id=f"ep{i:03d}",
            time=datetime(2026, 1, 20, tzinfo=UTC) + timedelta(days=i),
            type="monologue" if i % 2 else "world.scan",
            description=f"thought number {i}",
            outcome="success" if i % 3 else "unknown",
            data={"i": i, "text": "Привет"},
        )
        for i in range(120)
    ]
    write_rows(con, rows)
    return rows


def _table_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT id FROM episodes").fetchall()}


def _archive_ids(archive: Path) -> list[str]:
    files = archive_files(archive)
    if not files:
        return []
    con = duckdb.connect()
    listed = ", ".join(f"'{p}'" for p in files)
    return [r[0] for r in con.execute(f"SELECT id FROM read_parquet([{listed}])").fetchall()]


def test_old_episodes_move_to_monthly_parquet_and_come_back_in_reads(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    rows = _episodes(con)
    archive = tmp_path / "archive"
    result = archive_episodes(con, archive, older_than_days=90, clock=lambda: NOW)
    cutoff = NOW - timedelta(days=90)
    old = {r.id for r in rows if r.time < cutoff}
    assert result.archived == len(old) == 57
    assert result.reconciled == 0
    assert _table_ids(con) == {r.id for r in rows} - old
    assert sorted(_archive_ids(archive)) == sorted(old)
    folders = sorted({p.parent.relative_to(archive).as_posix() for p in result.files})
    assert folders == [
        "episodes/year=2026/month=01",
        "episodes/year=2026/month=02",
        "episodes/year=2026/month=03",
    ]
    assert all(p.parent == month_folder(archive, 2026, int(p.parent.name[-2:])) for p in result.files)
    everything = read_episodes(con, EpisodeQuery(limit=1000, include_archive=True), archive_dir=archive)
    assert [e["id"] for e in everything] == [r.id for r in sorted(rows, key=lambda r: r.time, reverse=True)]
    oldest = everything[-1]
    assert oldest == {
        "id": "ep000",
        "time": "2026-01-20T00:00:00.000000Z",
        "type": "world.scan",
        "description": "thought number 0",
        "outcome": "unknown",
        "data": {"i": 0, "text": "Привет"},
    }
    recent_only = read_episodes(con, EpisodeQuery(limit=1000), archive_dir=archive)
    assert len(recent_only) == 120 - 57
    filtered = read_episodes(
        con, EpisodeQuery(type="monologue", text="NUMBER 1", limit=1000, include_archive=True), archive_dir=archive
    )
    assert {e["id"] for e in filtered} == {f"ep{i:03d}" for i in range(120) if i % 2 and str(i).startswith("1")}
    again = archive_episodes(con, archive, older_than_days=90, clock=lambda: NOW)
    assert (again.archived, again.reconciled, again.files) == (0, 0, ())


@pytest.mark.parametrize("stage", ["written", "verified"])
def test_a_run_cut_off_before_the_delete_is_finished_by_the_next(tmp_path: Path, stage: str) -> None:
    con = fresh_db(tmp_path)
    rows = _episodes(con)
    archive = tmp_path / "archive"
    calls: list[str] = []

    def crash(at: str, path: Path) -> None:
        calls.append(at)
        if at == stage and len([c for c in calls if c == stage]) == 2:
            raise OSError(f"simulated crash after {at} {path.name}")

    with pytest.raises(OSError, match="simulated crash"):
        archive_episodes(con, archive, clock=lambda: NOW, hook=crash)
    table, archived = _table_ids(con), _archive_ids(archive)
    everything = {r.id for r in rows}
    assert table | set(archived) == everything, "an episode was lost"
    assert len(archived) == len(set(archived)), "an episode was archived twice"
    if stage == "verified":
        assert table & set(archived), "the crash should leave the second month in both places"
    result = archive_episodes(con, archive, clock=lambda: NOW)
    table, archived = _table_ids(con), _archive_ids(archive)
    cutoff = NOW - timedelta(days=90)
    assert set(archived) == {r.id for r in rows if r.time < cutoff}
    assert len(archived) == len(set(archived)) == 57
    assert table == {r.id for r in rows if r.time >= cutoff}
    assert not list(archive.rglob("*.tmp"))
    january = 12  # archived whole by the first run, before the crash in February
    assert result.archived + result.reconciled == 57 - january
    if stage == "verified":
        assert result.reconciled > 0


def test_reads_return_an_episode_in_both_places_once(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    _episodes(con)
    archive = tmp_path / "archive"

    def stop(at: str, path: Path) -> None:
        if at == "verified":
            raise RuntimeError("stop before the delete")

    with pytest.raises(RuntimeError):
        archive_episodes(con, archive, clock=lambda: NOW, hook=stop)
    everything = read_episodes(con, EpisodeQuery(limit=1000, include_archive=True), archive_dir=archive)
    assert len(everything) == len({e["id"] for e in everything}) == 120


def test_a_file_that_does_not_hold_the_selection_stops_the_run(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    _episodes(con)
    archive = tmp_path / "archive"

    def truncate(at: str, path: Path) -> None:
        if at == "written":
            other = duckdb.connect()
            other.execute(f"COPY (SELECT * FROM read_parquet('{path}') LIMIT 1) TO '{path}.x' (FORMAT parquet)")
            Path(f"{path}.x").replace(path)

    with pytest.raises(ArchiveError, match="expected"):
        archive_episodes(con, archive, clock=lambda: NOW, hook=truncate)
    assert len(_table_ids(con)) == 120
    assert archive_files(archive) == []


def test_reads_need_the_archive_folder_and_refuse_bad_limits(tmp_path: Path) -> None:
    con = fresh_db(tmp_path)
    with pytest.raises(ValueError, match="archive"):
        read_episodes(con, EpisodeQuery(include_archive=True))
    assert read_episodes(con, EpisodeQuery(include_archive=True), archive_dir=tmp_path / "none") == []
    with pytest.raises(ValueError, match="older_than_days"):
        archive_episodes(con, tmp_path, older_than_days=0)
