"""Backends that record every exchange of another backend, and that answer from a recording.

Both hold only what the :class:`~llm.LLMBackend` Protocol holds (``chat``, ``embed``, ``aclose``).
A :class:`RecordingBackend` is cheap to make: a route makes one per request, with the request's own
list as its sink, so the exchanges travel down the request's stream as values.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import datetime
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
from llm._forwarding import Call, ForwardingBackend
from llm._protocol import LLMBackend
from llm._types import ChatResult, Embeddings, Format, Message
from llm.errors import LLMError, ReplayMissError

__all__ = ["RecordingBackend", "ReplayBackend"]

T = TypeVar("T")


class RecordingBackend(ForwardingBackend):
    """Pass every call to ``inner`` and hand the exchange (request, result or error, timing) to ``sink``.

    The inner call is made when the method is called, not when its coroutine first runs, so a
    wrapper outside this one (a replay's call counter) sees the call at once. Errors other than
    ``LLMError`` (bugs, cancellation) are not recorded; they propagate as they are.

    Args:
        inner: the backend that really answers.
        sink: receives one :class:`Exchange` per call, after the call ends.
        clock: seconds, for the durations (``time.perf_counter``).
    """

    __slots__ = ("_clock", "_sink")

    def __init__(
        self, inner: LLMBackend, sink: ExchangeSink, *, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        super().__init__(inner)
        self._sink = sink
        self._clock = clock

    def _forward(self, call: Call, start: Callable[[], Coroutine[Any, Any, T]]) -> Coroutine[Any, Any, T]:
        if call.operation == "chat":
            request = canonical_request(
                "chat", messages=call.messages, model=call.model, options=call.options, format=call.format
            )
        else:
            request = canonical_request("embed", texts=call.texts, model=call.model)
        started = self._clock()
        return self._record(request, start(), started)

    async def _record(self, request: dict[str, Any], call: Awaitable[T], started: float) -> T:
        try:
            result = await call
        except LLMError as exc:
            self._write(request, None, exc, self._clock() - started)
            raise
        self._write(request, encode_response(result), None, self._clock() - started)
        return result

    def _write(self, request: dict[str, Any], response: Any, error: LLMError | None, duration: float) -> None:
        self._sink.write(
            Exchange(
                key=request_key(request),
                operation=str(request["operation"]),
                backend=self.inner.name,
                request=request,
                response=response,
                error=error_record(error) if error is not None else None,
                duration_s=duration,
            )
        )


class ReplayBackend:
    """Answer from recorded exchanges: the n-th call with a key gets the n-th exchange recorded with it.

    A recorded error is raised again (same class, message and fields).

    Args:
        store: the recorded exchanges.
        answer_at: when given, each call first awaits ``answer_at(time)`` with its exchange's
            recorded ``time`` (one without a time is answered at once): a replay on virtual time
            gives every answer when the recorded run got it, so what the run stamped with the
            time of an answer (its reply, its thought) is stamped the same in the replay.

    Raises:
        ReplayMissError: no exchange (left) for the request; the message names the request.
    """

    name = "replay"

    def __init__(self, store: ExchangeStore, *, answer_at: Callable[[datetime], Awaitable[None]] | None = None) -> None:
        self._store = store
        self._answer_at = answer_at
        self._used: defaultdict[str, int] = defaultdict(int)

    def __repr__(self) -> str:
        return f"ReplayBackend(calls={sum(self._used.values())})"

    def _exchange(self, request: dict[str, Any]) -> Exchange:
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

    async def _answer(self, request: dict[str, Any]) -> Any:
        exchange = self._exchange(request)  # taken at the call, so calls made together keep their order
        if self._answer_at is not None and exchange.time is not None:
            await self._answer_at(exchange.time)
        if exchange.error is not None:
            raise error_from_record(exchange.error)
        return decode_response(exchange.operation, exchange.response)

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> ChatResult:
        result: ChatResult = await self._answer(
            canonical_request("chat", messages=messages, model=model, options=options, format=format)
        )
        return result

    async def embed(self, texts: Sequence[str], *, model: str | None = None) -> Embeddings:
        result: Embeddings = await self._answer(canonical_request("embed", texts=texts, model=model))
        return result

    async def aclose(self) -> None:
        return None
