"""The reply route: call rows before the reply, honest fallbacks, recovered messages asked once, deferred replies."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler
from reactivex.subject import Subject

from agent import (
    DeferPolicy,
    PendingReply,
    Protection,
    ProtectPolicies,
    Recorder,
    Replier,
    ReplyPolicy,
    deferred_id,
    reply_id,
    reply_route,
)
from agent._reply import fallback_chat_result
from llm import ChatResult, Message, ServerError, TransportError
from operators import FallbackPolicy, FallbackRule, RetryPolicy
from sinks import Acknowledgement, DeadLetterRow, EpisodeRow, ExchangeRow, Row
from streams import LIGHT_TICK, Event
from tests.fake_chat import FakeChatBackend
from tests.support import until

T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Backend(FakeChatBackend):
    """Fails the first ``failures`` calls (with ``error``), then answers; counts every call."""

    name = "scripted"

    def __init__(self, failures: int = 1_000_000, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or ServerError("boom", status=500)
        self.calls: list[str] = []

    async def answer(self, messages: Sequence[Message]) -> ChatResult:
        self.calls.append(messages[-1].content)
        if len(self.calls) <= self.failures:
            raise self.error
        return ChatResult(model="m", content=f"real answer to {messages[-1].content}")

    async def embed(self, texts: Sequence[str], *, model: str | None = None) -> Any:
        raise NotImplementedError


def _protection(retries: int = 2) -> Protection[ChatResult]:
    return Protection(
        ProtectPolicies(
            timeout_s=None,
            rate_limit=None,
            budget=None,
            cache=None,
            breaker=None,
            retry=RetryPolicy(max_attempts=retries, base_delay_s=0.0, max_delay_s=0.0, jitter=False),
        ),
        name="llm",
        fallback=FallbackPolicy(rules=(FallbackRule(value=fallback_chat_result()),)),
    )


def _message(n: int, *, recovered: bool = False) -> Event:
    payload = {"text": f"hello {n}", "recovered": recovered}
    return Event(id=f"m{n}", type="user.message", time=T0, source="inbox", payload=payload)


class Route:
    """The reply route subscribed on the running loop, its rows collected."""

    def __init__(self, replier: Replier, recorder: Recorder | None = None) -> None:
        loop = asyncio.get_running_loop()
        self.events: Subject[Event] = Subject()
        self.rows: list[Row] = []
        self.done: asyncio.Future[None] = loop.create_future()
        reply_route(self.events, replier, recorder=recorder).subscribe(
            on_next=self.rows.append,
            on_error=lambda e: loop.call_soon_threadsafe(self.done.set_exception, e),
            on_completed=lambda: loop.call_soon_threadsafe(self.done.set_result, None),
            scheduler=AsyncIOThreadSafeScheduler(loop),
        )

    async def ticks_until(self, condition: Any, what: str) -> None:
        """Light ticks a minute apart (from the loop's clock, as the replies' times) until ``condition`` holds."""
        base = datetime.now(UTC)
        for n in range(1, 500):
            if condition():
                return
            self.tick(base + timedelta(minutes=n))
            await until(lambda: True)
            for _ in range(20):
                await asyncio.sleep(0)
        raise AssertionError(f"ticks ran out waiting for {what}")

    def tick(self, when: datetime) -> None:
        self.events.on_next(Event(id=f"t{when.isoformat()}", type=LIGHT_TICK, time=when, source="ticks"))

    def episodes(self, outcome: str | None = None) -> list[EpisodeRow]:
        return [r for r in self.rows if isinstance(r, EpisodeRow) and outcome in (None, r.outcome)]

    async def finish(self) -> None:
        self.events.on_completed()
        await asyncio.wait_for(self.done, timeout=10)


async def test_a_fallback_leaves_its_dead_letter_and_every_try_before_the_reply() -> None:
    backend = Backend()
    route = Route(Replier(backend=backend, protection=_protection(), policy=ReplyPolicy()), Recorder("run"))
    route.events.on_next(_message(1))
    await route.finish()
    assert len(backend.calls) == 2  # the first try and one retry
    assert [type(r) for r in route.rows] == [DeadLetterRow, ExchangeRow, ExchangeRow, EpisodeRow]
    letter, first, second, reply = route.rows
    assert isinstance(letter, DeadLetterRow) and letter.source == "llm:llm" and "ServerError" in letter.reason
    assert isinstance(first, ExchangeRow) and isinstance(second, ExchangeRow)
    assert first.error is not None and second.error is not None and first.seq < second.seq
    assert isinstance(reply, EpisodeRow) and reply.outcome == "fallback" and reply.event_id == "m1"


async def test_each_message_s_rows_come_together_and_its_reply_closes_them() -> None:
    route = Route(Replier(backend=Backend(), protection=_protection(), policy=ReplyPolicy(max_concurrent=2)))
    route.events.on_next(_message(1))
    route.events.on_next(_message(2))
    await route.finish()
    groups: dict[str, list[str]] = {}
    pending: list[str] = []
    for row in route.rows:
        if isinstance(row, EpisodeRow):
            groups[str(row.event_id)] = [*pending, "reply"]
            pending = []
        else:
            pending.append(type(row).__name__)
    assert groups == {"m1": ["DeadLetterRow", "reply"], "m2": ["DeadLetterRow", "reply"]}


async def test_each_cause_gets_its_own_text_and_the_promise() -> None:
    backend = Backend(error=TransportError("connection refused"))
    route = Route(Replier(backend=backend, protection=_protection(1), policy=ReplyPolicy()))
    route.events.on_next(_message(1))
    await route.finish()
    (reply,) = route.episodes("fallback")
    assert reply.data["fallback"]["cause"] == "unreachable"
    assert "cannot reach my language model" in reply.description
    assert "answer it for real" in reply.description


async def test_a_recovered_message_whose_reply_is_stored_is_acknowledged_not_asked_again() -> None:
    asked: list[str] = []

    async def answered(episode_id: str) -> bool:
        asked.append(episode_id)
        return episode_id == reply_id("m1")

    backend = Backend(failures=0)
    route = Route(Replier(backend=backend, protection=_protection(), policy=ReplyPolicy(), answered=answered))
    route.events.on_next(_message(1, recovered=True))  # answered before the crash
    route.events.on_next(_message(2, recovered=True))  # read, but never answered
    route.events.on_next(_message(3))  # new: no lookup at all
    await route.finish()
    assert asked == [reply_id("m1"), reply_id("m2")]
    assert sorted(backend.calls) == ["hello 2", "hello 3"]
    assert Acknowledgement("m1") in route.rows
    assert sorted(str(r.event_id) for r in route.episodes("success")) == ["m2", "m3"]


async def test_a_recovered_copy_of_a_message_answered_in_this_run_is_not_asked_again() -> None:
    """What a replay of a recording with a crash recovery in it meets: the same id twice in one run."""
    backend = Backend(failures=0)
    route = Route(Replier(backend=backend, protection=_protection(), policy=ReplyPolicy()))
    route.events.on_next(_message(1))
    await until(lambda: bool(route.episodes("success")), what="the first answer")
    route.events.on_next(_message(1, recovered=True))
    await route.finish()
    assert backend.calls == ["hello 1"]
    assert route.rows[-1] == Acknowledgement("m1")


async def test_a_fallback_is_answered_for_real_once_the_llm_is_back_and_only_once() -> None:
    backend = Backend(failures=2)  # the reply's two tries fail; the LLM is back for the deferred ask
    replier = Replier(
        backend=backend,
        protection=_protection(),
        policy=ReplyPolicy(),
        defer=DeferPolicy(interval_s=0.01),
    )
    route = Route(replier)
    route.events.on_next(_message(1))
    await until(lambda: bool(route.episodes("fallback")), what="the fallback")
    await route.ticks_until(lambda: bool(route.episodes("deferred")), what="the deferred reply")
    route.events.on_next(_message(2))  # answered at once now
    await until(lambda: bool(route.episodes("success")), what="the second answer")
    await route.finish()
    (deferred,) = route.episodes("deferred")
    assert deferred.id == deferred_id("m1") and deferred.type == "user.reply"
    assert deferred.data["reply"] == "real answer to hello 1"
    assert deferred.data["fallback_id"] == reply_id("m1")
    assert deferred.event_id is None and deferred.may_exist  # the fallback already acknowledged the message
    assert backend.calls == ["hello 1", "hello 1", "hello 1", "hello 2"]


async def test_messages_a_previous_run_left_waiting_are_answered_oldest_first() -> None:
    waiting = [
        PendingReply(event_id=f"old{n}", text=f"old {n}", urgent=False, fallback_id=f"f{n}", time=T0 + timedelta(n))
        for n in range(3)
    ]
    backend = Backend(failures=0)
    route = Route(
        Replier(
            backend=backend,
            protection=_protection(),
            policy=ReplyPolicy(),
            defer=DeferPolicy(interval_s=0.01),
            waiting=waiting,
        )
    )
    await route.ticks_until(lambda: len(route.episodes("deferred")) == 3, what="three deferred replies")
    await route.finish()
    assert backend.calls == ["old 0", "old 1", "old 2"]


async def test_while_the_llm_stays_down_a_waiting_message_keeps_its_place() -> None:
    backend = Backend()
    route = Route(
        Replier(backend=backend, protection=_protection(1), policy=ReplyPolicy(), defer=DeferPolicy(interval_s=0.01))
    )
    route.events.on_next(_message(1))
    await until(lambda: bool(route.episodes("fallback")), what="the fallback")
    await route.ticks_until(lambda: len(backend.calls) >= 4, what="a few deferred tries")
    await route.finish()
    assert route.episodes("deferred") == []
    assert set(backend.calls) == {"hello 1"}
    # the fallback's dead letter records the failure; the tries after it add none
    assert [type(r) for r in route.rows].count(DeadLetterRow) == 1


async def test_tries_follow_the_ticks_own_times() -> None:
    """Ticks 10 s apart with interval_s = 30: one try per three ticks, whatever the machine's clock does."""
    backend = Backend()
    route = Route(
        Replier(backend=backend, protection=_protection(1), policy=ReplyPolicy(), defer=DeferPolicy(interval_s=30.0))
    )
    route.events.on_next(_message(1))
    await until(lambda: bool(route.episodes("fallback")), what="the fallback")
    base = route.episodes("fallback")[0].time
    for n in range(1, 10):  # ticks 10 s ... 90 s after the fallback
        route.tick(base + timedelta(seconds=10 * n))
        await until(lambda: True)
        for _ in range(50):
            await asyncio.sleep(0)
    await route.finish()
    assert len(backend.calls) == 1 + 3  # the reply, then tries at +30, +60 and +90 s


async def test_an_urgent_message_overtakes_the_normal_ones_waiting_for_a_slot() -> None:
    gate = asyncio.Event()
    calls: list[str] = []

    class Gated(Backend):
        async def chat(self, messages: Sequence[Message], **kwargs: Any) -> ChatResult:
            calls.append(messages[-1].content)
            await gate.wait()
            return ChatResult(model="m", content="ok")

    route = Route(Replier(backend=Gated(), protection=_protection(), policy=ReplyPolicy(max_concurrent=1)))
    for n in range(21):
        route.events.on_next(_message(n))
    urgent = Event(id="u", type="user.urgent", time=T0, source="inbox", payload={"text": "fire"})
    route.events.on_next(urgent)
    await until(lambda: calls == ["hello 0"], what="the first call")
    gate.set()
    await until(lambda: len(route.episodes("success")) == 22, what="every answer")
    await route.finish()
    assert calls[:2] == ["hello 0", "fire"]
    assert calls[2:] == [f"hello {n}" for n in range(1, 21)]
