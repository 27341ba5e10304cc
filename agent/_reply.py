"""The reply route: each user message gets an answer from the LLM, through every protection.

``user.message``/``user.urgent`` → chat(system prompt, message) inside ``protect`` → a
``user.reply`` episode. What the episode's outcome says:

- ``success``: the LLM answered (its text, model and usage are in ``data``);
- ``fallback``: the call failed and a fallback stood in: a last good answer to the same request,
  or a text that says honestly why there is no answer (``data.fallback.cause``: the LLM cannot be
  reached, is too slow, is overloaded, the budget is spent until a time, the breaker rests until a
  time, the reply was unusable) and promises a real one; the promise is kept by a second
  ``user.reply`` with outcome ``deferred`` (``agent._deferred``);
- ``skipped``: the call failed and the fallback rule said skip;
- ``failure``: the call failed and no fallback was configured (``data.error``).

So every message leaves exactly one reply episode, whatever the LLM did, and the route never
ends the pipeline. Before the episode come the rows the call left: the dead letter of a failure
that a fallback replaced, and (with a recorder) every exchange with the LLM, retries included.
They travel down the message's own stream. The reply episode comes last and carries the
message's event id: it is what acknowledges an inbox message (see ``agent.wire_pipeline``), so a
message is not let go before it is answered and its call recorded.

A message read again after a crash (``recovered``) whose reply is already stored is not sent to
the LLM again: the route asks ``answered`` (the database, live) and remembers what it answered
itself (a replay), and acknowledges the message with no new row. Calls run at most
``max_concurrent`` at a time through a priority lane (``operators.priority_merge``): when a slot
frees, a waiting ``user.urgent`` goes before every waiting ``user.message``.

With a context builder (``Replier.context``) a reply's prompt holds the being's memory: the
persona, the memory blocks, the last exchanges with the message's sender and what is recalled for
the message, within a character budget (``agent.context``); the reply episode's ``data.context``
records how many characters each section kept and what was cut (not the text itself). Without
one, the prompt is the system prompt and the message alone.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.scheduler import CurrentThreadScheduler

from agent._answer import Answer, ReplyPolicy, ask, plain_prompt
from agent._deferred import DeferPolicy, PendingReply, deferred_replies
from agent._fallback_texts import explain_failure
from agent._id_window import IdWindow
from agent._prompts import FALLBACK_REPLY
from agent._protect import Protection
from agent._recorder import Recorder
from agent._routes import REPLY, USER_TYPES, shorten
from agent.context import ContextBuilder, sender_of
from llm import ChatResult, LLMBackend, Message
from operators import Fallback, priority_merge
from sinks import Acknowledgement, EpisodeRow, Row
from streams import Event, from_coroutine, stable_id

__all__ = ["REPLY", "Replier", "ReplyPolicy", "fallback_chat_result", "reply_id", "reply_route"]

_REMEMBERED = 65_536  # ids of messages answered in this run, for recovered copies met again (a replay)


def reply_id(event_id: str) -> str:
    """The id of the reply to the message of ``event_id`` (one per message)."""
    return stable_id(event_id, REPLY)


def fallback_chat_result(text: str = FALLBACK_REPLY) -> ChatResult:
    """The stand-in answer a fallback rule gives when the LLM cannot (the route words it by cause)."""
    return ChatResult(model="fallback", content=text, done_reason="fallback")


@dataclass(frozen=True, slots=True, kw_only=True)
class Replier:
    """What the reply route needs.

    Args:
        backend: what answers.
        protection: the state of the layers every call goes through.
        policy: model, options, prompt and concurrency.
        answered: whether a reply id is already stored (``None``: only what this run answered counts).
        defer: when fallbacks are asked again (``None``: never).
        waiting: messages a previous run left with a fallback, oldest first.
        context: builds each prompt from the being's memory (``None``: the system prompt and
            the message alone).
    """

    backend: LLMBackend
    protection: Protection[ChatResult]
    policy: ReplyPolicy
    answered: Callable[[str], Coroutine[Any, Any, bool]] | None = None
    defer: DeferPolicy | None = None
    waiting: Sequence[PendingReply] = ()
    context: ContextBuilder | None = None


def _text(event: Event) -> str:
    return str(event.payload.get("text", ""))


def _reply_episode(
    event: Event, now: Any, outcome: str, text: str, data: dict[str, Any], context: dict[str, Any] | None
) -> EpisodeRow:
    if context is not None:
        data = {**data, "context": context}
    return EpisodeRow(
        id=reply_id(event.id),
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


def _episode_of(event: Event, answer: Answer, now: Any, context: dict[str, Any] | None) -> EpisodeRow:
    result = answer.result
    if isinstance(result, Fallback):
        fallback: dict[str, Any] = {"kind": result.kind, "reason": result.reason, "error": str(result.error)}
        text = result.value.content
        if result.kind == "value":
            fallback["cause"], text = explain_failure(result.error, now)
        return _reply_episode(event, now, "fallback", text, {"fallback": fallback}, context)
    if isinstance(result, ChatResult):
        usage = result.usage
        data: dict[str, Any] = {
            "reply": result.content,
            "model": result.model,
            "done_reason": result.done_reason,
            "prompt_tokens": usage.prompt_tokens,
            "output_tokens": usage.output_tokens,
        }
        return _reply_episode(event, now, "success", result.content, data, context)
    if answer.error is not None:
        error = answer.error
        text = f"no reply: {type(error).__name__}: {error}"
        details = {"error": {"type": type(error).__name__, "message": str(error)}}
        return _reply_episode(event, now, "failure", text, details, context)
    return _reply_episode(event, now, "skipped", "no reply: the call failed and was skipped", {}, context)


def _urgency(event: Event) -> int:
    return 1 if event.type == "user.urgent" else 0


def _burst(rows: list[Row]) -> Observable[Row]:
    return reactivex.from_iterable(rows, scheduler=CurrentThreadScheduler.singleton())


def reply_route(events: Observable[Event], replier: Replier, *, recorder: Recorder | None = None) -> Observable[Row]:
    """User messages → each one's call rows, then its reply episode; and the deferred replies (module docstring).

    Args:
        events: the shared event stream (only user messages are taken).
        replier: the backend, its protection and the policies.
        recorder: records each exchange with the LLM (``None``: nothing recorded).
    """
    rules = replier.policy
    answered_here = IdWindow(_REMEMBERED)

    def remember(event_id: str) -> None:
        answered_here.add(event_id)

    def prompt(event: Event) -> tuple[tuple[Message, ...], dict[str, Any] | None]:
        if replier.context is None:
            return plain_prompt(_text(event), rules), None
        sender = sender_of(event)
        messages, context = replier.context.reply_prompt(_text(event), sender=sender, system_prompt=rules.system_prompt)
        return messages, context.summary()

    def answer(event: Event) -> Observable[Row]:
        def build(scheduler: abc.SchedulerBase) -> Observable[Row]:
            # the prompt is built when the call starts, from what the memory holds by then
            messages, context = prompt(event)

            def to_rows(answer: Answer) -> Observable[Row]:
                now = scheduler.now
                remember(event.id)
                # the acknowledging episode comes last: a crash before it is stored re-answers the message
                return _burst([*answer.record.rows(now, recorder), _episode_of(event, answer, now, context)])

            asked = ask(
                messages,
                backend=replier.backend,
                protection=replier.protection,
                policy=rules,
                recording=recorder is not None,
            )
            return asked.pipe(ops.flat_map(to_rows))

        return reactivex.defer(build)

    def answer_once(event: Event) -> Observable[Row]:
        if not event.payload.get("recovered", False):
            return answer(event)
        done: Observable[Row] = reactivex.just(Acknowledgement(event.id), CurrentThreadScheduler.singleton())
        if event.id in answered_here:
            return done
        lookup = replier.answered
        if lookup is None:
            return answer(event)

        def decide(stored: bool) -> Observable[Row]:
            return done if stored else answer(event)

        return from_coroutine(lambda: lookup(reply_id(event.id))).pipe(ops.flat_map(decide))

    trace = replier.protection.trace

    def traced(event: Event) -> Observable[Row]:
        return trace.route("reply", event.id, answer_once(event))

    wanted: Callable[[Event], bool] = lambda event: event.type in USER_TYPES  # noqa: E731
    # urgent messages overtake the normal ones still waiting for a free slot (FIFO within each)
    lane = priority_merge(
        traced,
        max_concurrent=rules.max_concurrent,
        priority=_urgency,
        name="reply",
        listener=replier.protection.listener,
    )
    replies = events.pipe(ops.filter(wanted), lane)
    if replier.defer is None:
        return replies
    return deferred_replies(
        replies,
        events,
        backend=replier.backend,
        protection=replier.protection,
        policy=rules,
        defer=replier.defer,
        recorder=recorder,
        waiting=replier.waiting,
        context=replier.context,
    )
