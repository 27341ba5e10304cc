"""Recall keeps each sender's words to that sender: a reply never recalls what another user said.

The live tests run the real reply route over one event stream (as ``agent.wire_pipeline`` wires
it); the restart tests store what such a run left in a real DuckDB file, seed a fresh memory
from it and ask again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent import Remember
from agent._remember import vector_of
from agent._routes import user_episode
from agent.context import BeingMemory, ContextBuilder, ContextPolicy, MemoryRecall, read_memory_episodes
from agent.context import read_recall_seed as read_seed
from llm import LexicalEmbedder
from sinks import EpisodeRow, Row, VectorRow, open_database, write_rows, write_vectors
from streams import Event
from tests.agent.context.memory_support import at, episode, exchange, message_event, reply_row
from tests.agent.context.test_reply_with_memory import Backend, Being

REMEMBER = Remember(embedder=LexicalEmbedder(128))
POLICY = ContextPolicy(exchanges=0, recall_k=4)  # recall alone: no exchange can carry the fact


def fed(items: Sequence[Event | Row], **bounds: int) -> tuple[BeingMemory, MemoryRecall]:
    recall = MemoryRecall(REMEMBER, **bounds)
    memory = BeingMemory(recall=recall)
    for item in items:
        memory.observe(item)
    return memory, recall


async def test_another_senders_pin_never_reaches_a_reply_and_its_own_sender_gets_it_back() -> None:
    backend = Backend()
    being = Being(BeingMemory(recall=MemoryRecall(REMEMBER)), POLICY, backend)
    await being.say(message_event(1, "my PIN is 4321", sender="ann"))
    await being.say(message_event(2, "what is my PIN?", sender="bob"))
    await being.say(message_event(3, "what is my PIN?", sender="ann"))
    await being.finish()
    to_bob, to_ann = backend.received[1][0].content, backend.received[2][0].content
    assert "4321" not in to_bob  # neither ann's message nor the being's answer to it ("answer to my PIN is 4321")
    assert "## Memories recalled for this" not in to_bob
    assert "- my PIN is 4321" in to_ann
    assert "- answer to my PIN is 4321" in to_ann  # the being's reply to ann is ann's too


async def test_after_a_restart_the_seed_keeps_each_text_with_its_sender(tmp_path: Path) -> None:
    backend = Backend()
    being = Being(BeingMemory(recall=MemoryRecall(REMEMBER)), POLICY, backend)
    await being.say(message_event(1, "my PIN is 4321", sender="ann"))
    await being.say(message_event(2, "my dog is called Rex", sender="bob"))
    await being.finish()
    episodes = [r for r in being.rows if isinstance(r, EpisodeRow)]
    assert sorted(r.type for r in episodes) == ["user.message", "user.message", "user.reply", "user.reply"]
    vectors = [v for v in (vector_of(r, REMEMBER) for r in episodes) if v is not None]
    con = open_database(tmp_path / "being.duckdb")
    write_rows(con, episodes)
    assert write_vectors(con, vectors, clock=lambda: at(100)).stored == 4
    con.close()

    con = open_database(tmp_path / "being.duckdb")  # the restart: a fresh memory, seeded from the file
    seed = read_seed(con, embedder=REMEMBER.embedder.name, limit=100)
    recent = read_memory_episodes(con)
    con.close()
    assert sorted((v.vector.type, v.sender) for v in seed) == [
        ("user.message", "ann"),
        ("user.message", "bob"),
        ("user.reply", "ann"),
        ("user.reply", "bob"),
    ]
    recall = MemoryRecall(REMEMBER)
    assert recall.seed(seed) == 4 and recall.senders() == 2
    memory = BeingMemory(recall=recall)
    memory.seed(recent=recent)
    assert len(recall) == 4  # the episodes seeded again are the same vectors
    again = Backend()
    being = Being(memory, POLICY, again)
    await being.say(message_event(11, "what is my PIN?", sender="bob"))
    await being.say(message_event(12, "what is my PIN?", sender="ann"))
    await being.finish()
    to_bob, to_ann = again.received[0][0].content, again.received[1][0].content
    assert "4321" not in to_bob
    assert "- my PIN is 4321" in to_ann and "- answer to my PIN is 4321" in to_ann
    thought = ContextBuilder(memory, POLICY).for_thought("the PIN and the dog")
    assert "my PIN is 4321" in thought.text and "my dog is called Rex" in thought.text


async def test_a_seed_of_vectors_alone_keeps_their_senders(tmp_path: Path) -> None:
    """The vectors are joined to their episodes: no episode needs to be in the recent ones seeded."""
    rows: list[EpisodeRow] = []
    for n, (text, sender) in enumerate([("my PIN is 4321", "ann"), ("my dog is called Rex", "bob")]):
        event = message_event(n, text, sender=sender, t=n * 10)
        rows += [user_episode(event), reply_row(event, f"noted: {text}", t=n * 10 + 1)]
    rows += [episode(100 + n, type="heavy_tick.observe", t=1_000 + n) for n in range(50)]
    vectors = [v for v in (vector_of(r, REMEMBER) for r in rows if r.type.startswith("user.")) if v is not None]
    con = open_database(tmp_path / "being.duckdb")
    write_rows(con, rows)
    write_vectors(con, vectors, clock=lambda: at(2_000))
    seed = read_seed(con, embedder=REMEMBER.embedder.name, limit=10)
    con.close()
    memory, recall = fed([])
    recall.seed(seed)
    builder = ContextBuilder(memory, POLICY)
    assert "4321" not in builder.for_reply("what is my PIN?", sender="bob").text
    ann = builder.for_reply("what is my PIN?", sender="ann").text
    assert "- my PIN is 4321" in ann and "- noted: my PIN is 4321" in ann
    assert "Rex" in builder.for_reply("what is my dog called?", sender="bob").text


def test_the_minds_recall_sees_every_sender() -> None:
    memory, _ = fed(
        [*exchange(1, "my PIN is 4321", "noted", sender="ann"), *exchange(2, "my PIN is 9876", "ok", sender="bob")]
    )
    thought = ContextBuilder(memory, POLICY).for_thought("which PIN?").text
    assert "my PIN is 4321" in thought and "my PIN is 9876" in thought
    assert set(memory.recall("my PIN", 2)) == {"my PIN is 4321", "my PIN is 9876"}
    assert memory.recall("my PIN", 1, sender="ann") == ("my PIN is 4321",)


def test_a_senders_top_k_is_exact_however_many_closer_texts_others_hold() -> None:
    """Not a top-k of everyone's then filtered: that would come back short for a quiet sender."""
    crowd = [item for n in range(300) for item in exchange(n, f"cats cats {n}", f"cats {n}", sender="bob")]
    _, recall = fed([*crowd, *exchange(999, "my cat sleeps on the sofa", "nice", sender="ann")])
    found = recall("cats", 8, sender="ann")
    assert found[0] == "my cat sleeps on the sofa" and len(found) == 2  # all ann has: her message and its reply
    assert all(text.startswith("cats") for text in recall("cats", 8))  # everyone's: bob's crowd first
    assert len(recall("cats", 8, sender="bob")) == 8


def test_texts_of_nobody_are_recalled_for_every_sender() -> None:
    remember = Remember(embedder=REMEMBER.embedder, types=frozenset({*REMEMBER.types, "mind.note"}))
    recall = MemoryRecall(remember)
    memory = BeingMemory(recall=recall)
    for item in exchange(1, "my PIN is 4321", "noted", sender="ann"):
        memory.observe(item)
    note = EpisodeRow(
        id="n1", time=at(5), type="mind.note", description="a PIN is a secret", outcome="success", data={}
    )
    memory.observe(note)
    assert memory.recall("my PIN", 4, sender="bob") == ("a PIN is a secret",)
    assert set(memory.recall("my PIN", 2, sender="ann")) == {"my PIN is 4321", "a PIN is a secret"}


def test_a_reply_to_a_message_not_known_is_recalled_by_the_mind_only() -> None:
    event = message_event(1, "my PIN is 4321", sender="ann")
    memory, recall = fed([reply_row(event, "your PIN 4321 is safe")])  # its message never seen
    assert memory.recall("PIN", 4, sender="ann") == ()
    assert memory.recall("PIN", 4) == ("your PIN 4321 is safe",)
    bare = vector_of(user_episode(message_event(2, "my PIN is 1111", sender="bob")), REMEMBER)
    assert isinstance(bare, VectorRow)
    recall.seed([bare])  # a stored vector given without its sender
    assert memory.recall("PIN", 4, sender="bob") == ()
    assert "my PIN is 1111" in memory.recall("PIN", 4)


def test_a_deferred_reply_belongs_to_the_sender_of_its_message() -> None:
    event = message_event(1, "my PIN is 4321", sender="ann")
    deferred = reply_row(event, "later: your PIN 4321", outcome="deferred", t=60)
    memory, _ = fed([event, user_episode(event), reply_row(event, "", outcome="fallback"), deferred])
    assert "later: your PIN 4321" in memory.recall("PIN", 4, sender="ann")
    assert memory.recall("PIN", 4, sender="bob") == ()


def test_ten_thousand_senders_stay_within_the_bounds() -> None:
    items = [item for n in range(10_000) for item in exchange(n, f"secret {n} of sender {n}", "ok", sender=f"s{n}")]
    memory, recall = fed(items, max_vectors=500)
    assert len(recall) == 500 and recall.senders() == 250  # the newest 250 exchanges, two texts each
    assert recall.nbytes() < 2 * 500 * (128 * 4 + 4)
    assert memory.recall("secret 9999", 4, sender="s9999")[0] == "secret 9999 of sender 9999"
    assert memory.recall("secret 0 of sender 0", 4, sender="s0") == ()  # forgotten with its texts
    assert not any("sender 9998" in text for text in memory.recall("secret 9998", 20, sender="s9999"))
    # senders forgotten, a new one given a forgotten one's place: it finds only its own texts
    for item in exchange(20_000, "hello there", "welcome", sender="newcomer", t=1e6):
        memory.observe(item)
    assert set(memory.recall("secret", 10, sender="newcomer")) == {"hello there", "welcome"}
    assert recall.senders() == 250 and len(recall) == 500


def test_the_same_stream_recalls_the_same_texts_for_each_sender() -> None:
    def run() -> list[tuple[str, ...]]:
        items = [
            item
            for n in range(120)
            for item in exchange(n, f"note {n} on {('cats', 'trains')[n % 2]} {n % 7}", f"ok {n}", sender=f"s{n % 9}")
        ]
        _, recall = fed(items, max_vectors=100)
        return [recall(q, 5, sender=f"s{s}") for s in range(9) for q in ("cats 3", "trains", "ok")]

    first, second = run(), run()
    assert first == second
    assert all(len(found) == 5 for found in first)
    for s, found in enumerate(first[i : i + 3] for i in range(0, len(first), 3)):
        numbers = [int(t.split()[1]) for texts in found for t in texts]  # "note 12 on ..." and "ok 12"
        assert numbers and all(n % 9 == s for n in numbers), f"s{s} recalled another sender's: {found}"


def test_huge_and_hostile_sender_names_are_told_apart_live_and_after_a_restart(tmp_path: Path) -> None:
    huge = "ann" + "x" * 100_000
    twin = "ann" + "x" * 99_999 + "y"  # the same beginning: told apart by the digest
    rows: list[EpisodeRow] = []
    for n, (text, sender) in enumerate([("my PIN is 4321", huge), ("my PIN is 9876", twin), ("my PIN is 5555", "")]):
        event = message_event(n, text, sender=sender or None, source="inbox\x00'; DROP TABLE vectors; --", t=n)
        rows += [user_episode(event), reply_row(event, f"noted {text}", t=n + 0.5)]
    live, _ = fed(rows)
    vectors = [v for v in (vector_of(r, REMEMBER) for r in rows) if v is not None]
    con = open_database(tmp_path / "being.duckdb")
    write_rows(con, rows)
    write_vectors(con, vectors, clock=lambda: at(100))
    seed = read_seed(con, embedder=REMEMBER.embedder.name, limit=10)
    con.close()
    seeded, recall = fed([])
    recall.seed(seed)
    for memory in (live, seeded):
        assert set(memory.recall("my PIN", 2, sender=huge)) == {"my PIN is 4321", "noted my PIN is 4321"}
        assert set(memory.recall("my PIN", 2, sender=twin)) == {"my PIN is 9876", "noted my PIN is 9876"}
        assert set(memory.recall("my PIN", 2, sender="inbox\x00'; DROP TABLE vectors; --")) == {
            "my PIN is 5555",
            "noted my PIN is 5555",
        }
        assert memory.recall("my PIN", 4, sender="ann") == ()
