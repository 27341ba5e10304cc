"""The startup checks of the mind's files: the intentions file and the notes folder (warnings)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.checks import Probe, Severity, check_named, run_checks
from service.settings import InboxSettings, MindSettings, Settings, StorageSettings


def _settings(tmp_path: Path, **mind: object) -> Settings:
    return Settings(
        storage=StorageSettings(database_path=str(tmp_path / "data" / "being.duckdb")),
        inbox=InboxSettings(path=str(tmp_path / "inbox.txt")),
        mind=MindSettings(**mind),  # type: ignore[arg-type]
    )


def _check(settings: Settings, name: str) -> tuple[bool, str]:
    [result] = run_checks(Probe(settings=settings, env={}), (check_named(name),))
    return result.ok, result.detail


def test_both_are_warnings() -> None:
    assert check_named("intentions file").severity is Severity.WARNING
    assert check_named("notes folder").severity is Severity.WARNING


def test_an_absent_intentions_file_is_fine_and_a_present_one_is_read(tmp_path: Path) -> None:
    settings = _settings(tmp_path, intentions_max_bytes=4)
    assert _check(settings, "intentions file") == (
        True,
        f"{tmp_path / 'intentions.md'} does not exist yet: write the being's standing instructions there",
    )
    (tmp_path / "intentions.md").write_bytes(b"stretch\xff")
    ok, detail = _check(settings, "intentions file")
    assert ok and detail.endswith("is readable (8 bytes, cut at mind.intentions_max_bytes = 4)")
    assert "not read" in _check(_settings(tmp_path, enabled=False), "intentions file")[1]


def test_an_intentions_link_fails_the_check(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.md").write_text("x", encoding="utf-8")
    (tmp_path / "intentions.md").symlink_to(tmp_path / "elsewhere.md")
    ok, detail = _check(_settings(tmp_path), "intentions file")
    assert not ok
    assert f"is not a regular file: it is a symbolic link to {tmp_path / 'elsewhere.md'}" in detail


def test_the_notes_folder_is_writable_or_can_be_made_and_nothing_is_made(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    ok, detail = _check(settings, "notes folder")
    assert ok and "does not exist yet" in detail and "so it can be made" in detail
    assert not (tmp_path / "data").exists()
    (tmp_path / "data" / "notes").mkdir(parents=True)
    ok, detail = _check(settings, "notes folder")
    assert ok and detail.startswith(f"{tmp_path / 'data' / 'notes'} is writable")


def test_a_notes_path_under_a_file_fails_the_check(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    ok, detail = _check(_settings(tmp_path, notes_dir=str(tmp_path / "notes.txt" / "inner")), "notes folder")
    assert not ok and "is not a folder" in detail


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes everywhere")
def test_a_notes_folder_in_a_read_only_place_fails(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    ok, _ = _check(_settings(tmp_path, notes_dir=str(locked / "notes")), "notes folder")
    assert not ok
