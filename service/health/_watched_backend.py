"""An LLM backend that tells the ``llm`` component when each call starts and how it ends.

A call in flight longer than the component's ``stuck_after_s`` is the sign of a hung server,
seen long before the try's own timeout ends it; an answered call is the sign it is back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from llm import ChatResult, Embeddings, Format, LLMBackend, Message

__all__ = ["CallWatcher", "WatchedBackend"]


class CallWatcher(Protocol):
    """Who is told (``LLMHealth``)."""

    def call_started(self) -> int:
        """A call starts; returns its token."""
        ...

    def call_ended(self, token: int, *, answered: bool) -> None:
        """The call of ``token`` ended, with an answer or not (an error, or cancelled)."""
        ...


class WatchedBackend:
    """``backend`` with every ``chat`` and ``embed`` reported to ``watcher``; everything else as it is."""

    __slots__ = ("_backend", "_watcher")

    def __init__(self, backend: LLMBackend, watcher: CallWatcher) -> None:
        self._backend = backend
        self._watcher = watcher

    @property
    def name(self) -> str:
        return self._backend.name

    def __repr__(self) -> str:
        return f"WatchedBackend({self._backend!r})"

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> ChatResult:
        token = self._watcher.call_started()
        answered = False
        try:
            result = await self._backend.chat(messages, model=model, options=options, format=format)
            answered = True
            return result
        finally:
            self._watcher.call_ended(token, answered=answered)

    async def embed(self, texts: Sequence[str], *, model: str | None = None) -> Embeddings:
        token = self._watcher.call_started()
        answered = False
        try:
            result = await self._backend.embed(texts, model=model)
            answered = True
            return result
        finally:
            self._watcher.call_ended(token, answered=answered)

    async def aclose(self) -> None:
        await self._backend.aclose()
