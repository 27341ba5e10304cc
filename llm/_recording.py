"""Backends that record every exchange of another backend, and that answer from a recording."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from typing import Any, TypeVar

from llm._exchange import (
    Exchange,
    ExchangeSink,
    ExchangeStore,
    canonical_request,
    decode_response,
    describe,
    encode_response,
    error_from_record,
    error_record,
    request_key,
)
from llm._protocol import LLMBackend
from llm._types import ChatResult, Chunk, Embeddings, Format, GenerateResult, Message, ModelInfo
from llm.errors import LLMError, ReplayMissError

__all__ = ["RecordingBackend", "ReplayBackend"]

T = TypeVar("T")


class RecordingBackend:
    """Pass every call to ``inner`` and hand the exchange (request, result or error, timings) to ``sink``.

    Errors other than ``LLMError`` (bugs, cancellation) are not recorded; they propagate as they are.

    Args:
        inner: the backend that really answers.
        sink: receives one :class:`Exchange` per call, after the call ends.
        clock: seconds, for the durations (``time.perf_counter``).
    """

    def __init__(
        self, inner: LLMBackend, sink: ExchangeSink, *, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.inner = inner
        self._sink = sink
        self._clock = clock

    @property
    def name(self) -> str:
        return self.inner.name

    def __repr__(self) -> str:
        return f"RecordingBackend({self.inner!r})"

    async def _record(self, request: dict[str, Any], call: Awaitable[T]) -> T:
        started = self._clock()
        try:
            result = await call
        except LLMError as exc:
            self._write(request, None, exc, self._clock() - started, None)
            raise
        self._write(request, encode_response(result), None, self._clock() - started, None)
        return result

    async def _record_stream(
        self, request: dict[str, Any], stream: AsyncGenerator[Chunk, None]
    ) -> AsyncGenerator[Chunk, None]:
        started = self._clock()
        first: float | None = None
        seen: list[Chunk] = []
        try:
            async with aclosing(stream) as chunks:
                async for chunk in chunks:
                    if first is None:
                        first = self._clock() - started
                    seen.append(chunk)
                    yield chunk
        except LLMError as exc:
            self._write(request, encode_response(seen), exc, self._clock() - started, first)
            raise
        except GeneratorExit:
            # The consumer stopped early: record what it saw, which is what a replay will give it.
            self._write(request, encode_response(seen), None, self._clock() - started, first)
            raise
        self._write(request, encode_response(seen), None, self._clock() - started, first)

    def _write(
        self, request: dict[str, Any], response: Any, error: LLMError | None, duration: float, first: float | None
    ) -> None:
        self._sink.write(
            Exchange(
                key=request_key(request),
                operation=str(request["operation"]),
                backend=self.inner.name,
                request=request,
                response=response,
                error=error_record(error) if error is not None else None,
                duration_s=duration,
                first_chunk_s=first,
            )
        )

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> ChatResult:
        request = canonical_request("chat", messages=messages, model=model, options=options, format=format)
        return await self._record(request, self.inner.chat(messages, model=model, options=options, format=format))

    def chat_stream(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> AsyncGenerator[Chunk, None]:
        request = canonical_request("chat_stream", messages=messages, model=model, options=options, format=format)
        inner = self.inner.chat_stream(messages, model=model, options=options, format=format)
        return self._record_stream(request, inner)

    async def generate(
        self,
        prompt: str,
        *,
        model: str | None = None,
        system: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> GenerateResult:
        request = canonical_request(
            "generate", prompt=prompt, model=model, system=system, options=options, format=format
        )
        call = self.inner.generate(prompt, model=model, system=system, options=options, format=format)
        return await self._record(request, call)

    def generate_stream(
        self,
        prompt: str,
        *,
        model: str | None = None,
        system: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> AsyncGenerator[Chunk, None]:
        request = canonical_request(
            "generate_stream", prompt=prompt, model=model, system=system, options=options, format=format
        )
        inner = self.inner.generate_stream(prompt, model=model, system=system, options=options, format=format)
        return self._record_stream(request, inner)

    async def embed(self, texts: Sequence[str], *, model: str | None = None) -> Embeddings:
        request = canonical_request("embed", texts=texts, model=model)
        return await self._record(request, self.inner.embed(texts, model=model))

    async def list_models(self) -> tuple[ModelInfo, ...]:
        return await self._record(canonical_request("list_models"), self.inner.list_models())

    async def version(self) -> str:
        return await self._record(canonical_request("version"), self.inner.version())

    async def aclose(self) -> None:
        await self.inner.aclose()


class ReplayBackend:
    """Answer from recorded exchanges: the n-th call with a key gets the n-th exchange recorded with it.

    A recorded error is raised again (same class, message and fields); a streamed exchange
    yields its recorded chunks, then its error if it had one.

    Raises:
        ReplayMissError: no exchange (left) for the request; the message names the request.
    """

    name = "replay"

    def __init__(self, store: ExchangeStore) -> None:
        self._store = store
        self._used: defaultdict[str, int] = defaultdict(int)

    def __repr__(self) -> str:
        return f"ReplayBackend(calls={sum(self._used.values())})"

    def _next(self, request: dict[str, Any]) -> Exchange:
        key = request_key(request)
        recorded = self._store.lookup(key)
        index = self._used[key]
        if index >= len(recorded):
            raise ReplayMissError(
                f"replay: nothing recorded for {describe(request)} (key {key[:16]}; "
                f"{len(recorded)} recorded, this is call {index + 1})"
            )
        self._used[key] = index + 1
        return recorded[index]

    def _answer(self, request: dict[str, Any]) -> Any:
        exchange = self._next(request)
        if exchange.error is not None:
            raise error_from_record(exchange.error)
        return decode_response(exchange.operation, exchange.response)

    async def _stream(self, request: dict[str, Any]) -> AsyncGenerator[Chunk, None]:
        exchange = self._next(request)
        chunks: list[Chunk] = decode_response(exchange.operation, exchange.response or [])
        for chunk in chunks:
            yield chunk
        if exchange.error is not None:
            raise error_from_record(exchange.error)

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> ChatResult:
        result: ChatResult = self._answer(
            canonical_request("chat", messages=messages, model=model, options=options, format=format)
        )
        return result

    def chat_stream(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> AsyncGenerator[Chunk, None]:
        return self._stream(
            canonical_request("chat_stream", messages=messages, model=model, options=options, format=format)
        )

    async def generate(
        self,
        prompt: str,
        *,
        model: str | None = None,
        system: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> GenerateResult:
        request = canonical_request(
            "generate", prompt=prompt, model=model, system=system, options=options, format=format
        )
        result: GenerateResult = self._answer(request)
        return result

    def generate_stream(
        self,
        prompt: str,
        *,
        model: str | None = None,
        system: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> AsyncGenerator[Chunk, None]:
        return self._stream(
            canonical_request(
                "generate_stream", prompt=prompt, model=model, system=system, options=options, format=format
            )
        )

    async def embed(self, texts: Sequence[str], *, model: str | None = None) -> Embeddings:
        result: Embeddings = self._answer(canonical_request("embed", texts=texts, model=model))
        return result

    async def list_models(self) -> tuple[ModelInfo, ...]:
        result: tuple[ModelInfo, ...] = self._answer(canonical_request("list_models"))
        return result

    async def version(self) -> str:
        return str(self._answer(canonical_request("version")))

    async def aclose(self) -> None:
        return None
