"""The notes writer: appended after the commit, exactly once, inside the notes folder, size-capped, escapes refused."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from sinks import (
    DuckWriter,
    NoteRow,
    append_pending_notes,
    note_path_problem,
    notes_folder,
    open_database,
    write_rows,
)
from tests.sinks.mind_support import NOW, episode, sink


def note(note_id: str, text: str = "tea at five", path: str = "today.md") -> NoteRow:
    return NoteRow(id=note_id, path=path, text=text, time=NOW)


def block(text: str) -> str:
    return f"{text}\n\n"


def states(writer: DuckWriter) -> list[tuple[str, str, str | None]]:
    return writer.call(
        "states", lambda con: con.execute("SELECT id, state, reason FROM notes ORDER BY id").fetchall(), timeout_s=10
    )


def letters(writer: DuckWriter) -> list[tuple[str, str, str]]:
    return writer.call(
        "letters", lambda con: con.execute("SELECT source, reason, raw FROM dead_letters").fetchall(), timeout_s=10
    )


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[DuckWriter]:
    w = DuckWriter(open_database(tmp_path / "db.duckdb"))
    yield w
    w.close()


def test_a_note_is_appended_after_its_batch_commits_beside_the_database_by_default(
    tmp_path: Path, writer: DuckWriter
) -> None:
    result = sink(writer, [episode(1), note("n1"), note("n2", "and a walk\n")])
    assert result.inserted == {"episodes": 1, "notes": 2} and result.notes_appended == 2
    assert (tmp_path / "notes" / "today.md").read_text() == block("tea at five") + block("and a walk")
    assert states(writer) == [("n1", "appended", None), ("n2", "appended", None)]


def test_the_same_note_twice_is_appended_once(tmp_path: Path, writer: DuckWriter) -> None:
    sink(writer, [note("n1")], notes_dir=tmp_path / "n")
    again = sink(writer, [note("n1")], notes_dir=tmp_path / "n")
    assert again.skipped == {"notes": 1} and again.notes_appended == 0
    assert (tmp_path / "n" / "today.md").read_text() == block("tea at five")


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("../x.md", "'..'"),
        ("/etc/passwd", "absolute"),
        ("a/../../b.md", "'..'"),
        ("sub/x.md", "folder"),
        ("x\x00.md", "NUL"),
        ("a\\b.md", "backslash"),
        ("C:x.md", "drive letter"),
        (".hidden.md", "hidden"),
        ("Notes.md", "lower-case"),
        ("x.txt", "ending in '.md'"),
        ("a" * 70 + ".md", "at most 67"),
        ("", "empty"),
    ],
)
def test_hostile_paths_are_refused_by_the_check(path: str, problem: str) -> None:
    found = note_path_problem(path)
    assert found is not None and problem in found


def test_a_plain_name_passes_the_check() -> None:
    assert note_path_problem("reading-list_2026.03.md") is None
    assert note_path_problem(42) == "expected a text, got int"


def test_an_escaping_path_that_reaches_the_sink_is_refused_there_with_a_dead_letter(
    tmp_path: Path, writer: DuckWriter
) -> None:
    hostile = [note("n1", "owned", "../escape.md"), note("n2", "x", "/etc/passwd")]
    result = sink(writer, hostile, notes_dir=tmp_path / "n")
    assert result.notes_appended == 0 and result.dead_letters == 2
    assert result.dead_letter_sources == ("mind", "mind")
    assert not (tmp_path / "escape.md").exists()
    assert [s for _, s, _ in states(writer)] == ["refused", "refused"]
    raws = sorted(raw for _, _, raw in letters(writer))
    assert raws == ["../escape.md\nowned", "/etc/passwd\nx"]
    assert all(reason.startswith("note_refused: path") for _, reason, _ in letters(writer))


def test_a_symlinked_notes_folder_is_refused(tmp_path: Path, writer: DuckWriter) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "n").symlink_to(outside)
    result = sink(writer, [note("n1")], notes_dir=tmp_path / "n")
    assert result.dead_letters == 1 and list(outside.iterdir()) == []
    assert "symbolic link" in (states(writer)[0][2] or "")


def test_a_symlinked_notes_file_is_refused(tmp_path: Path, writer: DuckWriter) -> None:
    target = tmp_path / "secret.txt"
    target.write_text("keep\n")
    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "today.md").symlink_to(target)
    result = sink(writer, [note("n1")], notes_dir=tmp_path / "n")
    assert result.dead_letters == 1
    assert target.read_text() == "keep\n"
    assert "resolves outside the notes folder" in (states(writer)[0][2] or "")


def test_a_symlinked_notes_file_pointing_inside_the_folder_is_refused_too(tmp_path: Path, writer: DuckWriter) -> None:
    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "other.md").write_text("keep\n")
    (tmp_path / "n" / "today.md").symlink_to(tmp_path / "n" / "other.md")
    result = sink(writer, [note("n1")], notes_dir=tmp_path / "n")
    assert result.dead_letters == 1
    assert (tmp_path / "n" / "other.md").read_text() == "keep\n"
    assert "is a symbolic link" in (states(writer)[0][2] or "")


@pytest.mark.parametrize("make", [os.mkfifo, os.mkdir])
def test_a_notes_path_that_is_not_a_regular_file_is_refused(
    tmp_path: Path, writer: DuckWriter, make: Callable[[Path], None]
) -> None:
    (tmp_path / "n").mkdir()
    make(tmp_path / "n" / "today.md")
    result = sink(writer, [note("n1")], notes_dir=tmp_path / "n")
    assert result.dead_letters == 1 and "not a regular file" in (states(writer)[0][2] or "")


def test_a_note_that_would_take_its_file_over_the_cap_is_refused_and_kept_whole(
    tmp_path: Path, writer: DuckWriter
) -> None:
    big = "x" * 10_000_000
    result = sink(writer, [note("n1", "small"), note("n2", big)], notes_dir=tmp_path / "n", notes_max_bytes=1_000)
    assert result.notes_appended == 1 and result.dead_letters == 1
    assert (tmp_path / "n" / "today.md").read_text() == block("small")
    ((_, reason, raw),) = letters(writer)
    assert "over the cap of 1000" in reason and raw == "today.md\n" + big


def pending_at(writer: DuckWriter, row: NoteRow, offset: int | None) -> None:
    """A note committed, and its append begun at ``offset``, when the process was killed."""

    def stored(con: duckdb.DuckDBPyConnection) -> None:
        write_rows(con, [row])
        con.execute("UPDATE notes SET file_offset = ? WHERE id = ?", [offset, row.id])

    writer.call("stored", stored, timeout_s=10)


def test_a_note_left_pending_by_a_kill_after_its_append_is_only_marked(tmp_path: Path, writer: DuckWriter) -> None:
    folder = tmp_path / "n"
    folder.mkdir()
    (folder / "today.md").write_text("# today\n" + block("tea at five"))
    pending_at(writer, note("n1"), len("# today\n"))
    done = writer.call("append", lambda con: append_pending_notes(con, notes_dir=folder), timeout_s=10)
    assert done.appended == 1
    assert (folder / "today.md").read_text() == "# today\n" + block("tea at five")
    assert states(writer) == [("n1", "appended", None)]


@pytest.mark.parametrize("kept", [0, 1, 5, len(block("tea at five")) - 1])
def test_a_note_torn_by_a_kill_during_its_append_is_written_again_whole(
    tmp_path: Path, writer: DuckWriter, kept: int
) -> None:
    folder = tmp_path / "n"
    folder.mkdir()
    (folder / "today.md").write_text("# today\n" + block("tea at five")[:kept])
    pending_at(writer, note("n1"), len("# today\n"))
    sink(writer, [episode(1)], notes_dir=folder)  # a sink's first batch finishes what was pending
    assert (folder / "today.md").read_text() == "# today\n" + block("tea at five")


def test_a_file_changed_by_hand_since_a_kill_is_never_cut(tmp_path: Path, writer: DuckWriter) -> None:
    folder = tmp_path / "n"
    folder.mkdir()
    (folder / "today.md").write_text("# today\nwritten by hand\n")
    pending_at(writer, note("n1"), len("# today\n"))
    sink(writer, [episode(1)], notes_dir=folder)
    assert (folder / "today.md").read_text() == "# today\nwritten by hand\n" + block("tea at five")


def test_a_note_begun_past_the_end_of_a_file_cut_by_hand_is_appended(tmp_path: Path, writer: DuckWriter) -> None:
    folder = tmp_path / "n"
    folder.mkdir()
    (folder / "today.md").write_text("x\n")
    pending_at(writer, note("n1"), 500)
    sink(writer, [episode(1)], notes_dir=folder)
    assert (folder / "today.md").read_text() == "x\n" + block("tea at five")


def test_a_pending_note_never_started_is_appended_by_the_next_sink(tmp_path: Path, writer: DuckWriter) -> None:
    folder = tmp_path / "n"
    writer.call("stored", lambda con: write_rows(con, [note("n1", path="a.md")]), timeout_s=10)
    result = sink(writer, [episode(1)], notes_dir=folder)
    assert result.notes_appended == 1
    assert (folder / "a.md").read_text() == block("tea at five")


def test_an_io_error_leaves_the_note_pending_until_a_later_batch(tmp_path: Path, writer: DuckWriter) -> None:
    folder = tmp_path / "n"
    folder.write_text("not a folder")  # mkdir fails: an I/O error, not a refusal
    first = sink(writer, [note("n1")], notes_dir=folder)
    assert first.notes_failed == 1 and first.notes_appended == 0 and first.dead_letters == 0
    assert states(writer) == [("n1", "pending", None)]
    folder.unlink()
    second = sink(writer, [note("n2")], notes_dir=folder)
    assert second.notes_appended == 2
    assert (folder / "today.md").read_text() == block("tea at five") + block("tea at five")


def test_a_file_without_a_final_newline_gets_one_before_the_note(tmp_path: Path, writer: DuckWriter) -> None:
    folder = tmp_path / "n"
    folder.mkdir()
    (folder / "today.md").write_text("written by hand")
    sink(writer, [note("n1")], notes_dir=folder)
    assert (folder / "today.md").read_text() == "written by hand\n" + block("tea at five")


def test_the_default_folder_is_notes_beside_the_database_and_none_in_memory(tmp_path: Path) -> None:
    con = open_database(tmp_path / "db.duckdb")
    assert notes_folder(con) == tmp_path / "notes"
    con.close()
    memory = duckdb.connect()
    assert notes_folder(memory) is None
    memory.close()


def test_a_write_torn_by_a_full_disk_stops_the_pass_and_is_mended_by_the_next(
    tmp_path: Path, writer: DuckWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "n"
    real_write = os.write
    writes: list[int] = []

    def disk_fills(fd: int, data: bytes) -> int:
        writes.append(len(data))
        if len(writes) == 2:  # the second note: half of it reaches the disk, then the disk is full
            real_write(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", disk_fills)
    first = sink(writer, [note("a", "one"), note("b", "two"), note("c", "three")], notes_dir=folder)
    assert (first.notes_appended, first.notes_failed, first.dead_letters) == (1, 2, 0)
    assert len(writes) == 2  # the pass stopped at the torn note
    assert [s for _, s, _ in states(writer)] == ["appended", "pending", "pending"]
    monkeypatch.setattr(os, "write", real_write)

    second = sink(writer, [note("d", "four")], notes_dir=folder)
    assert second.notes_appended == 3
    expected = block("one") + block("two") + block("three") + block("four")
    assert (folder / "today.md").read_text() == expected


def test_a_database_error_in_the_notes_pass_does_not_undo_the_committed_batch(
    tmp_path: Path, writer: DuckWriter
) -> None:
    writer.call("break", lambda con: con.execute("DROP TABLE notes"), timeout_s=10)
    result = sink(writer, [episode(1)], notes_dir=tmp_path / "n")
    assert result.episodes == 1 and result.notes_appended == 0
    assert writer.call("count", lambda con: con.execute("SELECT count(*) FROM episodes").fetchall()) == [(1,)]
