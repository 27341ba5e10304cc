"""being backup / being restore: a consistent copy made by the running service under load, restored whole."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from service._backup import DATABASE_FILE, MANIFEST, table_sums
from service.cli import main as cli_main
from service.commands.backup import backup_now
from sinks import open_database
from tests.metrics_support import live_service
from tests.support import until

APPEND_ONLY = ("episodes", "dead_letters", "events", "llm_exchanges")
"""Tables whose rows are never changed or deleted in this run (no archival is due): a backup is a subset of the end."""


LOAD_MESSAGES = 300


def _rows(database: Path, table: str) -> Counter[str]:
    """The rows of ``table``, as a multiset of their texts (vectors are lists: not hashable as they are)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        return Counter(repr(row) for row in con.execute(f'SELECT * FROM "{table}"').fetchall())
    finally:
        con.close()


def _config(folder: Path) -> Path:
    """A config whose database and archive are in ``folder`` (a fresh data folder to restore into)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(
        f'[storage]\ndatabase_path = "{folder / "data" / "being.duckdb"}"\n'
        f'[memory]\narchive_dir = "{folder / "data" / "archive"}"\n'
        f'[inbox]\npath = "{folder / "inbox.txt"}"\n'
        "[http]\nport = 1\n",  # nothing listens there: no service answers for this folder
        encoding="utf-8",
    )
    return path


def _restore(folder: Path, backup: Path, *extra: str) -> int:
    return cli_main(["restore", str(backup), "--config", str(_config(folder)), *extra])


async def test_backups_under_load_restore_every_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backups = [tmp_path / "backups" / f"b{n}" for n in range(2)]
    async with live_service(tmp_path / "live") as service:
        registry = service.runtime.registry
        stop = asyncio.Event()

        async def load() -> None:  # messages keep coming while the backups are made (a bounded number)
            for n in range(LOAD_MESSAGES):
                if stop.is_set():
                    return
                service.say(f"message {n}")
                await asyncio.sleep(0.01)

        loader = asyncio.create_task(load())
        stored_before: list[float] = []
        for backup in backups:
            await until(
                lambda: (registry.get_sample_value("being_rows_inserted_total", {"table": "episodes"}) or 0) >= 20,
                timeout_s=30,
                what="episodes under load",
            )
            stored_before.append(registry.get_sample_value("being_rows_inserted_total", {"table": "episodes"}) or 0)
            assert not loader.done()  # messages are still arriving
            where, manifest = await asyncio.to_thread(backup_now, service.settings, backup)
            assert where == "service"
            assert manifest["tables"]["episodes"]["rows"] >= stored_before[-1]
        stop.set()
        await loader
        flushed = registry.get_sample_value("being_sink_flush_seconds_count", {"job": "backup", "outcome": "success"})
        assert flushed == len(backups)
    live_database = tmp_path / "live" / "data" / "being.duckdb"
    for n, backup in enumerate(backups):
        manifest = json.loads((backup / MANIFEST).read_text())
        target = tmp_path / f"restored{n}"
        assert _restore(target, backup) == 0
        restored = target / "data" / "being.duckdb"
        con = open_database(restored)  # the service's own open: schema known, nothing to migrate
        try:
            assert table_sums(con) == manifest["tables"]
        finally:
            con.close()
        for table in manifest["tables"]:  # every table, row for row, as in the backup
            assert _rows(restored, table) == _rows(backup / DATABASE_FILE, table), table
        for table in APPEND_ONLY:
            assert not _rows(restored, table) - _rows(live_database, table), table
    first = json.loads((backups[0] / MANIFEST).read_text())["tables"]["episodes"]["rows"]
    assert sum(_rows(live_database, "episodes").values()) > first  # the service kept writing after it
    assert "restored" in capsys.readouterr().out


async def test_a_backup_with_no_service_running_is_made_from_the_file(tmp_path: Path) -> None:
    async with live_service(tmp_path / "live") as service:
        settings = service.settings
    where, manifest = backup_now(settings, tmp_path / "b")
    assert where == "file"
    modes = {p.name: p.stat().st_mode & 0o777 for p in [tmp_path / "b", *(tmp_path / "b").iterdir()]}
    assert modes == {"b": 0o700, DATABASE_FILE: 0o600, MANIFEST: 0o600}  # every memory: its owner's only
    assert manifest["tables"]["episodes"]["rows"] >= 1  # system.start and system.stop
    assert _restore(tmp_path / "fresh", tmp_path / "b") == 0


async def test_the_service_refuses_a_relative_or_existing_output(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    async with live_service(tmp_path / "live") as service:
        relative = await service.client.post("/backup", params={"path": "relative/b"})
        assert relative.status_code == 400 and "absolute" in relative.json()["error"]
        taken = await service.client.post("/backup", params={"path": str(tmp_path / "taken")})
        assert taken.status_code == 400 and "exists" in taken.json()["error"]
        missing = await service.client.post("/backup")
        assert missing.status_code == 400
        archive = service.settings.memory.archive_dir
        inside = await service.client.post("/backup", params={"path": f"{archive}/b"})
        assert inside.status_code == 400 and "inside the archive folder" in inside.json()["error"]
        assert not list((tmp_path).glob("*.partial"))


async def test_restore_refuses_a_running_service_an_existing_database_and_a_damaged_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "live"
    async with live_service(live) as service:
        settings = service.settings
        await asyncio.to_thread(backup_now, settings, tmp_path / "b")
        config = live / "config.toml"  # the running service's own settings
        code = await asyncio.to_thread(cli_main, ["restore", str(tmp_path / "b"), "--config", str(config)])
        assert code == 2
        assert "stop it first" in capsys.readouterr().err
    assert _restore(live, tmp_path / "b") == 2  # stopped now, but its database is there
    assert "--replace" in capsys.readouterr().err
    assert _restore(live, tmp_path / "b", "--replace") == 0
    assert list((live / "data").glob("being.duckdb.before-restore-*"))
    damaged = tmp_path / "b" / DATABASE_FILE
    with damaged.open("r+b") as out:
        out.seek(damaged.stat().st_size // 2)
        out.write(b"\x00garbage\x00")
    assert _restore(tmp_path / "other", tmp_path / "b") == 1
    assert "SHA-256" in capsys.readouterr().err
    assert not (tmp_path / "other" / "data" / "being.duckdb").exists()
