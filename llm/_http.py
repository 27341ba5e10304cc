"""What the HTTP backends are built from: their settings, the pooled client and its gate, and turning
HTTP failures into ``LLMError``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from llm.errors import (
    BadRequestError,
    LLMError,
    LLMTimeoutError,
    ModelNotFoundError,
    OverloadedError,
    ProtocolError,
    ServerError,
    TransportError,
)

__all__ = [
    "HttpConfig",
    "PoolGate",
    "Secret",
    "error_from_status",
    "error_text",
    "from_httpx",
    "make_client",
    "parse_json_object",
    "preview",
]

_PREVIEW_BYTES = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpConfig:
    """Where the server is and how patient and how parallel the client is.

    Two limits bound the wait for an answer: ``first_byte_timeout_s`` from sending the request
    to the first byte of the answer (a local server loads the model and reads the prompt in
    that time, and writes an answer that is not streamed only once it is whole), then
    ``read_timeout_s`` between two bytes of the rest.
    """

    base_url: str = "http://127.0.0.1:11434"
    connect_timeout_s: float = 5.0
    first_byte_timeout_s: float = 60.0
    read_timeout_s: float = 30.0
    write_timeout_s: float = 30.0
    pool_timeout_s: float = 30.0
    max_connections: int = 8
    max_keepalive_connections: int = 8
    keepalive_expiry_s: float = 30.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"HttpConfig.base_url: expected an http:// or https:// URL, got {self.base_url!r}")
        for name in (
            "connect_timeout_s",
            "first_byte_timeout_s",
            "read_timeout_s",
            "write_timeout_s",
            "pool_timeout_s",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"HttpConfig.{name}: expected a number > 0, got {getattr(self, name)!r}")
        if self.max_connections < 1:
            raise ValueError(f"HttpConfig.max_connections: expected >= 1, got {self.max_connections}")
        if not 0 <= self.max_keepalive_connections <= self.max_connections:
            raise ValueError(
                "HttpConfig.max_keepalive_connections: expected 0 to max_connections "
                f"({self.max_connections}), got {self.max_keepalive_connections}"
            )


class Secret:
    """A value that must never be printed: ``repr`` and ``str`` show stars."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the secret replaced by stars."""
        return text.replace(self._value, "***") if self._value else text

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class PoolGate:
    """FIFO admission in front of httpx's connection pool: at most ``size`` requests reach it at once.

    httpcore's pool re-scans every queued request against every connection on each state
    change, so with many callers waiting its cost grows with their number; measured here,
    32 callers on a pool of 8 ran ~1.4x slower without this gate. Waiting here is O(1) and
    honours the pool timeout.
    """

    def __init__(self, size: int, timeout_s: float) -> None:
        self._slots = asyncio.Semaphore(size)
        self._timeout_s = timeout_s

    @asynccontextmanager
    async def slot(self, endpoint: str) -> AsyncIterator[None]:
        """Hold one slot for the body of the ``async with``; ``LLMTimeoutError`` if none frees in time."""
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise LLMTimeoutError(
                f"{endpoint}: PoolTimeout (no free connection within {self._timeout_s:g}s)", endpoint=endpoint
            ) from exc
        try:
            yield
        finally:
            self._slots.release()


def make_client(
    config: HttpConfig, transport: httpx.AsyncBaseTransport | None, headers: Mapping[str, str] | None = None
) -> httpx.AsyncClient:
    """One pooled client with every timeout and limit set (httpx's own defaults are not ours).

    Its read timeout is the first-byte limit: httpx applies it while waiting for the answer's
    head; a backend's requests (``llm._http_backend``) shorten it to ``read_timeout_s`` for the body.
    """
    return httpx.AsyncClient(
        base_url=config.base_url,
        timeout=httpx.Timeout(
            connect=config.connect_timeout_s,
            read=config.first_byte_timeout_s,
            write=config.write_timeout_s,
            pool=config.pool_timeout_s,
        ),
        limits=httpx.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_keepalive_connections,
            keepalive_expiry=config.keepalive_expiry_s,
        ),
        transport=transport,
        headers=dict(headers or {}),
        # Proxies from the environment would route a loopback Ollama through a corporate proxy.
        trust_env=False,
    )


Method = Literal["GET", "POST"]


def preview(body: bytes | str) -> str:
    """The first bytes of a body, quoted, for an error message."""
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else body
    shown = raw[:_PREVIEW_BYTES]
    suffix = f"... ({len(raw)} bytes)" if len(raw) > _PREVIEW_BYTES else ""
    return repr(shown) + suffix


def from_httpx(exc: httpx.HTTPError, endpoint: str) -> LLMError:
    """Classify an httpx failure that happened before or while reading a response."""
    if isinstance(exc, httpx.TimeoutException):
        kind = type(exc).__name__
        return LLMTimeoutError(f"{endpoint}: {kind} ({exc or 'no detail'})", endpoint=endpoint)
    if isinstance(exc, httpx.DecodingError):
        return ProtocolError(f"{endpoint}: the body could not be decoded ({exc})", endpoint=endpoint)
    if isinstance(exc, httpx.TransportError):
        return TransportError(f"{endpoint}: {type(exc).__name__} ({exc or 'no detail'})", endpoint=endpoint)
    return TransportError(f"{endpoint}: {type(exc).__name__} ({exc})", endpoint=endpoint)


def error_text(body: bytes) -> str:
    """What the server said: ``{"error": "..."}`` (Ollama), ``{"error": {"message": ...}}``
    (OpenAI), or the first bytes of anything else."""
    try:
        obj = json.loads(body)
    except ValueError:
        return preview(body)
    if isinstance(obj, dict):
        err = obj.get("error")
        if isinstance(err, str):
            return err
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])
    return preview(body)


def _retry_after(headers: httpx.Headers) -> float | None:
    # Only delta-seconds: an HTTP-date would need the wall clock, and no LLM server sends one.
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else None


def error_from_status(
    response: httpx.Response, body: bytes, endpoint: str, *, model: str | None, base_url: str
) -> LLMError:
    """Classify a non-2xx response whose body has been read."""
    status = response.status_code
    said = error_text(body)
    where = f"{endpoint}: {status} {said}"
    if status == 404:
        if model is not None:
            return ModelNotFoundError(
                f"{where} — the model {model!r} is not on {base_url}; pull it first (ollama pull {model})",
                status=status,
                endpoint=endpoint,
            )
        return ModelNotFoundError(where, status=status, endpoint=endpoint)
    if status in (429, 503):
        retry_after = _retry_after(response.headers)
        hint = f" (retry after {retry_after:g}s)" if retry_after is not None else ""
        return OverloadedError(where + hint, status=status, retry_after_s=retry_after, endpoint=endpoint)
    if 400 <= status < 500:
        return BadRequestError(where, status=status, endpoint=endpoint)
    if status >= 500:
        return ServerError(where, status=status, endpoint=endpoint)
    return ProtocolError(f"{endpoint}: unexpected status {status}: {preview(body)}", status=status, endpoint=endpoint)


def parse_json_object(body: bytes | str, endpoint: str) -> dict[str, Any]:
    """A JSON object, or :class:`ProtocolError` with the first bytes."""
    try:
        obj = json.loads(body)
    except ValueError as exc:
        raise ProtocolError(f"{endpoint}: not JSON: {preview(body)}", endpoint=endpoint) from exc
    if not isinstance(obj, dict):
        raise ProtocolError(f"{endpoint}: expected a JSON object, got {preview(body)}", endpoint=endpoint)
    return obj
