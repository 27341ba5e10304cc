"""A fake chat backend for tests: the chat signature once, each test says only how it answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llm import ChatResult, Message


class FakeChatBackend:
    """Takes the backend's chat call and hands the messages to :meth:`answer`; closing does nothing."""

    name = "fake"

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Any = None,
    ) -> ChatResult:
        return await self.answer(messages)

    async def answer(self, messages: Sequence[Message]) -> ChatResult:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None
