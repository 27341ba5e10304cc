"""``Tracing``: one trace per message, from its source to the commit of its answer (docs/tracing.md).

The trace of a message::

    being.message            (CONSUMER; from message_received or first sight, to the commit of its reply)
    └─ being.route reply     (the route's work for it; being.reply.outcome)
       └─ being.protect llm  (one protected call; being.outcome, being.cache.hit, being.fallback.*, error.type)
          ├─ being.try       (attempt 1; being.breaker.state/outcome, being.budget.remaining, error.type)
          │  └─ chat <model> (CLIENT; gen_ai.*, http.*, url.full; its context is the request's traceparent)
          └─ being.try       (attempt 2, being.retry.delay_s) ...
    being.sink.commit        (the batch's commit, a trace of its own linked to every message in it)

Disabled (the default), a ``Tracing`` makes no OpenTelemetry SDK object, wraps nothing and adds
no header: every method returns at once. Its state lives on the event loop and is bounded: a
message that never completes is ended and forgotten when ``max_messages`` newer ones are open.
Nothing of a trace enters an episode, an event's payload or a recording.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from opentelemetry.context import Context
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Tracer, set_span_in_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from agent import NO_TRACE, USER_TYPES, PipelineTrace
from llm import LLMBackend, RequestHeaders
from operators import NULL_LISTENER, ResilienceListener
from service.settings import TracingSettings
from service.tracing._backend import RequestTrace, TracedBackend
from service.tracing._listener import TraceListener
from service.tracing._scope import MessageTrace
from service.tracing._wrap import SpanTrace
from sinks import BatchResult
from streams import Event

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["MAX_MESSAGES", "Tracing", "trace_carrier"]

log = logging.getLogger("service")

MAX_MESSAGES = 4096
"""Open message traces kept at most (and as many finished ones, for ``carrier_for``)."""
_CARRIER_KEYS = ("traceparent", "tracestate")
_MAX_CARRIER_CHARS = 512  # W3C: a traceparent is 55 characters, a tracestate at most 32 members of ~256
_MAX_LINKS = 128


def trace_carrier(headers: Mapping[str, str]) -> dict[str, str]:
    """The W3C trace-context headers of a request or message (``traceparent``, ``tracestate``), and nothing else.

    Header names are matched case-insensitively; an oversized value is left out (a caller's
    trace then simply does not continue).
    """
    found: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in _CARRIER_KEYS and isinstance(value, str) and len(value) <= _MAX_CARRIER_CHARS:
            found[key] = value
    return found


class _Live:
    """The state of an enabled tracing (only ever touched on the event loop, but for ``committed``'s hand-over)."""

    def __init__(self, provider: TracerProvider, processor: SpanProcessor, max_messages: int) -> None:
        self.provider = provider
        self.processor = processor
        self.tracer: Tracer = provider.get_tracer("digital-being")
        self.propagator = TraceContextTextMapPropagator()
        self.max_messages = max_messages
        self.open: OrderedDict[str, MessageTrace] = OrderedDict()
        self.done: OrderedDict[str, SpanContext] = OrderedDict()
        self.breakers: dict[str, str] = {}
        self.trace = SpanTrace(self.tracer, self, time.time_ns)
        self.listener = TraceListener(self.breakers)
        self.request_headers = RequestTrace(self.propagator)

    # -- what SpanTrace asks -------------------------------------------------------------------

    def route_parent(self, event_id: str) -> MessageTrace | None:
        message = self.open.get(event_id)
        if message is not None:
            return message
        finished = self.done.get(event_id)  # a deferred reply, long after the message's own trace ended
        if finished is None:
            return None
        span = self.tracer.start_span(
            "being.message.again",
            context=set_span_in_context(_as_parent(finished)),
            kind=SpanKind.INTERNAL,
            attributes={"being.event.id": event_id},
        )
        return self._keep(MessageTrace(event_id=event_id, span=span))

    def breaker_state(self, name: str) -> str:
        return self.breakers.get(name, "closed")

    # -- the messages -----------------------------------------------------------------------------

    def start(self, event_id: str, source: str, parent: Context | None) -> MessageTrace:
        attributes = {"being.event.id": event_id, "being.source": source, "messaging.message.id": event_id}
        if source == "nats":
            attributes["messaging.system"] = "nats"
        span = self.tracer.start_span("being.message", context=parent, kind=SpanKind.CONSUMER, attributes=attributes)
        return self._keep(MessageTrace(event_id=event_id, span=span))

    def _keep(self, message: MessageTrace) -> MessageTrace:
        self.open[message.event_id] = message
        self.open.move_to_end(message.event_id)
        while len(self.open) > self.max_messages:
            _, oldest = self.open.popitem(last=False)
            oldest.span.set_attribute("being.trace.evicted", True)  # never completed while max_messages newer came
            oldest.span.end()
            self._remember(oldest)
        return message

    def _remember(self, message: MessageTrace) -> None:
        self.done[message.event_id] = message.span.get_span_context()
        self.done.move_to_end(message.event_id)
        while len(self.done) > self.max_messages:
            self.done.popitem(last=False)

    def commit(self, result: BatchResult, at_ns: int) -> None:
        finished = [self.open.pop(i) for i in result.event_ids if i in self.open]
        if not finished:
            return
        started = min((m.routed_ns for m in finished if m.routed_ns is not None), default=at_ns)
        links = [Link(m.span.get_span_context(), {"being.event.id": m.event_id}) for m in finished[:_MAX_LINKS]]
        span = self.tracer.start_span(
            "being.sink.commit",
            kind=SpanKind.INTERNAL,
            links=links,
            start_time=min(started, at_ns),
            attributes={
                "db.system.name": "duckdb",
                "db.operation.name": "commit",
                "being.sink.rows": result.rows,
                "being.sink.episodes": result.episodes,
                "being.sink.dead_letters": result.dead_letters,
                "being.sink.messages": len(finished),
            },
        )
        span.end(end_time=at_ns)
        for message in finished:
            message.span.end(end_time=at_ns)
            self._remember(message)

    def end_all(self) -> None:
        while self.open:
            _, message = self.open.popitem(last=False)
            message.span.set_attribute("being.trace.unfinished", True)
            message.span.end()


def _as_parent(context: SpanContext) -> NonRecordingSpan:
    """A finished span's context as a parent (a span of the same trace made after its parent ended)."""
    return NonRecordingSpan(context)


class Tracing:
    """The service's tracing: the seams the sources, routes, LLM backend and sinks call.

    Args:
        settings: ``[tracing]``.
        env: where the exporter's headers variable is read.
        service_version: the ``service.version`` resource attribute.
        instance_id: the ``service.instance.id`` resource attribute (the run's id).
        exporter: spans go to this exporter as each ends instead of the configured one (tests).
        max_messages: open message traces kept at most.

    Raises:
        SettingsError: enabled, and the exporter's headers variable is malformed.
    """

    def __init__(
        self,
        settings: TracingSettings,
        *,
        env: Mapping[str, str] | None = None,
        service_version: str = "",
        instance_id: str = "",
        exporter: SpanExporter | None = None,
        max_messages: int = MAX_MESSAGES,
    ) -> None:
        if max_messages < 1:
            raise ValueError(f"Tracing.max_messages: expected >= 1, got {max_messages}")
        self.settings = settings
        self._export_timeout_s = settings.export_timeout_s
        self._live: _Live | None = None
        if not settings.enabled:
            return
        from service.tracing._provider import build_provider  # only an enabled tracing loads the SDK

        provider, processor = build_provider(
            settings, env or {}, service_version=service_version, instance_id=instance_id, exporter=exporter
        )
        self._live = _Live(provider, processor, max_messages)

    @property
    def enabled(self) -> bool:
        return self._live is not None

    @property
    def trace(self) -> PipelineTrace:
        """The routes' seam (``agent.Protection(trace=...)``); ``agent.NO_TRACE`` when disabled."""
        return self._live.trace if self._live is not None else NO_TRACE

    @property
    def listener(self) -> ResilienceListener:
        """Told of what the operators do (add it to the runtime's fan-out); a null listener when disabled."""
        return self._live.listener if self._live is not None else NULL_LISTENER

    @property
    def request_headers(self) -> RequestHeaders | None:
        """The HTTP backends' header hook (``backend_from_settings(request_headers=...)``); ``None`` when off."""
        return self._live.request_headers if self._live is not None else None

    @property
    def open_messages(self) -> int:
        """Message traces open now (bounded by ``max_messages``)."""
        return len(self._live.open) if self._live is not None else 0

    def backend(self, inner: LLMBackend, *, chat_model: str, embed_model: str) -> LLMBackend:
        """``inner``, its calls inside a traced message each in a CLIENT span; ``inner`` itself when disabled."""
        if self._live is None:
            return inner
        return TracedBackend(inner, self._live.tracer, chat_model=chat_model, embed_model=embed_model)

    def message_received(self, event_id: str, source: str, carrier: Mapping[str, str]) -> None:
        """A source (``http``, ``nats``) received the message of ``event_id`` with these headers.

        Its trace starts now, continuing the sender's when ``carrier`` holds a valid ``traceparent``.
        Call it before the message's event is emitted.
        """
        live = self._live
        if live is None:
            return
        parent = live.propagator.extract(trace_carrier(carrier)) if carrier else None
        live.start(event_id, source, parent)

    def event_seen(self, event: Event) -> None:
        """An event entered the pipeline: a user message's trace starts here unless its source started it."""
        live = self._live
        if live is None or event.type not in USER_TYPES:
            return
        message = live.open.get(event.id)
        if message is None:
            message = live.start(event.id, event.source, None)
        message.span.set_attribute("being.event.type", event.type)
        if event.payload.get("recovered", False):
            message.span.set_attribute("being.event.recovered", True)

    def carrier_for(self, event_id: str) -> dict[str, str]:
        """The W3C headers to put on what goes out for the message of ``event_id`` (``{}`` if none is known)."""
        live = self._live
        if live is None:
            return {}
        open_message = live.open.get(event_id)
        if open_message is not None:
            context = open_message.context()
        else:
            finished = live.done.get(event_id)
            if finished is None:
                return {}
            context = set_span_in_context(_as_parent(finished))
        carrier: dict[str, str] = {}
        live.propagator.inject(carrier, context=context)
        return carrier

    def committed(self, result: BatchResult, on_loop: Callable[[Callable[[], None]], None]) -> None:
        """On the writer thread: ``result`` is committed; its messages' traces end (on the loop, via ``on_loop``)."""
        live = self._live
        if live is None or not result.event_ids:
            return
        at_ns = time.time_ns()
        on_loop(lambda: live.commit(result, at_ns))

    async def close(self, timeout_s: float | None = None) -> bool:
        """End every open trace and hand what is queued to the exporter, within ``timeout_s``.

        An exporter that cannot be reached never holds the caller past the time limit (by default
        the settings' ``export_timeout_s`` plus a second); what it could not take is dropped.
        Returns whether the exporter finished in time.
        """
        live = self._live
        if live is None:
            return True
        self._live = None
        live.end_all()
        limit = timeout_s if timeout_s is not None else self._export_timeout_s + 1.0
        try:
            await asyncio.wait_for(asyncio.to_thread(live.provider.shutdown), timeout=limit)
        except TimeoutError:
            log.warning("tracing.export_cut_off", extra={"timeout_s": limit})
            return False
        return True
