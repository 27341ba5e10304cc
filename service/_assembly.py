"""Building the pipeline's parts from the settings: shared by ``being run`` and ``being replay``.

These functions make values and wiring, not long-lived resources; ``runtime.py`` creates and
closes the resources (database, writer thread, HTTP server, LLM connection pool).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import reactivex
from reactivex import Observable
from reactivex import operators as ops
from reactivex.subject import Subject

from agent import Protection, Remember, ReplyPolicy, fallback_chat_result, flush_job, upkeep_job, upkeep_route
from llm import ChatResult
from operators import DeadLetter, FallbackPolicy, FallbackRule, ResilienceListener, SharedStore
from service.http import query_embedder
from service.settings import Settings
from sinks import CleanupPolicy, DeadLetterRow, DuckWriter, Row, VectorIndex
from streams import HEAVY_TICK, LIGHT_TICK, Event, InboxPolicy, InboxState, inbox, stable_id, ticks

__all__ = [
    "dead_letter_row",
    "inbox_policy",
    "live_events",
    "memory_upkeep",
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


def live_events(settings: Settings, inbox_state: InboxState) -> Observable[Event]:
    """The live sources: light ticks (which also read the inbox), heavy ticks, and the inbox.

    Acknowledge committed events with ``inbox_state.acknowledge`` (the caller owns the state, so
    acknowledgements still arrive while the pipeline drains after the sources are stopped).
    """
    light = ticks(settings.ticks.light_interval_s, LIGHT_TICK).pipe(ops.share())
    heavy = ticks(settings.ticks.heavy_interval_s, HEAVY_TICK)
    messages = inbox(Path(settings.inbox.path), light, inbox_state, inbox_policy(settings))
    return reactivex.merge(light, heavy, messages)


def memory_upkeep(settings: Settings, writer: DuckWriter, index: VectorIndex) -> Observable[Row]:
    """The upkeep route: archival and vector cleanup on a schedule, search hits flushed on their own timer."""
    memory = settings.memory
    cleanup = CleanupPolicy(
        max_vectors=memory.max_vectors, ttl_days=memory.vector_ttl_days, batch_rows=memory.cleanup_batch_rows
    )
    run = upkeep_job(
        writer,
        archive_dir=Path(memory.archive_dir),
        archive_after_days=memory.archive_after_days,
        cleanup=cleanup,
        index=index,
    )
    return upkeep_route(
        run,
        interval_s=memory.upkeep_interval_s,
        flush=flush_job(writer, index),
        flush_interval_s=memory.access_flush_interval_s,
    )


def dead_letter_row(letter: DeadLetter, now: datetime) -> DeadLetterRow:
    """The dead letter of a failed LLM call that a fallback (or a skip) replaced."""
    request = json.dumps(letter.request, ensure_ascii=False, sort_keys=True, default=str)
    return DeadLetterRow(
        id=stable_id(letter.name, letter.key or request, now.isoformat(), letter.reason),
        time=now,
        source=f"llm:{letter.name}",
        reason=f"{letter.reason}: {type(letter.error).__name__}: {letter.error} (replaced by {letter.kind})",
        raw=request,
    )


def reply_protection(
    settings: Settings,
    *,
    side_rows: Subject[Row],
    now: Callable[[], datetime],
    listener: ResilienceListener,
    name: str = "llm",
    shared: SharedStore | None = None,
) -> Protection[ChatResult]:
    """The protection of the reply route's LLM calls; failures that become fallbacks go to ``side_rows``.

    ``shared`` is the cache's second tier (``service._cache_store.shared_store``); without it the
    cache is in memory only.
    """
    rules: FallbackPolicy[ChatResult] = FallbackPolicy(
        rules=(FallbackRule(stale_for_s=settings.resilience.fallback.stale_for_s, value=fallback_chat_result()),),
        remember=settings.resilience.fallback.remember,
    )

    def record(letter: DeadLetter) -> None:
        side_rows.on_next(dead_letter_row(letter, now()))

    return Protection(
        settings.resilience.policies(), name=name, dead_letter=record, fallback=rules, listener=listener, shared=shared
    )


def remember_policy(settings: Settings, *, max_wait_s: float = 1.0) -> Remember | None:
    """What the remember route embeds with, or ``None`` when vectors are off (or no embedder is set)."""
    if not settings.memory.remember:
        return None
    embedder = query_embedder(settings.memory.search.embedder, settings.memory.search.lexical_dim)
    return Remember(embedder=embedder, max_wait_s=max_wait_s) if embedder is not None else None


def reply_policy(settings: Settings) -> ReplyPolicy:
    return ReplyPolicy(max_concurrent=settings.reply.max_concurrent)


def settings_snapshot(settings: Settings) -> dict[str, Any]:
    """The settings in force, as JSON values (for the runs table and recording headers)."""
    snapshot: dict[str, Any] = dataclasses.asdict(settings)
    snapshot["resilience"]["cache"]["redis_url"] = settings.resilience.cache.shown_redis_url()
    return snapshot
