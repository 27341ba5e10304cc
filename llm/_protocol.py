"""The one small Protocol the rest of the project talks to an LLM through.

It holds what the being uses: ``chat`` and ``embed`` (and ``aclose`` for the connection pool).
The real clients (``OllamaBackend``, ``OpenAIBackend``) offer more (streaming, ``generate``,
``list_models``, ``version``); a method joins the Protocol when a caller needs it, so the
wrappers around a backend (recording, replay, counting) stay as small as what is used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from llm._types import ChatResult, Embeddings, Format, Message

__all__ = ["Embedder", "LLMBackend"]


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns a batch of texts into named, L2-normalised float32 vectors, asynchronously."""

    @property
    def name(self) -> str: ...

    async def embed(self, texts: Sequence[str], *, model: str | None = None) -> Embeddings:
        """One row per text, in order.

        Raises:
            LLMError: classified (see ``llm.errors``).
        """
        ...


@runtime_checkable
class LLMBackend(Embedder, Protocol):
    """An LLM server behind async calls; every failure is an ``LLMError``.

    ``model=None`` means the backend's configured default; ``options`` (``num_predict``,
    ``temperature``, ``seed``, ``num_ctx``, ...) are laid over the configured ones.
    """

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> ChatResult: ...

    async def aclose(self) -> None:
        """Release the connection pool; the backend is unusable afterwards."""
        ...
