"""A service traced into the SDK's in-memory exporter, and ways to read the spans it made."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from service.settings import Settings, TracingSettings
from service.tracing import Tracing

QUIET: dict[str, dict[str, Any]] = {
    "mind": {"enabled": False},  # no thought takes a fault meant for a reply
    "resilience.breaker": {"window_calls": 10, "minimum_calls": 10, "open_for_s": 300.0},
    "resilience.bulkhead": {"enabled": False},
}


def in_memory(exporter: InMemorySpanExporter, **overrides: Any) -> Callable[[Settings], Tracing]:
    """A ``live_service(tracing=...)`` factory: tracing on, every span handed to ``exporter`` as it ends."""

    def make(settings: Settings) -> Tracing:
        return Tracing(TracingSettings(enabled=True, **overrides), instance_id="test", exporter=exporter)

    return make


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def children(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    """The spans whose parent is ``parent``, in the order they started."""
    assert parent.context is not None
    found = [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]
    return sorted(found, key=lambda s: s.start_time or 0)


def root_of(spans: Sequence[ReadableSpan], event_id: str) -> ReadableSpan:
    roots = [s for s in named(spans, "being.message") if (s.attributes or {}).get("being.event.id") == event_id]
    assert len(roots) == 1, [s.attributes for s in named(spans, "being.message")]
    return roots[0]
