"""OpenTelemetry traces of the pipeline: one trace per message, off by default (``[tracing]``, docs/tracing.md)."""

from __future__ import annotations

from service.tracing._tracing import MAX_MESSAGES, Tracing, trace_carrier

__all__ = ["MAX_MESSAGES", "Tracing", "trace_carrier"]
