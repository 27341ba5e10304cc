"""Backup: the writer thread's job (checkpoint, table sums, copy with SHA-256, fsync) beside a plain copy.

One database of 2,000,000 episodes (``--quick``: 200,000) in a temporary folder. Measured in
the same run:

- ours — :func:`service._backup.make_backup` on the open connection, as the service's writer
  thread runs it;
- baseline — ``shutil.copyfile`` of the same (checkpointed) file and an ``fsync``, what a
  careful ``cp`` does.

The ratio is what the consistency (checkpoint, fingerprints) and the checksum cost over the
copy itself; the writer is busy for the job's time. Then the restore (verify twice, copy) of the
same backup beside the same plain copy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from service._backup import make_backup, restore_backup
from sinks import open_database


def _fill(database: Path, rows: int) -> None:
    con = open_database(database)
    try:
        con.execute(
            "INSERT INTO episodes SELECT 'id' || i, now() - INTERVAL 1 SECOND * i, 'user.message', "
            "repeat('a message of some words ', 8) || i, 'success', '{\"k\": 1}' FROM range(?) t(i)",
            [rows],
        )
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _plain_copy(source: Path, target: Path) -> float:
    started = time.perf_counter()
    shutil.copyfile(source, target)
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - started


def main(quick: bool = False) -> None:
    rows = 200_000 if quick else 2_000_000
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        folder = Path(tmp)
        database = folder / "data" / "being.duckdb"
        _fill(database, rows)
        size_mb = database.stat().st_size / 1e6
        baseline = _plain_copy(database, folder / "plain.copy")
        con = open_database(database)
        try:
            started = time.perf_counter()
            make_backup(con, database=database, archive_dir=folder / "data" / "archive", out=folder / "backup")
            ours = time.perf_counter() - started
        finally:
            con.close()
        started = time.perf_counter()
        restore_backup(folder / "backup", database=folder / "restored" / "being.duckdb", archive_dir=folder / "ra")
        restored = time.perf_counter() - started
    print(f"database: {rows:,} episodes, {size_mb:.0f} MB")
    print(f"backup job (writer thread busy): {ours:.2f} s; plain copy + fsync: {baseline:.2f} s")
    print(f"  ratio {ours / baseline:.2f}")
    print(f"restore (verify, copy, verify):  {restored:.2f} s; ratio to the plain copy {restored / baseline:.2f}")
