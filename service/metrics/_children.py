"""A labelled metric's children, found once per set of label values.

``prometheus_client``'s ``labels()`` checks the label names and values and takes the metric's lock
on every call; a series touched on every LLM call or event looks its child up here instead. The
children held are those the metric holds itself (as many as the label values seen), and no
series is ever removed from these metrics, so a child held is never stale.
"""

from __future__ import annotations

from typing import Any

from prometheus_client.metrics import MetricWrapperBase

__all__ = ["Children"]


class Children:
    """``children(*values)`` → ``metric.labels(*values)``, looked up once per tuple of values.

    Args:
        metric: a labelled metric; values are given in the order of its label names.
    """

    __slots__ = ("_held", "_metric")

    def __init__(self, metric: MetricWrapperBase) -> None:
        self._metric = metric
        self._held: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self._held.get(values)
        if child is None:
            child = self._held[values] = self._metric.labels(*values)
        return child
