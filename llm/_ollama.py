"""The Ollama backend: Ollama's native HTTP API over one pooled ``httpx.AsyncClient``."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from typing import Any

import httpx
import numpy as np

from llm._http import (
    HttpConfig,
    PoolGate,
    error_from_status,
    exchange,
    make_client,
    open_stream,
    parse_json_object,
    preview,
)
from llm._ollama_parse import message_text, model_infos, str_field, usage_of, vectors_of
from llm._types import ChatResult, Chunk, Embeddings, Format, GenerateResult, Message, ModelInfo, normalise_rows
from llm.errors import ModelNotFoundError, ProtocolError, StreamError

__all__ = ["OllamaBackend"]


class OllamaBackend:
    """Chat, generate, embed, list models and version against an Ollama server.

    Args:
        http: where the server is, timeouts and pool limits.
        chat_model: the model used when a call passes ``model=None`` to chat and generate.
        embed_model: the model used when ``embed`` gets ``model=None``.
        options: generation options sent with every call (a call's own options win).
        keep_alive: how long the server keeps the model loaded after a call ("5m", "0", "-1").
        transport: the httpx transport (tests and the benchmark pass their own); ``None`` is real TCP.
        headers: extra headers sent with every request.
    """

    name = "ollama"

    def __init__(
        self,
        *,
        http: HttpConfig | None = None,
        chat_model: str = "llama3.2",
        embed_model: str = "nomic-embed-text",
        options: Mapping[str, Any] | None = None,
        keep_alive: str = "5m",
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._http = http or HttpConfig()
        self.chat_model = chat_model
        self.embed_model = embed_model
        self._options = dict(options or {})
        self._keep_alive = keep_alive
        self._client = make_client(self._http, transport, headers)
        self._gate = PoolGate(self._http.max_connections, self._http.pool_timeout_s)
        # Set once /api/embed has answered 404 and /api/embeddings has worked: an older server.
        self._legacy_embed = False

    def __repr__(self) -> str:
        return f"OllamaBackend(base_url={self._http.base_url!r}, chat_model={self.chat_model!r})"

    # -- chat and generate -------------------------------------------------------------------

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> ChatResult:
        body = self._chat_body(messages, model, options, format, stream=False)
        obj = await self._post("/api/chat", body)
        endpoint = self._endpoint("POST", "/api/chat")
        return ChatResult(
            model=str_field(obj, "model", endpoint, default=body["model"]),
            content=message_text(obj, endpoint),
            done_reason=_done_reason(obj),
            usage=usage_of(obj),
        )

    async def chat_stream(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> AsyncGenerator[Chunk, None]:
        body = self._chat_body(messages, model, options, format, stream=True)
        endpoint = self._endpoint("POST", "/api/chat")
        # aclosing: leaving the loop early closes the HTTP response now, not when the generator is collected.
        async with aclosing(self._stream("/api/chat", body)) as objects:
            async for obj in objects:
                yield _chunk(obj, message_text(obj, endpoint), body["model"], endpoint)

    async def generate(
        self,
        prompt: str,
        *,
        model: str | None = None,
        system: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> GenerateResult:
        body = self._generate_body(prompt, model, system, options, format, stream=False)
        obj = await self._post("/api/generate", body)
        endpoint = self._endpoint("POST", "/api/generate")
        return GenerateResult(
            model=str_field(obj, "model", endpoint, default=body["model"]),
            text=str_field(obj, "response", endpoint),
            done_reason=_done_reason(obj),
            usage=usage_of(obj),
        )

    async def generate_stream(
        self,
        prompt: str,
        *,
        model: str | None = None,
        system: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> AsyncGenerator[Chunk, None]:
        body = self._generate_body(prompt, model, system, options, format, stream=True)
        endpoint = self._endpoint("POST", "/api/generate")
        # aclosing: leaving the loop early closes the HTTP response now, not when the generator is collected.
        async with aclosing(self._stream("/api/generate", body)) as objects:
            async for obj in objects:
                yield _chunk(obj, str_field(obj, "response", endpoint, default=""), body["model"], endpoint)

    # -- embeddings, models, version ---------------------------------------------------------

    async def embed(self, texts: Sequence[str], *, model: str | None = None) -> Embeddings:
        """Embed a batch with ``/api/embed``; an older server (404 there) is asked ``/api/embeddings``
        once per text, and remembered as older once that works."""
        name = model or self.embed_model
        if not texts:
            return Embeddings(embedder=f"model:{name}:0", vectors=np.zeros((0, 0), dtype=np.float32))
        if not self._legacy_embed:
            body: dict[str, Any] = {"model": name, "input": list(texts)}
            if self._keep_alive:
                body["keep_alive"] = self._keep_alive
            try:
                obj = await self._post("/api/embed", body)
            except ModelNotFoundError:
                return await self._embed_legacy(texts, name, remember=True)
            endpoint = self._endpoint("POST", "/api/embed")
            vectors = normalise_rows(vectors_of(obj.get("embeddings"), len(texts), endpoint))
            tokens = obj.get("prompt_eval_count")
            return Embeddings(
                embedder=f"model:{name}:{vectors.shape[1]}",
                vectors=vectors,
                prompt_tokens=tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else 0,
            )
        return await self._embed_legacy(texts, name, remember=False)

    async def _embed_legacy(self, texts: Sequence[str], name: str, *, remember: bool) -> Embeddings:
        endpoint = self._endpoint("POST", "/api/embeddings")
        rows: list[Any] = []
        for text in texts:
            body: dict[str, Any] = {"model": name, "prompt": text}
            if self._keep_alive:
                body["keep_alive"] = self._keep_alive
            obj = await self._post("/api/embeddings", body)
            rows.append(obj.get("embedding"))
        # The legacy endpoint does not normalise; /api/embed does, so both end up the same.
        vectors = normalise_rows(vectors_of(rows, len(texts), endpoint))
        if remember:
            self._legacy_embed = True
        return Embeddings(embedder=f"model:{name}:{vectors.shape[1]}", vectors=vectors)

    async def list_models(self) -> tuple[ModelInfo, ...]:
        obj = await self._get("/api/tags")
        return model_infos(obj, self._endpoint("GET", "/api/tags"))

    async def version(self) -> str:
        obj = await self._get("/api/version")
        return str_field(obj, "version", self._endpoint("GET", "/api/version"))

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- the HTTP exchange -------------------------------------------------------------------

    def _endpoint(self, method: str, path: str) -> str:
        return f"{self.name} {method} {path}"

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
        body: dict[str, Any] = {
            "model": model or self.chat_model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": stream,
        }
        return self._common(body, options, format)

    def _generate_body(
        self,
        prompt: str,
        model: str | None,
        system: str | None,
        options: Mapping[str, Any] | None,
        format: Format | None,
        *,
        stream: bool,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model or self.chat_model, "prompt": prompt, "stream": stream}
        if system is not None:
            body["system"] = system
        return self._common(body, options, format)

    def _common(self, body: dict[str, Any], options: Mapping[str, Any] | None, format: Format | None) -> dict[str, Any]:
        merged = self._options_for(options)
        if merged:
            body["options"] = merged
        if format is not None:
            body["format"] = format
        if self._keep_alive:
            body["keep_alive"] = self._keep_alive
        return body

    async def _get(self, path: str) -> dict[str, Any]:
        endpoint = self._endpoint("GET", path)
        async with self._gate.slot(endpoint):
            response = await exchange(self._client, self._http, "GET", path, endpoint=endpoint)
        if response.status_code != 200:
            raise error_from_status(response, response.content, endpoint, model=None, base_url=self._http.base_url)
        return parse_json_object(response.content, endpoint)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint("POST", path)
        async with self._gate.slot(endpoint):
            response = await exchange(self._client, self._http, "POST", path, endpoint=endpoint, json_body=body)
        if response.status_code != 200:
            raise error_from_status(
                response, response.content, endpoint, model=body.get("model"), base_url=self._http.base_url
            )
        obj = parse_json_object(response.content, endpoint)
        _raise_error_line(obj, endpoint)
        return obj

    async def _stream(self, path: str, body: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """The NDJSON objects of a streamed response, up to and including the ``done`` one."""
        endpoint = self._endpoint("POST", path)
        done = False
        async with (
            self._gate.slot(endpoint),
            open_stream(self._client, self._http, path, endpoint=endpoint, json_body=body) as response,
        ):
            if response.status_code != 200:
                raw = await response.aread()
                raise error_from_status(response, raw, endpoint, model=body.get("model"), base_url=self._http.base_url)
            # Read to the end of the body even after `done`, so the connection goes back to the pool.
            async for line in response.aiter_lines():
                if not line.strip() or done:
                    continue
                obj = parse_json_object(line, endpoint)
                _raise_error_line(obj, endpoint)
                done = obj.get("done") is True
                yield obj
        if not done:
            raise ProtocolError(f"{endpoint}: the stream ended before its final chunk", endpoint=endpoint)


def _raise_error_line(obj: Mapping[str, Any], endpoint: str) -> None:
    if "error" in obj:
        said = obj["error"] if isinstance(obj["error"], str) else preview(repr(obj["error"]))
        raise StreamError(
            f"{endpoint}: the server reported an error mid-response: {said}", status=200, endpoint=endpoint
        )


def _done_reason(obj: Mapping[str, Any]) -> str | None:
    reason = obj.get("done_reason")
    return reason if isinstance(reason, str) else None


def _chunk(obj: Mapping[str, Any], text: str, model: str, endpoint: str) -> Chunk:
    done = obj.get("done") is True
    return Chunk(
        model=str_field(obj, "model", endpoint, default=model),
        text=text,
        done=done,
        done_reason=_done_reason(obj) if done else None,
        usage=usage_of(obj) if done else None,
    )
