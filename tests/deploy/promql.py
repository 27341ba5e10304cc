"""The series names a PromQL expression reads (enough of PromQL for the project's own rules and panels)."""

from __future__ import annotations

import re

__all__ = ["series_in"]

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_RANGES = re.compile(r"\[[^\]]*\]")
_NAMES = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_FUNCTIONS_AND_WORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
    "rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile", "max_over_time",
    "min_over_time", "avg_over_time", "sum_over_time", "count_over_time", "last_over_time", "abs", "clamp_min",
    "clamp_max", "clamp", "time", "vector", "scalar", "label_replace", "absent", "changes", "resets", "round",
    "ceil", "floor", "timestamp", "sort", "sort_desc",
}  # fmt: skip


def series_in(expr: str) -> set[str]:
    """Every metric name ``expr`` selects (label names inside braces and by/without lists are left out)."""
    text = _STRINGS.sub('""', expr)
    text = _RANGES.sub("", text)
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\$\w+", "", text)  # Grafana variables ($__rate_interval, $instance)
    return {name for name in _NAMES.findall(text) if name not in _FUNCTIONS_AND_WORDS and not name[0].isdigit()}
