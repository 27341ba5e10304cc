"""The child process of ``tests/sinks/test_durability.py``: writes through ``DuckWriter``, then dies as told.

``python -m tests.sinks._durability_child MODE ...`` (from the repository root):

- ``crash DB BEFORE AFTER HOW``: commit BEFORE batches, run ``checkpoint()``, commit AFTER more
  (each one waited for: its future resolved), print one JSON line, then ``HOW``: ``exit``
  (``os._exit``: no close, no checkpoint) or ``wait`` (hold one more batch queued behind a job
  that never ends, and wait for the parent's ``kill -9``).
- ``full-disk DIR``: mount a small tmpfs on DIR (run it in a mount namespace of its own:
  ``unshare --mount --propagation private``), fill it with batches until one fails, and print
  what the writer did then, as one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sinks import DuckWriter, EpisodeRow, SinkError, open_database, write_rows

ROWS = 50
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FULL_DISK_SIZE = "4m"


def batch(b: int, rows: int = ROWS, text_chars: int = 200) -> list[EpisodeRow]:
    """Batch ``b``: its rows' type is ``batch.<b>``, their ids ``b<b>-<i>``."""
    return [
        EpisodeRow(
            id=f"b{b:04d}-{i:04d}",
            time=NOW,
            type=f"batch.{b}",
            description=f"batch {b} row {i} " + "x" * text_chars,
            outcome="success",
        )
        for i in range(rows)
    ]


def crash(db: str, before: int, after: int, how: str) -> None:
    writer = DuckWriter(open_database(db))
    for b in range(before):
        writer.submit("batch", lambda con, b=b: write_rows(con, batch(b))).result(timeout=30)
    writer.checkpoint().result(timeout=30)
    for b in range(before, before + after):
        writer.submit("batch", lambda con, b=b: write_rows(con, batch(b))).result(timeout=30)
    report: dict[str, Any] = {"committed": before + after, "wal_bytes": os.path.getsize(f"{db}.wal")}
    if how == "exit":
        print(json.dumps(report), flush=True)
        os._exit(0)
    stuck = threading.Event()
    writer.submit("stuck", lambda con: stuck.wait())
    queued = before + after
    writer.submit("batch", lambda con: write_rows(con, batch(queued)))
    report["queued"] = queued
    print(json.dumps(report), flush=True)
    sys.stdin.read()  # until the parent's kill -9


def _error(exc: BaseException | None) -> dict[str, Any] | None:
    if exc is None:
        return None
    return {
        "type": type(exc).__name__,
        "sink_error": isinstance(exc, SinkError),
        "message": str(exc),
        "notes": list(getattr(exc, "__notes__", [])),
        "cause": type(exc.__cause__).__name__ if exc.__cause__ is not None else None,
    }


def full_disk(folder: str) -> None:
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={FULL_DISK_SIZE}", "tmpfs", folder], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        print(json.dumps({"skip": f"cannot mount a tmpfs: {mounted.stderr.strip()}"}), flush=True)
        return
    db = str(Path(folder) / "db.duckdb")
    writer = DuckWriter(open_database(db))
    report: dict[str, Any] = {"committed": 0}
    for b in range(10_000):
        future = writer.submit("batch", lambda con, b=b: write_rows(con, batch(b, text_chars=2000)))
        error = future.exception(timeout=30)
        if error is not None:
            report["failed_batch"] = _error(error)
            break
        report["committed"] += 1

    def count(con: Any) -> int:
        return int(con.execute("SELECT count(*) FROM episodes").fetchone()[0])

    report["alive_after_batch"] = writer.alive
    report["count_after_batch"] = writer.call("count", count, timeout_s=30)
    report["checkpoint"] = _error(writer.checkpoint().exception(timeout=30))
    report["alive_after_checkpoint"] = writer.alive
    report["next_job"] = _error(writer.submit("next", count).exception(timeout=30))
    report["closed"] = writer.close(timeout_s=30)
    try:
        con = open_database(db)
    except SinkError as exc:
        report["reopened"] = _error(exc)
    else:
        report["count_after_reopen"] = count(con)
        con.close()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "crash":
        crash(args[0], int(args[1]), int(args[2]), args[3])
    elif mode == "full-disk":
        full_disk(args[0])
    else:
        raise SystemExit(f"unknown mode {mode!r}")
