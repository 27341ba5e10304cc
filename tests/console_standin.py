"""A stand-in service for the console's browser tests: the real console files, the routes' documented JSON shapes.

It serves the package's console (``load_console``) and, of the routes the page reads, those it is
told to: ``POST /messages`` and ``GET /messages/{id}`` (docs/http.md "Messages"), ``GET /events``
(Server-Sent Events, "Live events"), ``GET /goals``, ``GET /dead-letters``, ``GET /status`` (the
real :class:`StatusBoard` over a real :class:`Protection`), ``GET /readyz`` and ``GET /episodes``.
With a token it answers 401 without ``Authorization: Bearer <token>``, as "Authentication" says.
Every request is recorded (method, path with query, Authorization header), so a test can check
that the token never travels in a URL. It runs on its own thread and event loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry

from agent import Protection, ProtectPolicies
from operators import BudgetPolicy
from service.http import StatusBoard
from service.http._console import load_console
from service.metrics import ResilienceMetrics

EVERY_ROUTE = frozenset({"messages", "events", "goals", "dead-letters", "status", "episodes"})
OPEN_PATHS = ("/", "/console/", "/readyz", "/healthz")


@dataclass(slots=True)
class Seen:
    """One request the stand-in received."""

    method: str
    path_qs: str
    authorization: str | None
    idempotency_key: str | None


@dataclass(slots=True)
class Message:
    id: str
    text: str
    urgent: bool
    sender: str | None
    replies: list[dict[str, Any]] = field(default_factory=list)
    answered: asyncio.Event = field(default_factory=asyncio.Event)


class StandIn:
    """The stand-in on a loopback port.

    Args:
        routes: which of :data:`EVERY_ROUTE` to serve (the others answer aiohttp's plain 404).
        token: the token every route but the console and the probes needs (``None``: none).
        reply_prefix: the stand-in being answers ``reply_prefix + text``.
        reply_outcome: the outcome of that answer (``fallback``: a test adds the deferred one with
            :meth:`add_reply`); ``None``: replies are off, messages stay ``stored``.
    """

    def __init__(
        self,
        routes: Iterable[str] = EVERY_ROUTE,
        *,
        token: str | None = None,
        reply_prefix: str = "",
        reply_outcome: str | None = "success",
    ) -> None:
        self.routes = frozenset(routes)
        self.token = token
        self.reply_prefix = reply_prefix
        self.reply_outcome = reply_outcome
        self.refuse_posts = 0  # this many POST /messages get a 503 first (the service busy)
        self.keys: dict[str, str] = {}  # Idempotency-Key -> message id
        self.seen: list[Seen] = []
        self.messages: dict[str, Message] = {}
        self.episodes: list[dict[str, Any]] = []
        self.goals: list[dict[str, Any]] = []
        self.dead_letters: list[dict[str, Any]] = []
        self._streams: list[asyncio.Queue[str]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._runner: web.AppRunner | None = None
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        self.url = f"http://127.0.0.1:{self.port}"

    # -- the app ---------------------------------------------------------------------------

    async def _start(self) -> int:
        console = load_console()
        registry = CollectorRegistry()
        metrics = ResilienceMetrics(registry)
        board = StatusBoard(registry)
        protection: Protection[Any] = Protection(
            ProtectPolicies(budget=BudgetPolicy(max_calls=120)), name="reply", listener=metrics
        )
        metrics.watch(protection)
        board.watch(protection, lambda: 0.0)
        self.board = board
        app = web.Application(middlewares=[self._record_and_check])
        app.router.add_get("/", console.index)
        app.router.add_get("/console/{name}", console.asset)
        app.router.add_get("/readyz", self._readyz)
        optional: dict[str, list[tuple[str, str, Handler]]] = {
            "messages": [("POST", "/messages", self._post_message), ("GET", "/messages/{id}", self._get_message)],
            "events": [("GET", "/events", self._events)],
            "goals": [("GET", "/goals", self._goals)],
            "dead-letters": [("GET", "/dead-letters", self._dead_letters)],
            "status": [("GET", "/status", self._status)],
            "episodes": [("GET", "/episodes", self._episodes)],
        }
        for name in self.routes:
            for method, path, handler in optional[name]:
                app.router.add_route(method, path, handler)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        return int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

    @web.middleware
    async def _record_and_check(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        authorization = request.headers.get("Authorization")
        self.seen.append(Seen(request.method, request.path_qs, authorization, request.headers.get("Idempotency-Key")))
        is_open = request.path == "/" or request.path.startswith("/console/") or request.path in OPEN_PATHS
        if self.token is not None and not is_open and authorization != f"Bearer {self.token}":
            return web.json_response(
                {"error": "Authorization: a bearer token is needed"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="being"'},
            )
        return await handler(request)

    async def _readyz(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "status": "ready",
                "strict": False,
                "writer_alive": True,
                "pipeline_running": True,
                "stopping": False,
                "problems": [],
                "components": {
                    "writer": {"status": "ok", "detail": "the writer thread runs", "critical": True},
                    "llm": {"status": "ok", "detail": "<b>no</b> calls yet", "critical": False},
                },
            }
        )

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(self.board.report())

    async def _goals(self, request: web.Request) -> web.Response:
        status = request.query.get("status")
        goals = [g for g in self.goals if status is None or g["status"] == status]
        return web.json_response({"goals": goals, "count": len(goals), "status": status})

    async def _dead_letters(self, request: web.Request) -> web.Response:
        return web.json_response({"dead_letters": self.dead_letters, "count": len(self.dead_letters)})

    async def _episodes(self, request: web.Request) -> web.Response:
        newest = list(reversed(self.episodes))[: int(request.query.get("limit", "50"))]
        return web.json_response({"episodes": newest, "count": len(newest), "limit_max": 10000})

    async def _post_message(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return web.json_response({"error": "Content-Type: expected application/json"}, status=415)
        if self.refuse_posts > 0:
            self.refuse_posts -= 1
            return web.json_response(
                {"error": "ingest: 64 messages are waiting for their replies; try again"},
                status=503,
                headers={"Retry-After": "1"},
            )
        key = request.headers.get("Idempotency-Key")
        if key is not None and key in self.keys:
            known = self.messages[self.keys[key]]
            return web.json_response(
                {"id": known.id, "state": "queued", "duplicate": True, "urgent": known.urgent, "url": ""}, status=202
            )
        body = await request.json()
        unknown = set(body) - {"text", "urgent", "sender"}
        if unknown or not isinstance(body.get("text"), str) or not body["text"].strip():
            return web.json_response({"error": f"body: bad fields {sorted(unknown)}"}, status=422)
        message = Message(uuid.uuid4().hex, body["text"], bool(body.get("urgent")), body.get("sender"))
        self.messages[message.id] = message
        if key is not None:
            self.keys[key] = message.id
        self._loop.call_soon(self._answer, message)
        return web.json_response(
            {
                "id": message.id,
                "state": "queued",
                "duplicate": False,
                "urgent": message.urgent,
                "url": f"/messages/{message.id}",
            },
            status=202,
            headers={"Location": f"/messages/{message.id}"},
        )

    def _answer(self, message: Message) -> None:
        kind = "user.urgent" if message.urgent else "user.message"
        self.store_episode(kind, message.text)
        if self.reply_outcome is not None:
            self._reply(message, self.reply_prefix + message.text, self.reply_outcome)

    def _reply(self, message: Message, text: str, outcome: str) -> None:
        reply = self.store_episode("user.reply", text, outcome)
        message.replies.append({"id": reply["id"], "time": reply["time"], "outcome": outcome, "text": text})
        message.answered.set()

    async def _get_message(self, request: web.Request) -> web.Response:
        message = self.messages.get(request.match_info["id"])
        if message is None:
            return web.json_response({"error": "no message with this id was sent over HTTP"}, status=404)
        wait_s = float(request.query.get("wait_s", "0"))
        if wait_s > 0 and not message.replies:
            try:
                async with asyncio.timeout(wait_s):
                    await message.answered.wait()
            except TimeoutError:
                pass
        return web.json_response(
            {
                "id": message.id,
                "state": "answered" if message.replies else "queued" if self.reply_outcome else "stored",
                "text": message.text,
                "urgent": message.urgent,
                "sender": message.sender,
                "received_at": "2026-03-01T12:00:00+00:00",
                "reply": message.replies[-1] if message.replies else None,
                "replies": message.replies,
            }
        )

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
        await response.prepare(request)
        queue: asyncio.Queue[str] = asyncio.Queue()
        last = request.headers.get("Last-Event-ID")  # without it: what is stored from now on
        after = int(last.rsplit(":", 1)[1]) if last else len(self.episodes)
        for seq, episode in enumerate(self.episodes, start=1):
            if seq > after:
                queue.put_nowait(self._event_text(seq, episode))
        self._streams.append(queue)
        try:
            await response.write(b"retry: 3000\n\n: heartbeat\n\n")
            while True:
                await response.write((await queue.get()).encode())
        finally:
            self._streams.remove(queue)

    @staticmethod
    def _event_text(seq: int, episode: dict[str, Any]) -> str:
        return f"id: standin:{seq}\nevent: episode\ndata: {json.dumps(episode)}\n\n"

    # -- what a test calls (from its own thread) --------------------------------------------

    def store_episode(self, kind: str, description: str, outcome: str = "success") -> dict[str, Any]:
        """Store one episode and send it to every open stream (call on the stand-in's loop)."""
        seq = len(self.episodes) + 1
        episode = {
            "id": f"ep{seq}",
            "time": f"2026-03-01T12:00:{seq:02d}+00:00",
            "type": kind,
            "description": description,
            "outcome": outcome,
            "data": {},
        }
        self.episodes.append(episode)
        for queue in self._streams:
            queue.put_nowait(self._event_text(seq, episode))
        return episode

    def add_episode(self, kind: str, description: str) -> None:
        """:meth:`store_episode` from another thread."""

        async def add() -> None:
            self.store_episode(kind, description)

        asyncio.run_coroutine_threadsafe(add(), self._loop).result(timeout=30)

    def add_reply(self, text: str, outcome: str) -> None:
        """Answer the only message sent so far again (a deferred answer after a fallback), from another thread."""

        async def add() -> None:
            [message] = self.messages.values()
            self._reply(message, text, outcome)

        asyncio.run_coroutine_threadsafe(add(), self._loop).result(timeout=30)

    def stop(self) -> None:
        async def close() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
