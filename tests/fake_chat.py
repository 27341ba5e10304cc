"""A fake chat backend for tests: the chat signature once, each test says only how it answers."""

from __future__ import annotations

from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

from llm import Call, ChatResult, Format, Message


class FakeChatBackend:
    """Takes the backend's chat call and hands it to :meth:`reply` (by default, the messages to :meth:`answer`).

    Closing does nothing.
    """

    name = "fake"

    def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Format | None = None,
    ) -> Coroutine[Any, Any, ChatResult]:
        return self.reply(Call(operation="chat", model=model, messages=messages, options=options, format=format))

    def reply(self, call: Call) -> Coroutine[Any, Any, ChatResult]:
        """The answer to ``call``, made when ``chat`` is called; override it to see the model, options or format."""
        return self.answer(call.messages)

    async def answer(self, messages: Sequence[Message]) -> ChatResult:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None
