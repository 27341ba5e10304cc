"""The reply route: a call's dead letters and exchanges travel down the message's own stream, before its reply."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import reactivex
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler

from agent import Protection, ProtectPolicies, Recorder, ReplyPolicy, reply_route
from agent._reply import fallback_chat_result
from llm import ChatResult, Message, ServerError
from operators import FallbackPolicy, FallbackRule, RetryPolicy
from sinks import DeadLetterRow, EpisodeRow, ExchangeRow, Row
from streams import Event

T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Failing:
    """Fails every call with a server error (retryable), counting the calls."""

    name = "failing"

    def __init__(self) -> None:
        self.calls = 0

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        format: Any = None,
    ) -> ChatResult:
        self.calls += 1
        raise ServerError("boom", status=500)

    async def embed(self, texts: Sequence[str], *, model: str | None = None) -> Any:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def _message(n: int) -> Event:
    return Event(id=f"m{n}", type="user.message", time=T0, source="inbox", payload={"text": f"hello {n}"})


async def _rows(events: list[Event], recorder: Recorder | None) -> tuple[list[Row], Failing]:
    loop = asyncio.get_running_loop()
    backend = Failing()
    protection: Protection[ChatResult] = Protection(
        ProtectPolicies(
            timeout_s=None,
            rate_limit=None,
            budget=None,
            cache=None,
            breaker=None,
            retry=RetryPolicy(max_attempts=2, base_delay_s=0.0, max_delay_s=0.0, jitter=False),
        ),
        name="llm",
        fallback=FallbackPolicy(rules=(FallbackRule(value=fallback_chat_result()),)),
    )
    done: asyncio.Future[list[Row]] = loop.create_future()
    seen: list[Row] = []
    reply_route(reactivex.from_iterable(events), backend, protection, ReplyPolicy(), recorder=recorder).subscribe(
        on_next=seen.append,
        on_error=lambda e: loop.call_soon_threadsafe(done.set_exception, e),
        on_completed=lambda: loop.call_soon_threadsafe(done.set_result, seen),
        scheduler=AsyncIOThreadSafeScheduler(loop),
    )
    return await asyncio.wait_for(done, timeout=10), backend


async def test_a_fallback_leaves_its_dead_letter_and_every_try_before_the_reply() -> None:
    rows, backend = await _rows([_message(1)], Recorder("run"))
    assert backend.calls == 2  # the first try and one retry
    assert [type(r) for r in rows] == [DeadLetterRow, ExchangeRow, ExchangeRow, EpisodeRow]
    letter, first, second, reply = rows
    assert isinstance(letter, DeadLetterRow) and letter.source == "llm:llm" and "ServerError" in letter.reason
    assert isinstance(first, ExchangeRow) and isinstance(second, ExchangeRow)
    assert first.error is not None and second.error is not None and first.seq < second.seq
    assert isinstance(reply, EpisodeRow) and reply.outcome == "fallback" and reply.event_id == "m1"


async def test_without_a_recorder_only_the_dead_letter_comes_before_the_reply() -> None:
    rows, _ = await _rows([_message(1), _message(2)], None)
    # each message's rows come out together (one burst per call), so the reply closes its own group
    by_message: dict[str, list[str]] = {}
    pending: list[str] = []
    for row in rows:
        if isinstance(row, EpisodeRow):
            by_message[str(row.event_id)] = [*pending, "reply"]
            pending = []
        else:
            pending.append(type(row).__name__)
    assert by_message == {"m1": ["DeadLetterRow", "reply"], "m2": ["DeadLetterRow", "reply"]}
