"""``being check [--json]`` runs every check; ``being run`` runs the critical ones before it writes anything."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from service.checks import CHECKS
from service.cli import main
from tests.e2e.service_process import being_command


def _config(folder: Path, port: int, inbox: str, **extra: str) -> Path:
    path = folder / "config.toml"
    text = (
        f'[storage]\ndatabase_path = "{(folder / "data" / "being.duckdb").as_posix()}"\n'
        f'[inbox]\npath = "{inbox}"\n'
        f'[memory]\narchive_dir = "{(folder / "archive").as_posix()}"\n'
        f"[http]\nport = {port}\n"
        "[reply]\nenabled = false\n"
    )
    for section, body in extra.items():
        text += f"[{section}]\n{body}\n"
    path.write_text(text, encoding="utf-8")
    return path


def test_check_passes_on_paths_kept_apart_with_one_line_per_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, 0, (tmp_path / "inbox.txt").as_posix())
    assert main(["check", "--config", str(config)]) == 0
    *lines, summary = capsys.readouterr().out.splitlines()
    assert [line.split(":", 1)[0].split(None, 1)[1] for line in lines] == [c.name for c in CHECKS]
    assert [line.split()[0] for line in lines] == ["ok"] * len(CHECKS)
    assert summary == f"{len(CHECKS)} checks: 0 critical failure(s), 0 warning(s)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # checking made nothing


def test_check_json_lists_every_check_and_fails_on_a_critical_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = _config(tmp_path, port, (tmp_path / "inbox.txt").as_posix())
        assert main(["check", "--json", "--config", str(config)]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["ok"] is False
    by_name = {c["name"]: c for c in body["checks"]}
    assert list(by_name) == [c.name for c in CHECKS]
    assert by_name["http port"]["ok"] is False and by_name["http port"]["severity"] == "critical"
    assert f"127.0.0.1:{port}" in by_name["http port"]["detail"]
    assert all(c["ok"] for name, c in by_name.items() if name != "http port")


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


def _run_service(config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BEING_")}
    return subprocess.run(
        [*being_command(), "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_being_run_refuses_a_bad_start_before_writing_anything(tmp_path: Path, log_format: str) -> None:
    (tmp_path / "data").mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = _config(
            tmp_path,
            port,
            (tmp_path / "inbox.txt").as_posix(),
            checks="disk_critical_free_mb = 2000000000\ndisk_warning_free_mb = 2000000000",
            log=f'format = "{log_format}"',
        )
        done = _run_service(config)
    assert done.returncode == 1, done.stderr
    assert sorted((tmp_path / "data").iterdir()) == []  # no database, no WAL, no address file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "data"]
    lines = done.stderr.splitlines()
    if log_format == "text":
        assert len(lines) == 2
        assert lines[0].startswith("being run: FAIL  disk free: ")
        assert lines[1] == (
            f"being run: FAIL  http port: cannot serve HTTP on 127.0.0.1:{port}: "
            f"{os.strerror(errno.EADDRINUSE)} (see http.host and http.port)"
        )
    else:
        records = [json.loads(line) for line in lines]
        assert [(r["event"], r["check"]) for r in records] == [
            ("check.failed", "disk free"),
            ("check.failed", "http port"),
        ]
        assert all(r["level"] == "error" and r["severity"] == "critical" for r in records)


def test_being_run_says_in_json_that_a_setting_is_bad_when_the_container_asks_for_json(tmp_path: Path) -> None:
    config = _config(tmp_path, 0, (tmp_path / "inbox.txt").as_posix(), http="max_connections = -1")
    config.write_text(config.read_text(encoding="utf-8").replace("[http]\nport = 0\n", ""), encoding="utf-8")
    done = _run_service(config, BEING_LOG_FORMAT="json")
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    record = json.loads(line)
    assert record["level"] == "error" and record["event"] == "stderr.line"
    assert record["message"].startswith("being: setting http.max_connections = -1")
