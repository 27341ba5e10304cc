"""The recorder's rows: every event that entered the pipeline, and every LLM exchange, with their run.

A *run* is one start of the service (or one replay); ``seq`` orders the rows of a run as they
were recorded, so a replay can restore the exact order of events that share a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

__all__ = ["ExchangeRow", "RecordedEventRow", "RunRow", "SeedPartRow"]


class RecordedEventRow(NamedTuple):
    """One event as it entered the pipeline (the ``events`` table).

    A named tuple, not a dataclass like the other rows: the recorder makes one per event, and a
    tuple is made in a fifth of the time of a frozen dataclass; its columns come out of a batch
    in one ``zip`` (``sinks._row_batches``). Build it with keywords, as the other rows.
    """

    run_id: str
    seq: int
    id: str
    time: datetime
    type: str
    source: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeRow:
    """One LLM exchange (the ``llm_exchanges`` table): request, response or error, timings."""

    run_id: str
    seq: int
    time: datetime
    key: str
    operation: str
    backend: str
    request: Mapping[str, Any]
    response: Any
    error: Mapping[str, Any] | None
    duration_s: float
    first_chunk_s: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRow:
    """One run: when it started, the service version and the settings in force (the ``runs`` table)."""

    run_id: str
    started_at: datetime
    kind: str
    service_version: str
    settings: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedPartRow:
    """One part of what a run's memory was seeded with (the ``run_seeds`` table; ``sinks._recording_seed``)."""

    run_id: str
    time: datetime
    seq: int
    part: str
    body: Mapping[str, Any]
