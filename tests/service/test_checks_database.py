"""Startup checks of the database: a real file, a real lock held by a second process, a real WAL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from service.checks import CHECKS, Probe, Severity, run_checks
from service.settings import Settings, StorageSettings
from sinks import MIGRATIONS, open_database, utc_now
from tests.service.checks_support import result_of

KNOWN = max(version for version, _ in MIGRATIONS)


def _settings(path: Path) -> Settings:
    return Settings(storage=StorageSettings(database_path=str(path)))


def _made(path: Path, *, newest_in_s: float = -60.0) -> Path:
    con = open_database(path)
    con.execute(
        "INSERT INTO episodes VALUES ('e1', ?, 'user.message', 'hi', 'success', NULL)",
        [utc_now() + timedelta(seconds=newest_in_s)],
    )
    con.close()
    return path


@contextmanager
def held(path: Path) -> Iterator[int]:
    """A second process that opens the database for writing (DuckDB's lock) until the block ends."""
    code = "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.read()"
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        yield child.pid
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)


def _left_a_wal(path: Path) -> Path:
    """Commit rows in a child that exits without a checkpoint, leaving them in ``<db>.wal``."""
    _made(path)
    code = (
        "import duckdb, os, sys; con = duckdb.connect(sys.argv[1]); con.execute(\"SET checkpoint_threshold='1GB'\");"
        "con.execute(\"INSERT INTO episodes VALUES ('e2', now(), 'user.message', 'in the wal', 'success', NULL)\");"
        "os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=60)
    wal = Path(f"{path}.wal")
    assert wal.stat().st_size > 0
    return wal


def test_a_missing_database_passes_every_database_check_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "being.duckdb"
    names = ("database", "database lock", "database wal", "clock")
    results = run_checks(Probe(settings=_settings(path), env={}), [c for c in CHECKS if c.name in names])
    assert [r.ok for r in results] == [True] * 4
    assert results[0].detail == f"{path} does not exist yet; `being run` creates it"
    assert sorted(tmp_path.iterdir()) == []


def test_a_database_opens_with_its_schema_version_and_every_table_read(tmp_path: Path) -> None:
    path = _made(tmp_path / "being.duckdb")
    result = result_of("database", _settings(path))
    assert result.ok and result.detail.startswith(f"{path} opens, schema version {KNOWN}, ")
    con = open_database(path, read_only=True)
    tables = con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()
    con.close()
    assert tables is not None and f", {tables[0]} tables readable (" in result.detail


def test_a_schema_newer_than_this_version_knows_fails(tmp_path: Path) -> None:
    path = _made(tmp_path / "being.duckdb")
    con = open_database(path)
    con.execute("INSERT INTO schema_version VALUES (?, now())", [KNOWN + 7])
    con.close()
    result = result_of("database", _settings(path))
    assert not result.ok and f"schema version {KNOWN + 7}, newer than this version knows ({KNOWN})" in result.detail


def test_a_database_held_by_another_process_fails_naming_the_process(tmp_path: Path) -> None:
    path = _made(tmp_path / "being.duckdb")
    with held(path) as pid:
        lock = result_of("database lock", _settings(path))
        database = result_of("database", _settings(path))
    assert not lock.ok and lock.severity is Severity.CRITICAL
    assert lock.detail == f"{path} is held by process {pid} (is `being run` running?)"
    assert not database.ok and "held by process" in database.detail
    assert result_of("database lock", _settings(path)).detail == f"{path} is held by no other process"


def test_a_wal_left_by_a_kill_replays_and_a_corrupt_one_fails(tmp_path: Path) -> None:
    path = tmp_path / "being.duckdb"
    wal = _left_a_wal(path)
    size = wal.stat().st_size
    good = result_of("database wal", _settings(path))
    assert (good.ok, good.detail) == (True, f"{wal} ({size} bytes) replays (its rows are kept at start)")
    data = bytearray(wal.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one changed byte inside an entry: its checksum no longer matches
    wal.write_bytes(bytes(data))
    bad = result_of("database wal", _settings(path))
    assert not bad.ok and bad.detail.startswith(f"{wal} ({size} bytes) cannot be replayed: ")
    assert "Corrupt WAL file" in bad.detail
    assert wal.read_bytes() == bytes(data)  # looking changed nothing


def test_no_wal_after_a_clean_close(tmp_path: Path) -> None:
    path = _made(tmp_path / "being.duckdb")
    assert result_of("database wal", _settings(path)).detail.startswith(f"no WAL at {path}.wal")


def test_a_clock_before_the_newest_stored_episode_fails(tmp_path: Path) -> None:
    path = _made(tmp_path / "ahead.duckdb", newest_in_s=3600.0)
    failed = result_of("clock", _settings(path))
    assert not failed.ok and "before the newest stored episode" in failed.detail and "set the clock" in failed.detail
    fine = result_of("clock", _settings(_made(tmp_path / "behind.duckdb")))
    assert fine.ok and "after the newest stored episode" in fine.detail
