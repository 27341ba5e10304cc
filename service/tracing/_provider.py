"""The OpenTelemetry SDK objects of an enabled tracing: the provider, its sampler, processor and exporter.

Imported only when ``[tracing] enabled`` (a disabled service loads no SDK). The provider is the
service's own, never the process-wide global one, so two services (or two tests) in one process
never share spans.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from service.settings import TracingSettings, exporter_headers

__all__ = ["build_provider"]

_MAX_BATCH = 512


def build_provider(
    settings: TracingSettings,
    env: Mapping[str, str],
    *,
    service_version: str,
    instance_id: str,
    exporter: SpanExporter | None = None,
) -> tuple[TracerProvider, SpanProcessor]:
    """The provider and its one processor.

    With ``exporter`` given (tests: the SDK's ``InMemorySpanExporter``) each span is handed to it
    as it ends; otherwise the settings' exporter gets batches from a ``BatchSpanProcessor``, on its
    own thread, from a bounded queue that drops what an unreachable endpoint cannot take.

    Raises:
        SettingsError: the exporter's headers variable is malformed.
    """
    resource = Resource.create(
        {"service.name": settings.service_name, "service.version": service_version, "service.instance.id": instance_id}
    )
    sampler = ParentBased(TraceIdRatioBased(settings.sample_ratio))
    provider = TracerProvider(resource=resource, sampler=sampler)
    processor: SpanProcessor
    if exporter is not None:
        processor = SimpleSpanProcessor(exporter)
    else:
        processor = BatchSpanProcessor(
            _exporter(settings, env),
            max_queue_size=settings.max_queue_spans,
            max_export_batch_size=min(_MAX_BATCH, settings.max_queue_spans),
            export_timeout_millis=settings.export_timeout_s * 1000,
        )
    provider.add_span_processor(processor)
    return provider, processor


def _exporter(settings: TracingSettings, env: Mapping[str, str]) -> SpanExporter:
    if settings.exporter == "console":
        return ConsoleSpanExporter(service_name=settings.service_name)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(
        endpoint=settings.endpoint, headers=exporter_headers(settings, env), timeout=settings.export_timeout_s
    )
