"""``note``: a NoteRow and a mind.note episode; escapes and oversized text refused; the file written by the sink."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.mind.tools import NoteTool, ToolPolicy, ToolResult
from sinks import DuckWriter, EpisodeRow, NoteRow, open_database
from tests.agent.mind.tools.tool_support import NOW, call, context, failed_with, of_type
from tests.sinks.mind_support import sink


def test_a_note_gives_a_note_row_and_an_episode() -> None:
    result = call("note", {"path": "reading-list.md", "text": "Dune, then Solaris"})
    assert result.outcome == "success" and result.summary == "noted 18 bytes in reading-list.md"
    (note,) = of_type(result, NoteRow)
    assert (note.path, note.text, note.time) == ("reading-list.md", "Dune, then Solaris", NOW)
    (episode,) = of_type(result, EpisodeRow)
    assert episode.type == "mind.note" and episode.time == NOW
    assert episode.data == {"note_id": note.id, "path": "reading-list.md", "bytes": 18, "text": "Dune, then Solaris"}
    assert call("note", {"path": "reading-list.md", "text": "Dune, then Solaris"}) == result  # ids from the thought
    assert (
        of_type(call("note", {"path": "reading-list.md", "text": "x"}, context(thought_id="t2")), NoteRow)[0].id
        != note.id
    )


@pytest.mark.parametrize(
    "path",
    [
        "../x.md",
        "/etc/passwd",
        "a/../../b.md",
        "x\x00.md",
        "..\\x.md",
        "C:x.md",
        ".hidden.md",
        "sub/x.md",
        "X.md",
        "a" * 70 + ".md",
    ],
)
def test_paths_that_leave_the_notes_folder_or_are_not_plain_names_are_refused(path: str) -> None:
    result = call("note", {"path": path, "text": "owned"})
    failed_with(result, "invalid_arguments")
    assert of_type(result, NoteRow) == []


def test_a_ten_megabyte_note_is_refused_by_its_schema() -> None:
    letter = failed_with(call("note", {"path": "big.md", "text": "x" * 10_000_000}), "invalid_arguments")
    assert "text: expected maxLength 65536, got 10000000 characters" in letter.reason


def test_a_note_under_the_character_cap_but_over_the_byte_cap_is_refused() -> None:
    result = call("note", {"path": "a.md", "text": "é" * 600}, policy=ToolPolicy(notes_max_bytes=1_000))
    assert "text: 1200 bytes, over the cap of 1000" in failed_with(result, "invalid_arguments").reason


def test_the_tool_checks_the_path_itself_when_run_without_the_registry() -> None:
    results: list[ToolResult] = []
    NoteTool().run({"path": "../../etc/cron.d/x.md", "text": "owned"}, context()).subscribe(results.append)
    (result,) = results
    assert "'..'" in failed_with(result, "invalid_arguments").reason


def test_a_note_reaches_its_file_through_the_real_sink(tmp_path: Path) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    first = call("note", {"path": "today.md", "text": "stretched at ten"})
    second = call("note", {"path": "today.md", "text": "and at noon"}, context(thought_id="thought-2"))
    result = sink(writer, [*first.rows, *second.rows])
    assert result.notes_appended == 2 and result.inserted == {"notes": 2, "episodes": 2}
    writer.close()
    assert (tmp_path / "notes" / "today.md").read_text() == "stretched at ten\n\nand at noon\n\n"
