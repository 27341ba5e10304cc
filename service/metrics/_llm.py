"""Prometheus series of the LLM calls themselves: latency by outcome, time to first token, tokens in and out.

The operators see a call as a try that succeeded or failed; these series see the backend: which
server, which model, which operation (``chat``, ``embed``), and which error class ended it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

from prometheus_client import CollectorRegistry, Counter, Histogram

from llm import (
    BadRequestError,
    Call,
    ChatResult,
    Embeddings,
    ForwardingBackend,
    LLMBackend,
    LLMError,
    LLMTimeoutError,
    ModelNotFoundError,
    OverloadedError,
    ProtocolError,
    ServerError,
    StreamError,
    TransportError,
    Usage,
)
from service.metrics._children import Children

__all__ = ["LLMMetrics", "MeasuredBackend"]

T = TypeVar("T")

_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)


class LLMMetrics:
    """The LLM calls' series on the runtime's registry.

    - ``being_llm_call_duration_seconds{backend,model,operation,outcome}`` histogram; ``outcome`` is
      ``success``, the class of the ``LLMError`` that ended the call (``timeout``, ``transport``,
      ``overloaded``, ``server``...), or ``cancelled`` (a deadline or shutdown cut it)
    - ``being_llm_time_to_first_token_seconds{backend,model}``: model load plus prompt evaluation, as the
      server reports them (Ollama; an OpenAI-compatible server reports no durations, so none is observed)
    - ``being_llm_prompt_tokens_total{backend,model,operation}``, ``being_llm_output_tokens_total{backend,model}``
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.duration = Histogram(
            "being_llm_call_duration_seconds",
            "Duration of LLM calls, by backend, model, operation and outcome",
            ["backend", "model", "operation", "outcome"],
            buckets=_SECONDS,
            registry=registry,
        )
        self.first_token = Histogram(
            "being_llm_time_to_first_token_seconds",
            "Model load plus prompt evaluation of chat calls, as the LLM server reports them",
            ["backend", "model"],
            buckets=_SECONDS,
            registry=registry,
        )
        self.prompt_tokens = Counter(
            "being_llm_prompt_tokens",
            "Tokens sent to the LLM (prompt evaluation), as the server counts them",
            ["backend", "model", "operation"],
            registry=registry,
        )
        self.output_tokens = Counter(
            "being_llm_output_tokens",
            "Tokens the LLM generated, as the server counts them",
            ["backend", "model"],
            registry=registry,
        )
        self._duration = Children(self.duration)
        self._prompt_tokens = Children(self.prompt_tokens)
        self._output_tokens = Children(self.output_tokens)
        self._first_token = Children(self.first_token)

    def called(self, backend: str, model: str, operation: str, outcome: str, seconds: float) -> None:
        """One call ended with ``outcome`` after ``seconds``."""
        self._duration(backend, model, operation, outcome).observe(seconds)

    def used(self, backend: str, model: str, usage: Usage) -> None:
        """What a chat call cost: tokens in and out, and the time to its first token when the server says."""
        self._prompt_tokens(backend, model, "chat").inc(usage.prompt_tokens)
        self._output_tokens(backend, model).inc(usage.output_tokens)
        if usage.prompt_eval_duration_s is not None:
            self._first_token(backend, model).observe((usage.load_duration_s or 0.0) + usage.prompt_eval_duration_s)

    def embedded(self, backend: str, model: str, result: Embeddings) -> None:
        """The tokens an embedding call sent."""
        self.prompt_tokens.labels(backend=backend, model=model, operation="embed").inc(result.prompt_tokens)


_OUTCOMES: tuple[tuple[type[LLMError], str], ...] = (
    (LLMTimeoutError, "timeout"),  # before TransportError, its base
    (TransportError, "transport"),
    (OverloadedError, "overloaded"),
    (ServerError, "server"),
    (ModelNotFoundError, "model_not_found"),
    (BadRequestError, "bad_request"),
    (StreamError, "stream"),
    (ProtocolError, "protocol"),
)


def _outcome(error: BaseException) -> str:
    """The ``outcome`` label of a call that raised ``error``."""
    for kind, label in _OUTCOMES:
        if isinstance(error, kind):
            return label
    return "error" if isinstance(error, LLMError) else "cancelled"


class MeasuredBackend(ForwardingBackend):
    """An :class:`~llm.LLMBackend` that times every call of ``inner`` and reports it to ``metrics``.

    Args:
        inner: the backend that answers.
        metrics: where the samples go.
        chat_model: the label of a chat call that names no model (the backend's configured one).
        embed_model: the same for embedding calls.
        clock: seconds, for durations (a monotonic clock; this measures the real call).
    """

    __slots__ = ("_clock", "chat_model", "embed_model", "metrics")

    def __init__(
        self,
        inner: LLMBackend,
        metrics: LLMMetrics,
        *,
        chat_model: str,
        embed_model: str,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__(inner)
        self.metrics = metrics
        self.chat_model = chat_model
        self.embed_model = embed_model
        self._clock = clock

    async def _forward(self, call: Call, start: Callable[[], Coroutine[Any, Any, T]]) -> T:
        chat = call.operation == "chat"
        label = call.model or (self.chat_model if chat else self.embed_model)
        result = await self._timed(call.operation, label, start())
        if chat:
            self.metrics.used(self.inner.name, label, cast(ChatResult, result).usage)
        else:
            self.metrics.embedded(self.inner.name, label, cast(Embeddings, result))
        return result

    async def _timed(self, operation: str, model: str, call: Coroutine[Any, Any, T]) -> T:
        started = self._clock()
        try:
            result = await call
        except BaseException as exc:  # timed and re-raised as it is: cancellation included
            self.metrics.called(self.inner.name, model, operation, _outcome(exc), self._clock() - started)
            raise
        self.metrics.called(self.inner.name, model, operation, "success", self._clock() - started)
        return result
