"""Prometheus series, on a registry the runtime owns; listeners turn reports into samples."""

from service.metrics._pipeline import PipelineMetrics

__all__ = ["PipelineMetrics"]
