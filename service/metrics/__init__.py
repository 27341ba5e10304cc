"""Prometheus series, on a registry the runtime owns; listeners turn reports into samples."""

from service.metrics._mind import MindMetrics
from service.metrics._pipeline import PipelineMetrics
from service.metrics._resilience import ResilienceMetrics

__all__ = ["MindMetrics", "PipelineMetrics", "ResilienceMetrics"]
