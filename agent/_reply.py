"""The reply route: each user message gets an answer from the LLM, through every protection.

``user.message``/``user.urgent`` → chat(system prompt, message) inside ``protect`` → a
``user.reply`` episode. What the episode's outcome says:

- ``success``: the LLM answered (its text, model and usage are in ``data``);
- ``fallback``: the call failed and a fallback stood in (``data.fallback`` says which and why);
- ``skipped``: the call failed and the fallback rule said skip;
- ``failure``: the call failed and no fallback was configured (``data.error``).

So every message leaves exactly one reply episode, whatever the LLM did, and the route never
ends the pipeline. Before the episode come the rows the call left: the dead letter of a failure
that a fallback replaced, and (with a recorder) every exchange with the LLM, retries included.
They travel down the message's own stream, so they are in the same batch as the reply or an
earlier one. The reply episode comes last and carries the message's event id: it is what
acknowledges an inbox message (see ``agent.wire_pipeline``), so a message is not let go before
it is answered and its call recorded. Calls run at most ``max_concurrent`` at a time
(``merge(max_concurrent)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.scheduler import CurrentThreadScheduler

from agent._call_rows import CallRecord
from agent._prompts import FALLBACK_REPLY, SYSTEM_PROMPT
from agent._protect import Protection, protect
from agent._recorder import Recorder
from agent._routes import USER_TYPES, shorten
from llm import ChatResult, LLMBackend, Message, RecordingBackend
from operators import Fallback
from sinks import EpisodeRow, Row
from streams import Event, from_coroutine, stable_id

__all__ = ["REPLY", "ReplyPolicy", "fallback_chat_result", "reply_route"]

REPLY = "user.reply"


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
    max_concurrent: int = 2

    def __post_init__(self) -> None:
        if self.max_concurrent < 1:
            raise ValueError(f"ReplyPolicy.max_concurrent: expected >= 1, got {self.max_concurrent}")


def fallback_chat_result(text: str = FALLBACK_REPLY) -> ChatResult:
    """The stand-in answer a fallback rule gives when the LLM cannot."""
    return ChatResult(model="fallback", content=text, done_reason="fallback")


def _text(event: Event) -> str:
    return str(event.payload.get("text", ""))


def _reply_episode(event: Event, now: Any, outcome: str, text: str, data: dict[str, Any]) -> EpisodeRow:
    return EpisodeRow(
        id=stable_id(event.id, REPLY),
        time=now,
        type=REPLY,
        description=shorten(text),
        outcome=outcome,
        data={"event_id": event.id, "message": _text(event), "urgent": event.type == "user.urgent", **data},
        # The reply, not the message's own episode, acknowledges the message: a crash before the
        # reply is stored leaves the inbox claim in place, and the restart answers it.
        event_id=event.id,
        may_exist=bool(event.payload.get("recovered", False)),
    )


def reply_route(
    events: Observable[Event],
    backend: LLMBackend,
    protection: Protection[ChatResult],
    policy: ReplyPolicy | None = None,
    *,
    recorder: Recorder | None = None,
) -> Observable[Row]:
    """User messages → each one's call rows, then its reply episode (see the module docstring).

    Args:
        events: the shared event stream (only user messages are taken).
        backend: what answers.
        protection: the state of the layers every call goes through.
        policy: model, options, prompt and concurrency.
        recorder: records each exchange with the LLM (``None``: nothing recorded).
    """
    rules = policy or ReplyPolicy()

    def answer(event: Event) -> Observable[Row]:
        messages = (Message.system(rules.system_prompt), Message.user(_text(event)))
        request = {
            "operation": "chat",
            "model": rules.model,
            "options": dict(rules.options),
            "messages": [{"role": m.role, "content": m.content} for m in messages],
        }

        def build(scheduler: abc.SchedulerBase) -> Observable[Row]:
            record = CallRecord()
            answering = RecordingBackend(backend, record) if recorder is not None else backend

            def call() -> Any:
                return answering.chat(messages, model=rules.model, options=rules.options or None)

            def to_episode(result: ChatResult | Fallback[ChatResult]) -> EpisodeRow:
                if isinstance(result, Fallback):
                    fallback = {"kind": result.kind, "reason": result.reason, "error": str(result.error)}
                    text = result.value.content
                    return _reply_episode(event, scheduler.now, "fallback", text, {"fallback": fallback})
                usage = result.usage
                data: dict[str, Any] = {
                    "reply": result.content,
                    "model": result.model,
                    "done_reason": result.done_reason,
                    "prompt_tokens": usage.prompt_tokens,
                    "output_tokens": usage.output_tokens,
                }
                return _reply_episode(event, scheduler.now, "success", result.content, data)

            def failed(error: Exception, _: Observable[EpisodeRow]) -> Observable[EpisodeRow]:
                text = f"no reply: {type(error).__name__}: {error}"
                data = {"error": {"type": type(error).__name__, "message": str(error)}}
                return reactivex.just(_reply_episode(event, scheduler.now, "failure", text, data))

            def with_call_rows(episode: EpisodeRow) -> Observable[Row]:
                # the acknowledging episode comes last: a crash before it is stored re-answers the message
                rows = [*record.rows(scheduler.now, recorder), episode]
                return reactivex.from_iterable(rows, scheduler=CurrentThreadScheduler.singleton())

            skipped = _reply_episode(event, scheduler.now, "skipped", "no reply: the call failed and was skipped", {})
            protected = protect(from_coroutine(call), protection, request=request, on_dead_letter=record.dead_letter)
            return protected.pipe(
                ops.map(to_episode),
                ops.default_if_empty(skipped),
                ops.catch(failed),
                ops.flat_map(with_call_rows),
            )

        return reactivex.defer(build)

    wanted: Callable[[Event], bool] = lambda event: event.type in USER_TYPES  # noqa: E731
    return events.pipe(ops.filter(wanted), ops.map(answer), ops.merge(max_concurrent=rules.max_concurrent))
