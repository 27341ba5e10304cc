"""What the Ollama and OpenAI-compatible backends share: the pooled client and the way a request is sent.

Each request waits for a slot at the :class:`~llm._http.PoolGate`, gets the head of its answer
within the first-byte limit and the rest within the gap limit, and has every failure classified
as an :class:`~llm.errors.LLMError`: httpx's own (:func:`~llm._http.from_httpx`) and a status
other than 200 (:func:`~llm._http.error_from_status`). What an API's JSON means is left to the backend.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import httpx

from llm._http import HttpConfig, Method, PoolGate, error_from_status, from_httpx, make_client, parse_json_object
from llm._types import ChatResult, Chunk, Format, Message
from llm.errors import LLMTimeoutError

__all__ = ["HttpBackend", "RequestHeaders"]

RequestHeaders = Callable[[str, str], Mapping[str, str]]
"""Called with a request's method and URL as it is sent; returns headers to add to it (a trace's ``traceparent``)."""


class HttpBackend:
    """An LLM server over one pooled ``httpx.AsyncClient``: its default models and options, JSON requests, streams.

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
        transport: httpx.AsyncBaseTransport | None,
        headers: Mapping[str, str] | None = None,
        request_headers: RequestHeaders | None = None,
    ) -> None:
        self._http = http
        self._request_headers = request_headers
        self.chat_model = chat_model
        self.embed_model = embed_model
        self._options = dict(options or {})
        self._client = make_client(http, transport, headers)
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
        await self._client.aclose()

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
                await response.aread()
            except httpx.HTTPError as exc:
                raise from_httpx(exc, endpoint) from exc
            finally:
                await response.aclose()
        if response.status_code != 200:
            raise error_from_status(
                response, response.content, endpoint, model=_model(body), base_url=self._http.base_url
            )
        return parse_json_object(response.content, endpoint)

    @asynccontextmanager
    async def _streamed(self, path: str, body: dict[str, Any]) -> AsyncIterator[httpx.Response]:
        """A streamed POST holding its pool slot: the 200 response, whose body the caller reads (gap limit).

        httpx errors raised while the body is read inside the ``async with`` are classified too;
        the response is closed on the way out.
        """
        endpoint = self._endpoint("POST", path)
        async with self._gate.slot(endpoint):
            response = await self._start("POST", path, endpoint, body)
            try:
                if response.status_code != 200:
                    raw = await response.aread()
                    raise error_from_status(response, raw, endpoint, model=_model(body), base_url=self._http.base_url)
                yield response
            except httpx.HTTPError as exc:
                raise from_httpx(exc, endpoint) from exc
            finally:
                await response.aclose()

    async def _start(self, method: Method, path: str, endpoint: str, body: dict[str, Any] | None) -> httpx.Response:
        """Send a request and wait for the head of its answer, within the first-byte limit; the body is left unread."""
        request = self._client.build_request(method, path, json=body, headers=self._headers())
        if self._request_headers is not None:
            request.headers.update(self._request_headers(method, str(request.url)))
        try:
            response = await self._client.send(request, stream=True)
        except httpx.ReadTimeout as exc:
            raise LLMTimeoutError(
                f"{endpoint}: FirstByteTimeout (no answer within {self._http.first_byte_timeout_s:g}s; "
                "loading the model and reading the prompt count)",
                endpoint=endpoint,
            ) from exc
        except httpx.HTTPError as exc:
            raise from_httpx(exc, endpoint) from exc
        # From the first byte on, the limit is the gap between two bytes. httpcore reads the
        # request's timeout extension again when the body is first read, so this applies to it.
        timeouts = response.request.extensions.get("timeout")
        if isinstance(timeouts, dict):
            timeouts["read"] = self._http.read_timeout_s
        return response


def _model(body: dict[str, Any] | None) -> str | None:
    model = body.get("model") if body is not None else None
    return model if isinstance(model, str) else None
