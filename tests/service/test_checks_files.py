"""Startup checks of the settings, folders, inbox file and disk: each passes and fails for real."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from service.checks import CHECKS, Severity
from service.settings import CheckSettings, InboxSettings, MemorySettings, Settings, StorageSettings
from tests.service.checks_support import as_unprivileged, open_folder, result_of


def _settings(folder: Path, **sections: object) -> Settings:
    parts: dict[str, object] = {
        "storage": StorageSettings(database_path=str(folder / "data" / "being.duckdb")),
        "inbox": InboxSettings(path=str(folder / "inbox.txt")),
        "memory": MemorySettings(archive_dir=str(folder / "archive")),
    }
    parts.update(sections)
    return Settings(**parts)  # type: ignore[arg-type]


def test_there_are_at_least_fifteen_named_checks_of_both_severities() -> None:
    names = [check.name for check in CHECKS]
    assert len(names) >= 15 and len(set(names)) == len(names)
    assert {check.severity for check in CHECKS} == {Severity.CRITICAL, Severity.WARNING}


def test_settings_name_where_they_came_from(tmp_path: Path) -> None:
    result = result_of("settings", _settings(tmp_path), config=tmp_path / "config.toml")
    assert (result.ok, result.detail) == (True, f"valid, from {tmp_path / 'config.toml'}")


def test_collisions_are_found_in_settings_built_in_code(tmp_path: Path) -> None:
    ok = result_of("path collisions", _settings(tmp_path))
    assert ok.ok and str(tmp_path / "inbox.txt") in ok.detail
    clash = _settings(tmp_path, inbox=InboxSettings(path=str(tmp_path / "data" / "being.duckdb")))
    failed = result_of("path collisions", clash)
    assert not failed.ok and "the inbox and the database are both" in failed.detail
    settings = result_of("settings", clash)
    assert not settings.ok and settings.detail.startswith("setting inbox.path = ")


@pytest.mark.parametrize(("name", "folder"), [("data folder", "data"), ("archive folder", "archive")])
def test_a_folder_the_user_cannot_write_fails_and_one_it_can_passes(name: str, folder: str) -> None:
    with open_folder() as root:
        settings = _settings(root)
        (root / folder).mkdir()
        (root / folder).chmod(0o555)
        failed = as_unprivileged(lambda: result_of(name, settings))
        assert not failed.ok and failed.severity is Severity.CRITICAL
        assert f"{root / folder} is not writable by uid" in failed.detail and "mode 555" in failed.detail
        (root / folder).chmod(0o777)
        passed = as_unprivileged(lambda: result_of(name, settings))
        assert passed.ok and passed.detail.startswith(f"{root / folder} is writable by uid")
        assert sorted(p.name for p in (root / folder).iterdir()) == []  # looking wrote nothing


def test_a_missing_data_folder_passes_when_it_can_be_made_and_is_not_made(tmp_path: Path) -> None:
    result = result_of("data folder", _settings(tmp_path))
    assert result.ok and result.detail.startswith(f"{tmp_path / 'data'} does not exist yet; {tmp_path} is writable")
    assert not (tmp_path / "data").exists()


def test_an_inbox_folder_the_user_cannot_write_fails() -> None:
    with open_folder() as root:
        (root / "in").mkdir(mode=0o555)
        (root / "in").chmod(0o555)
        settings = _settings(root, inbox=InboxSettings(path=str(root / "in" / "inbox.txt")))
        failed = as_unprivileged(lambda: result_of("inbox folder", settings))
        assert not failed.ok and f"{root / 'in'} is not writable" in failed.detail


def test_the_inbox_must_be_a_regular_file_or_absent(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    inbox = tmp_path / "inbox.txt"
    assert result_of("inbox file", settings).detail == f"{inbox} is absent (it is read once someone writes to it)"
    inbox.write_text("hello\n", encoding="utf-8")
    assert result_of("inbox file", settings).detail == f"{inbox} is a regular file of 6 bytes"
    inbox.unlink()
    inbox.mkdir()
    folder = result_of("inbox file", settings)
    assert not folder.ok and folder.detail.startswith(f"{inbox} is not a regular file (mode d")
    assert folder.severity is Severity.WARNING  # the running service refuses it itself: no reason to stop the start
    inbox.rmdir()
    os.mkfifo(inbox)
    assert not result_of("inbox file", settings).ok
    inbox.unlink()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(inbox))
        assert "is not a regular file (mode s" in result_of("inbox file", settings).detail
    inbox.unlink()
    (tmp_path / "elsewhere.txt").write_text("x\n", encoding="utf-8")
    inbox.symlink_to(tmp_path / "elsewhere.txt")
    assert "is a symbolic link" in result_of("inbox file", settings).detail


def test_disk_free_below_the_thresholds_fails_each_at_its_severity(tmp_path: Path) -> None:
    free_mb = shutil.disk_usage(tmp_path).free // (1024 * 1024)
    roomy = _settings(tmp_path, checks=CheckSettings(disk_critical_free_mb=0, disk_warning_free_mb=1))
    assert result_of("disk free", roomy).ok and result_of("disk headroom", roomy).ok
    tight = _settings(tmp_path, checks=CheckSettings(disk_critical_free_mb=1, disk_warning_free_mb=free_mb * 4 + 10))
    headroom = result_of("disk headroom", tight)
    assert not headroom.ok and headroom.mark == "WARN" and "below checks.disk_warning_free_mb" in headroom.detail
    assert result_of("disk free", tight).ok
    full = _settings(
        tmp_path, checks=CheckSettings(disk_critical_free_mb=free_mb * 4 + 10, disk_warning_free_mb=free_mb * 4 + 10)
    )
    failed = result_of("disk free", full)
    assert not failed.ok and failed.mark == "FAIL" and f"free on the disk of {tmp_path}" in failed.detail


def test_the_warning_threshold_cannot_be_below_the_critical_one() -> None:
    with pytest.raises(ValueError, match=r"disk_warning_free_mb \(10\) must be at least disk_critical_free_mb \(20\)"):
        CheckSettings(disk_critical_free_mb=20, disk_warning_free_mb=10)
