"""The Ollama simulator: a real aiohttp server speaking Ollama's API (and its OpenAI-compatible one)."""

from __future__ import annotations

import asyncio
import json
import random
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web

from llm.simulator._call import BUSY, Api, Call, requested_format
from llm.simulator._plan import FaultPlan, check_fault, is_off_schema
from llm.simulator._stats import SimulatorStats

__all__ = ["Handler", "Simulator"]

Handler = Callable[[Call], Awaitable[web.StreamResponse]]
FAULT_HEADER = "X-Simulator-Fault"
_MAX_BODY_BYTES = 16 * 1024 * 1024


class Simulator:
    """A fault-injecting stand-in for an Ollama server.

    Faults come from the plan's rates, from :meth:`inject` (the next requests, in order) or
    from an ``X-Simulator-Fault`` request header. :attr:`stats` counts what was served.

    Use as ``async with Simulator(plan) as sim: ... sim.base_url ...`` or call
    :meth:`start` and :meth:`stop`; :meth:`app` gives the bare aiohttp application.

    Args:
        plan: latency, error and fault rates, concurrency limit, models.
        rng: the random source for latency and fault draws (seeded from the plan by default).
    """

    def __init__(self, plan: FaultPlan | None = None, *, rng: random.Random | None = None) -> None:
        self.plan = plan or FaultPlan()
        self.stats = SimulatorStats()
        self._rng = rng or random.Random(self.plan.seed)
        self._queued: deque[str] = deque()
        self._gate = asyncio.Event()
        self._gate.set()
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    # -- controls for tests -------------------------------------------------------------------

    def inject(self, *faults: str) -> None:
        """Give the next requests these faults, one each, in order.

        An ``off-schema`` fault waits for the next request that carries a JSON schema; the requests
        without one before it take the faults behind it (or none).
        """
        self._queued.extend(check_fault(f) for f in faults)

    def hold(self) -> None:
        """Keep every request waiting (after the in-flight check) until :meth:`release`."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    # -- serving ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        from llm.simulator import _ollama_api, _openai_api

        application = web.Application(client_max_size=_MAX_BODY_BYTES)
        for api, routes in (("ollama", _ollama_api.ROUTES), ("openai", _openai_api.ROUTES)):
            for method, path, handler, streams in routes:
                application.router.add_route(method, path, self._route(handler, api, streams))  # type: ignore[arg-type]
        return application

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the simulator is not started; call start() or use `async with`")
        return self._base_url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 picks a free port); returns the base URL."""
        # handler_cancellation: a client that goes away cancels its handler, which counts the disconnect.
        runner = web.AppRunner(self.app(), handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        bound = port
        for sock in getattr(site._server, "sockets", None) or ():
            bound = int(sock.getsockname()[1])
            break
        shown = f"[{host}]" if ":" in host else host
        self._base_url = f"http://{shown}:{bound}"
        return self._base_url

    async def stop(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- one request --------------------------------------------------------------------------

    def _route(
        self, handler: Handler, api: Api, streams: Callable[[dict[str, object]], bool]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def route(request: web.Request) -> web.StreamResponse:
            stats = self.stats
            stats.requests[request.path] += 1
            peer = request.transport.get_extra_info("peername") if request.transport is not None else None
            if isinstance(peer, tuple):
                stats.peers.add((str(peer[0]), int(peer[1])))
            if "Authorization" in request.headers:
                stats.last_authorization = request.headers["Authorization"]
            stats.traceparents.append(request.headers.get("traceparent"))
            stats.in_flight += 1
            stats.max_in_flight_seen = max(stats.max_in_flight_seen, stats.in_flight)
            stats.changed()
            try:
                return await self._serve(request, handler, api, streams)
            except asyncio.CancelledError:
                stats.disconnects += 1
                raise
            finally:
                stats.in_flight -= 1
                stats.changed()

        return route

    async def _serve(
        self, request: web.Request, handler: Handler, api: Api, streams: Callable[[dict[str, object]], bool]
    ) -> web.StreamResponse:
        call = Call(request=request, body={}, fault=None, api=api, plan=self.plan, stats=self.stats)
        if request.path == "/api/embed" and self.plan.legacy_embed:
            self.stats.statuses[404] += 1
            return web.Response(status=404, text="404 page not found")  # what an older Ollama's router says
        if request.method == "POST":
            raw = await request.read()
            try:
                body = json.loads(raw)
            except ValueError as exc:
                return call.error(400, f"invalid JSON in request body: {exc}")
            except RecursionError:
                return call.error(400, "invalid JSON in request body: nested too deeply")
            if not isinstance(body, dict):
                return call.error(400, "request body must be a JSON object")
            call.body = body
            self.stats.last_body = body
        header = request.headers.get(FAULT_HEADER)
        try:
            fault = check_fault(header) if header is not None else None
        except ValueError as exc:
            return call.error(400, str(exc))
        schema = isinstance(requested_format(api, call.body), dict)
        if header is None:
            fault = self._next_queued(schema) or self.plan.pick_fault(self._rng, schema=schema)
        elif is_off_schema(fault) and not schema:
            fault = None  # nothing to break: a request without a schema is answered as usual
        call.fault = fault
        if fault is not None:
            self.stats.faults[fault] += 1
        if self.plan.max_in_flight and self.stats.in_flight > self.plan.max_in_flight:
            return call.error(503, BUSY)
        await self._gate.wait()
        delay = self.plan.latency_s(self._rng)
        if delay > 0:
            await asyncio.sleep(delay)  # simulated server latency, not a wait for work
        streaming = streams(call.body)
        if is_off_schema(fault):
            return await handler(call)  # the reply itself is broken, in the API's own shape
        if fault is not None and (not streaming or fault.startswith("status:") or fault == "unknown-model"):
            return await self._fail_whole(call)
        return await handler(call)

    def _next_queued(self, schema: bool) -> str | None:
        """The first injected fault this request can take: an ``off-schema`` one waits for a schema request."""
        for index, fault in enumerate(self._queued):
            if schema or not is_off_schema(fault):
                del self._queued[index]
                return fault
        return None

    async def _fail_whole(self, call: Call) -> web.StreamResponse:
        """A fault that replaces the whole answer (the stream faults are applied mid-stream)."""
        fault = call.fault or ""
        if fault.startswith("status:"):
            status = int(fault.removeprefix("status:"))
            if status == 401 and call.api == "openai":
                presented = call.request.headers.get("Authorization", "").removeprefix("Bearer ")
                # Like real servers, echo the key back: clients must not pass it on into their errors.
                return call.error(401, f"Incorrect API key provided: {presented}")
            if status == 404:
                return call.error(404, _not_found(call))
            return call.error(status)
        if fault == "unknown-model":
            return call.error(404, _not_found(call))
        if fault == "stream-error":
            return call.error(500, "an error was encountered while running the model")
        if fault == "malformed":
            call.stats.statuses[200] += 1
            return web.Response(body=b'{"model": "oops", "message": {"content": "cut', content_type="application/json")
        if fault == "drop":
            return call.drop()
        return await call.hang()


def _not_found(call: Call) -> str:
    model = call.body.get("model")
    return f'model "{model}" not found, try pulling it first'
