"""The read commands' shared part: the route's parameters, and the file opened read-only when no service runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from service.commands._read_command import ask_or_read, query_params, read_file
from service.errors import NoDatabaseError
from service.settings import Settings, load_settings
from sinks import open_database


def _settings(folder: Path) -> Settings:
    path = folder / "config.toml"
    path.write_text(
        f'[storage]\ndatabase_path = "{(folder / "data" / "being.duckdb").as_posix()}"\n'
        "[http]\nport = 1\n",  # nothing listens on port 1: the file is read
        encoding="utf-8",
    )
    return load_settings(path)


def test_unset_parameters_are_left_out_and_the_rest_written_as_the_routes_read_them() -> None:
    since = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    params = query_params(limit=50, type=None, text="", archived=False, since=since, flag=True, source="llm")
    assert params == {"limit": "50", "since": "2026-03-01T12:00:00+00:00", "flag": "true", "source": "llm"}
    assert list(params) == ["limit", "since", "flag", "source"]
    assert query_params(limit=0) == {"limit": "0"}  # a number is a value even when it is zero


def test_a_missing_database_is_said_and_not_created(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with pytest.raises(NoDatabaseError, match="does not exist yet"):
        read_file(settings, lambda con: con.execute("SELECT 1").fetchall())
    assert not (tmp_path / "data").exists()


def test_the_file_is_read_read_only_and_closed_after(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    (tmp_path / "data").mkdir()
    con = open_database(tmp_path / "data" / "being.duckdb")
    con.execute("CREATE TABLE t AS SELECT 7 AS n")
    con.close()
    seen: list[duckdb.DuckDBPyConnection] = []

    def read(con: duckdb.DuckDBPyConnection) -> list[tuple[int]]:
        seen.append(con)
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("INSERT INTO t VALUES (8)")
        return con.execute("SELECT n FROM t").fetchall()

    assert read_file(settings, read) == [(7,)]
    with pytest.raises(duckdb.ConnectionException):
        seen[0].execute("SELECT 1")  # closed


def test_with_no_service_the_rows_come_from_the_file(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    (tmp_path / "data").mkdir()
    open_database(tmp_path / "data" / "being.duckdb").close()
    where, rows = ask_or_read(settings, "/episodes", {}, "episodes", lambda con: [{"n": 1}])
    assert (where, rows) == ("file", [{"n": 1}])
