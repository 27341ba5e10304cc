"""The command line turns usage mistakes into exit 2 and service errors into exit 1, one line each."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from service.cli import main
from tests.support import REPO

RECORDING = REPO / "examples" / "recording.jsonl"


def _config(folder: Path) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[storage]\ndatabase_path = "{(folder / "data" / "being.duckdb").as_posix()}"\n'
        f'[inbox]\npath = "{(folder / "inbox.txt").as_posix()}"\n'
        f'[memory]\narchive_dir = "{(folder / "archive").as_posix()}"\n'
        "[http]\nport = 1\n",  # nothing listens on port 1: commands read the file
        encoding="utf-8",
    )
    return path


def _one_line(capsys: pytest.CaptureFixture[str], prefix: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith(prefix) and err.count("\n") == 1, err
    return err


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default --out of a replay is made here


def test_a_replay_of_a_missing_recording_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["replay", "--config", str(_config(tmp_path)), str(tmp_path / "missing.jsonl")])
    assert code == 2
    assert "missing.jsonl: no such file" in _one_line(capsys, "being replay: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_a_replay_into_an_existing_file_is_a_usage_error_and_the_file_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "old.duckdb"
    out.write_bytes(b"an earlier replay")
    code = main(["replay", "--config", str(_config(tmp_path)), str(RECORDING), "--out", str(out)])
    assert code == 2
    assert f"--out {out} exists" in _one_line(capsys, "being replay: ")
    assert out.read_bytes() == b"an earlier replay"


@pytest.mark.parametrize(
    ("out", "owner"),
    [
        ("data/being.duckdb", "storage.database_path (the database)"),
        ("data/being.duckdb.wal", "storage.database_path (the database's WAL)"),
        ("inbox.txt.20260101T000000000000Z.claimed", "inbox.path (the inbox)"),
        ("archive/replay.duckdb", "memory.archive_dir (the archive folder)"),
    ],
)
def test_a_replay_into_the_services_own_paths_is_a_usage_error(
    tmp_path: Path, out: str, owner: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["replay", "--config", str(_config(tmp_path)), str(RECORDING), "--out", str(tmp_path / out)])
    assert code == 2
    assert f"is where the service keeps {owner}; a replay writes a new file" in _one_line(capsys, "being replay: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_a_comparison_against_a_missing_file_is_refused_before_the_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["replay", "--config", str(_config(tmp_path)), str(RECORDING), "--compare", "--against", "gone.duckdb"]
    assert main(argv) == 2
    assert "--against gone.duckdb: no such file" in _one_line(capsys, "being replay: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_an_export_over_an_existing_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "recording.jsonl"
    out.write_text("mine\n")
    assert main(["record", "export", "--config", str(_config(tmp_path)), str(out)]) == 2
    assert "exists (use --force to replace it)" in _one_line(capsys, "being record export: ")
    assert out.read_text() == "mine\n"


def test_import_legacy_without_inputs_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-legacy", "--config", str(_config(tmp_path))]) == 2
    assert "give --episodes PATH, --vectors PATH, or both" in _one_line(capsys, "being import-legacy: ")
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("argv", [["episodes"], ["search", "hello"], ["archive"], ["record", "export", "out.jsonl"]])
def test_reading_a_database_that_does_not_exist_yet_exits_1(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--config", str(_config(tmp_path))]) == 1
    err = _one_line(capsys, f"being {' '.join(argv[:2]) if argv[0] == 'record' else argv[0]}: ")
    assert "does not exist yet" in err
    assert not (tmp_path / "data").exists()


class _Failing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"error": "the writer thread stopped"}).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def failing_service(tmp_path: Path) -> Iterator[Path]:
    """A loopback server that answers 500, published where the CLI looks for the running service."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    (tmp_path / "data").mkdir()
    address = {"host": "127.0.0.1", "port": server.server_address[1], "pid": os.getpid()}
    (tmp_path / "data" / "being.duckdb.service.json").write_text(json.dumps(address))
    try:
        yield tmp_path
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_an_error_from_the_running_service_exits_1_with_its_message(
    failing_service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["episodes", "--config", str(_config(failing_service))]) == 1
    err = _one_line(capsys, "being episodes: ")
    assert err == "being episodes: the service answered 500: the writer thread stopped\n"
