"""A real process killed with SIGKILL while appending a note: the next start appends it, exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sinks import DuckWriter, open_database
from tests.sinks._notes_child import TEXTS
from tests.sinks.mind_support import episode, sink
from tests.support import REPO


@pytest.mark.parametrize("when", ["mid-write", "after-append"])
def test_a_note_cut_off_by_a_kill_is_in_its_file_once_after_the_next_start(tmp_path: Path, when: str) -> None:
    db, notes = tmp_path / "db.duckdb", tmp_path / "notes"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.sinks._notes_child", str(db), str(notes), when],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    whole = "".join(f"{t}\n\n" for t in TEXTS.values())
    left = (notes / "today.md").read_text()
    assert left == whole if when == "after-append" else len(left) < len(whole)

    writer = DuckWriter(open_database(db))
    states = writer.call("states", lambda con: con.execute("SELECT id, state FROM notes ORDER BY id").fetchall())
    assert states == [("n1", "appended"), ("n2", "pending")]
    result = sink(writer, [episode(2)], notes_dir=notes)
    assert result.notes_appended == 1
    assert (notes / "today.md").read_text() == whole
    states = writer.call("states", lambda con: con.execute("SELECT id, state FROM notes ORDER BY id").fetchall())
    assert states == [("n1", "appended"), ("n2", "appended")]
    writer.close()
