"""Asking the LLM about one message: the protected chat call, and what it left behind.

The reply route and the deferred replies both ask this way; each turns the :class:`Answer` into
its own rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

from agent._call_rows import CallRecord
from agent._prompts import SYSTEM_PROMPT
from agent._protect import Protection, protect
from llm import ChatResult, Format, LLMBackend, Message, RecordingBackend
from operators import Fallback
from streams import from_coroutine

__all__ = ["Answer", "ReplyPolicy", "ask", "plain_prompt"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyPolicy:
    """How the being answers.

    Args:
        model: the chat model (``None``: the backend's configured one).
        options: generation options laid over the backend's.
        system_prompt: who the being is.
        max_concurrent: replies being computed at once.
    """

    model: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    system_prompt: str = SYSTEM_PROMPT
    max_concurrent: int = 1

    def __post_init__(self) -> None:
        if self.max_concurrent < 1:
            raise ValueError(f"ReplyPolicy.max_concurrent: expected >= 1, got {self.max_concurrent}")


@dataclass(frozen=True, slots=True)
class Answer:
    """How one protected call ended.

    Attributes:
        result: the LLM's answer, a fallback that stood in, or ``None`` (skipped, or failed).
        error: the error when the call failed and no fallback rule took it.
        record: the call's dead letters and exchanges.
    """

    result: ChatResult | Fallback[ChatResult] | None
    error: Exception | None
    record: CallRecord


def plain_prompt(text: str, policy: ReplyPolicy) -> tuple[Message, ...]:
    """The system prompt and ``text`` alone: a prompt with no context."""
    return (Message.system(policy.system_prompt), Message.user(text))


def ask(
    messages: Sequence[Message],
    *,
    backend: LLMBackend,
    protection: Protection[ChatResult],
    policy: ReplyPolicy,
    recording: bool,
    format: Format | None = None,
    record: CallRecord | None = None,
) -> Observable[Answer]:
    """A cold observable of one :class:`Answer` to ``messages`` (never an error: a failure is an answer too).

    ``format`` asks for JSON (``"json"``) or JSON matching a schema; it is part of the request, so
    the cache and the recording tell a schema-bound call from a free one. ``record`` collects the
    call's dead letters and exchanges (default: a fresh one per subscription); a caller that may
    dispose the call before it answers (a step's time limit) gives its own, to keep what it left.
    """
    messages = tuple(messages)
    given = record
    request: dict[str, Any] = {
        "operation": "chat",
        "model": policy.model,
        "options": dict(policy.options),
        "messages": [{"role": m.role, "content": m.content} for m in messages],
    }
    if format is not None:
        request["format"] = format

    def build(_scheduler: abc.SchedulerBase) -> Observable[Answer]:
        record = given if given is not None else CallRecord()
        answering = RecordingBackend(backend, record) if recording else backend

        def call() -> Any:
            return answering.chat(messages, model=policy.model, options=policy.options or None, format=format)

        def answered(result: ChatResult | Fallback[ChatResult]) -> Answer:
            return Answer(result, None, record)

        def failed(error: Exception, _: Observable[Answer]) -> Observable[Answer]:
            return reactivex.just(Answer(None, error, record))

        protected = protect(from_coroutine(call), protection, request=request, on_dead_letter=record.dead_letter)
        return protected.pipe(ops.map(answered), ops.default_if_empty(Answer(None, None, record)), ops.catch(failed))

    return reactivex.defer(build)
