"""Wiring the routes: one shared event stream in, committed batches out.

::

    events ─┬─ user, bad input, world/system, unknown ───────┐
            ├─ mind (heavy ticks; LLM, protected): thoughts ─┤
            ├─ reply (LLM, protected): call rows, reply ─────┤
            ├─ extra routes (upkeep) ────────────────────────┼─► batch_rows ─► writer ─► BatchResult
            └─ recorder (every event) ───────────────────────┘

Every row travels down the stream that made it: a reply's dead letters and recorded LLM
exchanges come out of the reply route with the reply, so the committed stream completes only
after the last of them is written: completion means "all flushed". The same wiring serves
``being run`` (live sources) and ``being replay`` (recorded events).

With ``observe`` (the being's memory), every event is shown to it before any route sees it,
and every row before the sink takes it, on the event loop: the memory is the loop's own state
and always knows what the sink is about to store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

from agent._recorder import Recorder
from agent._remember import Remember, remember_route
from agent._reply import Replier, reply_route
from agent._routes import USER_TYPES, route_events
from operators import loop_share
from sinks import (
    NOTES_MAX_BYTES,
    BatchResult,
    DuckWriter,
    EpisodeRow,
    Outbox,
    Row,
    VectorIndex,
    write_batches,
    write_vector_batches,
)
from streams import Event

if TYPE_CHECKING:
    from agent.mind import Mind

__all__ = ["Replier", "Route", "Wiring", "wire_pipeline"]

Route = Callable[[Observable[Event]], Observable[Row]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Wiring:
    """Everything the routes are wired to.

    Args:
        writer: the DuckDB writer thread.
        batch_max_rows, batch_max_wait_s: the sink's batching.
        recorder: records every event and LLM exchange (``None``: nothing recorded).
        replier: answers user messages (``None``: messages are stored unanswered).
        extra_routes: more routes over the same events (upkeep).
        remember: embed what the user said and what the being answered into vector memory
            (``None``: no vectors are written); ``vector_index`` is kept in step with it.
        on_event: told of every event (metrics).
        on_committed: told of every committed batch, on the writer thread (metrics, inbox acks).
        mind: thinks on heavy ticks (``None``: each heavy tick writes ``heavy_tick.observe``).
        observe: told of every event, then of every row before the sink, on the event loop (the
            being's memory; ``None``: nothing is).
        notes_dir: the folder the sink appends the mind's notes in (``None``: ``notes`` beside the database).
        notes_max_bytes: the cap on a notes file's whole size.
        outbox: where the sink appends each batch's replies and being messages after its commit
            (``None``: nowhere).
        one_thread: every event comes from one thread, as in a replay (its virtual clock runs on
            the event loop): the event stream is shared among the routes with
            ``operators.loop_share`` (no lock, one observer per route) instead of ``ops.share()``.
            The live service's sources may emit from other threads and keep the default.
    """

    writer: DuckWriter
    batch_max_rows: int
    batch_max_wait_s: float
    recorder: Recorder | None = None
    replier: Replier | None = None
    extra_routes: Sequence[Route] = ()
    remember: Remember | None = None
    vector_index: VectorIndex | None = None
    on_event: Callable[[Event], None] = lambda _event: None
    on_committed: Callable[[BatchResult], None] = lambda _result: None
    mind: Mind | None = None
    observe: Callable[[Event | Row], None] | None = None
    notes_dir: Path | None = None
    notes_max_bytes: int = NOTES_MAX_BYTES
    outbox: Outbox | None = None
    one_thread: bool = False


def _unacknowledged_if_answered(row: Row) -> Row:
    if isinstance(row, EpisodeRow) and row.type in USER_TYPES and row.event_id is not None:
        return dataclasses.replace(row, event_id=None)
    return row


def wire_pipeline(events: Observable[Event], wiring: Wiring) -> Observable[BatchResult]:
    """Subscribe-once pipeline over ``events``; nothing runs until the result is subscribed."""
    observe = wiring.observe
    on_event = wiring.on_event
    if observe is None:
        told = events.pipe(ops.do_action(on_event))
    else:

        def tell(event: Event) -> None:
            on_event(event)
            observe(event)

        told = events.pipe(ops.do_action(tell))
    shared = told.pipe(loop_share() if wiring.one_thread else ops.share())
    routed_events = route_events(shared, heavy_ticks=wiring.mind is None)
    if wiring.replier is not None:
        # the reply acknowledges a user message (it comes later); the message's episode must not
        routed_events = routed_events.pipe(ops.map(_unacknowledged_if_answered))
    episode_routes: list[Observable[Row]] = [routed_events]
    if wiring.mind is not None:
        from agent.mind import mind_route  # here, not at the top: agent.mind builds on this package

        episode_routes.append(mind_route(shared, wiring.mind, recorder=wiring.recorder))
    if wiring.replier is not None:
        replier = wiring.replier
        episode_routes.append(reply_route(shared, replier, recorder=wiring.recorder))
    episodes = reactivex.merge(*episode_routes)
    if wiring.remember is not None:
        episodes = episodes.pipe(ops.share())  # also read by the remember route
    routes: list[Observable[Row]] = [episodes]
    routes.extend(route(shared) for route in wiring.extra_routes)
    if wiring.recorder is not None:
        recorder = wiring.recorder
        routes.append(shared.pipe(ops.map(recorder.event_row)))
    rows = reactivex.merge(*routes)
    if observe is not None:
        rows = rows.pipe(ops.do_action(observe))
    committed = rows.pipe(
        write_batches(
            wiring.writer,
            max_rows=wiring.batch_max_rows,
            max_wait_s=wiring.batch_max_wait_s,
            notes_dir=wiring.notes_dir,
            notes_max_bytes=wiring.notes_max_bytes,
            outbox=wiring.outbox,
        ),
        ops.do_action(wiring.on_committed),
    )
    if wiring.remember is None:
        return committed
    remember = wiring.remember

    def vector_sink(scheduler: abc.SchedulerBase) -> Observable[Any]:
        # refused vectors become dead letters stamped with the pipeline's clock (virtual in a replay)
        sink = write_vector_batches(
            wiring.writer,
            wiring.vector_index,
            max_rows=remember.max_rows,
            max_wait_s=remember.max_wait_s,
            clock=lambda: scheduler.now,
            bound=remember.bound,
        )
        return remember_route(episodes, remember).pipe(sink)

    nothing: Callable[[Observable[Any]], Observable[BatchResult]] = ops.ignore_elements()
    vectors = reactivex.defer(vector_sink).pipe(nothing)
    # the vectors' writes end with the rows' writes: completion still means "all flushed"
    return reactivex.merge(vectors, committed)
