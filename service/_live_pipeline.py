"""The live pipeline: the service's sources (ticks, inbox) wired through ``agent.wire_pipeline``.

Pure wiring, like the rest of ``service/_assembly.py``: nothing runs until the result is
subscribed, and ``runtime.py`` owns every resource it is handed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reactivex import Observable
from reactivex import operators as ops
from reactivex.subject import Subject

from agent import Recorder, Replier, Wiring, wire_pipeline
from service._assembly import live_events, memory_upkeep, remember_policy
from service.metrics import PipelineMetrics
from service.settings import Settings
from sinks import BatchResult, DuckWriter, Row, VectorIndex
from streams import Event, InboxState

__all__ = ["LiveParts", "Pipeline", "build_pipeline"]


@dataclass(frozen=True, slots=True)
class Pipeline:
    """The wired pipeline, not yet subscribed.

    Attributes:
        committed: one item per committed batch; completes when everything is flushed.
        shutdown: ``on_next`` stops every source.
        inbox: the inbox's claims (acknowledged as batches commit, released at shutdown).
    """

    committed: Observable[BatchResult]
    shutdown: Subject[object]
    inbox: InboxState


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveParts:
    """The parts of a live pipeline besides the settings: where rows go and what answers."""

    writer: DuckWriter
    metrics: PipelineMetrics
    side_rows: Subject[Row]
    recorder: Recorder | None = None
    replier: Replier | None = None
    vector_index: VectorIndex | None = None


def build_pipeline(settings: Settings, parts: LiveParts) -> Pipeline:
    """Wire the live sources → routes → sinks (nothing runs until subscribed).

    With ``parts.vector_index`` the memory upkeep route (archival, vector cleanup, search-hit
    flushes) runs too; with ``parts.replier`` user messages are answered; with
    ``parts.recorder`` every event and LLM exchange is recorded.
    """
    shutdown: Subject[object] = Subject()
    inbox_state = InboxState()
    events = live_events(settings, inbox_state).pipe(ops.take_until(shutdown))
    extra: list[Callable[[Observable[Event]], Observable[Row]]] = []
    if parts.vector_index is not None:
        upkeep = memory_upkeep(settings, parts.writer, parts.vector_index).pipe(ops.take_until(shutdown))
        extra.append(lambda _events: upkeep)

    def count(event: Event) -> None:
        parts.metrics.event_in(event.type)

    def acknowledge(result: BatchResult) -> None:
        parts.metrics.batch_committed(result)
        if result.event_ids:
            inbox_state.acknowledge(result.event_ids)

    wiring = Wiring(
        writer=parts.writer,
        batch_max_rows=settings.sink.batch_max_rows,
        batch_max_wait_s=settings.sink.batch_max_wait_s,
        side_rows=parts.side_rows,
        recorder=parts.recorder,
        replier=parts.replier,
        remember=remember_policy(settings),
        vector_index=parts.vector_index,
        extra_routes=tuple(extra),
        on_event=count,
        on_committed=acknowledge,
    )
    return Pipeline(committed=wire_pipeline(events, wiring), shutdown=shutdown, inbox=inbox_state)
