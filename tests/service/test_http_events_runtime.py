"""The running service: a token from a file, and the episodes its pipeline stores arriving on ``GET /events``."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from runtime import Runtime
from service.commands.tail import parse_events
from service.errors import PortInUseError
from service.settings import HttpSettings, InboxSettings, ReplySettings, Settings, StorageSettings, TickSettings
from tests.support import until

TOKEN = "from-a-secret-file-0123456789"


async def test_the_pipeline_s_stored_episodes_reach_the_stream_and_a_given_token_is_not_written(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secret"
    secret.write_text(TOKEN + "\n")
    database = tmp_path / "data" / "being.duckdb"
    inbox = tmp_path / "inbox.txt"
    settings = Settings(
        storage=StorageSettings(database_path=str(database), duckdb_memory_limit_mb=256),
        http=HttpSettings(port=0, token_file=str(secret)),
        inbox=InboxSettings(path=str(inbox), quiet_s=0.0),
        ticks=TickSettings(light_interval_s=0.05, heavy_interval_s=3600.0),
        reply=ReplySettings(enabled=False),
    )
    runtime = Runtime(settings, registry=CollectorRegistry(), install_signals=False)
    task = asyncio.create_task(runtime.run())
    try:
        await until(
            lambda: task.done() or (runtime.bound_port is not None and runtime.health.pipeline_running),
            timeout_s=30,
            what="the service to start",
        )
        assert not task.done(), task
        assert not Path(f"{database}.token").exists()  # the token stays where it was given
        base = f"http://127.0.0.1:{runtime.bound_port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            assert (await client.get("/events")).status_code == 401
            lines: list[str] = []
            async with client.stream("GET", "/events", params={"token": TOKEN, "type": "user.message"}) as response:
                assert response.status_code == 200
                await until(lambda: runtime.events.clients == 1, what="the stream open")
                inbox.write_text("first\nsecond\n", encoding="utf-8")
                async for line in response.aiter_lines():
                    lines.append(line)
                    if sum(1 for seen in lines if seen.startswith("event: episode")) == 2 and line == "":
                        break
            events = [e for e in parse_events(iter(lines)) if e.event == "episode"]
            texts = [json.loads(e.data[0])["description"] for e in events]
            assert len(texts) == 2 and "first" in texts[0] and "second" in texts[1], texts
            runs, seqs = zip(*(str(e.id).split(":") for e in events), strict=True)
            assert set(runs) == {runtime.run_id} and int(seqs[0]) < int(seqs[1])
    finally:
        runtime.request_stop()
        assert await asyncio.wait_for(task, 30) == 0
    assert secret.read_text() == TOKEN + "\n"  # a stop removes only a token it made


async def test_a_start_that_cannot_bind_its_port_leaves_no_token_file(tmp_path: Path) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        database = tmp_path / "data" / "being.duckdb"
        settings = Settings(
            storage=StorageSettings(database_path=str(database), duckdb_memory_limit_mb=256),
            http=HttpSettings(port=holder.getsockname()[1]),
            inbox=InboxSettings(path=str(tmp_path / "inbox.txt")),
            reply=ReplySettings(enabled=False),
        )
        runtime = Runtime(settings, registry=CollectorRegistry(), install_signals=False)
        with pytest.raises(PortInUseError):
            await runtime.run()
        assert not Path(f"{database}.token").exists()
    finally:
        holder.close()
