"""What the HTTP backends are built from: their settings, the pooled aiohttp session and its gate, and
turning HTTP failures into ``LLMError``.

Why aiohttp and not httpx for the client: measured in ``python -m benchmarks llm`` (the same
simulator, the same pool of 8 connections, interleaved), a chat call through aiohttp costs several
times less CPU than through httpx: httpx's request goes through httpcore, h11 and anyio (a cancel
scope per read, two ``send`` calls per request, a readability poll of each pooled connection),
where aiohttp writes the request at once and parses the answer with its C parser. aiohttp is
already the project's HTTP server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

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
    "from_aiohttp",
    "make_session",
    "parse_json_object",
    "preview",
]

_PREVIEW_BYTES = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpConfig:
    """Where the server is and how patient and how parallel the client is.

    Two limits bound the wait for an answer: ``first_byte_timeout_s`` from sending the request
    to the head of the answer (a local server loads the model and reads the prompt in that
    time, and writes an answer that is not streamed only once it is whole), then
    ``read_timeout_s`` between two reads of the rest. Sending the request counts within the
    first-byte limit (aiohttp writes a request at once, with no limit of its own), so
    ``write_timeout_s`` is checked but not applied. ``max_keepalive_connections`` 0 closes each connection after
    its answer; any other number keeps idle connections open for ``keepalive_expiry_s``, as
    many as were opened (at most ``max_connections``: aiohttp has no separate cap on idle ones).
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
    """FIFO admission in front of the connection pool: at most ``size`` requests reach it at once.

    The pool itself then never queues (it holds as many connections as the gate lets requests
    through), and the wait here is O(1) and honours the pool timeout.
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


def make_session(
    config: HttpConfig,
    connector: aiohttp.BaseConnector | None = None,
    headers: Mapping[str, str] | None = None,
) -> aiohttp.ClientSession:
    """One pooled session with the connect limit and the pool set (aiohttp's own defaults are not ours).

    Call it on the running event loop. The first-byte and gap limits are applied per request by
    the backend (``llm._http_backend``), so the session sets no read timeout of its own.

    Args:
        connector: where connections come from; ``None`` is TCP with the config's pool.
    """
    if connector is None:
        connector = aiohttp.TCPConnector(
            limit=config.max_connections,
            limit_per_host=0,
            keepalive_timeout=config.keepalive_expiry_s if config.max_keepalive_connections else None,
            force_close=config.max_keepalive_connections == 0,
            use_dns_cache=True,
        )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_connect=config.connect_timeout_s, sock_read=None),
        headers=dict(headers or {}),
        # Proxies from the environment would route a loopback Ollama through a corporate proxy.
        trust_env=False,
        raise_for_status=False,
        auto_decompress=True,
    )


Method = Literal["GET", "POST"]


def preview(body: bytes | str) -> str:
    """The first bytes of a body, quoted, for an error message."""
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else body
    shown = raw[:_PREVIEW_BYTES]
    suffix = f"... ({len(raw)} bytes)" if len(raw) > _PREVIEW_BYTES else ""
    return repr(shown) + suffix


def from_aiohttp(exc: aiohttp.ClientError, endpoint: str) -> LLMError:
    """Classify an aiohttp failure that happened before or while reading a response (not a read limit's)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return LLMTimeoutError(f"{endpoint}: ConnectTimeout ({exc or 'no detail'})", endpoint=endpoint)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return LLMTimeoutError(f"{endpoint}: ReadTimeout ({exc or 'no detail'})", endpoint=endpoint)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return TransportError(f"{endpoint}: ConnectError ({exc})", endpoint=endpoint)
    if isinstance(exc, aiohttp.ClientResponseError):  # a head the parser refused
        return ProtocolError(f"{endpoint}: {type(exc).__name__} ({exc.message})", endpoint=endpoint)
    return TransportError(f"{endpoint}: {type(exc).__name__} ({exc or 'no detail'})", endpoint=endpoint)


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


def _retry_after(headers: Mapping[str, str]) -> float | None:
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
    status: int, headers: Mapping[str, str], body: bytes, endpoint: str, *, model: str | None, base_url: str
) -> LLMError:
    """Classify a non-2xx response whose body has been read (``headers`` looked up case-insensitively)."""
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
        retry_after = _retry_after(headers)
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
