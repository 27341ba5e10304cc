"""``being outbox``: whole lines only, rotated files with ``--all``, and ``--follow`` across rotations and cut lines."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from service.cli import main
from service.commands.outbox import follow
from tests.support import wait_until


def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\ndatabase_path = "{tmp_path / "being.duckdb"}"\n[inbox]\npath = "{tmp_path / "inbox.txt"}"\n',
        encoding="utf-8",
    )
    return path


def test_it_prints_the_whole_lines_of_the_outbox_beside_the_inbox(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    (tmp_path / "outbox.jsonl.2").write_bytes(b'{"id": "a"}\n')
    (tmp_path / "outbox.jsonl.1").write_bytes(b'{"id": "b"}\n')
    (tmp_path / "outbox.jsonl").write_bytes(b'{"id": "c"}\n{"id": "d"')  # a line still being written
    assert main(["outbox", "--config", str(config(tmp_path))]) == 0
    assert capsysbinary.readouterr().out == b'{"id": "c"}\n'
    assert main(["outbox", "--config", str(config(tmp_path)), "--all"]) == 0
    assert capsysbinary.readouterr().out == b'{"id": "a"}\n{"id": "b"}\n{"id": "c"}\n'


def test_an_outbox_not_made_yet_prints_nothing(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["outbox", "--config", str(config(tmp_path))]) == 0
    assert capsysbinary.readouterr().out == b""


class Buffer(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def write(self, data: bytes) -> int:  # type: ignore[override]
        with self.lock:
            return super().write(data)

    def text(self) -> bytes:
        with self.lock:
            return self.getvalue()


def test_follow_goes_on_across_a_rotation_and_a_cut_line(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    path.write_bytes(b"one\n")
    out = Buffer()
    running = [True]
    thread = threading.Thread(
        target=follow, args=(path, out), kwargs={"poll_s": 0.01, "keep_going": lambda: running[0]}
    )
    thread.start()
    try:
        wait_until(lambda: out.text() == b"one\n", what="the first line")
        with path.open("ab") as handle:
            handle.write(b"two\nthr")  # a torn line: a kill mid-write
        wait_until(lambda: out.text() == b"one\ntwo\n", what="the whole line")
        with path.open("r+b") as handle:
            handle.truncate(len(b"one\ntwo\n"))  # the next start cuts it...
        with path.open("ab") as handle:
            handle.write(b"three\n")  # ...and writes it whole
        wait_until(lambda: out.text() == b"one\ntwo\nthree\n", what="the line written again")
        with path.open("ab") as handle:
            handle.write(b"four\n")
        path.rename(tmp_path / "outbox.jsonl.1")  # rotation
        path.write_bytes(b"five\n")
        wait_until(lambda: out.text() == b"one\ntwo\nthree\nfour\nfive\n", what="the new file")
    finally:
        running[0] = False
        thread.join(timeout=10)
