"""The LLM call's client span, and the ``traceparent`` its HTTP request carries.

:class:`TracedBackend` wraps the service's backend: each ``chat``/``embed`` made inside a traced
call gets a CLIENT span named as OpenTelemetry's generative-AI conventions say (``chat <model>``,
``gen_ai.*`` attributes), a child of the call's current try. :class:`RequestTrace` is what the
HTTP backends ask for headers as they send a request (``llm.RequestHeaders``): the W3C trace
context of that span, and the request's ``http.*``/``url.*`` attributes written onto it. A call
outside every traced message is passed through with no span and no header.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar
from urllib.parse import urlsplit

from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace import Span, SpanKind, Tracer, set_span_in_context

from llm import Call, ChatResult, Embeddings, ForwardingBackend, LLMBackend, LLMError
from service.tracing._scope import CURRENT, end_with_error

__all__ = ["RequestTrace", "TracedBackend"]

T = TypeVar("T")

_CLIENT: ContextVar[Span | None] = ContextVar("being_trace_client", default=None)
"""The client span of the LLM call running in this task (set inside the call's own task only)."""

_OPERATIONS = {"chat": "chat", "embed": "embeddings"}  # gen_ai.operation.name values


class RequestTrace:
    """``llm.RequestHeaders`` for the HTTP backends: the running LLM call's ``traceparent`` (and ``tracestate``)."""

    __slots__ = ("_propagator",)

    def __init__(self, propagator: TextMapPropagator) -> None:
        self._propagator = propagator

    def __call__(self, method: str, url: str) -> Mapping[str, str]:
        span = _CLIENT.get()
        if span is None:
            return {}
        parts = urlsplit(url)
        span.set_attribute("http.request.method", method)
        span.set_attribute("url.full", url)
        if parts.hostname:
            span.set_attribute("server.address", parts.hostname)
        if parts.port is not None:
            span.set_attribute("server.port", parts.port)
        span.set_attribute("being.http.requests", span_requests(span) + 1)
        carrier: dict[str, str] = {}
        self._propagator.inject(carrier, context=set_span_in_context(span))
        return carrier


def span_requests(span: Span) -> int:
    """The HTTP requests already sent under ``span`` (an older Ollama's embedding falls back to a second)."""
    attributes = getattr(span, "attributes", None)
    value = attributes.get("being.http.requests") if attributes is not None else None
    return value if isinstance(value, int) else 0


class TracedBackend(ForwardingBackend):
    """An :class:`~llm.LLMBackend` whose calls inside a traced message each get a CLIENT span.

    Args:
        inner: the backend that answers.
        tracer: makes the spans.
        chat_model: the model a chat call that names none uses (the ``gen_ai.request.model``).
        embed_model: the same for embedding calls.
    """

    __slots__ = ("_tracer", "chat_model", "embed_model")

    def __init__(self, inner: LLMBackend, tracer: Tracer, *, chat_model: str, embed_model: str) -> None:
        super().__init__(inner)
        self._tracer = tracer
        self.chat_model = chat_model
        self.embed_model = embed_model

    def _forward(self, call: Call, start: Callable[[], Coroutine[Any, Any, T]]) -> Coroutine[Any, Any, T]:
        scope = CURRENT.get()
        if scope is None or scope.call is None or scope.call.ended:
            return start()
        return self._traced(call, start)

    async def _traced(self, call: Call, start: Callable[[], Coroutine[Any, Any, T]]) -> T:
        scope = CURRENT.get()
        assert scope is not None and scope.call is not None  # checked by _forward, in the same context
        state = scope.call
        parent = state.current_try()
        model = call.model or (self.chat_model if call.operation == "chat" else self.embed_model)
        operation = _OPERATIONS[call.operation]
        span = self._tracer.start_span(
            f"{operation} {model}",
            context=set_span_in_context(parent),
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": operation,
                "gen_ai.provider.name": self.inner.name,
                "gen_ai.request.model": model,
            },
        )
        token = _CLIENT.set(span)
        try:
            result = await start()
        except BaseException as exc:  # cancellation included: the span ends, the error goes on as it is
            if isinstance(exc, LLMError) and exc.status is not None:
                span.set_attribute("http.response.status_code", exc.status)
            if not _has_error_type(parent):
                parent.set_attribute("error.type", type(exc).__name__)
            end_with_error(span, exc)
            raise
        finally:
            _CLIENT.reset(token)
        _describe(span, result)
        span.end()
        return result


def _has_error_type(span: Span) -> bool:
    attributes = getattr(span, "attributes", None)
    return attributes is not None and "error.type" in attributes


def _describe(span: Span, result: object) -> None:
    if span_requests(span):
        span.set_attribute("http.response.status_code", 200)  # the backends return a result only for a 200
    if isinstance(result, ChatResult):
        span.set_attribute("gen_ai.response.model", result.model)
        span.set_attribute("gen_ai.usage.input_tokens", result.usage.prompt_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", result.usage.output_tokens)
        if result.done_reason:
            span.set_attribute("gen_ai.response.finish_reasons", (result.done_reason,))
    elif isinstance(result, Embeddings):
        span.set_attribute("gen_ai.usage.input_tokens", result.prompt_tokens)
