"""The writer thread: schema, order, errors handed back, admission that never blocks, room, checkpoint, close."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from concurrent.futures import Future
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
from tests.support import until, wait_until

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


class Recorder(WriterListener):
    """What the writer reported, in order."""

    def __init__(self) -> None:
        self.over: list[int] = []
        self.over_for: list[float] = []
        self.waits: list[float] = []
        self.jobs: list[tuple[str, bool]] = []

    def admitted_over_bound(self, pending: int) -> None:
        self.over.append(pending)

    def over_bound_ended(self, seconds: float) -> None:
        self.over_for.append(seconds)

    def queue_waited(self, seconds: float) -> None:
        self.waits.append(seconds)

    def job_done(self, name: str, seconds: float, failed: bool) -> None:
        self.jobs.append((name, failed))


class Gate:
    """A job that blocks the writer thread until the test opens the gate."""

    def __init__(self) -> None:
        self.running = threading.Event()
        self.opened = threading.Event()

    def __call__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.running.set()
        assert self.opened.wait(30), "the test never opened the gate"


def blocked_writer(path: Path, listener: WriterListener, max_pending: int = 1) -> tuple[DuckWriter, Gate]:
    """A writer whose thread is held in a job, with ``max_pending`` more jobs queued: full."""
    writer = DuckWriter(open_database(path), max_pending=max_pending, listener=listener)
    gate = Gate()
    writer.submit("gate", gate)
    assert gate.running.wait(10)
    for n in range(max_pending):
        writer.submit(f"queued{n}", lambda con: None)
    assert not writer.has_room
    return writer, gate


def test_a_submit_on_a_full_queue_returns_at_once_and_is_counted(tmp_path: Path) -> None:
    listener = Recorder()
    writer, gate = blocked_writer(tmp_path / "db.duckdb", listener)
    stretches = len(listener.over_for)  # the gate's own job filled the queue for a moment
    returned = threading.Event()
    futures: list[Future[int]] = []

    def submit() -> None:  # in a thread: if submit blocked, the test would hang instead of failing
        futures.append(writer.submit("over", lambda con: 7))
        futures.append(writer.submit("over", lambda con: 8))
        returned.set()

    threading.Thread(target=submit, daemon=True).start()
    try:
        assert returned.wait(10), "submit blocked on a full queue"
        assert not gate.opened.is_set() and not futures[0].done()
        assert writer.pending == 3 and not writer.has_room
        assert listener.over == [1, 2]  # admitted over the bound, with 1 then 2 jobs waiting
        assert len(listener.over_for) == stretches  # still over the bound
    finally:
        gate.opened.set()
    assert [f.result(timeout=10) for f in futures] == [7, 8]  # queued, not dropped, in order
    wait_until(lambda: writer.pending == 0, what="the queue to drain")
    assert writer.has_room
    assert len(listener.over_for) == stretches + 1 and listener.over_for[-1] >= 0.0  # one more stretch over
    assert [name for name, _ in listener.jobs] == ["gate", "queued0", "over", "over"]
    assert writer.close()


async def test_room_waits_on_the_loop_until_the_queue_is_below_its_bound(tmp_path: Path) -> None:
    listener = Recorder()
    writer, gate = blocked_writer(tmp_path / "db.duckdb", listener)
    waiting = asyncio.ensure_future(writer.room())
    ticks = 0

    async def tick() -> None:  # the loop keeps running while a source waits for room
        nonlocal ticks
        while not waiting.done():
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.ensure_future(tick())
    await until(lambda: ticks >= 50, what="the loop to run while waiting")
    assert not waiting.done()
    gate.opened.set()
    await asyncio.wait_for(waiting, timeout=10)
    await ticker
    assert writer.has_room
    assert len(listener.waits) == 1
    await writer.room()  # room now: returns at once, no wait reported
    assert len(listener.waits) == 1
    assert await asyncio.to_thread(writer.close)


async def test_a_cancelled_wait_for_room_is_dropped(tmp_path: Path) -> None:
    listener = Recorder()
    writer, gate = blocked_writer(tmp_path / "db.duckdb", listener)
    waiting = asyncio.ensure_future(writer.room())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    room = writer.wait_for_room()
    gate.opened.set()
    assert room.result(timeout=10) is None
    assert len(listener.waits) == 1  # the cancelled wait is not reported
    assert await asyncio.to_thread(writer.close)


def test_room_and_submit_after_close_are_refused(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    assert writer.has_room
    assert writer.close()
    assert not writer.has_room
    with pytest.raises(SinkClosedError):
        writer.wait_for_room()
    with pytest.raises(SinkClosedError):
        writer.checkpoint()


def test_checkpoint_runs_after_the_jobs_before_it_and_empties_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "db.duckdb"
    listener = Recorder()
    writer, gate = blocked_writer(path, listener, max_pending=4)
    writes = [writer.submit("write", lambda con, n=n: write_rows(con, [row(n)])) for n in range(3)]
    checkpoint = writer.checkpoint()
    later = writer.submit("later", lambda con: None)
    gate.opened.set()
    assert checkpoint.result(timeout=10) is None
    later.result(timeout=10)
    assert all(w.done() for w in writes)
    names = [name for name, _ in listener.jobs]
    assert names.index("checkpoint") == len(names) - 2  # after every write queued before it, before "later"
    assert not Path(f"{path}.wal").exists() or Path(f"{path}.wal").stat().st_size == 0
    assert ("checkpoint", False) in listener.jobs
    assert writer.close()


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
