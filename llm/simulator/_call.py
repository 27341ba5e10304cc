"""One request being served by the simulator, with the ways to answer it (and to fail on purpose)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from llm.simulator._plan import FaultPlan, is_off_schema
from llm.simulator._stats import SimulatorStats

__all__ = ["BUSY", "Api", "Call", "model_or_error", "requested_format", "status_message"]

Api = Literal["ollama", "openai"]

# Ollama's own text for a full queue (two spaces included).
BUSY = "server busy, please try again.  maximum pending requests exceeded"

_MESSAGES = {
    400: "invalid request",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    429: "too many requests",
    500: "internal server error",
    502: "bad gateway",
    503: BUSY,
    504: "gateway timeout",
}


def status_message(status: int) -> str:
    return _MESSAGES.get(status, f"simulated status {status}")


def requested_format(api: Api, body: dict[str, Any]) -> Any:
    """What the request asks the answer to be: ``"json"``, a JSON schema (a dict), or ``None`` for text.

    Ollama sends it as ``format``; OpenAI as ``response_format`` ``{"type": "json_object"}`` or
    ``{"type": "json_schema", "json_schema": {"name": ..., "schema": ..., "strict": ...}}``.
    """
    if api == "ollama":
        return body.get("format")
    response_format = body.get("response_format")
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_object":
        return "json"
    if response_format.get("type") == "json_schema":
        inner = response_format.get("json_schema")
        return inner.get("schema") if isinstance(inner, dict) else None
    return None


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


@dataclass(slots=True)
class Call:
    """The parsed request, the fault it was given, and the simulator's plan and counters."""

    request: web.Request
    body: dict[str, Any]
    fault: str | None
    api: Api
    plan: FaultPlan
    stats: SimulatorStats

    def json(self, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        self.stats.statuses[status] += 1
        if status < 400:
            self.stats.completed += 1
        self.stats.changed()
        return web.Response(body=_dump(obj), status=status, content_type="application/json", headers=headers)

    def error(self, status: int, message: str | None = None) -> web.Response:
        """An error in the shape of the API asked: Ollama's ``{"error": str}`` or OpenAI's object."""
        text = message if message is not None else status_message(status)
        headers = {"Retry-After": f"{self.plan.retry_after_s:g}"} if status == 429 else None
        if self.api == "ollama":
            return self.json({"error": text}, status, headers)
        kind = "invalid_request_error" if status < 500 else "api_error"
        return self.json({"error": {"message": text, "type": kind, "param": None, "code": status}}, status, headers)

    def error_frame(self, text: str) -> bytes:
        if self.api == "ollama":
            return _dump({"error": text}) + b"\n"
        return b"data: " + _dump({"error": {"message": text, "type": "api_error"}}) + b"\n\n"

    def frame(self, obj: Any) -> bytes:
        """One stream element: an NDJSON line (Ollama) or an SSE event (OpenAI)."""
        if self.api == "ollama":
            return _dump(obj) + b"\n"
        return b"data: " + _dump(obj) + b"\n\n"

    def drop(self) -> web.Response:
        """Close the connection without an answer (the returned response is never written)."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()
        self.stats.disconnects += 1
        self.stats.changed()
        return web.Response()

    async def hang(self) -> web.Response:
        """Never answer; the client's timeout or disconnect cancels this (handler cancellation is on)."""
        await asyncio.get_running_loop().create_future()
        raise AssertionError("unreachable: a hang only ends by cancellation")

    async def stream(self, frames: list[bytes], content_type: str) -> web.StreamResponse:
        """Write ``frames`` as a chunked 200; a stream fault strikes after the first frame."""
        response = web.StreamResponse(status=200, headers={"Content-Type": content_type})
        await response.prepare(self.request)
        self.stats.statuses[200] += 1
        self.stats.changed()
        strike = min(1, len(frames) - 1)
        try:
            for index, frame in enumerate(frames):
                if index == strike and self.fault is not None and not is_off_schema(self.fault):
                    if self.fault == "stream-error":
                        await response.write(self.error_frame("an error was encountered while running the model"))
                        await response.write_eof()
                        return response
                    if self.fault == "malformed":
                        await response.write(b'{"model": "oops", "message": {"content": \n')
                        await response.write_eof()
                        return response
                    if self.fault == "drop":
                        return self.drop()
                    if self.fault == "hang":
                        await self.hang()
                await response.write(frame)
            await response.write_eof()
        except ConnectionResetError:
            self.stats.disconnects += 1
            self.stats.changed()
            return response
        self.stats.completed += 1
        self.stats.changed()
        return response


def model_or_error(call: Call) -> str | web.Response:
    """The request's model, or the error Ollama gives: 400 when missing, 404 when not pulled."""
    model = call.body.get("model")
    if not isinstance(model, str) or not model:
        return call.error(400, "model is required")
    if not call.plan.has_model(model):
        return call.error(404, f'model "{model}" not found, try pulling it first')
    return model
