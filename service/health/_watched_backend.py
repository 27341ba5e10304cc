"""An LLM backend that tells the ``llm`` component when each call starts and how it ends.

A call in flight longer than the component's ``stuck_after_s`` is the sign of a hung server,
seen long before the try's own timeout ends it; an answered call is the sign it is back.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

from llm import Call, ForwardingBackend, LLMBackend

__all__ = ["CallWatcher", "WatchedBackend"]

T = TypeVar("T")


class CallWatcher(Protocol):
    """Who is told (``LLMHealth``)."""

    def call_started(self) -> int:
        """A call starts; returns its token."""
        ...

    def call_ended(self, token: int, *, answered: bool) -> None:
        """The call of ``token`` ended, with an answer or not (an error, or cancelled)."""
        ...


class WatchedBackend(ForwardingBackend):
    """``backend`` with every ``chat`` and ``embed`` reported to ``watcher``; everything else as it is."""

    __slots__ = ("_watcher",)

    def __init__(self, backend: LLMBackend, watcher: CallWatcher) -> None:
        super().__init__(backend)
        self._watcher = watcher

    async def _forward(self, call: Call, start: Callable[[], Coroutine[Any, Any, T]]) -> T:
        token = self._watcher.call_started()
        answered = False
        try:
            result = await start()
            answered = True
            return result
        finally:
            self._watcher.call_ended(token, answered=answered)
