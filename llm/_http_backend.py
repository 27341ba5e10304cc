"""What the Ollama and OpenAI-compatible backends share: the pooled client and the way a request is sent.

Each request waits for a slot at the :class:`~llm._http.PoolGate`, gets the head of its answer
within the first-byte limit and the rest within the gap limit, and has every failure classified
as an :class:`~llm.errors.LLMError`: httpx's own (:func:`~llm._http.from_httpx`) and a status
other than 200 (:func:`~llm._http.error_from_status`). What an API's JSON means is left to the backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import httpx

from llm._http import HttpConfig, Method, PoolGate, error_from_status, from_httpx, make_client, parse_json_object
from llm._types import Format, Message
from llm.errors import LLMTimeoutError

__all__ = ["HttpBackend"]


class HttpBackend:
    """An LLM server over one pooled ``httpx.AsyncClient``: its default models and options, JSON requests, streams.

    A backend sets ``name`` (it starts every error's endpoint), passes its settings on (their
    meanings are in the backends' docstrings) and says how its API takes options and a format
    (``_shaped``); ``_headers`` adds headers to each request.
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
    ) -> None:
        self._http = http
        self.chat_model = chat_model
        self.embed_model = embed_model
        self._options = dict(options or {})
        self._client = make_client(http, transport, headers)
        self._gate = PoolGate(http.max_connections, http.pool_timeout_s)

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
