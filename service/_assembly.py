"""Building the pipeline's parts from the settings: shared by ``being run`` and ``being replay``.

These functions make values and wiring, not long-lived resources; ``runtime.py`` creates and
closes the resources (database, writer thread, HTTP server, LLM connection pool).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import reactivex
from reactivex import Observable
from reactivex import operators as ops

from agent import (
    NO_TRACE,
    DeferPolicy,
    PendingReply,
    PipelineTrace,
    Protection,
    Recorder,
    Remember,
    Replier,
    ReplyPolicy,
    Route,
    UpkeepReport,
    Wiring,
    fallback_chat_result,
    flush_job,
    upkeep_job,
    upkeep_route,
    wire_pipeline,
)
from llm import ChatResult, LLMBackend, vectorizer_for
from operators import (
    NULL_LISTENER,
    CallBudget,
    FallbackPolicy,
    FallbackRule,
    LimitStore,
    ResilienceListener,
    SharedLimits,
    SharedStore,
)
from service.settings import Settings, intentions_path, notes_dir
from service.settings._errors import without_credentials
from sinks import BatchResult, CleanupPolicy, DuckWriter, Outbox, Row, VectorIndex, WaitingReply
from streams import (
    HEAVY_TICK,
    LIGHT_TICK,
    Event,
    InboxPolicy,
    InboxState,
    IntentionsPolicy,
    inbox,
    intentions,
    ticks,
)

if TYPE_CHECKING:
    from service._mind_assembly import Being

__all__ = [
    "Assembled",
    "Parts",
    "assemble",
    "cleanup_policy",
    "defer_policy",
    "inbox_policy",
    "live_events",
    "memory_upkeep",
    "pending_replies",
    "remember_policy",
    "reply_policy",
    "reply_protection",
    "settings_snapshot",
]


def inbox_policy(settings: Settings) -> InboxPolicy:
    return InboxPolicy(
        max_bytes=settings.inbox.max_bytes,
        max_line_bytes=settings.inbox.max_line_bytes,
        urgent_prefix=settings.inbox.urgent_prefix,
        max_pending_events=settings.inbox.max_pending_events,
        quiet_s=settings.inbox.quiet_s,
    )


def live_events(
    settings: Settings, inbox_state: InboxState, make_durable: Callable[[], Observable[Any]] | None = None
) -> Observable[Event]:
    """The live sources: light ticks (which also read the inbox and the intentions file), heavy ticks, the inbox.

    Acknowledge committed events with ``inbox_state.acknowledge`` on the event loop (the caller
    owns the state, so acknowledgements still arrive while the pipeline drains after the sources
    are stopped). ``make_durable`` completes once every committed row is in the database's main
    file (a CHECKPOINT); the inbox deletes a finished claim only after it.
    """
    light = ticks(settings.ticks.light_interval_s, LIGHT_TICK).pipe(ops.share())
    heavy = ticks(settings.ticks.heavy_interval_s, HEAVY_TICK)
    messages = inbox(Path(settings.inbox.path), light, inbox_state, inbox_policy(settings), make_durable=make_durable)
    if not settings.mind.enabled:
        return reactivex.merge(light, heavy, messages)
    mind = settings.mind
    wishes = intentions(
        intentions_path(mind.intentions_path, settings.inbox.path),
        light,
        IntentionsPolicy(max_bytes=mind.intentions_max_bytes),
    )
    return reactivex.merge(light, heavy, messages, wishes)


def memory_upkeep(
    settings: Settings,
    writer: DuckWriter,
    index: VectorIndex,
    *,
    on_run: Callable[[str, int | None], None] | None = None,
) -> Observable[Row]:
    """The upkeep route: archival and vector cleanup on a schedule, search hits flushed on their own timer.

    ``on_run("schedule", archived)`` is told how each run ended (``archived=None``: it failed).
    """
    memory = settings.memory
    cleanup = cleanup_policy(settings)
    run = upkeep_job(
        writer,
        archive_dir=Path(memory.archive_dir),
        archive_after_days=memory.archive_after_days,
        cleanup=cleanup,
        index=index,
    )
    if on_run is not None:
        run = _reported(run, on_run)
    return upkeep_route(
        run,
        interval_s=memory.upkeep_interval_s,
        flush=flush_job(writer, index),
        flush_interval_s=memory.access_flush_interval_s,
    )


def _reported(
    run: Callable[[datetime], Observable[UpkeepReport]], on_run: Callable[[str, int | None], None]
) -> Callable[[datetime], Observable[UpkeepReport]]:
    def ended(report: UpkeepReport) -> None:
        on_run("schedule", report.archived)

    def failed(_: Exception) -> None:
        on_run("schedule", None)

    def reported(now: datetime) -> Observable[UpkeepReport]:
        return run(now).pipe(ops.do_action(on_next=ended, on_error=failed))

    return reported


def reply_protection(
    settings: Settings,
    *,
    listener: ResilienceListener,
    name: str = "llm",
    shared: SharedStore | None = None,
    trace: PipelineTrace = NO_TRACE,
    limits: LimitStore | None = None,
) -> Protection[ChatResult]:
    """The protection of the reply route's LLM calls (each call brings its own dead-letter receiver).

    ``shared`` is the cache's second tier (``service._cache_store.shared_store``); without it the
    cache is in memory only. ``limits`` is where the rate limit and the budget are shared
    (``service._limit_store.limit_store``); without it (or with ``backend = "process"``) they
    are this process's own.
    """
    rules: FallbackPolicy[ChatResult] = FallbackPolicy(
        rules=(FallbackRule(stale_for_s=settings.resilience.fallback.stale_for_s, value=fallback_chat_result()),),
        remember=settings.resilience.fallback.remember,
    )
    policy = settings.resilience.shared_limits.policy()
    together = SharedLimits(limits, policy, name=name, listener=listener) if limits and policy else None
    policies = settings.resilience.policies()
    return Protection(
        policies, name=name, fallback=rules, listener=listener, shared=shared, trace=trace, limits=together
    )


def cleanup_policy(settings: Settings) -> CleanupPolicy:
    """Vector memory's bounds: kept by the upkeep's cleanup and, for the count, after each batch written."""
    memory = settings.memory
    return CleanupPolicy(
        max_vectors=memory.max_vectors, ttl_days=memory.vector_ttl_days, batch_rows=memory.cleanup_batch_rows
    )


def remember_policy(settings: Settings, *, max_wait_s: float = 1.0) -> Remember | None:
    """What the remember route embeds with, or ``None`` when vectors are off (or no embedder is set)."""
    if not settings.memory.remember:
        return None
    embedder = vectorizer_for(settings.memory.search.embedder, settings.memory.search.lexical_dim)
    if embedder is None:
        return None
    return Remember(embedder=embedder, max_wait_s=max_wait_s, bound=cleanup_policy(settings))


def reply_policy(settings: Settings) -> ReplyPolicy:
    return ReplyPolicy(max_concurrent=settings.reply.max_concurrent)


def defer_policy(settings: Settings) -> DeferPolicy | None:
    """When fallbacks are asked again, or ``None`` when deferred replies are off."""
    reply = settings.reply
    if not reply.deferred_enabled:
        return None
    return DeferPolicy(interval_s=reply.deferred_interval_s, max_pending=reply.deferred_max_pending)


def pending_replies(waiting: Sequence[WaitingReply]) -> tuple[PendingReply, ...]:
    """The fallbacks a previous run left waiting (``sinks.waiting_replies``) as the reply route's queue."""
    return tuple(
        PendingReply(event_id=w["event_id"], text=w["message"], urgent=w["urgent"], fallback_id=w["id"], time=w["time"])
        for w in waiting
        if w["event_id"]
    )


def settings_snapshot(settings: Settings) -> dict[str, Any]:
    """The settings in force, as JSON values (for the runs table and recording headers)."""
    snapshot: dict[str, Any] = dataclasses.asdict(settings)
    snapshot["resilience"]["cache"]["redis_url"] = settings.resilience.cache.shown_redis_url()
    snapshot["resilience"]["shared_limits"]["redis_url"] = settings.resilience.shared_limits.shown_redis_url()
    shown: dict[str, Any] = _without_credentials(snapshot)  # any URL's user part (nats.url's token, a login)
    return shown


def _without_credentials(value: Any) -> Any:
    if isinstance(value, str):
        return without_credentials(value)
    if isinstance(value, dict):
        return {key: _without_credentials(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_credentials(item) for item in value]
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Parts:
    """What a pipeline is wired to besides the settings; the caller made each resource and closes it.

    Args:
        writer: the DuckDB writer thread.
        run_id: the run the recorder's rows belong to.
        backend: what answers user messages (``None``: messages are stored unanswered).
        record: record every event and LLM exchange.
        listener: told of everything the resilience operators do (metrics, health).
        shared: the cache's second tier (``None``: memory only).
        limits: where the rate limit and the budget are shared (``None``: this process's own).
        vector_index: kept in step with the vectors written (``None``: none is kept).
        answered: whether a reply id is stored (live: a writer job; ``None``: only this run counts).
        waiting: fallbacks a previous run left waiting for a real answer, oldest first.
        batch_max_wait_s: overrides ``sink.batch_max_wait_s`` (a replay cuts batches by count).
        remember_max_wait_s: the vector sink's batching by time.
        extra_routes: more routes over the same events (the live upkeep).
        on_event: told of every event.
        on_committed: told of every committed batch, on the writer thread.
        mind_listener: told of what the mind does (``agent.mind.MindListener``; metrics).
        notes_dir: where the mind's notes go instead of ``[mind] notes_dir`` (a replay's, beside its output).
        trace: wraps each message's work and each protected call (``service.tracing``; default: nothing).
        outbox: where each committed batch's replies and being messages are appended (``None``: nowhere).
        one_thread: the events come from one thread (a replay's virtual clock): see ``agent.Wiring``.
    """

    writer: DuckWriter
    run_id: str
    backend: LLMBackend | None = None
    record: bool = True
    listener: ResilienceListener = NULL_LISTENER
    shared: SharedStore | None = None
    limits: LimitStore | None = None
    vector_index: VectorIndex | None = None
    answered: Callable[[str], Coroutine[Any, Any, bool]] | None = None
    waiting: Sequence[PendingReply] = ()
    batch_max_wait_s: float | None = None
    remember_max_wait_s: float = 1.0
    extra_routes: Sequence[Route] = field(default_factory=tuple)
    on_event: Callable[[Event], None] = lambda _event: None
    on_committed: Callable[[BatchResult], None] = lambda _result: None
    mind_listener: Any = None
    notes_dir: Path | None = None
    trace: PipelineTrace = NO_TRACE
    outbox: Outbox | None = None
    one_thread: bool = False


@dataclass(frozen=True, slots=True)
class Assembled:
    """The wired pipeline, not yet subscribed, and the shared state worth watching.

    ``being`` is the memory, context builder and mind (``None`` without an LLM backend); seed
    its memory (``being.seed``) before subscribing.
    """

    committed: Observable[BatchResult]
    protection: Protection[ChatResult] | None
    recorder: Recorder | None
    being: Being | None = None


def _being(
    settings: Settings, parts: Parts, protection: Protection[ChatResult] | None, remember: Remember | None
) -> Being | None:
    """The memory, context and mind, when there is an LLM to think and reply with."""
    if parts.backend is None or protection is None:
        return None
    from service._mind_assembly import build_being  # here: it builds on this module's remember_policy

    return build_being(
        settings, backend=parts.backend, protection=protection, listener=parts.mind_listener, remember=remember
    )


def _heavy_ticks_reset(budget: CallBudget) -> Callable[[Observable[Event]], Observable[Event]]:
    """Each heavy tick starts the budget's window again (on the loop, as the tick passes; a replay's ticks too)."""

    def reset_on(event: Event) -> None:
        if event.type == HEAVY_TICK:
            budget.reset()

    return ops.do_action(on_next=reset_on)


def assemble(settings: Settings, events: Observable[Event], parts: Parts) -> Assembled:
    """The one wiring of ``events`` through the routes to the sinks, for ``being run`` and ``being replay``.

    The reply route answers with ``parts.backend`` when replies are on; the recorder records when
    ``parts.record``; nothing runs until ``committed`` is subscribed.
    """
    recorder = Recorder(parts.run_id) if parts.record else None
    protection: Protection[ChatResult] | None = None
    replier: Replier | None = None
    if (settings.reply.enabled or settings.mind.enabled) and parts.backend is not None:
        protection = reply_protection(
            settings, listener=parts.listener, shared=parts.shared, trace=parts.trace, limits=parts.limits
        )
    # one policy for the remember route and the being's recall: a text both embed is embedded once
    remember = remember_policy(settings, max_wait_s=parts.remember_max_wait_s)
    being = _being(settings, parts, protection, remember)
    if protection is not None and protection.budget is not None and protection.budget.policy.window_s is None:
        events = events.pipe(_heavy_ticks_reset(protection.budget))  # "until reset": a budget per heavy tick
    if settings.reply.enabled and parts.backend is not None and protection is not None:
        context: dict[str, Any] = {"context": being.context} if being is not None else {}
        replier = Replier(
            backend=parts.backend,
            protection=protection,
            policy=reply_policy(settings),
            answered=parts.answered,
            defer=defer_policy(settings),
            waiting=parts.waiting,
            **context,
        )
    wiring = Wiring(
        writer=parts.writer,
        batch_max_rows=settings.sink.batch_max_rows,
        batch_max_wait_s=parts.batch_max_wait_s or settings.sink.batch_max_wait_s,
        recorder=recorder,
        replier=replier,
        extra_routes=tuple(parts.extra_routes),
        remember=remember,
        vector_index=parts.vector_index,
        on_event=parts.on_event,
        on_committed=parts.on_committed,
        mind=being.mind if being is not None else None,
        observe=being.observe if being is not None else None,
        notes_dir=parts.notes_dir or notes_dir(settings.mind.notes_dir, settings.storage.database_path),
        notes_max_bytes=settings.mind.notes_max_bytes,
        outbox=parts.outbox,
        one_thread=parts.one_thread,
    )
    return Assembled(committed=wire_pipeline(events, wiring), protection=protection, recorder=recorder, being=being)
