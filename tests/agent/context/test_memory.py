"""BeingMemory: what it keeps, its bounds, idempotency, seeding, exchanges per sender, hostile input."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from agent._routes import user_episode
from agent.context import BeingMemory, sender_of
from sinks import DeadLetterRow, MemoryBlockRow, PrincipleRow, Row
from streams import Event
from tests.agent.context.memory_support import (
    at,
    being_message,
    episode,
    exchange,
    goal,
    intentions,
    message_event,
    reply_row,
)


def feed(memory: BeingMemory, items: Sequence[Event | Row]) -> None:
    for item in items:
        memory.observe(item)


def test_a_message_and_its_reply_pair_into_an_exchange_with_its_sender() -> None:
    memory = BeingMemory()
    feed(memory, exchange(1, "my cat is called Miso", "what a nice name", sender="ann"))
    feed(memory, exchange(2, "hello", "hi bob", sender="bob"))
    assert memory.exchanges_with("ann", 5) == (("my cat is called Miso", "what a nice name"),)
    assert memory.exchanges_with("bob", 5) == (("hello", "hi bob"),)
    assert memory.exchanges_with("carol", 5) == ()


def test_the_sender_is_the_payload_sender_or_else_the_source() -> None:
    assert sender_of(message_event(1, "x", sender="ann")) == "ann"
    assert sender_of(message_event(1, "x", source="http")) == "http"
    memory = BeingMemory()
    feed(memory, exchange(1, "from the inbox", "ok"))
    assert memory.exchanges_with("inbox", 5) == (("from the inbox", "ok"),)


def test_replies_pair_by_their_event_id_whatever_the_order_messages_come_in() -> None:
    memory = BeingMemory()
    first, second = message_event(1, "first", sender="ann"), message_event(2, "second", sender="ann")
    feed(memory, [first, second, user_episode(first), user_episode(second)])
    feed(memory, [reply_row(second, "answer to second"), reply_row(first, "answer to first")])
    assert memory.exchanges_with("ann", 5) == (("second", "answer to second"), ("first", "answer to first"))


def test_a_reply_to_a_message_never_seen_is_no_exchange() -> None:
    memory = BeingMemory()
    memory.observe(reply_row(message_event(9, "lost"), "an answer"))
    assert memory.exchanges_with("inbox", 5) == ()


def test_a_message_waiting_for_its_reply_is_not_yet_an_exchange() -> None:
    memory = BeingMemory()
    event = message_event(1, "still thinking", sender="ann")
    feed(memory, [event, user_episode(event)])
    assert memory.exchanges_with("ann", 5) == ()
    assert memory.sender_of_message("m1") == "ann"


def test_a_fallback_pairs_with_no_answer_and_its_deferred_reply_fills_it_in() -> None:
    memory = BeingMemory()
    event = message_event(1, "my cat is called Miso", sender="ann")
    feed(memory, [event, user_episode(event), reply_row(event, "I cannot think right now", outcome="fallback")])
    assert memory.exchanges_with("ann", 5) == (("my cat is called Miso", ""),)
    assert memory.sender_of_message("m1") == "ann"
    memory.observe(reply_row(event, "Miso is a lovely name", outcome="deferred", t=90))
    assert memory.exchanges_with("ann", 5) == (("my cat is called Miso", "Miso is a lovely name"),)
    assert memory.exchanges_with("ann", 5, leave_out="m1") == ()


def test_a_row_seen_twice_counts_once() -> None:
    """A recovered inbox file is read again from the top: the same rows (ids) come again."""
    memory = BeingMemory()
    items = exchange(1, "hello", "hi", sender="ann")
    feed(memory, items)
    feed(memory, items)
    memory.observe(being_message(1, t=10))
    memory.observe(being_message(1, t=10))
    assert memory.exchanges_with("ann", 5) == (("hello", "hi"),)
    assert [r.id for r in memory.recent(10)] == [items[1].id, items[2].id, "bm1"]
    assert memory.messages_in_hour_before(at(20)) == 1


def test_recent_episodes_are_bounded_and_newest_last() -> None:
    memory = BeingMemory(max_recent=3)
    feed(memory, [episode(n) for n in range(10)])
    assert [r.id for r in memory.recent(10)] == ["e7", "e8", "e9"]
    assert [r.id for r in memory.recent(2)] == ["e8", "e9"]
    assert memory.recent(0) == ()


def test_exchanges_are_bounded_per_sender() -> None:
    memory = BeingMemory(max_exchanges=2)
    for n in range(5):
        feed(memory, exchange(n, f"message {n}", f"reply {n}", sender="ann", t=n * 10))
    assert memory.exchanges_with("ann", 10) == (("message 3", "reply 3"), ("message 4", "reply 4"))
    assert memory.exchanges_with("ann", 1) == (("message 4", "reply 4"),)


def test_ten_thousand_senders_keep_only_the_most_recently_heard_from() -> None:
    memory = BeingMemory(max_senders=100, max_recent=10)
    feed(memory, exchange(0, "I am the first", "hello first", sender="first"))
    for n in range(1, 10_000):
        feed(memory, exchange(n, f"message {n}", "ok", sender=f"sender-{n}", t=n))
        if n == 5_000:  # the first one speaks again: it is kept as recently heard from
            feed(memory, exchange(10_000, "still here", "good", sender="first", t=n))
    assert memory.exchanges_with("sender-1", 5) == ()
    assert memory.exchanges_with("sender-9999", 5) == (("message 9999", "ok"),)
    assert memory.exchanges_with("first", 5) == ()  # 5,000 senders spoke since: forgotten
    kept = sum(1 for n in range(1, 10_000) if memory.exchanges_with(f"sender-{n}", 1))
    assert kept == 100
    assert len(memory.recent(100)) == 10


def test_a_huge_sender_name_and_huge_texts_are_kept_bounded() -> None:
    memory = BeingMemory(max_text_chars=100)
    huge_sender = "s" * 1_000_000
    text = "x" * 1_000_000
    feed(memory, exchange(1, text, text, sender=huge_sender))
    ((message, reply),) = memory.exchanges_with(huge_sender, 5)
    assert len(message) == 100 and message.endswith("…")
    assert len(reply) == 100
    for row in memory.recent(5):
        assert len(row.description) <= 100
        assert all(len(v) <= 100 for v in row.data.values() if isinstance(v, str))
    # two huge names that share their first characters stay apart
    other = "s" * 999_999 + "t"
    feed(memory, exchange(2, "other", "other reply", sender=other))
    assert memory.exchanges_with(other, 5) == (("other", "other reply"),)
    assert len(memory.exchanges_with(huge_sender, 5)) == 1


def test_control_characters_are_kept_as_data() -> None:
    """The memory keeps what was said; the context builder is what makes it safe to show."""
    memory = BeingMemory()
    feed(memory, exchange(1, "a\x00b\x1b[31mc", "ok", sender="ann"))
    assert memory.exchanges_with("ann", 1) == (("a\x00b\x1b[31mc", "ok"),)


def test_intentions_goals_blocks_and_principles_follow_their_rows() -> None:
    memory = BeingMemory()
    memory.observe(intentions("remind me to stretch every two hours"))
    feed(memory, [goal("g1", "stretch"), goal("g2", "summarise the day")])
    memory.observe(goal("g1", "stretch", status="done", t=60))
    memory.observe(MemoryBlockRow(name="user", text="Ann has a cat called Miso", time=at(1)))
    memory.observe(MemoryBlockRow(name="user", text="Ann has two cats", time=at(2)))
    feed(memory, [PrincipleRow(text="check the inbox first", time=at(3))] * 2)
    memory.observe(PrincipleRow(text="  answer briefly  ", time=at(4)))
    assert memory.intentions == "remind me to stretch every two hours"
    assert list(memory.goals) == ["g2"]
    assert dict(memory.blocks) == {"user": "Ann has two cats"}
    assert memory.principles == ("check the inbox first", "answer briefly")


def test_rows_the_memory_has_no_use_for_are_ignored() -> None:
    memory = BeingMemory()
    memory.observe(DeadLetterRow(id="d", time=at(0), source="inbox", reason="undecodable", raw="\xff"))
    memory.observe(Event(id="t", type="tick.light", time=at(0), source="ticks"))
    assert memory.recent(5) == () and memory.intentions == "" and not memory.goals


def test_being_messages_are_counted_in_the_hour_before_now() -> None:
    memory = BeingMemory()
    for n, t in enumerate([0, 1800, 3599, 3600, 3700]):
        memory.observe(being_message(n, t))
    assert memory.messages_in_hour_before(at(3600)) == 3  # (0, 3600]: 1800, 3599, 3600
    assert memory.messages_in_hour_before(at(7300)) == 0
    assert memory.messages_in_hour_before(at(7200)) == 1  # 3700


def test_seed_takes_goals_blocks_principles_and_pairs_recent_episodes_in_time_order() -> None:
    memory = BeingMemory()
    event = message_event(1, "my cat is called Miso", sender="ann")
    reply = reply_row(event, "lovely", t=5)
    memory.seed(
        goals=[goal("g1", "stretch"), goal("g0", "old", status="dropped")],
        blocks={"self": "I am careful", "user": "Ann"},
        principles=["be brief", "be brief", "be kind"],
        recent=[reply, episode(7, t=10), user_episode(event)],  # as a query may return them
    )
    assert list(memory.goals) == ["g1"]
    assert dict(memory.blocks) == {"self": "I am careful", "user": "Ann"}
    assert memory.principles == ("be brief", "be kind")
    assert [r.id for r in memory.recent(5)] == [user_episode(event).id, reply.id, "e7"]
    # no event was seen for it: the sender comes from the episode's own data
    assert memory.exchanges_with("ann", 5) == (("my cat is called Miso", "lovely"),)


def test_recall_delegates_to_the_callable_given() -> None:
    asked: list[tuple[str, int]] = []

    def recall(query: str, k: int) -> list[str]:
        asked.append((query, k))
        return ["found"]

    assert BeingMemory().recall("cat", 3) == ()
    assert BeingMemory(recall=recall).recall("cat", 3) == ("found",)
    assert asked == [("cat", 3)]


def test_a_recall_that_observes_is_fed_what_the_memory_observes() -> None:
    class Observing:
        def __init__(self) -> None:
            self.items: list[object] = []

        def __call__(self, query: str, k: int) -> list[str]:
            return []

        def observe(self, item: Event | Row) -> None:
            self.items.append(item)

    recall = Observing()
    memory = BeingMemory(recall=recall)
    items = exchange(1, "hello", "hi")
    feed(memory, items)
    assert recall.items == items


def test_tool_context_is_a_snapshot() -> None:
    memory = BeingMemory(recall=lambda q, k: [f"{q}:{k}"])
    feed(memory, [goal("g1", "stretch"), being_message(1, 100)])
    memory.observe(MemoryBlockRow(name="self", text="careful", time=at(1)))
    context = memory.tool_context(at(200), "thought-1")
    memory.observe(goal("g1", "stretch", status="done", t=300))
    assert context.thought_id == "thought-1" and context.now == at(200)
    assert list(context.goals) == ["g1"] and dict(context.blocks) == {"self": "careful"}
    assert [r.id for r in context.recent] == ["bm1"]
    assert context.messages_last_hour == 1
    assert context.recall("cat", 2) == ("cat:2",)


@pytest.mark.parametrize("bound", ["max_recent", "max_exchanges", "max_senders"])
def test_bounds_below_one_are_refused(bound: str) -> None:
    with pytest.raises(ValueError, match=f"BeingMemory.{bound}: expected >= 1, got 0"):
        BeingMemory(**{bound: 0})  # type: ignore[arg-type]


def test_user_blocks_are_kept_per_sender_and_bounded_the_least_recently_written_first() -> None:
    memory = BeingMemory(max_senders=2)
    memory.observe(MemoryBlockRow(name="self", text="I am careful.", time=at(0)))
    for n, who in enumerate(["ann", "bob", "cid"]):
        memory.observe(MemoryBlockRow(name=f"user:{who}", text=f"{who} fact", time=at(n)))
    assert memory.user_block_of("ann") == ""  # forgotten: the least recently written of three, over the bound
    assert memory.user_blocks() == [("bob", "bob fact"), ("cid", "cid fact")]
    memory.observe(MemoryBlockRow(name="user:bob", text="bob again", time=at(5)))
    memory.observe(MemoryBlockRow(name="user:dee", text="dee fact", time=at(6)))
    assert [who for who, _ in memory.user_blocks()] == ["bob", "dee"]
    assert memory.blocks["self"] == "I am careful."  # the self block is never forgotten
