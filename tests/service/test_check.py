"""``being check``: a port in use is named like ``being run`` names it; paths that collide stop it at load."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

import pytest

from service.cli import main
from service.commands.check import CHECKS, run_checks
from service.settings import HttpSettings, Settings


def _config(folder: Path, port: int, inbox: str) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[storage]\ndatabase_path = "{(folder / "data" / "being.duckdb").as_posix()}"\n'
        f'[inbox]\npath = "{inbox}"\n'
        f'[memory]\narchive_dir = "{(folder / "archive").as_posix()}"\n'
        f"[http]\nport = {port}\n",
        encoding="utf-8",
    )
    return path


def test_a_port_in_use_fails_the_check_with_the_error_being_run_stops_with() -> None:
    port_check = next(check for check in CHECKS if check[0] == "http port")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        [result] = run_checks(Settings(http=HttpSettings(host="127.0.0.1", port=port)), (port_check,))
    assert result == (
        "http port",
        False,
        f"cannot serve HTTP on 127.0.0.1:{port}: {os.strerror(errno.EADDRINUSE)} (see http.host and http.port)",
    )


def test_check_passes_on_paths_kept_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, 0, (tmp_path / "inbox.txt").as_posix())
    assert main(["check", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["ok"] * len(lines)


def test_check_refuses_an_inbox_on_the_database_before_making_any_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = (tmp_path / "data" / "being.duckdb").as_posix()
    config = _config(tmp_path, 0, database)
    with pytest.raises(SystemExit) as caught:
        main(["check", "--config", str(config)])
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"being: setting inbox.path = {database!r} ({config}): expected a path apart from storage.database_path = "
        f"{database!r} ({config}): the inbox and the database are both {Path(database).resolve()}\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
