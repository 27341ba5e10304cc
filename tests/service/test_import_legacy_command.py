"""``being import-legacy`` on the fixtures and broken copies; search, archive and episodes on a file."""

from __future__ import annotations

import json
import socket
import sqlite3
import struct
from pathlib import Path

import pytest

from service.cli import main
from sinks import open_database


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp_path: Path, *, zone: str = "UTC", embedder: str = "lexical") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[storage]
database_path = "{(tmp_path / "data" / "being.duckdb").as_posix()}"

[http]
port = {_free_port()}

[memory]
archive_dir = "{(tmp_path / "archive").as_posix()}"

[memory.search]
embedder = "{embedder}"

[memory.legacy]
time_zone = "{zone}"
""",
        encoding="utf-8",
    )
    return config


def test_import_reports_counts_and_a_second_run_adds_nothing(
    tmp_path: Path, legacy_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, zone="Europe/Moscow")
    argv = [
        "import-legacy",
        "--config",
        str(config),
        "--episodes",
        str(legacy_dir / "episodes.db"),
        "--vectors",
        str(legacy_dir / "vector_memory.db"),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "legacy times read in Europe/Moscow" in out
    assert "episodes: 471 imported, 0 already there, 0 refused" in out
    assert "vectors: 57 imported, 0 already there, 0 refused" in out
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "episodes: 0 imported, 471 already there, 0 refused" in out
    assert "vectors: 0 imported, 57 already there, 0 refused" in out
    con = open_database(tmp_path / "data" / "being.duckdb", read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM episodes").fetchall() == [(471,)]
        first = con.execute("SELECT min(time) AT TIME ZONE 'UTC' FROM episodes").fetchall()[0][0]
        assert first.isoformat() == "2026-02-21T08:52:14"
    finally:
        con.close()


def test_refused_rows_are_listed_with_reasons_and_exit_1(
    tmp_path: Path, legacy_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "vector_memory.db"
    broken.write_bytes((legacy_dir / "vector_memory.db").read_bytes())
    lite = sqlite3.connect(broken)
    lite.execute("UPDATE vectors SET embedding = x'00112233' WHERE id = 4")
    lite.execute("UPDATE vectors SET embedding = ? WHERE id = 9", [struct.pack("<768f", *([float("inf")] * 768))])
    lite.commit()
    lite.close()
    code = main(["import-legacy", "--config", str(_config(tmp_path)), "--vectors", str(broken)])
    assert code == 1
    out = capsys.readouterr().out
    assert "vectors: 55 imported, 0 already there, 2 refused" in out
    assert "refused vectors #4: embedding: expected 3072 bytes (768 float32), got 4" in out
    assert "refused vectors #9: vector.not_finite: 768 of 768 values are NaN or infinite" in out


def test_bad_invocations_are_refused_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    assert main(["import-legacy", "--config", str(config)]) == 2
    assert "give --episodes" in capsys.readouterr().err
    assert main(["import-legacy", "--config", str(config), "--episodes", str(tmp_path / "missing.db")]) == 1
    assert "no such file" in capsys.readouterr().err
    bad_zone = _config(tmp_path, zone="Mars/Olympus")
    assert main(["import-legacy", "--config", str(bad_zone), "--episodes", str(tmp_path / "x.db")]) == 2
    assert "unknown time zone 'Mars/Olympus'" in capsys.readouterr().err


def test_a_truncated_file_is_reported_and_exit_1(
    tmp_path: Path, legacy_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truncated = tmp_path / "episodes.db"
    truncated.write_bytes((legacy_dir / "episodes.db").read_bytes()[:50_000])
    assert main(["import-legacy", "--config", str(_config(tmp_path)), "--episodes", str(truncated)]) == 1
    out = capsys.readouterr().out
    assert "problem: episodes.db:" in out


def test_search_archive_and_episodes_work_on_the_file_when_no_service_runs(
    tmp_path: Path, legacy_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    assert main(["import-legacy", "--config", str(config), "--episodes", str(legacy_dir / "episodes.db")]) == 0
    capsys.readouterr()
    # The legacy vectors are nomic-embed-text's; the lexical query embedder must not see them.
    assert main(["import-legacy", "--config", str(config), "--vectors", str(legacy_dir / "vector_memory.db")]) == 0
    capsys.readouterr()
    assert main(["search", "--config", str(config), "--json", "стабильность"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["source"] == "file"
    assert body["embedder"].startswith("lexical")
    assert body["hits"] == []
    assert main(["episodes", "--config", str(config), "--json", "--limit", "3", "--text", "started"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["source"] == "file"
    assert len(body["episodes"]) == 3
    assert all("started" in e["description"] for e in body["episodes"])
    assert main(["archive", "--config", str(config), "--json", "--older-than-days", "1"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert (body["source"], body["archived"]) == ("file", 471)
    assert main(["episodes", "--config", str(config), "--json", "--limit", "1000"]) == 0
    assert json.loads(capsys.readouterr().out)["episodes"] == []
    assert main(["episodes", "--config", str(config), "--json", "--limit", "1000", "--archived"]) == 0
    assert len(json.loads(capsys.readouterr().out)["episodes"]) == 471


def test_search_refuses_bad_queries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    assert main(["search", "--config", str(config), "--k", "500", "cat"]) == 1
    assert "k: expected 1 to 100" in capsys.readouterr().err
    assert main(["search", "--config", str(config), "  "]) == 1
    assert "non-empty" in capsys.readouterr().err
    off = _config(tmp_path, embedder="none")
    open_database(tmp_path / "data" / "being.duckdb").close()
    assert main(["search", "--config", str(off), "cat"]) == 1
    assert "search is disabled" in capsys.readouterr().err
