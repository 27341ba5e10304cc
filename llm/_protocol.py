"""The one small Protocol the rest of the project talks to an LLM through."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from llm._types import ChatResult, Chunk, Embeddings, Format, GenerateResult, Message, ModelInfo

__all__ = ["Embedder", "LLMBackend"]


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns a batch of texts into named, L2-normalised float32 vectors."""

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

    def chat_stream(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> AsyncGenerator[Chunk, None]:
        """Yield the reply as it is produced; the last chunk has ``done=True`` and the usage.

        Leaving the loop early (or cancelling the task) closes the HTTP request.
        """
        ...

    async def generate(
        self,
        prompt: str,
        *,
        model: str | None = None,
        system: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> GenerateResult: ...

    def generate_stream(
        self,
        prompt: str,
        *,
        model: str | None = None,
        system: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> AsyncGenerator[Chunk, None]: ...

    async def list_models(self) -> tuple[ModelInfo, ...]: ...

    async def version(self) -> str: ...

    async def aclose(self) -> None:
        """Release the connection pool; the backend is unusable afterwards."""
        ...
