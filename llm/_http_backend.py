"""What the Ollama and OpenAI-compatible backends share: the pooled client and the way a request is sent.

Each request waits for a slot at the :class:`~llm._http.PoolGate`, gets the head of its answer
within the first-byte limit and the rest within the gap limit, and has every failure classified
as an :class:`~llm.errors.LLMError`: aiohttp's own (:func:`~llm._http.from_aiohttp`), a limit
that ran out, and a status other than 200 (:func:`~llm._http.error_from_status`). What an API's
JSON means is left to the backend.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import aiohttp
from yarl import URL

from llm._http import HttpConfig, Method, PoolGate, error_from_status, from_aiohttp, make_session, parse_json_object
from llm._types import ChatResult, Chunk, Format, Message
from llm.errors import LLMError, LLMTimeoutError

__all__ = ["HttpBackend", "RequestHeaders"]

RequestHeaders = Callable[[str, str], Mapping[str, str]]
"""Called with a request's method and URL as it is sent; returns headers to add to it (a trace's ``traceparent``)."""


class HttpBackend:
    """An LLM server over one pooled ``aiohttp.ClientSession``: its default models and options, JSON requests, streams.

    ``chat`` and ``chat_stream`` build the request here and leave sending and reading it to the
    backend (``_chat``, ``_chat_chunks``). A backend sets ``name`` (it starts every error's
    endpoint), passes its settings on (their meanings are in the backends' docstrings) and says
    how its API takes options and a format (``_shaped``); ``_headers`` adds headers to each request,
    and so does ``request_headers`` when given (it is asked again for every request, retries included).
    """

    name: ClassVar[str]

    def __init__(
        self,
        http: HttpConfig,
        chat_model: str,
        embed_model: str,
        options: Mapping[str, Any] | None,
        connector: aiohttp.BaseConnector | None,
        headers: Mapping[str, str] | None = None,
        request_headers: RequestHeaders | None = None,
    ) -> None:
        self._http = http
        self._request_headers = request_headers
        self.chat_model = chat_model
        self.embed_model = embed_model
        self._options = dict(options or {})
        self._connector = connector
        self._session_headers = dict(headers or {})
        # made on the first request: an aiohttp session belongs to the loop it is made on
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}
        self._gate = PoolGate(http.max_connections, http.pool_timeout_s)

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> ChatResult:
        """The whole reply to ``messages``.

        Args:
            messages: the conversation so far.
            model: the model; ``None`` is the backend's ``chat_model``.
            options: generation options, laid over the backend's own.
            format: ``"json"`` or a JSON schema the answer should follow; what comes back is the
                content as the server wrote it (the caller validates it).

        Raises:
            LLMError: classified (see ``llm.errors``).
        """
        return await self._chat(self._chat_body(messages, model, options, format, stream=False))

    def chat_stream(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> AsyncGenerator[Chunk, None]:
        """The reply to ``messages`` piece by piece (as :meth:`chat`); the last chunk has ``done=True`` and the usage.

        Leaving the loop early (``break``, ``aclose()``) closes the HTTP response at once.
        """
        return self._chat_chunks(self._chat_body(messages, model, options, format, stream=True))

    async def aclose(self) -> None:
        """Release the connection pool; the backend is unusable afterwards."""
        if self._session is not None:
            await self._session.close()
        elif self._connector is not None:
            await self._connector.close()

    # -- what the backends build requests from ------------------------------------------------

    def _endpoint(self, method: str, path: str) -> str:
        """How errors name a request: ``ollama POST /api/chat``."""
        return f"{self.name} {method} /{path.removeprefix('/')}"

    def _options_for(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        return {**self._options, **options} if options else self._options

    def _chat_body(
        self,
        messages: Sequence[Message],
        model: str | None,
        options: Mapping[str, Any] | None,
        format: Format | None,
        *,
        stream: bool,
    ) -> dict[str, Any]:
        """A chat request: what both APIs spell alike, then the options and format in the API's words."""
        body: dict[str, Any] = {
            "model": model or self.chat_model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": stream,
        }
        return self._shaped(body, self._options_for(options), format)

    def _shaped(self, body: dict[str, Any], options: dict[str, Any], format: Format | None) -> dict[str, Any]:
        """``body`` with ``options`` (the configured ones under the call's) and ``format``, as the API takes them."""
        raise NotImplementedError

    async def _chat(self, body: dict[str, Any]) -> ChatResult:
        """Send a chat request (``stream: false``) and read its answer."""
        raise NotImplementedError

    def _chat_chunks(self, body: dict[str, Any]) -> AsyncGenerator[Chunk, None]:
        """Send a streamed chat request and read its chunks."""
        raise NotImplementedError

    def _headers(self) -> Mapping[str, str] | None:
        """Headers of one request, on top of the client's (the OpenAI backend's bearer key)."""
        return None

    # -- the HTTP exchange -------------------------------------------------------------------

    async def _json(self, method: Method, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """One request and its whole answer, a JSON object.

        Raises:
            LLMError: the failure, classified (a status other than 200, a body that is not a JSON object).
        """
        endpoint = self._endpoint(method, path)
        async with self._gate.slot(endpoint):
            response = await self._start(method, path, endpoint, body)
            try:
                raw = await self._read_all(response, endpoint)
            except BaseException:
                response.close()  # cut off mid-body: this connection cannot serve another request
                raise
            response.release()
        if response.status != 200:
            raise self._status_error(response, raw, endpoint, body)
        return parse_json_object(raw, endpoint)

    def _status_error(
        self, response: aiohttp.ClientResponse, raw: bytes, endpoint: str, body: dict[str, Any] | None
    ) -> LLMError:
        return error_from_status(
            response.status, response.headers, raw, endpoint, model=_model(body), base_url=self._http.base_url
        )

    @asynccontextmanager
    async def _streamed(self, path: str, body: dict[str, Any]) -> AsyncIterator[AsyncIterator[str]]:
        """A streamed POST holding its pool slot: the lines of its 200 answer, each read within the gap limit.

        aiohttp errors raised while the lines are read inside the ``async with`` are classified too;
        the response is closed on the way out (released to the pool once read to its end).
        """
        endpoint = self._endpoint("POST", path)
        async with self._gate.slot(endpoint):
            response = await self._start("POST", path, endpoint, body)
            try:
                if response.status != 200:
                    raw = await self._read_all(response, endpoint)
                    raise self._status_error(response, raw, endpoint, body)
                yield self._lines(response, endpoint)
            finally:
                if response.content.at_eof():
                    response.release()
                else:
                    response.close()  # left early: the rest of the answer must not reach the next request

    async def _start(
        self, method: Method, path: str, endpoint: str, body: dict[str, Any] | None
    ) -> aiohttp.ClientResponse:
        """Send a request and wait for the head of its answer, within the first-byte limit; the body is left unread."""
        session = self._session
        if session is None:
            session = self._session = make_session(self._http, self._connector, self._session_headers)
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = URL(f"{self._http.base_url.rstrip('/')}/{path.lstrip('/')}")
        data: bytes | None = None
        headers = dict(self._headers() or {})
        if self._request_headers is not None:
            headers.update(self._request_headers(method, str(url)))
        if body is not None:
            # compact and UTF-8; a NaN or an infinity is refused (ValueError), as JSON has none
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            async with asyncio.timeout(self._http.first_byte_timeout_s):
                return await session.request(method, url, data=data, headers=headers)
        except TimeoutError as exc:
            if isinstance(exc, aiohttp.ClientError):  # the connect limit (aiohttp's own)
                raise from_aiohttp(exc, endpoint) from exc
            raise LLMTimeoutError(
                f"{endpoint}: FirstByteTimeout (no answer within {self._http.first_byte_timeout_s:g}s; "
                "loading the model and reading the prompt count)",
                endpoint=endpoint,
            ) from exc
        except aiohttp.ClientError as exc:
            raise from_aiohttp(exc, endpoint) from exc

    async def _read_all(self, response: aiohttp.ClientResponse, endpoint: str) -> bytes:
        """The rest of the body, each read within the gap limit."""
        parts: list[bytes] = []
        content = response.content
        while True:
            chunk = await self._read_some(content, endpoint)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)

    async def _lines(self, response: aiohttp.ClientResponse, endpoint: str) -> AsyncIterator[str]:
        """The body's lines (``\n``, ``\r\n`` or ``\r`` ends one), decoded as UTF-8, each read within the gap limit."""
        pending = b""
        content = response.content
        while chunk := await self._read_some(content, endpoint):
            pending += chunk
            # a "\r" at the end may be the first half of a "\r\n": it waits for the next chunk
            held = b"\r" if pending.endswith(b"\r") else b""
            whole = pending[: len(pending) - len(held)].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            *lines, rest = whole.split(b"\n")
            pending = rest + held
            for line in lines:
                yield line.decode("utf-8", "replace")
        if pending:
            yield pending.decode("utf-8", "replace")

    async def _read_some(self, content: aiohttp.StreamReader, endpoint: str) -> bytes:
        """What has arrived of the body (``b""`` at its end), within the gap limit."""
        try:
            async with asyncio.timeout(self._http.read_timeout_s):
                return await content.readany()
        except aiohttp.ClientError as exc:
            raise from_aiohttp(exc, endpoint) from exc
        except TimeoutError as exc:
            raise LLMTimeoutError(
                f"{endpoint}: ReadTimeout (nothing more within {self._http.read_timeout_s:g}s)", endpoint=endpoint
            ) from exc


def _model(body: dict[str, Any] | None) -> str | None:
    model = body.get("model") if body is not None else None
    return model if isinstance(model, str) else None
