"""Liveness and readiness: the process's state and named components (the LLM's among them)."""

from service.health._cache_store import CacheStoreHealth
from service.health._component import Component, ComponentHealth, Status
from service.health._components import DatabaseHealth, DiskHealth, InboxHealth
from service.health._health import Health
from service.health._llm import LLMHealth
from service.health._loop import LoopLag
from service.health._nats import NatsHealth
from service.health._shared_limits import SharedLimitsHealth
from service.health._watched_backend import WatchedBackend

__all__ = [
    "CacheStoreHealth",
    "Component",
    "ComponentHealth",
    "DatabaseHealth",
    "DiskHealth",
    "Health",
    "InboxHealth",
    "LLMHealth",
    "LoopLag",
    "NatsHealth",
    "SharedLimitsHealth",
    "Status",
    "WatchedBackend",
]
