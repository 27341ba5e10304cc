"""What the trace of one message holds while it runs, and which part of it the running code is in.

The event loop owns all of it (design decision 10). Which message a piece of work belongs to
travels in a :class:`contextvars.ContextVar`: the routes' work and each protected call are
subscribed with their :class:`Scope` set, and asyncio copies the context into every task,
``call_soon`` and ``call_later`` made from there, so a retry's next try, a timeout's timer and
the HTTP request inside the LLM call all run in the scope of the message that started them.
The operators' listener reports, which name only the protection, are placed by it.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, set_span_in_context
from opentelemetry.util.types import AttributeValue

__all__ = ["CURRENT", "CallState", "MessageTrace", "Scope", "end_with_error"]


@dataclass(slots=True, eq=False)
class MessageTrace:
    """One message's root span, from its source (or first sight) to the commit of its acknowledging row."""

    event_id: str
    span: Span
    routed_ns: int | None = None  # when a route last handed its rows on towards the sink

    def context(self) -> Context:
        return set_span_in_context(self.span)


@dataclass(slots=True, eq=False)
class CallState:
    """One protected call: its span, the try running now, and what the layers said of it."""

    name: str
    span: Span
    tracer: Tracer
    breaker_state: str
    tries: int = 0
    try_span: Span | None = None
    next_delay_s: float | None = None
    outcome: str | None = None
    ended: bool = False
    attributes: dict[str, AttributeValue] = field(default_factory=dict)

    def current_try(self) -> Span:
        """The try running now, opened when something of it first happens (a token, a budget, the request)."""
        if self.try_span is None:
            self.tries += 1
            attributes: dict[str, AttributeValue] = {
                "being.retry.attempt": self.tries,
                "being.breaker.state": self.breaker_state,
            }
            if self.next_delay_s is not None:
                attributes["being.retry.delay_s"] = self.next_delay_s
                self.next_delay_s = None
            self.try_span = self.tracer.start_span(
                "being.try", context=set_span_in_context(self.span), kind=SpanKind.INTERNAL, attributes=attributes
            )
        return self.try_span

    def end_try(self) -> None:
        if self.try_span is not None:
            self.try_span.end()
            self.try_span = None

    def finish(self, outcome: str, error: BaseException | None = None) -> None:
        """End the try and the call's span once (``outcome``: success, fallback, skipped, failure, disposed)."""
        if self.ended:
            return
        self.ended = True
        self.end_try()
        span = self.span
        span.set_attribute("being.outcome", outcome)
        span.set_attribute("being.retry.attempts", self.tries)
        for key, value in self.attributes.items():
            span.set_attribute(key, value)
        if error is not None:
            end_with_error(span, error)
        elif outcome in ("fallback", "failure"):
            span.set_status(Status(StatusCode.ERROR, f"the call ended in a {outcome}"))
            span.end()
        else:
            span.end()


@dataclass(slots=True, eq=False)
class Scope:
    """What the context says the running code belongs to: a message's route, and maybe one of its calls."""

    message: MessageTrace
    route_span: Span
    call: CallState | None = None
    open: bool = True


CURRENT: ContextVar[Scope | None] = ContextVar("being_trace_scope", default=None)
"""The scope of the running code; ``None`` outside every traced message (or shielded from one)."""


def end_with_error(span: Span, error: BaseException, *, end_ns: int | None = None) -> None:
    """Mark ``span`` failed by ``error`` (``error.type`` its class, as OpenTelemetry's conventions say) and end it."""
    span.set_attribute("error.type", type(error).__name__)
    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"[:500]))
    span.end(end_time=end_ns if end_ns is not None else time.time_ns())
