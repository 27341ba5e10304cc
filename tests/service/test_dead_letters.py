"""``GET /dead-letters`` and ``being dead-letters``: what could not be processed, newest first, filtered."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from service.cli import main
from service.http import Health, build_app
from sinks import DeadLetterRow, DuckWriter, open_database, write_rows

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LETTERS = [
    DeadLetterRow(id="d0", time=T0, source="inbox", reason="undecodable: bad byte", raw="\\xff"),
    DeadLetterRow(id="d1", time=T0 + timedelta(minutes=1), source="llm", reason="timeout: slow", raw="x" * 5000),
    DeadLetterRow(id="d2", time=T0 + timedelta(minutes=2), source="inbox", reason="too long: 9 bytes", raw="abc"),
]


@pytest.fixture
async def client(tmp_path: Path, registry: CollectorRegistry) -> AsyncIterator[httpx.AsyncClient]:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    writer.call("seed", lambda con: write_rows(con, LETTERS))
    server = TestServer(build_app(registry, Health(writer_alive=lambda: True), writer.reader))
    await server.start_server()
    async with httpx.AsyncClient(base_url=str(server.make_url(""))) as http:
        yield http
    await server.close()
    writer.close()


async def test_dead_letters_newest_first_with_their_raw_input_cut(client: httpx.AsyncClient) -> None:
    body = (await client.get("/dead-letters")).json()
    assert [d["id"] for d in body["dead_letters"]] == ["d2", "d1", "d0"]
    assert body["count"] == 3 and body["limit_max"] == 10_000
    long = body["dead_letters"][1]
    assert len(long["raw"]) == 4096 and long["raw_chars"] == 5000
    assert body["dead_letters"][2] == {
        "id": "d0",
        "time": "2026-03-01T12:00:00.000000Z",
        "source": "inbox",
        "reason": "undecodable: bad byte",
        "raw": "\\xff",
        "raw_chars": 4,
    }


async def test_dead_letters_by_source_since_and_limit(client: httpx.AsyncClient) -> None:
    by_source = (await client.get("/dead-letters", params={"source": "inbox"})).json()
    assert [d["id"] for d in by_source["dead_letters"]] == ["d2", "d0"]
    since = (await client.get("/dead-letters", params={"since": "2026-03-01T12:01:00Z"})).json()
    assert [d["id"] for d in since["dead_letters"]] == ["d2", "d1"]
    one = (await client.get("/dead-letters", params={"limit": "1"})).json()
    assert [d["id"] for d in one["dead_letters"]] == ["d2"]


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-03-01T12:00:00"}, "zone"),
        ({"limit": "many"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "10001"}, "limit"),
        ({"source": "s" * 201}, "source"),
    ],
)
async def test_bad_parameters_get_400_naming_them(client: httpx.AsyncClient, params: dict[str, str], said: str) -> None:
    response = await client.get("/dead-letters", params=params)
    assert response.status_code == 400 and said in response.json()["error"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_command_reads_the_file_when_no_service_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = tmp_path / "being.duckdb"
    con = open_database(database)
    write_rows(con, LETTERS)
    con.close()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\ndatabase_path = "{database}"\n[inbox]\npath = "{tmp_path / "inbox.txt"}"\n'
        f"[http]\nport = {_free_port()}\n",
        encoding="utf-8",
    )
    assert main(["dead-letters", "--config", str(config), "--source", "inbox", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["source"] == "file" and [d["id"] for d in body["dead_letters"]] == ["d2", "d0"]
    assert main(["dead-letters", "--config", str(config), "--since", "2026-03-01T12:01:30Z"]) == 0
    printed = capsys.readouterr().out
    assert "too long: 9 bytes" in printed and "timeout" not in printed
    assert main(["dead-letters", "--config", str(config), "--limit", "0"]) == 1
    assert "limit" in capsys.readouterr().err
