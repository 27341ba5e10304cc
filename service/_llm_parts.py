"""The LLM side of a live run, as the settings ask: the backend (measured, watched, traced), the
cache's shared store, the shared limits' store, who the protection's reports go to, and what to close.

``runtime.py`` owns what this returns: it closes ``closers`` (in order) when the run ends.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from llm import LLMBackend, backend_from_settings
from operators import LimitStore, ResilienceListener, SharedStore
from service._listeners import FanOutListener
from service._watch import ServiceWatch
from service.health import LLMHealth
from service.metrics import LLMMetrics, MeasuredBackend, ResilienceMetrics
from service.settings import Settings
from service.tracing import Tracing

if TYPE_CHECKING:
    from service._cache_store import AiocacheStore
    from service._limit_store import RedisLimitStore

__all__ = ["LLMParts", "open_llm_parts"]


@dataclass(frozen=True, slots=True)
class LLMParts:
    """What the pipeline calls the LLM with (``backend`` is ``None`` when neither replies nor the mind are on)."""

    backend: LLMBackend | None
    shared: SharedStore | None
    limits: LimitStore | None
    listener: ResilienceListener
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def open_llm_parts(
    settings: Settings,
    *,
    llm_health: LLMHealth,
    llm_metrics: LLMMetrics,
    resilience_metrics: ResilienceMetrics,
    watch: ServiceWatch,
    tracing: Tracing,
    clock: Callable[[], datetime],
) -> LLMParts:
    """Build the backend and the stores (no connection is made until the first call)."""
    told: list[ResilienceListener] = [resilience_metrics, llm_health, watch.listener]
    if tracing.enabled:  # off: not even a no-op per report
        told.append(tracing.listener)
    if not (settings.reply.enabled or settings.mind.enabled):
        return LLMParts(backend=None, shared=None, limits=None, listener=FanOutListener(*told))
    llm = settings.llm
    served = backend_from_settings(llm, os.environ, request_headers=tracing.request_headers)
    measured = MeasuredBackend(
        llm_health.watch_backend(served), llm_metrics, chat_model=llm.chat_model, embed_model=llm.embed_model
    )
    backend = tracing.backend(measured, chat_model=llm.chat_model, embed_model=llm.embed_model)
    shared = _shared_store(settings)
    closers: list[Callable[[], Awaitable[None]]] = [backend.aclose]
    if shared is not None:
        closers.append(shared.aclose)
    limits = _limit_store(settings)  # None: each process keeps its own
    if limits is not None:
        closers.append(limits.aclose)
        told.insert(3, watch.watch_limits(clock=clock))  # after the watch's listener, as before the tracing's
    return LLMParts(backend=backend, shared=shared, limits=limits, listener=FanOutListener(*told), closers=closers)


# The stores' modules are imported only when the settings ask for a store: aiocache imports redis
# whatever its backend, and redis is about 7 MB resident and a second of start-up.


def _shared_store(settings: Settings) -> AiocacheStore | None:
    cache = settings.resilience.cache
    if not cache.enabled or cache.backend == "none":
        return None
    from service._cache_store import shared_store

    return shared_store(cache)


def _limit_store(settings: Settings) -> RedisLimitStore | None:
    if settings.resilience.shared_limits.backend != "redis":
        return None
    from service._limit_store import limit_store

    return limit_store(settings.resilience.shared_limits)
