"""/search and the memory parameters of /episodes on a real loopback server, including invalid ones."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from llm import LexicalEmbedder, vectorizer_for
from service.cli import main
from service.http import Health, SearchBackend, build_app
from sinks import (
    DuckWriter,
    EpisodeRow,
    VectorIndex,
    VectorRow,
    archive_episodes,
    flush_access,
    open_database,
    write_rows,
    write_vectors,
)
from tests.sinks._memory_helpers import WordEmbedder

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TEXTS = [
    ("the cat sat on the warm mat", "monologue"),
    ("a dog barked at the postman", "monologue"),
    ("my cat chased a red laser dot", "user.message"),
    ("stocks fell sharply on monday", "world.scan"),
]


class Served:
    def __init__(self, server: TestServer, writer: DuckWriter, index: VectorIndex, embedder: WordEmbedder) -> None:
        self.server = server
        self.writer = writer
        self.index = index
        self.embedder = embedder
        self.client = httpx.AsyncClient(base_url=str(server.make_url("")), timeout=10)


async def _serve(tmp_path: Path, registry: CollectorRegistry, embedder: WordEmbedder | None) -> Served:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb", threads=1, memory_limit_mb=256))
    index = VectorIndex()
    emb = embedder or WordEmbedder(64)
    vectors = emb.vectors([t for t, _ in TEXTS])
    rows = [
        VectorRow(
            text=t,
            embedding=v,
            embedder=emb.name,
            type=kind,
            created_at=T0 + timedelta(hours=i),
            episode_id=f"ep{i}",
        )
        for i, ((t, kind), v) in enumerate(zip(TEXTS, vectors, strict=True))
    ]
    other = WordEmbedder(64, name="another-space:64")
    rows.append(
        VectorRow(text="the cat", embedding=other.vectors(["the cat"])[0], embedder=other.name, type="x", created_at=T0)
    )
    writer.call("vectors", lambda con: write_vectors(con, rows, index=index))
    episodes = [
        EpisodeRow(
            id=f"e{i}",
            time=T0 - timedelta(days=200 - i * 60),
            type="monologue",
            description=f"{'old' if i < 2 else 'new'} thought {i}",
            outcome="success",
        )
        for i in range(4)
    ]
    writer.call("episodes", lambda con: write_rows(con, episodes))
    archive = tmp_path / "archive"
    writer.call("archive", lambda con: archive_episodes(con, archive, older_than_days=90, clock=lambda: T0))
    backend = SearchBackend(
        index=index,
        embedder=emb if embedder is not None else None,
        reader=writer.reader,
        max_k=20,
        max_query_chars=100,
        clock=lambda: T0 + timedelta(days=1),
    )
    health = Health(writer_alive=lambda: writer.alive, pipeline_running=True)
    app = build_app(
        registry,
        health,
        writer.reader,
        search=backend,
        archive_dir=archive,
        archive_now=lambda days: writer.submit(
            "archive", lambda con: archive_episodes(con, archive, older_than_days=days or 90, clock=lambda: T0)
        ),
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return Served(server, writer, index, emb)


@pytest.fixture
async def served(tmp_path: Path, registry: CollectorRegistry) -> AsyncIterator[Served]:
    ctx = await _serve(tmp_path, registry, WordEmbedder(64))
    yield ctx
    await ctx.client.aclose()
    await ctx.server.close()
    ctx.writer.close()


async def test_search_returns_the_closest_texts_of_the_embedders_space(served: Served) -> None:
    response = await served.client.get("/search", params={"q": "cat", "k": "3"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["embedder"] == served.embedder.name
    assert body["k"] == 3
    assert body["k_max"] == 20
    texts = [h["text"] for h in body["hits"]]
    assert set(texts[:2]) == {"the cat sat on the warm mat", "my cat chased a red laser dot"}
    assert all(h["embedder"] == served.embedder.name for h in body["hits"])
    assert body["hits"][0]["score"] >= body["hits"][1]["score"] >= body["hits"][2]["score"]
    assert {"id", "score", "episode_id", "type", "text", "created_at", "access_count"} <= set(body["hits"][0])


async def test_search_filters_by_type_and_since(served: Served) -> None:
    body = (await served.client.get("/search", params={"q": "cat", "type": "user.message"})).json()
    assert [h["text"] for h in body["hits"]] == ["my cat chased a red laser dot"]
    since = (T0 + timedelta(hours=3)).isoformat()
    body = (await served.client.get("/search", params={"q": "cat", "since": since})).json()
    assert [h["text"] for h in body["hits"]] == ["stocks fell sharply on monday"]


async def test_search_hits_are_counted_and_written_in_a_batch(served: Served) -> None:
    await served.client.get("/search", params={"q": "cat", "k": "1"})
    await served.client.get("/search", params={"q": "cat", "k": "1"})
    assert served.writer.call("flush", lambda con: flush_access(con, served.index.access)) == 1
    body = (await served.client.get("/search", params={"q": "cat", "k": "1"})).json()
    assert body["hits"][0]["access_count"] == 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "q: expected a non-empty query text"),
        ({"q": "   "}, "q: expected a non-empty query text"),
        ({"q": "x" * 101}, "q: expected at most 100 characters"),
        ({"q": "cat", "k": "ten"}, "k: expected an integer"),
        ({"q": "cat", "k": "0"}, "k: expected 1 to 20"),
        ({"q": "cat", "k": "21"}, "k: expected 1 to 20"),
        ({"q": "cat", "since": "yesterday"}, "since: expected an ISO 8601 time"),
        ({"q": "cat", "since": "2026-01-01T00:00:00"}, "since: expected a time with a zone"),
        ({"q": "cat", "type": "t" * 201}, "type: longer than 200 characters"),
    ],
)
async def test_bad_search_parameters_get_a_400_naming_the_parameter(
    served: Served, params: dict[str, str], message: str
) -> None:
    response = await served.client.get("/search", params=params)
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)


async def test_search_without_an_embedder_answers_503(tmp_path: Path, registry: CollectorRegistry) -> None:
    ctx = await _serve(tmp_path, registry, None)
    try:
        response = await ctx.client.get("/search", params={"q": "cat"})
        assert response.status_code == 503
        assert "embedder" in response.json()["error"]
    finally:
        await ctx.client.aclose()
        await ctx.server.close()
        ctx.writer.close()


async def test_episodes_with_the_archive_and_a_text_match(served: Served) -> None:
    recent = (await served.client.get("/episodes")).json()
    assert [e["id"] for e in recent["episodes"]] == ["e3", "e2"]
    everything = (await served.client.get("/episodes", params={"archived": "true"})).json()
    assert [e["id"] for e in everything["episodes"]] == ["e3", "e2", "e1", "e0"]
    old = (await served.client.get("/episodes", params={"archived": "1", "text": "OLD"})).json()
    assert [e["id"] for e in old["episodes"]] == ["e1", "e0"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"archived": "maybe"}, "archived: expected true or false"),
        ({"text": "x" * 201}, "text: longer than 200 characters"),
        ({"limit": "0"}, "limit: expected 1 to 10000"),
    ],
)
async def test_bad_episode_parameters_get_a_400(served: Served, params: dict[str, str], message: str) -> None:
    response = await served.client.get("/episodes", params=params)
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)


def test_the_lexical_vectorizer_is_named_by_the_settings() -> None:
    embedder = vectorizer_for("lexical", 128)
    assert isinstance(embedder, LexicalEmbedder)
    vectors = embedder.vectors(["a cat", "a cat", "stocks"])
    assert vectors.shape == (3, 128)
    assert embedder.dim == 128
    assert embedder.name.startswith("lexical")
    assert (vectors[0] == vectors[1]).all()
    assert vectorizer_for("none", 128) is None
    with pytest.raises(ValueError, match="memory.search.embedder"):
        vectorizer_for("word2vec", 128)


async def test_post_archive_runs_archival_on_the_writer(served: Served) -> None:
    response = await served.client.post("/archive", params={"older_than_days": "30"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["archived"], body["reconciled"]) == (1, 0)
    assert len(body["files"]) == 1
    recent = (await served.client.get("/episodes")).json()
    assert [e["id"] for e in recent["episodes"]] == ["e3"]


@pytest.mark.parametrize(
    ("value", "message"),
    [("soon", "older_than_days: expected a number"), ("0", "older_than_days: expected 1 to"), ("nan", "expected 1")],
)
async def test_post_archive_refuses_bad_days(served: Served, value: str, message: str) -> None:
    response = await served.client.post("/archive", params={"older_than_days": value})
    assert response.status_code == 400
    assert message in response.json()["error"]


async def test_the_cli_asks_the_running_service(
    served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "cli.toml"
    config.write_text(
        f"""
[storage]
database_path = "{(tmp_path / "elsewhere.duckdb").as_posix()}"

[http]
host = "127.0.0.1"
port = {served.server.port}
""",
        encoding="utf-8",
    )
    assert await asyncio.to_thread(main, ["search", "--config", str(config), "--json", "--k", "2", "cat"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["source"] == "service"
    assert len(body["hits"]) == 2
    assert await asyncio.to_thread(main, ["episodes", "--config", str(config), "--json", "--archived"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert (body["source"], len(body["episodes"])) == ("service", 4)
    assert await asyncio.to_thread(main, ["archive", "--config", str(config), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert (body["source"], body["archived"]) == ("service", 0)
    assert await asyncio.to_thread(main, ["search", "--config", str(config), "--k", "101", "cat"]) == 1
    assert "k: expected 1 to 100" in capsys.readouterr().err
