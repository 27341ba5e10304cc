"""Paths of the service that would overwrite, rename or glob each other are refused where settings load."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from service.cli import main
from service.settings import Settings, SettingsError, check_paths, load_settings, path_owner
from sinks import open_database
from tests.e2e.service_process import being_command, write_config
from tests.support import REPO


def _config(folder: Path, text: str) -> Path:
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _refusal(config: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(config, env=env or {})
    message = str(caught.value)
    assert "\n" not in message
    return message


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative settings count from the directory the service starts in


@pytest.mark.parametrize(
    ("text", "subject", "other", "path"),
    [
        ('[inbox]\npath = "data/being.duckdb"\n', "inbox.path", "storage.database_path", "data/being.duckdb"),
        ('[outbox]\npath = "data/being.duckdb"\n', "storage.database_path", "outbox.path", "data/being.duckdb"),
        ('[outbox]\npath = "inbox.txt"\n', "inbox.path", "outbox.path", "inbox.txt"),
        ('[inbox]\npath = "outbox.jsonl"\n', "inbox.path", "outbox.path", "outbox.jsonl"),
        ('[outbox]\npath = "data/archive/outbox.jsonl"\n', "outbox.path", "memory.archive_dir", "data/archive"),
        ('[inbox]\npath = "data/new/../being.duckdb"\n', "inbox.path", "storage.database_path", "data/being.duckdb"),
        (
            '[storage]\ndatabase_path = "./inbox.txt"\n',
            "inbox.path",
            "storage.database_path",
            "inbox.txt",
        ),
        ('[inbox]\npath = "data/being.duckdb.wal"\n', "inbox.path", "storage.database_path", "data/being.duckdb.wal"),
        (
            '[inbox]\npath = "data/being.duckdb.service.json"\n',
            "inbox.path",
            "storage.database_path",
            "data/being.duckdb.service.json",
        ),
        (
            '[inbox]\npath = "data/being.duckdb.service.tmp"\n',
            "inbox.path",
            "storage.database_path",
            "data/being.duckdb.service.tmp",
        ),
        ('[inbox]\npath = "data/archive/inbox.txt"\n', "inbox.path", "memory.archive_dir", "data/archive"),
        ('[inbox]\npath = "data/archive"\n', "inbox.path", "memory.archive_dir", "data/archive"),
        ('[inbox]\npath = "data/being.duckdb/inbox.txt"\n', "inbox.path", "storage.database_path", "data/being.duckdb"),
        (
            '[storage]\ndatabase_path = "inbox.txt.old.claimed"\n',
            "storage.database_path",
            "inbox.path",
            "inbox.txt.*.claimed",
        ),
        ('[memory]\narchive_dir = "data"\n', "storage.database_path", "memory.archive_dir", "data"),
        ('[memory]\narchive_dir = "data/being.duckdb"\n', "storage.database_path", "memory.archive_dir", "data"),
        (
            '[memory]\narchive_dir = "data/being.duckdb.tmp/archive"\n',
            "memory.archive_dir",
            "storage.database_path",
            "data/being.duckdb.tmp",
        ),
        (
            '[memory]\narchive_dir = "inbox.txt.parts.claimed"\n',
            "memory.archive_dir",
            "inbox.path",
            "inbox.txt.*.claimed",
        ),
    ],
)
def test_paths_that_collide_are_refused_in_one_line_naming_both_settings_and_the_path(
    tmp_path: Path, text: str, subject: str, other: str, path: str
) -> None:
    config = _config(tmp_path, text)
    message = _refusal(config)
    assert message.startswith(f"setting {subject} = ")
    assert f"expected a path apart from {other} = " in message
    assert str(tmp_path.resolve() / path) in message
    assert _listing(tmp_path) == ["config.toml"]


def test_an_inbox_that_is_a_symlink_to_the_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "being.duckdb").write_bytes(b"rows")
    (tmp_path / "inbox.txt").symlink_to(tmp_path / "data" / "being.duckdb")
    message = _refusal(_config(tmp_path, ""))
    assert message == (
        "setting inbox.path = 'inbox.txt' (defaults): expected a path apart from storage.database_path = "
        f"'data/being.duckdb' (defaults): the inbox and the database are both {(tmp_path / 'data').resolve()}"
        "/being.duckdb"
    )


def test_a_database_reached_through_a_symlinked_folder_is_the_same_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "data", target_is_directory=True)
    message = _refusal(_config(tmp_path, '[inbox]\npath = "alias/being.duckdb"\n'))
    assert f"both {(tmp_path / 'data').resolve() / 'being.duckdb'}" in message


def test_a_hard_link_of_the_database_is_the_same_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "being.duckdb").write_bytes(b"rows")
    os.link(tmp_path / "data" / "being.duckdb", tmp_path / "inbox.txt")
    assert "the inbox and the database are both" in _refusal(_config(tmp_path, ""))


def test_a_value_from_the_environment_is_named_by_its_variable(tmp_path: Path) -> None:
    config = _config(tmp_path, '[storage]\ndatabase_path = "db/being.duckdb"\n')
    message = _refusal(config, {"BEING_INBOX_PATH": "db/being.duckdb"})
    assert message.startswith("setting BEING_INBOX_PATH = 'db/being.duckdb' (environment): ")
    assert f"apart from storage.database_path = 'db/being.duckdb' ({config}): " in message


@pytest.mark.parametrize(
    "text",
    [
        "",
        '[inbox]\npath = "data/inbox.txt"\n',  # beside the database is fine
        '[storage]\ndatabase_path = "inbox.txt.duckdb"\n',  # starts like the inbox, not a claim
        '[memory]\narchive_dir = "inbox.txt.archive"\n',
        '[memory]\narchive_dir = "archive"\n[inbox]\npath = "inbox.txt"\n',
    ],
)
def test_layouts_that_keep_the_paths_apart_load(tmp_path: Path, text: str) -> None:
    load_settings(_config(tmp_path, text), env={})


def test_the_shipped_configs_keep_their_paths_apart() -> None:
    assert load_settings(REPO / "config.toml", env={}) == Settings()
    load_settings(REPO / "docker" / "config.toml", env={})


def test_settings_built_in_code_can_be_checked_too(tmp_path: Path) -> None:
    from service.settings import InboxSettings

    with pytest.raises(SettingsError, match=r"^setting inbox\.path = 'data/being\.duckdb' \(settings\)"):
        check_paths(Settings(inbox=InboxSettings(path="data/being.duckdb")))


def test_path_owner_names_what_the_service_keeps_there(tmp_path: Path) -> None:
    settings = Settings()
    assert path_owner(settings, Path("data/being.duckdb")) == "storage.database_path (the database)"
    assert path_owner(settings, tmp_path / "data" / "being.duckdb.wal") == "storage.database_path (the database's WAL)"
    assert path_owner(settings, Path("inbox.txt.20260101T000000000000Z.claimed")) == "inbox.path (the inbox)"
    assert path_owner(settings, Path("data/archive/x.duckdb")) == "memory.archive_dir (the archive folder)"
    assert path_owner(settings, Path("data/replay.duckdb")) is None


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],
        ["run"],
        ["episodes"],
        ["search", "hello"],
        ["archive"],
        ["record", "export", "out.jsonl"],
        ["replay", "missing.jsonl"],
        ["import-legacy", "--episodes", "episodes.db"],
    ],
)
def test_every_command_that_loads_settings_refuses_the_same_way(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, '[inbox]\npath = "data/being.duckdb"\n')
    with pytest.raises(SystemExit) as caught:
        main([*argv, "--config", str(config)])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("being: setting inbox.path = 'data/being.duckdb' (")
    assert err.count("\n") == 1
    assert _listing(tmp_path) == ["config.toml"]


def test_being_run_with_the_inbox_on_a_full_database_exits_2_and_leaves_it_untouched(tmp_path: Path) -> None:
    database = tmp_path / "data" / "being.duckdb"
    con = open_database(database)
    con.execute(
        "INSERT INTO episodes SELECT 'm' || i, now(), 'user.message', 'message ' || i, 'success', NULL"
        " FROM range(5000) AS r(i)"
    )
    con.execute("CHECKPOINT")
    con.close()
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    config = write_config(tmp_path, inbox={"path": str(database)})
    listing = _listing(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEING_")}
    # A run that is not refused never exits by itself: the timeout turns that into a failure.
    done = subprocess.run(
        [*being_command(), "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"being: setting inbox.path = {str(database)!r} ({config}): expected a path apart from "
        f"storage.database_path = {str(database)!r} ({config}): "
        f"the inbox and the database are both {database.resolve()}\n"
    )
    assert _listing(tmp_path) == listing
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
    con = open_database(database, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM episodes").fetchone() == (5000,)
    finally:
        con.close()
