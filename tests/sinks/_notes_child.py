"""The child process of ``tests/sinks/test_notes_kill.py``: a batch with two notes, killed appending the second.

``python -m tests.sinks._notes_child DB NOTES_DIR WHEN`` (from the repository root): one batch
(an episode and notes ``n1``, ``n2`` for ``today.md``) through ``write_batches``; the first note is
appended, and the process sends itself SIGKILL while appending the second: ``mid-write`` when
half of its bytes are written, ``after-append`` once they are all written and synced (before the
note is marked).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import reactivex

from sinks import DuckWriter, EpisodeRow, NoteRow, Row, open_database, write_batches

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TEXTS = {"n1": "tea at five", "n2": "and a long walk by the river"}


def main(db: str, notes_dir: str, when: str) -> None:
    real_write, real_fsync = os.write, os.fsync
    writes = [0]

    def write(fd: int, data: bytes | memoryview) -> int:
        writes[0] += 1
        if writes[0] == 2 and when == "mid-write":
            real_write(fd, bytes(data)[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        real_fsync(fd)
        if writes[0] == 2 and when == "after-append":
            os.kill(os.getpid(), signal.SIGKILL)

    os.write, os.fsync = write, fsync  # type: ignore[assignment]
    writer = DuckWriter(open_database(db))
    rows: list[Row] = [
        EpisodeRow(id="e1", time=NOW, type="mind.note", description="noted", outcome="success"),
        *(NoteRow(id=i, path="today.md", text=t, time=NOW) for i, t in TEXTS.items()),
    ]
    done = threading.Event()
    reactivex.from_iterable(rows).pipe(
        write_batches(writer, max_rows=len(rows), max_wait_s=60.0, notes_dir=Path(notes_dir))
    ).subscribe(on_completed=done.set, on_error=lambda _e: done.set())
    done.wait(60)
    sys.exit(3)  # not reached: the kill comes first


if __name__ == "__main__":
    main(*sys.argv[1:4])
