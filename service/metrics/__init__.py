"""Prometheus series, on a registry the runtime owns; listeners turn reports into samples."""

from service.metrics._health import HealthCollector
from service.metrics._llm import LLMMetrics, MeasuredBackend
from service.metrics._mind import MindMetrics
from service.metrics._nats import NATS_SETTLED, NatsMetrics
from service.metrics._pipeline import PipelineMetrics
from service.metrics._progress import EventProgress
from service.metrics._resilience import ResilienceMetrics
from service.metrics._service import CHECK_RESULTS, CheckOutcome, ServiceMetrics, probe_loop_lag
from service.metrics._storage import ARCHIVE_TRIGGERS, StorageMetrics

__all__ = [
    "ARCHIVE_TRIGGERS",
    "CHECK_RESULTS",
    "NATS_SETTLED",
    "CheckOutcome",
    "EventProgress",
    "HealthCollector",
    "LLMMetrics",
    "MeasuredBackend",
    "MindMetrics",
    "NatsMetrics",
    "PipelineMetrics",
    "ResilienceMetrics",
    "ServiceMetrics",
    "StorageMetrics",
    "probe_loop_lag",
]
