"""The Ollama backend: Ollama's native HTTP API over one pooled ``aiohttp.ClientSession``."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from typing import Any

import aiohttp

from llm._http import HttpConfig, parse_json_object
from llm._http_backend import HttpBackend, RequestHeaders
from llm._ollama_parse import message_text, model_infos, str_field, usage_of
from llm._parse import count_of, model_embeddings, no_embeddings, raise_reported
from llm._types import ChatResult, Chunk, Embeddings, Format, GenerateResult, ModelInfo
from llm.errors import ModelNotFoundError, ProtocolError

__all__ = ["OllamaBackend"]


class OllamaBackend(HttpBackend):
    """Chat, generate, embed, list models and version against an Ollama server.

    Args:
        http: where the server is, timeouts and pool limits.
        chat_model: the model used when a call passes ``model=None`` to chat and generate.
        embed_model: the model used when ``embed`` gets ``model=None``.
        options: generation options sent with every call (a call's own options win).
        keep_alive: how long the server keeps the model loaded after a call ("5m", "0", "-1").
        connector: where connections come from (an ``aiohttp.UnixConnector`` for a server on a socket); ``None`` is TCP.
        headers: extra headers sent with every request.
        request_headers: asked for more headers as each request is sent (a trace's ``traceparent``).
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
        connector: aiohttp.BaseConnector | None = None,
        headers: Mapping[str, str] | None = None,
        request_headers: RequestHeaders | None = None,
    ) -> None:
        super().__init__(http or HttpConfig(), chat_model, embed_model, options, connector, headers, request_headers)
        self._keep_alive = keep_alive
        # Set once /api/embed has answered 404 and /api/embeddings has worked: an older server.
        self._legacy_embed = False

    def __repr__(self) -> str:
        return f"OllamaBackend(base_url={self._http.base_url!r}, chat_model={self.chat_model!r})"

    # -- chat and generate -------------------------------------------------------------------

    async def _chat(self, body: dict[str, Any]) -> ChatResult:
        obj = await self._post("/api/chat", body)
        endpoint = self._endpoint("POST", "/api/chat")
        return ChatResult(
            model=str_field(obj, "model", endpoint, default=body["model"]),
            content=message_text(obj, endpoint),
            done_reason=_done_reason(obj),
            usage=usage_of(obj),
        )

    async def _chat_chunks(self, body: dict[str, Any]) -> AsyncGenerator[Chunk, None]:
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
            return no_embeddings(name)
        if self._legacy_embed:
            return await self._embed_legacy(texts, name, remember=False)
        try:
            obj = await self._post("/api/embed", self._keep({"model": name, "input": list(texts)}))
        except ModelNotFoundError:
            return await self._embed_legacy(texts, name, remember=True)
        endpoint = self._endpoint("POST", "/api/embed")
        tokens = count_of(obj.get("prompt_eval_count")) or 0
        return model_embeddings(name, obj.get("embeddings"), len(texts), endpoint, prompt_tokens=tokens)

    async def _embed_legacy(self, texts: Sequence[str], name: str, *, remember: bool) -> Embeddings:
        rows: list[Any] = []
        for text in texts:
            obj = await self._post("/api/embeddings", self._keep({"model": name, "prompt": text}))
            rows.append(obj.get("embedding"))
        # The legacy endpoint does not normalise; /api/embed does, so both end up the same.
        embeddings = model_embeddings(name, rows, len(texts), self._endpoint("POST", "/api/embeddings"))
        if remember:
            self._legacy_embed = True
        return embeddings

    async def list_models(self) -> tuple[ModelInfo, ...]:
        obj = await self._get("/api/tags")
        return model_infos(obj, self._endpoint("GET", "/api/tags"))

    async def version(self) -> str:
        obj = await self._get("/api/version")
        return str_field(obj, "version", self._endpoint("GET", "/api/version"))

    # -- the requests ------------------------------------------------------------------------

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
        return self._shaped(body, self._options_for(options), format)

    def _shaped(self, body: dict[str, Any], options: dict[str, Any], format: Format | None) -> dict[str, Any]:
        if options:
            body["options"] = options
        if format is not None:
            body["format"] = format
        return self._keep(body)

    def _keep(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with ``keep_alive``, when one is set."""
        if self._keep_alive:
            body["keep_alive"] = self._keep_alive
        return body

    async def _get(self, path: str) -> dict[str, Any]:
        return await self._json("GET", path, None)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        obj = await self._json("POST", path, body)
        raise_reported(obj, self._endpoint("POST", path))
        return obj

    async def _stream(self, path: str, body: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """The NDJSON objects of a streamed response, up to and including the ``done`` one."""
        endpoint = self._endpoint("POST", path)
        done = False
        async with self._streamed(path, body) as lines:
            # Read to the end of the body even after `done`, so the connection goes back to the pool.
            async for line in lines:
                if not line.strip() or done:
                    continue
                obj = parse_json_object(line, endpoint)
                raise_reported(obj, endpoint)
                done = obj.get("done") is True
                yield obj
        if not done:
            raise ProtocolError(f"{endpoint}: the stream ended before its final chunk", endpoint=endpoint)


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
