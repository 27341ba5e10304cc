"""RecentRecall: the texts of recent episodes, searched by meaning in memory, deterministically."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from llm import vectorizer_for
from service._recall import RecentRecall
from sinks import DeadLetterRow, EpisodeRow

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _episode(n: int, text: str, type: str = "user.message") -> EpisodeRow:
    return EpisodeRow(id=f"e{n}", time=NOW, type=type, description=text, outcome="success")


def _recall(max_texts: int = 2000) -> RecentRecall:
    embedder = vectorizer_for("lexical", 384)
    assert embedder is not None
    return RecentRecall(embedder, max_texts=max_texts)


def test_the_nearest_texts_come_first_and_unrelated_ones_not_at_all() -> None:
    recall = _recall()
    recall.seed([_episode(1, "my cat is called Miso"), _episode(2, "the weather in Lisbon is sunny")])
    recall.observe(_episode(3, "I adopted a second cat last week"))
    recall.observe(_episode(4, "quarterly taxes are due in April"))
    found = recall("what is my cat called", 2)
    assert found[0] == "my cat is called Miso"
    assert "I adopted a second cat last week" in found
    assert recall("cat", 0) == ()
    assert recall("   ", 3) == ()
    assert _recall()("cat", 3) == ()  # nothing remembered yet


def test_quiet_episodes_other_rows_and_repeats_are_not_kept() -> None:
    recall = _recall()
    recall.observe(_episode(1, "heavy tick 3: nothing changed", type="mind.idle"))
    recall.observe(DeadLetterRow(id="d", time=NOW, source="x", reason="cat", raw="cat"))
    recall.observe(_episode(2, "cat"))
    recall.observe(_episode(2, "cat"))
    recall.observe(_episode(3, "   "))
    assert len(recall) == 1


def test_the_oldest_texts_are_forgotten_first_even_after_a_search() -> None:
    recall = _recall(max_texts=2)
    recall.observe(_episode(1, "apples are red"))
    recall.observe(_episode(2, "bananas are yellow"))
    assert recall("apples", 1) == ("apples are red",)  # both embedded now
    recall.observe(_episode(3, "cherries are dark red"))
    assert len(recall) == 2
    assert "apples are red" not in recall("apples red", 2)
    assert recall("bananas", 1) == ("bananas are yellow",)


def test_the_same_episodes_give_the_same_recall() -> None:
    texts = [f"note {n} about gardens and rivers {n % 3}" for n in range(50)]
    first, second = _recall(), _recall()
    for n, text in enumerate(texts):
        first.observe(_episode(n, text))
        second.observe(_episode(n, text))
    assert first("gardens rivers 1", 5) == second("gardens rivers 1", 5)


def test_max_texts_is_checked() -> None:
    with pytest.raises(ValueError, match="max_texts: expected >= 1"):
        _recall(0)
