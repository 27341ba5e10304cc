"""RecentEmbeddings: a recent text is embedded once, the oldest is forgotten past the bound, vectors are read-only."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from agent import Remember
from agent._recent_embeddings import RecentEmbeddings
from llm import LexicalEmbedder


class CountingEmbedder:
    """The lexical embedder, counting the texts it was asked to embed."""

    def __init__(self) -> None:
        self._inner = LexicalEmbedder(16)
        self.asked: list[str] = []

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dim(self) -> int:
        return self._inner.dim

    def vectors(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.asked.extend(texts)
        return self._inner.vectors(texts)


def test_a_recent_text_is_embedded_once_and_gives_the_embedders_vector() -> None:
    embedder = CountingEmbedder()
    recent = RecentEmbeddings(embedder, max_texts=4)
    first = recent.vector("the river today")
    again = recent.vector("the river today")
    assert again is first
    assert embedder.asked == ["the river today"]
    np.testing.assert_array_equal(first, LexicalEmbedder(16).vectors(["the river today"])[0])


def test_past_the_bound_the_oldest_text_is_embedded_again() -> None:
    embedder = CountingEmbedder()
    recent = RecentEmbeddings(embedder, max_texts=2)
    for text in ("a", "b", "c", "b", "a"):
        recent.vector(text)
    assert embedder.asked == ["a", "b", "c", "a"]  # "a" was forgotten when "c" came
    assert len(recent) == 2


def test_a_held_vector_cannot_be_changed_by_a_reader() -> None:
    vector = RecentEmbeddings(CountingEmbedder()).vector("words")
    with pytest.raises(ValueError, match="read-only"):
        vector[0] = 1.0


def test_the_bound_is_checked() -> None:
    with pytest.raises(ValueError, match="max_texts: expected >= 1, got 0"):
        RecentEmbeddings(CountingEmbedder(), max_texts=0)


def test_the_remember_policy_embeds_a_text_once_for_every_reader() -> None:
    embedder = CountingEmbedder()
    remember = Remember(embedder=embedder)
    assert remember.embedding("hello there") is remember.embedding("hello there")
    assert embedder.asked == ["hello there"]
