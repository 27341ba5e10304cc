"""``GET /goals`` on a real loopback server and ``being goals``, over a real DuckDB file."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from service.cli import main
from service.http import Health, build_app
from sinks import DuckWriter, GoalRow, open_database, write_rows

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _goals() -> list[GoalRow]:
    stretch = GoalRow(
        id="g1",
        text="remind the user to stretch",
        status="open",
        due=T0 + timedelta(hours=2),
        created=T0,
        done=None,
        time=T0,
        source="intentions",
    )
    summary = GoalRow(
        id="g2",
        text="summarise the day",
        status="done",
        due=None,
        created=T0,
        done=T0 + timedelta(hours=9),
        time=T0 + timedelta(hours=9),
    )
    return [stretch, summary]


def _config(folder: Path) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'[storage]\ndatabase_path = "{(folder / "data" / "being.duckdb").as_posix()}"\n'
        f'[inbox]\npath = "{(folder / "inbox.txt").as_posix()}"\n'
        f'[memory]\narchive_dir = "{(folder / "archive").as_posix()}"\n'
        "[http]\nport = 1\n",  # nothing listens on port 1: the command reads the file
        encoding="utf-8",
    )
    return path


@pytest.fixture
async def client(tmp_path: Path, registry: CollectorRegistry) -> AsyncIterator[httpx.AsyncClient]:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    writer.call("seed", lambda con: write_rows(con, _goals()))
    server = TestServer(build_app(registry, Health(writer_alive=lambda: writer.alive), writer.reader))
    await server.start_server()
    async with httpx.AsyncClient(base_url=str(server.make_url("")), timeout=10) as http:
        yield http
    await server.close()
    writer.close()


@pytest.mark.parametrize("status", ["opened", "OPEN", "x" * 300])
async def test_an_unknown_status_is_a_400_naming_the_parameter(client: httpx.AsyncClient, status: str) -> None:
    response = await client.get("/goals", params={"status": status})
    assert response.status_code == 400
    message = response.json()["error"]
    assert message.startswith("status: expected one of open, done, dropped, got ")
    assert len(message) < 120


async def test_goals_are_listed_and_filtered_by_status(client: httpx.AsyncClient) -> None:
    every = (await client.get("/goals")).json()
    assert every["count"] == 2 and every["status"] is None
    assert {g["id"] for g in every["goals"]} == {"g1", "g2"}
    open_only = (await client.get("/goals", params={"status": "open"})).json()
    assert open_only["goals"] == [
        {
            "id": "g1",
            "text": "remind the user to stretch",
            "status": "open",
            "due": "2026-03-01T14:00:00Z",
            "created": "2026-03-01T12:00:00Z",
            "done": None,
            "time": "2026-03-01T12:00:00Z",
            "source": "intentions",
        }
    ]
    assert (await client.get("/goals", params={"status": "dropped"})).json() == {
        "goals": [],
        "count": 0,
        "status": "dropped",
    }


def test_goals_of_a_database_that_does_not_exist_yet_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["goals", "--config", str(_config(tmp_path))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("being goals: ") and "does not exist yet" in err and err.count("\n") == 1
    assert not (tmp_path / "data").exists()


def test_an_unknown_status_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["goals", "--status", "someday", "--config", str(_config(tmp_path))])
    assert exited.value.code == 2
    assert "invalid choice: 'someday'" in capsys.readouterr().err


def test_goals_are_read_from_the_file_when_no_service_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    (tmp_path / "data").mkdir()
    writer = DuckWriter(open_database(tmp_path / "data" / "being.duckdb"))
    writer.call("seed", lambda con: write_rows(con, _goals()))
    writer.close()
    assert main(["goals", "--status", "open", "--json", "--config", str(config)]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["source"] == "file"
    assert [g["text"] for g in body["goals"]] == ["remind the user to stretch"]
    assert main(["goals", "--config", str(config)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 2
    assert any("open     remind the user to stretch due 2026-03-01T14:00:00Z" in line for line in table)
