"""What survives which fault (docs/durability.md): a real child process writes through ``DuckWriter`` and dies.

Each test pins one claim of the page: a kill -9 keeps every committed batch; a checkpoint puts
rows in the main file, so a WAL that is cut, lost or corrupt cannot take them; a cut WAL loses
its tail silently, whole batches at a time; a corrupt one stops the database from opening; a
full disk fails the batch (and then the checkpoint, fatally) without losing a committed row.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sinks import SinkError, open_database
from tests.sinks._durability_child import ROWS
from tests.support import REPO

BEFORE = 3  # batches committed before the checkpoint
AFTER = 8  # batches committed after it, only in the WAL


def child(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*prefix, sys.executable, "-m", "tests.sinks._durability_child", *args],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def report_of(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        _, err = proc.communicate(timeout=30)
        raise AssertionError(f"the child wrote no report: {err}")
    report: dict[str, Any] = json.loads(line)
    return report


def crashed_database(tmp_path: Path) -> tuple[Path, Path]:
    """A database whose writer committed BEFORE batches, checkpointed, committed AFTER more and died."""
    db = tmp_path / "db.duckdb"
    proc = child("crash", str(db), str(BEFORE), str(AFTER), "exit")
    report = report_of(proc)
    proc.communicate(timeout=30)
    assert report["committed"] == BEFORE + AFTER
    wal = Path(f"{db}.wal")
    assert wal.stat().st_size == report["wal_bytes"] > 0
    return db, wal


def batches(db: Path) -> Counter[int]:
    """Rows stored per batch number."""
    con = open_database(db)
    try:
        rows = con.execute("SELECT type, count(*) FROM episodes WHERE type LIKE 'batch.%' GROUP BY type").fetchall()
    finally:
        con.close()
    return Counter({int(kind.removeprefix("batch.")): n for kind, n in rows})


def test_a_kill_9_keeps_every_committed_batch_and_loses_the_queued_one(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    proc = child("crash", str(db), str(BEFORE), str(AFTER), "wait")
    try:
        report = report_of(proc)
    finally:
        proc.kill()  # SIGKILL: no close, no checkpoint, no atexit
        proc.communicate(timeout=30)
    assert proc.returncode == -9
    stored = batches(db)
    assert stored == Counter(dict.fromkeys(range(BEFORE + AFTER), ROWS))  # the WAL replays every commit
    assert report["queued"] not in stored  # a job still queued when the process died never ran


def test_checkpointed_rows_need_no_wal(tmp_path: Path) -> None:
    db, wal = crashed_database(tmp_path)
    wal.unlink()  # the WAL lost whole (as a power loss can lose a file created since the last checkpoint)
    assert batches(db) == Counter(dict.fromkeys(range(BEFORE), ROWS))


def test_a_wal_cut_in_half_opens_silently_and_keeps_a_prefix_of_whole_batches(tmp_path: Path) -> None:
    db, wal = crashed_database(tmp_path)
    os.truncate(wal, wal.stat().st_size // 2)
    stored = batches(db)  # no error: the torn tail is dropped without a word
    assert all(stored[b] == ROWS for b in range(BEFORE))  # every checkpointed row is there
    after = sorted(b for b in stored if b >= BEFORE)
    assert after == list(range(BEFORE, BEFORE + len(after)))  # a prefix of the commits after it...
    assert all(stored[b] == ROWS for b in after)  # ...each one whole (a batch is one transaction)
    assert 0 < len(after) < AFTER  # the batches past the cut are gone


def test_a_corrupt_wal_stops_the_database_from_opening_until_it_is_moved_aside(tmp_path: Path) -> None:
    db, wal = crashed_database(tmp_path)
    data = bytearray(wal.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside an entry: its checksum no longer matches
    wal.write_bytes(bytes(data))
    with pytest.raises(SinkError, match="cannot open") as info:
        open_database(db)
    assert "Corrupt WAL file" in str(info.value)
    wal.rename(tmp_path / "db.duckdb.wal.corrupt")  # what an operator does (docs/durability.md)
    assert batches(db) == Counter(dict.fromkeys(range(BEFORE), ROWS))


def test_a_full_disk_fails_the_batch_then_the_checkpoint_and_loses_no_committed_row(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root, unshare and mount")
    disk = tmp_path / "disk"
    disk.mkdir()
    # a mount namespace of the child's own: the tmpfs goes with the child, whatever happens to the test
    proc = child("full-disk", str(disk), prefix=("unshare", "--mount", "--propagation", "private"))
    report = report_of(proc)
    _, err = proc.communicate(timeout=60)
    if "skip" in report:
        pytest.skip(report["skip"])
    assert proc.returncode == 0, err
    committed = report["committed"] * ROWS
    assert report["committed"] > 0
    # the batch that found the disk full: its future failed with SinkError, saying why, and nothing of it stayed
    failed = report["failed_batch"]
    assert failed["sink_error"] and failed["cause"] == "TransactionException"
    assert "No space left on device" in failed["message"]
    assert report["alive_after_batch"] and report["count_after_batch"] == committed  # the writer goes on
    # a checkpoint cannot write the main file: DuckDB invalidates the database, every later job fails
    assert report["checkpoint"]["type"] == "DatabaseInvalidatedError"
    assert "No space left on device" in report["checkpoint"]["message"]
    assert not report["alive_after_checkpoint"]
    assert report["next_job"]["type"] == "DatabaseInvalidatedError"
    assert report["closed"]
    # opening the file again (a restart) recovers every committed row from the WAL
    assert report["count_after_reopen"] == committed
