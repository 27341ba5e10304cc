"""The cache's second tier: a store shared beyond this process, behind a small Protocol.

The operators never do I/O, so the store is handed in (``service/`` builds one over aiocache:
its memory backend or Redis), like the LLM backend is. Its coroutines enter the stream through
``enter`` (``streams.from_coroutine`` by default), so disposing a call cancels its lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from reactivex import Observable

__all__ = ["Enter", "SharedStore"]

Enter = Callable[[Callable[[], Coroutine[Any, Any, Any]]], Observable[Any]]
"""How a store's coroutine becomes a cold observable (one item, the result; or the error)."""


class SharedStore(Protocol):
    """Results of successful calls, shared by every process that uses the same store.

    Each method must end (return or raise) within the store's own time limit. Whatever it
    raises is survived by the cache: a failed ``get`` is served as a miss and a failed
    ``set`` is skipped, and both are reported to the listener (``cache_store_failed``).
    """

    async def get(self, key: str) -> tuple[Any, ...] | None:
        """The items stored for ``key``, or ``None`` when there are none (or they expired)."""
        ...

    async def set(self, key: str, values: tuple[Any, ...], ttl_s: float) -> None:
        """Store a successful call's items for ``ttl_s`` seconds."""
        ...
