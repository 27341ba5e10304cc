"""The OpenAI-compatible backend: ``/chat/completions``, ``/embeddings`` and ``/models`` over aiohttp.

Works with vLLM, llama.cpp's server, LiteLLM and Ollama's own ``/v1``. The bearer key is
held as a :class:`~llm._http.Secret`: it is sent in a header and nowhere else, and it is
scrubbed from every error message (some servers echo a wrong key back).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager
from typing import Any

import aiohttp

from llm._http import HttpConfig, Method, Secret, parse_json_object, preview
from llm._http_backend import HttpBackend, RequestHeaders
from llm._openai_format import response_format
from llm._openai_parse import OPTION_NAMES, choice_of, model_list, sse_data, usage_of
from llm._parse import list_field, model_embeddings, no_embeddings, raise_reported
from llm._types import ChatResult, Chunk, Embeddings, Format, GenerateResult, Message, ModelInfo, Usage
from llm.errors import LLMError, ProtocolError

__all__ = ["DEFAULT_OPENAI_URL", "OpenAIBackend"]

DEFAULT_OPENAI_URL = "http://127.0.0.1:11434/v1"  # Ollama's OpenAI-compatible endpoint


class OpenAIBackend(HttpBackend):
    """Chat, generate (as a one-message chat), embed and list models on an OpenAI-compatible server.

    Args:
        http: the server (its base URL includes the version prefix, e.g. ``.../v1``), timeouts, pool.
        chat_model: used when a call passes ``model=None`` to chat and generate.
        embed_model: used when ``embed`` gets ``model=None``.
        options: Ollama-style options (``num_predict``, ``temperature``, ``seed``, ``top_p``, ``stop``)
            sent as their OpenAI fields; others have no equivalent and are not sent.
        api_key: the bearer key, or ``None`` to send none (Ollama ignores it).
        connector: where connections come from; ``None`` is TCP.
    """

    name = "openai"

    def __init__(
        self,
        *,
        http: HttpConfig | None = None,
        chat_model: str = "llama3.2",
        embed_model: str = "nomic-embed-text",
        options: Mapping[str, Any] | None = None,
        api_key: str | None = None,
        connector: aiohttp.BaseConnector | None = None,
        request_headers: RequestHeaders | None = None,
    ) -> None:
        super().__init__(
            http or HttpConfig(base_url=DEFAULT_OPENAI_URL),
            chat_model,
            embed_model,
            options,
            connector,
            request_headers=request_headers,
        )
        self._key = Secret(api_key or "")

    def __repr__(self) -> str:
        return f"OpenAIBackend(base_url={self._http.base_url!r}, chat_model={self.chat_model!r}, api_key={self._key!r})"

    # -- chat and generate -------------------------------------------------------------------

    async def _chat(self, body: dict[str, Any]) -> ChatResult:
        endpoint = self._endpoint("POST", "chat/completions")
        async with self._scrubbed():
            obj = await self._send("POST", "chat/completions", body)
            choice = choice_of(obj, endpoint)
            message = choice.get("message") if choice is not None else None
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(content, str):
                raise ProtocolError(f"{endpoint}: no message content in {preview(repr(obj))}", endpoint=endpoint)
            reason = choice.get("finish_reason") if choice is not None else None
            return ChatResult(
                model=str(obj.get("model", body["model"])),
                content=content,
                done_reason=reason if isinstance(reason, str) else None,
                usage=usage_of(obj),
            )

    async def _chat_chunks(self, body: dict[str, Any]) -> AsyncGenerator[Chunk, None]:
        body["stream_options"] = {"include_usage": True}
        endpoint = self._endpoint("POST", "chat/completions")
        reason: str | None = None
        usage = Usage()
        async with self._scrubbed(), aclosing(self._events(body, endpoint)) as events:
            async for obj in events:
                if isinstance(obj.get("usage"), dict):
                    usage = usage_of(obj)
                choice = choice_of(obj, endpoint)
                if choice is None:
                    continue
                delta = choice.get("delta")
                text = delta.get("content") if isinstance(delta, dict) else None
                if isinstance(text, str) and text:
                    yield Chunk(model=str(obj.get("model", body["model"])), text=text)
                if isinstance(choice.get("finish_reason"), str):
                    reason = choice["finish_reason"]
            if reason is None:
                raise ProtocolError(f"{endpoint}: the stream ended without a finish_reason", endpoint=endpoint)
            yield Chunk(model=str(body["model"]), text="", done=True, done_reason=reason, usage=usage)

    async def generate(
        self,
        prompt: str,
        *,
        model: str | None = None,
        system: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> GenerateResult:
        result = await self.chat(_as_messages(prompt, system), model=model, options=options, format=format)
        return GenerateResult(
            model=result.model, text=result.content, done_reason=result.done_reason, usage=result.usage
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
        stream = self.chat_stream(_as_messages(prompt, system), model=model, options=options, format=format)
        async with aclosing(stream) as chunks:
            async for chunk in chunks:
                yield chunk

    # -- embeddings, models, version ---------------------------------------------------------

    async def embed(self, texts: Sequence[str], *, model: str | None = None) -> Embeddings:
        name = model or self.embed_model
        if not texts:
            return no_embeddings(name)
        endpoint = self._endpoint("POST", "embeddings")
        async with self._scrubbed():
            obj = await self._send("POST", "embeddings", {"model": name, "input": list(texts)})
            data = list_field(obj, "data", endpoint)
            if not all(isinstance(d, dict) for d in data):
                raise ProtocolError(f"{endpoint}: expected a 'data' list, got {preview(repr(obj))}", endpoint=endpoint)
            ordered = sorted(data, key=lambda d: d.get("index", 0) if isinstance(d.get("index"), int) else 0)
            rows = [d.get("embedding") for d in ordered]
            return model_embeddings(name, rows, len(texts), endpoint, prompt_tokens=usage_of(obj).prompt_tokens)

    async def list_models(self) -> tuple[ModelInfo, ...]:
        async with self._scrubbed():
            return model_list(await self._send("GET", "models", None), self._endpoint("GET", "models"))

    async def version(self) -> str:
        """OpenAI-compatible servers have no version endpoint: this checks ``/models`` answers and says so."""
        await self.list_models()
        return "openai-compatible"

    # -- the requests ------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key.reveal()}"} if self._key else {}

    def _shaped(self, body: dict[str, Any], options: dict[str, Any], format: Format | None) -> dict[str, Any]:
        for name, value in options.items():
            if name in OPTION_NAMES and not (name == "num_predict" and value is not None and value < 0):
                body[OPTION_NAMES[name]] = value
        shape = response_format(format)
        if shape is not None:
            body["response_format"] = shape
        return body

    @asynccontextmanager
    async def _scrubbed(self) -> AsyncIterator[None]:
        """Take the key out of any error raised inside (servers echo wrong keys back)."""
        try:
            yield
        except LLMError as exc:
            if self._key:
                exc.message = self._key.redact(exc.message)
                exc.args = (exc.message,)
            raise

    async def _send(self, method: Method, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        obj = await self._json(method, path, body)
        raise_reported(obj, self._endpoint(method, path))
        return obj

    async def _events(self, body: dict[str, Any], endpoint: str) -> AsyncGenerator[dict[str, Any], None]:
        """The JSON events of an SSE response, until ``[DONE]``."""
        async with self._streamed("chat/completions", body) as lines:
            finished = False
            async for line in lines:
                data = sse_data(line)
                if data is None or finished:
                    continue
                if data.strip() == "[DONE]":
                    finished = True
                    continue
                obj = parse_json_object(data, endpoint)
                raise_reported(obj, endpoint)
                yield obj


def _as_messages(prompt: str, system: str | None) -> list[Message]:
    return [Message.system(system), Message.user(prompt)] if system else [Message.user(prompt)]
