"""Deferred replies: a message answered with a fallback is answered for real once the LLM is back.

The reply route tells this one of every fallback it gave (and, at start, the runtime of those a
previous run left unanswered). On the first light tick at least ``interval_s`` after the last try,
the oldest waiting message is asked again, through the same protection as any reply (an open
breaker refuses at once and costs nothing; the budget counts the call). A real answer becomes a
second ``user.reply`` episode with outcome ``deferred``, and the next waiting message is asked at
once; a failure leaves the queue as it is until the next try. Each message is answered this way at
most once (its deferred episode has a stable id, written with ``may_exist``), oldest first, one at
a time. A failed try leaves no new dead letter (the fallback's own dead letter is the record of
the failure; the listener counts every try), but its exchanges are recorded like any call's.

Tries follow the light ticks' own times, not a timer of their own: ticks are recorded events, so
a replay tries at the same instants as the live run did, asks the recording for the same
exchanges in the same order, and gives the same episodes every time. The route ends when the
replies it passes on end (the sources stopped) and no deferred call is in flight; what still
waits is asked again on the next start.

With a context builder the question asked again is built like any reply's (``agent.context``):
the exchanges with the message's sender, leaving out the message's own, unanswered one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, SerialDisposable

from agent._answer import Answer, ReplyPolicy, ask, plain_prompt
from agent._protect import Protection
from agent._recorder import Recorder
from agent._routes import REPLY, shorten
from agent.context import ContextBuilder
from llm import ChatResult, LLMBackend, Message
from sinks import EpisodeRow, Row
from streams import LIGHT_TICK, Event, stable_id

__all__ = ["DEFERRED", "DeferPolicy", "PendingReply", "deferred_id", "deferred_replies"]

DEFERRED = "deferred"


def deferred_id(event_id: str) -> str:
    """The id of the deferred reply to the message of ``event_id`` (one per message)."""
    return stable_id(event_id, REPLY, DEFERRED)


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingReply:
    """A message that got a fallback and waits for a real answer."""

    event_id: str
    text: str
    urgent: bool
    fallback_id: str
    time: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DeferPolicy:
    """When waiting messages are asked again.

    Args:
        interval_s: the oldest waiting message is asked again on the first light tick this long
            after the last try.
        max_pending: messages kept waiting in memory; more are asked again on the next start.
    """

    interval_s: float = 30.0
    max_pending: int = 1000

    def __post_init__(self) -> None:
        if not self.interval_s > 0:
            raise ValueError(f"DeferPolicy.interval_s: expected seconds > 0, got {self.interval_s}")
        if self.max_pending < 1:
            raise ValueError(f"DeferPolicy.max_pending: expected >= 1, got {self.max_pending}")


def pending_of(row: Row) -> PendingReply | None:
    """The waiting message a reply row stands for: a fallback of a fixed value (a stale answer is an answer)."""
    if not (isinstance(row, EpisodeRow) and row.type == REPLY and row.outcome == "fallback"):
        return None
    fallback = row.data.get("fallback")
    if not isinstance(fallback, dict) or fallback.get("kind") != "value":
        return None
    return PendingReply(
        event_id=str(row.data.get("event_id", "")),
        text=str(row.data.get("message", "")),
        urgent=bool(row.data.get("urgent", False)),
        fallback_id=row.id,
        time=row.time,
    )


def _episode(pending: PendingReply, result: ChatResult, now: datetime, context: dict[str, Any] | None) -> EpisodeRow:
    usage = result.usage
    data: dict[str, Any] = {
        "event_id": pending.event_id,
        "message": pending.text,
        "urgent": pending.urgent,
        "reply": result.content,
        "model": result.model,
        "done_reason": result.done_reason,
        "prompt_tokens": usage.prompt_tokens,
        "output_tokens": usage.output_tokens,
        "fallback_id": pending.fallback_id,
        "waited_s": max(0.0, (now - pending.time).total_seconds()),
    }
    if context is not None:
        data["context"] = context
    return EpisodeRow(
        id=deferred_id(pending.event_id),
        time=now,
        type=REPLY,
        description=shorten(result.content),
        outcome=DEFERRED,
        data=data,
        may_exist=True,  # a restart may ask again for a message whose deferred reply was just stored
    )


def deferred_replies(
    replies: Observable[Row],
    ticks: Observable[Event],
    *,
    backend: LLMBackend,
    protection: Protection[ChatResult],
    policy: ReplyPolicy,
    defer: DeferPolicy,
    recorder: Recorder | None = None,
    waiting: Sequence[PendingReply] = (),
    context: ContextBuilder | None = None,
) -> Observable[Row]:
    """``replies`` passed on unchanged, and the deferred replies to their fallbacks (and ``waiting``).

    One subscription to ``replies``: every row goes on as it came, and the fallbacks among them
    join the queue, so no row can be missed between two subscribers.

    Args:
        replies: the reply route's rows (its fallbacks are what waits); the result ends after it.
        ticks: the light ticks (their times pace the tries).
        backend, protection, policy: as for the replies themselves.
        defer: how often and how many.
        recorder: records each exchange (``None``: nothing recorded).
        waiting: messages a previous run left waiting, oldest first.
        context: builds each prompt from the being's memory (``None``: the system prompt and the
            message alone).
    """

    def prompt(pending: PendingReply) -> tuple[tuple[Message, ...], dict[str, Any] | None]:
        if context is None:
            return plain_prompt(pending.text, policy), None
        sender = context.memory.sender_of_message(pending.event_id) or ""
        messages, built = context.reply_prompt(
            pending.text, sender=sender, system_prompt=policy.system_prompt, leave_out=pending.event_id
        )
        return messages, built.summary()

    def subscribe(observer: abc.ObserverBase[Row], scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        clock = scheduler or reactivex.scheduler.TimeoutScheduler.singleton()
        queue: deque[PendingReply] = deque(waiting[: defer.max_pending])
        known = {p.event_id for p in queue}
        state = {"busy": False, "ended": False}
        last_try: list[datetime] = []
        call = SerialDisposable()
        pacing = SerialDisposable()

        def finish_if_done() -> None:
            if state["ended"] and not state["busy"]:
                pacing.dispose()
                observer.on_completed()

        def attempt() -> None:
            if state["busy"] or state["ended"] or not queue:
                return
            pending = queue[0]
            state["busy"] = True
            messages, built = prompt(pending)

            def done(answer: Answer) -> None:
                now = clock.now
                result = answer.result
                real = isinstance(result, ChatResult)
                rows = answer.record.rows(now, recorder, letters=False)
                if real:
                    assert isinstance(result, ChatResult)
                    queue.popleft()
                    known.discard(pending.event_id)
                    rows.append(_episode(pending, result, now, built))
                for row in rows:
                    observer.on_next(row)
                state["busy"] = False
                if real and not state["ended"]:
                    clock.schedule(lambda _s, _st: attempt())  # the LLM is back: the next one at once
                finish_if_done()

            asking = ask(
                messages,
                backend=backend,
                protection=protection,
                policy=policy,
                recording=recorder is not None,
            )
            asking = protection.trace.route("deferred", pending.event_id, asking)
            call.disposable = asking.subscribe(on_next=done, on_error=observer.on_error, scheduler=scheduler)

        def on_tick(tick: Event) -> None:
            if tick.type != LIGHT_TICK or state["busy"] or not queue:
                return
            since = max([queue[0].time, *last_try])  # not sooner than interval_s after the fallback itself
            if (tick.time - since).total_seconds() < defer.interval_s:
                return
            last_try[:] = [tick.time]
            attempt()

        def on_reply(row: Row) -> None:
            observer.on_next(row)
            pending = pending_of(row)
            if pending is None or pending.event_id in known or len(queue) >= defer.max_pending:
                return
            queue.append(pending)
            known.add(pending.event_id)

        def on_replies_completed() -> None:
            state["ended"] = True
            finish_if_done()

        pacing.disposable = ticks.subscribe(on_next=on_tick, on_error=observer.on_error, scheduler=scheduler)
        listening = replies.subscribe(
            on_next=on_reply, on_error=observer.on_error, on_completed=on_replies_completed, scheduler=scheduler
        )
        return CompositeDisposable(listening, call, pacing)

    return Observable(subscribe)
