"""Replies with memory: the real reply route, its prompt built from a memory fed by the same stream.

The wiring here is the one the pipeline gets (``agent.wire_pipeline``): the memory observes every
event as it enters and every row the routes emit, before the sink, on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import reactivex
from reactivex import operators as ops
from reactivex.scheduler import CurrentThreadScheduler
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler
from reactivex.subject import Subject

from agent import DeferPolicy, Protection, ProtectPolicies, Remember, Replier, ReplyPolicy, reply_route, route_events
from agent._reply import fallback_chat_result
from agent.context import BeingMemory, ContextBuilder, ContextPolicy, MemoryRecall
from llm import ChatResult, LexicalEmbedder, Message, ServerError
from operators import FallbackPolicy, FallbackRule, RetryPolicy
from sinks import EpisodeRow, Row
from streams import LIGHT_TICK, Event
from tests.agent.context.memory_support import message_event
from tests.fake_chat import FakeChatBackend
from tests.support import until


class Backend(FakeChatBackend):
    """Answers every call (failing the first try of the messages in ``fail_once``) and keeps what it received."""

    def __init__(self, fail_once: Sequence[str] = ()) -> None:
        self.received: list[tuple[Message, ...]] = []
        self.fail_once = set(fail_once)

    async def answer(self, messages: Sequence[Message]) -> ChatResult:
        self.received.append(tuple(messages))
        text = messages[-1].content
        if text in self.fail_once:
            self.fail_once.discard(text)
            raise ServerError("boom", status=500)
        return ChatResult(model="m", content=f"answer to {text}")

    async def embed(self, texts: Sequence[str], *, model: str | None = None) -> Any:
        raise NotImplementedError


def _protection() -> Protection[ChatResult]:
    return Protection(
        ProtectPolicies(
            timeout_s=None,
            rate_limit=None,
            budget=None,
            cache=None,
            breaker=None,
            retry=RetryPolicy(max_attempts=1, base_delay_s=0.0, max_delay_s=0.0, jitter=False),
        ),
        name="llm",
        fallback=FallbackPolicy(rules=(FallbackRule(value=fallback_chat_result()),)),
    )


class Being:
    """The user routes and the reply route over one event stream, the memory fed by both."""

    def __init__(self, memory: BeingMemory, policy: ContextPolicy, backend: Backend, *, defer: bool = False) -> None:
        loop = asyncio.get_running_loop()
        self.memory = memory
        self.backend = backend
        self.events: Subject[Event] = Subject()
        self.rows: list[Row] = []
        self.done: asyncio.Future[None] = loop.create_future()
        replier = Replier(
            backend=backend,
            protection=_protection(),
            policy=ReplyPolicy(system_prompt="Be brief."),
            context=ContextBuilder(memory, policy),
            defer=DeferPolicy(interval_s=30.0) if defer else None,
        )
        shared = self.events.pipe(ops.do_action(memory.observe), ops.share())
        # both routes subscribed at once (reactivex.merge would subscribe them on the loop, later)
        routes = reactivex.from_iterable([route_events(shared), reply_route(shared, replier)], CurrentThreadScheduler())
        rows = routes.pipe(ops.merge_all(), ops.do_action(memory.observe))
        rows.subscribe(
            on_next=self.rows.append,
            on_error=lambda e: loop.call_soon_threadsafe(self.done.set_exception, e),
            on_completed=lambda: loop.call_soon_threadsafe(self.done.set_result, None),
            scheduler=AsyncIOThreadSafeScheduler(loop),
        )

    def replies(self, outcome: str | None = None) -> list[EpisodeRow]:
        return [
            r
            for r in self.rows
            if isinstance(r, EpisodeRow) and r.type == "user.reply" and outcome in (None, r.outcome)
        ]

    async def say(self, *events: Event) -> None:
        """Send ``events`` at once and wait until each message has its reply."""
        wanted = len(self.replies()) + len(events)
        for event in events:
            self.events.on_next(event)
        await until(lambda: len(self.replies()) >= wanted, what=f"{wanted} replies")

    async def finish(self) -> None:
        self.events.on_completed()
        await asyncio.wait_for(self.done, timeout=10)


async def test_a_fact_said_earlier_reaches_a_later_replys_prompt() -> None:
    backend = Backend()
    being = Being(BeingMemory(), ContextPolicy(), backend)
    # sent together: the second call starts after the first reply, which the memory has seen by then
    await being.say(
        message_event(1, "my cat is called Miso", sender="ann"),
        message_event(2, "the weather is grey", sender="bob"),
        message_event(3, "what is my cat called?", sender="ann"),
    )
    await being.finish()
    first, _, third = backend.received
    assert "my cat is called Miso" not in first[0].content
    system, user = third
    assert system.role == "system" and system.content.startswith("Be brief.\n\n## Who you are")
    assert "- they said: my cat is called Miso\n  you answered: answer to my cat is called Miso" in system.content
    assert "the weather is grey" not in system.content  # another sender's exchange
    assert user == Message.user("what is my cat called?")
    reply = being.replies()[-1]
    assert reply.data["event_id"] == "m3"
    context = reply.data["context"]
    assert context["cut"] == [] and context["sections"]["exchanges"] > 0
    assert "text" not in context  # the sections' sizes and the cut, not the prompt itself


async def test_a_fact_said_earlier_is_recalled_by_meaning_for_a_later_message_of_the_same_sender() -> None:
    recall = MemoryRecall(Remember(embedder=LexicalEmbedder(128)))
    backend = Backend()
    being = Being(BeingMemory(recall=recall), ContextPolicy(exchanges=0, recall_k=1), backend)
    await being.say(message_event(1, "my cat is called Miso", sender="ann"))
    await being.say(message_event(2, "I like trains", sender="ann"))
    await being.say(message_event(3, "what is my cat called?", sender="carol"))
    await being.say(message_event(4, "what is my cat called?", sender="ann"))
    await being.finish()
    to_carol, to_ann = backend.received[-2][0].content, backend.received[-1][0].content
    assert "Miso" not in to_carol  # what ann said is ann's
    assert "## Memories recalled for this (most similar first)\n- my cat is called Miso" in to_ann
    assert "## Your last exchanges" not in to_ann
    assert being.replies()[-1].data["context"]["sections"]["recalled"] > 0


async def test_with_a_budget_too_small_the_oldest_exchanges_are_cut_and_the_cut_recorded() -> None:
    backend = Backend()
    policy = ContextPolicy(max_chars=500, exchanges=6)  # the persona and two exchanges of about 70 chars
    being = Being(BeingMemory(), policy, backend)
    await being.say(*(message_event(n, f"message number {n}", sender="ann") for n in range(5)))
    await being.say(message_event(5, "and now?", sender="ann"))
    await being.finish()
    system = backend.received[-1][0].content
    assert len(system) <= len("Be brief.\n\n") + 500
    kept = [n for n in range(5) if f"they said: message number {n}\n" in system]
    assert kept == [3, 4], f"the newest exchanges are kept, got {kept}"
    assert "## Who you are" in system  # the persona is cut last
    context = being.replies()[-1].data["context"]
    dropped = [f"- they said: message number {n}\n  you answered: answer to message number {n}" for n in range(3)]
    assert context["cut"] == [{"section": "exchanges", "items": 3, "chars": sum(map(len, dropped))}]


async def test_a_deferred_reply_is_asked_with_the_same_context_leaving_its_own_message_out() -> None:
    backend = Backend(fail_once=["what is my cat called?"])
    being = Being(BeingMemory(), ContextPolicy(), backend, defer=True)
    await being.say(message_event(1, "my cat is called Miso", sender="ann"))
    await being.say(message_event(2, "what is my cat called?", sender="ann"))
    (fallback,) = being.replies("fallback")
    assert "context" in fallback.data
    # the next light tick past the interval asks again (the tick's own time paces it, no waiting)
    when = fallback.time + timedelta(seconds=60)
    being.events.on_next(Event(id="t1", type=LIGHT_TICK, time=when, source="ticks"))
    await until(lambda: bool(being.replies("deferred")), what="the deferred reply")
    await being.finish()
    asked_again = backend.received[-1]
    assert asked_again[-1] == Message.user("what is my cat called?")
    assert "they said: my cat is called Miso" in asked_again[0].content
    assert "they said: what is my cat called?" not in asked_again[0].content
    (deferred,) = being.replies("deferred")
    assert deferred.data["context"]["sections"]["exchanges"] > 0
    assert being.memory.exchanges_with("ann", 5)[-1] == ("what is my cat called?", "answer to what is my cat called?")


async def test_without_a_context_builder_the_prompt_is_the_message_alone() -> None:
    backend = Backend()
    loop = asyncio.get_running_loop()
    events: Subject[Event] = Subject()
    rows: list[Row] = []
    replier = Replier(backend=backend, protection=_protection(), policy=ReplyPolicy(system_prompt="Be brief."))
    reply_route(events, replier).subscribe(on_next=rows.append, scheduler=AsyncIOThreadSafeScheduler(loop))
    events.on_next(message_event(1, "my cat is called Miso"))
    events.on_next(message_event(2, "what is my cat called?"))
    await until(lambda: len(rows) == 2, what="two replies")
    assert backend.received[-1] == (Message.system("Be brief."), Message.user("what is my cat called?"))
    assert all("context" not in r.data for r in rows if isinstance(r, EpisodeRow))


async def test_the_same_stream_asks_the_same_prompts_byte_for_byte() -> None:
    """What a replay relies on: its recorded answers are found by the request, prompt included."""

    async def run() -> list[tuple[Message, ...]]:
        backend = Backend()
        recall = MemoryRecall(Remember(embedder=LexicalEmbedder(128)))
        being = Being(BeingMemory(recall=recall), ContextPolicy(max_chars=900), backend)
        for n in range(8):
            await being.say(message_event(n, f"fact {n}: the {('cat', 'train', 'book')[n % 3]} is {n}", sender="ann"))
        await being.say(message_event(9, "what about the cat?", sender="ann"))
        await being.finish()
        return backend.received

    first, second = await run(), await run()
    assert first == second
    # the facts about the cat told longest ago are no exchange any more (the budget): recall brings one back
    assert "they said: fact 0" not in first[-1][0].content
    assert "## Memories recalled for this (most similar first)\n- fact 0: the cat is 0" in first[-1][0].content


async def test_a_recovered_copy_of_a_message_counts_once() -> None:
    """A crash recovery reads the inbox file again: the same message (same id) comes a second time."""
    backend = Backend()
    memory = BeingMemory()
    being = Being(memory, ContextPolicy(), backend)
    first = message_event(1, "my cat is called Miso", sender="ann")
    await being.say(first)
    copy = Event(
        id=first.id, type=first.type, time=first.time, source=first.source, payload={**first.payload, "recovered": True}
    )
    being.events.on_next(copy)
    await being.say(message_event(2, "what is my cat called?", sender="ann"))
    await being.finish()
    assert len(backend.received) == 2  # the copy was acknowledged, not asked again
    assert memory.exchanges_with("ann", 10) == (
        ("my cat is called Miso", "answer to my cat is called Miso"),
        ("what is my cat called?", "answer to what is my cat called?"),
    )
    assert backend.received[-1][0].content.count("they said: my cat is called Miso") == 1
