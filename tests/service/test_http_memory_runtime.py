"""The running service's memory: vectors loaded at start, /search, POST /archive, hits written at shutdown."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry

from llm import LexicalEmbedder
from runtime import Runtime
from service.settings import Settings
from service.settings._memory import MemorySettings
from service.settings._sections import HttpSettings, InboxSettings, StorageSettings
from sinks import EpisodeRow, VectorRow, open_database, write_rows, write_vectors

TEXTS = ["the cat sleeps on the sofa", "rain is falling on the roof", "my cat hunts mice at night"]


def _seed(database: Path) -> None:
    embedder = LexicalEmbedder(384)
    vectors = embedder.vectors(TEXTS)
    now = datetime.now(UTC)
    con = open_database(database)
    try:
        write_vectors(
            con,
            [
                VectorRow(text=t, embedding=v, embedder=embedder.name, type="monologue", created_at=now)
                for t, v in zip(TEXTS, vectors, strict=True)
            ],
        )
        old = EpisodeRow(id="old", time=now - timedelta(days=400), type="monologue", description="d", outcome="success")
        write_rows(con, [old])
    finally:
        con.close()


async def test_the_service_searches_archives_and_keeps_search_hits(tmp_path: Path) -> None:
    database = tmp_path / "data" / "being.duckdb"
    _seed(database)
    settings = Settings(
        storage=StorageSettings(database_path=str(database), duckdb_memory_limit_mb=256),
        http=HttpSettings(port=0),
        inbox=InboxSettings(path=str(tmp_path / "inbox.txt")),
        memory=MemorySettings(archive_dir=str(tmp_path / "archive")),
    )
    runtime = Runtime(settings, registry=CollectorRegistry(), install_signals=False)
    task = asyncio.create_task(runtime.run())
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while runtime.bound_port is None or not runtime.health.pipeline_running:
            assert not task.done(), task
            assert asyncio.get_running_loop().time() < deadline, "the service did not start"
            await asyncio.sleep(0.01)
        base, auth = f"http://127.0.0.1:{runtime.bound_port}", {"Authorization": f"Bearer {runtime.token.value}"}
        async with httpx.AsyncClient(base_url=base, headers=auth, timeout=10) as client:
            assert len(runtime.vector_index) == 3, runtime.vector_index.embedders()
            body = (await client.get("/search", params={"q": "cat", "k": "2"})).json()
            assert {h["text"] for h in body["hits"]} == {TEXTS[0], TEXTS[2]}
            assert body["embedder"] == "lexical-v1:384"
            assert (await client.get("/search", params={"q": "cat", "k": "1000"})).status_code == 400
            archived = (await client.post("/archive")).json()
            assert archived["archived"] == 1
    finally:
        runtime.request_stop()
        assert await asyncio.wait_for(task, 30) == 0
    con = open_database(database, read_only=True)
    try:
        used = con.execute("SELECT text, access_count FROM vectors WHERE access_count > 0 ORDER BY text").fetchall()
        assert used == [(TEXTS[2], 1), (TEXTS[0], 1)]
        assert con.execute("SELECT count(*) FROM episodes WHERE id = 'old'").fetchall() == [(0,)]
    finally:
        con.close()
