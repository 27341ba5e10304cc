"""The live pipeline: the service's sources (ticks, inbox) and the upkeep route, wired by ``assemble``.

Pure wiring, like the rest of ``service/_assembly.py``: nothing runs until the result is
subscribed, and ``runtime.py`` owns every resource it is handed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.subject import Subject

from agent import NO_TRACE, PendingReply, Protection, Route
from llm import ChatResult, LLMBackend
from operators import NULL_LISTENER, LimitStore, ResilienceListener, SharedStore
from service._assembly import Parts, assemble, live_events, memory_upkeep
from service._out_gate import OutGate
from service.metrics import PipelineMetrics
from service.settings import Settings
from service.tracing import Tracing
from sinks import BatchResult, DuckWriter, Outbox, VectorIndex
from streams import Event, InboxState, IngestState, JetStreamState, ingest, jetstream

if TYPE_CHECKING:
    from service._mind_assembly import Being

__all__ = ["LiveParts", "Pipeline", "build_pipeline"]

log = logging.getLogger("service")


def _at_once(work: Callable[[], None]) -> None:
    work()


@dataclass(frozen=True, slots=True)
class Pipeline:
    """The wired pipeline, not yet subscribed.

    Attributes:
        committed: one item per committed batch; completes when everything is flushed.
        shutdown: ``on_next`` stops every source.
        inbox: the inbox's claims (acknowledged as batches commit, released at shutdown).
        protection: the LLM calls' breaker, budget and cache (``None`` without an LLM).
        being: the memory, context and mind (``None`` without an LLM): seed it before subscribing.
    """

    committed: Observable[BatchResult]
    shutdown: Subject[object]
    inbox: InboxState
    protection: Protection[ChatResult] | None
    being: Being | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveParts:
    """The parts of a live pipeline besides the settings: where rows go, what answers, who is told.

    ``on_loop`` hands work from the writer thread to the event loop (the loop owns the inbox's
    state); the default runs it at once, which suits a test that has no second thread.
    ``on_committed`` is told of every committed batch, on the writer thread (the live stream).
    ``tracing`` traces each message (``None``: nothing is traced).
    """

    writer: DuckWriter
    metrics: PipelineMetrics
    run_id: str
    backend: LLMBackend | None = None
    listener: ResilienceListener = NULL_LISTENER
    shared: SharedStore | None = None
    limits: LimitStore | None = None
    vector_index: VectorIndex | None = None
    answered: Callable[[str], Coroutine[Any, Any, bool]] | None = None
    waiting: Sequence[PendingReply] = ()
    on_loop: Callable[[Callable[[], None]], None] = _at_once
    make_durable: Callable[[], Observable[Any]] | None = None
    mind_listener: Any = None
    ingest: IngestState | None = None
    jetstream: JetStreamState | None = None
    out_gate: OutGate | None = None
    outbox: Outbox | None = None
    on_committed: Callable[[BatchResult], None] = lambda _result: None
    tracing: Tracing | None = None


def _acknowledge(ids: frozenset[str], inbox_state: InboxState, ingest_state: IngestState | None) -> None:
    inbox_state.acknowledge(ids)
    if ingest_state is not None:
        ingest_state.acknowledge(ids)


def _acknowledge_jetstream(state: JetStreamState, ids: frozenset[str]) -> None:
    """On the loop: ack (or terminate) the JetStream messages this batch's rows acknowledge."""
    state.acknowledge(ids)


def build_pipeline(settings: Settings, parts: LiveParts) -> Pipeline:
    """Wire the live sources → routes → sinks (nothing runs until subscribed).

    With ``parts.vector_index`` the memory upkeep route (archival, vector cleanup, search-hit
    flushes) runs too; with ``parts.backend`` (and ``[reply] enabled``) user messages are
    answered; with ``[recorder] enabled`` every event and LLM exchange is recorded.
    """
    shutdown: Subject[object] = Subject()
    inbox_state = InboxState()
    sources = live_events(settings, inbox_state, parts.make_durable)
    if parts.ingest is not None:  # messages taken over HTTP (POST /messages)
        sources = reactivex.merge(sources, ingest(parts.ingest))
    if parts.jetstream is not None:  # messages from NATS JetStream ([nats])
        sources = reactivex.merge(sources, jetstream(parts.jetstream))
    events = sources.pipe(ops.take_until(shutdown))
    extra: list[Route] = []
    if parts.vector_index is not None:
        upkeep = memory_upkeep(
            settings, parts.writer, parts.vector_index, on_run=parts.metrics.storage.archive_run
        ).pipe(ops.take_until(shutdown))
        extra.append(lambda _events: upkeep)

    tracing = parts.tracing if parts.tracing is not None and parts.tracing.enabled else None

    def count(event: Event) -> None:
        parts.metrics.event_seen(event)
        if tracing is not None:
            tracing.event_seen(event)

    def committed(result: BatchResult) -> None:  # on the writer thread
        parts.metrics.batch_committed(result)
        parts.on_committed(result)
        if tracing is not None:
            tracing.committed(result, parts.on_loop)
        if result.event_ids:
            ids = result.event_ids
            parts.on_loop(lambda: _acknowledge(ids, inbox_state, parts.ingest))
        if parts.out_gate is not None:  # NATS: publish the batch's replies, then ack its messages
            gate, committed_ids = parts.out_gate, result.event_ids
            parts.on_loop(lambda: gate.committed(committed_ids))
        elif parts.jetstream is not None and result.event_ids:  # no out stream: ack on commit
            nats_state, nats_ids = parts.jetstream, result.event_ids
            parts.on_loop(lambda: _acknowledge_jetstream(nats_state, nats_ids))

    assembled = assemble(
        settings,
        events,
        Parts(
            writer=parts.writer,
            run_id=parts.run_id,
            backend=parts.backend,
            record=settings.recorder.enabled,
            listener=parts.listener,
            shared=parts.shared,
            limits=parts.limits,
            vector_index=parts.vector_index,
            answered=parts.answered,
            waiting=parts.waiting,
            extra_routes=tuple(extra),
            on_event=count,
            on_committed=committed,
            mind_listener=parts.mind_listener,
            trace=tracing.trace if tracing is not None else NO_TRACE,
            outbox=parts.outbox,  # appended by each batch's own job, right after its commit
        ),
    )
    return Pipeline(
        committed=assembled.committed,
        shutdown=shutdown,
        inbox=inbox_state,
        protection=assembled.protection,
        being=assembled.being,
    )
