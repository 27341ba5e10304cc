"""The one place a wrapper around an :class:`~llm.LLMBackend` forwards the Protocol's calls.

A wrapper (recording, metrics, the health watch, the replay's call counter) subclasses
:class:`ForwardingBackend` and overrides only :meth:`ForwardingBackend._forward`, the hook around
each ``chat`` and ``embed``; ``name`` and ``aclose`` go to the inner backend as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from llm._protocol import LLMBackend
from llm._types import ChatResult, Embeddings, Format, Message

__all__ = ["Call", "ForwardingBackend"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One call passing through a wrapper: its operation and its arguments, as the caller gave them.

    ``messages``, ``options`` and ``format`` are a chat's; ``texts`` an embedding's.
    """

    operation: Literal["chat", "embed"]
    model: str | None
    messages: Sequence[Message] = ()
    options: Mapping[str, Any] | None = None
    format: Format | None = None
    texts: Sequence[str] = ()


class ForwardingBackend:
    """An :class:`~llm.LLMBackend` that passes every call to ``inner``, through :meth:`_forward`.

    Args:
        inner: the backend that answers.
    """

    __slots__ = ("inner",)

    def __init__(self, inner: LLMBackend) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"

    def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> Coroutine[Any, Any, ChatResult]:
        call = Call(operation="chat", model=model, messages=messages, options=options, format=format)
        return self._forward(call, lambda: self.inner.chat(messages, model=model, options=options, format=format))

    def embed(self, texts: Sequence[str], *, model: str | None = None) -> Coroutine[Any, Any, Embeddings]:
        call = Call(operation="embed", model=model, texts=texts)
        return self._forward(call, lambda: self.inner.embed(texts, model=model))

    async def aclose(self) -> None:
        await self.inner.aclose()

    def _forward(self, call: Call, start: Callable[[], Coroutine[Any, Any, T]]) -> Coroutine[Any, Any, T]:
        """The hook around one call; ``start()`` makes the inner call and returns what it returns.

        It runs when ``chat`` or ``embed`` is called, not when their coroutine first runs; an
        ``async def`` override runs its body when the coroutine is awaited. Without an override
        the inner call's own coroutine is returned, so its result and its errors (cancellation
        included) reach the caller as they are.
        """
        return start()
