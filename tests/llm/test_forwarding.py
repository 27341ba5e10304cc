"""ForwardingBackend passes every call to its inner backend, through one hook, and changes nothing on the way."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

import numpy as np
import pytest

from llm import (
    Call,
    ChatResult,
    Embeddings,
    Format,
    ForwardingBackend,
    LLMBackend,
    Message,
    OverloadedError,
)

T = TypeVar("T")
PROMPT = [Message.user("hello")]
SCHEMA: Format = {"type": "object"}


class Inner:
    """Answers chat and embed calls; remembers what it was asked (the keywords as passed); raises ``error`` when set."""

    name = "inner"

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.asked: list[tuple[Any, ...]] = []
        self.closed = 0

    async def chat(self, messages: Sequence[Message], **call: Any) -> ChatResult:
        self.asked.append(("chat", messages, call))
        if self.error is not None:
            raise self.error
        return ChatResult(model=call.get("model") or "m", content="hi")

    async def embed(self, texts: Sequence[str], **call: Any) -> Embeddings:
        self.asked.append(("embed", texts, call))
        if self.error is not None:
            raise self.error
        return Embeddings(embedder=call.get("model") or "e", vectors=np.ones((len(texts), 2), dtype=np.float32))

    async def aclose(self) -> None:
        self.closed += 1


class Hooked(ForwardingBackend):
    """Notes each call the hook sees and what came out of it."""

    __slots__ = ("ended", "seen")

    def __init__(self, inner: LLMBackend) -> None:
        super().__init__(inner)
        self.seen: list[Call] = []
        self.ended: list[str] = []

    async def _forward(self, call: Call, start: Callable[[], Coroutine[Any, Any, T]]) -> T:
        self.seen.append(call)
        try:
            result = await start()
        except BaseException as exc:
            self.ended.append(type(exc).__name__)
            raise
        self.ended.append("answered")
        return result


async def test_plain_forwarding_passes_arguments_results_name_and_close() -> None:
    inner = Inner()
    backend: LLMBackend = ForwardingBackend(inner)
    options = {"seed": 1}
    reply = await backend.chat(PROMPT, model="big", options=options, format=SCHEMA)
    vectors = await backend.embed(["a", "b"], model="tiny")
    await backend.aclose()
    assert reply == ChatResult(model="big", content="hi")
    assert vectors.embedder == "tiny" and vectors.vectors.shape == (2, 2)
    assert inner.asked == [
        ("chat", PROMPT, {"model": "big", "options": options, "format": SCHEMA}),
        ("embed", ["a", "b"], {"model": "tiny"}),
    ]
    assert inner.closed == 1
    assert backend.name == "inner"
    assert isinstance(backend, LLMBackend)
    assert repr(backend).startswith("ForwardingBackend(<")


async def test_defaults_reach_the_inner_backend_as_none() -> None:
    inner = Inner()
    await ForwardingBackend(inner).chat(PROMPT)
    await ForwardingBackend(inner).embed(["a"])
    assert inner.asked == [
        ("chat", PROMPT, {"model": None, "options": None, "format": None}),
        ("embed", ["a"], {"model": None}),
    ]


async def test_the_hook_sees_each_call_once_with_its_arguments() -> None:
    inner = Inner()
    backend = Hooked(inner)
    await backend.chat(PROMPT, model="big", options={"seed": 1}, format="json")
    await backend.embed(["a"])
    await backend.chat(PROMPT)
    assert backend.seen == [
        Call(operation="chat", model="big", messages=PROMPT, options={"seed": 1}, format="json"),
        Call(operation="embed", model=None, texts=["a"]),
        Call(operation="chat", model=None, messages=PROMPT),
    ]
    assert backend.ended == ["answered"] * 3
    assert len(inner.asked) == 3
    assert repr(backend) == f"Hooked({inner!r})"


@pytest.mark.parametrize("wrap", [ForwardingBackend, Hooked], ids=["plain", "hooked"])
@pytest.mark.parametrize("operation", ["chat", "embed"])
async def test_an_error_passes_through_as_it_is(wrap: Callable[[LLMBackend], LLMBackend], operation: str) -> None:
    error = OverloadedError("busy", status=429, retry_after_s=2.0)
    backend = wrap(Inner(error))
    with pytest.raises(OverloadedError) as raised:
        await (backend.chat(PROMPT) if operation == "chat" else backend.embed(["a"]))
    assert raised.value is error
    if isinstance(backend, Hooked):
        assert backend.ended == ["OverloadedError"]


@pytest.mark.parametrize("wrap", [ForwardingBackend, Hooked], ids=["plain", "hooked"])
async def test_a_cancellation_passes_through(wrap: Callable[[LLMBackend], LLMBackend]) -> None:
    started = asyncio.Event()

    class Hanging(Inner):
        async def chat(self, messages: Sequence[Message], **_: Any) -> ChatResult:
            started.set()
            await asyncio.Event().wait()
            raise AssertionError("never answered")

    backend = wrap(Hanging())
    task = asyncio.ensure_future(backend.chat(PROMPT))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    if isinstance(backend, Hooked):
        assert backend.ended == ["CancelledError"]
