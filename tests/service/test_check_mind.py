"""``being check`` on the mind's files: the intentions file and the notes folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.commands.check import CHECKS, run_checks
from service.settings import InboxSettings, MindSettings, Settings, StorageSettings


def _settings(tmp_path: Path, **mind: object) -> Settings:
    return Settings(
        storage=StorageSettings(database_path=str(tmp_path / "data" / "being.duckdb")),
        inbox=InboxSettings(path=str(tmp_path / "inbox.txt")),
        mind=MindSettings(**mind),  # type: ignore[arg-type]
    )


def _check(settings: Settings, name: str) -> tuple[str, bool, str]:
    [result] = run_checks(settings, tuple(c for c in CHECKS if c[0] == name))
    return result


def test_an_absent_intentions_file_is_fine_and_a_present_one_is_read(tmp_path: Path) -> None:
    settings = _settings(tmp_path, intentions_max_bytes=4)
    assert _check(settings, "intentions file") == (
        "intentions file",
        True,
        f"{tmp_path / 'intentions.md'} does not exist yet: write the being's standing instructions there",
    )
    (tmp_path / "intentions.md").write_bytes(b"stretch\xff")
    _, ok, detail = _check(settings, "intentions file")
    assert ok and detail.endswith("is readable (8 bytes, cut at mind.intentions_max_bytes = 4)")


def test_an_intentions_link_or_folder_fails_the_check(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.md").write_text("x", encoding="utf-8")
    (tmp_path / "intentions.md").symlink_to(tmp_path / "elsewhere.md")
    _, ok, detail = _check(_settings(tmp_path), "intentions file")
    assert not ok and detail.endswith(
        "is not a regular file: it is a symbolic link to " + str(tmp_path / "elsewhere.md")
    )
    assert "not read" in _check(_settings(tmp_path, enabled=False), "intentions file")[2]


def test_the_notes_folder_is_writable_or_can_be_made(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _, ok, detail = _check(settings, "notes folder")
    assert (
        ok
        and detail
        == f"{(tmp_path / 'data' / 'notes').resolve()} does not exist yet and will be made in {tmp_path.resolve()}"
    )
    assert not (tmp_path / "data").exists()  # the check makes nothing
    (tmp_path / "data" / "notes").mkdir(parents=True)
    assert _check(settings, "notes folder")[1:] == (True, f"{(tmp_path / 'data' / 'notes').resolve()} is writable")


def test_a_notes_path_that_is_a_file_fails_the_check(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    _, ok, detail = _check(_settings(tmp_path, notes_dir=str(tmp_path / "notes.txt")), "notes folder")
    assert not ok and detail == f"{(tmp_path / 'notes.txt').resolve()} is not a folder (see mind.notes_dir)"
    _, ok, detail = _check(_settings(tmp_path, notes_dir=str(tmp_path / "notes.txt" / "inner")), "notes folder")
    assert not ok and "is not a writable folder" in detail


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes everywhere")
def test_a_notes_folder_in_a_read_only_place_fails(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    _, ok, _ = _check(_settings(tmp_path, notes_dir=str(locked / "notes")), "notes folder")
    assert not ok
