"""``POST /messages`` and ``GET /messages/{id}`` on a real loopback server and a real DuckDB file.

Hostile bodies each get a clear 4xx with a JSON error, and nothing is stored or emitted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from agent import reply_id
from service.http import Health, MessageDesk, MessageLimits, build_app
from sinks import DuckWriter, EpisodeRow, open_database, write_rows
from streams import Event, IngestState, ingest, stable_id
from tests.support import until

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIMITS = MessageLimits(max_text_bytes=64, max_sender_chars=10)


class Desk:
    def __init__(self, server: TestServer, writer: DuckWriter, state: IngestState, desk: MessageDesk) -> None:
        self.server = server
        self.writer = writer
        self.state = state
        self.desk = desk
        self.emitted: list[Event] = []
        self.client = httpx.AsyncClient(base_url=str(server.make_url("")), timeout=30)

    def stored(self) -> int:
        return int(self.writer.call("count", lambda con: con.execute("SELECT count(*) FROM ingest").fetchall()[0][0]))

    async def post(self, body: Any, key: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key is not None else {}
        return await self.client.post("/messages", json=body, headers=headers, **kwargs)


@pytest.fixture
async def desk(tmp_path: Path, registry: CollectorRegistry) -> AsyncIterator[Desk]:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    state = IngestState()
    health = Health(writer_alive=lambda: writer.alive, pipeline_running=True)
    stopping = [False]
    message_desk = MessageDesk(
        writer, state, clock=lambda: T0, max_pending=3, max_wait_s=5.0, replies_on=True, stopping=lambda: stopping[0]
    )
    app = build_app(registry, health, writer.reader, max_body_bytes=4096, messages=message_desk, message_limits=LIMITS)
    server = TestServer(app)
    await server.start_server()
    ctx = Desk(server, writer, state, message_desk)
    ctx.stopping = stopping  # type: ignore[attr-defined]
    subscription = ingest(state).subscribe(ctx.emitted.append)
    yield ctx
    subscription.dispose()
    await ctx.client.aclose()
    await server.close()
    writer.close()


async def test_a_message_is_stored_then_emitted_once_and_answered_202(desk: Desk) -> None:
    response = await desk.post({"text": "hello", "urgent": True, "sender": "ana"})
    assert response.status_code == 202
    body = response.json()
    assert body == {
        "id": body["id"],
        "state": "queued",
        "duplicate": False,
        "urgent": True,
        "url": f"/messages/{body['id']}",
    }
    assert desk.stored() == 1
    [event] = desk.emitted
    assert (event.id, event.type, event.source, event.time) == (body["id"], "user.urgent", "http", T0)
    assert dict(event.payload) == {"text": "hello", "sender": "ana", "recovered": False}


async def test_a_retry_with_the_same_key_is_the_same_message_and_another_body_is_refused(desk: Desk) -> None:
    first = await desk.post({"text": "once"}, key="k-1")
    again = await desk.post({"text": "once"}, key="k-1")
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] == stable_id("http", "", "k-1")
    assert again.json()["duplicate"] is True and again.headers["Idempotent-Replayed"] == "true"
    changed = await desk.post({"text": "twice"}, key="k-1")
    assert changed.status_code == 422 and "k-1" in changed.json()["error"]
    concurrent = await asyncio.gather(*(desk.post({"text": "racing"}, key="k-2") for _ in range(5)))
    assert {r.json()["id"] for r in concurrent} == {stable_id("http", "", "k-2")}
    assert [r.json()["duplicate"] for r in concurrent].count(False) == 1
    assert desk.stored() == 2 and len(desk.emitted) == 2


HOSTILE: list[tuple[str, dict[str, Any], int, str]] = [
    ("not json", {"content": b"hello", "headers": {"Content-Type": "application/json"}}, 400, "not JSON"),
    ("not utf-8", {"content": b'{"text": "\xff"}', "headers": {"Content-Type": "application/json"}}, 400, "UTF-8"),
    ("an array", {"json": ["hello"]}, 400, "object"),
    ("a string", {"json": "hello"}, 400, "object"),
    ("NaN", {"content": b'{"text": NaN}', "headers": {"Content-Type": "application/json"}}, 400, "NaN"),
    (
        "twice",
        {"content": b'{"text": "a", "text": "b"}', "headers": {"Content-Type": "application/json"}},
        400,
        "twice",
    ),
    ("deep", {"content": b"[" * 2000 + b"]" * 2000, "headers": {"Content-Type": "application/json"}}, 400, "JSON"),
    ("no type", {"content": b'{"text": "hi"}'}, 415, "Content-Type"),
    ("text/plain", {"content": b'{"text": "hi"}', "headers": {"Content-Type": "text/plain"}}, 415, "Content-Type"),
    (
        "latin-1",
        {"content": b'{"text": "hi"}', "headers": {"Content-Type": "application/json; charset=latin-1"}},
        415,
        "charset",
    ),
    ("no text", {"json": {"urgent": True}}, 422, "text: missing"),
    ("text a number", {"json": {"text": 5}}, 422, "text: expected a string"),
    ("text null", {"json": {"text": None}}, 422, "text: expected a string"),
    ("empty text", {"json": {"text": ""}}, 422, "text"),
    ("blank text", {"json": {"text": " \u200b\t"}}, 422, "white space"),
    ("long text", {"json": {"text": "é" * 33}}, 422, "ingest.max_text_bytes"),
    ("NUL", {"json": {"text": "a\u0000b"}}, 422, "NUL"),
    (
        "surrogate",
        {"content": b'{"text": "\\ud800"}', "headers": {"Content-Type": "application/json"}},
        422,
        "surrogate",
    ),
    ("urgent a string", {"json": {"text": "hi", "urgent": "yes"}}, 422, "urgent"),
    ("urgent a number", {"json": {"text": "hi", "urgent": 1}}, 422, "urgent"),
    ("sender a number", {"json": {"text": "hi", "sender": 7}}, 422, "sender"),
    ("sender empty", {"json": {"text": "hi", "sender": ""}}, 422, "sender"),
    ("sender long", {"json": {"text": "hi", "sender": "x" * 11}}, 422, "ingest.max_sender_chars"),
    ("sender newline", {"json": {"text": "hi", "sender": "a\nb"}}, 422, "control"),
    ("unknown field", {"json": {"text": "hi", "urgnet": True}}, 422, "urgnet"),
    ("key too long", {"json": {"text": "hi"}, "headers": {"Idempotency-Key": "k" * 201}}, 400, "Idempotency-Key"),
    ("key with space", {"json": {"text": "hi"}, "headers": {"Idempotency-Key": "a b"}}, 400, "Idempotency-Key"),
    ("huge", {"json": {"text": "x" * 5000}}, 413, "http.max_body_bytes"),
]


@pytest.mark.parametrize(("name", "request_args", "status", "said"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_a_hostile_body_gets_a_clear_4xx_and_nothing_is_stored(
    desk: Desk, name: str, request_args: dict[str, Any], status: int, said: str
) -> None:
    response = await desk.client.post("/messages", **request_args)
    assert response.status_code == status, response.text
    assert said in response.json()["error"]
    assert desk.stored() == 0 and desk.emitted == []


async def test_ten_thousand_tiny_hostile_requests_each_get_a_4xx_and_store_nothing(desk: Desk) -> None:
    bodies = [b"", b"{", b"[]", b"1", b'{"text": 1}', b'{"x": "y"}', b"null", b'"a"']
    statuses: list[int] = []

    async def one_connection(first: int) -> None:
        # one keep-alive connection each: what a flood of small requests looks like on the wire
        async with aiohttp.ClientSession(str(desk.server.make_url(""))) as session:
            for n in range(first, 10_000, 16):
                body = bodies[n % len(bodies)]
                async with session.post("/messages", data=body, headers={"Content-Type": "application/json"}) as r:
                    assert "error" in await r.json()
                    statuses.append(r.status)

    await asyncio.gather(*(one_connection(first) for first in range(16)))
    assert set(statuses) <= {400, 422} and len(statuses) == 10_000
    assert desk.stored() == 0 and desk.emitted == []


async def test_past_max_pending_a_message_gets_503_with_retry_after_and_room_comes_back(desk: Desk) -> None:
    ids = [(await desk.post({"text": f"m{n}"})).json()["id"] for n in range(3)]
    refused = await desk.post({"text": "one too many"})
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert "ingest.max_pending" in refused.json()["error"]
    assert desk.stored() == 3
    assert desk.state.acknowledge([ids[0]]) == [ids[0]]
    assert (await desk.post({"text": "now there is room"})).status_code == 202


async def test_a_stopping_service_takes_no_message(desk: Desk) -> None:
    desk.stopping[0] = True  # type: ignore[attr-defined]
    response = await desk.post({"text": "late"})
    assert response.status_code == 503 and "stopping" in response.json()["error"]
    assert desk.stored() == 0


async def test_get_waits_for_the_reply_and_names_its_state(desk: Desk) -> None:
    message_id = (await desk.post({"text": "are you there?", "sender": "bo"})).json()["id"]
    queued = (await desk.client.get(f"/messages/{message_id}")).json()
    assert queued["state"] == "queued" and queued["reply"] is None and queued["replies"] == []
    waiting = asyncio.ensure_future(desk.client.get(f"/messages/{message_id}", params={"wait_s": "5"}))
    await until(lambda: message_id in desk.desk._waiters, what="the request to wait")
    reply = EpisodeRow(
        id=reply_id(message_id),
        time=T0,
        type="user.reply",
        description="yes",
        outcome="success",
        data={"event_id": message_id, "reply": "yes, I am here"},
    )
    desk.writer.call("reply", lambda con: write_rows(con, [reply]))
    desk.state.acknowledge([message_id])
    answered = (await waiting).json()
    assert answered["state"] == "answered" and answered["sender"] == "bo"
    assert answered["reply"] == {"id": reply.id, "time": T0.isoformat(), "outcome": "success", "text": "yes, I am here"}
    done = "SELECT id FROM ingest WHERE done"
    assert desk.writer.call("done", lambda con: con.execute(done).fetchall()) == []  # the mark rides with...
    assert (await desk.post({"text": "next"})).status_code == 202  # ...the next store's commit
    assert desk.writer.call("done", lambda con: con.execute(done).fetchall()) == [(message_id,)]


@pytest.mark.parametrize(
    ("path", "status", "said"),
    [
        ("/messages/" + "0" * 32, 404, "no message"),
        ("/messages/not-an-id", 400, "32 lower-case hex"),
        ("/messages/" + "0" * 32 + "?wait_s=abc", 400, "wait_s"),
        ("/messages/" + "0" * 32 + "?wait_s=6", 400, "ingest.max_wait_s"),
        ("/messages/" + "0" * 32 + "?wait_s=-1", 400, "wait_s"),
    ],
)
async def test_get_refuses_bad_ids_and_waits(desk: Desk, path: str, status: int, said: str) -> None:
    response = await desk.client.get(path)
    assert response.status_code == status and said in response.json()["error"]


async def test_without_a_desk_the_routes_answer_503(tmp_path: Path, registry: CollectorRegistry) -> None:
    writer = DuckWriter(open_database(tmp_path / "db.duckdb"))
    server = TestServer(build_app(registry, Health(writer_alive=lambda: True), writer.reader))
    await server.start_server()
    try:
        async with httpx.AsyncClient(base_url=str(server.make_url(""))) as client:
            posted = await client.post("/messages", content=json.dumps({"text": "hi"}))
            assert posted.status_code == 503
            assert (await client.get("/messages/" + "0" * 32)).status_code == 503
    finally:
        await server.close()
        writer.close()
