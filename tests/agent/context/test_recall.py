"""MemoryRecall: search by meaning over what the being remembered, one embedding space, bounded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agent import Remember
from agent._remember import vector_of
from agent._routes import user_episode
from agent.context import BeingMemory, MemoryRecall, read_recall_seed
from llm import LexicalEmbedder
from sinks import VectorRow, open_database, write_vectors
from tests.agent.context.memory_support import at, episode, exchange, message_event
from tests.sinks._memory_helpers import insert_random_vectors

EMBEDDER = LexicalEmbedder(64)
REMEMBER = Remember(embedder=EMBEDDER)


def said(n: int, text: str, t: float = 0.0) -> VectorRow:
    row = vector_of(user_episode(message_event(n, text, t=t)), REMEMBER)
    assert row is not None
    return row


def test_nothing_remembered_recalls_nothing() -> None:
    recall = MemoryRecall(REMEMBER)
    assert recall("what is my cat called?", 4) == ()
    assert len(recall) == 0


def test_what_was_said_is_recalled_by_meaning_best_first() -> None:
    recall = MemoryRecall(REMEMBER)
    memory = BeingMemory(recall=recall)
    for items in (
        exchange(1, "my cat is called Miso", "what a nice name", t=0),
        exchange(2, "the weather is grey today", "it is", t=10),
        exchange(3, "I am reading a book about trains", "which one?", t=20),
    ):
        for item in items:
            memory.observe(item)
    memory.observe(episode(9, description="my cat file changed"))  # not a type the remember route embeds
    assert len(recall) == 6  # three messages and three replies
    found = memory.recall("what is my cat called?", 2)
    assert found[0] == "my cat is called Miso"
    assert len(found) == 2


def test_the_same_stream_recalls_the_same_texts() -> None:
    def fed() -> MemoryRecall:
        recall = MemoryRecall(REMEMBER, max_vectors=50)
        memory = BeingMemory(recall=recall)
        for n in range(80):
            for item in exchange(n, f"note {n} about {'cats' if n % 3 else 'trains'} and {n % 7}", f"ok {n}", t=n):
                memory.observe(item)
        return recall

    first, second = fed(), fed()
    for query in ("cats and 3", "trains", "ok 79", "note 1"):
        assert first(query, 6) == second(query, 6)
        assert len(first(query, 6)) == 6


def test_the_query_itself_and_repeated_texts_are_left_out() -> None:
    recall = MemoryRecall(REMEMBER)
    recall.seed([said(1, "my cat is called Miso"), said(2, "my cat is called Miso"), said(3, "my cat")])
    assert recall("my cat is called Miso", 5) == ("my cat",)
    assert recall("cat", 5) == ("my cat", "my cat is called Miso")


def test_only_vectors_of_the_same_embedder_are_held_and_compared() -> None:
    other = Remember(embedder=LexicalEmbedder(64, char_ngrams=()))  # another space of the same length
    foreign = vector_of(user_episode(message_event(1, "my cat is called Miso")), other)
    assert foreign is not None and foreign.embedder != EMBEDDER.name
    recall = MemoryRecall(REMEMBER)
    assert recall.seed([foreign]) == 0
    assert recall("my cat", 4) == ()
    wrong_length = VectorRow(
        text="my cat", embedding=np.ones(10), embedder=EMBEDDER.name, type="user.message", created_at=at(0)
    )
    broken = VectorRow(
        text="my cat", embedding=np.full(64, np.nan), embedder=EMBEDDER.name, type="user.message", created_at=at(0)
    )
    assert recall.seed([wrong_length, broken]) == 0
    assert recall("my cat", 4) == ()


def test_a_query_with_nothing_to_embed_recalls_nothing() -> None:
    recall = MemoryRecall(REMEMBER)
    recall.seed([said(1, "my cat is called Miso")])
    assert recall("?!", 3) == ()
    assert recall("cat", 0) == ()


def test_it_holds_at_most_max_vectors_the_oldest_forgotten_first() -> None:
    recall = MemoryRecall(REMEMBER, max_vectors=2, max_text_chars=20)
    recall.seed([said(3, "zebra stripes", t=3), said(1, "zebra crossing", t=1), said(2, "zebra herd", t=2)])
    assert len(recall) == 2
    assert sorted(recall("zebra", 5)) == ["zebra herd", "zebra stripes"]
    recall.observe(user_episode(message_event(4, "zebra " + "x" * 100, t=4)))
    assert sorted(recall("zebra", 5)) == ["zebra stripes", "zebra xxxxxxxxxxxxx…"]


def test_a_row_seen_twice_is_held_once() -> None:
    recall = MemoryRecall(REMEMBER)
    row = user_episode(message_event(1, "my cat is called Miso"))
    recall.observe(row)
    recall.observe(row)
    recall.seed([said(1, "my cat is called Miso")])
    assert len(recall) == 1


def test_a_huge_query_is_embedded_by_its_beginning() -> None:
    recall = MemoryRecall(REMEMBER, max_query_chars=50)
    recall.seed([said(1, "my cat is called Miso")])
    assert recall("cat " + "x" * 1_000_000, 1) == ("my cat is called Miso",)


def test_the_seed_is_read_from_the_vectors_table(tmp_path: Path) -> None:
    con = open_database(tmp_path / "being.duckdb")
    other = Remember(embedder=LexicalEmbedder(64, char_ngrams=()))
    rows = [said(n, f"zebra number {n}", t=n) for n in range(5)]
    foreign = vector_of(user_episode(message_event(9, "zebra from another space", t=9)), other)
    assert foreign is not None
    write_vectors(con, [*rows, foreign], clock=lambda: at(100))
    seed = read_recall_seed(con, embedder=EMBEDDER.name, limit=3)
    con.close()
    assert [v.vector.text for v in seed] == ["zebra number 4", "zebra number 3", "zebra number 2"]
    assert [v.vector.id for v in seed] == [rows[4].id, rows[3].id, rows[2].id]
    assert seed[0].vector.created_at == at(4) and seed[0].vector.type == "user.message"
    assert [v.sender for v in seed] == [None, None, None]  # their episodes were never stored
    recall = MemoryRecall(REMEMBER)
    assert recall.seed(seed) == 3
    assert recall.seed(seed) == 0  # the same ids again: nothing new
    assert sorted(recall("zebra number 3", 5)) == ["zebra number 2", "zebra number 4"]  # the query left out
    con = open_database(tmp_path / "being.duckdb")
    assert read_recall_seed(con, embedder=EMBEDDER.name, limit=0) == []
    assert read_recall_seed(con, embedder="nobody", limit=5) == []
    con.close()


def test_the_seed_of_more_vectors_than_duckdbs_memory_limit_holds_is_read(tmp_path: Path) -> None:
    """60,000 vectors of 384 values (92 MB of embeddings) under a 64 MB limit: the newest are found without
    sorting every embedding in DuckDB's memory (which failed: "failed to pin block")."""
    con = open_database(tmp_path / "big.duckdb", memory_limit_mb=64)
    insert_random_vectors(con, 60_000, dim=384, embedder="big:384")
    seed = read_recall_seed(con, embedder="big:384", limit=10_000)
    con.close()
    assert [v.vector.id for v in seed] == [f"v{i}" for i in range(59_999, 49_999, -1)]
    assert all(len(v.vector.embedding) == 384 for v in seed[:3])


@pytest.mark.parametrize("bound", ["max_vectors", "max_query_chars", "max_text_chars"])
def test_bounds_below_one_are_refused(bound: str) -> None:
    with pytest.raises(ValueError, match=f"MemoryRecall.{bound}: expected >= 1, got 0"):
        MemoryRecall(REMEMBER, **{bound: 0})  # type: ignore[arg-type]
