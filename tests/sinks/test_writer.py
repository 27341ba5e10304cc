"""The writer thread: schema, order, errors handed back, flush on close, a file held by another process."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from sinks import (
    MIGRATIONS,
    DatabaseBusyError,
    DuckWriter,
    EpisodeRow,
    SinkClosedError,
    SinkError,
    WriterListener,
    open_database,
    schema_version,
    write_rows,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def row(n: int, outcome: str = "success") -> EpisodeRow:
    return EpisodeRow(id=f"r{n}", time=NOW, type="test", description=f"row {n}", outcome=outcome)


def test_schema_has_the_tables_and_indexes(tmp_path: Path) -> None:
    con = open_database(tmp_path / "sub" / "db.duckdb")
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"episodes", "dead_letters", "schema_version"} <= tables
    indexes = {r[0] for r in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
    assert {"episodes_type", "episodes_time", "episodes_outcome"} <= indexes
    assert schema_version(con) == MIGRATIONS[-1][0]
    con.close()


def test_schema_is_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "db.duckdb"
    open_database(path).close()
    con = open_database(path)
    assert con.execute("SELECT count(*) FROM schema_version").fetchone() == (len(MIGRATIONS),)
    con.close()


def test_jobs_run_in_order_on_one_thread(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    threads: list[str] = []
    order: list[int] = []

    def job(n: int) -> None:
        threads.append(threading.current_thread().name)
        order.append(n)

    futures = [writer.submit(f"job{n}", lambda con, n=n: job(n)) for n in range(50)]
    for future in futures:
        future.result(timeout=10)
    assert order == list(range(50))
    assert set(threads) == {"duckdb-writer"}
    assert writer.close()


def test_duckdb_errors_reach_the_submitter_as_sink_errors(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    future = writer.submit("broken", lambda con: con.execute("SELECT * FROM no_such_table"))
    with pytest.raises(SinkError, match="broken") as info:
        future.result(timeout=10)
    assert isinstance(info.value.__cause__, duckdb.Error)
    assert writer.call("after", lambda con: 42, timeout_s=10) == 42
    writer.close()


def test_close_runs_queued_jobs_checkpoints_and_refuses_more(tmp_path: Path) -> None:
    path = tmp_path / "db.duckdb"
    writer = DuckWriter(open_database(path))
    for n in range(20):
        writer.submit("write", lambda con, n=n: write_rows(con, [row(n)]))
    assert writer.close(checkpoint=True)
    assert not writer.alive
    with pytest.raises(SinkClosedError):
        writer.submit("late", lambda con: None)
    assert not Path(f"{path}.wal").exists() or Path(f"{path}.wal").stat().st_size == 0
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT count(*) FROM episodes").fetchone() == (20,)
    con.close()


def test_a_full_queue_makes_the_submitter_wait_and_is_reported(tmp_path: Path) -> None:
    waits: list[float] = []

    class Listener(WriterListener):
        def queue_waited(self, seconds: float) -> None:
            waits.append(seconds)

    writer = DuckWriter(open_database(tmp_path / "db.duckdb"), max_pending=1, listener=Listener())
    gate = threading.Event()
    running = threading.Event()

    def blocker(con: duckdb.DuckDBPyConnection) -> None:
        running.set()
        gate.wait(10)

    writer.submit("blocker", blocker)
    assert running.wait(10)
    writer.submit("queued", lambda con: None)
    releaser = threading.Timer(0.05, gate.set)
    releaser.start()
    writer.submit("waits", lambda con: None).result(timeout=10)
    releaser.join()
    assert len(waits) == 1
    writer.close()


HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
sys.stdin.read()
"""


def test_a_file_held_by_another_process_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "db.duckdb"
    open_database(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(DatabaseBusyError, match="held by another process"):
            open_database(path)
    finally:
        holder.communicate("", timeout=10)


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "db.duckdb"
    path.write_bytes(b"this is not a database" * 1000)
    with pytest.raises(SinkError, match="cannot open"):
        open_database(path)
