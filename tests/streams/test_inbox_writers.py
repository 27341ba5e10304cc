"""Every way of writing to the inbox loses nothing: echo per line, a long-open writer, partial lines, reopening."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from streams import Event, InboxPolicy, LocalFiles
from tests.streams.inbox_support import QUIET, Harness, append, harness_on

_WRITER = """
import json, sys
path = sys.argv[1]
handle = open(path, "a", encoding="utf-8")
for command in map(json.loads, sys.stdin):
    if command == {"reopen": True}:
        fresh = open(path, "a", encoding="utf-8")
        handle.close()
        handle = fresh
    elif command == {"close": True}:
        handle.close()
    else:
        handle.write(command)
        handle.flush()
    print("ok", flush=True)
"""


class WriterProcess:
    """Another process that opens the inbox for appending and writes what it is told, keeping it open."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.write("")  # answered once the file is open

    def _ask(self, command: object) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline() == "ok\n", "the writer process died"

    def write(self, text: str) -> None:
        self._ask(text)

    def reopen(self) -> None:
        """Open the inbox again by its name, then close the old handle (what a rotating logger does)."""
        self._ask({"reopen": True})

    def close(self) -> None:
        self._ask({"close": True})

    def __enter__(self) -> WriterProcess:
        return self

    def __exit__(self, *_: object) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


def texts(events: list[Event]) -> list[str]:
    return [str(e.payload["text"]) for e in events]


def test_a_writer_process_open_for_minutes_loses_no_line(tmp_path: Path) -> None:
    # Five lines 3.5 s apart from one open writer, with quiet_s = 2: every claim goes quiet
    # between two lines, but it is not let go while the writer holds it.
    path = tmp_path / "inbox.txt"
    harness = Harness(path)
    got: list[str] = []
    with WriterProcess(path) as writer:
        for n in range(5):
            writer.write(f"line {n}\n")
            at = 1.0 + 3.5 * n
            events = harness.tick(at)
            harness.ack(events)
            got += texts(events)
            harness.tick(at + 3.0)  # acknowledged and quiet, but still open: kept
            assert len(harness.claimed()) == 1
        writer.close()
        harness.tick(30.0)
        assert harness.claimed() == []  # let go of once the writer closed it
    assert got == [f"line {n}" for n in range(5)]


def test_a_line_written_in_two_parts_by_an_open_writer_is_one_message(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    harness = Harness(path)
    with WriterProcess(path) as writer:
        writer.write("half a ")
        assert harness.tick(1.0) == []
        assert harness.tick(4.5) == []  # quiet, but the writer may still finish the line
        writer.write("line\n")
        assert texts(harness.tick(5.0)) == ["half a line"]


def test_a_writer_that_never_ends_its_last_line_has_it_read_once_it_closes_and_it_is_quiet(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    harness = Harness(path)
    with WriterProcess(path) as writer:
        writer.write("done\nno newline")
        assert texts(harness.tick(1.0)) == ["done"]
        assert harness.tick(10.0) == []  # quiet for long, but held open
        writer.close()
        assert texts(harness.tick(11.0)) == ["no newline"]  # closed, and unchanged since 1.0


def test_an_unterminated_tail_is_final_only_when_closed_and_quiet(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    harness = Harness(path)
    with WriterProcess(path) as writer:
        writer.write("no newline")
        assert harness.tick(1.0) == []
        assert harness.tick(1.0 + QUIET + 5) == []  # quiet but held
        writer.write(" yet")
        writer.close()
        assert harness.tick(9.0) == []  # closed, but changed just now
        assert texts(harness.tick(9.0 + QUIET)) == ["no newline yet"]


def test_echo_per_line_from_separate_processes(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    harness = Harness(path)

    def echo(text: str) -> None:
        subprocess.run(["sh", "-c", 'printf "%s\\n" "$0" >> "$1"', text, str(path)], check=True)

    echo("one")
    echo("two")
    first = harness.tick(1.0)
    echo("three")  # a fresh inbox: the first one is claimed
    second = harness.tick(2.0)
    assert texts(first + second) == ["one", "two", "three"]
    harness.ack(first + second)
    harness.tick(2.0 + QUIET)
    assert harness.claimed() == []


def test_a_writer_that_reopens_the_inbox_by_name_after_the_claim_loses_nothing(tmp_path: Path) -> None:
    # The claim renames the file under the open writer (as logrotate does); the writer goes on
    # writing into it, then reopens the inbox by its name (a fresh file) and closes the old one.
    path = tmp_path / "inbox.txt"
    harness = Harness(path)
    with WriterProcess(path) as writer:
        writer.write("before the claim\n")
        first = harness.tick(1.0)
        writer.write("after the claim, same handle\n")
        writer.reopen()
        writer.write("after reopening\n")
        second = harness.tick(5.0)
        harness.ack(first + second)
        assert texts(first + second) == ["before the claim", "after the claim, same handle", "after reopening"]
        harness.tick(10.0)
        remaining = harness.claimed()
        assert len(remaining) == 1  # the old claim is let go of; the new one is still held
        writer.close()
    harness.tick(11.0)
    assert harness.claimed() == []


def test_a_writer_held_in_this_process_keeps_the_claim(tmp_path: Path) -> None:
    path = tmp_path / "inbox.txt"
    with path.open("a", encoding="utf-8") as writer:
        append(writer, "one\n")
        harness = Harness(path)
        harness.ack(harness.tick(1.0))
        harness.tick(1.0 + QUIET * 5)
        assert len(harness.claimed()) == 1
        append(writer, "two\n")
        second = harness.tick(20.0)
        assert texts(second) == ["two"]
        harness.ack(second)
    harness.tick(30.0)
    assert harness.claimed() == []


def test_a_reader_holding_the_claim_open_delays_its_deletion(tmp_path: Path) -> None:
    harness = harness_on(tmp_path, "one\n")
    harness.ack(harness.tick(1.0))
    (claimed,) = harness.claimed()
    with claimed.open("rb"):  # a `tail -f`: it cannot write, but the lease cannot tell
        harness.tick(10.0)
        assert harness.claimed() == [claimed]
    harness.tick(11.0)
    assert harness.claimed() == []


class NoLeases(LocalFiles):
    """A file system without leases (NFS, some FUSE ones): whether a file is held open is unknown."""

    def exclusive(self, fd: int) -> AbstractContextManager[bool | None]:
        @contextmanager
        def unknown() -> Iterator[bool | None]:
            yield None

        return unknown()


def test_without_leases_the_quiet_rule_decides(tmp_path: Path) -> None:
    # Documented: where leases are unsupported, a writer that pauses longer than quiet_s can
    # have its unterminated line read early and its claim let go.
    path = tmp_path / "inbox.txt"
    harness = Harness(path, InboxPolicy(quiet_s=QUIET), files=NoLeases())
    with path.open("a", encoding="utf-8") as writer:
        append(writer, "one\nhalf")
        assert texts(harness.tick(1.0)) == ["one"]
        assert texts(harness.tick(1.0 + QUIET)) == ["half"]
        harness.ack(harness.events)
        harness.tick(2.0 + QUIET)
        assert harness.claimed() == []


def test_a_line_written_in_parts_by_separate_commands_splits_when_a_claim_falls_between(tmp_path: Path) -> None:
    # Documented: only a writer that keeps the file open can write a line in parts safely.
    path = tmp_path / "inbox.txt"
    harness = Harness(path)
    with path.open("a", encoding="utf-8") as first:
        first.write("half")
    assert harness.tick(1.0) == []  # claimed; its tail waits until final
    with path.open("a", encoding="utf-8") as second:
        second.write("line\n")
    assert texts(harness.tick(2.0)) == ["line"]
    assert texts(harness.tick(1.0 + QUIET)) == ["half"]
