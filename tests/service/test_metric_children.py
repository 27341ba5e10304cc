"""A labelled metric's children looked up once: the same child prometheus_client gives, counted in the same series."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter

from service.metrics._children import Children


def test_a_child_is_the_metrics_own_and_its_series_moves() -> None:
    registry = CollectorRegistry()
    calls = Counter("calls", "calls", ["name", "outcome"], registry=registry)
    children = Children(calls)
    children("llm", "success").inc()
    children("llm", "success").inc()
    children("llm", "failure").inc()
    assert children("llm", "success") is calls.labels(name="llm", outcome="success")
    assert registry.get_sample_value("calls_total", {"name": "llm", "outcome": "success"}) == 2
    assert registry.get_sample_value("calls_total", {"name": "llm", "outcome": "failure"}) == 1


def test_wrong_label_values_are_refused_as_labels_refuses_them() -> None:
    children = Children(Counter("calls", "calls", ["name"], registry=CollectorRegistry()))
    with pytest.raises(ValueError, match="Incorrect label count"):
        children("llm", "extra")
